"""Side-by-side results of several evaluations (pure): categories as rows, models as columns.

The shape of the paper's ablation (base / label-only SFT / CoT SFT without and with verification /
SFT+GRPO / the teacher): the overall row first, then every category any of the evaluations has, by name. A
cell is empty where a model had no question of that category. Each cell has the lenient and the strict
accuracy with their 95% bootstrap intervals and n. Given the evaluations' items, every pair of columns is
also compared on the questions both answered (exact McNemar test, paired bootstrap interval of the
difference), and the Markdown says which differences lie within the noise.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence

from sightsound.contracts.evaluation import (
    ComparisonCell,
    ComparisonColumn,
    ComparisonRow,
    ComparisonTable,
    EvaluationOut,
    Interval,
    Measure,
    PairedComparison,
)
from sightsound.evaluation.report import md_cell, percent
from sightsound.evaluation.stats import METHOD, mcnemar_exact, paired_difference_interval

OVERALL = "overall"
SIGNIFICANCE = 0.05
#: One evaluation's items for pairing: question id -> (right leniently, right strictly).
ItemScores = Mapping[uuid.UUID, tuple[bool, bool]]


class NotComparable(ValueError):
    """An evaluation has no results yet (not finished, or failed)."""


def _labels(evaluations: Sequence[EvaluationOut]) -> list[str]:
    """The model labels, with the evaluation id's first 8 characters added where a label repeats."""
    counts = Counter(e.model_label for e in evaluations)
    return [e.model_label if counts[e.model_label] == 1 else f"{e.model_label} ({str(e.id)[:8]})"
            for e in evaluations]


_CELL_FIELDS = ("n", "correct", "accuracy", "interval", "strict_correct", "strict_accuracy", "strict_interval")


def paired(a: int, b: int, scores_a: ItemScores, scores_b: ItemScores, measure: Measure) -> PairedComparison:
    """Columns ``a`` and ``b`` on the questions both have items for.

    >>> q = [uuid.UUID(int=i) for i in range(10)]
    >>> first = {x: (i < 2, i < 1) for i, x in enumerate(q)}
    >>> second = {x: (i < 9, i < 8) for i, x in enumerate(q)}
    >>> p = paired(0, 1, first, second, "lenient")
    >>> p.n, p.only_a, p.only_b, p.difference, round(p.p_value, 4), p.significant
    (10, 0, 7, 0.7, 0.0156, True)
    """
    shared = sorted(set(scores_a) & set(scores_b))
    pick = 0 if measure == "lenient" else 1
    right_a = [scores_a[q][pick] for q in shared]
    right_b = [scores_b[q][pick] for q in shared]
    only_a = sum(x and not y for x, y in zip(right_a, right_b, strict=True))
    only_b = sum(y and not x for x, y in zip(right_a, right_b, strict=True))
    n = len(shared)
    bounds = paired_difference_interval(only_a, only_b, n)
    p_value = mcnemar_exact(only_a, only_b)
    return PairedComparison(
        a=a, b=b, measure=measure, n=n, a_correct=sum(right_a), b_correct=sum(right_b), only_a=only_a,
        only_b=only_b, difference=round((only_b - only_a) / n, 4) if n else None,
        difference_interval=None if bounds is None else Interval(low=bounds[0], high=bounds[1]),
        p_value=round(p_value, 6), significant=p_value < SIGNIFICANCE,
    )


def comparison_table(evaluations: Sequence[EvaluationOut],
                     items: Sequence[ItemScores] | None = None) -> ComparisonTable:
    """One column per evaluation (in the given order), one row per category, the overall row first; with
    ``items`` (one mapping per evaluation, in the same order) every pair of columns compared.

    Raises :class:`NotComparable` naming every evaluation without results.
    """
    missing = [f"{e.id} ({e.state.value})" for e in evaluations if e.results is None]
    if missing:
        raise NotComparable("not finished with results: " + ", ".join(missing))
    results = [e.results for e in evaluations if e.results is not None]
    categories = sorted({name for r in results for name in r.per_category})
    rows = [ComparisonRow(name=OVERALL, cells=[
        ComparisonCell.model_validate(r.overall.model_dump(include=set(_CELL_FIELDS))) for r in results])]
    for name in categories:
        cells: list[ComparisonCell | None] = []
        for r in results:
            found = r.per_category.get(name)
            cells.append(None if found is None else
                         ComparisonCell.model_validate(found.model_dump(include=set(_CELL_FIELDS))))
        rows.append(ComparisonRow(name=name, cells=cells))
    columns = [ComparisonColumn(evaluation_id=e.id, label=label, model_ref=e.model_ref, benchmark=e.benchmark,
                                split=e.split) for e, label in zip(evaluations, _labels(evaluations), strict=True)]
    pairs = []
    if items is not None:
        if len(items) != len(evaluations):
            raise ValueError("items: one mapping per evaluation")
        pairs = [paired(a, b, items[a], items[b], measure)
                 for a in range(len(items)) for b in range(a + 1, len(items)) for measure in ("lenient", "strict")]
    return ComparisonTable(columns=columns, rows=rows, pairs=pairs, interval_method=METHOD)


