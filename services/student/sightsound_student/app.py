"""The student service: ``POST /v1/answer``, the OpenAI ``POST /v1/chat/completions`` and ``GET /v1/models``.

Request flow: cheap checks first (model name resolved in PostgreSQL, token budget, the OpenAI options the
student can honour), then the audio decoded off the event loop (:mod:`.audio_input`), then one generate
with the student from the LRU cache (:mod:`.students`). Errors on ``/v1/answer`` are
``application/problem+json``; on the OpenAI routes they are OpenAI's ``{"error": {...}}`` so OpenAI
clients show the message. Students load on first use (``/readyz`` needs PostgreSQL only).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text

from sightsound.auth import install_service_auth
from sightsound.body_limit import install_body_limit
from sightsound.config import Settings, get_settings
from sightsound.contracts.student import StudentAnswerRequest, StudentAnswerResponse, Timings
from sightsound.db.session import session_scope
from sightsound.media.waveform import Waveform
from sightsound.registry import ResolvedModel
from sightsound.web import ProblemError, ServiceMetrics, install_problem_handlers, problem_openapi_responses
from sightsound.web import problem_response as problem
from sightsound_student.audio_input import AudioLimits, base64_bytes, waveform_from_bytes, waveform_from_url
from sightsound_student.catalog import model_list
from sightsound_student.chat import chat_query
from sightsound_student.errors import StudentRequestError
from sightsound_student.metrics import StudentMetrics
from sightsound_student.openai_protocol import (
    AssistantMessage,
    ChatCompletionChoice,
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionUsage,
    ErrorInfo,
    ErrorResponse,
    ModelList,
    SightSoundAnswer,
)
from sightsound_student.students import StudentPool, answer_response

log = logging.getLogger("sightsound.student")

OPENAI_PATHS = frozenset({"/v1/chat/completions", "/v1/models"})
OPENAI_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": phrase} for status, phrase in
    ((400, "Bad request"), (404, "Unknown model"), (413, "Audio too large"), (503, "Model unavailable"))
}


def openai_error(status: int, message: str, code: str | None, param: str | None = None) -> JSONResponse:
    """OpenAI's error body; a refused request is 400 (OpenAI's status for invalid input) unless 404 or 413."""
    if 400 <= status < 500 and status not in (404, 413, 429):
        status = 400
    kind = "invalid_request_error" if status < 500 else "server_error"
    if status == 404:
        kind = "not_found_error"
    body = ErrorResponse(error=ErrorInfo(message=message, type=kind, param=param, code=code))
    return JSONResponse(body.model_dump(), status_code=status)


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    parts, first = [], None
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        first = first or loc or None
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "; ".join(parts) or "invalid request", first


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    service_metrics = ServiceMetrics("student")
    metrics = StudentMetrics(service_metrics.registry)
    pool = StudentPool(settings, on_load=lambda ref: metrics.loads.labels(ref).inc())
    metrics.loaded.set_function(lambda: float(len(pool.cache.keys())))
    limits = AudioLimits(settings.student_max_audio_s, settings.max_upload_bytes)

    app = FastAPI(
        title="SightSound student",
        version="0.1.0",
        description="The trained audio student answers audio questions: natively (`/v1/answer`) and through the "
        "OpenAI chat-completions protocol (`input_audio` parts). `deployed` is resolved on every request.",
    )
    app.state.pool = pool
    install_problem_handlers(app)
    install_service_auth(app, "student", settings)
    service_metrics.install(app)

    @app.exception_handler(StudentRequestError)
    async def _student_error(request: Request, exc: StudentRequestError) -> JSONResponse:
        if request.url.path in OPENAI_PATHS:
            response = openai_error(exc.status, exc.message, exc.kind, exc.param)
        else:
            extra = {} if exc.param is None else {"param": exc.param}
            response = problem(exc.status, exc.message, exc.kind, **extra)
        response.headers.update(exc.headers() or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        if request.url.path in OPENAI_PATHS:
            return openai_error(400, message, "invalid-request", param)
        return problem(422, message, "validation-error",
                       errors=[{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                                "message": str(e.get("msg"))} for e in exc.errors()])

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        if request.url.path in OPENAI_PATHS:
            return openai_error(500, "internal error; the server log has the details", "internal-error")
        return problem(500, "internal error; the server log has the details", "internal-error")

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], responses=problem_openapi_responses(503))
    def readyz() -> dict[str, Any]:
        """Readiness: PostgreSQL answers (students load on first use; `loaded` lists those in memory)."""
        try:
            with session_scope(settings.database_url) as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:
            raise ProblemError(503, f"PostgreSQL does not answer: {type(exc).__name__}", kind="not-ready") from exc
        return {"status": "ready", "device": str(pool.device), "loaded": pool.cache.keys(),
                "base_models": list(settings.student_base_models)}

    def answer_audio(
        started: float, resolved: ResolvedModel, decode: Callable[[], Waveform], question: str,
        choices: Sequence[str] | None, max_new: int, temperature: float, seed: int | None,
    ) -> StudentAnswerResponse:
        """Both routes' one path: decode the audio (timed), generate, read the answer, count it."""
        decode_started = time.perf_counter()
        waveform = decode()
        decode_ms = 1000 * (time.perf_counter() - decode_started)
        generated = pool.generate(resolved, waveform, question, choices, max_new_tokens=max_new,
                                  temperature=temperature, seed=seed)
        timings = Timings(load=generated.load_ms, decode_audio=decode_ms, generate=generated.generate_ms,
                          total=1000 * (time.perf_counter() - started))
        response = answer_response(resolved, generated.answer, choices, timings)
        metrics.observe(response)
        return response

    @app.post(
        "/v1/answer",
        response_model=StudentAnswerResponse,
        tags=["answer"],
        summary="Answer one question about one clip's audio",
        responses=problem_openapi_responses(404, 413, 415, 422, 503),
    )
    def answer(body: StudentAnswerRequest) -> StudentAnswerResponse:
        """The student's answer to ``question`` about the audio (``audio_url`` in the media store, or
        ``audio_base64``), with the checkpoint that answered, the parsed choice, token usage and timings.
        A malformed ``model`` is 422, one that names nothing servable 404."""
        started = time.perf_counter()
        resolved = pool.resolve(body.model)
        max_new = pool.max_new_tokens(body.max_new_tokens)

        def decode() -> Waveform:
            if body.audio_url is not None:
                return waveform_from_url(body.audio_url, settings.media_root, limits)
            raw = base64_bytes(body.audio_base64 or "", "audio_base64", limits.max_bytes)
            return waveform_from_bytes(raw, limits, "audio_base64")

        return answer_audio(started, resolved, decode, body.question, body.choices, max_new, body.temperature, None)

    @app.post(
        "/v1/chat/completions",
        response_model=ChatCompletionResponse,
        tags=["openai"],
        summary="OpenAI chat completions: one user message with the question and one input_audio part",
        responses=OPENAI_ERRORS,
    )
    def chat_completions(body: ChatCompletionRequest) -> ChatCompletionResponse:
        """The OpenAI protocol. Lettered lines in the text (``A. ...``) are the choices (or send
        ``answer_choices``); ``temperature`` defaults to 0 (greedy, the way the student is evaluated);
        ``max_completion_tokens`` (or ``max_tokens``) caps the answer. ``model`` in the response is the
        checkpoint that answered; ``sightsound`` holds the parsed answer."""
        started = time.perf_counter()
        query = chat_query(body)
        resolved = pool.resolve(body.model)
        param = "max_completion_tokens" if body.max_completion_tokens is not None else "max_tokens"
        max_new = pool.max_new_tokens(query.max_new_tokens, param)
        audio = query.audio

        def decode() -> Waveform:
            raw = base64_bytes(audio.data, "input_audio.data", limits.max_bytes)
            return waveform_from_bytes(raw, limits, "input_audio")

        native = answer_audio(started, resolved, decode, query.question, query.choices, max_new, query.temperature,
                              query.seed)
        timings = native.timings_ms
        usage = native.usage
        return ChatCompletionResponse(
            model=resolved.ref,
            choices=[ChatCompletionChoice(
                index=0,
                message=AssistantMessage(content=native.text),
                finish_reason="length" if usage.completion_tokens >= max_new else "stop",
            )],
            usage=CompletionUsage(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                                  total_tokens=usage.prompt_tokens + usage.completion_tokens),
            sightsound=SightSoundAnswer(
                served_model=native.model, question=query.question, choices=query.choices,
                answer_index=native.answer_index, answer_letter=native.answer_letter,
                answer_text=native.answer_text, reasoning=native.reasoning, parse=native.parse, timings_ms=timings,
            ),
        )

    @app.get("/v1/models", response_model=ModelList, tags=["openai"], summary="OpenAI model list",
             responses=OPENAI_ERRORS)
    def models() -> ModelList:
        """``sightsound-student`` while a checkpoint is deployed, every checkpoint, the served base students."""
        with session_scope(settings.database_url) as session:
            return model_list(session, list(settings.student_base_models))

    # Last: the outermost layer. Audio travels base64 in JSON (a third larger than the file).
    audio_body = settings.max_upload_bytes * 4 // 3 + 64 * 1024
    install_body_limit(app, settings.max_request_bytes, {"/v1/answer": audio_body, "/v1/chat/completions": audio_body},
                       openai_paths=OPENAI_PATHS)
    return app
