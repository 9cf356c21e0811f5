"""Finding and re-sending orphaned training runs and evaluations (the durable-task library's recovery).

PostgreSQL says which runs and evaluations are queued or running; the advisory locks
(:mod:`sightsound.tasks.locks`) say which of them a worker holds. A running one that no worker holds lost its
worker; a queued one that no worker holds and has waited longer than ``stuck_after_s`` may have lost its message
(Redis flushed). Both are sent again: by a trainer worker when it starts, and by the periodic reaper (beat), so a
trainer worker that never restarts does not leave them behind. A duplicate message is harmless: it finds the
row taken or finished, and each delivery that does run counts against ``max_attempts``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_, select

from sightsound.config import Settings
from sightsound.db.models import Evaluation, RunState, TrainingRun
from sightsound.db.session import session_scope
from sightsound.tasks.locks import LockSpace, unlocked
from sightsound.tasks.registry import EVALUATE, TRAIN, TaskRoute

log = logging.getLogger(__name__)


def _cutoff(settings: Settings, older_than_s: float | None) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=settings.stuck_after_s if older_than_s is None else older_than_s)


def orphaned_training_runs(settings: Settings, older_than_s: float | None = None) -> list[uuid.UUID]:
    """Running runs no worker holds, and queued ones no worker holds that have not moved for ``older_than_s``
    (default ``stuck_after_s``; 0 takes every queued one, as a trainer worker does when it starts)."""
    cutoff = _cutoff(settings, older_than_s)
    with session_scope(settings.database_url) as session:
        ids = list(session.scalars(
            select(TrainingRun.id)
            .where(or_(TrainingRun.state == RunState.running,
                       and_(TrainingRun.state == RunState.queued, TrainingRun.updated_at < cutoff)))
            .order_by(TrainingRun.created_at)
        ))
    return unlocked(settings.database_url, LockSpace.training_run, ids)


def orphaned_evaluations(settings: Settings, older_than_s: float | None = None) -> list[uuid.UUID]:
    """As :func:`orphaned_training_runs`, for evaluations (a queued one's age counts from its creation)."""
    cutoff = _cutoff(settings, older_than_s)
    with session_scope(settings.database_url) as session:
        ids = list(session.scalars(
            select(Evaluation.id)
            .where(or_(Evaluation.state == RunState.running,
                       and_(Evaluation.state == RunState.queued, Evaluation.created_at < cutoff)))
            .order_by(Evaluation.created_at)
        ))
    return unlocked(settings.database_url, LockSpace.evaluation, ids)


def resend_orphans(settings: Settings, send: Callable[[TaskRoute, uuid.UUID], None],
                   older_than_s: float | None = None) -> dict[str, list[str]]:
    """Send every orphaned run and evaluation to its queue again; what was sent, by kind."""
    report: dict[str, list[str]] = {"training_runs": [], "evaluations": []}
    for kind, route, found in (("training_runs", TRAIN, orphaned_training_runs(settings, older_than_s)),
                               ("evaluations", EVALUATE, orphaned_evaluations(settings, older_than_s))):
        for task_id in found:
            send(route, task_id)
            report[kind].append(str(task_id))
    if report["training_runs"] or report["evaluations"]:
        log.warning("re-sent orphaned training runs %s and evaluations %s", report["training_runs"],
                    report["evaluations"])
    return report
