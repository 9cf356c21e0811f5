"""The API's gate: API keys from PostgreSQL (``Authorization: Bearer <key>`` or ``X-API-Key``), the metrics token
on ``/metrics``; health and the API's own documentation stay public. Each route's scope is its own dependency
(:class:`sightsound_api.deps.RequireScope`)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from sightsound.auth import HEALTH_PATHS, METRICS, AuthGate, Principal, problem_refusal, same_secret, warn_disabled
from sightsound.config import Settings, secret_value
from sightsound.db.keys import authenticate_key
from sightsound.db.session import get_sessionmaker
from sightsound.web import problem_openapi_responses
from sightsound_api.deps import RequireScope

#: Reachable without a key: liveness, readiness, and the description of the API (it does nothing).
PUBLIC_PATHS = HEALTH_PATHS | {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
#: Routes that speak the OpenAI protocol: refusals come in OpenAI's error shape, as its clients expect.
OPENAI_PATHS = frozenset({"/v1/chat/completions", "/v1/models"})
MISSING_KEY = ("send an API key as `Authorization: Bearer <key>` or `X-API-Key: <key>` (an operator creates one "
               "with `sightsound keys create --name NAME --scopes read,submit`)")
UNKNOWN_KEY = "the API key is unknown or revoked; ask an operator for a valid one (`sightsound keys list`)"


def refusal(status: int, detail: str, path: str) -> tuple[dict[str, Any], str]:
    if path in OPENAI_PATHS:
        return {"error": {"message": detail, "type": "invalid_request_error", "param": None,
                          "code": "invalid_api_key"}}, "application/json"
    return problem_refusal(status, detail, path)


def install_auth(app: FastAPI, settings: Settings) -> None:
    """Put the gate in front of ``app`` (call before the metrics middleware, so refusals are counted)."""
    metrics_token = secret_value(settings.metrics_token)
    sessions = get_sessionmaker(settings.database_url)

    def lookup(secret: str) -> Principal | None:
        with sessions() as session:
            return authenticate_key(session, secret)

    async def authenticate(secret: str) -> Principal | None:
        if metrics_token and same_secret(secret, metrics_token):
            return METRICS
        return await run_in_threadpool(lookup, secret)

    disabled = settings.auth == "off"
    if disabled:
        warn_disabled("API")
    app.add_middleware(AuthGate, authenticate=authenticate, public_paths=PUBLIC_PATHS,
                       disabled=disabled, missing_detail=MISSING_KEY, refused_detail=UNKNOWN_KEY, refusal=refusal)


def served_routes(app: FastAPI) -> list[Any]:
    """Every route the app serves, included routers flattened: objects with ``path_format``, ``methods``,
    ``include_in_schema`` and (API routes) ``dependant``. Newer FastAPI keeps an included router as one branch
    of ``app.routes``; ``iter_route_contexts`` walks into it."""
    try:
        from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # older FastAPI: included routes are copied into app.routes
        return [route for route in app.routes if isinstance(route, APIRoute)]
    return [route for route in iter_route_contexts(app.routes) if getattr(route, "dependant", None) is not None]


def route_scopes(route: Any) -> list[str]:
    """The scopes a route declares through :class:`RequireScope` (its dependencies searched all the way down)."""
    needed: list[str] = []
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        if isinstance(dependant.call, RequireScope):
            needed.append(dependant.call.scope)
        stack.extend(dependant.dependencies)
    return needed


def document_scopes(app: FastAPI) -> None:
    """Each operation of the OpenAPI says its scope (description and ``x-required-scope``) and documents the
    401, 403 and 429 (rate limit) answers."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        refusals = problem_openapi_responses(401, 403, 429)
        for route in served_routes(app):
            scopes = route_scopes(route) if route.include_in_schema else []
            if not scopes:
                continue
            needed = scopes[0]
            for method in route.methods:
                operation = spec.get("paths", {}).get(route.path_format, {}).get(method.lower())
                if operation is None:
                    continue
                operation["x-required-scope"] = needed
                said = f"Scope: `{needed}`" + (" (or `admin`)." if needed != "admin" else ".")
                operation["description"] = f"{operation.get('description', '').rstrip()}\n\n{said}".strip()
                responses = operation.setdefault("responses", {})
                for status, response in refusals.items():
                    responses.setdefault(str(status), response)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
