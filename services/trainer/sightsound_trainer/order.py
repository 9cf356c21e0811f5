"""Which examples a batch takes: a pure function of (seed, batch number, rank), so a resumed run continues
exactly where it stopped and every rank of a DDP run takes a disjoint share.

The examples form an endless stream, one seeded shuffle per epoch; global batch ``b`` takes the next
``batch_size × world`` items of the stream and rank ``r`` takes its ``batch_size`` of them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=64)
def _epoch_order(n: int, seed: int, epoch: int) -> tuple[int, ...]:
    return tuple(int(i) for i in np.random.default_rng([seed, epoch]).permutation(n))


def batch_indices(n: int, seed: int, batch: int, batch_size: int, world: int = 1, rank: int = 0) -> list[int]:
    """Indices (into ``n`` examples) of rank ``rank``'s part of global batch ``batch``.

    >>> first = batch_indices(4, 0, 0, 2, world=2, rank=0) + batch_indices(4, 0, 0, 2, world=2, rank=1)
    >>> sorted(first)
    [0, 1, 2, 3]
    >>> batch_indices(4, 0, 5, 2) == batch_indices(4, 0, 5, 2)
    True
    """
    if n <= 0:
        raise ValueError("no examples to draw batches from")
    start = (batch * world + rank) * batch_size
    out = []
    for position in range(start, start + batch_size):
        epoch, offset = divmod(position, n)
        out.append(_epoch_order(n, seed, epoch)[offset])
    return out


def steps_for_epochs(n: int, epochs: float, examples_per_step: int) -> int:
    """Optimizer steps that cover ``epochs`` passes over ``n`` examples (at least one).

    >>> steps_for_epochs(10, 1.0, 4), steps_for_epochs(10, 2.0, 4), steps_for_epochs(1, 1.0, 8)
    (3, 5, 1)
    """
    return max(1, -(-round(n * epochs) // examples_per_step))
