"""The teacher service: ``POST /v1/reason`` (frames + question -> K chains of thought + vote).

Request flow: cheap limit checks (K, frame count, token budget) -> frames fetched and checked off the
event loop (only from the media root) -> one batched ``generate`` for K samples in a worker thread, or
adaptive rounds that stop once the vote is decided (:mod:`sightsound_teacher.sampling`) -> each sample
parsed -> self-consistency vote. Bad input answers ``application/problem+json`` 4xx with a detail that
says what to fix; a failing model server (``openai`` backend) answers 502 or 504 with its message. The
model is loaded once at startup and ``/readyz`` says when.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from prometheus_client import Counter

from sightsound.auth import install_service_auth
from sightsound.body_limit import install_body_limit
from sightsound.config import Settings, get_settings
from sightsound.contracts.teacher import ReasonRequest, ReasonResponse, TeacherTrace
from sightsound.web import ProblemError, ServiceMetrics, install_problem_handlers, problem_openapi_responses
from sightsound_teacher.backends import (
    BackendInputError,
    BackendUpstreamError,
    Generation,
    TeacherBackend,
    backend_from_settings,
)
from sightsound_teacher.frames import FrameError, load_frames
from sightsound_teacher.prompt import PROMPT_VERSION
from sightsound_teacher.sampling import draw, to_samples

__all__ = ["create_app", "to_samples"]

log = logging.getLogger("sightsound.teacher")


class TeacherMetrics(ServiceMetrics):
    """HTTP metrics plus model work: seconds, tokens, samples, votes."""

    def __init__(self) -> None:
        super().__init__("teacher")
        self.model_seconds = Counter(
            "sightsound_teacher_model_seconds",
            "Wall seconds spent in generate.",
            ["model"],
            registry=self.registry,
        )
        self.prompt_tokens = Counter(
            "sightsound_teacher_prompt_tokens",
            "Prompt tokens, once per generate call.",
            ["model"],
            registry=self.registry,
        )
        self.generated_tokens = Counter(
            "sightsound_teacher_generated_tokens",
            "Completion tokens over all samples.",
            ["model"],
            registry=self.registry,
        )
        self.samples = Counter(
            "sightsound_teacher_samples",
            "Samples written, by whether they parsed.",
            ["model", "parsed"],
            registry=self.registry,
        )
        self.votes = Counter(
            "sightsound_teacher_votes",
            "Questions voted on, by consensus.",
            ["model", "policy", "reached"],
            registry=self.registry,
        )
        self.samples_saved = Counter(
            "sightsound_teacher_samples_saved",
            "Samples not drawn because adaptive sampling had decided the vote.",
            ["model"],
            registry=self.registry,
        )

    def record(self, model: str, calls: list[list[Generation]], samples: list[TeacherTrace]) -> None:
        """One backend call costs its latency and its prompt once; every sample its completion."""
        for generations in calls:
            if generations:
                self.model_seconds.labels(model).inc(generations[0].latency_ms / 1000.0)
                self.prompt_tokens.labels(model).inc(generations[0].prompt_tokens)
            self.generated_tokens.labels(model).inc(sum(g.completion_tokens for g in generations))
        for sample in samples:
            self.samples.labels(model, "yes" if sample.answer_index is not None else "no").inc()


def check_limits(request: ReasonRequest, settings: Settings, min_new_tokens: int) -> None:
    """Refuse what the server will not do, before any I/O."""
    if request.k > settings.teacher_max_k:
        raise ProblemError(
            422,
            f"k={request.k} is above this server's limit of {settings.teacher_max_k} samples",
            kind="k-too-large",
        )
    if len(request.frame_urls) > settings.teacher_max_frames:
        raise ProblemError(
            422,
            f"{len(request.frame_urls)} frames sent; this server accepts at most {settings.teacher_max_frames}",
            kind="too-many-frames",
        )
    if request.sampling.max_new_tokens < min_new_tokens:
        raise ProblemError(
            422,
            f"sampling.max_new_tokens={request.sampling.max_new_tokens} is too small for structured output; "
            f"use at least {min_new_tokens}",
            kind="max-new-tokens-too-small",
        )


def create_app(settings: Settings | None = None, backend: TeacherBackend | None = None) -> FastAPI:
    """The teacher app. ``backend`` defaults to the one settings name (loaded at startup)."""
    settings = settings or get_settings()
    teacher = backend or backend_from_settings(settings)
    prompt_version = str(getattr(teacher, "prompt_version", PROMPT_VERSION))
    state: dict[str, str | None] = {"load_error": None}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Each reason request waits in a worker thread (frames, then the model call): as many threads as the
        # workers may have requests in flight here (SIGHTSOUND_TEACHER_MAX_IN_FLIGHT), not anyio's default 40.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, settings.teacher_max_in_flight + 8)
        try:
            await run_in_threadpool(teacher.load)
        except Exception as exc:  # stay up and say why on /readyz rather than crash-looping
            log.exception("loading the teacher model failed")
            state["load_error"] = f"{type(exc).__name__}: {exc}"
        yield

    app = FastAPI(
        title="SightSound teacher",
        version="0.1.0",
        description="A vision-language teacher writes K audio-focused chains of thought from silent frames.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    install_service_auth(app, "teacher", settings)
    metrics = TeacherMetrics()
    metrics.install(app)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], responses=problem_openapi_responses(503))
    def readyz() -> dict[str, Any]:
        """Readiness: the model is loaded."""
        if not teacher.ready:
            detail = state["load_error"] or "the teacher model is still loading"
            raise ProblemError(503, detail, kind="not-ready")
        return {"status": "ready", "model": teacher.model_id, "backend": teacher.name}

    @app.post(
        "/v1/reason",
        response_model=ReasonResponse,
        tags=["reason"],
        responses=problem_openapi_responses(422, 502, 503, 504),
    )
    async def reason(request: ReasonRequest) -> ReasonResponse:
        """K chains of thought over the frames, each parsed, and the self-consistency vote.

        With adaptive sampling on, fewer than K samples come back when the vote was decided early
        (``consensus.traces_used`` < ``k_requested``)."""
        if not teacher.ready:
            raise ProblemError(503, state["load_error"] or "the teacher model is still loading", kind="not-ready")
        check_limits(request, settings, teacher.min_new_tokens())
        try:
            frames = await run_in_threadpool(
                load_frames, request.frame_urls, settings.teacher_max_frame_side, settings.media_root
            )
        except FrameError as exc:
            raise ProblemError(422, str(exc), kind=exc.kind, frame_index=exc.index, frame_url=exc.url) from exc
        try:
            drawn = await run_in_threadpool(
                lambda: draw(
                    teacher,
                    request,
                    frames,
                    policy=settings.teacher_vote_policy,
                    threshold=settings.teacher_majority_threshold,
                    adaptive=settings.teacher_adaptive,
                    first_round=settings.teacher_adaptive_first_round,
                )
            )
        except BackendInputError as exc:
            raise ProblemError(422, str(exc), kind="unservable-request") from exc
        except BackendUpstreamError as exc:
            extra = {} if exc.upstream_status is None else {"upstream_status": exc.upstream_status}
            raise ProblemError(exc.status, exc.detail, kind=exc.kind, **extra) from exc

        consensus = drawn.consensus
        metrics.record(teacher.model_id, drawn.calls, drawn.samples)
        metrics.votes.labels(teacher.model_id, consensus.policy, "yes" if consensus.reached else "no").inc()
        metrics.samples_saved.labels(teacher.model_id).inc(request.k - consensus.traces_used)
        return ReasonResponse(
            model=teacher.model_id,
            backend=teacher.name,
            prompt_version=prompt_version,
            sampling=request.sampling,
            traces=drawn.samples,
            consensus=consensus,
            k_requested=request.k,
            rounds=len(drawn.calls),
        )

    install_body_limit(app, settings.max_request_bytes)  # last: the outermost layer
    return app
