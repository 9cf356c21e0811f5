"""One client for OpenAI-compatible chat-completions servers (vLLM, hosted APIs), used by the teacher's
``openai`` backend and the verifier's audio-LLM checker: bearer auth, the retry policy of
:mod:`sightsound.clients.retry`, and failures described precisely enough for each caller to say what
went wrong in its own terms.

A read timeout is retried only when the caller says so: a generating server may still be working, and a
retry doubles its load (the teacher does not retry; the short audio-LLM checks do).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from sightsound.clients.retry import RETRYABLE_STATUSES, retry_delay

log = logging.getLogger(__name__)

FailureKind = Literal["timeout", "unreachable", "refused", "bad-response"]


@dataclass
class ChatFailure(Exception):
    """Why a chat request failed. ``kind``: ``timeout`` (no answer in time, not retried), ``unreachable``
    (connection failures or retryable statuses until the retries ran out), ``refused`` (a status not worth
    retrying), ``bad-response`` (200 with a body that is not JSON)."""

    kind: FailureKind
    message: str
    status: int | None = None
    attempts: int = 1

    def __str__(self) -> str:
        return self.message


def error_detail(status: int, text: str) -> str:
    """The upstream error message: OpenAI's ``{"error": {"message": ...}}``, FastAPI's ``detail``, or text.

    >>> error_detail(400, '{"error": {"message": "too many images", "type": "BadRequestError"}}')
    'too many images'
    >>> error_detail(500, "<html>boom</html>")
    '<html>boom</html>'
    """
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if body.get("detail"):
            return str(body["detail"])
        if body.get("message"):
            return str(body["message"])
    snippet = " ".join(text.split())
    return (snippet[:300] + "…") if len(snippet) > 300 else (snippet or f"HTTP {status} with an empty body")


class OpenAIChatClient:
    """``POST {base_url}/chat/completions`` with retries. Thread-safe (httpx clients are)."""

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout_s: float = 300.0,
                 max_retries: int = 3, backoff_s: float = 1.0, retry_timeouts: bool = False,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep,
                 what: str = "the model server") -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.retry_timeouts = retry_timeouts
        self.what = what
        self._sleep = sleep
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        #: The underlying HTTP client (tests hook its events to see what was sent).
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self.http.close()

    def post_chat(self, body: dict[str, Any]) -> Any:
        """The server's JSON answer, or :class:`ChatFailure`."""
        where = f"{self.base_url}/chat/completions"
        last, last_status = "", None
        for attempt in range(self.max_retries + 1):
            retry_after: str | None = None
            try:
                response = self.http.post("/chat/completions", json=body)
            except httpx.ReadTimeout as exc:
                if not self.retry_timeouts:
                    raise ChatFailure("timeout", f"{self.what} at {where} did not answer within "
                                                 f"{self.timeout_s:g} s", attempts=attempt + 1) from exc
                last = f"{self.what} at {where} did not answer within {self.timeout_s:g} s (ReadTimeout)"
                last_status = None
            except httpx.TransportError as exc:  # connection refused or reset, connect timeout, ...
                last, last_status = f"cannot reach {self.what} at {where}: {type(exc).__name__}: {exc}", None
            else:
                if response.status_code == 200:
                    try:
                        return response.json()
                    except ValueError as exc:
                        raise ChatFailure("bad-response", f"{self.what} answered 200 with a body that is not JSON",
                                          200, attempt + 1) from exc
                detail = error_detail(response.status_code, response.text)
                if response.status_code not in RETRYABLE_STATUSES:
                    raise ChatFailure("refused", detail, response.status_code, attempt + 1)
                last = f"{self.what} answered HTTP {response.status_code}: {detail}"
                last_status = response.status_code
                retry_after = response.headers.get("retry-after")
            if attempt < self.max_retries:
                delay = retry_delay(attempt, self.backoff_s, retry_after)
                log.warning("chat request failed (%s); retry %d/%d in %.2f s", last, attempt + 1, self.max_retries,
                            delay)
                self._sleep(delay)
        raise ChatFailure("unreachable", f"{last} (gave up after {self.max_retries + 1} attempts)", last_status,
                          self.max_retries + 1)
