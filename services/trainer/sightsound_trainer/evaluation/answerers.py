"""The two kinds of evaluated model, each answering a batch of questions into item rows.

Each answers *asks* (:class:`~sightsound_trainer.evaluation.records.Ask`): a question with its choices
rotated (the letters re-assigned; the answer mapped back to the underlying choice) and, for a student, with
its clip's audio or with silence of the same duration (zeros of the decoded waveform's length and rate, sent
through the same feature extraction).

- :class:`StudentAnswerer`: a student (base or checkpoint) loaded once, asked in batches with greedy
  decoding. A question whose audio cannot be read is recorded as not asked (an error item) and the rest of
  its batch is answered; an error of the model itself (out of memory, say) is not a property of one
  question, so it fails the evaluation instead of turning every item into an error.
- :class:`TeacherAnswerer`: the vision teacher service, one question per call, from the clip's frames.
  Transient errors are retried; a question the teacher refuses (4xx) is recorded as not asked.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from sightsound.config import Settings
from sightsound.contracts.evaluation import NOT_ASKED
from sightsound.contracts.teacher import ReasonRequest, ReasonResponse, SamplingParams
from sightsound.evaluation.robustness import original_index, rotate
from sightsound.evaluation.teacher import teacher_output, teacher_prediction
from sightsound.media.waveform import Waveform
from sightsound_student_model.batches import load_waveform
from sightsound_student_model.inference import LoadedStudent, Query, answer
from sightsound_trainer.evaluation.records import Ask, ItemRow, QuestionRow

log = logging.getLogger(__name__)


class Answerer(Protocol):
    def answer(self, asks: Sequence[Ask]) -> list[ItemRow]: ...


def not_asked(ask: Ask, reason: str) -> ItemRow:
    q = ask.question
    return ItemRow(q.id, q.category, None, False, "", NOT_ASKED + reason, 0.0, ask.rotation, ask.silent)


def answered(ask: Ask, presented: int | None, output: str, parse_error: str | None, latency_ms: float) -> ItemRow:
    """The row of an answer given as letter ``presented`` of the ask's (rotated) choices."""
    q = ask.question
    choice = original_index(presented, ask.rotation, len(q.choices))
    return ItemRow(q.id, q.category, choice, choice == q.answer_index, output, parse_error, latency_ms,
                   ask.rotation, ask.silent)


def read_audio(question: QuestionRow) -> Waveform | str:
    """The question's clip audio, or why it cannot be had."""
    if not question.audio_url:
        return "the clip has no audio"
    try:
        waveform = load_waveform(question.audio_url)
    except Exception as exc:  # a missing file, an unsupported format, a media URL refused: all per question
        return f"audio could not be read: {type(exc).__name__}: {exc}"
    if waveform.size == 0:
        return "the audio is empty"
    return waveform


class StudentAnswerer:
    def __init__(self, loaded: LoadedStudent, max_new_tokens: int, temperature: float = 0.0) -> None:
        self.loaded = loaded
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature

    def answer(self, asks: Sequence[Ask]) -> list[ItemRow]:
        audio: dict[uuid.UUID, Waveform | str] = {}
        for ask in asks:
            if ask.question.id not in audio:
                audio[ask.question.id] = read_audio(ask.question)
        askable: list[tuple[Ask, Waveform]] = []
        for ask in asks:
            waveform = audio[ask.question.id]
            if not isinstance(waveform, str):
                askable.append((ask, np.zeros_like(waveform) if ask.silent else waveform))
        queries = [Query(waveform, ask.question.text, rotate(ask.question.choices, ask.rotation))
                   for ask, waveform in askable]
        answers = answer(self.loaded, queries, max_new_tokens=self.max_new_tokens, temperature=self.temperature,
                         batch_size=max(1, len(queries))) if queries else []
        by_key = dict(zip((ask.key for ask, _ in askable), answers, strict=True))
        rows = []
        for ask in asks:
            problem = audio[ask.question.id]
            if isinstance(problem, str):
                rows.append(not_asked(ask, problem))
                continue
            said = by_key[ask.key]
            rows.append(answered(ask, said.parsed.index, said.text, said.parsed.error, said.latency_ms))
        return rows


class TeacherAnswerer:
    """Asks the teacher service with the pipeline's own teacher settings (K, temperature, seed)."""

    def __init__(self, settings: Settings, reason: Callable[[ReasonRequest], ReasonResponse],
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.reason = reason
        self.sleep = sleep

    def request(self, question: QuestionRow, rotation: int = 0) -> ReasonRequest:
        return ReasonRequest(
            question=question.text,
            choices=rotate(question.choices, rotation),
            frame_urls=list(question.frame_urls or []),
            k=self.settings.traces_per_question,
            sampling=SamplingParams(temperature=self.settings.teacher_temperature,
                                    max_new_tokens=self.settings.teacher_max_new_tokens,
                                    seed=self.settings.teacher_seed),
        )

    def _call(self, request: ReasonRequest, question_id: uuid.UUID) -> ReasonResponse:
        from sightsound.clients.base import TransientServiceError

        delay = self.settings.task_retry_backoff_s
        for attempt in range(self.settings.task_max_retries + 1):
            try:
                return self.reason(request)
            except TransientServiceError as exc:
                if attempt == self.settings.task_max_retries:
                    raise
                log.warning("teacher call for question %s failed (%s); retry in %.1f s", question_id, exc, delay)
                self.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def answer(self, asks: Sequence[Ask]) -> list[ItemRow]:
        from sightsound.clients.base import ServiceRejectedError

        rows = []
        for ask in asks:
            q = ask.question
            if ask.silent:  # the API refuses silent_audio for the teacher; an old row is answered as not asked
                rows.append(not_asked(ask, "the teacher never hears the audio, so silence changes nothing"))
                continue
            started = time.perf_counter()
            try:
                response = self._call(self.request(q, ask.rotation), q.id)
            except ServiceRejectedError as exc:
                rows.append(not_asked(ask, f"the teacher refused it: {exc.message}"))
                continue
            latency_ms = 1000 * (time.perf_counter() - started)
            predicted = teacher_prediction(response)
            error = None if predicted is not None else "no consensus and no single most common answer"
            rows.append(answered(ask, predicted, teacher_output(response), error, latency_ms))
        return rows
