"""Per-key rate limits of the API (issue 12): every authenticated request spends its key's budget, counted in
Redis with the `limits` library (moving windows), so every API process of a deployment shares one count.

Reads (GET, HEAD) and everything else (uploads, questions to the student, datasets, training, reviews) have
separate budgets (``SIGHTSOUND_RATE_LIMIT_READ`` and ``SIGHTSOUND_RATE_LIMIT_WRITE``): a caller polling its jobs
does not use up its uploads. Past a budget the answer is 429 with ``Retry-After`` (seconds until the window frees a
request) before the body is read. With ``SIGHTSOUND_AUTH=off`` (development) the budget is per client IP.

A Redis that does not answer must not take the API down with it: the limiter fails open (the request passes), logs
a warning, and does not ask Redis again for :data:`OUTAGE_BACKOFF_S` (so an outage adds no latency per request).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from sightsound.auth import EVERYONE, Principal
from sightsound.config import Settings

log = logging.getLogger("sightsound.api.rate_limits")

Tier = Literal["read", "write"]
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: After Redis failed to answer, requests pass unlimited for this long before Redis is asked again.
OUTAGE_BACKOFF_S = 5.0
#: Longest wait for Redis (connect, or one command) before the request passes unlimited.
REDIS_TIMEOUT_S = 0.5
SETTING = {"read": "SIGHTSOUND_RATE_LIMIT_READ", "write": "SIGHTSOUND_RATE_LIMIT_WRITE"}
WHAT = {"read": "reads", "write": "uploads, questions, datasets, training and other writes"}


def tier(method: str) -> Tier:
    """Which budget a request spends.

    >>> tier("GET"), tier("POST"), tier("DELETE")
    ('read', 'write', 'write')
    """
    return "read" if method.upper() in READ_METHODS else "write"


def identity(principal: Principal, client: tuple[str, int] | None) -> tuple[str, str]:
    """(the budget's key, how to name it in a refusal): the API key, or the client IP with authentication off."""
    if principal is EVERYONE:
        host = client[0] if client else "unknown"
        return f"ip:{host}", f"client {host} (SIGHTSOUND_AUTH=off: limits are per IP)"
    if principal.key_id is not None:
        return f"key:{principal.key_id}", principal.name
    return f"principal:{principal.name}", principal.name


@dataclass(frozen=True)
class Refused:
    """A request over its budget."""

    tier: Tier
    limit: RateLimitItem
    retry_after_s: int
    who: str

    @property
    def detail(self) -> str:
        return (f"rate limit exceeded: {self.who} may make {self.limit} of {WHAT[self.tier]} "
                f"({SETTING[self.tier]}); retry in {self.retry_after_s} s (Retry-After)")


class RateLimits:
    """The budgets and their Redis counter. One per app; its Redis client is made per event loop."""

    def __init__(self, settings: Settings) -> None:
        self.limits: dict[Tier, list[RateLimitItem]] = {
            "read": parse_many(settings.rate_limit_read), "write": parse_many(settings.rate_limit_write)}
        self.redis_url = settings.redis_url
        self._limiter: MovingWindowRateLimiter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._down_until = 0.0

    def _current(self) -> MovingWindowRateLimiter:
        loop = asyncio.get_running_loop()
        if self._limiter is None or self._loop is not loop:  # a redis.asyncio client belongs to one loop
            storage = RedisStorage(f"async+{self.redis_url}", implementation="redispy",
                                   socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S)
            self._limiter, self._loop = MovingWindowRateLimiter(storage), loop
        return self._limiter

    async def spend(self, method: str, principal: Principal, client: tuple[str, int] | None) -> Refused | None:
        """Spend one request of the caller's budget; a :class:`Refused` when it is used up, ``None`` to go on
        (also when Redis does not answer: the limiter fails open)."""
        if time.monotonic() < self._down_until:
            return None
        spent: Tier = tier(method)
        key, who = identity(principal, client)
        try:
            limiter = self._current()
            for item in self.limits[spent]:
                if not await limiter.hit(item, "api", spent, key):
                    stats = await limiter.get_window_stats(item, "api", spent, key)
                    wait = max(1, math.ceil(stats.reset_time - time.time()))
                    return Refused(spent, item, wait, who)
        except (RedisError, StorageError, OSError, TimeoutError) as exc:
            self._down_until = time.monotonic() + OUTAGE_BACKOFF_S
            log.warning("rate limits are not enforced: Redis at %s does not answer (%s: %s); requests pass "
                        "unlimited, Redis is asked again in %.0f s", self.redis_url.rsplit("@", 1)[-1],
                        type(exc).__name__, exc, OUTAGE_BACKOFF_S)
        return None


def refusal_body(refused: Refused, openai: bool) -> tuple[dict[str, Any], str]:
    """problem+json, or OpenAI's error shape on the routes OpenAI clients call (they back off on this code)."""
    if openai:
        return {"error": {"message": refused.detail, "type": "requests", "param": None,
                          "code": "rate_limit_exceeded"}}, "application/json"
    return {"type": "https://sightsound.dev/problems/rate-limited", "title": "Too Many Requests", "status": 429,
            "detail": refused.detail, "retry_after_s": refused.retry_after_s}, "application/problem+json"


@dataclass
class RateLimitGate:
    """ASGI middleware behind the auth gate (it reads the principal the gate set): a request past its key's budget
    is answered 429 before the app reads its body. Requests without a principal (public paths, refusals) pass."""

    app: ASGIApp
    limits: RateLimits
    exempt_paths: Collection[str] = ()
    openai_paths: Collection[str] = ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = scope.get("state", {}).get("principal") if scope["type"] == "http" else None
        if principal is None or scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        refused = await self.limits.spend(scope["method"], principal, scope.get("client"))
        if refused is None:
            await self.app(scope, receive, send)
            return
        body, content_type = refusal_body(refused, scope["path"] in self.openai_paths)
        payload = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", content_type.encode()), (b"content-length", str(len(payload)).encode()),
            (b"retry-after", str(refused.retry_after_s).encode()),
            (b"x-ratelimit-limit", str(refused.limit.amount).encode())]})
        await send({"type": "http.response.body", "body": payload})


def install_rate_limits(app: Any, settings: Settings, exempt_paths: Collection[str],
                        openai_paths: Collection[str]) -> None:
    """Call before :func:`sightsound_api.security.install_auth`, so the gate runs first and sets the principal."""
    if settings.rate_limits == "off":
        log.warning("rate limits are off (SIGHTSOUND_RATE_LIMITS=off): API keys have no request budget")
        return
    app.add_middleware(RateLimitGate, limits=RateLimits(settings), exempt_paths=frozenset(exempt_paths),
                       openai_paths=frozenset(openai_paths))
