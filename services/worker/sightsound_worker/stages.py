"""The pipeline stages: ingest, reason, verify. Each is idempotent and safe to run twice.

A stage runs only from the job states it owns (``states.STATES_FOR_STAGE``) and under a PostgreSQL
advisory lock on the job, so a redelivered message never races a stage that is still running (a
worker that dies releases its lock with its connection). The Celery tasks in ``tasks.py`` are thin
wrappers that add retries; tests call these functions directly too.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sightsound.clients.teacher import TeacherClient
from sightsound.clients.verifier import VerifierClient
from sightsound.config import Settings
from sightsound.contracts.teacher import ReasonRequest, SamplingParams
from sightsound.contracts.verifier import TraceIn, VerifyRequest
from sightsound.db.models import Clip, Job, JobState, Question, Trace
from sightsound.db.session import session_scope
from sightsound.media.ingest import ingest_clip
from sightsound.media.store import MediaStore, open_url
from sightsound.tasks.locks import LockSpace, TaskBusy, task_lock
from sightsound_worker import model_calls
from sightsound_worker.records import now, record_model_time, record_traces, record_verification, set_state
from sightsound_worker.states import STATES_FOR_STAGE, outcome_of

log = logging.getLogger(__name__)


class StageSkipped(Exception):
    """The job is not in a state this stage owns, or another worker holds it: nothing to do."""


class DeliveryCapReached(StageSkipped):
    """The stage's message was delivered more than ``max_attempts`` times: the job was failed instead."""


@dataclass(frozen=True)
class StageResult:
    job_id: uuid.UUID
    state: JobState
    next_stage: str | None


@contextmanager
def job_lock(settings: Settings, job_id: uuid.UUID) -> Iterator[None]:
    """Hold the job's lock (:mod:`sightsound.tasks.locks`) for the whole stage, or raise StageSkipped."""
    try:
        with task_lock(settings.database_url, LockSpace.job, job_id):
            yield
    except TaskBusy as busy:
        raise StageSkipped(str(busy)) from busy


def _load_job_state(settings: Settings, job_id: uuid.UUID, stage: str) -> JobState:
    """Claim the job for ``stage`` (under its lock): check the state, count this delivery.

    Every delivery of a stage's message counts (``attempts``, reset when the job moves to the next stage),
    whoever sent it: a Celery retry, Redis redelivering after a killed worker, the reaper. Past
    ``max_attempts`` the job fails with the reason instead of running again: a message that kills its
    worker (a clip that exhausts memory) must not be delivered forever.
    """
    with session_scope(settings.database_url) as session:
        return _claim_in(session, settings, job_id, stage)


def _claim_in(session: Session, settings: Settings, job_id: uuid.UUID, stage: str) -> JobState:
    """:func:`_load_job_state` in the caller's session (committed here)."""
    job = session.get(Job, job_id)
    if job is None:
        raise StageSkipped(f"job {job_id} does not exist")
    if job.state not in STATES_FOR_STAGE[stage]:
        raise StageSkipped(f"job {job_id} is {job.state.value}; stage {stage} already ran")
    attempts = session.execute(
        update(Job).where(Job.id == job_id).values(attempts=Job.attempts + 1, updated_at=now())
        .returning(Job.attempts)
    ).scalar_one()
    state = job.state
    if attempts > settings.max_attempts:
        set_state(session, job_id, JobState.failed,
                  error=f"{stage}: delivered {attempts} times without finishing (SIGHTSOUND_MAX_ATTEMPTS="
                        f"{settings.max_attempts}); its worker may have been killed by this clip")
    session.commit()
    if attempts > settings.max_attempts:  # raised after the commit, so the failure is stored
        raise DeliveryCapReached(f"job {job_id}: {stage} delivered {attempts} times; failed")
    return state


@contextmanager
def locked_session(settings: Settings, job_id: uuid.UUID) -> Iterator[Session]:
    """The job's lock and a session on the same PostgreSQL connection: a thread of a threads-pool worker holds one
    connection at a time, so no number of threads can exhaust the pool while each waits for a second one."""
    try:
        with task_lock(settings.database_url, LockSpace.job, job_id) as conn:
            session = Session(bind=conn, expire_on_commit=False)
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
    except TaskBusy as busy:
        raise StageSkipped(str(busy)) from busy


@contextmanager
def _local_copy(url: str) -> Iterator[Path]:
    """A local path for a media URL (the file itself for ``file://``, a temporary copy otherwise)."""
    if url.startswith("file://"):
        from urllib.parse import unquote, urlparse

        yield Path(unquote(urlparse(url).path))
        return
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "original"
        with open_url(url) as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        yield target


