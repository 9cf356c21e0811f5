"""Small helpers for running the loops under DDP (``accelerate launch`` / ``torchrun``) or alone."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from accelerate import Accelerator
from torch import nn


@contextlib.contextmanager
def micro_batch_sync(accelerator: Accelerator, model: nn.Module, last: bool) -> Iterator[None]:
    """Gradient accumulation: skip DDP's all-reduce on every micro-batch but the last of a step."""
    if last or accelerator.num_processes == 1:
        yield
    else:
        with accelerator.no_sync(model):
            yield
