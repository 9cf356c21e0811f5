"""Checkpoints of a stage: the trained weights, the optimizer state, and what they are.

A checkpoint is a folder ``<run dir>/<stage>/step-<n>/`` holding

- the weights: the LoRA adapters (``adapter_model.safetensors``, with the projector when it trains) or,
  for full fine-tuning, the whole model (``model*.safetensors``), plus the processor;
- ``trainer_state.pt``: optimizer and scheduler state (to resume mid-stage);
- ``checkpoint.json``: stage, step, metrics, whether the stage was complete, and how to rebuild the model
  (the base student and the adapters merged into it before this stage).

It is written to a temporary sibling folder and renamed into place, so a worker that dies mid-save
leaves no half checkpoint to resume from.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from peft import set_peft_model_state_dict
from safetensors.torch import load_file

from sightsound_student_model.student import Student

STATE_FILE = "trainer_state.pt"
INFO_FILE = "checkpoint.json"
ADAPTER_FILE = "adapter_model.safetensors"


@dataclass(frozen=True)
class CheckpointInfo:
    stage: str
    step: int
    total_steps: int
    complete: bool
    base_model: str
    merged_adapters: list[str] = field(default_factory=list)
    lora: bool = True
    metrics: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "step": self.step,
            "total_steps": self.total_steps,
            "complete": self.complete,
            "base_model": self.base_model,
            "merged_adapters": self.merged_adapters,
            "lora": self.lora,
            "metrics": self.metrics,
        }

    @classmethod
    def read(cls, folder: Path) -> CheckpointInfo:
        data = json.loads((folder / INFO_FILE).read_text())
        return cls(**data)


def checkpoint_dir(run_dir: Path, stage: str, step: int) -> Path:
    return run_dir / stage / f"step-{step:07d}"


def save_checkpoint(
    folder: Path,
    student: Student,
    info: CheckpointInfo,
    optimizer: torch.optim.Optimizer | None,
    scheduler: Any | None,
) -> Path:
    """Write a checkpoint folder atomically (call on the main process only)."""
    tmp = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if student.uses_lora:
        student.model.save_pretrained(str(tmp))
    else:
        student.core.save_pretrained(str(tmp))
    student.processor.save_pretrained(str(tmp))
    state: dict[str, Any] = {"step": info.step}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    torch.save(state, tmp / STATE_FILE)
    (tmp / INFO_FILE).write_text(json.dumps(info.to_json(), indent=2))
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    return folder


def load_weights(folder: Path, student: Student) -> None:
    """Load a checkpoint's trained weights into ``student`` (adapters, or the whole model)."""
    if student.uses_lora:
        set_peft_model_state_dict(student.model, load_file(str(folder / ADAPTER_FILE)))
        return
    index = folder / "model.safetensors.index.json"
    shards = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.exists() else [
        "model.safetensors"
    ]
    for shard in shards:
        student.core.load_state_dict(load_file(str(folder / shard)), strict=False)


def load_training_state(
    folder: Path, optimizer: torch.optim.Optimizer | None, scheduler: Any | None
) -> int:
    """Restore optimizer and scheduler from a checkpoint; returns the step it was taken after."""
    state = torch.load(folder / STATE_FILE, map_location="cpu", weights_only=True)
    if optimizer is not None and "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and "scheduler" in state:
        scheduler.load_state_dict(state["scheduler"])
    return int(state["step"])
