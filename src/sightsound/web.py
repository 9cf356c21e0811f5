"""What every SightSound FastAPI app shares: RFC 9457 problem responses and Prometheus metrics."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://sightsound.dev/problems/"


class ProblemError(Exception):
    """Raise anywhere in a request to answer with an ``application/problem+json`` body."""

    #: Headers the response carries (``WWW-Authenticate`` on a 401, say).
    headers: Mapping[str, str] | None = None

    def __init__(self, status: int, detail: str, *, kind: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind or HTTPStatus(status).phrase.lower().replace(" ", "-")
        self.extra = extra


def problem_response(status: int, detail: str, kind: str | None = None, **extra: Any) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (kind or phrase.lower().replace(" ", "-")),
        "title": phrase,
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


#: Seconds a client is told to wait (``Retry-After``) when PostgreSQL or Redis does not answer.
OUTAGE_RETRY_AFTER_S = 5


def unavailable_backend(exc: BaseException) -> str | None:
    """``"PostgreSQL"`` or ``"Redis"`` when ``exc`` says that store does not answer (a restart, an outage: not the
    request's fault and not a bug), else ``None``."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(exc, (OperationalError, InterfaceError)) or (
            isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return "PostgreSQL"
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
        return "Redis"
    return None


def outage_detail(backend: str) -> str:
    return (f"{backend} does not answer right now (a restart or an outage); nothing was stored by this request: "
            f"send it again in a few seconds (Retry-After)")


def outage_response(backend: str) -> JSONResponse:
    """503 with ``Retry-After``: what a request gets while PostgreSQL or Redis is away."""
    response = problem_response(503, outage_detail(backend), "backend-unavailable")
    response.headers["Retry-After"] = str(OUTAGE_RETRY_AFTER_S)
    return response


def _with_headers(response: JSONResponse, headers: Mapping[str, str] | None) -> JSONResponse:
    response.headers.update(headers or {})
    return response


def _validation_detail(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors = []
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        msg = str(err.get("msg", "invalid"))
        errors.append({"field": loc, "message": msg})
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid request", errors


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return _with_headers(problem_response(exc.status, exc.detail, exc.kind, **exc.extra), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = _validation_detail(exc)
        return problem_response(422, detail, "validation-error", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _with_headers(problem_response(exc.status_code, str(exc.detail)), exc.headers)

    @app.exception_handler(HTTPException)
    async def _fastapi_http(_: Request, exc: HTTPException) -> JSONResponse:
        return _with_headers(problem_response(exc.status_code, str(exc.detail)), exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Never a stack trace to the client; the server log has it.
        import logging

        backend = unavailable_backend(exc)
        if backend is not None:  # an outage of a store, not a bug: 503, retry later
            logging.getLogger("sightsound").warning("%s does not answer: %s: %s", backend, type(exc).__name__, exc)
            return outage_response(backend)
        logging.getLogger("sightsound").exception("unhandled error", exc_info=exc)
        return problem_response(500, "internal error; the server log has the details", "internal-error")

    from redis.exceptions import RedisError
    from sqlalchemy.exc import DBAPIError

    for store_error in (DBAPIError, RedisError):
        app.add_exception_handler(store_error, _unexpected)


def problem_openapi_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem+json errors."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {
                PROBLEM_MEDIA_TYPE: {
                    "example": {
                        "type": PROBLEM_TYPE_BASE + HTTPStatus(status).phrase.lower().replace(" ", "-"),
                        "title": HTTPStatus(status).phrase,
                        "status": status,
                        "detail": "what to fix",
                    }
                }
            },
        }
        for status in statuses
    }


class ServiceMetrics:
    """Request counters and latencies on a registry of the app's own (no globals between apps)."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.service = service
        self.requests = Counter(
            "sightsound_http_requests_total",
            "HTTP requests by route and status.",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sightsound_http_request_seconds",
            "HTTP request latency.",
            ["service", "method", "route"],
            registry=self.registry,
        )

    def install(self, app: FastAPI, dependencies: Sequence[Any] = ()) -> None:
        """Measure every request and serve ``/metrics`` (behind ``dependencies``: the API's scope check)."""

        @app.middleware("http")
        async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
            start = time.perf_counter()
            response = await call_next(request)
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.latency.labels(self.service, request.method, path).observe(time.perf_counter() - start)
            self.requests.labels(self.service, request.method, path, str(response.status_code)).inc()
            return response

        @app.get("/metrics", include_in_schema=False, dependencies=list(dependencies))
        def _metrics() -> Response:
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def serve(create_app: Callable[[], FastAPI], prog: str, description: str, default_port: int,
          argv: list[str] | None = None) -> None:
    """``python -m <service>``: parse ``--host/--port/--log-level`` and run one uvicorn process (several
    workers would each load their own models)."""
    import uvicorn

    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level=args.log_level)
