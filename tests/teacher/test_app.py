"""The teacher app over HTTP (TestClient): happy path, every 4xx, readiness and metrics."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from sightsound.config import Settings
from sightsound.contracts.teacher import ReasonRequest, ReasonResponse
from sightsound_teacher.app import create_app
from sightsound_teacher.backends import Generation
from sightsound_teacher.backends.transformers_backend import TransformersBackend

PROBLEM = "application/problem+json"


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "environment": "test",
        "teacher_model": "tiny-random",
        "teacher_device": "cpu",
        "teacher_max_k": 4,
        "teacher_max_frames": 3,
        "teacher_max_frame_side": 128,
    }
    return Settings(**(base | overrides))


@pytest.fixture(scope="module")
def client(tiny_backend: TransformersBackend) -> Iterator[TestClient]:
    with TestClient(create_app(settings(), backend=tiny_backend)) as test_client:
        yield test_client


def body(urls: list[str], **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "question": "What can be heard in this clip?",
        "choices": ["A person speaking", "A dog barking", "Music playing", "Silence"],
        "frame_urls": urls,
        "k": 3,
        "sampling": {"temperature": 1.0, "top_p": 0.95, "max_new_tokens": 72, "seed": 1},
    }
    return payload | overrides


def assert_problem(response: Any, status: int, kind: str, *detail_parts: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["type"].endswith("/" + kind), problem
    for part in detail_parts:
        assert part in problem["detail"], problem
    return problem


def test_reason_happy_path(client: TestClient, frame_urls: list[str]) -> None:
    response = client.post("/v1/reason", json=body(frame_urls))
    assert response.status_code == 200, response.text
    result = ReasonResponse.model_validate(response.json())
    assert (result.model, result.backend, result.prompt_version) == ("tiny-random", "transformers", "audio-cot-v1")
    assert result.sampling.seed == 1 and result.sampling.top_p == 0.95
    assert [s.index for s in result.samples] == [0, 1, 2]
    for sample in result.samples:
        assert sample.answer_index is not None and sample.parse_error is None
        block = sample.text.split("<claims>\n")[1].split("</claims>")[0]
        assert 1 <= len(block.splitlines()) <= 2
    answers = [s.answer_index for s in result.samples]
    assert result.consensus.policy == "unanimous"
    assert result.consensus.reached == (len(set(answers)) == 1)
    assert result.consensus.samples_used == 3


def test_same_seed_same_response(client: TestClient, frame_urls: list[str]) -> None:
    first = client.post("/v1/reason", json=body(frame_urls, k=2)).json()
    again = client.post("/v1/reason", json=body(frame_urls, k=2)).json()
    assert [s["text"] for s in first["samples"]] == [s["text"] for s in again["samples"]]


def test_k_above_limit(client: TestClient, frame_urls: list[str]) -> None:
    assert_problem(client.post("/v1/reason", json=body(frame_urls, k=5)), 422, "k-too-large", "k=5", "4")


def test_too_many_frames(client: TestClient, frame_urls: list[str]) -> None:
    urls = [*frame_urls, frame_urls[0]]
    assert_problem(client.post("/v1/reason", json=body(urls)), 422, "too-many-frames", "4 frames", "at most 3")


def test_frame_too_large(client: TestClient, frame_urls: list[str], tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    Image.new("RGB", (200, 100), (1, 2, 3)).save(big)
    problem = assert_problem(
        client.post("/v1/reason", json=body([frame_urls[0], big.as_uri()])),
        422,
        "frame-too-large",
        "frame 1",
        "200x100",
        "at most 128",
    )
    assert problem["frame_index"] == 1 and problem["frame_url"] == big.as_uri()


def test_missing_frame(client: TestClient, frame_urls: list[str], tmp_path: Path) -> None:
    missing = (tmp_path / "nope.jpg").as_uri()
    problem = assert_problem(
        client.post("/v1/reason", json=body([*frame_urls[:2], missing])), 422, "frame-unreadable", "frame 2"
    )
    assert problem["frame_index"] == 2


def test_frame_not_an_image(client: TestClient, tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not a jpeg")
    assert_problem(client.post("/v1/reason", json=body([text.as_uri()])), 422, "frame-not-an-image", "frame 0")


def test_truncated_image(client: TestClient, frame_urls: list[str], tmp_path: Path) -> None:
    whole = Path(frame_urls[0].removeprefix("file://")).read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole[: len(whole) // 2])
    assert_problem(client.post("/v1/reason", json=body([cut.as_uri()])), 422, "frame-not-an-image", "frame 0")


def test_unsupported_url_scheme(client: TestClient) -> None:
    assert_problem(
        client.post("/v1/reason", json=body(["http://169.254.169.254/latest/x.jpg"])),
        422,
        "frame-unsupported-url",
        "'http'",
    )


def test_max_new_tokens_too_small_for_structured_output(client: TestClient, frame_urls: list[str]) -> None:
    request = body(frame_urls, sampling={"max_new_tokens": 8})
    assert_problem(client.post("/v1/reason", json=request), 422, "max-new-tokens-too-small", "at least")


def test_schema_validation_is_a_problem(client: TestClient, frame_urls: list[str]) -> None:
    request = body(frame_urls, choices=["only", "three", "choices"])
    problem = assert_problem(client.post("/v1/reason", json=request), 422, "validation-error", "choices")
    assert problem["errors"][0]["field"] == "choices"
    assert_problem(client.post("/v1/reason", json=body([])), 422, "validation-error", "frame_urls")


def test_health_readiness_and_metrics(client: TestClient, frame_urls: list[str]) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["model"] == "tiny-random"
    client.post("/v1/reason", json=body(frame_urls, k=1))
    metrics = client.get("/metrics").text
    for name in (
        "sightsound_teacher_model_seconds_total",
        "sightsound_teacher_generated_tokens_total",
        "sightsound_teacher_prompt_tokens_total",
        'sightsound_teacher_samples_total{model="tiny-random",parsed="yes"}',
        "sightsound_teacher_votes_total",
        'sightsound_http_requests_total{method="POST",route="/v1/reason",service="teacher",status="200"}',
    ):
        assert name in metrics, name
    assert "/v1/reason" in client.get("/openapi.json").json()["paths"]


class ScriptedBackend:
    """A backend that returns fixed texts: drives the vote policy through the app."""

    name = "scripted"
    model_id = "scripted"
    ready = True

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts

    def load(self) -> None:
        pass

    def min_new_tokens(self) -> int:
        return 1

    def generate(self, request: ReasonRequest, frames: Sequence[Image.Image]) -> list[Generation]:
        return [Generation(text, 5.0, 10, 3) for text in self.texts[: request.k]]


def test_majority_policy_and_unparsed_samples(frame_urls: list[str]) -> None:
    texts = ["<answer>B</answer>", "<answer>2</answer>", "no tags at all"]
    app = create_app(settings(teacher_vote_policy="majority"), backend=ScriptedBackend(texts))
    with TestClient(app) as scripted:
        result = scripted.post("/v1/reason", json=body(frame_urls)).json()
    assert [s["answer_index"] for s in result["samples"]] == [1, 1, None]
    assert "missing <answer>" in result["samples"][2]["parse_error"]
    assert result["consensus"] == {
        "policy": "majority",
        "reached": True,
        "answer_index": 1,
        "agreement": pytest.approx(2 / 3),
        "samples_used": 2,
    }


class BrokenBackend(ScriptedBackend):
    ready = False

    def load(self) -> None:
        raise OSError("weights not found in /models/teacher")


def test_failed_load_is_reported_not_crashed(frame_urls: list[str]) -> None:
    with TestClient(create_app(settings(), backend=BrokenBackend([]))) as broken:
        assert broken.get("/healthz").status_code == 200
        assert_problem(broken.get("/readyz"), 503, "not-ready", "weights not found")
        assert_problem(broken.post("/v1/reason", json=body(frame_urls)), 503, "not-ready")


def test_default_backend_comes_from_settings(frame_urls: list[str]) -> None:
    with TestClient(create_app(settings())) as default:
        ready = default.get("/readyz").json()
        assert ready == {"status": "ready", "model": "tiny-random", "backend": "transformers"}
