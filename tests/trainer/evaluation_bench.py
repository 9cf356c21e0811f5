"""A small generated benchmark for evaluation tests: clips with audio (tones and noise) and their test
questions in two categories, inserted straight into PostgreSQL, plus checkpoint rows for them to name."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
from sqlalchemy.orm import Session

from sightsound.db.models import Checkpoint, Clip, Dataset, Question, RunState, Split, TrainingRun

SAMPLE_RATE = 16_000
CHOICES = ["A steady tone", "Noise", "Speech", "Silence"]


@dataclass(frozen=True)
class BenchQuestion:
    category: str
    audio: Path | None  # None: an audio-only clip without audio track (never used) or a missing file
    gold: int
    choices: tuple[str, ...] = tuple(CHOICES)
    frames: bool = True
    split: Split = Split.test
    text: str = "What is heard?"


def tone(path: Path, freq: float, seconds: float = 0.8) -> Path:
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    soundfile.write(path, (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32), SAMPLE_RATE)
    return path


def noise(path: Path, seed: int, seconds: float = 0.8) -> Path:
    data = 0.2 * np.random.default_rng(seed).standard_normal(int(SAMPLE_RATE * seconds))
    soundfile.write(path, data.astype(np.float32), SAMPLE_RATE)
    return path


def two_categories(folder: Path, per_category: int = 3) -> list[BenchQuestion]:
    """``per_category`` tone questions (gold A) and as many noise questions (gold B)."""
    folder.mkdir(parents=True, exist_ok=True)
    questions = []
    for i in range(per_category):
        questions.append(BenchQuestion("tones", tone(folder / f"tone-{i}.wav", 300.0 + 150 * i), 0))
        questions.append(BenchQuestion("noise", noise(folder / f"noise-{i}.wav", i), 1))
    return questions


def insert_benchmark(session: Session, source: str, questions: list[BenchQuestion]) -> list[uuid.UUID]:
    """One clip and one question per item, under question ``source``; returns the question ids in order."""
    ids = []
    for i, q in enumerate(questions):
        audio_url = q.audio.resolve().as_uri() if q.audio is not None else None
        clip = Clip(id=uuid.uuid4(), content_hash=hashlib.sha256(f"{source}:{i}".encode()).hexdigest(),
                    media_url=audio_url or f"file:///nowhere/{source}-{i}.wav", filename=f"{i}.wav", size_bytes=1,
                    duration_s=0.8, fps=None, width=160 if q.frames else None, height=120 if q.frames else None,
                    has_audio=q.audio is not None,
                    frame_urls=[f"file:///nowhere/{source}-{i}-{f}.jpg" for f in range(2)] if q.frames else None,
                    audio_url=audio_url)
        fingerprint = hashlib.sha256(f"{source}:{i}".encode()).hexdigest()
        question = Question(id=uuid.uuid4(), clip=clip, fingerprint=fingerprint, text=q.text,
                            choices=list(q.choices), answer_index=q.gold, category=q.category, split=q.split,
                            source=source, source_ref=f"{i:04d}")
        session.add(question)
        ids.append(question.id)
    session.flush()
    return ids


def insert_checkpoint(session: Session, folder: Path, student_model: str = "tiny-random",
                      variant: str = "cot") -> uuid.UUID:
    """A dataset, a finished run and one checkpoint row pointing at ``folder`` (which may not exist)."""
    dataset = Dataset(id=uuid.uuid4(), name=f"eval-{uuid.uuid4().hex[:8]}", version=1, variant=variant,
                      counts={"records": 1})
    run = TrainingRun(id=uuid.uuid4(), dataset_id=dataset.id, student_model=student_model, stages=["sft"],
                      state=RunState.succeeded)  # a queued run would be taken by a trainer worker
    checkpoint = Checkpoint(id=uuid.uuid4(), run_id=run.id, stage="sft", step=1, url=folder.resolve().as_uri())
    session.add(dataset)
    session.flush()
    session.add(run)
    session.flush()
    session.add(checkpoint)
    session.flush()
    return checkpoint.id
