"""``GET /v1/stats`` against the real PostgreSQL, with rows seeded directly under sources of this module."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from sightsound.config import Settings
from sightsound.db.models import (
    Claim,
    Clip,
    Job,
    JobState,
    Question,
    Split,
    Trace,
    TraceDecision,
)
from sightsound.db.session import session_scope
from sightsound_api.main import create_app

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def client(auth_headers: dict[str, str], settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers=auth_headers) as test_client:
        yield test_client


def _clip(session: Session) -> Clip:
    clip = Clip(
        content_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        media_url="file:///media/x.mp4",
        size_bytes=1000,
        duration_s=4.0,
        has_audio=True,
    )
    session.add(clip)
    session.flush()
    return clip


def _question(session: Session, clip: Clip, source: str, split: Split) -> Question:
    question = Question(
        clip_id=clip.id,
        fingerprint=uuid.uuid4().hex,
        text="What is making the sound?",
        choices=["a", "b", "c", "d"],
        answer_index=0,
        category="sound_source",
        split=split,
        source=source,
    )
    session.add(question)
    session.flush()
    return question


def _job(
    session: Session,
    question: Question,
    state: JobState,
    *,
    agreement: float | None = None,
    queue_s: float = 1.0,
    run_s: float | None = None,
) -> Job:
    job = Job(
        question_id=question.id,
        state=state,
        agreement=agreement,
        consensus_answer_index=0 if agreement is not None and agreement > 0.5 else None,
        created_at=T0,
        started_at=T0 + timedelta(seconds=queue_s),
        finished_at=None if run_s is None else T0 + timedelta(seconds=queue_s + run_s),
    )
    session.add(job)
    session.flush()
    return job


def _trace(
    session: Session, job: Job, index: int, latency_ms: float, decision: str | None, claims: list[tuple[str, str]]
) -> None:
    sample = Trace(
        job_id=job.id,
        trace_index=index,
        text="<think>…</think><answer>A</answer>",
        answer_index=0,
        model="tiny-random-teacher",
        backend="transformers",
        prompt_version="v1",
        sampling={},
        latency_ms=latency_ms,
        prompt_tokens=10,
        completion_tokens=20,
    )
    session.add(sample)
    session.flush()
    for i, (kind, verdict) in enumerate(claims):
        session.add(
            Claim(
                trace_id=sample.id,
                claim_index=i,
                kind=kind,
                text=kind,
                attributes={},
                final_verdict=verdict,
                final_confidence=0.9,
            )
        )
    if decision is not None:
        session.add(TraceDecision(trace_id=sample.id, decision=decision, policy="contradiction>=0.60", reasons=[]))
    session.flush()


@pytest.fixture(scope="module")
def source(settings: Settings) -> str:
    """Three questions on two clips: one accepted job (2 traces), one rejected (1), one without consensus."""
    name = f"stats-{uuid.uuid4().hex[:8]}"
    with session_scope(settings.database_url) as session:
        clip_a, clip_b = _clip(session), _clip(session)
        accepted = _job(
            session, _question(session, clip_a, name, Split.train), JobState.accepted, agreement=1.0, run_s=10.0
        )
        _trace(
            session,
            accepted,
            0,
            100.0,
            "accepted",
            [("speech_presence", "supported"), ("sound_source", "unverifiable")],
        )
        _trace(session, accepted, 1, 300.0, "accepted", [("speech_presence", "supported")])
        rejected = _job(
            session, _question(session, clip_a, name, Split.test), JobState.rejected, agreement=1.0, run_s=20.0
        )
        _trace(
            session, rejected, 0, 200.0, "rejected", [("speech_presence", "contradicted"), ("tempo", "contradicted")]
        )
        split_vote = _job(
            session, _question(session, clip_b, name, Split.test), JobState.no_consensus, agreement=0.5, queue_s=3.0
        )
        _trace(session, split_vote, 0, 400.0, None, [])
        _trace(session, split_vote, 1, 500.0, None, [])
        # Another source's rows, which a filtered request must not count.
        other = _job(session, _question(session, _clip(session), name + "-other", Split.train), JobState.failed)
        _trace(session, other, 0, 9000.0, "rejected", [("speech_presence", "contradicted")])
    return name


def test_the_funnel_counts_one_source(client: TestClient, source: str) -> None:
    response = client.get("/v1/stats", params={"source": source})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == source
    assert body["funnel"] == {
        "clips": 2,
        "questions": 3,
        "questions_by_split": {"train": 1, "validation": 0, "test": 2},
        "jobs": 3,
        "jobs_by_state": {
            "queued": 0,
            "ingesting": 0,
            "reasoning": 0,
            "verifying": 0,
            "accepted": 1,
            "rejected": 1,
            "no_consensus": 1,
            "failed": 0,
        },
        "jobs_with_consensus": 2,
        "jobs_unanimous": 2,
        "traces_sampled": 5,
        "traces_verified": 3,
        "traces_accepted": 2,
        "traces_rejected": 1,
    }


def test_claim_verdicts_are_grouped_by_kind(client: TestClient, source: str) -> None:
    verdicts = client.get("/v1/stats", params={"source": source}).json()["verdicts_by_kind"]
    assert verdicts == {
        "sound_source": {"supported": 0, "contradicted": 0, "unverifiable": 1},
        "speech_presence": {"supported": 2, "contradicted": 1, "unverifiable": 0},
        "tempo": {"supported": 0, "contradicted": 1, "unverifiable": 0},
    }


def test_latencies_are_means_of_the_stored_timestamps(client: TestClient, source: str) -> None:
    latency = client.get("/v1/stats", params={"source": source}).json()["latency"]
    assert latency["teacher_sample_ms"] == pytest.approx(300.0)  # (100 + 300 + 200 + 400 + 500) / 5
    assert latency["job_queue_s"] == pytest.approx(5 / 3, abs=1e-3)  # (1 + 1 + 3) / 3
    assert latency["job_run_s"] == pytest.approx(15.0)  # (10 + 20) / 2: the no-consensus job has not finished
    assert latency["jobs_finished"] == 2


def test_without_a_source_every_row_counts(client: TestClient, source: str) -> None:
    everything = client.get("/v1/stats").json()
    mine = client.get("/v1/stats", params={"source": source}).json()
    other = client.get("/v1/stats", params={"source": source + "-other"}).json()
    assert everything["source"] is None
    assert other["funnel"]["jobs_by_state"]["failed"] == 1 and other["funnel"]["traces_rejected"] == 1
    # Other test modules share the database, so the totals are at least the sum of this module's two sources.
    for key in ("clips", "questions", "jobs", "traces_sampled", "traces_verified", "traces_rejected"):
        assert everything["funnel"][key] >= mine["funnel"][key] + other["funnel"][key], key
    assert everything["verdicts_by_kind"]["speech_presence"]["contradicted"] >= 2


def test_an_unknown_source_gives_zeros_not_an_error(client: TestClient) -> None:
    body = client.get("/v1/stats", params={"source": "no-such-source"}).json()
    assert body["funnel"]["clips"] == body["funnel"]["traces_sampled"] == 0
    assert set(body["funnel"]["jobs_by_state"].values()) == {0}
    assert body["verdicts_by_kind"] == {}
    assert body["latency"] == {"teacher_sample_ms": None, "job_queue_s": None, "job_run_s": None, "jobs_finished": 0}


@pytest.mark.parametrize("bad", ["", "x" * 129])
def test_a_bad_source_is_a_problem_naming_the_parameter(client: TestClient, bad: str) -> None:
    response = client.get("/v1/stats", params={"source": bad})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "source" in response.json()["detail"]


def test_the_route_is_documented(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/stats"]["get"]
    assert operation["summary"] == "Pipeline statistics"
    assert {p["name"] for p in operation["parameters"]} == {"source"}
