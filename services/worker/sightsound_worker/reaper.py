"""Find jobs whose message was lost (Redis flushed, worker killed) and put them back on their queue.

PostgreSQL says where each job stands; a non-terminal job that has not moved for ``older_than_s`` is
re-enqueued to the stage of its state. Stages are idempotent and locked per job, so re-enqueueing a
job that is in fact still running costs one skipped message, nothing more.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from sightsound.config import Settings
from sightsound.db.models import TERMINAL_STATES, Job, JobState
from sightsound.db.session import session_scope
from sightsound_worker.records import now, set_state
from sightsound_worker.states import stage_for


@dataclass
class ReapReport:
    requeued: list[tuple[str, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"requeued": [{"job_id": j, "stage": s} for j, s in self.requeued], "failed": self.failed}


def requeue_stuck(
    settings: Settings,
    *,
    older_than_s: float,
    send: Callable[[str, uuid.UUID], None],
    limit: int = 500,
) -> ReapReport:
    report = ReapReport()
    cutoff = now() - timedelta(seconds=older_than_s)
    with session_scope(settings.database_url) as session:
        stuck = session.scalars(
            select(Job)
            .where(Job.state.not_in(TERMINAL_STATES))
            .where(Job.updated_at < cutoff)
            .order_by(Job.updated_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        to_send: list[tuple[uuid.UUID, str]] = []
        for job in stuck:
            if job.attempts >= settings.max_attempts:
                set_state(session, job.id, JobState.failed,
                          error=f"gave up after {job.attempts} attempts (last state {job.state.value})")
                report.failed.append(str(job.id))
                continue
            stage = stage_for(job.state)
            assert stage is not None
            # the stage counts the delivery when it claims the job; the reaper only re-sends
            session.execute(update(Job).where(Job.id == job.id).values(updated_at=now()))
            to_send.append((job.id, stage))
    # Send after the commit, so a worker never sees a message before the row it points to.
    for job_id, stage in to_send:
        send(stage, job_id)
        report.requeued.append((str(job_id), stage))
    return report
