"""The public API in-process (real PostgreSQL and Redis): uploads, bad input, jobs, traces, health."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sightsound.config import Settings
from sightsound.db.models import Clip, Job, Question
from sightsound.db.session import session_scope
from sightsound_api.main import create_app
from sightsound_devdata.clipgen import make_fake_mp4, make_truncated

CHOICES = ["A person speaking", "A dog barking", "Piano music", "Nothing at all"]


@pytest.fixture(scope="module")
def client(auth_headers: dict[str, str], settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers=auth_headers) as test_client:
        yield test_client
    # No worker runs here: drop the messages these tests enqueued so no later test's worker takes them.
    redis.Redis.from_url(settings.redis_url).flushdb()


def counts(settings: Settings) -> tuple[int, int, int]:
    with session_scope(settings.database_url) as s:
        return (
            s.scalar(select(func.count()).select_from(Clip)) or 0,
            s.scalar(select(func.count()).select_from(Question)) or 0,
            s.scalar(select(func.count()).select_from(Job)) or 0,
        )


def originals(settings: Settings) -> list[Path]:
    root = Path(settings.media_root) / "originals"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def upload(client: TestClient, path: Path, *, choices: object = CHOICES, headers: dict[str, str] | None = None,
           **fields: str):
    data: dict[str, object] = {"question": "What can be heard?", **fields}
    if isinstance(choices, str):
        data["choices"] = choices
    else:
        data["choices"] = list(choices)  # type: ignore[call-overload]
    with path.open("rb") as fh:
        return client.post("/v1/clips", files={"video": (path.name, fh, "video/mp4")}, data=data,
                           headers=headers or {})


def assert_problem(response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    for word in words:
        assert word in body["detail"], body["detail"]
    return body


def test_upload_answers_202_with_location_and_enqueues_ingest(
    client: TestClient, settings: Settings, speech_clip: Path
) -> None:
    queue = redis.Redis.from_url(settings.redis_url)
    before = queue.llen("ingest")
    # a question no other test asks, so the job is new whatever ran before (tests share the session database)
    question = f"What can be heard? ({uuid.uuid4().hex[:8]})"
    response = upload(client, speech_clip, answer_index="0", category="sound", question=question)
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["state"] == "queued" and job["deduplicated"] is False
    assert queue.llen("ingest") == before + 1
    message = json.loads(queue.lindex("ingest", 0))  # type: ignore[arg-type]
    assert message["headers"]["task"] == "sightsound.ingest_job"
    assert job["id"] in json.dumps(message["headers"]["argsrepr"])

    polled = client.get(response.headers["location"]).json()
    assert polled["id"] == job["id"] and polled["state"] == "queued"
    clip = client.get(f"/v1/clips/{job['clip_id']}").json()
    assert clip["has_audio"] is True and clip["duration_s"] > 2.0 and clip["width"] == 224
    assert clip["questions"][0]["choices"] == CHOICES and clip["questions"][0]["answer_index"] == 0
    assert clip["questions"][0]["category"] == "sound"


def test_same_upload_twice_is_deduplicated(client: TestClient, settings: Settings, speech_clip: Path) -> None:
    first = upload(client, speech_clip, answer_index="0", category="sound").json()
    rows = counts(settings)
    second = upload(client, speech_clip, answer_index="0", category="sound")
    assert second.status_code == 202
    assert second.json()["id"] == first["id"] and second.json()["deduplicated"] is True
    assert counts(settings) == rows
    # A new question on the same clip is a new job on the same clip row.
    third = upload(client, speech_clip, question="Is anyone talking?", answer_index="0").json()
    assert third["clip_id"] == first["clip_id"] and third["id"] != first["id"]
    assert counts(settings) == (rows[0], rows[1] + 1, rows[2] + 1)


def test_idempotency_key_replays_and_refuses_reuse(client: TestClient, settings: Settings,
                                                   speech_clip: Path) -> None:
    key = f"key-{uuid.uuid4()}"
    first = upload(client, speech_clip, question="Which sound comes first?", headers={"Idempotency-Key": key})
    assert first.status_code == 202
    again = upload(client, speech_clip, question="Which sound comes first?", headers={"Idempotency-Key": key})
    assert again.status_code == 202 and again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    rows = counts(settings)
    other = upload(client, speech_clip, question="Something else?", headers={"Idempotency-Key": key})
    assert_problem(other, 409, "Idempotency-Key")
    assert counts(settings) == rows


def test_choices_as_one_json_array(client: TestClient, speech_clip: Path) -> None:
    response = upload(client, speech_clip, choices=json.dumps(["w", "x", "y", "z"]), question="JSON choices?")
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("choices", "answer_index", "words"),
    [
        (CHOICES[:3], None, ("exactly 4 choices", "got 3")),
        ([*CHOICES, "A fifth"], None, ("exactly 4 choices", "got 5")),
        (json.dumps(["a", "b"]), None, ("exactly 4 choices",)),
        ("[not json", None, ("not a valid JSON array",)),
        (["a", "b", "", "d"], None, ("must not be empty",)),
        (["a", "b", "a", "d"], None, ("different",)),
        (CHOICES, "4", ("answer_index must be between 0 and 3",)),
        (CHOICES, "-1", ("answer_index must be between 0 and 3",)),
    ],
)
def test_bad_question_is_refused_and_nothing_is_written(
    client: TestClient, settings: Settings, speech_clip: Path, choices: object, answer_index: str | None,
    words: tuple[str, ...],
) -> None:
    rows, files = counts(settings), originals(settings)
    extra = {"answer_index": answer_index} if answer_index is not None else {}
    response = upload(client, speech_clip, choices=choices, question=f"bad {uuid.uuid4()}", **extra)
    assert_problem(response, 422, *words)
    assert counts(settings) == rows and originals(settings) == files


def test_non_integer_answer_index_and_missing_fields(client: TestClient, speech_clip: Path) -> None:
    assert_problem(upload(client, speech_clip, answer_index="B"), 422, "answer_index")
    response = client.post("/v1/clips", data={"question": "q"})
    body = assert_problem(response, 422, "video", "choices")
    assert {e["field"] for e in body["errors"]} >= {"video", "choices"}


def test_empty_question_and_bad_split(client: TestClient, speech_clip: Path) -> None:
    assert_problem(upload(client, speech_clip, question="   "), 422, "question must not be empty")
    assert_problem(upload(client, speech_clip, split="dev"), 422, "split must be one of")


def test_text_file_named_mp4_is_refused(client: TestClient, settings: Settings, tmp_path: Path) -> None:
    rows, files = counts(settings), originals(settings)
    body = assert_problem(upload(client, make_fake_mp4(tmp_path / "fake.mp4")), 415, "not a decodable video")
    assert body["type"].endswith("media-not-a-video")
    assert counts(settings) == rows and originals(settings) == files


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_truncated_mp4_is_refused(client: TestClient, settings: Settings, speech_clip: Path, tmp_path: Path,
                                  keep: float) -> None:
    rows, files = counts(settings), originals(settings)
    truncated = make_truncated(speech_clip, tmp_path / "cut.mp4", keep)
    response = upload(client, truncated)
    assert response.status_code in (415, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert counts(settings) == rows and originals(settings) == files


def test_empty_file_is_refused(client: TestClient, tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert_problem(upload(client, empty), 422, "empty")


def test_upload_over_the_size_limit_is_refused(auth_headers: dict[str,
                                               str], settings: Settings, speech_clip: Path) -> None:
    small = settings.model_copy(update={"max_upload_bytes": 2048})
    with TestClient(create_app(small), headers=auth_headers) as small_client:
        rows, files = counts(settings), originals(settings)
        body = assert_problem(upload(small_client, speech_clip, question=f"big {uuid.uuid4()}"), 413, "2048 bytes")
        assert body["type"].endswith("upload-too-large")
        assert counts(settings) == rows and originals(settings) == files


def test_clip_longer_than_the_limit_is_refused(auth_headers: dict[str,
                                               str], settings: Settings, speech_clip: Path) -> None:
    short = settings.model_copy(update={"max_duration_s": 1.0})
    with TestClient(create_app(short), headers=auth_headers) as short_client:
        assert_problem(upload(short_client, speech_clip, question=f"long {uuid.uuid4()}"), 422, "1")


def test_video_without_audio_track_is_accepted_for_reasoning(client: TestClient, silent_track_clip: Path) -> None:
    response = upload(client, silent_track_clip, question="Is anything heard?")
    assert response.status_code == 202
    clip = client.get(f"/v1/clips/{response.json()['clip_id']}").json()
    assert clip["has_audio"] is False


def test_unknown_ids(client: TestClient) -> None:
    assert_problem(client.get(f"/v1/jobs/{uuid.uuid4()}"), 404, "no job with id")
    assert_problem(client.get(f"/v1/clips/{uuid.uuid4()}"), 404, "no clip with id")
    assert_problem(client.get("/v1/jobs/not-a-uuid"), 422, "job_id")


def test_traces_filters_and_bad_cursor(client: TestClient) -> None:
    page = client.get("/v1/traces", params={"decision": "accepted", "category": "none-such"}).json()
    assert page == {"items": [], "next_cursor": None}
    assert_problem(client.get("/v1/traces", params={"cursor": "garbage!"}), 400, "cursor is not valid")
    assert_problem(client.get("/v1/traces", params={"decision": "maybe"}), 422, "decision")
    assert_problem(client.get("/v1/traces", params={"limit": 0}), 422, "limit")


def test_health_and_readiness(auth_headers: dict[str, str], client: TestClient, settings: Settings) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"postgres": "ok", "redis": "ok"}
    broken = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(broken), headers=auth_headers) as broken_client:
        response = broken_client.get("/readyz")
        assert response.status_code == 503 and response.json()["checks"]["redis"].startswith("error")


def test_openapi_documents_routes_errors_and_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/v1/clips", "/v1/clips/{clip_id}", "/v1/jobs/{job_id}", "/v1/traces", "/readyz"):
        assert path in spec["paths"], path
    post = spec["paths"]["/v1/clips"]["post"]
    assert {"202", "413", "415", "422"} <= set(post["responses"])
    assert "application/problem+json" in post["responses"]["415"]["content"]
    assert spec["components"]["schemas"]["JobOut"]["examples"]
    assert "/metrics" not in spec["paths"]
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert 'sightsound_queue_depth{queue="ingest"}' in metrics.text
    assert 'sightsound_jobs{state="queued"}' in metrics.text
    assert "sightsound_http_requests_total" in metrics.text
