"""The Celery task ``sightsound.evaluate`` (queue ``evaluate``) and the worker-start re-send of orphaned
evaluations. The API only sends the task by name; the trainer worker implements it. A failing evaluation
is recorded as failed with its reason by the runner, so the task itself never raises.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery.signals import worker_ready

from sightsound.config import get_settings
from sightsound.contracts.evaluation import EVALUATE_QUEUE, EVALUATE_TASK
from sightsound.tasks.app import celery_app

log = logging.getLogger(__name__)


@celery_app.task(name=EVALUATE_TASK)  # type: ignore[untyped-decorator]
def evaluate(evaluation_id: str) -> str:
    """Run one evaluation to its end; a redelivered message for a busy or finished one is a no-op."""
    from sightsound_trainer.evaluation.runner import execute_evaluation  # torch loads in the worker child only

    state = execute_evaluation(get_settings(), uuid.UUID(evaluation_id))
    return state.value if state is not None else "skipped"


def resend_orphaned_evaluations() -> list[str]:
    """Send again every queued or running evaluation that no worker holds (its worker died, or the broker
    lost the message). A duplicate of a message still queued is harmless: it finds the evaluation taken or done."""
    from sightsound_trainer.evaluation.records import orphaned_evaluations

    sent = []
    for evaluation_id in orphaned_evaluations(get_settings()):
        celery_app.send_task(EVALUATE_TASK, args=[str(evaluation_id)], queue=EVALUATE_QUEUE)
        sent.append(str(evaluation_id))
    if sent:
        log.warning("re-sent %d orphaned evaluation(s): %s", len(sent), ", ".join(sent))
    return sent


@worker_ready.connect  # type: ignore[untyped-decorator]
def _on_worker_ready(**_: Any) -> None:
    """Only trainer workers import this module, so only they re-send evaluations when they start."""
    try:
        resend_orphaned_evaluations()
    except Exception:
        log.exception("could not re-send orphaned evaluations")
