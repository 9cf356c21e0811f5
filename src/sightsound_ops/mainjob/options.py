"""What the main job does and how big it is: sized so the whole job runs in minutes on a 2-core CPU."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SYNTHETIC_SOURCE = "sightsound-synthetic"


@dataclass
class MainJobOptions:
    workdir: Path = Path("var/mainjob")
    report_dir: Path = Path("var/report")
    log_dir: Path = Path("var/logs")
    api_port: int = 8000
    train_clips: int = 24
    test_clips: int = 10
    #: ``sound_presence`` (see :func:`sightsound_devdata.synthetic_recipes.sound_presence`): a question the
    #: 170M student can learn in minutes and the verifier can check, under pictures that mislead in 3 clips
    #: of 10, so the ablation can show what verification does at this size. The five general categories
    #: (``sightsound_devdata.synthetic_recipes.CATEGORIES``) are the other choice.
    categories: tuple[str, ...] = ("sound_presence",)
    seed: int = 0
    traces_per_question: int = 2  # K: the embedded teacher writes ~100 tokens per sample at ~20 tok/s here
    teacher_max_new_tokens: int = 96
    student_model: str = "embedded"
    # 3 epochs (9 steps) did not teach the CoT student the <think>/<answer> format; at 2e-4 it started to
    # write it after ~30 steps (loss 3.1 -> 1.3), measured on the measured run's 12-record CoT dataset.
    sft_epochs: float = 10.0
    sft_batch_size: int = 4
    # 3e-4 wrecked the embedded student in its first step (its projector is new); 1e-4 kept its answers
    # readable but was slow to teach the CoT format; 2e-4 with warm-up taught it in ~30 steps.
    sft_learning_rate: float = 2e-4
    grpo_steps: int = 2
    grpo_prompts_per_step: int = 2
    grpo_generations: int = 4
    grpo_max_new_tokens: int = 48
    grpo_learning_rate: float = 2e-5
    lora_rank: int = 8
    eval_max_new_tokens: int = 96
    evaluate_teacher: bool = True  # the ablation's teacher row: K traces per test question from the frames
    keep_running: bool = True
    stage_timeout_s: float = 1800.0
    extra_env: dict[str, str] = field(default_factory=dict)

    def hyperparameters(self) -> dict[str, Any]:
        """The training runs' hyperparameters (the same for every run, so runs differ only by data)."""
        return {
            "seed": self.seed,
            "lora": {"rank": self.lora_rank, "alpha": 2 * self.lora_rank, "train_projector": True},
            "sft": {
                "epochs": self.sft_epochs,
                "batch_size": self.sft_batch_size,
                "learning_rate": self.sft_learning_rate,
                "warmup_ratio": 0.1,
                "max_length": 512,
                "save_every_steps": 10_000,
            },
            "grpo": {
                "steps": self.grpo_steps,
                "prompts_per_step": self.grpo_prompts_per_step,
                "num_generations": self.grpo_generations,
                "max_new_tokens": self.grpo_max_new_tokens,
                "learning_rate": self.grpo_learning_rate,
                "save_every_steps": 10_000,
            },
        }
