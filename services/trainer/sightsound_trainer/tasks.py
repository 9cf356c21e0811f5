"""The Celery task ``sightsound.train_run`` (queue ``train``) and the worker-start re-send of orphaned runs.

The API only sends the task by name; this package implements it. A run that fails is recorded as failed
with its reason by :func:`~sightsound_trainer.runner.execute_run`, so the task itself never raises.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery.signals import worker_ready

from sightsound.config import get_settings
from sightsound.contracts.training import TRAIN_QUEUE, TRAIN_TASK
from sightsound.tasks.app import celery_app

log = logging.getLogger(__name__)


@celery_app.task(name=TRAIN_TASK)  # type: ignore[untyped-decorator]
def train_run(run_id: str) -> str:
    """Train one run to its end (or its cancel); a redelivered message for a busy or finished run is a no-op."""
    from sightsound_trainer.runner import execute_run  # torch and friends load in the worker child only

    state = execute_run(get_settings(), uuid.UUID(run_id))
    return state.value if state is not None else "skipped"


def resend_orphaned_runs() -> list[str]:
    """Send again every queued or running run that no worker holds: their worker died or the broker lost
    the message. A duplicate of a message still in the queue is harmless (it finds the run taken or done)."""
    from sightsound_trainer.run_records import orphaned_runs

    sent = []
    for run_id in orphaned_runs(get_settings()):
        celery_app.send_task(TRAIN_TASK, args=[str(run_id)], queue=TRAIN_QUEUE)
        sent.append(str(run_id))
    if sent:
        log.warning("re-sent %d orphaned training run(s): %s", len(sent), ", ".join(sent))
    return sent


@worker_ready.connect  # type: ignore[untyped-decorator]
def _on_worker_ready(**_: Any) -> None:
    """Only trainer workers import this module, so only they re-send runs when they start."""
    try:
        resend_orphaned_runs()
    except Exception:
        log.exception("could not re-send orphaned training runs")
