"""Markdown of one evaluation: its model, benchmark, overall accuracy and a per-category table (pure)."""

from __future__ import annotations

from sightsound.contracts.evaluation import (
    AudioContributionResult,
    EvaluationOut,
    Interval,
    RotationResult,
    ScoredGroup,
)


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
    if results.rotations is not None:
        lines += ["", *rotations_markdown(results.rotations)]
    if results.audio_contribution is not None:
        lines += ["", *contribution_markdown(results.audio_contribution)]
    return "\n".join(lines) + "\n"


def group_text(group: ScoredGroup) -> str:
    """
    >>> group_text(ScoredGroup(n=8, correct=6, accuracy=0.75, interval=Interval(low=0.5, high=1.0)))
    '75.0% (6/8), 95% interval [50.0, 100.0]'
    """
    return f"{percent(group.accuracy)} ({group.correct}/{group.n}), 95% interval {bounds(group.interval)}"


def rotations_markdown(rotations: RotationResult) -> list[str]:
    """The choice-order check: accuracy over every asked item, and how many questions kept their answer."""
    return [
        "## Choice order (every rotation of the choices)",
        "",
        f"Each of {rotations.questions} questions asked under every rotation of its choices (the letters "
        "re-assigned, the gold letter moved with its choice).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| accuracy over all asked items, lenient | {group_text(rotations.items)} |",
        f"| accuracy over all asked items, strict | {group_text(rotations.strict_items)} |",
        f"| **answered consistently** (same choice under every rotation) | {group_text(rotations.consistent)} |",
        f"| answered consistently, every answer a well-formed tag | {group_text(rotations.strict_consistent)} |",
        f"| right under every rotation | {group_text(rotations.all_correct)} |",
        "",
        "The intervals over asked items resample questions (a question's rotations are not independent).",
    ]


def contribution_markdown(result: AudioContributionResult) -> list[str]:
    """The audio-contribution check: what is answerable without listening, and accuracy where listening counts."""
    lines = [
        "## Audio contribution (each question asked again with silent audio)",
        "",
        f"{result.questions} questions asked with their audio and with silence of the same duration"
        + (f" ({result.not_asked} could not be asked)" if result.not_asked else "") + ".",
        "",
        "| measure | value |",
        "|---|---|",
        f"| **answerable without audio** (right with silence), lenient | {group_text(result.without_audio)} |",
        f"| answerable without audio, strict | {group_text(result.strict_without_audio)} |",
        f"| **accuracy on the questions that need audio**, lenient | {group_text(result.needs_audio)} |",
        f"| accuracy on the questions that need audio, strict | {group_text(result.strict_needs_audio)} |",
        f"| accuracy with audio on the questions answerable without it | {group_text(result.weak_with_audio)} |",
    ]
    if result.labelled:
        lines += ["", f"Labelled {result.labelled} questions' audio contribution (weak: answered right with silence; "
                      "strong: the others) for the dataset filter `audio_contribution`."]
    return lines


def _count(value: int | None) -> str:
    return "–" if value is None else str(value)
