"""The two kinds of evaluated model, each answering a batch of questions into item rows.

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

from sightsound.config import Settings
from sightsound.contracts.evaluation import NOT_ASKED
from sightsound.contracts.teacher import ReasonRequest, ReasonResponse, SamplingParams
from sightsound.evaluation.teacher import teacher_output, teacher_prediction
from sightsound.media.waveform import Waveform
from sightsound_student_model.batches import load_waveform
from sightsound_student_model.inference import LoadedStudent, Query, answer
from sightsound_trainer.evaluation.records import ItemRow, QuestionRow

log = logging.getLogger(__name__)


class Answerer(Protocol):
    def answer(self, questions: Sequence[QuestionRow]) -> list[ItemRow]: ...


def not_asked(question: QuestionRow, reason: str) -> ItemRow:
    return ItemRow(question.id, question.category, None, False, "", NOT_ASKED + reason, 0.0)


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

    def answer(self, questions: Sequence[QuestionRow]) -> list[ItemRow]:
        audio = {q.id: read_audio(q) for q in questions}
        askable: list[tuple[QuestionRow, Waveform]] = []
        for q in questions:
            waveform = audio[q.id]
            if not isinstance(waveform, str):
                askable.append((q, waveform))
        queries = [Query(waveform, q.text, q.choices) for q, waveform in askable]
        answers = answer(self.loaded, queries, max_new_tokens=self.max_new_tokens, temperature=self.temperature,
                         batch_size=max(1, len(queries))) if queries else []
        by_id = dict(zip((q.id for q, _ in askable), answers, strict=True))
        rows = []
        for q in questions:
            problem = audio[q.id]
            if isinstance(problem, str):
                rows.append(not_asked(q, problem))
                continue
            said = by_id[q.id]
            rows.append(ItemRow(q.id, q.category, said.parsed.index, said.parsed.index == q.answer_index, said.text,
                                said.parsed.error, said.latency_ms))
        return rows


class TeacherAnswerer:
    """Asks the teacher service with the pipeline's own teacher settings (K, temperature, seed)."""

    def __init__(self, settings: Settings, reason: Callable[[ReasonRequest], ReasonResponse],
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.reason = reason
        self.sleep = sleep

    def request(self, question: QuestionRow) -> ReasonRequest:
        return ReasonRequest(
            question=question.text,
            choices=question.choices,
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

    def answer(self, questions: Sequence[QuestionRow]) -> list[ItemRow]:
        from sightsound.clients.base import ServiceRejectedError

        rows = []
        for q in questions:
            started = time.perf_counter()
            try:
                response = self._call(self.request(q), q.id)
            except ServiceRejectedError as exc:
                rows.append(not_asked(q, f"the teacher refused it: {exc.message}"))
                continue
            latency_ms = 1000 * (time.perf_counter() - started)
            predicted = teacher_prediction(response)
            error = None if predicted is not None else "no consensus and no single most common answer"
            rows.append(ItemRow(q.id, q.category, predicted, predicted == q.answer_index, teacher_output(response),
                                error, latency_ms))
        return rows
