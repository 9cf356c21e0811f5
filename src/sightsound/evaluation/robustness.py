"""Evaluation that resists the known shortcuts of multiple-choice audio benchmarks (pure, no I/O).

- **Choice order.** A model that prefers a letter, or the first plausible text, scores by position, not by
  listening (a robustness study of MMAU, MMAR and MMSU, arXiv 2510.04584, found answers change when choices
  are reordered). With rotations on, each question is asked under every rotation of its choices: rotation
  ``r`` presents ``choices[r:] + choices[:r]`` with the letters A, B, … re-assigned in that order, so the
  gold letter moves. Every answer is mapped back to its *underlying* choice (:func:`original_index`), and a
  question is *consistent* when it was answered under every rotation with the same underlying choice.
- **Audio contribution.** Many questions are answerable from the text alone (AudioMCQ, arXiv 2509.21060).
  With silent audio on, each question is also asked with zeros of its clip's duration (the same decode and
  feature path); a question answered right with silence is *answerable without audio* (weak audio
  contribution), the others *need audio* (strong). Accuracy on the questions that need audio is reported
  apart, and an evaluation can label its questions ``weak`` / ``strong`` for dataset filters (AudioMCQ's
  recipe: SFT on weak, GRPO on strong).

Rotation 0 without silence is the ordinary evaluation (the ``overall`` results); the extra asks are reported
in their own blocks. Intervals: questions are independent, but the rotations of one question are not, so the
accuracy over all asked items resamples *questions* (:func:`~sightsound.evaluation.stats.cluster_bootstrap_interval`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from sightsound.contracts.evaluation import AudioContributionResult, Interval, RotationResult, ScoredGroup
from sightsound.evaluation.stats import cluster_bootstrap_interval
from sightsound.evaluation.summary import accuracy, interval

T = TypeVar("T")
AudioContribution = Literal["weak", "strong"]
AUDIO_CONTRIBUTIONS: tuple[AudioContribution, ...] = ("weak", "strong")
MIN_ROTATED_CHOICES = 2


class RotationError(ValueError):
    """A rotation that does not exist for the question (too few choices, or out of range)."""


def rotations(n_choices: int) -> range:
    """The rotations of a question with ``n_choices`` choices: 0 (as given) to n - 1.

    >>> list(rotations(4)), list(rotations(2))
    ([0, 1, 2, 3], [0, 1])
    >>> rotations(1)
    Traceback (most recent call last):
    ...
    sightsound.evaluation.robustness.RotationError: a question with 1 choice cannot be rotated: it needs at least 2
    """
    if n_choices < MIN_ROTATED_CHOICES:
        plural = "" if n_choices == 1 else "s"
        raise RotationError(f"a question with {n_choices} choice{plural} cannot be rotated: it needs at least "
                            f"{MIN_ROTATED_CHOICES}")
    return range(n_choices)


def _check(rotation: int, n_choices: int) -> None:
    if rotation not in rotations(n_choices):
        raise RotationError(f"rotation {rotation} does not exist for {n_choices} choices (0 to {n_choices - 1})")


def rotate(choices: Sequence[T], rotation: int) -> list[T]:
    """The choices as presented under ``rotation``: letter A is ``choices[rotation]``.

    >>> rotate(["w", "x", "y", "z"], 1), rotate(["w", "x", "y", "z"], 0), rotate(["yes", "no"], 1)
    (['x', 'y', 'z', 'w'], ['w', 'x', 'y', 'z'], ['no', 'yes'])
    """
    _check(rotation, len(choices))
    return [*choices[rotation:], *choices[:rotation]]


def presented_index(original: int, rotation: int, n_choices: int) -> int:
    """Where the choice ``original`` appears under ``rotation`` (the gold letter of a rotated question).

    >>> presented_index(0, 1, 4), presented_index(3, 1, 4), presented_index(2, 0, 4)
    (3, 2, 2)
    """
    _check(rotation, n_choices)
    if not 0 <= original < n_choices:
        raise RotationError(f"choice {original} does not exist among {n_choices}")
    return (original - rotation) % n_choices


def original_index(presented: int | None, rotation: int, n_choices: int) -> int | None:
    """The underlying choice of an answer given under ``rotation`` (None stays None: no answer).

    >>> original_index(3, 1, 4), original_index(0, 3, 4), original_index(None, 2, 4)
    (0, 3, None)
    """
    _check(rotation, n_choices)
    if presented is None:
        return None
    if not 0 <= presented < n_choices:
        raise RotationError(f"answer {presented} does not exist among {n_choices} choices")
    return (presented + rotation) % n_choices


# --- consistency ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RotatedAnswer:
    """One ask of a question under one rotation, its answer mapped back to the underlying choice.

    ``choice``: the underlying choice read leniently (None: unanswered); ``tagged``: read from a well-formed
    ``<answer>X</answer>`` (strict); ``correct`` / ``strict``: right leniently / strictly.
    """

    question_id: uuid.UUID
    rotation: int
    n_choices: int
    choice: int | None
    tagged: bool
    correct: bool
    strict: bool


def consistent(answers: Sequence[RotatedAnswer], strict: bool = False) -> bool:
    """Answered under every rotation of the question with the same underlying choice (strict: each read from
    its ``<answer>`` tag). A missing rotation or an unanswered one is not consistent.

    >>> q = uuid.UUID(int=1)
    >>> same = [RotatedAnswer(q, r, 2, 1, r == 0, r == 1, False) for r in range(2)]
    >>> consistent(same), consistent(same, strict=True), consistent(same[:1])
    (True, False, False)
    """
    if not answers:
        return False
    n = answers[0].n_choices
    if sorted(a.rotation for a in answers) != list(range(n)):
        return False
    if any(a.choice is None or (strict and not a.tagged) for a in answers):
        return False
    return len({a.choice for a in answers}) == 1


def _group(correct: int, n: int) -> ScoredGroup:
    return ScoredGroup(n=n, correct=correct, accuracy=accuracy(correct, n), interval=interval(correct, n))


def _cluster_group(correct: Sequence[int], sizes: Sequence[int]) -> ScoredGroup:
    bounds = cluster_bootstrap_interval(correct, sizes)
    n, right = sum(sizes), sum(correct)
    return ScoredGroup(n=n, correct=right, accuracy=accuracy(right, n),
                       interval=None if bounds is None else Interval(low=bounds[0], high=bounds[1]))


def summarize_rotations(answers: Iterable[RotatedAnswer]) -> RotationResult:
    """Accuracy over every asked item (lenient and strict, intervals resampling questions) and the share of
    questions answered consistently, and right under every rotation.

    >>> a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    >>> asks = [RotatedAnswer(a, 0, 2, 0, True, True, True), RotatedAnswer(a, 1, 2, 0, True, True, True),
    ...         RotatedAnswer(b, 0, 2, 1, True, False, False), RotatedAnswer(b, 1, 2, 0, False, True, False)]
    >>> r = summarize_rotations(asks)
    >>> r.questions, r.items.n, r.items.correct, r.strict_items.correct, r.consistent.correct, r.all_correct.correct
    (2, 4, 3, 2, 1, 1)
    """
    by_question: dict[uuid.UUID, list[RotatedAnswer]] = {}
    for answer in answers:
        by_question.setdefault(answer.question_id, []).append(answer)
    groups = list(by_question.values())
    sizes = [len(g) for g in groups]
    n = len(groups)
    every = [all(a.correct for a in g) and consistent(g) for g in groups]
    return RotationResult(
        questions=n,
        items=_cluster_group([sum(a.correct for a in g) for g in groups], sizes),
        strict_items=_cluster_group([sum(a.strict for a in g) for g in groups], sizes),
        consistent=_group(sum(consistent(g) for g in groups), n),
        strict_consistent=_group(sum(consistent(g, strict=True) for g in groups), n),
        all_correct=_group(sum(every), n),
    )


# --- audio contribution ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListenedPair:
    """One question asked twice in its given order: with its audio (``heard_*``) and with silence."""

    question_id: uuid.UUID
    heard_correct: bool
    heard_strict: bool
    silent_correct: bool
    silent_strict: bool
    asked: bool = True  # False: the question could not be asked (its audio could not be read)


def contribution(silent_correct: bool) -> AudioContribution:
    """AudioMCQ's label of a question from the reference model's answer with silent audio: right without
    listening is ``weak`` audio contribution, otherwise ``strong``.

    >>> contribution(True), contribution(False)
    ('weak', 'strong')
    """
    return "weak" if silent_correct else "strong"


def contribution_labels(pairs: Iterable[ListenedPair]) -> dict[uuid.UUID, AudioContribution]:
    """The label of every question that was asked (an unasked one gets none: nothing was measured).

    >>> q = [uuid.UUID(int=i) for i in range(3)]
    >>> contribution_labels([ListenedPair(q[0], True, True, True, False), ListenedPair(q[1], True, True, False, False),
    ...                      ListenedPair(q[2], False, False, False, False, asked=False)]) == {
    ...     q[0]: "weak", q[1]: "strong"}
    True
    """
    return {p.question_id: contribution(p.silent_correct) for p in pairs if p.asked}


def summarize_contribution(pairs: Iterable[ListenedPair]) -> AudioContributionResult:
    """How many questions are answerable without listening, and the accuracy with audio on the others.

    >>> q = [uuid.UUID(int=i) for i in range(4)]
    >>> r = summarize_contribution([ListenedPair(q[0], True, True, True, True),
    ...                             ListenedPair(q[1], True, False, False, False),
    ...                             ListenedPair(q[2], False, False, False, False),
    ...                             ListenedPair(q[3], False, False, False, False, asked=False)])
    >>> r.questions, r.not_asked, r.without_audio.correct, r.without_audio.accuracy, r.strict_without_audio.correct
    (3, 1, 1, 0.3333, 1)
    >>> r.needs_audio.n, r.needs_audio.correct, r.strict_needs_audio.correct, r.weak_with_audio.correct
    (2, 1, 0, 1)
    """
    pairs = list(pairs)
    asked = [p for p in pairs if p.asked]
    needs = [p for p in asked if not p.silent_correct]
    weak = [p for p in asked if p.silent_correct]
    n = len(asked)
    return AudioContributionResult(
        questions=n,
        not_asked=len(pairs) - n,
        without_audio=_group(sum(p.silent_correct for p in asked), n),
        strict_without_audio=_group(sum(p.silent_strict for p in asked), n),
        needs_audio=_group(sum(p.heard_correct for p in needs), len(needs)),
        strict_needs_audio=_group(sum(p.heard_strict for p in needs), len(needs)),
        weak_with_audio=_group(sum(p.heard_correct for p in weak), len(weak)),
    )


__all__ = ["AUDIO_CONTRIBUTIONS", "AudioContribution", "ListenedPair", "RotatedAnswer", "RotationError",
           "consistent", "contribution", "contribution_labels", "original_index", "presented_index", "rotate",
           "rotations", "summarize_contribution", "summarize_rotations"]
