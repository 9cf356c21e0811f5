"""What a training run may ask for (pure: no I/O): an allow-listed student model, and at most
``trainer_max_steps`` optimizer steps per stage and ``trainer_max_tokens`` tokens, estimated from its
hyperparameters and its dataset's size before anything is queued."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sightsound.config import Settings
from sightsound.contracts.training import TrainingRunCreate
from sightsound.web import ProblemError


@dataclass(frozen=True)
class RunCost:
    sft_steps: int
    grpo_steps: int
    tokens: int


def run_cost(body: TrainingRunCreate, records: int, processes: int) -> RunCost:
    """Optimizer steps per stage and an upper bound on the tokens processed (SFT: every example padded to
    ``max_length``; GRPO: every completion of ``max_new_tokens``, prompts not counted).

    >>> body = TrainingRunCreate.model_validate({"dataset_id": "4d0c7b5e-1f2a-4b3c-9d8e-7f6a5b4c3d2e",
    ...     "student_model": "embedded", "hyperparameters": {"sft": {"epochs": 2, "batch_size": 4, "max_length": 512},
    ...     "grpo": {"steps": 10, "prompts_per_step": 2, "num_generations": 4, "max_new_tokens": 64}}})
    >>> run_cost(body, records=100, processes=1)
    RunCost(sft_steps=50, grpo_steps=10, tokens=107520)
    """
    hp = body.hyperparameters
    world = max(1, processes)
    sft_steps = grpo_steps = tokens = 0
    if "sft" in body.stages:
        per_step = hp.sft.batch_size * hp.sft.gradient_accumulation_steps * world
        sft_steps = hp.sft.max_steps or max(1, math.ceil(records * hp.sft.epochs / per_step))
        tokens += sft_steps * per_step * hp.sft.max_length
    if "grpo" in body.stages:
        grpo_steps = hp.grpo.steps
        tokens += grpo_steps * hp.grpo.prompts_per_step * world * hp.grpo.num_generations * hp.grpo.max_new_tokens
    return RunCost(sft_steps, grpo_steps, tokens)


def check_run_request(body: TrainingRunCreate, settings: Settings, records: int) -> None:
    """Raise a 422 problem saying what to change when the run names a student model that is not allowed or
    would pass the step or token caps."""
    allowed = list(settings.trainer_student_models)
    if body.student_model not in allowed:
        raise ProblemError(422, f"student_model {body.student_model!r} is not allowed here; allowed: "
                                f"{', '.join(allowed)} (SIGHTSOUND_TRAINER_STUDENT_MODELS)",
                           kind="student-model-not-allowed")
    cost = run_cost(body, records, settings.trainer_processes)
    for stage, steps in (("sft", cost.sft_steps), ("grpo", cost.grpo_steps)):
        if steps > settings.trainer_max_steps:
            raise ProblemError(422, f"the {stage} stage would take {steps} steps; the most allowed is "
                                    f"{settings.trainer_max_steps} steps (SIGHTSOUND_TRAINER_MAX_STEPS): lower "
                                    f"{'max_steps or epochs' if stage == 'sft' else 'grpo.steps'}",
                               kind="training-run-too-large")
    if cost.tokens > settings.trainer_max_tokens:
        raise ProblemError(422, f"the run would process up to {cost.tokens} tokens; the most allowed is "
                                f"{settings.trainer_max_tokens} (SIGHTSOUND_TRAINER_MAX_TOKENS): lower the steps, "
                                "batch sizes, max_length or max_new_tokens", kind="training-run-too-large")
