"""Generation helpers shared by GRPO rollouts, evaluations and serving."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import LogitsProcessor


class SuppressTokens(LogitsProcessor):
    """Set the scores of ``token_ids`` to -inf at every step, so they are never sampled.

    >>> scores = SuppressTokens([1])(torch.zeros(1, 1, dtype=torch.long), torch.zeros(1, 3))
    >>> scores.tolist()
    [[0.0, -inf, 0.0]]
    """

    def __init__(self, token_ids: Sequence[int]) -> None:
        self.token_ids = torch.tensor(sorted(set(token_ids)), dtype=torch.long)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        ids = self.token_ids.to(scores.device)
        scores = scores.index_fill(-1, ids, float("-inf"))  # type: ignore[assignment]
        return scores
