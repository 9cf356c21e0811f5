"""Side-by-side results of several evaluations (pure): categories as rows, models as columns.

The shape of the paper's ablation (base / label-only SFT / CoT SFT / SFT+GRPO): the overall row first,
then every category any of the evaluations has, by name. A cell is empty where a model had no question
of that category. The Markdown marks each row's best accuracy in bold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sightsound.contracts.evaluation import (
    ComparisonCell,
    ComparisonColumn,
    ComparisonRow,
    ComparisonTable,
    EvaluationOut,
)
from sightsound.evaluation.report import md_cell, percent

OVERALL = "overall"


class NotComparable(ValueError):
    """An evaluation has no results yet (not finished, or failed)."""


def _labels(evaluations: Sequence[EvaluationOut]) -> list[str]:
    """The model labels, with the evaluation id's first 8 characters added where a label repeats."""
    counts = Counter(e.model_label for e in evaluations)
    return [e.model_label if counts[e.model_label] == 1 else f"{e.model_label} ({str(e.id)[:8]})"
            for e in evaluations]


def comparison_table(evaluations: Sequence[EvaluationOut]) -> ComparisonTable:
    """One column per evaluation (in the given order), one row per category, the overall row first.

    Raises :class:`NotComparable` naming every evaluation without results.
    """
    missing = [f"{e.id} ({e.state.value})" for e in evaluations if e.results is None]
    if missing:
        raise NotComparable("not finished with results: " + ", ".join(missing))
    results = [e.results for e in evaluations if e.results is not None]
    categories = sorted({name for r in results for name in r.per_category})
    rows = [ComparisonRow(name=OVERALL, cells=[
        ComparisonCell(n=r.overall.n, correct=r.overall.correct, accuracy=r.overall.accuracy) for r in results])]
    for name in categories:
        cells: list[ComparisonCell | None] = []
        for r in results:
            found = r.per_category.get(name)
            cells.append(None if found is None else
                         ComparisonCell(n=found.n, correct=found.correct, accuracy=found.accuracy))
        rows.append(ComparisonRow(name=name, cells=cells))
    columns = [ComparisonColumn(evaluation_id=e.id, label=label, model_ref=e.model_ref, benchmark=e.benchmark,
                                split=e.split) for e, label in zip(evaluations, _labels(evaluations), strict=True)]
    return ComparisonTable(columns=columns, rows=rows)


def _cell_text(cell: ComparisonCell | None, best: float | None) -> str:
    if cell is None:
        return "–"
    text = f"{percent(cell.accuracy)} ({cell.correct}/{cell.n})"
    return f"**{text}**" if best is not None and cell.accuracy == best else text


def render_comparison_markdown(table: ComparisonTable) -> str:
    """The table as Markdown, then which model and benchmark each column is.

    >>> from sightsound.contracts.evaluation import ComparisonColumn as Col
    >>> import uuid
    >>> cols = [Col(evaluation_id=uuid.UUID(int=i), label=l, model_ref=r, benchmark="b", split="test")
    ...         for i, (l, r) in enumerate([("base", "base:x"), ("SFT", "checkpoint:y")])]
    >>> rows = [ComparisonRow(name="overall", cells=[ComparisonCell(n=4, correct=1, accuracy=0.25),
    ...                                              ComparisonCell(n=4, correct=3, accuracy=0.75)]),
    ...         ComparisonRow(name="sound", cells=[None, ComparisonCell(n=4, correct=3, accuracy=0.75)])]
    >>> print(render_comparison_markdown(ComparisonTable(columns=cols, rows=rows)).splitlines()[:4])
    ['| category | base | SFT |', '|---|---:|---:|', '| **overall** | 25.0% (1/4) | **75.0% (3/4)** |', \
'| sound | – | 75.0% (3/4) |']
    """
    header = "| category | " + " | ".join(md_cell(c.label) for c in table.columns) + " |"
    lines = [header, "|---|" + "---:|" * len(table.columns)]
    for row in table.rows:
        accuracies = [c.accuracy for c in row.cells if c is not None and c.accuracy is not None]
        # Bold the best only where there is a choice: one model alone, or all tied, is not "best".
        best = max(accuracies) if len(set(accuracies)) > 1 else None
        name = f"**{md_cell(row.name)}**" if row.name == OVERALL else md_cell(row.name)
        lines.append(f"| {name} | " + " | ".join(_cell_text(c, best) for c in row.cells) + " |")
    lines += ["", "Columns:", ""]
    lines += [f"- {md_cell(c.label)}: `{c.model_ref}` on `{c.benchmark}` ({c.split.value}), "
              f"evaluation {c.evaluation_id}" for c in table.columns]
    return "\n".join(lines) + "\n"
