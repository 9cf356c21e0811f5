"""Supervised fine-tuning of the student on a dataset's targets (``<think>…</think><answer>X</answer>``).

The loss is the mean negative log-likelihood of the assistant tokens only (target and end-of-turn token):
prompt, audio and padding positions are never scored. Gradient accumulation, gradient clipping, a cosine
schedule with warm-up, bf16 autocast on GPU (through the accelerator), checkpoints every
``save_every_steps`` and at the end, and resume from a checkpoint all come from one loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import get_scheduler

from sightsound.contracts.training import DatasetRecord
from sightsound_student_model.batches import PromptBatch, SequenceBatch, prompt_batch, record_waveforms, target_batch
from sightsound_student_model.checkpoints import load_training_state, load_weights
from sightsound_student_model.student import trainable_parameters
from sightsound_trainer.context import StageContext, StageOutcome
from sightsound_trainer.distributed import micro_batch_sync
from sightsound_trainer.order import batch_indices, steps_for_epochs
from sightsound_trainer.scoring import CompletionScorer, score

log = logging.getLogger(__name__)


def sft_batch(ctx: StageContext, records: Sequence[DatasetRecord]) -> SequenceBatch:
    prompts: PromptBatch = prompt_batch(ctx.student, [r.prompt for r in records], record_waveforms(records))
    if ctx.hp.trim_audio_padding:
        prompts = prompts.trimmed()
    batch = target_batch(ctx.student, prompts, [r.target for r in records], ctx.hp.sft.max_length)
    return SequenceBatch(batch.prompts.to(ctx.device), batch.completion_ids.to(ctx.device),
                         batch.completion_mask.to(ctx.device))


def sft_loss(logps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood over the target tokens.

    >>> sft_loss(torch.log(torch.tensor([[0.5, 0.25, 1.0]])), torch.tensor([[1, 1, 0]])).item()
    1.0397207736968994
    """
    weights = mask.to(logps.dtype)
    return -(logps * weights).sum() / weights.sum().clamp(min=1.0)


@dataclass
class SFTState:
    optimizer: torch.optim.Optimizer
    scheduler: Any
    params: list[torch.nn.Parameter]
    scorer: torch.nn.Module  # the (possibly DDP-wrapped) scorer


def sft_setup(ctx: StageContext, total_steps: int) -> SFTState:
    hp = ctx.hp.sft
    params = trainable_parameters(ctx.student.model)
    optimizer = torch.optim.AdamW(params, lr=hp.learning_rate, weight_decay=hp.weight_decay)
    scheduler = get_scheduler(
        "cosine", optimizer, num_warmup_steps=round(total_steps * hp.warmup_ratio), num_training_steps=total_steps
    )
    scorer = ctx.accelerator.prepare_model(CompletionScorer(ctx.student.model))
    scorer.train()
    return SFTState(optimizer, scheduler, params, scorer)


def sft_step(ctx: StageContext, state: SFTState, micro_batches: Sequence[Sequence[DatasetRecord]]) -> dict[str, float]:
    """One optimizer step over ``micro_batches`` (gradient accumulation); returns this rank's metrics."""
    acc = ctx.accelerator
    began = time.perf_counter()
    losses, tokens, target_tokens = [], 0, 0
    for n, chosen in enumerate(micro_batches):
        batch = sft_batch(ctx, chosen)
        with micro_batch_sync(acc, state.scorer, last=n == len(micro_batches) - 1):
            loss = sft_loss(score(state.scorer, batch), batch.completion_mask)
            acc.backward(loss / len(micro_batches))
        losses.append(float(loss.detach()))
        tokens += int(batch.attention_mask.sum())
        target_tokens += int(batch.completion_mask.sum())
    grad_norm = acc.clip_grad_norm_(state.params, ctx.hp.sft.max_grad_norm)
    state.optimizer.step()
    state.scheduler.step()
    state.optimizer.zero_grad(set_to_none=True)
    seconds = time.perf_counter() - began
    return {
        "loss": sum(losses) / len(losses),
        "grad_norm": float(grad_norm),
        "tokens_per_s": tokens / seconds,
        "sequence_tokens": float(tokens),
        "target_tokens": float(target_tokens),
        "step_s": seconds,
    }


def train_sft(ctx: StageContext, records: Sequence[DatasetRecord], resume: Path | None = None) -> StageOutcome:
    """Run (or resume) the SFT stage; returns where it stopped."""
    hp, acc = ctx.hp.sft, ctx.accelerator
    world, rank = acc.num_processes, acc.process_index
    accum = hp.gradient_accumulation_steps
    total = hp.max_steps or steps_for_epochs(len(records), hp.epochs, hp.batch_size * accum * world)
    state = sft_setup(ctx, total)
    start = 0
    if resume is not None:
        load_weights(resume, ctx.student)
        start = load_training_state(resume, state.optimizer, state.scheduler)
        log.info("SFT resumes after step %d from %s", start, resume)
    ctx.start_clock(start)
    last: Path | None = resume
    step = start
    while step < total:
        if ctx.should_stop():
            return StageOutcome("sft", step, total, cancelled=True, checkpoint=last)
        torch.manual_seed(ctx.hp.seed * 1_000_003 + step * world + rank)
        micro = [
            [records[i] for i in batch_indices(len(records), ctx.hp.seed, step * accum + m, hp.batch_size, world, rank)]
            for m in range(accum)
        ]
        metrics = ctx.mean_over_ranks(sft_step(ctx, state, micro))
        metrics["learning_rate"] = float(state.scheduler.get_last_lr()[0])
        step += 1
        ctx.report("sft", step, total, metrics)
        if step % hp.save_every_steps == 0 or step == total:
            last = ctx.save("sft", step, total, metrics, state.optimizer, state.scheduler)
    return StageOutcome("sft", step, total, checkpoint=last)
