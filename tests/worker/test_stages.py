"""The pipeline stages called directly (no Celery): their declaration, the ingest stage on a real clip,
idempotency (a second run is a skip and writes nothing), the job lock, and the lock's release."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sightsound.config import Settings
from sightsound.db.models import Clip, Job, JobState, Question
from sightsound.db.session import session_scope
from sightsound.tasks.locks import LockSpace, TaskBusy, lock_is_free, task_lock
from sightsound_worker import stages
from sightsound_worker.pipeline import PIPELINE, STAGES
from sightsound_worker.states import STAGE_FOR_STATE


def test_the_pipeline_is_declared_once_in_order() -> None:
    assert [s.name for s in PIPELINE] == ["ingest", "reason", "verify"]
    assert [s.next for s in PIPELINE] == ["reason", "verify", None]
    # every non-terminal state belongs to exactly one stage, the one the reaper sends it to
    for state, stage in STAGE_FOR_STATE.items():
        owners = [s.name for s in PIPELINE if state in s.from_states]
        assert owners == [stage], (state, owners)
    assert all(not (a.from_states & b.from_states) for a in PIPELINE for b in PIPELINE if a is not b)


def _job_for(settings: Settings, clip_path: Path) -> uuid.UUID:
    with session_scope(settings.database_url) as s:
        clip = Clip(content_hash=uuid.uuid4().hex * 2, media_url=clip_path.resolve().as_uri(),
                    size_bytes=clip_path.stat().st_size, duration_s=3.0, width=64, height=48, has_audio=True)
        s.add(clip)
        s.flush()
        question = Question(clip_id=clip.id, fingerprint=uuid.uuid4().hex, text="What is heard?",
                            choices=["speech", "a dog", "music", "silence"])
        s.add(question)
        s.flush()
        job = Job(question_id=question.id, state=JobState.queued)
        s.add(job)
        s.flush()
        return job.id


def test_ingest_runs_once_and_a_second_run_is_a_skip(settings: Settings, speech_clip: Path) -> None:
    job_id = _job_for(settings, speech_clip)
    result = STAGES["ingest"].run(settings, job_id)
    assert result.state == JobState.reasoning and result.next_stage == "reason"
    with session_scope(settings.database_url) as s:
        clip = s.get_one(Job, job_id).question.clip
        assert clip.frame_urls and len(clip.frame_urls) == settings.frames_per_clip
        assert clip.audio_url is not None
        frames_before = list(clip.frame_urls)
    with pytest.raises(stages.StageSkipped, match="already ran"):
        stages.run_ingest(settings, job_id)
    with session_scope(settings.database_url) as s:
        assert s.get_one(Job, job_id).state == JobState.reasoning
        assert s.get_one(Job, job_id).question.clip.frame_urls == frames_before


def test_a_stage_skips_a_job_another_worker_holds(settings: Settings, speech_clip: Path) -> None:
    job_id = _job_for(settings, speech_clip)
    with task_lock(settings.database_url, LockSpace.job, job_id):
        assert not lock_is_free(settings.database_url, LockSpace.job, job_id)
        with pytest.raises(stages.StageSkipped, match="another worker"):
            stages.run_ingest(settings, job_id)
        with pytest.raises(TaskBusy), task_lock(settings.database_url, LockSpace.job, job_id):
            pass
    assert lock_is_free(settings.database_url, LockSpace.job, job_id)
    with session_scope(settings.database_url) as s:
        assert s.get_one(Job, job_id).state == JobState.queued  # untouched while held


def test_unknown_job_is_a_skip(settings: Settings) -> None:
    with pytest.raises(stages.StageSkipped, match="does not exist"):
        stages.run_ingest(settings, uuid.uuid4())


def test_a_lock_whose_connection_died_is_released_without_raising(settings: Settings, speech_clip: Path) -> None:
    """PostgreSQL gone after the work committed: the release must not turn finished work into a failure."""
    job_id = _job_for(settings, speech_clip)
    with task_lock(settings.database_url, LockSpace.job, job_id) as conn:
        backend = conn.execute(select(func.pg_backend_pid())).scalar_one()
        with session_scope(settings.database_url) as s:  # another session ends the lock holder's connection
            s.execute(select(func.pg_terminate_backend(backend)))
    assert lock_is_free(settings.database_url, LockSpace.job, job_id)


def test_every_delivery_counts_and_past_the_cap_the_job_fails_instead_of_running(settings: Settings,
                                                                                  speech_clip: Path) -> None:
    """A message that kills its worker comes back forever under acks_late; the stage must stop it."""
    job_id = _job_for(settings, speech_clip)
    with session_scope(settings.database_url) as s:
        s.get_one(Job, job_id).attempts = settings.max_attempts  # delivered that often already, never finished
    with pytest.raises(stages.DeliveryCapReached):
        STAGES["ingest"].run(settings, job_id)
    with session_scope(settings.database_url) as s:
        job = s.get_one(Job, job_id)
        assert job.state == JobState.failed and job.attempts == settings.max_attempts + 1
        assert "delivered 6 times without finishing" in (job.error or "")
        assert job.question.clip.frame_urls is None  # nothing ran


def test_attempts_count_the_current_stage_only(settings: Settings, speech_clip: Path) -> None:
    job_id = _job_for(settings, speech_clip)
    STAGES["ingest"].run(settings, job_id)
    with session_scope(settings.database_url) as s:
        job = s.get_one(Job, job_id)
        assert job.state == JobState.reasoning and job.attempts == 0  # reset for the reason stage
