"""Teacher backend over any OpenAI-compatible chat server: vLLM in production, or a hosted API.

One request per call: the K samples come from ``n``=K, so vLLM prefills the prompt and frames once.
The wire format (bodies, token accounting, error messages, backoff) is pure and lives in
:mod:`sightsound_teacher.backends.openai_wire`; this module does the HTTP.

Frames (``frames`` setting):

- ``images``: each frame is sent as a JPEG data URI (frames are extracted on our side, as the
  architecture notes require: vLLM's own video sampling differs from Qwen's, and frame counts are
  capped by the teacher service before anything is sent);
- ``tags``: for a text-only model, each frame becomes the embedded EfficientNet-Lite0 tagger's labels
  (:mod:`sightsound_teacher.tagger`) and no image is sent; the prompt is ``audio-cot-v2-tags``.

Structured outputs are OPT-IN (``structured``, setting ``teacher_openai_structured``, default off): a
real teacher writes the format from the prompt. When on (``vllm`` flavor), the request carries the
open format regex of :mod:`sightsound_teacher.regex_format` (any claim line the claim language allows;
the reasoning bounded by ``max_tokens`` only).

Failures:

- 429, 408 and 5xx, and connection failures, are retried ``max_retries`` times with exponential backoff
  (a ``Retry-After`` header wins, capped at 60 s);
- a read timeout is NOT retried (the server may still be generating; a retry would double the load):
  it is a 504;
- 400, 413 and 422 mean the server refused this request (too many image tokens for its context, say):
  a 422 for our client, with the server's message; any other 4xx (a wrong model name or key) is a 502,
  since the client cannot fix it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from PIL import Image

from sightsound.clients.openai_chat import ChatFailure, OpenAIChatClient
from sightsound.contracts.teacher import ReasonRequest
from sightsound_teacher.backends.base import BackendInputError, BackendUpstreamError, Generation
from sightsound_teacher.backends.openai_wire import (
    Flavor,
    ResponseError,
    chat_body,
    image_data_uri,
    parse_chat_response,
    to_openai_messages,
)
from sightsound_teacher.prompt import PROMPT_VERSION, PROMPT_VERSION_TAGS, build_messages, build_tag_messages
from sightsound_teacher.regex_format import format_regex

log = logging.getLogger("sightsound.teacher")

FrameMode = Literal["images", "tags"]
#: Smallest ``max_new_tokens`` with structured outputs on: the envelope and one short claim line.
STRUCTURED_MIN_TOKENS = 48
#: Statuses by which a server refuses the request itself (the client can change it).
REFUSED_STATUSES = frozenset({400, 413, 422})


class OpenAIBackend:
    """See the module docstring. Thread-safe (httpx clients are); requests run concurrently."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 300.0,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        frames: FrameMode = "images",
        structured: bool = False,
        flavor: Flavor = "vllm",
        tags_per_frame: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model_id = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.frames: FrameMode = frames
        self.structured = structured
        self.flavor: Flavor = flavor
        self.tags_per_frame = tags_per_frame
        self.prompt_version = PROMPT_VERSION_TAGS if frames == "tags" else PROMPT_VERSION
        self._sleep = sleep
        self._client: OpenAIChatClient | None = None
        self._tagger: Any = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self._client is not None

    def load(self) -> None:
        """Open the HTTP client (and load the tagger in ``tags`` mode). The server is not contacted:
        it may start after us, and each request retries connection failures."""
        with self._lock:
            if self._client is not None:
                return
            if self.frames == "tags":
                from sightsound_teacher.tagger import load_tagger

                self._tagger = load_tagger()
            self._client = OpenAIChatClient(self.base_url, api_key=self.api_key, timeout_s=self.timeout_s,
                                            max_retries=self.max_retries, backoff_s=self.backoff_s, sleep=self._sleep)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def min_new_tokens(self) -> int:
        return STRUCTURED_MIN_TOKENS if self.structured and self.flavor == "vllm" else 1

    # -- request ----------------------------------------------------------------------------------

    def build_body(self, request: ReasonRequest, frames: Sequence[Image.Image]) -> dict[str, Any]:
        """The chat-completions body for ``request.k`` samples over ``frames``."""
        if self.frames == "tags":
            tags = self._tagger.tag(frames, self.tags_per_frame)
            messages = build_tag_messages(request.question, request.choices, tags)
            uris: list[str] = []
        else:
            messages = build_messages(request.question, request.choices, len(frames))
            uris = [image_data_uri(frame) for frame in frames]
        constrained = self.structured and self.flavor == "vllm"
        return chat_body(
            self.model_id,
            to_openai_messages(messages, uris),
            request.sampling,
            request.k,
            flavor=self.flavor,
            regex=format_regex() if constrained else None,
        )

    def generate(self, request: ReasonRequest, frames: Sequence[Image.Image]) -> list[Generation]:
        if request.sampling.max_new_tokens < self.min_new_tokens():
            raise BackendInputError(
                f"sampling.max_new_tokens={request.sampling.max_new_tokens} is too small for structured output; "
                f"use at least {self.min_new_tokens()}"
            )
        body = self.build_body(request, frames)
        start = time.perf_counter()
        payload = self._post(body)
        latency_ms = (time.perf_counter() - start) * 1000.0
        try:
            return parse_chat_response(payload, request.k, latency_ms)
        except ResponseError as exc:
            raise BackendUpstreamError(
                f"the model server's answer is unusable: {exc}", kind="upstream-bad-response"
            ) from exc

    # -- HTTP with retries ------------------------------------------------------------------------

    def _post(self, body: dict[str, Any]) -> Any:
        client = self._client
        if client is None:
            raise RuntimeError("the openai backend is not loaded yet")
        try:
            return client.post_chat(body)
        except ChatFailure as failure:
            if failure.kind == "timeout":
                raise BackendUpstreamError(str(failure), status=504, kind="upstream-timeout") from failure
            if failure.kind == "bad-response":
                raise BackendUpstreamError(str(failure), kind="upstream-bad-response") from failure
            if failure.kind == "refused":
                raise self._refusal(failure.status or 502, str(failure)) from failure
            raise BackendUpstreamError(str(failure), status=502, kind="upstream-unavailable",
                                       upstream_status=failure.status) from failure

    def _refusal(self, status: int, detail: str) -> BackendUpstreamError:
        if status in REFUSED_STATUSES:
            return BackendUpstreamError(
                f"the model server refused the request (HTTP {status}): {detail}",
                status=422,
                kind="upstream-rejected-request",
                upstream_status=status,
            )
        return BackendUpstreamError(
            f"the model server answered HTTP {status}: {detail}",
            status=502,
            kind="upstream-error",
            upstream_status=status,
        )
