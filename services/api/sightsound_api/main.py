"""The public SightSound API."""

from __future__ import annotations

from fastapi import FastAPI

from sightsound.body_limit import install_body_limit
from sightsound.config import Settings, get_settings
from sightsound.tasks.dispatch import Dispatcher
from sightsound.web import ServiceMetrics, install_problem_handlers
from sightsound_api.console.install import install_console
from sightsound_api.deps import scope
from sightsound_api.metrics import PipelineCollector
from sightsound_api.rate_limits import install_rate_limits
from sightsound_api.routes import (
    checkpoints,
    clips,
    datasets,
    evaluations,
    health,
    jobs,
    overrides,
    stats,
    student,
    traces,
    training_runs,
)
from sightsound_api.security import OPENAI_PATHS, PUBLIC_PATHS, document_scopes, install_auth
from sightsound_api.uploads import body_caps

DESCRIPTION = """
SightSound turns audio-visual clips into verified audio reasoning traces (SightSound-R1).

Upload a clip with a multiple-choice audio question (`POST /v1/clips`); a vision-language teacher
writes K chains of thought from the silent frames, the verifier checks every sound claim against the
real audio, and accepted traces become training data: snapshot them into a versioned dataset
(`POST /v1/datasets`) and train the student on it (`POST /v1/training-runs`). Long work answers
`202` with a `Location` to poll. Errors are `application/problem+json` (RFC 9457).

Every route but `/healthz` and `/readyz` needs an API key (`Authorization: Bearer <key>` or `X-API-Key`) whose
scopes grant the route's scope: `read`, `submit` (clips, asking the student), `train` (datasets, training runs,
evaluations) or `admin` (all, and deploying checkpoints, cancelling runs). No key: 401; a missing scope: 403
naming it. Operators create keys with `sightsound keys create --name NAME --scopes read,submit`. Each key has a
budget of reads and one of other requests per time window; past it the answer is 429 with `Retry-After`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="SightSound API", version="0.1.0", description=DESCRIPTION)
    app.state.settings = settings
    app.state.dispatcher = Dispatcher(settings)
    install_problem_handlers(app)
    # Before the gate, so it sits inside it: a key's budget is spent after the key is known (issue 12, rate limits).
    install_rate_limits(app, settings, exempt_paths=PUBLIC_PATHS, openai_paths=OPENAI_PATHS)
    install_auth(app, settings)
    metrics = ServiceMetrics("api")
    metrics.registry.register(PipelineCollector(settings))
    metrics.install(app, dependencies=[scope("read")])
    for module in (health, clips, jobs, traces, datasets, training_runs, stats, evaluations, checkpoints, student,
                   overrides):
        app.include_router(module.router)
    install_console(app, settings)  # the review console (/ui); after the gate, so its door runs first
    document_scopes(app)
    # Last, so the body cap is the outermost layer: a body is counted while it is read (issue 12B, finding 3).
    install_body_limit(app, settings.max_request_bytes, body_caps(settings), openai_paths={"/v1/chat/completions"})
    return app
