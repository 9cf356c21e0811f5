"""HTTP face of the verifier: ``POST /v1/verify``, health, readiness and metrics."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from sightsound.config import Settings, get_settings
from sightsound.contracts.verifier import VerifyRequest, VerifyResponse
from sightsound.web import ProblemError, ServiceMetrics, install_problem_handlers, problem_openapi_responses
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio import AudioClip, AudioUnavailableError, load_clip
from sightsound_verifier.metrics import VerifierMetrics
from sightsound_verifier.speech import model_loaded
from sightsound_verifier.verification import Verifier


def warm_up_analyzers(sample_rate: int) -> None:
    """Load silero-vad and run every analyzer once on a second of low noise, so the first request is fast."""
    rng = np.random.default_rng(0)
    analysis = ClipAnalysis(AudioClip((rng.standard_normal(sample_rate) * 1e-3).astype(np.float32), sample_rate))
    analysis.speech()
    analysis.silence()
    analysis.trend()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    verifier = Verifier.from_settings(settings)
    service_metrics = ServiceMetrics("verifier")
    metrics = VerifierMetrics(service_metrics.registry)
    state = {"warm": False}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(warm_up_analyzers, settings.audio_sample_rate)
        state["warm"] = True
        yield

    app = FastAPI(
        title="SightSound verifier",
        version="0.1.0",
        description="Checks the sound claims of teacher traces against the real audio; decides per trace.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    service_metrics.install(app)

    def verify_sync(request: VerifyRequest) -> VerifyResponse:
        start = time.perf_counter()
        clip = None
        if request.audio_url is not None:
            try:
                clip = load_clip(
                    request.audio_url,
                    settings.audio_sample_rate,
                    settings.max_duration_s,
                    settings.max_upload_bytes,
                )
            except AudioUnavailableError as exc:
                raise ProblemError(422, str(exc), kind="unreadable-audio", audio_url=request.audio_url) from exc
        response = verifier.verify(request, clip)
        metrics.analysis_seconds.observe(time.perf_counter() - start)
        return response

    @app.post(
        "/v1/verify",
        response_model=VerifyResponse,
        summary="Verify the sound claims of a clip's traces against its audio",
        responses=problem_openapi_responses(422),
    )
    async def verify(request: VerifyRequest) -> VerifyResponse:
        """Extracts each trace's claims, checks them against the audio at ``audio_url`` and decides.

        ``audio_url`` null means the clip has no audio track: every claim is unverifiable and the policy
        decides on that (accepted in the default mode, rejected in strict mode), saying so in ``reasons``.
        """
        response = await run_in_threadpool(verify_sync, request)
        metrics.observe(response)
        return response

    @app.get("/healthz", summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Readiness: analyzers loaded and warmed", responses=problem_openapi_responses(503))
    def readyz() -> dict[str, Any]:
        if not (state["warm"] and model_loaded()):
            raise ProblemError(503, "analyzers are still loading; retry shortly", kind="not-ready")
        return {"status": "ready", "claim_kinds_checked": sorted(c.value for c in verifier.router.covered_kinds)}

    return app
