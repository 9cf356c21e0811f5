"""GRPO for the audio student, on accelerate (not TRL: its trainer drops the audio from the forward passes).

One step: take ``prompts_per_step`` questions, sample G completions of each WITH the clip's audio, score
them with the rewards (accuracy against the gold answer, format), normalize the rewards within each
group of G, and take ``updates_per_batch`` optimizer passes over the clipped surrogate with a KL penalty
to the reference. Every forward pass (sampling, policy, reference) gets ``input_features``.

The reference is the student with its adapters disabled (``with model.disable_adapter():``): with LoRA
no second model copy exists. When GRPO follows SFT in one run, the SFT adapters are merged into the
weights first and GRPO trains fresh ones, so that reference is the SFT model. Full fine-tuning keeps a
frozen copy as the reference (only when ``beta`` > 0).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import get_scheduler

from sightsound.contracts.training import DatasetRecord, GRPOHyperparameters
from sightsound_student_model.batches import SequenceBatch, prompt_batch, record_waveforms
from sightsound_student_model.checkpoints import load_training_state, load_weights
from sightsound_student_model.student import trainable_parameters
from sightsound_trainer.context import StageContext, StageOutcome
from sightsound_trainer.distributed import micro_batch_sync
from sightsound_trainer.objective import group_advantages, grpo_loss
from sightsound_trainer.order import batch_indices
from sightsound_trainer.rewards import reward_parts
from sightsound_trainer.rollouts import SamplingOptions, decode_completions, sample_completions
from sightsound_trainer.scoring import CompletionScorer, score

log = logging.getLogger(__name__)


def grpo_prompts(records: Sequence[DatasetRecord]) -> list[DatasetRecord]:
    """One record per question (a ``cot`` dataset holds several traces of each)."""
    seen: dict[str, DatasetRecord] = {}
    for record in records:
        seen.setdefault(str(record.question_id), record)
    return list(seen.values())


@dataclass(frozen=True)
class Rewards:
    total: torch.Tensor
    accuracy: torch.Tensor
    format: torch.Tensor


def reward_completions(texts: Sequence[str], gold: Sequence[int], hp: GRPOHyperparameters) -> Rewards:
    """Rewards of each completion (``gold`` has one entry per completion), by :func:`reward_parts`."""
    parts = torch.tensor([reward_parts(t, g, accuracy_weight=hp.accuracy_weight, format_weight=hp.format_weight,
                                       require_reasoning=hp.require_reasoning)
                          for t, g in zip(texts, gold, strict=True)], dtype=torch.float32).view(-1, 3)
    return Rewards(parts[:, 2], parts[:, 0], parts[:, 1])


class Reference:
    """Scores the reference policy: the adapters disabled (LoRA), or a frozen copy (full fine-tuning)."""

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.copy: CompletionScorer | None = None
        if not ctx.student.uses_lora and ctx.hp.grpo.beta > 0:
            frozen = copy.deepcopy(ctx.student.core).requires_grad_(False)
            frozen.train(False)
            self.copy = CompletionScorer(frozen)
        self.policy = CompletionScorer(ctx.student.model)

    @contextlib.contextmanager
    def _as_reference(self) -> Iterator[CompletionScorer]:
        if self.copy is not None:
            yield self.copy
            return
        with self.ctx.student.model.disable_adapter():
            yield self.policy

    @torch.no_grad()
    def logps(self, batch: SequenceBatch, chunk: int) -> torch.Tensor:
        with self._as_reference() as scorer, self.ctx.accelerator.autocast():
            return torch.cat([score(scorer, batch.rows(i, i + chunk)) for i in range(0, batch.size, chunk)])


def _chunks(size: int, chunk: int) -> list[tuple[int, int]]:
    return [(i, min(size, i + chunk)) for i in range(0, size, chunk)]


@dataclass
class GRPOState:
    """What the steps of a GRPO stage share: optimizer, schedule, the scorers and the reference."""

    optimizer: torch.optim.Optimizer
    scheduler: Any
    params: list[torch.nn.Parameter]
    scorer: torch.nn.Module  # the (possibly DDP-wrapped) policy scorer: gradients flow through it
    plain: CompletionScorer  # the same policy, unwrapped: no-grad scoring
    reference: Reference | None
    options: SamplingOptions


def grpo_setup(ctx: StageContext) -> GRPOState:
    hp, student = ctx.hp.grpo, ctx.student
    params = trainable_parameters(student.model)
    optimizer = torch.optim.AdamW(params, lr=hp.learning_rate, weight_decay=0.0)
    scorer = ctx.accelerator.prepare_model(CompletionScorer(student.model))
    scorer.train()
    return GRPOState(
        optimizer=optimizer,
        scheduler=get_scheduler("constant", optimizer),
        params=params,
        scorer=scorer,
        plain=CompletionScorer(student.model),
        reference=Reference(ctx) if hp.beta > 0 else None,
        options=SamplingOptions(hp.max_new_tokens, hp.temperature, hp.top_p, hp.static_cache,
                                hp.merge_lora_for_rollouts, hp.min_new_tokens),
    )


def grpo_step(ctx: StageContext, state: GRPOState, chosen: Sequence[DatasetRecord]) -> dict[str, float]:
    """One GRPO step on ``chosen`` prompts: rollout with audio, rewards, group advantages, updates.

    Returns this rank's metrics (``rollout_s`` and ``update_s`` split the step's time).
    """
    hp, acc, student = ctx.hp.grpo, ctx.accelerator, ctx.student
    group = hp.num_generations
    began = time.perf_counter()
    prompts = prompt_batch(student, [r.prompt for r in chosen], record_waveforms(chosen))
    if ctx.hp.trim_audio_padding:
        prompts = prompts.trimmed()
    rollout = sample_completions(student, student.model, prompts.to(ctx.device), group, state.options)
    rollout_s = time.perf_counter() - began

    texts = decode_completions(student, rollout)
    gold = [r.answer_index for r in chosen for _ in range(group)]
    rewards = reward_completions(texts, gold, hp)
    advantages = group_advantages(rewards.total, group, scale=hp.scale_rewards).to(ctx.device)

    update_began = time.perf_counter()
    chunk = hp.micro_batch_size or rollout.size
    parts = _chunks(rollout.size, chunk)
    ref_logps = state.reference.logps(rollout, chunk) if state.reference is not None else None
    old_logps = None
    if hp.updates_per_batch > 1:
        with torch.no_grad(), acc.autocast():
            old_logps = torch.cat([score(state.plain, rollout.rows(a, b)) for a, b in parts])
    sums: dict[str, float] = {"loss": 0.0, "kl": 0.0, "clip_fraction": 0.0}
    grad_norm = 0.0
    for _ in range(hp.updates_per_batch):
        for n, (a, b) in enumerate(parts):
            part = rollout.rows(a, b)
            with micro_batch_sync(acc, state.scorer, last=n == len(parts) - 1):
                logps = score(state.scorer, part)
                old = old_logps[a:b] if old_logps is not None else logps.detach()
                ref = ref_logps[a:b] if ref_logps is not None else None
                terms = grpo_loss(logps, old, ref, advantages[a:b], part.completion_mask, hp.clip_epsilon, hp.beta)
                acc.backward(terms.loss * (b - a) / rollout.size)
            weight = (b - a) / rollout.size / hp.updates_per_batch
            sums["loss"] += float(terms.loss.detach()) * weight
            sums["kl"] += float(terms.kl) * weight
            sums["clip_fraction"] += float(terms.clip_fraction) * weight
        grad_norm = float(acc.clip_grad_norm_(state.params, hp.max_grad_norm))
        state.optimizer.step()
        state.scheduler.step()
        state.optimizer.zero_grad(set_to_none=True)
    update_s = time.perf_counter() - update_began

    generated = float(rollout.completion_mask.sum())
    return {
        **sums,
        "reward": float(rewards.total.mean()),
        "accuracy": float(rewards.accuracy.mean()),
        "format": float(rewards.format.mean()),
        "reward_std": float(rewards.total.view(-1, group).std(dim=1).mean()),
        "completion_length": generated / rollout.size,
        "grad_norm": grad_norm,
        "rollout_s": rollout_s,
        "update_s": update_s,
        "rollout_tokens_per_s": generated / max(rollout_s, 1e-9),
        "sequence_tokens": float(rollout.attention_mask.sum()),
        "generated_tokens": generated,
    }


def train_grpo(ctx: StageContext, records: Sequence[DatasetRecord], resume: Path | None = None) -> StageOutcome:
    """Run (or resume) the GRPO stage; returns where it stopped."""
    hp, acc = ctx.hp.grpo, ctx.accelerator
    world, rank = acc.num_processes, acc.process_index
    pool = grpo_prompts(records)
    total = hp.steps
    state = grpo_setup(ctx)
    start = 0
    if resume is not None:
        load_weights(resume, ctx.student)
        start = load_training_state(resume, state.optimizer, state.scheduler)
        log.info("GRPO resumes after step %d from %s", start, resume)
    ctx.start_clock(start)
    last: Path | None = resume
    step = start
    while step < total:
        if ctx.should_stop():
            return StageOutcome("grpo", step, total, cancelled=True, checkpoint=last)
        torch.manual_seed(ctx.hp.seed * 1_000_003 + step * world + rank)
        chosen = [pool[i] for i in batch_indices(len(pool), ctx.hp.seed, step, hp.prompts_per_step, world, rank)]
        metrics = ctx.mean_over_ranks(grpo_step(ctx, state, chosen))
        step += 1
        ctx.report("grpo", step, total, metrics)
        if step % hp.save_every_steps == 0 or step == total:
            last = ctx.save("grpo", step, total, metrics, state.optimizer, state.scheduler)
    return StageOutcome("grpo", step, total, checkpoint=last)
