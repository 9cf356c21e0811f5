"""The teacher app over HTTP (TestClient): happy path, every 4xx, readiness and metrics."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from sightsound.config import Settings
from sightsound.contracts.claim_language import claim_line_regex
from sightsound.contracts.teacher import ReasonRequest, ReasonResponse
from sightsound_teacher.app import create_app
from sightsound_teacher.backends import BackendUpstreamError, Generation
from sightsound_teacher.backends.transformers_backend import TransformersBackend
from sightsound_teacher.prompt import PROMPT_VERSION
from sightsound_teacher.regex_format import MAX_CLAIM_LINES
from tests.conftest import SERVICE_HEADERS

PROBLEM = "application/problem+json"


def settings(media_root: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "environment": "test",
        "media_root": media_root,
        "teacher_model": "tiny-random",
        "teacher_device": "cpu",
        "teacher_max_k": 4,
        "teacher_max_frames": 3,
        "teacher_max_frame_side": 128,
    }
    return Settings(**(base | overrides))


@pytest.fixture(scope="module")
def client(tiny_backend: TransformersBackend, media_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings(media_dir), backend=tiny_backend), headers=SERVICE_HEADERS) as test_client:
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
    assert (result.model, result.backend, result.prompt_version) == ("tiny-random", "transformers", PROMPT_VERSION)
    assert result.sampling.seed == 1 and result.sampling.top_p == 0.95
    assert [s.index for s in result.traces] == [0, 1, 2]
    for sample in result.traces:
        assert sample.answer_index is not None and sample.parse_error is None
        block = sample.text.split("<claims>\n")[1].split("</claims>")[0]
        assert 1 <= len(block.splitlines()) <= MAX_CLAIM_LINES
        assert all(claim_line_regex().fullmatch(line) for line in block.splitlines())
    answers = [s.answer_index for s in result.traces]
    assert result.consensus.policy == "unanimous"
    assert result.consensus.reached == (len(set(answers)) == 1)
    assert result.consensus.traces_used == result.consensus.traces_parsed == 3
    assert (result.k_requested, result.rounds) == (3, 1)
    assert all(s.completion_tokens_estimated is False for s in result.traces)


def test_same_seed_same_response(client: TestClient, frame_urls: list[str]) -> None:
    first = client.post("/v1/reason", json=body(frame_urls, k=2)).json()
    again = client.post("/v1/reason", json=body(frame_urls, k=2)).json()
    assert [s["text"] for s in first["traces"]] == [s["text"] for s in again["traces"]]


def test_k_above_limit(client: TestClient, frame_urls: list[str]) -> None:
    assert_problem(client.post("/v1/reason", json=body(frame_urls, k=5)), 422, "k-too-large", "k=5", "4")


def test_too_many_frames(client: TestClient, frame_urls: list[str]) -> None:
    urls = [*frame_urls, frame_urls[0]]
    assert_problem(client.post("/v1/reason", json=body(urls)), 422, "too-many-frames", "4 frames", "at most 3")


def test_frame_too_large(client: TestClient, frame_urls: list[str], media_tmp: Path) -> None:
    big = media_tmp / "big.jpg"
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


def test_missing_frame(client: TestClient, frame_urls: list[str], media_tmp: Path) -> None:
    missing = (media_tmp / "nope.jpg").as_uri()
    problem = assert_problem(
        client.post("/v1/reason", json=body([*frame_urls[:2], missing])), 422, "frame-unreadable", "frame 2"
    )
    assert problem["frame_index"] == 2


def test_frame_not_an_image(client: TestClient, media_tmp: Path) -> None:
    text = media_tmp / "notes.jpg"
    text.write_text("not a jpeg")
    assert_problem(client.post("/v1/reason", json=body([text.as_uri()])), 422, "frame-not-an-image", "frame 0")


def test_truncated_image(client: TestClient, frame_urls: list[str], media_tmp: Path) -> None:
    whole = Path(frame_urls[0].removeprefix("file://")).read_bytes()
    cut = media_tmp / "cut.jpg"
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


def test_majority_policy_and_unparsed_samples(frame_urls: list[str], media_dir: Path) -> None:
    texts = ["<answer>B</answer>", "<answer>2</answer>", "no tags at all"]
    app = create_app(settings(media_dir, teacher_vote_policy="majority"), backend=ScriptedBackend(texts))
    with TestClient(app, headers=SERVICE_HEADERS) as scripted:
        result = scripted.post("/v1/reason", json=body(frame_urls)).json()
    assert [s["answer_index"] for s in result["traces"]] == [1, 1, None]
    assert "missing <answer>" in result["traces"][2]["parse_error"]
    assert result["consensus"] == {
        "policy": "majority",
        "reached": True,
        "answer_index": 1,
        "agreement": pytest.approx(2 / 3),
        "traces_used": 3,
        "traces_parsed": 2,
    }


class BrokenBackend(ScriptedBackend):
    ready = False

    def load(self) -> None:
        raise OSError("weights not found in /models/teacher")


def test_failed_load_is_reported_not_crashed(frame_urls: list[str], media_dir: Path) -> None:
    with TestClient(create_app(settings(media_dir), backend=BrokenBackend([])), headers=SERVICE_HEADERS) as broken:
        assert broken.get("/healthz").status_code == 200
        assert_problem(broken.get("/readyz"), 503, "not-ready", "weights not found")
        assert_problem(broken.post("/v1/reason", json=body(frame_urls)), 503, "not-ready")


def test_default_backend_comes_from_settings(media_dir: Path) -> None:
    with TestClient(create_app(settings(media_dir)), headers=SERVICE_HEADERS) as default:
        ready = default.get("/readyz").json()
        assert ready == {"status": "ready", "model": "tiny-random", "backend": "transformers"}


# --- frames only from the media root ---------------------------------------------------------------


def test_file_outside_the_media_root_is_refused(client: TestClient, tmp_path: Path) -> None:
    outside = make_frame(tmp_path / "outside.jpg")
    problem = assert_problem(
        client.post("/v1/reason", json=body([outside.as_uri()])), 422, "frame-outside-media-root", "frame 0"
    )
    assert problem["frame_url"] == outside.as_uri()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file://{root}/../../etc/passwd",
        "file://{root}/%2e%2e/%2e%2e/etc/passwd",
        "file://otherhost{root}/x.jpg",
        "s3://bucket{root}/x.jpg",
        "memory://{root}/x.jpg",
    ],
)
def test_urls_escaping_the_media_root_are_refused(client: TestClient, media_dir: Path, url: str) -> None:
    request = body([url.format(root=media_dir.resolve())])
    problem = assert_problem(client.post("/v1/reason", json=request), 422, "frame-outside-media-root")
    assert "media root" in problem["detail"]


def test_symlink_out_of_the_media_root_is_refused(client: TestClient, media_tmp: Path, tmp_path: Path) -> None:
    target = make_frame(tmp_path / "secret.jpg")
    link = media_tmp / "link.jpg"
    link.symlink_to(target)
    assert_problem(client.post("/v1/reason", json=body([link.as_uri()])), 422, "frame-outside-media-root")


def make_frame(path: Path) -> Path:
    Image.new("RGB", (32, 32), (9, 9, 9)).save(path)
    return path


# --- upstream failures and adaptive sampling through the app ---------------------------------------


class FailingBackend(ScriptedBackend):
    def __init__(self, error: Exception) -> None:
        super().__init__([])
        self.error = error

    def generate(self, request: ReasonRequest, frames: Sequence[Image.Image]) -> list[Generation]:
        raise self.error


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (
            BackendUpstreamError("server down", status=502, kind="upstream-unavailable", upstream_status=503),
            502,
            "upstream-unavailable",
        ),
        (BackendUpstreamError("took too long", status=504, kind="upstream-timeout"), 504, "upstream-timeout"),
        (
            BackendUpstreamError("context too long", status=422, kind="upstream-rejected-request", upstream_status=400),
            422,
            "upstream-rejected-request",
        ),
    ],
)
def test_upstream_errors_are_problems(
    frame_urls: list[str], media_dir: Path, error: BackendUpstreamError, status: int, kind: str
) -> None:
    with TestClient(create_app(settings(media_dir), backend=FailingBackend(error)), headers=SERVICE_HEADERS) as failing:
        problem = assert_problem(failing.post("/v1/reason", json=body(frame_urls)), status, kind, error.detail)
    assert problem.get("upstream_status") == error.upstream_status


class RecordingBackend(ScriptedBackend):
    """Answers round after round from a script and records the k and seed of each call."""

    def __init__(self, texts: list[str]) -> None:
        super().__init__(texts)
        self.calls: list[tuple[int, int | None]] = []

    def generate(self, request: ReasonRequest, frames: Sequence[Image.Image]) -> list[Generation]:
        start = sum(k for k, _ in self.calls)
        self.calls.append((request.k, request.sampling.seed))
        return [Generation(text, 5.0, 10, 3) for text in self.texts[start : start + request.k]]


def test_adaptive_sampling_stops_when_unanimity_is_impossible(frame_urls: list[str], media_dir: Path) -> None:
    backend = RecordingBackend(["<answer>A</answer>", "<answer>B</answer>"] + ["<answer>A</answer>"] * 6)
    app = create_app(settings(media_dir, teacher_adaptive=True, teacher_max_k=8), backend=backend)
    with TestClient(app, headers=SERVICE_HEADERS) as adaptive:
        result = ReasonResponse.model_validate(adaptive.post("/v1/reason", json=body(frame_urls, k=8)).json())
        metrics = adaptive.get("/metrics").text
    assert backend.calls == [(2, 1)]
    assert (result.k_requested, result.rounds, len(result.traces)) == (8, 1, 2)
    assert not result.consensus.reached and result.consensus.traces_used == 2
    assert 'sightsound_teacher_samples_saved_total{model="scripted"} 6.0' in metrics


def test_adaptive_sampling_draws_all_k_when_they_agree(frame_urls: list[str], media_dir: Path) -> None:
    backend = RecordingBackend(["<answer>C</answer>"] * 8)
    app = create_app(settings(media_dir, teacher_adaptive=True, teacher_max_k=8), backend=backend)
    with TestClient(app, headers=SERVICE_HEADERS) as adaptive:
        result = ReasonResponse.model_validate(adaptive.post("/v1/reason", json=body(frame_urls, k=8)).json())
    assert backend.calls == [(2, 1), (2, 3), (4, 5)]  # rounds 2, 2, 4; each seeded past the last
    assert [s.index for s in result.traces] == list(range(8))
    assert result.rounds == 3 and result.consensus.reached and result.consensus.answer_index == 2


def test_adaptive_majority_stops_once_the_winner_is_out_of_reach(frame_urls: list[str], media_dir: Path) -> None:
    backend = RecordingBackend(["<answer>D</answer>"] * 8)
    overrides = {"teacher_adaptive": True, "teacher_max_k": 8, "teacher_vote_policy": "majority"}
    with TestClient(create_app(settings(media_dir, **overrides), backend=backend), headers=SERVICE_HEADERS) as adaptive:
        result = ReasonResponse.model_validate(adaptive.post("/v1/reason", json=body(frame_urls, k=8)).json())
    assert backend.calls == [(2, 1), (3, 3)]  # 5 of 8 for D: no rival can catch up
    assert result.consensus.reached and result.consensus.answer_index == 3 and result.consensus.traces_used == 5


def test_greedy_requests_are_one_call_even_when_adaptive(frame_urls: list[str], media_dir: Path) -> None:
    backend = RecordingBackend(["<answer>A</answer>", "<answer>B</answer>"] * 4)
    with TestClient(create_app(settings(media_dir, teacher_adaptive=True), backend=backend),
                    headers=SERVICE_HEADERS) as adaptive:
        request = body(frame_urls, k=4, sampling={"temperature": 0.0, "max_new_tokens": 72, "seed": 1})
        assert adaptive.post("/v1/reason", json=request).status_code == 200
    assert backend.calls == [(4, 1)]
