"""GRPO rollouts: G completions per prompt, sampled WITH the clip's audio, never emitting audio tokens.

A small Qwen2-Audio can sample its own audio special tokens (``<|AUDIO|>`` and friends); re-scoring such
a completion would then try to scatter audio features into it and fail, so those tokens are masked out
of every sampling step by :class:`SuppressTokens`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from peft import PeftModel
from transformers import LogitsProcessorList

from sightsound_student_model.batches import PromptBatch, SequenceBatch
from sightsound_student_model.generation import SuppressTokens
from sightsound_student_model.student import Student
from sightsound_trainer.objective import completion_mask


@dataclass(frozen=True)
class SamplingOptions:
    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    static_cache: bool = False
    merge_lora: bool = False
    min_new_tokens: int = 0  # > 0 keeps sampling past the stop token (fixed shapes for benchmarks)


@contextlib.contextmanager
def merged_adapters(model: Any, enabled: bool) -> Iterator[None]:
    """With ``enabled`` and a LoRA model, merge the adapters into the weights for the duration (faster
    sampling: no adapter matmuls), and unmerge after."""
    if not (enabled and isinstance(model, PeftModel)):
        yield
        return
    model.merge_adapter()
    try:
        yield
    finally:
        model.unmerge_adapter()


@torch.no_grad()
def sample_completions(
    student: Student, model: Any, prompts: PromptBatch, group_size: int, options: SamplingOptions
) -> SequenceBatch:
    """``group_size`` sampled completions of every prompt (rows ``i*G … i*G+G-1`` belong to prompt ``i``)."""
    repeated = prompts.repeat(group_size)
    kwargs: dict[str, Any] = {}
    if options.static_cache:
        kwargs["cache_implementation"] = "static"
    if options.min_new_tokens:
        kwargs["min_new_tokens"] = options.min_new_tokens
    was_training = model.training
    model.eval()
    try:
        with merged_adapters(model, options.merge_lora):
            out = model.generate(
                input_ids=repeated.input_ids,
                attention_mask=repeated.attention_mask,
                input_features=repeated.input_features,
                feature_attention_mask=repeated.feature_attention_mask,
                do_sample=True,
                temperature=options.temperature,
                top_p=options.top_p,
                top_k=0,
                max_new_tokens=options.max_new_tokens,
                logits_processor=LogitsProcessorList([SuppressTokens(student.audio_token_ids)]),
                eos_token_id=list(student.stop_token_ids),
                pad_token_id=student.pad_token_id,
                **kwargs,
            )
    finally:
        model.train(was_training)
    completions = out[:, repeated.length :]
    if completions.shape[1] == 0:  # nothing generated at all: keep one (masked) column
        completions = torch.full((completions.shape[0], 1), student.pad_token_id, device=out.device)
    mask = completion_mask(completions, list(student.stop_token_ids))
    return SequenceBatch(repeated, completions, mask)


def decode_completions(student: Student, batch: SequenceBatch) -> list[str]:
    """Completion texts without special tokens (the stop token and padding drop out)."""
    texts = []
    for ids, mask in zip(batch.completion_ids, batch.completion_mask, strict=True):
        kept = ids[mask.bool()].tolist()
        texts.append(str(student.tokenizer.decode(kept, skip_special_tokens=True)))
    return texts