def run_ingest(settings: Settings, job_id: uuid.UUID) -> StageResult:
    """Extract the frames and the 16 kHz audio of the job's clip (once per clip, shared by its jobs)."""
    with job_lock(settings, job_id):
        _load_job_state(settings, job_id, "ingest")
        with session_scope(settings.database_url) as session:
            set_state(session, job_id, JobState.ingesting, expected=STATES_FOR_STAGE["ingest"])
            job = session.get_one(Job, job_id)
            clip = job.question.clip
            clip_id, media_url, content_hash = clip.id, clip.media_url, clip.content_hash
            done = clip.frame_urls is not None
        if not done:
            store = MediaStore(settings.media_root)
            with _local_copy(media_url) as path:
                result = ingest_clip(
                    path,
                    store,
                    content_hash=content_hash,
                    frames=settings.frames_per_clip,
                    max_side=settings.frame_max_side,
                    sample_rate=settings.audio_sample_rate,
                    max_audio_s=settings.max_duration_s,
                    max_decoded_frames=settings.max_decoded_frames,
                )
            with session_scope(settings.database_url) as session:
                session.execute(
                    update(Clip)
                    .where(Clip.id == clip_id)
                    .values(frame_urls=result.frame_urls, audio_url=result.audio_url)
                )
        with session_scope(settings.database_url) as session:
            set_state(session, job_id, JobState.reasoning, expected=frozenset({JobState.ingesting}))
    return StageResult(job_id, JobState.reasoning, "reason")


def _reason_request(settings: Settings, question: Question, clip: Clip) -> ReasonRequest:
    return ReasonRequest(
        question=question.text,
        choices=list(question.choices),
        frame_urls=list(clip.frame_urls or []),
        k=settings.traces_per_question,
        sampling=SamplingParams(
            temperature=settings.teacher_temperature,
            max_new_tokens=settings.teacher_max_new_tokens,
            seed=settings.teacher_seed,
        ),
    )


def _still_in(session: Session, job_id: uuid.UUID, state: JobState, stage: str) -> None:
    """Under the job's lock, before writing a model call's result: the job must still wait for it. Another delivery
    of the same message (a redelivery, the reaper) may have finished the stage while this one waited on the model;
    the first to finish writes, the other writes nothing."""
    current = session.scalar(select(Job.state).where(Job.id == job_id))
    if current != state:
        raise StageSkipped(f"job {job_id} is {current.value if current else 'gone'}; another delivery of {stage} "
                           "finished first")


def run_reason(settings: Settings, job_id: uuid.UUID, teacher: TeacherClient) -> StageResult:
    """Ask the teacher for K chains of thought, store them, and keep the job only on consensus.

    The job's lock and a database connection are held only while claiming and while writing, never across the
    teacher call, so a worker can have many calls in flight (one model-server slot each: ``model_calls``)."""
    with model_calls.model_slot(settings, "teacher"):
        with locked_session(settings, job_id) as session:
            _claim_in(session, settings, job_id, "reason")
            job = session.get_one(Job, job_id)
            request = _reason_request(settings, job.question, job.question.clip)
        started = time.perf_counter()
        response = teacher.reason(request)
        seconds = time.perf_counter() - started
    consensus = response.consensus
    next_state = JobState.verifying if consensus.reached else JobState.no_consensus
    with locked_session(settings, job_id) as session:
        record_model_time(session, job_id, teacher_seconds=seconds)
        session.commit()  # the call's cost is kept even when another delivery finished first
        _still_in(session, job_id, JobState.reasoning, "reason")
        record_traces(session, job_id, response)
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                consensus_answer_index=consensus.answer_index,
                agreement=consensus.agreement,
                traces_used=consensus.traces_used,
            )
        )
        error = None
        if not consensus.reached:
            error = (
                f"no {consensus.policy} consensus: agreement {consensus.agreement:.2f} over "
                f"{consensus.traces_used} samples"
            )
        set_state(session, job_id, next_state, expected=frozenset({JobState.reasoning}), error=error)
    return StageResult(job_id, next_state, "verify" if consensus.reached else None)


def run_verify(settings: Settings, job_id: uuid.UUID, verifier: VerifierClient) -> StageResult:
    """Verify the consensus traces' sound claims against the real audio and decide per trace (the lock is held as
    in :func:`run_reason`: claiming and writing, not across the verifier call)."""
    with model_calls.model_slot(settings, "verifier"):
        with locked_session(settings, job_id) as session:
            _claim_in(session, settings, job_id, "verify")
            job = session.get_one(Job, job_id)
            audio_url = job.question.clip.audio_url
            samples = session.scalars(
                select(Trace)
                .where(Trace.job_id == job_id)
                .where(Trace.answer_index == job.consensus_answer_index)
                .order_by(Trace.trace_index)
            ).all()
            traces = [TraceIn(trace_index=s.trace_index, text=s.text) for s in samples]
        if not traces:
            with locked_session(settings, job_id) as session:
                set_state(session, job_id, JobState.failed, expected=frozenset({JobState.verifying}),
                          error="no consensus sample to verify")
            return StageResult(job_id, JobState.failed, None)
        started = time.perf_counter()
        response = verifier.verify(VerifyRequest(audio_url=audio_url, traces=traces))
        seconds = time.perf_counter() - started
    with locked_session(settings, job_id) as session:
        record_model_time(session, job_id, verifier_seconds=seconds, usage=response.usage)
        session.commit()
        _still_in(session, job_id, JobState.verifying, "verify")
        decisions = record_verification(session, job_id, response)
        outcome = outcome_of(decisions)
        error = None if outcome == JobState.accepted else "every trace was rejected by the verifier"
        set_state(session, job_id, outcome, expected=frozenset({JobState.verifying}), error=error)
    return StageResult(job_id, outcome, None)


def fail_job(settings: Settings, job_id: uuid.UUID, error: str) -> None:
    """Mark a job failed with a reason the user can read (``GET /v1/jobs/{id}`` shows it)."""
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        if job is not None and not job.state.terminal:
            set_state(session, job_id, JobState.failed, error=error)

