"""ORM → response model conversions shared by several routes."""

from __future__ import annotations

from sightsound.db.models import Job
from sightsound_api.schemas import JobOut


def job_out(job: Job, *, deduplicated: bool = False) -> JobOut:
    return JobOut(
        id=job.id,
        state=job.state,
        error=job.error,
        attempts=job.attempts,
        question_id=job.question_id,
        clip_id=job.question.clip_id,
        consensus_answer_index=job.consensus_answer_index,
        agreement=job.agreement,
        traces_used=job.traces_used,
        created_at=job.created_at,
        updated_at=job.updated_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        deduplicated=deduplicated,
    )
