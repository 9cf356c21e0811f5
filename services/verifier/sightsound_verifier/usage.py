"""What one verify request costs: its wall time, and its audio-LLM calls' seconds and tokens.

The request's meter lives in a context variable set by the route for the thread that serves it; checkers add to
whatever meter is current (none outside a request: nothing is counted).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sightsound.contracts.verifier import VerifierUsage


@dataclass
class UsageMeter:
    checker_seconds: float = 0.0
    checker_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def usage(self, seconds: float) -> VerifierUsage:
        return VerifierUsage(seconds=round(seconds, 6), checker_seconds=round(self.checker_seconds, 6),
                             checker_calls=self.checker_calls, prompt_tokens=self.prompt_tokens,
                             completion_tokens=self.completion_tokens)


_current: ContextVar[UsageMeter | None] = ContextVar("sightsound_verifier_usage", default=None)


@contextlib.contextmanager
def metered() -> Iterator[UsageMeter]:
    """A fresh meter for the duration (one verify request)."""
    meter = UsageMeter()
    token = _current.set(meter)
    try:
        yield meter
    finally:
        _current.reset(token)


@contextlib.contextmanager
def checker_call() -> Iterator[None]:
    """Count one model checker call and its seconds (failed calls too: the model was busy)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        meter = _current.get()
        if meter is not None:
            meter.checker_seconds += time.perf_counter() - start
            meter.checker_calls += 1


def add_tokens(body: Any) -> None:
    """Add a chat-completions response's ``usage`` (prompt and completion tokens) to the current meter."""
    meter = _current.get()
    usage = body.get("usage") if isinstance(body, dict) else None
    if meter is None or not isinstance(usage, dict):
        return
    meter.prompt_tokens += int(usage.get("prompt_tokens") or 0)
    meter.completion_tokens += int(usage.get("completion_tokens") or 0)
