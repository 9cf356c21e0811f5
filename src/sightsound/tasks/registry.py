"""Every Celery task of the platform by name, with its queue: the one registry that the Celery app's
routes, the senders (API, reaper, CLI) and the workers that implement the tasks all read.

Senders use the name only (``send_task``), so the API never imports the worker or the trainer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskRoute:
    name: str
    queue: str


INGEST = TaskRoute("sightsound.ingest_job", "ingest")
REASON = TaskRoute("sightsound.reason_job", "reason")
VERIFY = TaskRoute("sightsound.verify_job", "verify")
REAP_JOBS = TaskRoute("sightsound.reap_stuck_jobs", "ingest")
#: Re-sends orphaned training runs and evaluations (the pipeline worker runs it: the trainer may be busy for hours).
REAP_RUNS = TaskRoute("sightsound.reap_orphaned_runs", "ingest")
#: Deletes stored files no row points to (sightsound.collect).
COLLECT = TaskRoute("sightsound.collect_orphans", "ingest")
TRAIN = TaskRoute("sightsound.train_run", "train")
EVALUATE = TaskRoute("sightsound.evaluate", "evaluate")

#: The pipeline stage -> its task (the stage's name is also its queue's).
STAGE_TASKS: dict[str, TaskRoute] = {"ingest": INGEST, "reason": REASON, "verify": VERIFY}
ALL_TASKS: tuple[TaskRoute, ...] = (INGEST, REASON, VERIFY, REAP_JOBS, REAP_RUNS, COLLECT, TRAIN, EVALUATE)
#: Every queue, in pipeline order.
QUEUES: tuple[str, ...] = tuple(dict.fromkeys(task.queue for task in ALL_TASKS))


def stage_task(stage: str) -> TaskRoute:
    """The task of a pipeline stage.

    >>> stage_task("reason")
    TaskRoute(name='sightsound.reason_job', queue='reason')
    """
    return STAGE_TASKS[stage]
