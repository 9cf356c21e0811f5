"""Datasets and training runs through the API in-process (real PostgreSQL and Redis, no worker)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import datasets as hf_datasets
import pytest
import redis
from fastapi.testclient import TestClient

from sightsound.config import Settings
from sightsound.contracts.training import DatasetRecord
from sightsound.db.models import RunState, TrainingRun
from sightsound.db.session import session_scope
from sightsound_api.main import create_app
from tests.trainer import learnable


@pytest.fixture(scope="module")
def client(auth_headers: dict[str,
           str], settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    local = settings.model_copy(update={"dataset_root": tmp_path_factory.mktemp("datasets")})
    with TestClient(create_app(local), headers=auth_headers) as test_client:
        yield test_client
    redis.Redis.from_url(settings.redis_url).delete("train")


@pytest.fixture(scope="module")
def category(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The learnable task's traces in the database, under a category of this module's own."""
    name = f"api-{uuid.uuid4().hex[:8]}"
    clips = learnable.make_clips(tmp_path_factory.mktemp("api-clips"), per_class=3)
    with session_scope(settings.database_url) as session:
        learnable.insert_task(session, clips, name, traces_per_question=2)
        learnable.insert_task(session, clips[:2], name + "-strict", policy="contradiction>=0.60+strict")
    return name


def problem(response, status: int, *words: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    for word in words:
        assert word in body["detail"], body["detail"]
    return dict(body)


def test_a_cot_snapshot_records_counts_provenance_and_both_exports(client: TestClient, category: str) -> None:
    response = client.post("/v1/datasets", json={"name": category, "variant": "cot",
                                                 "filters": {"categories": [category], "split": "train"}})
    assert response.status_code == 201, response.text
    dataset = response.json()
    assert response.headers["location"] == f"/v1/datasets/{dataset['id']}"
    assert dataset["version"] == 1 and dataset["variant"] == "cot"
    assert dataset["counts"]["records"] == dataset["counts"]["traces"] == 12  # 6 clips x 2 traces
    assert dataset["counts"]["questions"] == dataset["counts"]["clips"] == 6
    assert dataset["provenance"]["teacher_models"] == [learnable.TEACHER]
    assert dataset["provenance"]["prompt_versions"] == ["audio-cot-v1"]
    assert dataset["provenance"]["verifier_policies"] == [learnable.POLICY]

    lines = Path(dataset["jsonl_url"].removeprefix("file://")).read_text().splitlines()
    records = [DatasetRecord.model_validate_json(line) for line in lines]
    assert len(records) == 12
    first = records[0]
    assert first.target.startswith("<think>I listen.</think><answer>") and "<claims>" not in first.target
    assert first.audio_path is not None and Path(first.audio_path).exists()
    assert first.answer_source == "gold"
    hf = hf_datasets.load_from_disk(dataset["hf_dataset_url"].removeprefix("file://"))
    assert hf.num_rows == 12 and {"audio_url", "audio_path", "prompt", "target"} <= set(hf.column_names)

    again = client.get(f"/v1/datasets/{dataset['id']}").json()
    assert again == dataset
    second = client.post("/v1/datasets", json={"name": category, "variant": "label-only",
                                               "filters": {"categories": [category]}}).json()
    assert second["version"] == 2 and second["counts"]["records"] == 6  # one per question
    listed = client.get("/v1/datasets", params={"name": category, "limit": 1}).json()
    assert [d["version"] for d in listed["items"]] == [2] and listed["next_cursor"]
    rest = client.get("/v1/datasets", params={"name": category, "cursor": listed["next_cursor"]}).json()
    assert [d["version"] for d in rest["items"]] == [1] and rest["next_cursor"] is None


def test_filters_on_policy_strictness_agreement_and_gold(client: TestClient, category: str) -> None:
    strict = client.post("/v1/datasets", json={"name": f"{category}-s", "filters": {
        "categories": [category, category + "-strict"], "strict_only": True}})
    assert strict.status_code == 201 and strict.json()["counts"]["records"] == 4
    assert strict.json()["provenance"]["verifier_policies"] == ["contradiction>=0.60+strict"]
    exact = client.post("/v1/datasets", json={"name": f"{category}-p", "filters": {
        "categories": [category, category + "-strict"], "verifier_policy": learnable.POLICY}}).json()
    assert exact["counts"]["records"] == 12
    gold = client.post("/v1/datasets", json={"name": f"{category}-g", "filters": {
        "categories": [category], "match_gold": True}}).json()
    assert 0 < gold["counts"]["records"] < 12 and gold["counts"]["skipped"]["filtered"] > 0


def test_an_empty_selection_is_422_with_a_clear_detail(client: TestClient, category: str) -> None:
    response = client.post("/v1/datasets", json={"filters": {"categories": ["no-such-category"]}})
    problem(response, 422, "empty", "filters")
    problem(client.post("/v1/datasets", json={"filters": {"min_agreement": 1.5}}), 422, "min_agreement")
    problem(client.post("/v1/datasets", json={"variant": "essay"}), 422, "variant")
    problem(client.get(f"/v1/datasets/{uuid.uuid4()}"), 404, "no dataset")


def test_the_idempotency_key_replays_or_refuses(client: TestClient, category: str) -> None:
    body = {"name": f"{category}-idem", "filters": {"categories": [category]}}
    key = {"Idempotency-Key": f"ds-{uuid.uuid4()}"}
    first = client.post("/v1/datasets", json=body, headers=key)
    replay = client.post("/v1/datasets", json=body, headers=key)
    assert first.status_code == 201 and replay.status_code == 200
    assert replay.json()["id"] == first.json()["id"] and replay.headers["idempotent-replayed"] == "true"
    problem(client.post("/v1/datasets", json={**body, "variant": "label-only"}, headers=key), 409, "different")


@pytest.fixture(scope="module")
def dataset_id(client: TestClient, category: str) -> str:
    response = client.post("/v1/datasets", json={"name": f"{category}-run", "filters": {"categories": [category]}})
    return str(response.json()["id"])


def test_a_training_run_is_queued_with_202_and_sent_to_the_train_queue(
    client: TestClient, settings: Settings, dataset_id: str
) -> None:
    queue = redis.Redis.from_url(settings.redis_url)
    before = queue.llen("train")
    response = client.post("/v1/training-runs", json={
        "dataset_id": dataset_id, "student_model": "tiny-random", "stages": ["sft", "grpo"],
        "hyperparameters": {"lora": {"rank": 8}, "sft": {"max_steps": 3}, "grpo": {"steps": 2}}})
    assert response.status_code == 202, response.text
    run = response.json()
    assert response.headers["location"] == f"/v1/training-runs/{run['id']}"
    assert run["state"] == "queued" and run["stages"] == ["sft", "grpo"] and run["checkpoints"] == []
    assert run["hyperparameters"]["lora"]["rank"] == 8 and run["hyperparameters"]["grpo"]["num_generations"] == 8
    assert queue.llen("train") == before + 1
    message = json.loads(queue.lindex("train", 0))  # type: ignore[arg-type]
    assert message["headers"]["task"] == "sightsound.train_run" and run["id"] in message["headers"]["argsrepr"]
    assert client.get(f"/v1/training-runs/{run['id']}").json()["state"] == "queued"
    listed = client.get("/v1/training-runs", params={"dataset_id": dataset_id}).json()
    assert run["id"] in [r["id"] for r in listed["items"]]
    client.post(f"/v1/training-runs/{run['id']}/cancel")  # no worker here: leave nothing queued


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"hyperparameters": {"lora": {"rank": 0}}}, ["lora.rank"]),
        ({"hyperparameters": {"grpo": {"num_generations": 1}}}, ["num_generations"]),
        ({"hyperparameters": {"sft": {"learning_rate": 5.0}}}, ["learning_rate"]),
        ({"hyperparameters": {"grpo": {"temperature": 0}}}, ["temperature"]),
        ({"hyperparameters": {"sft": {"batch_size": 10_000}}}, ["batch_size"]),
        ({"hyperparameters": {"sft": {"epochs": 2, "unknown": 1}}}, ["unknown"]),
        ({"stages": []}, ["stages"]),
        ({"stages": ["grpo", "sft"]}, ["order"]),
        ({"stages": ["sft", "sft"]}, ["repeat"]),
        ({"stages": ["dpo"]}, ["stages"]),
        ({"student_model": ""}, ["student_model"]),
    ],
)
def test_bad_training_run_requests_are_422(client: TestClient, dataset_id: str, body: dict, words: list[str]) -> None:
    problem(client.post("/v1/training-runs", json={"dataset_id": dataset_id, "student_model": "tiny-random", **body}),
            422, *words)


