"""Adaptive self-consistency: draw the K samples in rounds and stop once the vote is decided. Pure.

SightSound-R1 draws K chains of thought per question and keeps the question only if the vote passes.
Many questions are decided long before the K-th sample: under ``unanimous``, two different answers (or
one unparsed sample) already rule consensus out; under ``majority``, a leader can be out of reach, or
no answer can reach the threshold any more. Stopping there saves samples without changing the decision:
:func:`decided` says ``True`` only when **every** way of drawing the remaining samples gives the same
outcome (the tests enumerate all of them), so adaptive and full sampling keep and drop the same
questions. Over the samples actually drawn, :func:`~sightsound_teacher.voting.vote` then gives the same
``reached`` and ``answer_index`` as over all K would; ``agreement`` is the share of the drawn samples.

Rounds (:func:`next_round_size`): ``first_round`` samples, then

- ``unanimous``: each round doubles the samples drawn so far (2, 2, 4 for K=8). Any single sample can
  break unanimity, so waiting for the earliest possible decision would mean rounds of one sample;
  doubling keeps a question that does agree to a few batched rounds.
- ``majority``: the fewest further samples after which the outcome *could* be decided
  (:func:`min_samples_to_decide`): no sample is drawn past the earliest point the vote could be
  settled, and a clear winner stops the draw as soon as it is out of reach (5 of K=8 after 2, 3).

Each round costs one prefill of the prompt and frames (vLLM's prefix cache shares it across rounds);
the rows of a round are still decoded as one batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sightsound_teacher.voting import VotePolicy

#: Answers are 0-based choice indexes; the question has this many choices.
N_CHOICES = 4


def decided(
    answers: Sequence[int | None],
    k: int,
    policy: VotePolicy = "unanimous",
    threshold: float = 0.5,
    n_choices: int = N_CHOICES,
) -> bool:
    """Whether the vote over all ``k`` samples is already fixed by the ``answers`` drawn so far.

    ``None`` is a sample that did not parse. With all ``k`` drawn the outcome is always decided.

    >>> decided([0, 1], 8)  # two different answers: unanimity is impossible
    True
    >>> decided([0, 0], 8), decided([0, None], 8)
    (False, True)
    >>> decided([2, 2, 2, 2, 2], 8, "majority", 0.5)  # C has 5 of 8 whatever comes
    True
    >>> decided([2, 2, 2, 2], 8, "majority", 0.5)  # 4 more votes for another answer would tie it
    False
    >>> decided([None, None, None, None, None], 8, "majority", 0.5)  # nobody can pass 4 of 8 any more
    True
    """
    if not k > 0 or len(answers) > k:
        raise ValueError(f"{len(answers)} answers drawn for k={k}")
    if policy not in ("unanimous", "majority"):
        raise ValueError(f"unknown vote policy {policy!r}")
    remaining = k - len(answers)
    if remaining == 0:
        return True
    if policy == "unanimous":
        # Reached needs all k parsed and equal: impossible once one is unparsed or two differ.
        return None in answers or len(set(answers)) > 1
    counts = Counter(a for a in answers if a is not None)
    tally = [counts.get(choice, 0) for choice in range(n_choices)]
    need = threshold * k  # a winner's count must be strictly above this

    def best_other(choice: int) -> int:
        return max((c for i, c in enumerate(tally) if i != choice), default=0)

    # Reached whatever comes: the leader stays above the threshold and beyond the reach of any rival
    # who would take every remaining sample.
    for choice, count in enumerate(tally):
        if count > need and count > best_other(choice) + remaining:
            return True
    # Out of reach whatever comes: not even all remaining samples make any answer a strict winner
    # above the threshold.
    return not any(
        count + remaining > need and count + remaining > best_other(choice) for choice, count in enumerate(tally)
    )


def min_samples_to_decide(
    answers: Sequence[int | None],
    k: int,
    policy: VotePolicy = "unanimous",
    threshold: float = 0.5,
    n_choices: int = N_CHOICES,
) -> int:
    """Fewest further samples after which the vote *could* be decided (0 when it already is).

    Filling the remaining samples with one value (one answer, or unparsed) reaches a decision as soon
    as any extension does (the tests check this against every extension for small K).

    >>> min_samples_to_decide([2, 2, 2, 2], 8, "majority")  # a fifth C wins
    1
    >>> min_samples_to_decide([0, 1, 0, 1], 8, "majority")  # two unparsed leave no one able to pass 4 of 8
    2
    >>> min_samples_to_decide([0, 0], 8), min_samples_to_decide([0, 1], 8)
    (1, 0)
    """
    if decided(answers, k, policy, threshold, n_choices):
        return 0
    values: list[int | None] = [None, *range(n_choices)]
    for more in range(1, k - len(answers) + 1):
        if any(decided([*answers, *([v] * more)], k, policy, threshold, n_choices) for v in values):
            return more
    return k - len(answers)  # unreachable: with all k drawn the vote is decided


def next_round_size(
    answers: Sequence[int | None],
    k: int,
    policy: VotePolicy = "unanimous",
    threshold: float = 0.5,
    first_round: int = 2,
) -> int:
    """Samples to draw next, given the ``answers`` so far (0 when the vote is decided).

    >>> next_round_size([], 8), next_round_size([1, 1], 8), next_round_size([1, 1, 1, 1], 8)
    (2, 2, 4)
    >>> next_round_size([1, 1], 8, "majority"), next_round_size([1, 1, 1, 1], 8, "majority")
    (3, 1)
    """
    if first_round < 1:
        raise ValueError("first_round must be at least 1")
    if decided(answers, k, policy, threshold):
        return 0
    drawn = len(answers)
    if drawn == 0:
        return min(first_round, k)
    if policy == "unanimous":
        return min(drawn, k - drawn)
    return min_samples_to_decide(answers, k, policy, threshold)


def round_sizes(k: int, first_round: int) -> list[int]:
    """Sizes of the rounds when no round decides early under ``unanimous``: ``first_round``, then
    doubling the total drawn, capped at ``k``.

    >>> round_sizes(8, 2), round_sizes(4, 2), round_sizes(5, 2), round_sizes(3, 8), round_sizes(1, 2)
    ([2, 2, 4], [2, 2], [2, 2, 1], [3], [1])
    """
    if k < 1 or first_round < 1:
        raise ValueError("k and first_round must be at least 1")
    sizes = [min(first_round, k)]
    drawn = sizes[0]
    while drawn < k:
        size = min(drawn, k - drawn)
        sizes.append(size)
        drawn += size
    return sizes
