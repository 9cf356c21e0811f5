"""What the main job did, stage by stage (timings, runs, checkpoints, evaluations), for its report."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from sightsound_ops.api_client import Json


def say(message: str) -> None:
    print(message, flush=True)


@dataclass
class JobLog:
    """What the job did, for the summary and the report."""

    timings_s: dict[str, float] = field(default_factory=dict)
    runs: dict[str, Json] = field(default_factory=dict)  # label -> training run
    checkpoints: dict[str, str] = field(default_factory=dict)  # model label -> checkpoint id
    evaluations: dict[str, Json] = field(default_factory=dict)  # model label -> finished evaluation
    datasets: dict[str, Json] = field(default_factory=dict)
    comparison: Json | None = None  # GET /v1/evaluations/compare of the finished evaluations
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        say(f"\n==> {name}")
        began = time.monotonic()
        try:
            yield
        finally:
            self.timings_s[name] = round(time.monotonic() - began, 1)
            say(f"    ({self.timings_s[name]:.1f} s)")
