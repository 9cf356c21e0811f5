"""Log-probabilities of completion tokens under the student, with the audio in every forward pass.

:class:`CompletionScorer` is the one module the optimizer's forward passes go through (and the one that
DDP wraps): it runs the student on ``[prompt | completion]`` *with* ``input_features``, and applies the
language-model head only where a completion token is predicted, not on the prompt's hundreds of audio
positions. The same call with the adapters disabled scores the reference (GRPO's KL term).
"""

from __future__ import annotations

from typing import Any

import torch
from peft import PeftModel
from torch import nn

from sightsound_student_model.batches import SequenceBatch, position_ids


class CompletionScorer(nn.Module):
    """``forward(batch) -> [B, C]`` log-probs of ``batch.completion_ids`` given prompt and audio."""

    def __init__(self, model: nn.Module, row_chunk: int = 8) -> None:
        super().__init__()
        self.student = model
        self.row_chunk = row_chunk

    def core(self) -> Any:
        return self.student.get_base_model() if isinstance(self.student, PeftModel) else self.student

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        input_features: torch.Tensor,
        feature_attention_mask: torch.Tensor,
        prompt_length: int,
    ) -> torch.Tensor:
        core = self.core()
        hidden = core.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids(attention_mask),
            input_features=input_features,
            feature_attention_mask=feature_attention_mask,
            use_cache=False,
        ).last_hidden_state
        # Position t predicts token t + 1: the completion [P, T) is predicted from [P - 1, T - 1).
        predicting = hidden[:, prompt_length - 1 : -1]
        targets = input_ids[:, prompt_length:]
        chunks = []
        for start in range(0, predicting.shape[0], self.row_chunk):
            logits = core.lm_head(predicting[start : start + self.row_chunk]).float()
            picked = logits.gather(-1, targets[start : start + self.row_chunk].unsqueeze(-1)).squeeze(-1)
            chunks.append(picked - torch.logsumexp(logits, dim=-1))
        return torch.cat(chunks, dim=0)


def score(scorer: nn.Module, batch: SequenceBatch) -> torch.Tensor:
    """Call a (possibly DDP-wrapped) scorer on a sequence batch that is on the scorer's device."""
    prompts = batch.prompts
    logps: torch.Tensor = scorer(
        batch.input_ids,
        batch.attention_mask,
        prompts.input_features,
        prompts.feature_attention_mask,
        prompts.length,
    )
    return logps
