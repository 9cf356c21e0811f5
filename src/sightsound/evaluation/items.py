"""From a stored evaluation item to its outcome (pure): how its answer was read, right leniently, right strictly.

The trainer worker summarizes an evaluation's items with this, and the API pairs two evaluations' items with
it: one reading of a stored answer everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from sightsound.answers import parse_answer
from sightsound.contracts.evaluation import NOT_ASKED, READINGS, Reading
from sightsound.evaluation.robustness import original_index, rotate
from sightsound.evaluation.summary import ItemOutcome


def item_outcome(*, category: str | None, output: str, choices: Sequence[str], predicted_index: int | None,
                 correct: bool, parse_error: str | None, latency_ms: float = 0.0, teacher: bool = False,
                 rotation: int = 0) -> ItemOutcome:
    """The outcome of a stored item. A student's answer is read again from its text (the same pure reader that
    chose it) against the choices as it was shown them (``rotation``; ``predicted_index`` is the underlying
    choice); the teacher's prediction is its vote over its samples' ``<answer>`` tags, so it is read as a tag.

    >>> item_outcome(category="s", output="<answer>B</answer>", choices=["x", "y"], predicted_index=1, correct=True,
    ...              parse_error=None)
    ItemOutcome(category='s', correct=True, reading='tag', error=False, latency_ms=0.0, strict=True)
    >>> item_outcome(category="s", output="It is y.", choices=["x", "y"], predicted_index=1, correct=True,
    ...              parse_error=None).strict
    False
    >>> item_outcome(category="s", output="<answer>A</answer>", choices=["x", "y"], predicted_index=1, correct=True,
    ...              parse_error=None, rotation=1).strict
    True
    """
    if (parse_error or "").startswith(NOT_ASKED):
        return ItemOutcome(category, False, None, error=True, latency_ms=latency_ms)
    reading: Reading | None = None
    if teacher:
        reading = "tag" if predicted_index is not None else None
    else:
        parsed = parse_answer(output, rotate(choices, rotation) if rotation else choices)
        index = original_index(parsed.index, rotation, len(choices)) if rotation else parsed.index
        if index is not None and index == predicted_index:
            reading = next((r for r in READINGS if r == parsed.how), None)
    right = correct and reading is not None
    return ItemOutcome(category, right, reading, latency_ms=latency_ms, strict=right and reading == "tag")
