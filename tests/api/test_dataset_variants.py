"""The four dataset variants of the paper's ablation, on a question the teacher got WRONG unanimously.

The question's gold answer is A; both teacher traces say C (unanimous, so the pipeline kept it); the
verifier accepted the first trace and rejected the second. What each variant trains on:

- ``label-only`` (the paper's baseline): the teacher's answer C, as distilled, not the gold A;
- ``gold-label``: the gold answer A (a separately named variant);
- ``cot``: the accepted trace only;
- ``cot-unverified``: both traces, the rejected one too (verdicts ignored).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sightsound.config import Settings
from sightsound.contracts.training import DatasetRecord
from sightsound.db.models import Clip, Job, JobState, Question, Split, Trace, TraceDecision
from sightsound.db.session import session_scope
from sightsound_api.main import create_app

CHOICES = ["A dog barking", "Speech", "A car horn", "Rain"]
POLICY = "contradiction>=0.60"


@pytest.fixture(scope="module")
def client(auth_headers: dict[str,
           str], settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    local = settings.model_copy(update={"dataset_root": tmp_path_factory.mktemp("variant-datasets")})
    with TestClient(create_app(local), headers=auth_headers) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def wrong_question(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[int]]:
    """A question (own category) whose two unanimous traces answer C (gold A); returns category, sample ids
    (accepted first, rejected second)."""
    category = f"variants-{uuid.uuid4().hex[:8]}"
    audio = tmp_path_factory.mktemp("variant-audio") / "a.wav"
    audio.write_bytes(b"RIFF")
    with session_scope(settings.database_url) as session:
        clip = Clip(id=uuid.uuid4(), content_hash=hashlib.sha256(category.encode()).hexdigest(),
                    media_url=audio.as_uri(), filename="a.wav", size_bytes=4, duration_s=1.0, has_audio=True,
                    audio_url=audio.as_uri())
        question = Question(id=uuid.uuid4(), clip=clip, fingerprint=hashlib.sha256(category.encode()).hexdigest(),
                            text="What is heard?", choices=CHOICES, answer_index=0, category=category,
                            split=Split.train, source="variants-test")
        job = Job(id=uuid.uuid4(), question=question, state=JobState.accepted, consensus_answer_index=2,
                  agreement=1.0, traces_used=2)
        session.add_all([clip, question, job])
        session.flush()
        ids = []
        for index, decision in enumerate(("accepted", "rejected")):
            sample = Trace(job_id=job.id, trace_index=index,
                                   text=f"<think>I see a street, trace {index}.</think><answer>C</answer>",
                                   answer_index=2, model="vlm", backend="test", prompt_version="audio-cot-v1",
                                   sampling={}, latency_ms=1.0, prompt_tokens=1, completion_tokens=1)
            session.add(sample)
            session.flush()
            session.add(TraceDecision(trace_id=sample.id, decision=decision, policy=POLICY, reasons=["test"]))
            ids.append(sample.id)
    return category, ids


def snapshot(client: TestClient, category: str, variant: str) -> tuple[dict, list[DatasetRecord]]:  # type: ignore[type-arg]
    response = client.post("/v1/datasets", json={"name": f"{category}-{variant}", "variant": variant,
                                                 "filters": {"categories": [category]}})
    assert response.status_code == 201, response.text
    dataset = response.json()
    lines = Path(dataset["jsonl_url"].removeprefix("file://")).read_text().splitlines()
    return dataset, [DatasetRecord.model_validate_json(line) for line in lines]


def test_label_only_trains_on_the_teachers_answer_and_gold_label_on_the_gold_one(
    client: TestClient, wrong_question: tuple[str, list[int]]
) -> None:
    category, _ = wrong_question
    dataset, records = snapshot(client, category, "label-only")
    assert [r.target for r in records] == ["<answer>C</answer>"]
    assert records[0].label_source == "teacher"
    assert dataset["counts"]["label_source"] == {"teacher": 1}
    assert dataset["provenance"]["label_source"] == "teacher"

    dataset, records = snapshot(client, category, "gold-label")
    assert [r.target for r in records] == ["<answer>A</answer>"]
    assert records[0].label_source == "gold"
    assert dataset["counts"]["label_source"] == {"gold": 1}
    assert dataset["provenance"]["label_source"] == "gold"
    assert "Answer with the letter" in records[0].prompt


def test_cot_unverified_keeps_the_rejected_trace_and_cot_does_not(
    client: TestClient, wrong_question: tuple[str, list[int]]
) -> None:
    category, (accepted, rejected) = wrong_question
    dataset, records = snapshot(client, category, "cot")
    assert [r.trace_id for r in records] == [accepted]
    assert dataset["provenance"]["verification"] == "accepted traces only"

    dataset, records = snapshot(client, category, "cot-unverified")
    assert [r.trace_id for r in records] == [accepted, rejected]
    assert [r.verifier_decision for r in records] == ["accepted", "rejected"]
    assert all(r.target.endswith("<answer>C</answer>") and r.label_source == "teacher" for r in records)
    assert "<think></think>" in records[0].prompt
    assert dataset["counts"]["decisions"] == {"accepted": 1, "rejected": 1}
    assert dataset["provenance"]["verification"] == "ignored"
    assert dataset["variant"] == "cot-unverified"


def test_unknown_variants_and_verdict_filters_on_unverified_data_are_422(client: TestClient) -> None:
    response = client.post("/v1/datasets", json={"variant": "cot-verified"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "variant" in detail and "cot-unverified" in detail and "gold-label" in detail
    response = client.post("/v1/datasets", json={"variant": "cot-unverified",
                                                 "filters": {"verifier_policy": POLICY}})
    assert response.status_code == 422 and "ignores the verifier" in response.json()["detail"]
