"""Who may call a SightSound service: API keys and their scopes, the internal services' shared token, and the
one gate (an ASGI middleware) every app puts in front of its routes.

The gate authenticates before the app reads a request's body, so a caller without credentials cannot make a
service parse or store anything; what a request may do (its scope) is each API route's own dependency
(``sightsound_api.deps.RequireScope``). Keys are long random secrets, so storing their SHA-256 is enough
(no slow hash needed); a short non-secret prefix names a key in listings.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sightsound.config import Settings, secret_value
from sightsound.web import OUTAGE_RETRY_AFTER_S, outage_detail, unavailable_backend

log = logging.getLogger("sightsound.auth")

ScopeName = Literal["read", "submit", "train", "admin"]
#: ``admin`` grants every scope (deploy, cancel, key management included).
SCOPES: tuple[ScopeName, ...] = ("read", "submit", "train", "admin")
SCOPE_HELP = {
    "read": "read jobs, clips, traces, datasets, runs, checkpoints, evaluations, statistics and metrics",
    "submit": "upload clips and ask the student",
    "train": "snapshot datasets, start training runs and evaluations",
    "admin": "everything, and deploy checkpoints, cancel runs, manage keys",
}
KEY_PREFIX = "ssk_"
#: Characters of a key shown in listings (``ssk_`` and 8 of the secret): enough to tell keys apart, useless to guess.
DISPLAY_CHARS = 12
AUTH_DISABLED_HEADER = "X-SightSound-Auth"
BEARER_CHALLENGE = 'Bearer realm="sightsound"'
HEALTH_PATHS = frozenset({"/healthz", "/readyz"})


@dataclass(frozen=True)
class Principal:
    """The caller a request's credentials name."""

    name: str
    scopes: frozenset[str]
    key_id: str | None = None
    only_paths: frozenset[str] | None = None  # a metrics token reaches /metrics and nothing else

    def grants(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


EVERYONE = Principal("auth disabled (development)", frozenset(SCOPES))
SERVICE = Principal("service token", frozenset(SCOPES))
METRICS = Principal("metrics token", frozenset({"read"}), only_paths=frozenset({"/metrics"}))


def new_secret() -> str:
    """A fresh API key: ``ssk_`` and 256 random bits (URL-safe base64)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The stored form of a key (hex SHA-256).

    >>> hash_secret("ssk_x")[:16]
    '24ffe5cf1153ab53'
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(secret: str) -> str:
    return secret[:DISPLAY_CHARS]


def parse_scopes(text: str | Iterable[str]) -> list[ScopeName]:
    """``"read,submit"`` -> ``["read", "submit"]``; raises ``ValueError`` naming an unknown scope.

    >>> parse_scopes("submit, read,read")
    ['read', 'submit']
    """
    parts = [p.strip() for p in (text.split(",") if isinstance(text, str) else text) if p.strip()]
    unknown = sorted(set(parts) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; scopes are {', '.join(SCOPES)}")
    if not parts:
        raise ValueError(f"name at least one scope of {', '.join(SCOPES)}")
    return [s for s in SCOPES if s in parts]


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison; an empty expected secret matches nothing."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def credentials(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The secret a request carries: ``Authorization: Bearer <secret>`` (as OpenAI clients send it) or
    ``X-API-Key: <secret>``."""
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1").strip()
        if name == "authorization":
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif name == "x-api-key" and value:
            return value
    return None


Authenticate = Callable[[str], Awaitable[Principal | None]]
#: (status, detail, path) -> (body, content type): the shape of a refusal (problem+json, or OpenAI's for its routes).
Refusal = Callable[[int, str, str], tuple[dict[str, Any], str]]


def problem_refusal(status: int, detail: str, _: str) -> tuple[dict[str, Any], str]:
    title = {401: "Unauthorized", 403: "Forbidden"}[status]
    kind = {401: "unauthenticated", 403: "insufficient-scope"}[status]
    body = {"type": f"https://sightsound.dev/problems/{kind}", "title": title, "status": status, "detail": detail}
    return body, "application/problem+json"


@dataclass
class AuthGate:
    """ASGI middleware: a request to anything but ``public_paths`` needs credentials that ``authenticate``
    accepts, or it is answered 401 (``WWW-Authenticate: Bearer``) before the app sees it. The caller's
    :class:`Principal` goes to ``request.state.principal``. ``disabled`` (development only) lets everything
    through as :data:`EVERYONE` and marks every response ``X-SightSound-Auth: disabled``."""

    app: ASGIApp
    authenticate: Authenticate
    public_paths: Collection[str] = HEALTH_PATHS
    disabled: bool = False
    missing_detail: str = "send credentials as `Authorization: Bearer <secret>`"
    refusal: Refusal = problem_refusal
    refused_detail: str = "the credentials are unknown or revoked"
    unconfigured: str | None = None  # why nothing can be accepted (no token configured), said in every 401
    _public: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self._public = frozenset(self.public_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        state = scope.setdefault("state", {})
        if self.disabled:
            state["principal"] = EVERYONE
            await self.app(scope, receive, self._marked(send))
            return
        if path in self._public:
            await self.app(scope, receive, send)
            return
        secret = credentials(scope["headers"])
        if secret is None:
            await self._refuse(send, path, self.unconfigured or self.missing_detail)
            return
        try:
            principal = None if self.unconfigured else await self.authenticate(secret)
        except Exception as exc:
            backend = unavailable_backend(exc)
            if backend is None:
                raise
            log.warning("cannot check credentials: %s does not answer (%s)", backend, type(exc).__name__)
            await self._unavailable(send, backend)
            return
        if principal is None:
            await self._refuse(send, path, self.unconfigured or self.refused_detail)
            return
        if principal.only_paths is not None and path not in principal.only_paths:
            await self._refuse(send, path, f"the {principal.name} may only read {', '.join(principal.only_paths)}")
            return
        state["principal"] = principal
        await self.app(scope, receive, send)

    def _marked(self, send: Send) -> Send:
        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (AUTH_DISABLED_HEADER.lower().encode(), b"disabled")]
            await send(message)

        return marked

    async def _unavailable(self, send: Send, backend: str) -> None:
        """503 with ``Retry-After``: the keys' store does not answer (a restart), so nobody can be let in now."""
        payload = json.dumps({"type": "https://sightsound.dev/problems/backend-unavailable",
                              "title": "Service Unavailable", "status": 503,
                              "detail": outage_detail(backend)}).encode()
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/problem+json"), (b"content-length", str(len(payload)).encode()),
            (b"retry-after", str(OUTAGE_RETRY_AFTER_S).encode())]})
        await send({"type": "http.response.body", "body": payload})

    async def _refuse(self, send: Send, path: str, detail: str) -> None:
        body, content_type = self.refusal(401, detail, path)
        payload = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", content_type.encode()), (b"content-length", str(len(payload)).encode()),
            (b"www-authenticate", BEARER_CHALLENGE.encode())]})
        await send({"type": "http.response.body", "body": payload})


