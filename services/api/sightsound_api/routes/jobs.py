"""``/v1/jobs``: where a clip's pipeline run stands."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from sightsound.db.models import Job
from sightsound.web import ProblemError, problem_openapi_responses
from sightsound_api.deps import SessionDep, scope
from sightsound_api.schemas import JobOut
from sightsound_api.views import job_out

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("/{job_id}", response_model=JobOut, summary="A job's state",
            dependencies=[scope("read")], responses=problem_openapi_responses(404, 422))
def get_job(job_id: uuid.UUID, session: SessionDep) -> JobOut:
    job = session.get(Job, job_id)
    if job is None:
        raise ProblemError(404, f"no job with id {job_id}", kind="job-not-found")
    return job_out(job)
