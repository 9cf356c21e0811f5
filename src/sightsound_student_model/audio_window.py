"""Run the audio encoder on the clip's length instead of Whisper's fixed 30 s window (an opt-in speed-up).

``Qwen2AudioProcessor`` pads every clip's log-mel features to 30 s (3000 frames) and the encoder refuses
anything else, so a 10 s clip costs as much as a 30 s one. Qwen2-Audio masks the padded frames in the
encoder's attention anyway, so cutting the features to the longest clip of the batch (see
:meth:`PromptBatch.trimmed <sightsound_student_model.batches.PromptBatch.trimmed>`) and adding only the first
positions' embeddings gives the real frames the same attention; the only change is at the last real
frames, whose convolution and 2× pooling windows may now see fewer padded frames.
"""

from __future__ import annotations

import types
from typing import Any

import torch
from torch import nn
from transformers.modeling_outputs import BaseModelOutput


def _short_forward(self: Any, input_features: torch.Tensor, attention_mask: Any = None, **kwargs: Any) -> Any:
    window = self.config.max_source_positions * self.conv1.stride[0] * self.conv2.stride[0]
    if input_features.shape[-1] > window:
        raise ValueError(f"audio features of {input_features.shape[-1]} frames exceed the window of {window}")
    features = input_features.to(dtype=self.conv1.weight.dtype, device=self.conv1.weight.device)
    hidden = nn.functional.gelu(self.conv1(features))
    hidden = nn.functional.gelu(self.conv2(hidden)).permute(0, 2, 1)
    hidden = hidden + self.embed_positions.weight[: hidden.shape[1]]
    hidden = nn.functional.dropout(hidden, p=self.dropout, training=self.training)
    for layer in self.layers:
        hidden = layer(hidden, attention_mask, **kwargs)
    hidden = self.avg_pooler(hidden.permute(0, 2, 1)).permute(0, 2, 1)
    return BaseModelOutput(last_hidden_state=self.layer_norm(hidden))


def allow_short_audio(encoder: nn.Module) -> None:
    """Let ``encoder`` (a ``Qwen2AudioEncoder``) take features shorter than its window; hooks still fire."""
    encoder.forward = types.MethodType(_short_forward, encoder)
