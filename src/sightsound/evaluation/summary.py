"""From per-question outcomes to an evaluation's results (pure).

Every evaluated question is in ``n``: a question with no readable answer counts as wrong (the paper's
accuracy is over the whole test set, so dropping unanswered ones would flatter a model that rambles).
Skipped questions (ones the evaluated model cannot be asked) are reported apart, with their reasons.
Each accuracy, overall and per category, is lenient and strict, each with its bootstrap interval
(:mod:`sightsound.evaluation.stats`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sightsound.contracts.evaluation import (
    READINGS,
    UNCATEGORIZED,
    CategoryResult,
    EvaluationResults,
    Interval,
    OverallResult,
    Reading,
    SkippedQuestions,
)
from sightsound.evaluation.stats import METHOD, bootstrap_interval


@dataclass(frozen=True)
class ItemOutcome:
    """One evaluated question: its category, whether it was right, how its answer was read.

    ``reading`` is ``None`` when no answer was read; ``error`` marks a question that could not be asked
    at all (unreadable audio, say): it is unanswered too. ``strict``: right with a well-formed
    ``<answer>X</answer>`` (strict accuracy); a strictly right answer is right leniently too.
    """

    category: str | None
    correct: bool
    reading: Reading | None = None
    error: bool = False
    latency_ms: float = 0.0
    strict: bool = False

    def __post_init__(self) -> None:
        if self.correct and not self.answered:
            raise ValueError("an unanswered question cannot be correct")
        if self.strict and not (self.correct and self.reading == "tag"):
            raise ValueError("a strictly right answer is a right answer read from its <answer> tag")

    @property
    def answered(self) -> bool:
        return self.reading not in (None, "none") and not self.error


def accuracy(correct: int, n: int) -> float | None:
    """``correct / n`` rounded to 4 places; None when nothing was evaluated.

    >>> accuracy(2, 3), accuracy(0, 0)
    (0.6667, None)
    """
    return round(correct / n, 4) if n else None


def interval(correct: int, n: int) -> Interval | None:
    """The bootstrap interval of ``correct / n`` as a contract; None when ``n`` is 0."""
    bounds = bootstrap_interval(correct, n)
    return None if bounds is None else Interval(low=bounds[0], high=bounds[1])


def _scores(group: list[ItemOutcome]) -> dict[str, object]:
    n = len(group)
    correct = sum(i.correct for i in group)
    strict = sum(i.strict for i in group)
    return {"n": n, "correct": correct, "accuracy": accuracy(correct, n), "interval": interval(correct, n),
            "strict_correct": strict, "strict_accuracy": accuracy(strict, n), "strict_interval": interval(strict, n)}


def summarize(items: Iterable[ItemOutcome], skipped: Mapping[str, int] | None = None) -> EvaluationResults:
    """Overall and per-category accuracy, answer reading counts and mean latency of ``items`` (the mean
    leaves out questions that could not be asked: they took no model time).

    >>> r = summarize([ItemOutcome("sound", True, "tag", latency_ms=10.0),
    ...                ItemOutcome("sound", False, None, latency_ms=30.0),
    ...                ItemOutcome("music", True, "letter", latency_ms=20.0)],
    ...               skipped={"audio-only clip": 2})
    >>> r.overall.n, r.overall.correct, r.overall.accuracy, r.overall.unanswered
    (3, 2, 0.6667, 1)
    >>> {k: (v.n, v.correct) for k, v in r.per_category.items()}
    {'music': (1, 1), 'sound': (2, 1)}
    >>> r.answer_reading, r.mean_latency_ms, r.skipped.n
    ({'tag': 1, 'letter': 1, 'choice-text': 0, 'none': 1}, 20.0, 2)
    >>> r.overall.strict_correct, r.overall.interval
    (0, Interval(low=0.0, high=1.0))
    """
    items = list(items)
    unanswered = sum(not item.answered for item in items)
    errors = sum(item.error for item in items)
    by_category: dict[str, list[ItemOutcome]] = {}
    for item in items:
        by_category.setdefault(item.category or UNCATEGORIZED, []).append(item)
    asked = [item for item in items if not item.error]
    readings = Counter(item.reading if item.answered and item.reading else "none" for item in items)
    skipped = dict(sorted((skipped or {}).items()))
    return EvaluationResults(
        overall=OverallResult.model_validate({
            **_scores(items), "unanswered": unanswered, "errors": errors, "unreadable": unanswered - errors,
            "strict_unreadable": sum(not i.error and i.reading != "tag" for i in items)}),
        per_category={name: CategoryResult.model_validate(_scores(group))
                      for name, group in sorted(by_category.items())},
        answer_reading={reading: readings.get(reading, 0) for reading in READINGS},
        mean_latency_ms=round(sum(i.latency_ms for i in asked) / len(asked), 3) if asked else None,
        skipped=SkippedQuestions(n=sum(skipped.values()), reasons=skipped),
        interval_method=METHOD,
    )
