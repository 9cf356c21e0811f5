"""The pure logic of the shortcut checks, exhaustively on small cases: rotating choices and mapping letters
back, consistency across rotations, the audio-contribution split, and the question-resampled interval."""

from __future__ import annotations

import itertools
import uuid

import pytest

from sightsound.evaluation.robustness import (
    ListenedPair,
    RotatedAnswer,
    RotationError,
    consistent,
    contribution_labels,
    original_index,
    presented_index,
    rotate,
    rotations,
    summarize_contribution,
    summarize_rotations,
)
from sightsound.evaluation.stats import bootstrap_interval, cluster_bootstrap_interval

Q = uuid.UUID(int=7)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_rotation_mapping_round_trips_and_moves_every_gold_letter_through_every_position(n: int) -> None:
    choices = [f"c{i}" for i in range(n)]
    assert list(rotations(n)) == list(range(n))
    for rotation in rotations(n):
        shown = rotate(choices, rotation)
        assert sorted(shown) == choices  # a permutation: nothing lost, nothing repeated
        for original in range(n):
            letter = presented_index(original, rotation, n)
            assert shown[letter] == choices[original]
            assert original_index(letter, rotation, n) == original
        assert original_index(None, rotation, n) is None
    for original in range(n):  # across the rotations the gold letter takes every position once
        assert sorted(presented_index(original, r, n) for r in rotations(n)) == list(range(n))


@pytest.mark.parametrize("n", [0, 1])
def test_a_question_with_fewer_than_two_choices_cannot_be_rotated(n: int) -> None:
    with pytest.raises(RotationError, match="cannot be rotated: it needs at least 2"):
        rotations(n)
    with pytest.raises(RotationError):
        rotate(["only"] * n, 0)


@pytest.mark.parametrize(("call", "words"), [
    (lambda: rotate(["a", "b"], 2), "rotation 2 does not exist for 2 choices"),
    (lambda: rotate(["a", "b"], -1), "rotation -1 does not exist"),
    (lambda: presented_index(4, 0, 4), "choice 4 does not exist"),
    (lambda: original_index(3, 1, 3), "answer 3 does not exist"),
])
def test_out_of_range_is_refused(call: object, words: str) -> None:
    with pytest.raises(RotationError, match=words):
        call()  # type: ignore[operator]


def _answers(n: int, choices: tuple[int | None, ...], tagged: tuple[bool, ...]) -> list[RotatedAnswer]:
    return [RotatedAnswer(Q, r, n, c, t, c == 0, c == 0 and t) for r, (c, t) in enumerate(zip(choices, tagged,
                                                                                              strict=True))]


@pytest.mark.parametrize("n", [2, 3])
def test_consistency_against_its_definition_on_every_answer_pattern(n: int) -> None:
    options = [None, *range(n)]
    for choices in itertools.product(options, repeat=n):
        for tagged in itertools.product([False, True], repeat=n):
            answers = _answers(n, choices, tagged)
            same = None not in choices and len(set(choices)) == 1
            assert consistent(answers) is same
            assert consistent(answers, strict=True) is (same and all(tagged))
            assert not consistent(answers[:-1])  # a rotation missing is never consistent
            assert consistent(list(reversed(answers))) is same  # order of the asks does not matter


def test_rotation_summary_counts_items_and_questions() -> None:
    right_always = _answers(2, (0, 0), (True, True))
    by_position = [RotatedAnswer(uuid.UUID(int=2), r, 2, original_index(0, r, 2), True, r == 0, r == 0)
                   for r in range(2)]  # always letter A: a different choice under each rotation
    unanswered = [RotatedAnswer(uuid.UUID(int=3), r, 2, None, False, False, False) for r in range(2)]
    result = summarize_rotations([*right_always, *by_position, *unanswered])
    assert result.questions == 3
    assert (result.items.n, result.items.correct, result.strict_items.correct) == (6, 3, 3)
    assert (result.consistent.n, result.consistent.correct, result.strict_consistent.correct) == (3, 1, 1)
    assert result.all_correct.correct == 1 and result.consistent.accuracy == pytest.approx(1 / 3, abs=1e-4)
    assert result.items.interval is not None and result.consistent.interval is not None
    empty = summarize_rotations([])
    assert empty.questions == 0 and empty.items.accuracy is None and empty.items.interval is None


def test_contribution_split_on_every_pattern() -> None:
    patterns = [(hc, hs, sc, ss, asked) for hc, sc, asked in itertools.product([False, True], repeat=3)
                for hs in ([False, True] if hc else [False]) for ss in ([False, True] if sc else [False])]
    pairs = [ListenedPair(uuid.UUID(int=i), *p) for i, p in enumerate(patterns)]
    result = summarize_contribution(pairs)
    asked = [p for p in pairs if p.asked]
    assert result.questions == len(asked) and result.not_asked == len(pairs) - len(asked)
    weak = [p for p in asked if p.silent_correct]
    strong = [p for p in asked if not p.silent_correct]
    assert result.without_audio.correct == len(weak) and result.without_audio.n == len(asked)
    assert result.strict_without_audio.correct == sum(p.silent_strict for p in asked)
    assert result.needs_audio.n == len(strong) and result.needs_audio.correct == sum(p.heard_correct for p in strong)
    assert result.strict_needs_audio.correct == sum(p.heard_strict for p in strong)
    assert result.weak_with_audio.n == len(weak) and result.weak_with_audio.correct == sum(p.heard_correct
                                                                                           for p in weak)
    labels = contribution_labels(pairs)
    assert set(labels) == {p.question_id for p in asked}  # an unasked question gets no label
    assert {q for q, label in labels.items() if label == "weak"} == {p.question_id for p in weak}
    assert {q for q, label in labels.items() if label == "strong"} == {p.question_id for p in strong}


def test_the_interval_over_rotations_resamples_questions() -> None:
    # Clusters of size 1 are the plain item bootstrap's setting: the same point estimate and a similar width.
    plain = bootstrap_interval(12, 20)
    clustered = cluster_bootstrap_interval([1] * 12 + [0] * 8, [1] * 20)
    assert plain is not None and clustered is not None
    assert abs((plain[1] - plain[0]) - (clustered[1] - clustered[0])) < 0.08
    # Perfectly correlated rotations (all right or all wrong) carry 20 questions' information, not 80 items':
    # the interval is as wide as for 20 independent items, wider than an item bootstrap over 80 would say.
    correlated = cluster_bootstrap_interval([4] * 12 + [0] * 8, [4] * 20)
    naive = bootstrap_interval(48, 80)
    assert correlated is not None and naive is not None
    assert correlated[1] - correlated[0] > 1.5 * (naive[1] - naive[0])
    assert cluster_bootstrap_interval([3, 1], [4, 4]) == cluster_bootstrap_interval([3, 1], [4, 4])
    with pytest.raises(ValueError, match="between 0 and its size"):
        cluster_bootstrap_interval([5], [4])
