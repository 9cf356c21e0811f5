"""What the student-serving tests feed the services: checkpoints of the tiny RANDOM student, tone WAVs,
and a listing of what the media store holds."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile
import torch

from sightsound.contracts.training import LoRASettings
from sightsound_student_model.checkpoints import CheckpointInfo, save_checkpoint
from sightsound_student_model.loading import load_student
from sightsound_student_model.student import add_lora


def random_lora_checkpoint(folder: Path, seed: int, scale: float, step: int) -> Path:
    """A checkpoint of the tiny RANDOM student whose LoRA adapters were moved by seeded noise."""
    student = load_student("tiny-random")
    torch.manual_seed(seed)
    student.model = add_lora(student.model, LoRASettings(rank=4, alpha=8, dropout=0.0))
    with torch.no_grad():
        for _, param in student.model.named_parameters():
            if param.requires_grad:
                param.add_(scale * torch.randn_like(param))
    info = CheckpointInfo(stage="sft", step=step, total_steps=step, complete=True, base_model="tiny-random")
    return save_checkpoint(folder, student, info, None, None)


def wav_bytes(seconds: float, freq: float = 440.0) -> bytes:
    t = np.arange(int(16_000 * seconds)) / 16_000
    buffer = io.BytesIO()
    soundfile.write(buffer, (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16_000, format="WAV")
    return buffer.getvalue()


def stored_files(media_root: Path) -> set[str]:
    return {str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file() and "tmp" not in p.parts}
