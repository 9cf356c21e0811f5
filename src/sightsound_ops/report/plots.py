"""The report's charts as PNG bytes, drawn with matplotlib's Agg canvas (no display, no pyplot state).

Each function returns ``None`` when it has nothing to draw, so the page says "no data" instead.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sightsound_ops.report.data import Funnel, ModelEvaluation, TrainingCurve, VerdictCounts

VERDICT_COLOURS = {"supported": "#2e7d32", "contradicted": "#c62828", "unverifiable": "#9e9e9e"}
METRICS = ("loss", "reward", "accuracy")
DPI = 100


def _plain(text: str) -> str:
    """Text as matplotlib shows it literally (a ``$`` would otherwise start math mode)."""
    return text.replace("$", r"\$")


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def funnel_png(funnel: Funnel | None) -> bytes | None:
    if funnel is None:
        return None
    steps = funnel.steps()
    figure = Figure(figsize=(7, 3.2))
    axes = figure.add_subplot()
    labels, values = [s for s, _ in steps][::-1], [v for _, v in steps][::-1]
    bars = axes.barh(labels, values, color="#1565c0")
    axes.bar_label(bars, labels=[str(v) for v in values], padding=3)
    axes.set_xlabel("count")
    axes.set_title("Acceptance funnel")
    axes.set_xlim(0, max([*values, 1]) * 1.15)
    return _png(figure)


def verdicts_png(verdicts: dict[str, VerdictCounts]) -> bytes | None:
    if not verdicts:
        return None
    kinds = sorted(verdicts)
    figure = Figure(figsize=(7, 0.45 * len(kinds) + 1.6))
    axes = figure.add_subplot()
    left = np.zeros(len(kinds))
    for verdict, colour in VERDICT_COLOURS.items():
        counts = np.array([getattr(verdicts[k], verdict) for k in kinds], dtype=float)
        axes.barh([_plain(k) for k in kinds], counts, left=left, color=colour, label=verdict)
        left += counts
    axes.set_xlabel("claims")
    axes.set_title("Claim verdicts by kind")
    axes.legend(loc="lower right", fontsize="small")
    return _png(figure)


def training_png(curves: list[TrainingCurve]) -> bytes | None:
    metrics = [m for m in METRICS if any(v is not None for c in curves for v in c.metric(m))]
    if not metrics:
        return None
    figure = Figure(figsize=(4.2 * len(metrics), 3.2))
    for i, metric in enumerate(metrics):
        axes = figure.add_subplot(1, len(metrics), i + 1)
        for curve in curves:
            values = curve.metric(metric)
            if values:
                y = np.array([np.nan if v is None else v for v in values], dtype=float)
                axes.plot(curve.steps, y, marker="o", markersize=3, label=_plain(f"{curve.run} · {curve.stage}"))
        axes.set_title(metric)
        axes.set_xlabel("step")
        axes.legend(fontsize="x-small")
    return _png(figure)


def accuracy_png(evaluations: list[ModelEvaluation]) -> bytes | None:
    if not evaluations:
        return None
    groups = ["overall", *sorted({c for e in evaluations for c in e.per_category})]
    width = 0.8 / len(evaluations)
    figure = Figure(figsize=(max(6.0, 1.1 * len(groups) + 2), 3.6))
    axes = figure.add_subplot()
    x = np.arange(len(groups))
    for i, evaluation in enumerate(evaluations):
        scores = [evaluation.overall_accuracy] + [
            evaluation.per_category[g].accuracy if g in evaluation.per_category else np.nan for g in groups[1:]
        ]
        bars = axes.bar(
            x + (i - (len(evaluations) - 1) / 2) * width, scores, width, label=_plain(evaluation.model_label)
        )
        # A label on every bar: a 0% bar is otherwise invisible, and a missing category would look the same.
        axes.bar_label(bars, labels=["" if np.isnan(s) else f"{100 * s:.0f}%" for s in scores], fontsize="x-small")
    axes.axhline(0.25, color="#616161", linestyle="--", linewidth=1, label="chance (4 choices)")
    axes.set_xticks(x, [_plain(g) for g in groups], rotation=20, ha="right")
    axes.set_ylim(0, 1)
    axes.set_ylabel("accuracy")
    axes.set_title("Accuracy per category")
    axes.legend(fontsize="x-small")
    return _png(figure)
