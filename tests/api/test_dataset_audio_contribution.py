"""The dataset filter ``audio_contribution`` (AudioMCQ's weak / strong split): a snapshot takes only questions
with that label (as an evaluation with silent audio stored it), leaves unlabelled ones out, and an unknown value
is a 422 naming the values there are."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sightsound.config import Settings
from sightsound.db.models import Clip, Job, JobState, Question, Split, Trace, TraceDecision
from sightsound.db.session import session_scope
from sightsound_api.main import create_app

CHOICES = ["A dog barking", "Speech", "A car horn", "Rain"]


@pytest.fixture(scope="module")
def client(auth_headers: dict[str, str], settings: Settings,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    local = settings.model_copy(update={"dataset_root": tmp_path_factory.mktemp("contribution-datasets")})
    with TestClient(create_app(local), headers=auth_headers) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def labelled(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str | None, str]]:
    """Three train questions of one category, each with one accepted trace: labelled weak, strong, and none.
    Returns the category and label -> question id."""
    category = f"contribution-{uuid.uuid4().hex[:8]}"
    folder = tmp_path_factory.mktemp("contribution-audio")
    ids: dict[str | None, str] = {}
    with session_scope(settings.database_url) as session:
        for label in ("weak", "strong", None):
            key = f"{category}-{label}"
            audio = folder / f"{label}.wav"
            audio.write_bytes(b"RIFF" + key.encode())
            clip = Clip(id=uuid.uuid4(), content_hash=hashlib.sha256(key.encode()).hexdigest(),
                        media_url=audio.as_uri(), filename=audio.name, size_bytes=8, duration_s=1.0, has_audio=True,
                        audio_url=audio.as_uri())
            question = Question(id=uuid.uuid4(), clip=clip, fingerprint=hashlib.sha256(key.encode()).hexdigest(),
                                text="What is heard?", choices=CHOICES, answer_index=1, category=category,
                                split=Split.train, source="contribution-test", audio_contribution=label)
            job = Job(id=uuid.uuid4(), question=question, state=JobState.accepted, consensus_answer_index=1,
                      agreement=1.0, traces_used=1)
            session.add_all([clip, question, job])
            session.flush()
            trace = Trace(job_id=job.id, trace_index=0, text="<think>I hear a voice.</think><answer>B</answer>",
                          answer_index=1, model="vlm", backend="test", prompt_version="audio-cot-v1", sampling={},
                          latency_ms=1.0, prompt_tokens=1, completion_tokens=1)
            session.add(trace)
            session.flush()
            session.add(TraceDecision(trace_id=trace.id, decision="accepted", policy="p", reasons=["test"]))
            ids[label] = str(question.id)
    return category, ids


def question_ids(client: TestClient, category: str, contribution: str | None, name: str) -> list[str]:
    filters: dict[str, object] = {"categories": [category]}
    if contribution is not None:
        filters["audio_contribution"] = contribution
    response = client.post("/v1/datasets", json={"name": name, "variant": "cot", "filters": filters})
    assert response.status_code == 201, response.text
    dataset = response.json()
    assert dataset["filters"].get("audio_contribution") == contribution
    lines = Path(dataset["jsonl_url"].removeprefix("file://")).read_text().splitlines()
    return sorted(json.loads(line)["question_id"] for line in lines)


def test_weak_and_strong_snapshots_split_the_labelled_questions(
    client: TestClient, labelled: tuple[str, dict[str | None, str]]
) -> None:
    category, ids = labelled
    assert question_ids(client, category, "weak", f"{category}-weak") == [ids["weak"]]
    assert question_ids(client, category, "strong", f"{category}-strong") == [ids["strong"]]
    assert question_ids(client, category, None, f"{category}-all") == sorted(ids.values())  # no filter: all three


def test_an_unknown_contribution_is_422_naming_the_values(client: TestClient) -> None:
    response = client.post("/v1/datasets", json={"filters": {"audio_contribution": "medium"}})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "filters.audio_contribution" in detail and "'weak'" in detail and "'strong'" in detail
