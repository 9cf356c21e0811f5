"""The Celery application: Redis transport, one queue per pipeline stage.

Redis is transport only. A job's state lives in PostgreSQL, so a message lost with Redis is found
again by the reaper (``sightsound jobs requeue-stuck`` or the periodic ``reap_stuck_jobs`` task).
"""

from __future__ import annotations

from celery import Celery
from celery.app.amqp import AMQP
from kombu.connection import Connection
from kombu.entity import Queue

from sightsound.config import Settings, get_settings
from sightsound.tasks.registry import ALL_TASKS, COLLECT, EVALUATE, QUEUES, REAP_JOBS, REAP_RUNS, TRAIN

STAGE_QUEUES = QUEUES

TASK_ROUTES = {task.name: {"queue": task.queue} for task in ALL_TASKS}


def task_time_limits(settings: Settings) -> dict[str, dict[str, float]]:
    """Soft and hard time limits of every task, by its queue: a training run gets ``trainer_run_timeout_s``, an
    evaluation ``evaluation_timeout_s``, everything else ``stage_time_limit_s``. At the soft limit the task gets
    ``SoftTimeLimitExceeded`` and records the failure with its reason; ``time_limit_grace_s`` later the child is
    killed (and the message's next delivery counts against ``max_attempts``)."""
    soft_by_queue = {TRAIN.queue: settings.trainer_run_timeout_s, EVALUATE.queue: settings.evaluation_timeout_s}
    limits = {}
    for task in ALL_TASKS:
        soft = soft_by_queue.get(task.queue, settings.stage_time_limit_s)
        limits[task.name] = {"soft_time_limit": soft, "time_limit": soft + settings.time_limit_grace_s}
    return limits


class BrokerConnection(Connection):
    """kombu's connection, safe to close after :meth:`collect` (what celery 5.7.0's consumer does when it loses the
    broker: ``collect()``, then ``close()``).

    ``collect`` detaches the transport (``transport.client = None``) but keeps the default channel, whose close
    then restores the channel's unacknowledged deliveries through that detached transport: kombu's redis
    ``_connparams`` raises ``AttributeError: 'NoneType' object has no attribute 'hostname'``, ``ignore_errors``
    lets it through and the worker dies ("Unrecoverable error") whenever Redis restarts while a task runs with
    ``acks_late`` (issue 12's soak). Here ``collect`` drops the default channel with the transport, as celery
    5.6 left it: the deliveries stay in Redis's unacked set and come back after the visibility timeout (or the
    task acknowledges them when it ends), and the reaper re-sends any job that is still stuck."""

    def collect(self, socket_timeout: float | None = None) -> None:
        super().collect(socket_timeout)  # type: ignore[no-untyped-call]
        self._default_channel = None


class BrokerAMQP(AMQP):  # type: ignore[misc]
    Connection = BrokerConnection


def make_celery(settings: Settings) -> Celery:
    app = Celery("sightsound", broker=settings.redis_url, include=["sightsound_worker.tasks"], amqp=BrokerAMQP)
    app.conf.update(
        task_queues=[Queue(name) for name in STAGE_QUEUES],  # type: ignore[no-untyped-call]
        task_default_queue="ingest",
        task_routes=TASK_ROUTES,
        task_serializer="json",
        accept_content=["json"],
        # A task is acknowledged only when it finished, and a worker that dies mid-task gives it back:
        # every stage is idempotent, so running one twice is safe, losing one is not.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Model stages are long and memory-heavy: a worker takes one message at a time.
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": settings.broker_visibility_timeout_s},
        worker_hijack_root_logger=False,
        task_annotations=task_time_limits(settings),
        beat_schedule={
            "reap-stuck-jobs": {
                "task": REAP_JOBS.name,
                "schedule": max(30.0, settings.stuck_after_s / 4),
            },
            "reap-orphaned-runs": {
                "task": REAP_RUNS.name,
                "schedule": max(30.0, settings.stuck_after_s / 4),
            },
            "collect-orphaned-files": {
                "task": COLLECT.name,
                "schedule": max(300.0, settings.orphan_grace_s / 4),
            },
        },
    )
    return app


celery_app = make_celery(get_settings())
