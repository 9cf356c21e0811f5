"""The summary printed at the end of the job: a few Markdown tables with the numbers that matter."""

from __future__ import annotations

from collections.abc import Sequence

from sightsound_ops.report.cost import cost_rows
from sightsound_ops.report.data import (
    ROBUSTNESS_HEADER,
    ROBUSTNESS_NOTE,
    ReportData,
    noise_statement,
    robustness_rows,
)
from sightsound_ops.report.html import percent


def _cell(value: object) -> str:
    """A table cell: pipes escaped and newlines flattened, so a name cannot break the table.

    >>> _cell("a|b\\nc")
    'a\\\\|b c'
    """
    return str(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def md_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _funnel(data: ReportData) -> str:
    f = data.funnel
    if f is None:
        return "Pipeline: no data"
    split_text = " / ".join(f"{n} {s}" for s, n in f.split_counts() if n) or "no questions"
    rows = [
        ("clips", f.clips),
        ("questions", f"{f.questions} ({split_text})"),
        ("jobs with unanimous teacher answers", f"{f.jobs_unanimous} of {f.jobs}"),
        ("traces sampled", f.traces_sampled),
        ("traces accepted / rejected by the verifier", f"{f.traces_accepted} / {f.traces_rejected}"),
    ]
    return md_table(["pipeline", "count"], rows)


def bounds(interval: tuple[float, float] | None, points: bool = False) -> str:
    """
    >>> bounds((0.25, 0.5)), bounds((-0.1, 0.2), points=True), bounds(None)
    ('[25.0, 50.0]', '[-10.0, +20.0]', '')
    """
    if interval is None:
        return ""
    if points:
        return f"[{100 * interval[0]:+.1f}, {100 * interval[1]:+.1f}]"
    return f"[{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]"


def _evaluations(data: ReportData) -> str:
    if not data.evaluations:
        return "Evaluation: no data"
    categories = data.categories()
    rows = []
    for e in data.evaluations:
        scores = [percent(e.per_category[c].accuracy) if c in e.per_category else "–" for c in categories]
        rows.append([e.model_label, e.paper_row, f"{percent(e.strict_accuracy)} {bounds(e.strict_interval)}".strip(),
                     f"{percent(e.overall_accuracy)} {bounds(e.interval)}".strip(), e.n, *scores])
    header = ["model", "paper's row", "strict accuracy [95%]", "lenient accuracy [95%]", "n",
              *[f"{c} (lenient)" for c in categories]]
    parts = [md_table(header, rows)]
    if data.interval_method:
        parts.append(f"Intervals: {data.interval_method}. Strict: only a well-formed `<answer>X</answer>` counts; "
                     "lenient: an answer read however it can be (never inside `<think>`, never a hedge).")
    parts += _pairs(data)
    shortcuts = robustness_rows(data, lambda value, interval: f"{percent(value)} {bounds(interval)}".strip())
    if shortcuts:
        parts += [md_table(ROBUSTNESS_HEADER, shortcuts), ROBUSTNESS_NOTE]
    return "\n\n".join(parts)


def _pairs(data: ReportData) -> list[str]:
    if not data.pairs:
        return []
    rows = [(p.a, p.b, p.measure, p.n, "–" if p.difference is None else f"{100 * p.difference:+.1f}",
             bounds(p.interval, points=True), f"{p.p_value:.3g}", "beyond the noise" if p.significant
             else "within the noise") for p in data.pairs]
    table = md_table(["a", "b", "measure", "n shared", "b - a (points)", "95% interval", "McNemar p", "verdict"],
                     rows)
    return [table, "\n".join(noise_statement(data))]


def _timings(data: ReportData) -> str:
    if not data.stage_timings:
        return "Stage timings: no data"
    rows = [(t.stage, f"{t.seconds:.1f}") for t in data.stage_timings]
    rows.append(("total", f"{sum(t.seconds for t in data.stage_timings):.1f}"))
    return md_table(["stage", "seconds"], rows)


def render_markdown_summary(data: ReportData) -> str:
    """Funnel, accuracy per model and category, and stage timings, as Markdown tables."""
    parts = [f"## {_cell(data.title)}", _funnel(data), _evaluations(data), _timings(data)]
    if cost_rows(data.cost):
        parts.append(md_table(["cost", "value"], cost_rows(data.cost)))
    random = data.random_models()
    if random:
        names = ", ".join(f"{m.role} {m.name}" for m in random)
        parts.append(f"Random weights ({_cell(names)}): these numbers test the plumbing, not the method.")
    return "\n\n".join(parts) + "\n"
