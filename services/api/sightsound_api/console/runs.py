"""Training runs (curves of loss, reward and KL from the run's progress history, redrawn while it runs) and
evaluations (the comparison table; an evaluation's items per question)."""

from __future__ import annotations

import uuid
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from sightsound.auth import Principal
from sightsound.contracts.evaluation import ComparisonTable
from sightsound.db.models import Checkpoint, Evaluation, RunState, TrainingRun
from sightsound.evaluation import NotComparable, comparison_table
from sightsound_api.console.render import render, viewer
from sightsound_api.deps import SessionDep
from sightsound_api.routes.evaluations import evaluation_out, item_scores, list_evaluation_items

router = APIRouter(prefix="/ui", include_in_schema=False)
Viewer = Annotated[Principal, Depends(viewer)]
CURVES = ("loss", "reward", "kl")
LIVE = {RunState.queued, RunState.running}
W, H, PAD = 360, 160, 30


def curve_svg(history: list[dict[str, Any]], metric: str) -> str | None:
    """A small SVG line chart of one metric over the steps (one line per stage), or None when never measured.

    >>> svg = curve_svg([{"stage": "sft", "step": 1, "loss": 2.0}, {"stage": "sft", "step": 2, "loss": 1.0}], "loss")
    >>> svg.startswith("<svg") and "polyline" in svg
    True
    """
    points = [(str(p.get("stage", "")), float(p["step"]), float(p[metric])) for p in history
              if isinstance(p.get(metric), int | float) and isinstance(p.get("step"), int | float)]
    if not points:
        return None
    stages = list(dict.fromkeys(s for s, _, _ in points))
    xs = [x for _, x, _ in points]
    ys = [y for _, _, y in points]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1

    def at(x: float, y: float) -> str:
        return f"{PAD + (x - x0) / (x1 - x0) * (W - PAD - 8):.1f},{H - PAD - (y - y0) / (y1 - y0) * (H - PAD - 10):.1f}"

    colours = ["#1f4e79", "#c0504d", "#4f8a3c", "#8064a2"]
    lines = []
    for i, stage in enumerate(stages):
        mine = " ".join(at(x, y) for s, x, y in points if s == stage)
        lines.append(f'<polyline fill="none" stroke="{colours[i % 4]}" stroke-width="2" points="{mine}">'
                     f"<title>{escape(stage)}</title></polyline>")
        lines.append(f'<text x="{W - 8}" y="{14 + 12 * i}" text-anchor="end" font-size="10" '
                     f'fill="{colours[i % 4]}">{escape(stage)}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" class="curve" role="img" '
            f'aria-label="{metric} over steps"><rect x="0" y="0" width="{W}" height="{H}" fill="#fff"/>'
            f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 8}" y2="{H - PAD}" stroke="#999"/>'
            f'<line x1="{PAD}" y1="10" x2="{PAD}" y2="{H - PAD}" stroke="#999"/>'
            f'<text x="4" y="14" font-size="10">{y1:.3g}</text><text x="4" y="{H - PAD}" font-size="10">{y0:.3g}'
            f'</text><text x="{PAD}" y="{H - 12}" font-size="10">step {x0:g}</text>'
            f'<text x="{W - 8}" y="{H - 12}" font-size="10" text-anchor="end">{x1:g}</text>'
            f'<text x="{W / 2}" y="{H - 2}" font-size="11" text-anchor="middle">{metric}</text>{"".join(lines)}</svg>')


@router.get("/runs", response_class=HTMLResponse)
def runs(request: Request, session: SessionDep, _: Viewer) -> Response:
    rows = list(session.scalars(select(TrainingRun).order_by(TrainingRun.created_at.desc()).limit(50)))
    return render(request, "runs.html", title="Training runs", runs=rows)


def _curves(run: TrainingRun) -> dict[str, str | None]:
    history = list(run.progress.get("history", []))
    return {metric: curve_svg(history, metric) for metric in CURVES}


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: uuid.UUID, session: SessionDep, _: Viewer,
             fragment: Annotated[bool, Query(description="Only the live part (the page's refresh).")] = False,
             ) -> Response:
    run = session.get(TrainingRun, run_id)
    if run is None:
        return render(request, "missing.html", status_code=404, title="Not found", what=f"training run {run_id}")
    checkpoints = list(session.scalars(select(Checkpoint).where(Checkpoint.run_id == run_id)
                                       .order_by(Checkpoint.created_at)))
    return render(request, "run_live.html" if fragment else "run.html", title=f"Run {str(run.id)[:8]}", run=run,
                  curves=_curves(run), live=run.state in LIVE, checkpoints=checkpoints)


@router.get("/evaluations", response_class=HTMLResponse)
def evaluations(request: Request, session: SessionDep, _: Viewer,
                ids: Annotated[list[uuid.UUID] | None, Query()] = None) -> Response:
    rows = list(session.scalars(select(Evaluation).order_by(Evaluation.created_at.desc()).limit(50)))
    chosen = ids or [e.id for e in rows if e.state == RunState.succeeded][:6][::-1]
    table: ComparisonTable | None = None
    problem = None
    found = {e.id: e for e in session.scalars(select(Evaluation).where(Evaluation.id.in_(chosen)))} if chosen else {}
    outs = [evaluation_out(found[i]) for i in chosen if i in found]
    if outs:
        try:
            table = comparison_table(outs, [item_scores(session, e) for e in outs])
        except NotComparable as exc:
            problem = str(exc)
    return render(request, "evaluations.html", title="Evaluations", evaluations=rows, table=table,
                  chosen=set(chosen), problem=problem)


@router.get("/evaluations/{evaluation_id}", response_class=HTMLResponse)
def evaluation_page(request: Request, evaluation_id: uuid.UUID, session: SessionDep, _: Viewer,
                    cursor: Annotated[str | None, Query(max_length=200)] = None,
                    correct: Annotated[bool | None, Query()] = None) -> Response:
    evaluation = session.get(Evaluation, evaluation_id)
    if evaluation is None:
        return render(request, "missing.html", status_code=404, title="Not found", what=f"evaluation {evaluation_id}")
    page = list_evaluation_items(evaluation_id, session, correct=correct, category=None, limit=50, cursor=cursor)
    return render(request, "evaluation.html", title=f"Evaluation {evaluation.model_label}",
                  evaluation=evaluation_out(evaluation), items=page.items, next_cursor=page.next_cursor,
                  correct=correct, letters="ABCD")
