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


class BackendInputError(ValueError):
    """The request cannot be served by this backend as asked (the client can fix it: a 422)."""


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
