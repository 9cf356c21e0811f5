"""Markdown of one evaluation: its model, benchmark, overall accuracy and a per-category table (pure)."""

from __future__ import annotations

from sightsound.contracts.evaluation import EvaluationOut, Interval


def md_cell(text: str) -> str:
    r"""``text`` safe inside a Markdown table cell (pipes escaped, line breaks flattened).

    >>> md_cell("a|b\nc")
    'a\\|b c'
    """
    return " ".join(text.replace("|", "\\|").split())


def percent(accuracy: float | None) -> str:
    """
    >>> percent(0.66071), percent(1.0), percent(None)
    ('66.1%', '100.0%', '–')
    """
    return "–" if accuracy is None else f"{100 * accuracy:.1f}%"


def bounds(interval: Interval | None) -> str:
    """
    >>> bounds(Interval(low=0.25, high=0.5)), bounds(None)
    ('[25.0, 50.0]', '–')
    """
    return "–" if interval is None else f"[{100 * interval.low:.1f}, {100 * interval.high:.1f}]"


def render_markdown(evaluation: EvaluationOut) -> str:
    """The report of ``evaluation``; one without results says its state (and error) instead of a table."""
    title = md_cell(evaluation.model_label)
    lines = [
        f"# Evaluation of {title}",
        "",
        f"- model: `{evaluation.model_ref}`",
        f"- benchmark: `{evaluation.benchmark}` (split {evaluation.split.value})",
        f"- state: {evaluation.state.value}",
    ]
    results = evaluation.results
    if results is None:
        progress = evaluation.progress
        lines.append(f"- progress: {progress.done} of {progress.total} questions")
        if evaluation.error:
            lines.append(f"- error: {md_cell(evaluation.error)}")
        lines += ["", "No results yet."]
        return "\n".join(lines) + "\n"
    overall = results.overall
    reading = ", ".join(f"{name} {count}" for name, count in results.answer_reading.items())
    lines += [
        f"- questions: {overall.n} evaluated, {results.skipped.n} skipped",
        f"- accuracy: **{percent(overall.accuracy)}** ({overall.correct}/{overall.n}); "
        f"unanswered {overall.unanswered}" + (f" (of which {overall.errors} could not be asked)"
                                              if overall.errors else ""),
        f"- answers read by: {reading}",
    ]
    if overall.strict_correct is not None:
        lines += [
            f"- strict accuracy (a well-formed `<answer>X</answer>` only): **{percent(overall.strict_accuracy)}** "
            f"({overall.strict_correct}/{overall.n}), 95% interval {bounds(overall.strict_interval)}; "
            f"lenient 95% interval {bounds(overall.interval)}",
        ]
        if results.interval_method:
            lines.append(f"- intervals: {results.interval_method}")
    if results.mean_latency_ms is not None:
        lines.append(f"- mean latency: {results.mean_latency_ms:.1f} ms per question")
    lines += [
        "",
        "| category | n | correct | accuracy | 95% interval | strict correct | strict accuracy | 95% interval |",
        "|---|---:|---:|---:|---|---:|---:|---|",
        f"| **overall** | {overall.n} | {overall.correct} | **{percent(overall.accuracy)}** | "
        f"{bounds(overall.interval)} | {_count(overall.strict_correct)} | {percent(overall.strict_accuracy)} | "
        f"{bounds(overall.strict_interval)} |",
    ]
    for name, category in results.per_category.items():
        lines.append(f"| {md_cell(name)} | {category.n} | {category.correct} | {percent(category.accuracy)} | "
                     f"{bounds(category.interval)} | {_count(category.strict_correct)} | "
                     f"{percent(category.strict_accuracy)} | {bounds(category.strict_interval)} |")
    if results.skipped.reasons:
        lines += ["", "Skipped questions:", ""]
        lines += [f"- {md_cell(reason)}: {count}" for reason, count in results.skipped.reasons.items()]
    return "\n".join(lines) + "\n"


def _count(value: int | None) -> str:
    return "–" if value is None else str(value)
