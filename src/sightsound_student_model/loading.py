"""Loading a student by name: ``tiny-random``, ``embedded`` or a Qwen2-Audio folder / hub id.

Its own module because the embedded assembly (:mod:`.embedded`) builds on :mod:`.student`'s classes,
and loading needs both.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from sightsound.config import get_settings
from sightsound_student_model import tiny
from sightsound_student_model.embedded import build_embedded_student
from sightsound_student_model.student import (
    EMBEDDED_MODEL_ID,
    AudioStudent,
    Student,
    StudentLoadError,
    _finish,
    _looks_like_path,
)

log = logging.getLogger(__name__)


def load_student(
    name: str,
    *,
    dtype: torch.dtype = torch.float32,
    attn_implementation: str = "sdpa",
    seed: int = 0,
    audio_window_s: int | None = None,
) -> Student:
    """The student ``name`` on CPU in ``dtype`` (move it with the accelerator).

    ``seed`` seeds what is newly initialised (the tiny student's weights, the embedded student's projector);
    ``audio_window_s`` is the embedded student's audio window (None: ``SIGHTSOUND_STUDENT_AUDIO_WINDOW_S``).
    """
    if name == tiny.TINY_MODEL_ID:
        tokenizer = tiny.tiny_tokenizer()
        model = tiny.build_tiny_student(
            tokenizer, seed=seed, attn_implementation=attn_implementation, model_class=AudioStudent
        )
        log.warning("student is %r: a tiny Qwen2-Audio with RANDOM weights (seed %d)", name, seed)
        model.to(dtype=dtype)  # type: ignore[call-arg]
        return _finish(model, tiny.tiny_processor(tokenizer), name)
    if name == EMBEDDED_MODEL_ID:
        return _load_embedded(dtype, attn_implementation, seed, audio_window_s)

    from transformers import AutoConfig, AutoProcessor

    if _looks_like_path(name) and not Path(name).expanduser().is_dir():
        raise StudentLoadError(f"student model folder {name!r} does not exist")
    try:
        config = AutoConfig.from_pretrained(name)
    except Exception as exc:  # OSError, ValueError, hub errors: all mean "cannot use this name"
        raise StudentLoadError(f"could not read the config of student model {name!r}: {exc}") from exc
    if getattr(config, "model_type", None) != "qwen2_audio":
        raise StudentLoadError(
            f"student model {name!r} is a {getattr(config, 'model_type', 'unknown')!r} model; "
            "the trainer needs a Qwen2-Audio-family model (model_type qwen2_audio)"
        )
    try:
        processor = AutoProcessor.from_pretrained(name)  # type: ignore[no-untyped-call]
        model = AudioStudent.from_pretrained(
            name, dtype=dtype, attn_implementation=attn_implementation
        )
    except Exception as exc:
        raise StudentLoadError(f"could not load student model {name!r}: {type(exc).__name__}: {exc}") from exc
    return _finish(model, processor, name)


def _load_embedded(dtype: torch.dtype, attn_implementation: str, seed: int, window_s: int | None) -> Student:
    window = window_s if window_s is not None else get_settings().student_audio_window_s
    try:
        model, processor = build_embedded_student(window, seed, dtype=dtype, attn_implementation=attn_implementation)
    except Exception as exc:  # a missing package or a broken cache: say which, never hang
        raise StudentLoadError(f"could not assemble the embedded student: {type(exc).__name__}: {exc}") from exc
    log.warning(
        "student %r: Whisper tiny.en encoder and SmolLM2-135M-Instruct are PRETRAINED; the audio projector is "
        "NEWLY INITIALISED (untrained, seed %d) until SFT trains it; audio window %d s",
        EMBEDDED_MODEL_ID, seed, window,
    )
    return _finish(model, processor, EMBEDDED_MODEL_ID)
