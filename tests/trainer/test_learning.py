"""On a learnable task (is anyone speaking? espeak-ng speech vs tone, noise or silence), SFT lowers the
loss and GRPO raises the accuracy reward: the tiny random student learns to listen, on CPU, in minutes.

The teacher's traces are right 3 times in 4 (it cannot hear), so SFT teaches the answer format but
leaves the student near chance; GRPO, rewarded against the gold answers, teaches it to use the audio.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sightsound.contracts.training import DatasetRecord, Hyperparameters
from sightsound_trainer.context import MemoryMonitor
from sightsound_trainer.runner import train_stages
from tests.trainer import learnable

pytestmark = pytest.mark.slow


def test_sft_lowers_the_loss_and_grpo_raises_the_accuracy(task_records: list[DatasetRecord], run_dir: Path) -> None:
    monitor = MemoryMonitor()
    hp = Hyperparameters.model_validate(learnable.HYPERPARAMETERS)
    trained = train_stages(task_records, "tiny-random", ["sft", "grpo"], hp, run_dir, monitor, device="cpu")
    assert not trained.cancelled
    sft_loss, accuracy = monitor.series("sft", "loss"), monitor.series("grpo", "accuracy")
    print("sft loss", [round(v, 3) for v in sft_loss])
    print("grpo accuracy", [round(v, 2) for v in accuracy])
    print("grpo kl", [round(v, 3) for v in monitor.series("grpo", "kl")])
    learnable.assert_learned(sft_loss, accuracy)
    assert max(monitor.series("grpo", "kl")) > 0  # the reference (adapters off) differs from the policy
    assert [info.stage for info, _ in monitor.checkpoints] == ["sft", "grpo", "grpo", "grpo"]
