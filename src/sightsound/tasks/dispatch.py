"""Sending jobs to their stage queue from any process (the API, the reaper, the CLI)."""

from __future__ import annotations

import logging
import uuid

from celery import Celery

from sightsound.config import Settings
from sightsound.tasks.app import make_celery
from sightsound.tasks.registry import EVALUATE, TRAIN, stage_task

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, settings: Settings, app: Celery | None = None) -> None:
        self.app = app or make_celery(settings)

    def enqueue(self, stage: str, job_id: uuid.UUID | str) -> None:
        task = stage_task(stage)
        self.app.send_task(task.name, args=[str(job_id)], queue=task.queue)

    def send_training_run(self, run_id: uuid.UUID | str) -> None:
        """Send a training run to the ``train`` queue (the trainer worker implements the task)."""
        self.app.send_task(TRAIN.name, args=[str(run_id)], queue=TRAIN.queue)

    def send_evaluation(self, evaluation_id: uuid.UUID | str) -> None:
        """Send an evaluation to the ``evaluate`` queue (the trainer worker implements the task)."""
        self.app.send_task(EVALUATE.name, args=[str(evaluation_id)], queue=EVALUATE.queue)

    def try_enqueue(self, stage: str, job_id: uuid.UUID | str) -> bool:
        """Enqueue, but never fail the caller: PostgreSQL has the job and the reaper re-sends it."""
        try:
            self.enqueue(stage, job_id)
        except Exception:
            log.exception("could not enqueue %s of job %s; the reaper will re-send it", stage, job_id)
            return False
        return True
