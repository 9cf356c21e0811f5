"""Celery tasks: thin wrappers around the stages that add retries and chain the next stage.

Transient errors of the teacher or verifier (connection errors, timeouts, 429, 5xx) are retried with
exponential backoff; a 4xx or an exhausted retry budget fails the job with the reason. Any other
error fails the job too: the worker never loses a job silently.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import Task
from celery.exceptions import Retry

from sightsound.clients.base import ServiceRejectedError, TransientServiceError
from sightsound.clients.slots import NoSlotError
from sightsound.config import get_settings
from sightsound.media.errors import MediaError
from sightsound.tasks.app import celery_app
from sightsound.tasks.recovery import resend_orphans
from sightsound.tasks.registry import COLLECT, INGEST, REAP_JOBS, REAP_RUNS, REASON, VERIFY, TaskRoute, stage_task
from sightsound.web import unavailable_backend
from sightsound_worker import reaper, stages
from sightsound_worker.pipeline import STAGES

log = logging.getLogger(__name__)

#: A stage interrupted by a PostgreSQL or Redis outage is sent again after this long.
OUTAGE_RETRY_S = 5.0
#: A task that found no free model-server slot within SIGHTSOUND_MODEL_SLOT_WAIT_S is sent again after this long.
SLOT_RETRY_S = 5.0


def enqueue(stage: str, job_id: uuid.UUID | str) -> None:
    """Send a job to the queue of ``stage`` (ingest, reason or verify)."""
    task = stage_task(stage)
    celery_app.send_task(task.name, args=[str(job_id)], queue=task.queue)


def _run_stage(task: Task, stage: str, job_id_str: str) -> str:
    settings = get_settings()
    job_id = uuid.UUID(job_id_str)
    try:
        result = STAGES[stage].run(settings, job_id)
    except stages.DeliveryCapReached as capped:
        log.error("fail %s: %s", stage, capped)
        return "failed"
    except stages.StageSkipped as skipped:
        log.info("skip %s: %s", stage, skipped)
        return "skipped"
    except NoSlotError as busy:
        # The model server is saturated (its in-flight limit): try later, without counting it as a failure (the
        # job was not claimed, so its delivery count did not move either).
        log.info("%s of job %s: %s; again in %.0f s", stage, job_id, busy, SLOT_RETRY_S)
        raise task.retry(exc=busy, countdown=SLOT_RETRY_S, max_retries=None) from busy
    except TransientServiceError as exc:
        attempt = task.request.retries
        if attempt >= settings.task_max_retries:
            stages.fail_job(settings, job_id, f"{stage}: gave up after {attempt + 1} tries: {exc}")
            return "failed"
        countdown = settings.task_retry_backoff_s * (2**attempt)
        log.warning("%s of job %s: transient error, retry in %.1fs: %s", stage, job_id, countdown, exc)
        raise task.retry(exc=exc, countdown=countdown, max_retries=settings.task_max_retries) from exc
    except ServiceRejectedError as exc:
        stages.fail_job(settings, job_id, f"{stage}: {exc.service} refused the request ({exc.status}): "
                        f"{exc.message}")
        return "failed"
    except MediaError as exc:
        stages.fail_job(settings, job_id, f"{stage}: {exc}")
        return "failed"
    except Exception as exc:
        backend = unavailable_backend(exc)
        if backend is not None:  # PostgreSQL or Redis restarting is not the job's fault: never fail it for that
            return _after_outage(task, stage, job_id, backend, exc)
        log.exception("%s of job %s failed", stage, job_id)
        stages.fail_job(settings, job_id, f"{stage}: unexpected error: {type(exc).__name__}: {exc}")
        return "failed"
    if result.next_stage is not None:
        enqueue(result.next_stage, job_id)
    return result.state.value


def _after_outage(task: Task, stage: str, job_id: uuid.UUID, backend: str, exc: Exception) -> str:
    """Send the stage again after :data:`OUTAGE_RETRY_S`; when the broker cannot take it either, leave the job as
    PostgreSQL has it: the reaper re-sends it (stages are idempotent, and the delivery cap bounds the rounds)."""
    log.warning("%s of job %s: %s does not answer (%s: %s); again in %.0f s", stage, job_id, backend,
                type(exc).__name__, exc, OUTAGE_RETRY_S)
    try:
        task.retry(exc=exc, countdown=OUTAGE_RETRY_S, max_retries=None)
    except Retry:
        raise
    except Exception as publish:
        log.warning("%s of job %s not sent again (%s: %s): the reaper will", stage, job_id,
                    type(publish).__name__, publish)
    return "deferred"


@celery_app.task(name=INGEST.name, bind=True)
def ingest_job(self: Task, job_id: str) -> str:
    return _run_stage(self, "ingest", job_id)


@celery_app.task(name=REASON.name, bind=True)
def reason_job(self: Task, job_id: str) -> str:
    return _run_stage(self, "reason", job_id)


@celery_app.task(name=VERIFY.name, bind=True)
def verify_job(self: Task, job_id: str) -> str:
    return _run_stage(self, "verify", job_id)


@celery_app.task(name=REAP_JOBS.name)
def reap_stuck_jobs() -> dict[str, Any]:
    settings = get_settings()
    report = reaper.requeue_stuck(settings, older_than_s=settings.stuck_after_s, send=enqueue)
    return report.as_dict()


def _send(task: TaskRoute, task_id: uuid.UUID) -> None:
    celery_app.send_task(task.name, args=[str(task_id)], queue=task.queue)


@celery_app.task(name=REAP_RUNS.name)
def reap_orphaned_runs() -> dict[str, list[str]]:
    """Beat's reaper for training runs and evaluations (the trainer workers re-send them only when they start)."""
    return resend_orphans(get_settings(), _send)


@celery_app.task(name=COLLECT.name)
def collect_orphaned_files() -> dict[str, int]:
    """Beat's collector of stored files no row points to (originals, student audio, dataset exports)."""
    from sightsound.collect import collect_orphans

    return collect_orphans(get_settings())
