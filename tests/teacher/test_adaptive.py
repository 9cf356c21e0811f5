"""Adaptive sampling's stopping rule, checked exhaustively against the vote itself.

For every K up to 5 (6 for the common cases), every prefix of drawn answers (4 choices or unparsed),
every policy and a range of thresholds: ``decided`` is True exactly when every completion of the
prefix to K samples gives the same vote outcome (reached, answer), and the vote over the prefix alone
then agrees with that outcome.
"""

from __future__ import annotations

import itertools
from functools import cache

import pytest

from sightsound_teacher.adaptive import decided, min_samples_to_decide, next_round_size, round_sizes
from sightsound_teacher.voting import VotePolicy, vote

VALUES: tuple[int | None, ...] = (None, 0, 1, 2, 3)
Outcome = tuple[bool, int | None]


@cache
def outcome(answers: tuple[int | None, ...], policy: VotePolicy, threshold: float) -> Outcome:
    c = vote(list(answers), policy, threshold)
    return c.reached, c.answer_index


def completions(prefix: tuple[int | None, ...], k: int) -> list[tuple[int | None, ...]]:
    return [prefix + rest for rest in itertools.product(VALUES, repeat=k - len(prefix))]


def check_exhaustively(k: int, policy: VotePolicy, threshold: float) -> int:
    stops = 0
    for n in range(0, k + 1):
        for prefix in itertools.product(VALUES, repeat=n):
            outcomes = {outcome(full, policy, threshold) for full in completions(prefix, k)}
            fixed = len(outcomes) == 1
            assert decided(prefix, k, policy, threshold) == fixed, (prefix, k, policy, threshold, outcomes)
            if fixed and n > 0:
                # The vote over what was drawn is the vote over all K would have been.
                assert outcome(prefix, policy, threshold) == next(iter(outcomes)), (prefix, k, policy, threshold)
                stops += n < k
    return stops


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("threshold", [0.25, 0.5, 0.6, 0.75, 0.99, 1.0])
def test_majority_stops_exactly_when_the_outcome_is_fixed(k: int, threshold: float) -> None:
    check_exhaustively(k, "majority", threshold)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
def test_unanimous_stops_exactly_when_unanimity_is_impossible(k: int) -> None:
    stops = check_exhaustively(k, "unanimous", 0.5)
    assert (stops > 0) == (k > 1)


def test_majority_k6_default_threshold() -> None:
    assert check_exhaustively(6, "majority", 0.5) > 0


def true_min_to_decide(prefix: tuple[int | None, ...], k: int, policy: VotePolicy, threshold: float) -> int:
    """Brute force over every extension (as a multiset: the vote ignores order)."""
    for more in range(0, k - len(prefix) + 1):
        for extension in itertools.combinations_with_replacement(VALUES, more):
            if decided(prefix + extension, k, policy, threshold):
                return more
    raise AssertionError("with all k drawn the vote is always decided")


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("threshold", [0.25, 0.5, 0.75, 1.0])
@pytest.mark.parametrize("policy", ["unanimous", "majority"])
def test_min_samples_to_decide_is_the_true_minimum(k: int, threshold: float, policy: VotePolicy) -> None:
    for n in range(0, k + 1):
        for prefix in itertools.product(VALUES, repeat=n):
            assert min_samples_to_decide(prefix, k, policy, threshold) == true_min_to_decide(
                prefix, k, policy, threshold
            ), (prefix, k)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("policy", ["unanimous", "majority"])
@pytest.mark.parametrize("first", [1, 2, 3])
def test_next_round_size(k: int, policy: VotePolicy, first: int) -> None:
    for n in range(0, k + 1):
        for prefix in itertools.product(VALUES, repeat=n):
            size = next_round_size(prefix, k, policy, 0.5, first)
            if decided(prefix, k, policy, 0.5):
                assert size == 0
                continue
            assert 1 <= size <= k - n
            if n == 0:
                assert size == min(first, k)
            elif policy == "majority":  # never past the earliest point the vote could be settled
                assert size == true_min_to_decide(prefix, k, policy, 0.5)
            else:
                assert size == min(n, k - n)


def test_majority_stops_at_the_fifth_agreeing_sample_of_eight() -> None:
    answers: list[int | None] = []
    sizes = []
    while size := next_round_size(answers, 8, "majority", 0.5):
        sizes.append(size)
        answers += [1] * size
    assert sizes == [2, 3] and len(answers) == 5


class TestExamples:
    def test_unanimous(self) -> None:
        assert decided([0, 1], 8) and decided([None], 8) and not decided([2, 2, 2], 8)
        assert decided([2] * 8, 8)  # everything drawn

    def test_majority(self) -> None:
        assert decided([1] * 5, 8, "majority", 0.5)  # 5 of 8 whatever comes
        assert not decided([1] * 4, 8, "majority", 0.5)  # 4 more for one rival would tie
        assert decided([0, 1, 2, 3, None], 8, "majority", 0.5)  # no one can pass 4 of 8
        assert not decided([0, 1, 2, 3], 8, "majority", 0.5)  # 1 + 4 = 5 > 4 is still possible

    def test_bad_arguments(self) -> None:
        with pytest.raises(ValueError):
            decided([0, 0, 0], 2)
        with pytest.raises(ValueError):
            decided([0], 2, "plurality")  # type: ignore[arg-type]


class TestRounds:
    @pytest.mark.parametrize("k", range(1, 17))
    @pytest.mark.parametrize("first", [1, 2, 3, 4, 20])
    def test_rounds_cover_k_exactly(self, k: int, first: int) -> None:
        sizes = round_sizes(k, first)
        assert sum(sizes) == k and all(s >= 1 for s in sizes)
        assert sizes[0] == min(first, k)
        drawn = sizes[0]
        for size in sizes[1:]:  # each later round at most doubles what was drawn
            assert size <= drawn
            drawn += size

    def test_examples(self) -> None:
        assert round_sizes(8, 2) == [2, 2, 4]
        assert round_sizes(16, 2) == [2, 2, 4, 8]
        assert round_sizes(6, 4) == [4, 2]

    def test_bad_arguments(self) -> None:
        with pytest.raises(ValueError):
            round_sizes(0, 2)
        with pytest.raises(ValueError):
            round_sizes(4, 0)
