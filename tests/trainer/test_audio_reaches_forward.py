"""GRPO must hand the clip's audio to EVERY forward pass: sampling, the policy and the reference.

(TRL's GRPOTrainer passes the audio features to ``generate()`` only and trains silently wrong.) A forward
hook on the audio encoder records each call: whether gradients were on (the policy's update pass),
whether the LoRA adapters were disabled (the reference pass), and the features it got.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from peft.tuners.lora import LoraLayer

from sightsound.contracts.training import DatasetRecord, Hyperparameters
from sightsound_student_model.batches import prompt_batch, record_waveforms, target_batch
from sightsound_trainer.context import MemoryMonitor, StageContext
from sightsound_trainer.grpo import train_grpo
from sightsound_trainer.scoring import CompletionScorer, score
from sightsound_trainer.setup import make_accelerator, prepare_student

HP = {
    "lora": {"rank": 4, "alpha": 8, "extra_trainable_modules": ["lm_head"]},
    "grpo": {"steps": 1, "prompts_per_step": 2, "num_generations": 2, "max_new_tokens": 4, "beta": 0.1,
             "learning_rate": 1e-3, "save_every_steps": 100},
}


def test_audio_reaches_sampling_policy_and_reference(task_records: list[DatasetRecord], run_dir: Path) -> None:
    hp = Hyperparameters.model_validate(HP)
    accelerator = make_accelerator(hp, "cpu")
    student = prepare_student("tiny-random", hp, accelerator)
    lora_layer = next(m for m in student.model.modules() if isinstance(m, LoraLayer))
    calls: list[dict[str, Any]] = []

    def hook(_: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], __: Any) -> None:
        features = args[0] if args else kwargs["input_features"]
        calls.append({
            "grad": torch.is_grad_enabled(),
            "reference": bool(lora_layer.disable_adapters),
            "rows": int(features.shape[0]),
            "energy": float(features.abs().sum()),
        })

    student.core.model.audio_tower.register_forward_hook(hook, with_kwargs=True)
    context = StageContext(accelerator, student, hp, run_dir, MemoryMonitor())
    train_grpo(context, task_records)

    rollouts = [c for c in calls if not c["grad"] and not c["reference"]]
    policy = [c for c in calls if c["grad"] and not c["reference"]]
    reference = [c for c in calls if c["reference"]]
    assert rollouts and policy and reference, calls
    assert all(c["rows"] > 0 and c["energy"] > 0 for c in calls), calls
    # The policy and reference passes score all G × prompts sequences, each with its own clip.
    assert sum(c["rows"] for c in policy) == sum(c["rows"] for c in reference) == 2 * 2


def test_the_policy_log_probs_depend_on_the_audio(task_records: list[DatasetRecord]) -> None:
    hp = Hyperparameters.model_validate(HP)
    student = prepare_student("tiny-random", hp, make_accelerator(hp, "cpu"))
    chosen = task_records[:2]
    prompts = prompt_batch(student, [r.prompt for r in chosen], record_waveforms(chosen))
    batch = target_batch(student, prompts, [r.target for r in chosen], 512)
    silent = target_batch(
        student, prompts.__class__(prompts.input_ids, prompts.attention_mask,
                                   torch.zeros_like(prompts.input_features), prompts.feature_attention_mask),
        [r.target for r in chosen], 512,
    )
    scorer = CompletionScorer(student.model)
    with torch.no_grad():
        assert not torch.allclose(score(scorer, batch), score(scorer, silent))