def test_an_unknown_dataset_is_refused(client: TestClient) -> None:
    missing = uuid.uuid4()
    problem(client.post("/v1/training-runs", json={"dataset_id": str(missing), "student_model": "tiny-random"}),
            422, str(missing), "POST /v1/datasets")
    problem(client.get(f"/v1/training-runs/{uuid.uuid4()}"), 404, "no training run")


def test_a_training_run_idempotency_key_replays_the_same_run(client: TestClient, dataset_id: str) -> None:
    body = {"dataset_id": dataset_id, "student_model": "tiny-random", "stages": ["sft"]}
    key = {"Idempotency-Key": f"run-{uuid.uuid4()}"}
    first = client.post("/v1/training-runs", json=body, headers=key)
    again = client.post("/v1/training-runs", json=body, headers=key)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    problem(client.post("/v1/training-runs", json={**body, "stages": ["grpo"]}, headers=key), 409, "different")
    client.post(f"/v1/training-runs/{first.json()['id']}/cancel")


def test_cancel_stops_a_queued_run_at_once_and_refuses_a_finished_one(
    client: TestClient, settings: Settings, dataset_id: str
) -> None:
    run = client.post("/v1/training-runs", json={"dataset_id": dataset_id, "student_model": "tiny-random"}).json()
    cancelled = client.post(f"/v1/training-runs/{run['id']}/cancel")
    assert cancelled.status_code == 202 and cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["cancel_requested"] is True and cancelled.json()["finished_at"]
    problem(client.post(f"/v1/training-runs/{run['id']}/cancel"), 409, "cancelled")

    running = client.post("/v1/training-runs", json={"dataset_id": dataset_id, "student_model": "tiny-random"}).json()
    with session_scope(settings.database_url) as session:
        session.get_one(TrainingRun, uuid.UUID(running["id"])).state = RunState.running
    flagged = client.post(f"/v1/training-runs/{running['id']}/cancel").json()
    assert flagged["state"] == "running" and flagged["cancel_requested"] is True  # the worker stops it
    with session_scope(settings.database_url) as session:
        session.get_one(TrainingRun, uuid.UUID(running["id"])).state = RunState.cancelled


def test_openapi_documents_the_new_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/datasets", "/v1/datasets/{dataset_id}", "/v1/training-runs", "/v1/training-runs/{run_id}",
            "/v1/training-runs/{run_id}/cancel"} <= set(paths)