def warn_disabled(service: str) -> None:
    """The loud line a service logs when it starts with authentication off."""
    log.warning("AUTHENTICATION IS DISABLED on the %s (SIGHTSOUND_AUTH=off, development only): anyone who reaches "
                "its port may use every route; every response carries %s: disabled", service, AUTH_DISABLED_HEADER)


def install_service_auth(app: Starlette, service: str, settings: Settings) -> None:
    """The gate of an internal service (teacher, verifier, student): the shared service token, or the metrics
    token on ``/metrics``; health stays public. Call before the metrics middleware, so refusals are counted."""
    service_token = settings.service_token.get_secret_value()
    metrics_token = secret_value(settings.metrics_token)

    async def authenticate(secret: str) -> Principal | None:
        if same_secret(secret, service_token):
            return SERVICE
        if metrics_token and same_secret(secret, metrics_token):
            return METRICS
        return None

    disabled = settings.auth == "off"
    unconfigured = None
    if disabled:
        warn_disabled(service)
    elif not service_token:
        unconfigured = (f"the {service} has no SIGHTSOUND_SERVICE_TOKEN, so it refuses every request: set the same "
                        "token on it and on its callers")
        log.error("the %s has no SIGHTSOUND_SERVICE_TOKEN: it refuses every request but health", service)
    app.add_middleware(
        AuthGate,
        authenticate=authenticate, disabled=disabled, unconfigured=unconfigured,
        missing_detail=f"the {service} is internal: send the service token as `Authorization: Bearer "
                       "<SIGHTSOUND_SERVICE_TOKEN>`",
        refused_detail=f"the service token is wrong (SIGHTSOUND_SERVICE_TOKEN differs between the caller and the "
                       f"{service})",
    )
