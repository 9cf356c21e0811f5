"""The stuck-job reaper against PostgreSQL, and the service clients against a real HTTP server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import update

from sightsound.clients.base import ServiceRejectedError, TransientServiceError
from sightsound.clients.teacher import TeacherClient
from sightsound.config import Settings
from sightsound.contracts.teacher import ReasonRequest
from sightsound.db.models import Clip, Job, JobState, Question
from sightsound.db.session import session_scope
from sightsound_ops.stack import free_port
from sightsound_worker.reaper import requeue_stuck
from sightsound_worker.records import now
from tests.serving import served


def make_job(settings: Settings, state: JobState, *, age_s: float, attempts: int = 0) -> uuid.UUID:
    with session_scope(settings.database_url) as s:
        clip = Clip(content_hash=uuid.uuid4().hex * 2, media_url="file:///x", size_bytes=1, duration_s=1.0,
                    width=2, height=2, has_audio=True)
        s.add(clip)
        s.flush()
        question = Question(clip_id=clip.id, fingerprint=uuid.uuid4().hex, text="q", choices=["a", "b", "c", "d"])
        s.add(question)
        s.flush()
        job = Job(question_id=question.id, state=state, attempts=attempts)
        s.add(job)
        s.flush()
        s.execute(update(Job).where(Job.id == job.id).values(updated_at=now() - timedelta(seconds=age_s)))
        return job.id


def test_reaper_requeues_stuck_jobs_to_the_stage_of_their_state(settings: Settings) -> None:
    stuck = {state: make_job(settings, state, age_s=600) for state in
             (JobState.queued, JobState.ingesting, JobState.reasoning, JobState.verifying)}
    fresh = make_job(settings, JobState.reasoning, age_s=0)
    done = make_job(settings, JobState.accepted, age_s=600)
    worn_out = make_job(settings, JobState.verifying, age_s=600, attempts=settings.max_attempts)
    sent: list[tuple[str, uuid.UUID]] = []
    report = requeue_stuck(settings, older_than_s=300, send=lambda stage, job_id: sent.append((stage, job_id)))
    sent_ids = {job_id: stage for stage, job_id in sent}
    assert sent_ids[stuck[JobState.queued]] == "ingest"
    assert sent_ids[stuck[JobState.ingesting]] == "ingest"
    assert sent_ids[stuck[JobState.reasoning]] == "reason"
    assert sent_ids[stuck[JobState.verifying]] == "verify"
    assert fresh not in sent_ids and done not in sent_ids and worn_out not in sent_ids
    assert str(worn_out) in report.failed
    with session_scope(settings.database_url) as s:
        assert s.get_one(Job, stuck[JobState.reasoning]).attempts == 0  # counted by the stage on delivery
        failed = s.get_one(Job, worn_out)
        assert failed.state == JobState.failed and "gave up after" in (failed.error or "")
        assert s.get_one(Job, done).state == JobState.accepted
    # Just re-enqueued: not stuck any more, so a second pass sends nothing for them.
    again: list[tuple[str, uuid.UUID]] = []
    requeue_stuck(settings, older_than_s=300, send=lambda stage, job_id: again.append((stage, job_id)))
    assert not {job_id for _, job_id in again} & set(stuck.values())


@pytest.fixture(scope="module")
def flaky_server() -> Iterator[str]:
    """A real HTTP server answering /v1/reason with a status chosen by the test."""
    app = FastAPI()
    status = {"code": 503}

    @app.post("/v1/reason")
    def reason() -> JSONResponse:
        return JSONResponse({"detail": f"answered {status['code']}"}, status_code=status["code"])

    @app.post("/status/{code}")
    def set_status(code: int) -> dict[str, int]:
        status["code"] = code
        return status

    with served(app) as url:
        yield url


REQUEST = ReasonRequest(question="q", choices=["a", "b", "c", "d"], frame_urls=["file:///f.jpg"])


@pytest.mark.parametrize("code", [429, 500, 502, 503, 504])
def test_transient_statuses_are_retryable(flaky_server: str, code: int) -> None:
    import httpx

    httpx.post(f"{flaky_server}/status/{code}")
    with TeacherClient(flaky_server, timeout_s=5) as client, pytest.raises(TransientServiceError) as err:
        client.reason(REQUEST)
    assert err.value.status == code and f"answered {code}" in err.value.message


@pytest.mark.parametrize("code", [400, 404, 413, 422])
def test_client_errors_are_final(flaky_server: str, code: int) -> None:
    import httpx

    httpx.post(f"{flaky_server}/status/{code}")
    with TeacherClient(flaky_server, timeout_s=5) as client, pytest.raises(ServiceRejectedError) as err:
        client.reason(REQUEST)
    assert err.value.status == code


def test_connection_refused_is_transient() -> None:
    with TeacherClient(f"http://127.0.0.1:{free_port()}", timeout_s=2) as client, \
            pytest.raises(TransientServiceError):
        client.reason(REQUEST)


@pytest.fixture
def task_settings(settings: Settings, flaky_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The Celery tasks read the process settings: point them at the test database and the flaky server."""
    from sightsound import config

    for key, value in {
        "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
        "MEDIA_ROOT": str(settings.media_root), "TEACHER_URL": flaky_server,
        "TASK_MAX_RETRIES": "2", "TASK_RETRY_BACKOFF_S": "0",
    }.items():
        monkeypatch.setenv(f"SIGHTSOUND_{key}", value)
    config.get_settings.cache_clear()
    yield config.get_settings()
    config.get_settings.cache_clear()


def reasoning_job(settings: Settings) -> uuid.UUID:
    job_id = make_job(settings, JobState.reasoning, age_s=0)
    with session_scope(settings.database_url) as s:
        job = s.get_one(Job, job_id)
        s.execute(update(Clip).where(Clip.id == job.question.clip_id).values(frame_urls=["file:///f.jpg"]))
    return job_id


def test_reason_task_retries_transient_errors_then_fails_the_job(task_settings: Settings, flaky_server: str) -> None:
    import httpx

    from sightsound_worker.tasks import reason_job

    httpx.post(f"{flaky_server}/status/503")
    job_id = reasoning_job(task_settings)
    reason_job.apply(args=[str(job_id)])
    with session_scope(task_settings.database_url) as s:
        job = s.get_one(Job, job_id)
        assert job.state == JobState.failed
        assert "gave up after 3 tries" in (job.error or "") and "answered 503" in (job.error or "")
        assert job.attempts == 3  # every delivery counts: the first try and two retries


def test_reason_task_fails_at_once_on_a_refusal(task_settings: Settings, flaky_server: str) -> None:
    import httpx

    from sightsound_worker.tasks import reason_job

    httpx.post(f"{flaky_server}/status/422")
    job_id = reasoning_job(task_settings)
    reason_job.apply(args=[str(job_id)])
    with session_scope(task_settings.database_url) as s:
        job = s.get_one(Job, job_id)
        assert job.state == JobState.failed and job.attempts == 1
        assert "teacher refused the request (422)" in (job.error or "")


def test_a_stage_for_a_job_in_another_state_is_skipped(task_settings: Settings) -> None:
    from sightsound_worker.tasks import verify_job

    job_id = make_job(task_settings, JobState.accepted, age_s=0)
    assert verify_job.apply(args=[str(job_id)]).get() == "skipped"
    assert verify_job.apply(args=[str(uuid.uuid4())]).get() == "skipped"
