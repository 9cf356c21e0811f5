"""SFT and GRPO mechanics on the tiny student: checkpoints, exact resume, cancel, stage hand-over."""

from __future__ import annotations

from pathlib import Path

import torch

from sightsound.contracts.training import DatasetRecord, Hyperparameters
from sightsound_student_model.checkpoints import CheckpointInfo
from sightsound_trainer.context import MemoryMonitor
from sightsound_trainer.runner import Resume, train_stages

BASE = {
    "seed": 3,
    "lora": {"rank": 4, "alpha": 8, "extra_trainable_modules": ["lm_head"]},
    "sft": {"max_steps": 4, "batch_size": 2, "gradient_accumulation_steps": 2, "learning_rate": 5e-3,
            "warmup_ratio": 0.25, "save_every_steps": 2},
    "grpo": {"steps": 2, "prompts_per_step": 2, "num_generations": 2, "max_new_tokens": 4, "beta": 0.1,
             "learning_rate": 1e-3, "save_every_steps": 1, "updates_per_batch": 2, "micro_batch_size": 3},
}


def trained_weights(student) -> dict[str, torch.Tensor]:  # type: ignore[no-untyped-def]
    return {n: p.detach().clone() for n, p in student.model.named_parameters() if p.requires_grad}


def test_sft_resumed_from_a_checkpoint_ends_where_an_unbroken_run_ends(
    task_records: list[DatasetRecord], tmp_path: Path
) -> None:
    hp = Hyperparameters.model_validate(BASE)
    whole = MemoryMonitor()
    unbroken = train_stages(task_records, "tiny-random", ["sft"], hp, tmp_path / "a", whole, device="cpu")
    assert [s["step"] for s in whole.steps] == [1, 2, 3, 4]
    assert [info.step for info, _ in whole.checkpoints] == [2, 4] and whole.checkpoints[-1][0].complete

    stopped = MemoryMonitor(cancel_after_steps=2)
    first = train_stages(task_records, "tiny-random", ["sft"], hp, tmp_path / "b", stopped, device="cpu")
    assert first.cancelled and first.outcomes[0].step == 2
    resume = Resume.from_folders([folder for _, folder in stopped.checkpoints])
    assert "sft" in resume.partial and not resume.complete
    rest = MemoryMonitor()
    resumed = train_stages(task_records, "tiny-random", ["sft"], hp, tmp_path / "b", rest, resume, device="cpu")
    assert [s["step"] for s in rest.steps] == [3, 4]
    assert [s["loss"] for s in rest.steps] == [s["loss"] for s in whole.steps[2:]]
    a, b = trained_weights(unbroken.student), trained_weights(resumed.student)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6), name


def test_sft_then_grpo_hands_over_and_a_finished_run_is_not_trained_again(
    task_records: list[DatasetRecord], tmp_path: Path
) -> None:
    hp = Hyperparameters.model_validate({**BASE, "sft": {**BASE["sft"], "max_steps": 2}})
    monitor = MemoryMonitor()
    trained = train_stages(task_records, "tiny-random", ["sft", "grpo"], hp, tmp_path, monitor, device="cpu")
    assert not trained.cancelled
    stages = [(info.stage, info.step, info.complete) for info, _ in monitor.checkpoints]
    assert stages == [("sft", 2, True), ("grpo", 1, False), ("grpo", 2, True)]
    grpo_info = CheckpointInfo.read(monitor.checkpoints[-1][1])
    assert grpo_info.merged_adapters == [monitor.checkpoints[0][1].as_uri()]  # GRPO trains on top of SFT
    for key in ("reward", "accuracy", "format", "kl", "completion_length", "clip_fraction", "rollout_s", "update_s"):
        assert key in monitor.steps[-1], key
    assert (monitor.checkpoints[-1][1] / "adapter_model.safetensors").exists()

    again = MemoryMonitor()
    resume = Resume.from_folders([folder for _, folder in monitor.checkpoints])
    train_stages(task_records, "tiny-random", ["sft", "grpo"], hp, tmp_path, again, resume, device="cpu")
    assert again.steps == [] and again.checkpoints == []


def test_grpo_resumes_after_the_sft_stage_finished(task_records: list[DatasetRecord], tmp_path: Path) -> None:
    hp = Hyperparameters.model_validate({**BASE, "sft": {**BASE["sft"], "max_steps": 1}})
    stopped = MemoryMonitor(cancel_after_steps=2)  # SFT step 1, GRPO step 1, then cancel
    first = train_stages(task_records, "tiny-random", ["sft", "grpo"], hp, tmp_path, stopped, device="cpu")
    assert first.cancelled
    resume = Resume.from_folders([folder for _, folder in stopped.checkpoints])
    assert set(resume.complete) == {"sft"} and set(resume.partial) == {"grpo"}
    rest = MemoryMonitor()
    train_stages(task_records, "tiny-random", ["sft", "grpo"], hp, tmp_path, rest, resume, device="cpu")
    assert [(s["stage"], s["step"]) for s in rest.steps] == [("grpo", 2)]


def test_full_fine_tuning_trains_the_language_model_and_keeps_a_frozen_reference(
    task_records: list[DatasetRecord], tmp_path: Path
) -> None:
    hp = Hyperparameters.model_validate({**BASE, "lora": {"enabled": False},
                                         "sft": {**BASE["sft"], "max_steps": 1, "save_every_steps": 1},
                                         "grpo": {**BASE["grpo"], "steps": 1}})
    monitor = MemoryMonitor()
    trained = train_stages(task_records, "tiny-random", ["sft", "grpo"], hp, tmp_path, monitor, device="cpu")
    assert trained.student is not None and not trained.student.uses_lora
    frozen = [n for n, p in trained.student.model.named_parameters() if not p.requires_grad]
    assert frozen and all(".audio_tower." in f".{n}" for n in frozen)  # only the audio encoder is frozen
    sft_folder = monitor.checkpoints[0][1]
    assert (sft_folder / "model.safetensors").exists() and not (sft_folder / "adapter_model.safetensors").exists()
    assert "kl" in monitor.steps[-1]
