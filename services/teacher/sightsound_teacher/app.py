"""The teacher service: ``POST /v1/reason`` (frames + question -> K chains of thought + vote).

Request flow: cheap limit checks (K, frame count, token budget) -> frames fetched and checked off the
event loop -> one batched ``generate`` in a worker thread (the backend lets one run at a time) ->
each sample parsed -> self-consistency vote. Bad input answers ``application/problem+json`` 4xx with
a detail that says what to fix; the model is loaded once at startup and ``/readyz`` says when.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from prometheus_client import Counter

from sightsound.config import Settings, get_settings
from sightsound.contracts.teacher import ReasonRequest, ReasonResponse, TeacherSample
from sightsound.web import ProblemError, ServiceMetrics, install_problem_handlers, problem_openapi_responses
from sightsound_teacher.backends import BackendInputError, Generation, TeacherBackend, make_backend
from sightsound_teacher.frames import FrameError, load_frames
from sightsound_teacher.parsing import parse_answer
from sightsound_teacher.prompt import PROMPT_VERSION
from sightsound_teacher.voting import vote

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

    def record(self, model: str, generations: list[Generation], samples: list[TeacherSample]) -> None:
        if generations:
            self.model_seconds.labels(model).inc(generations[0].latency_ms / 1000.0)
            self.prompt_tokens.labels(model).inc(generations[0].prompt_tokens)
        self.generated_tokens.labels(model).inc(sum(g.completion_tokens for g in generations))
        for sample in samples:
            self.samples.labels(model, "yes" if sample.answer_index is not None else "no").inc()


def to_samples(generations: list[Generation], choices: list[str]) -> list[TeacherSample]:
    """Parse each raw generation into a :class:`TeacherSample` (pure)."""
    samples = []
    for index, generation in enumerate(generations):
        answer, error = parse_answer(generation.text, choices)
        samples.append(
            TeacherSample(
                index=index,
                text=generation.text,
                answer_index=answer,
                parse_error=error,
                latency_ms=generation.latency_ms,
                prompt_tokens=generation.prompt_tokens,
                completion_tokens=generation.completion_tokens,
            )
        )
    return samples


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
    teacher = backend or make_backend(
        settings.teacher_backend,
        settings.teacher_model,
        device=settings.teacher_device,
        structured=settings.teacher_structured,
    )
    state: dict[str, str | None] = {"load_error": None}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
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
        responses=problem_openapi_responses(422, 503),
    )
    async def reason(request: ReasonRequest) -> ReasonResponse:
        """K chains of thought over the frames, each parsed, and the self-consistency vote."""
        if not teacher.ready:
            raise ProblemError(503, state["load_error"] or "the teacher model is still loading", kind="not-ready")
        check_limits(request, settings, teacher.min_new_tokens())
        try:
            frames = await run_in_threadpool(load_frames, request.frame_urls, settings.teacher_max_frame_side)
        except FrameError as exc:
            raise ProblemError(422, str(exc), kind=exc.kind, frame_index=exc.index, frame_url=exc.url) from exc
        try:
            generations = await run_in_threadpool(teacher.generate, request, frames)
        except BackendInputError as exc:
            raise ProblemError(422, str(exc), kind="unservable-request") from exc

        samples = to_samples(generations, request.choices)
        consensus = vote(
            [s.answer_index for s in samples],
            settings.teacher_vote_policy,
            settings.teacher_majority_threshold,
        )
        metrics.record(teacher.model_id, generations, samples)
        metrics.votes.labels(teacher.model_id, consensus.policy, "yes" if consensus.reached else "no").inc()
        return ReasonResponse(
            model=teacher.model_id,
            backend=teacher.name,
            prompt_version=PROMPT_VERSION,
            sampling=request.sampling,
            samples=samples,
            consensus=consensus,
        )

    return app
