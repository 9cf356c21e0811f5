"""Cost accounting of training runs: accelerator seconds (GPU, or CPU when the run trains on the CPU).

Each attempt of a run adds its wall time times the processes (one device each) that trained, whatever its end
(succeeded, failed, cancelled, killed by its time limit): the devices were busy either way. ``/v1/stats`` and the
report show it per dataset beside the pipeline's model seconds.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Iterator

from sqlalchemy import func, update

from sightsound.config import Settings
from sightsound.db.models import TrainingRun
from sightsound.db.session import session_scope

log = logging.getLogger(__name__)


def device_kind(settings: Settings) -> str:
    """``cuda`` or ``cpu``: where this worker's runs train."""
    if settings.trainer_device != "auto":
        return settings.trainer_device
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover - the trainer always has torch
        return "cpu"


def record_accelerator_time(settings: Settings, run_id: uuid.UUID, seconds: float) -> None:
    devices = max(1, settings.trainer_processes)
    with session_scope(settings.database_url) as session:
        session.execute(
            update(TrainingRun)
            .where(TrainingRun.id == run_id)
            .values(
                accelerator_seconds=func.coalesce(TrainingRun.accelerator_seconds, 0.0) + seconds * devices,
                accelerator=device_kind(settings),
            )
        )


@contextlib.contextmanager
def accelerator_clock(settings: Settings, run_id: uuid.UUID) -> Iterator[None]:
    """Add the wall time of the block, times the run's processes, to the run's accelerator seconds."""
    start = time.perf_counter()
    try:
        yield
    finally:
        try:
            record_accelerator_time(settings, run_id, time.perf_counter() - start)
        except Exception:  # accounting never fails a run
            log.exception("could not record the accelerator time of training run %s", run_id)
