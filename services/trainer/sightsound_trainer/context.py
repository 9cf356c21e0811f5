"""What a training stage needs around its loop: the accelerator, the student, where checkpoints go, and a
:class:`Monitor` that records progress and says when to stop.

The loops run the same in one process and under ``accelerate launch`` / ``torchrun`` (DDP): only the main
process talks to the monitor (PostgreSQL in a worker), and its answer to "cancelled?" is broadcast so that
every rank stops at the same step.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from accelerate import Accelerator
from accelerate.utils import broadcast_object_list

from sightsound.contracts.training import Hyperparameters, Stage
from sightsound_student_model.checkpoints import CheckpointInfo, checkpoint_dir, save_checkpoint
from sightsound_student_model.student import Student


class Monitor(Protocol):
    def on_step(self, stage: Stage, step: int, total: int, metrics: dict[str, float], eta_s: float | None) -> None:
        """A step finished (called on the main process only)."""

    def on_checkpoint(self, info: CheckpointInfo, folder: Path) -> None:
        """A checkpoint was written (main process only)."""

    def cancelled(self) -> bool:
        """Whether the run should stop now (asked on the main process between steps)."""


@dataclass
class MemoryMonitor:
    """Keeps every step's metrics in memory; never cancels unless told to (tests, benches, CLI runs)."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[tuple[CheckpointInfo, Path]] = field(default_factory=list)
    cancel_after_steps: int | None = None

    def on_step(self, stage: Stage, step: int, total: int, metrics: dict[str, float], eta_s: float | None) -> None:
        self.steps.append({"stage": stage, "step": step, "total": total, **metrics})

    def on_checkpoint(self, info: CheckpointInfo, folder: Path) -> None:
        self.checkpoints.append((info, folder))

    def cancelled(self) -> bool:
        return self.cancel_after_steps is not None and len(self.steps) >= self.cancel_after_steps

    def series(self, stage: str, key: str) -> list[float]:
        return [float(s[key]) for s in self.steps if s["stage"] == stage and key in s]


@dataclass(frozen=True)
class StageOutcome:
    stage: Stage
    step: int
    total_steps: int
    cancelled: bool = False
    checkpoint: Path | None = None


@dataclass
class StageContext:
    accelerator: Accelerator
    student: Student
    hp: Hyperparameters
    run_dir: Path
    monitor: Monitor
    merged_adapters: list[str] = field(default_factory=list)
    _started: float = field(default_factory=time.monotonic)
    _first_step: int = 0

    @property
    def device(self) -> torch.device:
        device: torch.device = self.accelerator.device
        return device

    def should_stop(self) -> bool:
        flag = [self.monitor.cancelled() if self.accelerator.is_main_process else False]
        if self.accelerator.num_processes > 1:
            broadcast_object_list(flag, from_process=0)
        return bool(flag[0])

    def start_clock(self, first_step: int) -> None:
        self._started, self._first_step = time.monotonic(), first_step

    def eta_s(self, step: int, total: int) -> float | None:
        done = step - self._first_step
        if done <= 0:
            return None
        return (time.monotonic() - self._started) / done * (total - step)

    def mean_over_ranks(self, values: dict[str, float]) -> dict[str, float]:
        if self.accelerator.num_processes == 1 or not values:
            return values
        keys = sorted(values)
        tensor = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=self.device)
        reduced = self.accelerator.reduce(tensor, reduction="mean")
        return {k: float(v) for k, v in zip(keys, reduced.tolist(), strict=True)}

    def report(self, stage: Stage, step: int, total: int, metrics: dict[str, float]) -> None:
        clean = {k: v for k, v in metrics.items() if math.isfinite(v)}
        if self.accelerator.is_main_process:
            self.monitor.on_step(stage, step, total, clean, self.eta_s(step, total))

    def save(
        self,
        stage: Stage,
        step: int,
        total: int,
        metrics: dict[str, float],
        optimizer: torch.optim.Optimizer | None,
        scheduler: Any | None,
    ) -> Path:
        folder = checkpoint_dir(self.run_dir, stage, step)
        info = CheckpointInfo(
            stage=stage,
            step=step,
            total_steps=total,
            complete=step >= total,
            base_model=self.student.name,
            merged_adapters=list(self.merged_adapters),
            lora=self.student.uses_lora,
            metrics={k: v for k, v in metrics.items() if math.isfinite(v)},
        )
        if self.accelerator.is_main_process:
            save_checkpoint(folder, self.student, info, optimizer, scheduler)
            self.monitor.on_checkpoint(info, folder)
        self.accelerator.wait_for_everyone()
        return folder
