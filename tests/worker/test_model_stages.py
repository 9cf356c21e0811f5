"""The model stages as a threads-pool worker runs them: no job lock (and no connection) across the model call, the
first of two concurrent deliveries to finish writes and the other writes nothing, the calls' cost is recorded on
the job, and the model-server slots (a Redis semaphore) hold the in-flight limit across holders."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from sightsound.clients.slots import ModelSlots, NoSlotError
from sightsound.clients.teacher import TeacherClient
from sightsound.clients.verifier import VerifierClient
from sightsound.config import Settings
from sightsound.db.models import Job, JobState, Trace, TraceDecision
from sightsound.db.session import session_scope
from sightsound.tasks.locks import LockSpace, lock_is_free
from sightsound_devdata.model_standins import reason_answer, verify_answer
from sightsound_worker import stages
from tests.worker.test_stages import _job_for


def _teacher(on_call=None) -> TeacherClient:  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        if on_call is not None:
            on_call()
        time.sleep(0.05)
        return httpx.Response(200, json=reason_answer(json.loads(request.content), 0.0, 0.05))

    return TeacherClient("http://teacher", transport=httpx.MockTransport(handler))


def _verifier() -> VerifierClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=verify_answer(json.loads(request.content), 0.0, 0.05))

    return VerifierClient("http://verifier", transport=httpx.MockTransport(handler))


def _ingested(settings: Settings, clip: Path) -> uuid.UUID:
    job_id = _job_for(settings, clip)
    stages.run_ingest(settings, job_id)
    return job_id


def test_no_lock_across_the_call_and_the_cost_is_recorded(settings: Settings, speech_clip: Path) -> None:
    job_id = _ingested(settings, speech_clip)
    free_during_call: list[bool] = []
    teacher = _teacher(lambda: free_during_call.append(lock_is_free(settings.database_url, LockSpace.job, job_id)))
    assert stages.run_reason(settings, job_id, teacher).state == JobState.verifying
    assert stages.run_verify(settings, job_id, _verifier()).state == JobState.accepted
    assert free_during_call == [True]
    with session_scope(settings.database_url) as s:
        job = s.get_one(Job, job_id)
        assert job.teacher_seconds is not None and job.teacher_seconds >= 0.05
        assert job.verifier_seconds is not None and job.verifier_seconds > 0
        assert (job.checker_prompt_tokens, job.checker_completion_tokens) == (300, 40)
        assert job.checker_seconds == pytest.approx(0.05)


def test_of_two_deliveries_in_flight_the_first_to_finish_writes(settings: Settings, speech_clip: Path) -> None:
    job_id = _ingested(settings, speech_clip)
    inner: list[stages.StageResult] = []

    def second_delivery() -> None:  # a redelivered message, run to its end while the first waits on the teacher
        if not inner:
            inner.append(stages.run_reason(settings, job_id, _teacher()))

    with pytest.raises(stages.StageSkipped, match="finished first"):
        stages.run_reason(settings, job_id, _teacher(second_delivery))
    assert inner[0].state == JobState.verifying
    with session_scope(settings.database_url) as s:
        assert s.scalar(select(func.count()).where(Trace.job_id == job_id)) == settings.traces_per_question
        job = s.get_one(Job, job_id)
        assert job.state == JobState.verifying and job.attempts == 0  # reset by the move to verifying
        assert job.teacher_seconds is not None and job.teacher_seconds >= 0.1  # both calls' cost counts
    stages.run_verify(settings, job_id, _verifier())
    with pytest.raises(stages.StageSkipped):
        stages.run_verify(settings, job_id, _verifier())
    with session_scope(settings.database_url) as s:
        decided = select(func.count()).select_from(TraceDecision).join(Trace).where(Trace.job_id == job_id)
        assert s.scalar(decided) == settings.traces_per_question


def test_slots_hold_the_limit_across_holders(settings: Settings) -> None:
    name = f"test-{uuid.uuid4().hex[:6]}"
    slots = ModelSlots(settings.redis_url, name, limit=2, lease_s=30)
    other = ModelSlots(settings.redis_url, name, limit=2, lease_s=30)  # another worker, same server
    a, b = slots.try_acquire(), other.try_acquire()
    assert a and b and slots.try_acquire() is None and slots.in_flight() == 2
    with pytest.raises(NoSlotError, match="no free"), slots.hold(wait_s=0.2):
        pass
    got: list[float] = []
    waiter = threading.Thread(target=lambda: got.append(slots.hold(wait_s=10).__enter__()))
    waiter.start()
    time.sleep(0.2)
    other.release(b)  # wakes the waiter at once
    waiter.join(timeout=5)
    assert got and got[0] < 2.0


def test_a_dead_holders_slot_frees_when_its_lease_ends(settings: Settings) -> None:
    name = f"test-{uuid.uuid4().hex[:6]}"
    dead = ModelSlots(settings.redis_url, name, limit=1, lease_s=0.3)
    assert dead.try_acquire() is not None  # never released: its worker is killed, and its keeper with it
    dead._held.clear()
    slots = ModelSlots(settings.redis_url, name, limit=1, lease_s=0.3)
    assert slots.try_acquire() is None
    time.sleep(0.5)
    assert slots.try_acquire() is not None


def test_no_limit_means_no_redis(settings: Settings) -> None:
    unlimited = ModelSlots("redis://127.0.0.1:1/0", "x", limit=0, lease_s=1)
    with unlimited.hold(wait_s=0.1) as waited:
        assert waited == 0.0


def test_a_held_slot_is_renewed_while_its_call_runs(settings: Settings) -> None:
    slots = ModelSlots(settings.redis_url, f"test-{uuid.uuid4().hex[:6]}", limit=1, lease_s=0.6)
    with slots.hold(wait_s=1):
        time.sleep(1.5)  # longer than the lease: the keeper renews it every 0.2 s
        assert slots.try_acquire() is None and slots.in_flight() == 1
    assert slots.try_acquire() is not None