def interval_text(interval: Interval | None, points: bool = False) -> str:
    """
    >>> interval_text(Interval(low=0.3, high=0.612)), interval_text(Interval(low=-0.1, high=0.2), points=True)
    ('[30.0, 61.2]', '[-10.0, +20.0]')
    """
    if interval is None:
        return ""
    if points:
        return f"[{100 * interval.low:+.1f}, {100 * interval.high:+.1f}]"
    return f"[{100 * interval.low:.1f}, {100 * interval.high:.1f}]"


def _cell_text(cell: ComparisonCell | None, best: float | None, strict: bool = False) -> str:
    if cell is None:
        return "–"
    if strict:
        if cell.strict_correct is None:
            return "–"
        accuracy, correct, bounds = cell.strict_accuracy, cell.strict_correct, cell.strict_interval
    else:
        accuracy, correct, bounds = cell.accuracy, cell.correct, cell.interval
    text = f"{percent(accuracy)} {interval_text(bounds)} ({correct}/{cell.n})".replace("  ", " ")
    return f"**{text}**" if best is not None and accuracy == best else text


def _table(table: ComparisonTable, strict: bool) -> list[str]:
    header = "| category | " + " | ".join(md_cell(c.label) for c in table.columns) + " |"
    lines = [header, "|---|" + "---:|" * len(table.columns)]
    for row in table.rows:
        accuracies = [(c.strict_accuracy if strict else c.accuracy) for c in row.cells if c is not None]
        present = [a for a in accuracies if a is not None]
        # Bold the best only where there is a choice: one model alone, or all tied, is not "best".
        best = max(present) if len(set(present)) > 1 else None
        name = f"**{md_cell(row.name)}**" if row.name == OVERALL else md_cell(row.name)
        lines.append(f"| {name} | " + " | ".join(_cell_text(c, best, strict) for c in row.cells) + " |")
    return lines


def pairs_markdown(table: ComparisonTable) -> list[str]:
    """The paired comparisons as a table, then in words which differences lie within the noise."""
    if not table.pairs:
        return []
    labels = [md_cell(c.label) for c in table.columns]
    lines = ["| a | b | measure | n shared | b − a (points) | 95% interval | only a / only b right | McNemar p | "
             "verdict |", "|---|---|---|---:|---:|---|---:|---:|---|"]
    noise: list[str] = []
    real: list[str] = []
    for p in table.pairs:
        diff = "–" if p.difference is None else f"{100 * p.difference:+.1f}"
        verdict = "differs (p < 0.05)" if p.significant else "within the noise"
        lines.append(f"| {labels[p.a]} | {labels[p.b]} | {p.measure} | {p.n} | {diff} | "
                     f"{interval_text(p.difference_interval, points=True)} | {p.only_a} / {p.only_b} | "
                     f"{p.p_value:.3g} | {verdict} |")
        (real if p.significant else noise).append(f"{labels[p.b]} vs {labels[p.a]} ({p.measure}, {diff} points)")
    lines += ["", f"Differences within the noise (McNemar p ≥ {SIGNIFICANCE}; the paired interval holds 0 or nearly): "
              + ("; ".join(noise) if noise else "none") + ".",
              "Differences beyond the noise: " + ("; ".join(real) if real else "none") + "."]
    return lines


def render_comparison_markdown(table: ComparisonTable) -> str:
    """The table as Markdown, then which model and benchmark each column is.

    >>> from sightsound.contracts.evaluation import ComparisonColumn as Col
    >>> import uuid
    >>> cols = [Col(evaluation_id=uuid.UUID(int=i), label=l, model_ref=r, benchmark="b", split="test")
    ...         for i, (l, r) in enumerate([("base", "base:x"), ("SFT", "checkpoint:y")])]
    >>> rows = [ComparisonRow(name="overall", cells=[ComparisonCell(n=4, correct=1, accuracy=0.25),
    ...                                              ComparisonCell(n=4, correct=3, accuracy=0.75)]),
    ...         ComparisonRow(name="sound", cells=[None, ComparisonCell(n=4, correct=3, accuracy=0.75)])]
    >>> print(render_comparison_markdown(ComparisonTable(columns=cols, rows=rows)).splitlines()[:6])
    ['Lenient accuracy (an answer read however it can be read), 95% interval, (correct/n):', '', \
'| category | base | SFT |', '|---|---:|---:|', '| **overall** | 25.0% (1/4) | **75.0% (3/4)** |', \
'| sound | – | 75.0% (3/4) |']
    """
    lines = ["Lenient accuracy (an answer read however it can be read), 95% interval, (correct/n):", "",
             *_table(table, strict=False), "",
             "Strict accuracy (only a well-formed `<answer>X</answer>` counts):", "", *_table(table, strict=True)]
    if table.interval_method:
        lines += ["", f"Intervals: {table.interval_method}."]
    if table.pairs:
        lines += ["", "Paired comparisons on the questions both models answered:", "", *pairs_markdown(table)]
    lines += ["", "Columns:", ""]
    lines += [f"- {md_cell(c.label)}: `{c.model_ref}` on `{c.benchmark}` ({c.split.value}), "
              f"evaluation {c.evaluation_id}" for c in table.columns]
    return "\n".join(lines) + "\n"
