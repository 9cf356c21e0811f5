"""End to end through real processes: uvicorn api, teacher and verifier, a Celery worker, PostgreSQL
and Redis. The teacher is a tiny Qwen2.5-VL with RANDOM weights (structured decoding makes its
samples parseable); the verifier runs the real acoustic checks (silero-vad, librosa RMS)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from sightsound.config import Settings
from sightsound.db.models import Claim, Job, JobState, Trace, TraceDecision, Verdict
from sightsound.db.session import session_scope
from sightsound.tasks.dispatch import Dispatcher
from sightsound_ops.stack import Stack
from sightsound_worker.reaper import requeue_stuck

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHOICES = ["A person speaking", "A dog barking", "Piano music", "Nothing at all"]
TERMINAL = {s.value for s in JobState if s.terminal}


def stack_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGHTSOUND_")}
    env.update(
        {
            "SIGHTSOUND_ENVIRONMENT": "test",
            "SIGHTSOUND_DATABASE_URL": settings.database_url,
            "SIGHTSOUND_REDIS_URL": settings.redis_url,
            "SIGHTSOUND_MEDIA_ROOT": str(settings.media_root),
            "SIGHTSOUND_FRAMES_PER_CLIP": str(settings.frames_per_clip),
            "SIGHTSOUND_FRAME_MAX_SIDE": str(settings.frame_max_side),
            "SIGHTSOUND_TRACES_PER_QUESTION": str(settings.traces_per_question),
            "SIGHTSOUND_TEACHER_MAX_NEW_TOKENS": str(settings.teacher_max_new_tokens),
            "SIGHTSOUND_TEACHER_SEED": "0",
            # Greedy decoding: the K samples of the random tiny teacher agree, so every stage runs.
            "SIGHTSOUND_TEACHER_TEMPERATURE": "0",
            "SIGHTSOUND_TASK_MAX_RETRIES": "2",
            "SIGHTSOUND_TASK_RETRY_BACKOFF_S": "0.5",
            # A killed worker's unacknowledged message comes back after a few seconds, not an hour.
            "SIGHTSOUND_BROKER_VISIBILITY_TIMEOUT_S": "8",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
        }
    )
    return env


@pytest.fixture(scope="module")
def stack(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(env=stack_env(settings), log_dir=tmp_path_factory.mktemp("logs"))
    with running:
        yield running
    for proc in running.processes.values():
        assert not proc.alive(), f"{proc.name} still running after stop"


def submit(stack: Stack, clip: Path, question: str, answer_index: int | None = 0) -> dict[str, Any]:
    data: dict[str, Any] = {"question": question, "choices": CHOICES, "category": "e2e"}
    if answer_index is not None:
        data["answer_index"] = str(answer_index)
    with clip.open("rb") as fh:
        response = stack.http.post(f"{stack.api_url}/v1/clips", files={"video": (clip.name, fh, "video/mp4")},
                              data=data, timeout=60)
    assert response.status_code == 202, response.text
    return dict(response.json())


def wait_for(stack: Stack, job_id: str, states: set[str], timeout_s: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = stack.http.get(f"{stack.api_url}/v1/jobs/{job_id}", timeout=10).json()
        if job["state"] in states:
            return job
        time.sleep(0.25)
    logs = "\n".join(f"--- {p.name}\n{p.log_tail(30)}" for p in stack.processes.values())
    raise AssertionError(f"job {job_id} stuck in {job.get('state')}\n{logs}")


def stored_rows(settings: Settings, job_id: str) -> dict[str, int]:
    with session_scope(settings.database_url) as s:
        samples = select(Trace.id).where(Trace.job_id == job_id)
        claims = select(Claim.id).where(Claim.trace_id.in_(samples))
        return {
            "samples": s.scalar(select(func.count()).select_from(samples.subquery())) or 0,
            "claims": s.scalar(select(func.count()).select_from(claims.subquery())) or 0,
            "verdicts": s.scalar(select(func.count()).where(Verdict.claim_id.in_(claims))) or 0,
            "decisions": s.scalar(select(func.count()).where(TraceDecision.trace_id.in_(samples))) or 0,
        }


def test_clip_travels_ingest_reason_verify_to_a_decision(stack: Stack, settings: Settings,
                                                         speech_clip: Path) -> None:
    job = submit(stack, speech_clip, "What can be heard in this clip?")
    seen = wait_for(stack, job["id"], TERMINAL)
    assert seen["state"] in ("accepted", "rejected", "no_consensus"), seen
    assert seen["error"] is None or seen["state"] != "failed"

    clip = stack.http.get(f"{stack.api_url}/v1/clips/{job['clip_id']}", timeout=10).json()
    assert len(clip["frame_urls"]) == settings.frames_per_clip and clip["audio_url"].endswith(".wav")
    question = next(q for q in clip["questions"] if q["job"]["id"] == job["id"])
    samples = question["traces"]
    assert len(samples) == settings.traces_per_question
    for sample in samples:
        assert sample["answer_index"] is not None, sample["text"]
        assert sample["backend"] == "transformers" and sample["prompt_version"]
        assert sample["completion_tokens"] > 0 and sample["latency_ms"] > 0
        assert "<claims>" in sample["text"] and "<answer>" in sample["text"]

    if seen["state"] == "no_consensus":
        pytest.fail("random tiny teacher did not agree with itself; the seeded run is expected to")
    assert seen["agreement"] == 1.0 and seen["traces_used"] == settings.traces_per_question
    verified = [s for s in samples if s["decision"] is not None]
    assert len(verified) == len(samples)
    for sample in verified:
        assert sample["claims"], sample["text"]
        for claim in sample["claims"]:
            assert claim["verdicts"], claim
            assert claim["final_verdict"] in ("supported", "contradicted", "unverifiable")
        assert sample["decision"]["decision"] in ("accepted", "rejected")
        assert sample["decision"]["reasons"]
    # The speech clip has speech: a claim of speech presence must be checked against it, not guessed.
    speech_claims = [c for s in verified for c in s["claims"] if c["kind"] == "speech_presence"]
    for claim in speech_claims:
        expect = "supported" if claim["attributes"].get("present", "yes") in ("yes", True) else "contradicted"
        assert claim["final_verdict"] == expect, claim
    rows = stored_rows(settings, job["id"])
    assert rows["samples"] == len(samples) and rows["decisions"] == len(verified)

    traces = stack.http.get(f"{stack.api_url}/v1/traces", params={"category": "e2e", "limit": 2}, timeout=10).json()
    assert len(traces["items"]) == 2 and traces["next_cursor"]
    rest = stack.http.get(f"{stack.api_url}/v1/traces",
                     params={"category": "e2e", "cursor": traces["next_cursor"]}, timeout=10).json()
    ids = [t["trace_id"] for t in traces["items"] + rest["items"]]
    assert len(ids) == len(set(ids)) >= len(samples)
    decided = stack.http.get(f"{stack.api_url}/v1/traces", params={"decision": seen["state"], "category": "e2e"},
                        timeout=10).json()
    assert all(t["decision"] == seen["state"] for t in decided["items"]) and decided["items"]


def test_video_without_audio_track_records_why(stack: Stack, settings: Settings, silent_track_clip: Path) -> None:
    job = submit(stack, silent_track_clip, "Is anything heard here?")
    seen = wait_for(stack, job["id"], TERMINAL)
    assert seen["state"] in ("accepted", "rejected"), seen
    clip = stack.http.get(f"{stack.api_url}/v1/clips/{job['clip_id']}", timeout=10).json()
    assert clip["has_audio"] is False and clip["audio_url"] is None
    samples = next(q for q in clip["questions"] if q["job"]["id"] == job["id"])["traces"]
    assert len(samples) == settings.traces_per_question
    for sample in samples:
        assert any("no audio track" in r for r in sample["decision"]["reasons"]), sample["decision"]
        assert all(c["final_verdict"] == "unverifiable" for c in sample["claims"])


def test_worker_killed_mid_job_completes_once(stack: Stack, settings: Settings, speech_clip: Path) -> None:
    teacher = stack.processes["teacher"]
    # Freeze the teacher so the worker is certainly inside the reason stage (blocked on its HTTP call)
    # when it is killed.
    teacher.kill(signal.SIGSTOP)
    try:
        job = submit(stack, speech_clip, "Who makes the sound?")
        wait_for(stack, job["id"], {"reasoning"}, timeout_s=120)
        time.sleep(1.5)  # the worker takes the reason message and calls the frozen teacher
        worker = stack.processes["worker"]
        worker.kill(signal.SIGKILL)
        worker.popen.wait(timeout=10)  # type: ignore[union-attr]
    finally:
        teacher.kill(signal.SIGCONT)
    state_at_kill = stack.http.get(f"{stack.api_url}/v1/jobs/{job['id']}", timeout=10).json()["state"]
    assert state_at_kill == "reasoning"
    assert stored_rows(settings, job["id"])["samples"] == 0
    stack.replace_worker()
    # The documented recovery: the reaper re-enqueues from PostgreSQL; Redis also redelivers the
    # unacknowledged message, so the stage may arrive twice and must still write everything once.
    report = requeue_stuck(settings, older_than_s=0, send=Dispatcher(settings).enqueue)
    assert (job["id"], "reason") in report.requeued
    seen = wait_for(stack, job["id"], TERMINAL)
    assert seen["state"] in ("accepted", "rejected"), seen
    time.sleep(10)  # let the redelivered message (visibility timeout 8 s) arrive and be skipped
    rows = stored_rows(settings, job["id"])
    assert rows["samples"] == settings.traces_per_question
    assert rows["decisions"] == rows["samples"]
    assert rows["verdicts"] >= rows["claims"] > 0
    with session_scope(settings.database_url) as s:
        job_row = s.get_one(Job, job["id"])
        assert job_row.state.value == seen["state"] and job_row.attempts >= 1
    assert stored_rows(settings, job["id"]) == rows
