"""The interface every teacher backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from PIL import Image

from sightsound.contracts.teacher import ReasonRequest


@dataclass(frozen=True)
class Generation:
    """One raw sample, before parsing: what the model wrote and what it cost."""

    text: str
    latency_ms: float  # wall time of the call that produced it (K samples share one call)
    prompt_tokens: int
    completion_tokens: int
    #: True when the backend could not count this sample's tokens and estimated them.
    completion_tokens_estimated: bool = False


class BackendInputError(ValueError):
    """The request cannot be served by this backend as asked (the client can fix it: a 422)."""


class BackendUpstreamError(RuntimeError):
    """The model server failed, timed out or refused the request; ``status`` is what our API answers.

    ``502`` (the server failed or refused for a reason of its own), ``504`` (it timed out) or ``422``
    (it refused the request as too large or invalid, which the client can fix: fewer frames or tokens).
    ``upstream_status`` is the server's HTTP status, when there was one.
    """

    def __init__(
        self, detail: str, *, status: int = 502, kind: str = "upstream-error", upstream_status: int | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.kind = kind
        self.upstream_status = upstream_status


@runtime_checkable
class TeacherBackend(Protocol):
    """Writes K chains of thought for one question over silent frames.

    ``generate`` is blocking and may be slow: callers run it off the event loop. Implementations
    serialise their own calls when the model cannot run two at once.
    """

    #: Backend name as stored with every sample (``transformers``, ``openai``, ...).
    name: str
    #: The model as the backend names it (a hub id, a folder, ``tiny-random``).
    model_id: str

    @property
    def ready(self) -> bool:
        """Whether the model is loaded and requests can be served."""
        ...

    def load(self) -> None:
        """Load the model (idempotent; blocking)."""
        ...

    def min_new_tokens(self) -> int:
        """Smallest ``max_new_tokens`` a request may ask for (structured output needs room)."""
        ...

    def generate(self, request: ReasonRequest, frames: Sequence[Image.Image]) -> list[Generation]:
        """``request.k`` samples, in order. Raises :class:`BackendInputError` for unservable input."""
        ...
