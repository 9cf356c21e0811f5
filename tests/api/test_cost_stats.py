"""Cost accounting in ``GET /v1/stats`` (``cost``): tokens and model seconds per accepted trace and per dataset, the
share spent on questions without consensus, training accelerator seconds. Rows seeded directly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from sightsound.config import Settings
from sightsound.db.models import Dataset, Job, JobState, RunState, Split, Trace, TraceDecision, TrainingRun
from sightsound.db.session import session_scope
from sightsound_api.main import create_app
from tests.api.test_stats_api import _clip, _question


@pytest.fixture(scope="module")
def client(auth_headers: dict[str, str], settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers=auth_headers) as test_client:
        yield test_client


def _job_with_traces(session, question, state: JobState, k: int, accepted: int,  # type: ignore[no-untyped-def]
                     teacher_s: float, verifier_s: float | None) -> list[int]:
    job = Job(question_id=question.id, state=state, teacher_seconds=teacher_s, verifier_seconds=verifier_s,
              checker_seconds=None if verifier_s is None else verifier_s / 2,
              checker_prompt_tokens=None if verifier_s is None else 300,
              checker_completion_tokens=None if verifier_s is None else 40)
    session.add(job)
    session.flush()
    ids = []
    for index in range(k):
        trace = Trace(job_id=job.id, trace_index=index, text="<answer>A</answer>", answer_index=0, model="m",
                      backend="b", prompt_version="v", sampling={}, latency_ms=1000.0, prompt_tokens=1000,
                      completion_tokens=100)
        session.add(trace)
        session.flush()
        ids.append(trace.id)
        if verifier_s is not None:
            session.add(TraceDecision(trace_id=trace.id, decision="accepted" if index < accepted else "rejected",
                                      policy="p", reasons=[]))
    return ids


@pytest.fixture(scope="module")
def source(settings: Settings) -> str:
    """Two questions with K=4: one verified (3 of 4 traces accepted), one without consensus; a dataset of the 3
    accepted traces, trained once for 120 accelerator seconds."""
    name = f"cost-{uuid.uuid4().hex[:8]}"
    with session_scope(settings.database_url) as session:
        clip = _clip(session)
        verified = _job_with_traces(session, _question(session, clip, name, Split.train), JobState.accepted, 4, 3,
                                    teacher_s=4.0, verifier_s=2.0)
        _job_with_traces(session, _question(session, clip, name, Split.train), JobState.no_consensus, 4, 0,
                         teacher_s=4.0, verifier_s=None)
        dataset = Dataset(name="cost-set", version=1, variant="cot", filters={}, provenance={}, counts={},
                          trace_ids=verified[:3])
        session.add(dataset)
        session.flush()
        session.add(TrainingRun(dataset_id=dataset.id, student_model="embedded", stages=["sft"], hyperparameters={},
                                state=RunState.succeeded, progress={}, accelerator_seconds=120.0,
                                accelerator="cpu"))
    return name


def test_cost_per_accepted_trace_and_the_no_consensus_share(client: TestClient, source: str) -> None:
    cost = client.get("/v1/stats", params={"source": source}).json()["cost"]
    # teacher: the prompt once per job (1000) + 4 completions (400) per job; the verified job's checker 340
    total = cost["total"]
    assert total["jobs"] == 2
    assert total["teacher_prompt_tokens"] == 2000 and total["teacher_completion_tokens"] == 800
    assert total["checker_prompt_tokens"] == 300 and total["checker_completion_tokens"] == 40
    assert total["tokens"] == 3140
    assert total["model_seconds"] == pytest.approx(10.0) and total["checker_seconds"] == pytest.approx(1.0)
    assert cost["accepted_traces"] == 3
    assert cost["per_accepted_trace"]["tokens"] == pytest.approx(3140 / 3, abs=0.01)
    assert cost["per_accepted_trace"]["model_seconds"] == pytest.approx(10.0 / 3, abs=1e-3)
    assert cost["no_consensus_share"]["tokens"] == pytest.approx(1400 / 3140, abs=1e-4)
    assert cost["no_consensus_share"]["model_seconds"] == pytest.approx(0.4)


def test_cost_per_dataset_with_its_training(client: TestClient, source: str) -> None:
    cost = client.get("/v1/stats").json()["cost"]
    dataset = next(d for d in cost["datasets"] if d["name"] == "cost-set")
    assert dataset["traces"] == 3 and dataset["pipeline"]["jobs"] == 1
    assert dataset["pipeline"]["tokens"] == 1000 + 400 + 340
    assert dataset["per_trace"]["model_seconds"] == pytest.approx(6.0 / 3, abs=1e-3)
    assert dataset["training_runs"] == 1 and dataset["training_accelerator_seconds"] == pytest.approx(120.0)
    assert cost["training_accelerator_seconds"] >= 120.0
