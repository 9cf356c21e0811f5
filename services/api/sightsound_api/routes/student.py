"""Asking the student: ``POST /v1/student/answer`` (an upload), and the student's OpenAI routes proxied.

The upload route checks everything it can before it stores anything (question, choices, the model name
against PostgreSQL, the token budget, then the file decoded as audio), stores the 16 kHz audio, and asks
the student service by URL with the model it resolved (so the answer comes from the checkpoint that was
deployed when the request arrived). ``/v1/chat/completions`` and ``/v1/models`` go to the student service
unchanged, so an OpenAI client can use the API's base URL.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from sightsound.clients.base import ServiceRejectedError, TransientServiceError
from sightsound.clients.student import StudentClient
from sightsound.config import Settings
from sightsound.contracts.student import StudentAnswerRequest, StudentAnswerResponse, check_choices, check_question
from sightsound.registry import BadModelName, UnknownModel, parse_model_ref, resolve_model
from sightsound.web import ProblemError, problem_openapi_responses
from sightsound_api.deps import SessionDep, SettingsDep, scope
from sightsound_api.questions import parse_choices
from sightsound_api.student_audio import StoredAudio, receive_upload, store_upload_audio
from sightsound_api.student_schemas import StoredAudioOut, StudentUploadAnswer

router = APIRouter(tags=["student"])

#: Headers of the student's answer the proxied routes pass on (a busy student's 429 says when to retry).
PASSED_HEADERS = ("retry-after",)
#: Room for multipart framing and the other form fields around the file.
FORM_OVERHEAD_BYTES = 64 * 1024


def student_client(request: Request) -> StudentClient:
    """One client (one connection pool) per app, made on first use."""
    state = request.app.state
    if getattr(state, "student_client", None) is None:
        settings: Settings = state.settings
        state.student_client = StudentClient.from_settings(settings)
    client: StudentClient = state.student_client
    return client


StudentDep = Annotated[StudentClient, Depends(student_client)]


def _invalid(detail: str) -> ProblemError:
    return ProblemError(422, detail, kind="invalid-student-request")


def _resolved_ref(session: SessionDep, settings: Settings, model: str | None) -> str:
    try:
        ref = parse_model_ref(model)
    except BadModelName as exc:
        raise ProblemError(422, f"model: {exc}", kind="invalid-model-name") from exc
    try:
        return resolve_model(session, ref, list(settings.student_base_models)).ref
    except UnknownModel as exc:
        raise ProblemError(404, str(exc), kind="model-not-found") from exc
    finally:
        session.rollback()  # read only; do not hold the transaction during the upload


def _ask(client: StudentClient, request: StudentAnswerRequest, settings: Settings) -> StudentAnswerResponse:
    try:
        return client.answer(request)
    except ServiceRejectedError as exc:
        kind = "model-not-found" if exc.status == 404 else "student-refused"
        raise ProblemError(exc.status or 422, exc.message, kind=kind) from exc
    except TransientServiceError as exc:
        if exc.status is None:
            raise ProblemError(503, f"the student service at {settings.student_url} does not answer ({exc.message}): "
                                    "it is down or still starting; retry shortly", kind="student-unavailable") from exc
        if exc.status == 429:  # its queue is full: the caller should back off as the student said, not fail
            busy = ProblemError(429, exc.message, kind="student-busy")
            busy.headers = {"Retry-After": exc.retry_after} if exc.retry_after else None
            raise busy from exc
        status = 503 if exc.status == 503 else 502
        raise ProblemError(status, f"the student service failed ({exc.status}): {exc.message}",
                           kind="student-failed") from exc


@router.post(
    "/v1/student/answer",
    dependencies=[scope("submit")],
    response_model=StudentUploadAnswer,
    summary="Ask the student a question about an uploaded audio file or video",
    responses=problem_openapi_responses(404, 413, 415, 422, 429, 502, 503),
)
async def answer_upload(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: StudentDep,
    question: Annotated[str, Form(description="What to listen for.", examples=["What can be heard?"])],
    file: Annotated[UploadFile | None, File(description="Audio (wav, flac, mp3, ogg) or a video with sound.")] = None,
    choices: Annotated[list[str] | None, Form(
        description="2 to 4 choices: repeat the field, or send one JSON array; none for a free question.")] = None,
    model: Annotated[str | None, Form(
        description="`deployed` (default), `checkpoint:<id>` or `base:<name>`.")] = None,
    max_new_tokens: Annotated[int | None, Form(description="Longest answer, in tokens.")] = None,
    temperature: Annotated[float, Form(ge=0, le=2, description="0 decodes greedily.")] = 0.0,
) -> StudentUploadAnswer:
    """Stores the upload's audio (16 kHz WAV, content-addressed) and returns the student's answer with it.
    Nothing is stored when the request is refused."""
    try:
        question = check_question(question)
        parsed = [c for c in parse_choices(choices)] if choices else []
        checked = check_choices(parsed) if parsed else None
    except ValueError as exc:
        raise _invalid(str(exc)) from exc
    limit = settings.student_max_new_tokens
    if max_new_tokens is not None and not 1 <= max_new_tokens <= limit:
        raise _invalid(f"max_new_tokens must be between 1 and {limit} (SIGHTSOUND_STUDENT_MAX_NEW_TOKENS)")
    ref = await run_in_threadpool(_resolved_ref, session, settings, model)  # PostgreSQL off the event loop
    if file is None:
        raise _invalid("file: send the audio (wav, flac, mp3, ogg) or a video with sound as the multipart field "
                       "`file`")
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > settings.max_upload_bytes + FORM_OVERHEAD_BYTES:
        raise ProblemError(413, f"the upload is larger than the limit of {settings.max_upload_bytes} bytes",
                           kind="upload-too-large")
    tmp_root = None if "://" in str(settings.media_root) else Path(settings.media_root) / "tmp"
    if tmp_root is not None:
        tmp_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tmp_root, prefix="student-upload-") as workdir:
        path = Path(workdir) / "upload"
        content_hash = await receive_upload(file, settings.max_upload_bytes, path)
        stored: StoredAudio = await store_upload_audio(path, content_hash, settings)
    try:
        ask = StudentAnswerRequest(audio_url=stored.url, question=question, choices=checked, model=ref,
                                   max_new_tokens=max_new_tokens, temperature=temperature)
    except ValidationError as exc:  # every field was checked above; this is a bug, not bad input
        raise ProblemError(500, "could not build the student request", kind="internal-error") from exc
    answer = await run_in_threadpool(_ask, client, ask, settings)
    return StudentUploadAnswer(**answer.model_dump(), audio=StoredAudioOut(url=stored.url,
                                                                           duration_s=stored.duration_s))


def _openai_unavailable(settings: Settings, exc: TransientServiceError) -> JSONResponse:
    body: dict[str, Any] = {"error": {
        "message": f"the student service at {settings.student_url} does not answer ({exc.message}): it is down or "
                   "still starting; retry shortly",
        "type": "server_error", "param": None, "code": "student-unavailable"}}
    return JSONResponse(body, status_code=503)


async def _proxy(request: Request, settings: Settings, client: StudentClient, method: str, path: str,
                 body: bytes = b"") -> Response:
    try:
        upstream = await run_in_threadpool(client.forward, method, path, body, request.headers.get("content-type"))
    except TransientServiceError as exc:
        return _openai_unavailable(settings, exc)
    passed = {name: upstream.headers[name] for name in PASSED_HEADERS if name in upstream.headers}
    return Response(upstream.content, status_code=upstream.status_code,
                    media_type=upstream.headers.get("content-type"), headers=passed)


@router.post("/v1/chat/completions", summary="OpenAI chat completions with the student (proxied to the student "
             "service unchanged; see its OpenAPI for the fields)", tags=["openai"], dependencies=[scope("submit")])
async def chat_completions(request: Request, settings: SettingsDep, client: StudentDep) -> Response:
    """One user message with the question as text and exactly one `input_audio` part (base64 wav, mp3, flac or
    ogg). Errors come in OpenAI's `{"error": {...}}` shape."""
    length = request.headers.get("content-length")
    max_body = settings.max_upload_bytes * 4 // 3 + FORM_OVERHEAD_BYTES  # base64 grows the audio by a third
    if length and length.isdigit() and int(length) > max_body:
        return JSONResponse({"error": {"message": f"the request is larger than {max_body} bytes; send a shorter clip",
                                       "type": "invalid_request_error", "param": None, "code": "request-too-large"}},
                            status_code=413)
    return await _proxy(request, settings, client, "POST", "/v1/chat/completions", await request.body())


@router.get("/v1/models", summary="OpenAI model list of the student service (proxied unchanged)",
            dependencies=[scope("read")], tags=["openai"])
async def list_models(request: Request, settings: SettingsDep, client: StudentDep) -> Response:
    return await _proxy(request, settings, client, "GET", "/v1/models")
