"""The students this service answers with: resolve a model name, load it (cached), answer one question.

``deployed`` is resolved again on every request (one indexed PostgreSQL query), so deploying another
checkpoint through the API changes the next answer with no restart; the checkpoint it names is loaded
once and kept in the LRU cache (:mod:`.cache`). Generation runs one request at a time per process: the
accelerator (or the CPU) is the bottleneck either way, and one at a time keeps memory predictable.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch

from sightsound.config import Settings
from sightsound.contracts.common import CHOICE_LETTERS
from sightsound.contracts.student import ParseInfo, ServedModel, StudentAnswerResponse, Timings, Usage
from sightsound.db.session import session_scope
from sightsound.media.waveform import Waveform
from sightsound.registry import BadModelName, ResolvedModel, UnknownModel, parse_model_ref, resolve_model
from sightsound_student.cache import LRUCache
from sightsound_student.errors import StudentRequestError
from sightsound_student_model.inference import (
    Answer,
    LoadedStudent,
    Query,
    answer,
    inference_device,
    inference_dtype,
    load_base,
    load_checkpoint,
)
from sightsound_student_model.student import StudentLoadError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Generated:
    answer: Answer
    load_ms: float
    generate_ms: float


def served_model(resolved: ResolvedModel) -> ServedModel:
    return ServedModel(ref=resolved.ref, checkpoint_id=resolved.checkpoint_id, run_id=resolved.run_id,
                       stage=resolved.stage, step=resolved.step, base_model=resolved.base_model)


def answer_response(resolved: ResolvedModel, result: Answer, choices: Sequence[str] | None,
                    timings: Timings) -> StudentAnswerResponse:
    """The native answer body (pure)."""
    index = result.parsed.index
    return StudentAnswerResponse(
        model=served_model(resolved),
        answer_index=index,
        answer_letter=None if index is None else CHOICE_LETTERS[index],
        answer_text=None if index is None or choices is None else choices[index],
        reasoning=result.parsed.reasoning,
        text=result.text,
        parse=ParseInfo(how=result.parsed.how, error=result.parsed.error),
        usage=Usage(prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens),
        timings_ms=timings,
    )


class StudentPool:
    """Resolves model names against PostgreSQL and answers with cached, loaded students."""

    def __init__(self, settings: Settings, on_load: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self._on_load = on_load
        self.device = inference_device(settings.student_device)
        self.cache: LRUCache[LoadedStudent] = LRUCache(settings.student_cache_size, on_evict=self._evicted)
        self._generate_lock = threading.Lock()
        self._load_slots = threading.BoundedSemaphore(settings.student_max_concurrent_loads)
        self._admission = threading.Lock()
        self._in_flight = 0  # requests loading, waiting or generating
        self._seconds_per_request = 1.0  # moving average, for Retry-After

    def _evicted(self, key: str, _: LoadedStudent) -> None:
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def resolve(self, name: str | None) -> ResolvedModel:
        """What ``name`` names now; 422 for a malformed name, 404 for one that names nothing servable."""
        try:
            ref = parse_model_ref(name)
        except BadModelName as exc:
            raise StudentRequestError(422, "invalid-model-name", f"model: {exc}", "model") from exc
        try:
            with session_scope(self.settings.database_url) as session:
                return resolve_model(session, ref, list(self.settings.student_base_models))
        except UnknownModel as exc:
            raise StudentRequestError(404, "model-not-found", str(exc), "model") from exc

    def _load(self, resolved: ResolvedModel) -> LoadedStudent:
        try:
            dtype = inference_dtype(self.device)
            if resolved.folder is None:
                loaded = load_base(resolved.base_model, dtype=dtype)
            else:
                loaded = load_checkpoint(resolved.folder, ref=resolved.ref, variant=resolved.variant, dtype=dtype)
        except StudentLoadError as exc:
            raise StudentRequestError(503, "model-unavailable",
                                      f"{resolved.ref} could not be loaded: {exc}", "model") from exc
        except (OSError, ValueError, KeyError) as exc:  # a damaged checkpoint folder
            raise StudentRequestError(503, "model-unavailable", f"{resolved.ref} could not be loaded: "
                                      f"{type(exc).__name__}: {exc}", "model") from exc
        loaded.student.model.to(self.device)
        if self._on_load is not None:
            self._on_load(resolved.ref)
        log.info("student %s ready on %s (%s)", resolved.ref, self.device, resolved.base_model)
        return loaded

    def max_new_tokens(self, asked: int | None, param: str = "max_new_tokens") -> int:
        limit = self.settings.student_max_new_tokens
        if asked is None:
            return limit
        if asked < 1:
            raise StudentRequestError(422, "invalid-max-new-tokens", f"{param} must be at least 1", param)
        if asked > limit:
            raise StudentRequestError(
                422, "max-new-tokens-too-large",
                f"{param}={asked} is above this server's limit of {limit} (SIGHTSOUND_STUDENT_MAX_NEW_TOKENS)", param,
            )
        return asked

    def _bounded_load(self, resolved: ResolvedModel) -> LoadedStudent:
        with self._load_slots:  # at most student_max_concurrent_loads loads at once
            return self._load(resolved)

    @contextlib.contextmanager
    def _admitted(self) -> Iterator[None]:
        """One request in the bounded queue (one answering + ``student_max_waiting`` waiting), or 429."""
        with self._admission:
            limit = 1 + self.settings.student_max_waiting
            if self._in_flight >= limit:
                retry = max(1, math.ceil(self._seconds_per_request * self._in_flight))
                raise StudentRequestError(
                    429, "student-busy", f"the student service is busy ({self._in_flight} requests in progress or "
                    f"waiting; SIGHTSOUND_STUDENT_MAX_WAITING={self.settings.student_max_waiting}): retry in about "
                    f"{retry} s", retry_after_s=retry)
            self._in_flight += 1
        started = time.perf_counter()
        try:
            yield
        finally:
            with self._admission:
                self._in_flight -= 1
                self._seconds_per_request = 0.8 * self._seconds_per_request + 0.2 * (time.perf_counter() - started)

    def generate(self, resolved: ResolvedModel, waveform: Waveform, question: str, choices: Sequence[str] | None,
                 *, max_new_tokens: int, temperature: float, seed: int | None = None) -> Generated:
        with self._admitted():
            return self._generate(resolved, waveform, question, choices, max_new_tokens=max_new_tokens,
                                  temperature=temperature, seed=seed)

    def _generate(self, resolved: ResolvedModel, waveform: Waveform, question: str, choices: Sequence[str] | None,
                  *, max_new_tokens: int, temperature: float, seed: int | None) -> Generated:
        fetched = self.cache.get(resolved.ref, lambda: self._bounded_load(resolved))
        query = Query(waveform, question, list(choices) if choices is not None else None)
        with self._generate_lock:
            started = time.perf_counter()
            if seed is not None:
                torch.manual_seed(seed)
            result = answer(fetched.value, [query], max_new_tokens=max_new_tokens, temperature=temperature)[0]
            generate_ms = 1000 * (time.perf_counter() - started)
        return Generated(result, 1000 * fetched.wait_s, generate_ms)
