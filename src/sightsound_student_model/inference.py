"""Answering with the student: build it from a base model or a checkpoint, then answer audio questions.

A checkpoint is rebuilt the way it was trained (see :class:`~sightsound_student_model.checkpoints.CheckpointInfo`):
the base student, the adapters of earlier stages merged into it, then this checkpoint's adapters merged too
(one set of weights, no adapter matmuls at inference), or its full weights. The student is asked in the
prompt shape it was trained on (:func:`sightsound.snapshot.targets.student_prompt`), decoding is greedy by
default, the audio special tokens are never emitted, and the answer is read by :mod:`.answers`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel
from transformers import LogitsProcessorList

from sightsound.answers import ParsedAnswer, parse_answer
from sightsound.media.waveform import Waveform
from sightsound.snapshot.targets import student_prompt
from sightsound_student_model.batches import prompt_batch
from sightsound_student_model.checkpoints import CheckpointInfo, load_weights
from sightsound_student_model.generation import SuppressTokens
from sightsound_student_model.loading import load_student
from sightsound_student_model.student import Student

log = logging.getLogger(__name__)

PromptVariant = str  # a DatasetVariant: "cot"/"cot-unverified" (think, then answer), else answer only


@dataclass(frozen=True)
class Query:
    """One question about one clip's audio; ``choices`` None for a free question."""

    waveform: Waveform
    question: str
    choices: Sequence[str] | None = None


@dataclass(frozen=True)
class Answer:
    text: str
    parsed: ParsedAnswer
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float  # this query's share of its batch's generate time


@dataclass
class LoadedStudent:
    """A student ready to answer, with what it is and how it was trained to be asked."""

    student: Student
    ref: str
    variant: PromptVariant = "cot"
    load_s: float = 0.0


def _local_path(uri: str) -> Path:
    return Path(uri.removeprefix("file://"))


def inference_device(setting: str) -> torch.device:
    """The ``student_device`` setting as a device: ``auto`` is CUDA when there is a GPU, else the CPU."""
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def inference_dtype(device: str | torch.device) -> torch.dtype:
    """bf16 on a GPU (a 7B student in float32 would need twice the memory and run at a fraction of the
    speed), float32 on CPU (bf16 matmuls are slow there)."""
    return torch.bfloat16 if torch.device(device).type == "cuda" else torch.float32


def load_base(name: str, *, seed: int = 0, dtype: torch.dtype = torch.float32) -> LoadedStudent:
    """The untrained student ``name`` (``embedded``, ``tiny-random``, a folder or a hub id)."""
    started = time.perf_counter()
    student = load_student(name, seed=seed, dtype=dtype)
    student.model.eval()
    return LoadedStudent(student, f"base:{name}", "cot", time.perf_counter() - started)


def load_checkpoint(folder: Path, *, ref: str | None = None, variant: PromptVariant = "cot",
                    seed: int = 0, dtype: torch.dtype = torch.float32) -> LoadedStudent:
    """The student a checkpoint folder holds, with every adapter merged into the weights."""
    started = time.perf_counter()
    info = CheckpointInfo.read(folder)
    student = load_student(info.base_model, seed=seed, dtype=dtype)
    for adapter in info.merged_adapters:
        student.model = PeftModel.from_pretrained(student.model, str(_local_path(adapter))).merge_and_unload()
    if info.lora:
        student.model = PeftModel.from_pretrained(student.model, str(folder)).merge_and_unload()
    else:
        load_weights(folder, student)
    student.model.eval()
    loaded = LoadedStudent(student, ref or folder.as_uri(), variant, time.perf_counter() - started)
    log.info("loaded student %s (%s step %d of %s) in %.1f s", loaded.ref, info.stage, info.step,
             info.base_model, loaded.load_s)
    return loaded


def user_text(query: Query, variant: PromptVariant) -> str:
    if query.choices is None:
        return query.question.strip()
    return student_prompt(query.question, list(query.choices), variant)


@torch.no_grad()
def _generate(loaded: LoadedStudent, queries: Sequence[Query], max_new_tokens: int,
              temperature: float) -> tuple[list[list[int]], list[int], float]:
    student = loaded.student
    batch = prompt_batch(student, [user_text(q, loaded.variant) for q in queries], [q.waveform for q in queries])
    weight = next(student.model.parameters())
    batch = batch.to(weight.device)
    features = batch.input_features.to(weight.dtype)
    sampling: dict[str, Any] = (
        {"do_sample": True, "temperature": temperature, "top_k": 0} if temperature > 0 else {"do_sample": False}
    )
    started = time.perf_counter()
    out = student.model.generate(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        input_features=features,
        feature_attention_mask=batch.feature_attention_mask,
        max_new_tokens=max_new_tokens,
        logits_processor=LogitsProcessorList([SuppressTokens(student.audio_token_ids)]),
        eos_token_id=list(student.stop_token_ids),
        pad_token_id=student.pad_token_id,
        **sampling,
    )
    seconds = time.perf_counter() - started
    prompt_tokens = batch.attention_mask.sum(-1).tolist()
    rows: list[list[int]] = []
    stops = set(student.stop_token_ids)
    for ids in out[:, batch.length :].tolist():
        kept: list[int] = []
        for token in ids:
            if token in stops:
                break
            kept.append(token)
        rows.append(kept)
    return rows, [int(p) for p in prompt_tokens], seconds


def answer(loaded: LoadedStudent, queries: Sequence[Query], *, max_new_tokens: int = 128,
           temperature: float = 0.0, batch_size: int = 8) -> list[Answer]:
    """Answers to ``queries`` in order, generated ``batch_size`` at a time."""
    answers: list[Answer] = []
    tokenizer = loaded.student.tokenizer
    for start in range(0, len(queries), batch_size):
        chunk = queries[start : start + batch_size]
        rows, prompt_tokens, seconds = _generate(loaded, chunk, max_new_tokens, temperature)
        for query, ids, n_prompt in zip(chunk, rows, prompt_tokens, strict=True):
            text = str(tokenizer.decode(ids, skip_special_tokens=True)).strip()
            answers.append(Answer(text, parse_answer(text, query.choices), n_prompt, len(ids),
                                  1000 * seconds / len(chunk)))
    return answers
