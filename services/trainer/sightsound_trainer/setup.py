"""Getting a student ready for a stage: accelerator, precision, adapters, memory and speed options."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from peft import PeftModel

from sightsound.contracts.training import Hyperparameters
from sightsound_student_model.audio_window import allow_short_audio
from sightsound_student_model.loading import load_student
from sightsound_student_model.student import Student, add_lora, prepare_full_finetuning

log = logging.getLogger(__name__)


def make_accelerator(hp: Hyperparameters, device: str = "auto") -> Accelerator:
    """One accelerator per process: bf16 autocast on GPU (``precision`` auto or bf16), fp32 otherwise."""
    cpu = device == "cpu" or (device == "auto" and not torch.cuda.is_available())
    bf16 = not cpu and hp.precision in ("auto", "bf16")
    return Accelerator(cpu=cpu, mixed_precision="bf16" if bf16 else "no")


def weight_dtype(accelerator: Accelerator, hp: Hyperparameters) -> torch.dtype:
    """bf16 weights under bf16 autocast with LoRA (the base is frozen); fp32 master weights otherwise."""
    if accelerator.mixed_precision == "bf16" and hp.lora.enabled:
        return torch.bfloat16
    return torch.float32


def seeded_lora(model: Any, hp: Hyperparameters) -> PeftModel:
    """Fresh adapters initialised from ``hp.seed`` (the same run always starts from the same weights)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(hp.seed)
        return add_lora(model, hp.lora)


def wrap_for_training(student: Student, hp: Hyperparameters, accelerator: Accelerator) -> Student:
    """Fresh adapters (or full fine-tuning), options applied, moved to the accelerator's device."""
    model = student.model
    if hp.trim_audio_padding:
        allow_short_audio(model.model.audio_tower)
    if hp.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    model = seeded_lora(model, hp) if hp.lora.enabled else prepare_full_finetuning(model)
    student.model = model.to(accelerator.device)
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    n_all = sum(p.numel() for p in model.parameters())
    log.info("student %s: %.2fM of %.2fM parameters train", student.name, n_train / 1e6, n_all / 1e6)
    return student


def prepare_student(name: str, hp: Hyperparameters, accelerator: Accelerator,
                    merge: list[Path] | None = None) -> Student:
    """Load the student, merge earlier stages' adapters into it, and wrap it for training."""
    student = load_student(name, dtype=weight_dtype(accelerator, hp), attn_implementation=hp.attn_implementation,
                           seed=hp.seed)
    for adapter in merge or []:
        student.model = PeftModel.from_pretrained(student.model, str(adapter)).merge_and_unload()
    return wrap_for_training(student, hp, accelerator)


def start_next_stage(student: Student, hp: Hyperparameters, accelerator: Accelerator) -> Student:
    """After SFT with LoRA: merge its adapters into the weights and start GRPO with fresh ones (so the
    reference, the adapters disabled, is the SFT model)."""
    if not isinstance(student.model, PeftModel):
        return student
    merged = student.model.merge_and_unload()
    student.model = seeded_lora(merged, hp).to(accelerator.device)
    return student
