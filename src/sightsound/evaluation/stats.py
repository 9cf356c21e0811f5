"""Uncertainty of accuracies (pure, seeded): bootstrap intervals and paired tests between two models.

- :func:`bootstrap_interval`: the 95% percentile bootstrap interval of an accuracy (``correct`` of ``n``).
  Resampling n right/wrong outcomes with replacement and counting the right ones is exactly a draw from
  Binomial(n, correct/n), so the 2000 resamples are 2000 binomial draws: the same distribution as resampling
  the items, at no cost for large n. At 0 of n or n of n every resample is the same and the interval is a
  point: the bootstrap cannot see beyond the data, read such an interval with its n.
- :func:`cluster_bootstrap_interval`: the same for an accuracy over items that come in clusters (the rotations
  of one question): whole clusters are resampled, so correlated items do not narrow the interval.
- :func:`mcnemar_exact`: the two-sided exact McNemar test of two models on the same questions (only the
  questions exactly one of them got right carry information).
- :func:`paired_difference_interval`: the paired bootstrap interval of the accuracy difference (resampling
  questions, each keeping both models' outcomes), drawn as a multinomial over {a only, both or neither,
  b only}: again exactly the item bootstrap.

Every function is deterministic for a given ``seed``: the same inputs give the same interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

RESAMPLES = 2000
LEVEL = 0.95
SEED = 0
#: How every interval in an evaluation's results is made (recorded with them).
METHOD = f"{round(100 * LEVEL)}% percentile bootstrap, {RESAMPLES} resamples, seed {SEED}"


def _percentiles(draws: np.ndarray, level: float) -> tuple[float, float]:
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(draws, [tail, 100 - tail])
    return round(float(low), 4), round(float(high), 4)


def bootstrap_interval(correct: int, n: int, *, resamples: int = RESAMPLES, level: float = LEVEL,
                       seed: int = SEED) -> tuple[float, float] | None:
    """The percentile bootstrap interval of ``correct / n``; None when ``n`` is 0.

    >>> bootstrap_interval(7, 10)
    (0.4, 1.0)
    >>> bootstrap_interval(60, 100) == bootstrap_interval(60, 100)
    True
    >>> bootstrap_interval(0, 10), bootstrap_interval(0, 0)
    ((0.0, 0.0), None)
    """
    if n <= 0:
        return None
    if not 0 <= correct <= n:
        raise ValueError(f"correct must be between 0 and n ({n}), got {correct}")
    rng = np.random.default_rng(seed)
    return _percentiles(rng.binomial(n, correct / n, size=resamples) / n, level)


def cluster_bootstrap_interval(correct: Sequence[int], sizes: Sequence[int], *, resamples: int = RESAMPLES,
                               level: float = LEVEL, seed: int = SEED) -> tuple[float, float] | None:
    """The percentile bootstrap interval of ``sum(correct) / sum(sizes)`` resampling whole clusters (cluster
    ``i`` has ``sizes[i]`` items of which ``correct[i]`` are right); None when there are no items.

    >>> cluster_bootstrap_interval([2, 2, 0, 0], [2, 2, 2, 2])
    (0.0, 1.0)
    >>> cluster_bootstrap_interval([1] * 10, [2] * 10), cluster_bootstrap_interval([], [])
    ((0.5, 0.5), None)
    >>> low, high = cluster_bootstrap_interval([3] * 30 + [1] * 30, [4] * 60); 0.4 < low < 0.5 < high < 0.6
    True
    """
    if len(correct) != len(sizes):
        raise ValueError("correct and sizes: one count per cluster")
    if any(s < 0 or not 0 <= c <= s for c, s in zip(correct, sizes, strict=True)):
        raise ValueError("each cluster's correct count must be between 0 and its size")
    if sum(sizes) == 0:
        return None
    right, size = np.asarray(correct, dtype=np.int64), np.asarray(sizes, dtype=np.int64)
    k = len(size)
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // k)  # bounds memory: chunk × k cluster indices at a time
    draws: list[np.ndarray] = []
    for start in range(0, resamples, chunk):
        picked = rng.integers(0, k, size=(min(chunk, resamples - start), k))
        totals = size[picked].sum(axis=1)
        draws.append(np.where(totals > 0, right[picked].sum(axis=1) / np.maximum(totals, 1), 0.0))
    return _percentiles(np.concatenate(draws), level)


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (right by ``a`` only, by ``b`` only).

    >>> mcnemar_exact(0, 0), mcnemar_exact(5, 5)
    (1.0, 1.0)
    >>> round(mcnemar_exact(0, 6), 4), round(mcnemar_exact(1, 9), 4)
    (0.0312, 0.0215)
    """
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0
    k = min(only_a, only_b)
    tail = sum(math.comb(discordant, i) for i in range(k + 1)) / 2**discordant
    return float(min(1.0, 2 * tail))


def paired_difference_interval(only_a: int, only_b: int, n: int, *, resamples: int = RESAMPLES,
                               level: float = LEVEL, seed: int = SEED) -> tuple[float, float] | None:
    """The paired bootstrap interval of accuracy(b) − accuracy(a) over ``n`` shared questions.

    >>> paired_difference_interval(0, 0, 10)
    (0.0, 0.0)
    >>> low, high = paired_difference_interval(1, 9, 20); low > 0 < high
    True
    >>> paired_difference_interval(0, 0, 0) is None
    True
    """
    if n <= 0:
        return None
    if only_a < 0 or only_b < 0 or only_a + only_b > n:
        raise ValueError("discordant counts must be non-negative and at most n")
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, [only_a / n, 1 - (only_a + only_b) / n, only_b / n], size=resamples)
    return _percentiles((draws[:, 2] - draws[:, 0]) / n, level)
