"""Issue 12B, finding 8: a training run may name only allow-listed student models, and its steps and tokens are
capped (before: any hub id or local path, and 10M steps, were accepted and queued)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sightsound.config import Settings
from sightsound.db.models import Dataset, TrainingRun
from sightsound.db.session import session_scope
from sightsound_api.main import create_app


@pytest.fixture(scope="module")
def client(auth_headers: dict[str, str], settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers=auth_headers) as test_client:
        yield test_client
    redis.Redis.from_url(settings.redis_url).flushdb()


@pytest.fixture(scope="module")
def dataset_id(settings: Settings) -> str:
    with session_scope(settings.database_url) as session:
        dataset = Dataset(name=f"limits-{uuid.uuid4().hex[:8]}", version=1, export_url="file:///x",
                          counts={"records": 1000})
        session.add(dataset)
        session.flush()
        return str(dataset.id)


def runs(settings: Settings) -> int:
    with session_scope(settings.database_url) as session:
        return session.scalar(select(func.count()).select_from(TrainingRun)) or 0


@pytest.mark.parametrize(("body", "words"), [
    ({"student_model": "/etc"}, ["student_model", "SIGHTSOUND_TRAINER_STUDENT_MODELS"]),
    ({"student_model": "someone/any-hub-model"}, ["not allowed"]),
    ({"hyperparameters": {"sft": {"max_steps": 10_000_000}}, "stages": ["sft"]}, ["SIGHTSOUND_TRAINER_MAX_STEPS"]),
    ({"hyperparameters": {"sft": {"epochs": 1000, "batch_size": 1}}, "stages": ["sft"]}, ["1000000 steps"]),
    ({"hyperparameters": {"grpo": {"steps": 50_000, "prompts_per_step": 64, "num_generations": 64,
                                   "max_new_tokens": 4096}}, "stages": ["grpo"]}, ["SIGHTSOUND_TRAINER_MAX_TOKENS"]),
])
def test_runs_past_the_limits_are_refused_before_anything_is_queued(
    client: TestClient, settings: Settings, dataset_id: str, body: dict[str, object], words: list[str]
) -> None:
    before = runs(settings)
    response = client.post("/v1/training-runs", json={"dataset_id": dataset_id, "student_model": "tiny-random", **body})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    for word in words:
        assert word in response.json()["detail"]
    assert runs(settings) == before


def test_a_run_within_the_limits_is_accepted(client: TestClient, dataset_id: str) -> None:
    response = client.post("/v1/training-runs", json={
        "dataset_id": dataset_id, "student_model": "tiny-random", "stages": ["sft"],
        "hyperparameters": {"sft": {"max_steps": 2}}})
    assert response.status_code == 202, response.text
