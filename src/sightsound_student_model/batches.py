"""From dataset records to model inputs: audio loading, chat prompts, and the batch layout both loops use.

Every batch has one layout, ``[left-padded prompt | right-padded completion]``: the prompt (the chat turn
with the clip's audio placeholder, expanded by ``Qwen2AudioProcessor(audio=...)``) ends at the same column
for every row, so the completion's tokens (the SFT target, or GRPO's samples) line up in ``[P, P + C)``
and their log-probabilities come out as one ``[B, C]`` tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import torch

from sightsound.contracts.training import DatasetRecord
from sightsound.media.store import read_url
from sightsound.media.waveform import SAMPLE_RATE, Waveform, decode_bytes
from sightsound_student_model.student import Student


def load_waveform(url: str, sample_rate: int = SAMPLE_RATE) -> Waveform:
    """Mono float32 audio of a media URL (or local path) at ``sample_rate``, decoded as serving decodes it."""
    raw = read_url(url if "://" in url else f"file://{url}")
    samples = decode_bytes(raw, sample_rate)
    if samples is None:
        raise ValueError(f"{url} holds no audio track")
    return samples


@lru_cache(maxsize=4096)
def cached_waveform(url: str) -> Waveform:
    """:func:`load_waveform`, remembered (a run reads each clip once per epoch otherwise)."""
    return load_waveform(url)


def chat_prompt(student: Student, user_text: str) -> str:
    """The chat text of one user turn (the audio, then ``user_text``) with the assistant turn opened."""
    messages = [
        {"role": "user", "content": [{"type": "audio", "audio_url": "clip.wav"}, {"type": "text", "text": user_text}]}
    ]
    text: str = student.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return text


@dataclass(frozen=True)
class PromptBatch:
    """Left-padded prompts with their audio features (``input_features`` ``[B, mels, frames]``)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    input_features: torch.Tensor
    feature_attention_mask: torch.Tensor

    @property
    def length(self) -> int:
        return int(self.input_ids.shape[1])

    def repeat(self, times: int) -> PromptBatch:
        """Each row ``times`` times in a row (the G samples of a prompt stay together)."""
        return PromptBatch(*(t.repeat_interleave(times, dim=0) for t in self.tensors()))

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.input_ids, self.attention_mask, self.input_features, self.feature_attention_mask

    def to(self, device: torch.device | str) -> PromptBatch:
        return PromptBatch(*(t.to(device) for t in self.tensors()))

    def rows(self, start: int, stop: int) -> PromptBatch:
        return PromptBatch(*(t[start:stop] for t in self.tensors()))

    def trimmed(self, multiple: int = 8) -> PromptBatch:
        """Features cut from the processor's full window to the longest clip (rounded up to ``multiple``)."""
        full = self.input_features.shape[-1]
        longest = int(self.feature_attention_mask.sum(-1).max())
        keep = min(full, max(multiple, -(-longest // multiple) * multiple))
        return replace(
            self,
            input_features=self.input_features[..., :keep].contiguous(),
            feature_attention_mask=self.feature_attention_mask[..., :keep].contiguous(),
        )


def prompt_batch(student: Student, prompts: Sequence[str], waveforms: Sequence[Waveform]) -> PromptBatch:
    """Tokenize chat prompts with their clips; the audio placeholder expands to the clip's audio tokens."""
    tokenizer = student.tokenizer
    tokenizer.padding_side = "left"
    texts = [chat_prompt(student, p) for p in prompts]
    encoded = student.processor(
        text=texts, audio=list(waveforms), sampling_rate=SAMPLE_RATE, return_tensors="pt", padding=True
    )
    return PromptBatch(
        encoded["input_ids"],
        encoded["attention_mask"],
        encoded["input_features"],
        encoded["feature_attention_mask"],
    )


@dataclass(frozen=True)
class SequenceBatch:
    """Prompts plus completions: what the scorer reads. ``completion_mask`` is ``[B, C]``."""

    prompts: PromptBatch
    completion_ids: torch.Tensor
    completion_mask: torch.Tensor

    @property
    def input_ids(self) -> torch.Tensor:
        return torch.cat([self.prompts.input_ids, self.completion_ids], dim=1)

    @property
    def attention_mask(self) -> torch.Tensor:
        return torch.cat([self.prompts.attention_mask, self.completion_mask.to(self.prompts.attention_mask)], dim=1)

    def rows(self, start: int, stop: int) -> SequenceBatch:
        return SequenceBatch(
            self.prompts.rows(start, stop), self.completion_ids[start:stop], self.completion_mask[start:stop]
        )

    @property
    def size(self) -> int:
        return int(self.completion_ids.shape[0])


def position_ids(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions counting only attended tokens (left padding does not shift them), as ``generate`` does.

    >>> position_ids(torch.tensor([[0, 1, 1, 1], [1, 1, 1, 0]])).tolist()
    [[0, 0, 1, 2], [0, 1, 2, 2]]
    """
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def target_batch(student: Student, prompts: PromptBatch, targets: Sequence[str], max_length: int) -> SequenceBatch:
    """The SFT layout: each target (then the end-of-turn token) after its prompt, cut to ``max_length``."""
    room = max(1, max_length - prompts.length)
    stop = student.stop_token_ids[0]
    rows = [
        (student.tokenizer(t, add_special_tokens=False)["input_ids"] + [stop])[:room] for t in targets
    ]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), student.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return SequenceBatch(prompts, ids, mask)


def record_waveforms(records: Sequence[DatasetRecord]) -> list[Waveform]:
    return [cached_waveform(r.audio_path or r.audio_url) for r in records]
