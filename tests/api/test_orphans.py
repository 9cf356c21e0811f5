"""Issue 12B, finding 7: nothing is stored for a request that is refused, and what was stored without a row is
collected. A NUL (or another control character) in the question gave a 500 after the file was stored; originals
were stored before their row, student uploads never get one, dataset exports are written before their commit."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from sightsound.collect import collect_orphans
from sightsound.config import Settings
from sightsound.contracts.student import check_question
from sightsound.db.models import Clip, Dataset
from sightsound.db.session import session_scope
from sightsound.media.store import MediaStore, original_key
from sightsound_api.main import create_app

CHOICES = ["A person speaking", "A dog barking", "Piano music", "Nothing at all"]


@pytest.fixture(scope="module")
def local(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings.model_copy(update={"media_root": tmp_path_factory.mktemp("media"),
                                       "dataset_root": tmp_path_factory.mktemp("datasets")})


@pytest.fixture(scope="module")
def client(auth_headers: dict[str, str], local: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(local), headers=auth_headers) as test_client:
        yield test_client
    redis.Redis.from_url(local.redis_url).flushdb()


def stored(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize("field", ["question", "choices", "category"])
def test_nul_in_any_text_is_422_before_anything_is_stored(client: TestClient, local: Settings, speech_clip: Path,
                                                         field: str) -> None:
    data: dict[str, object] = {"question": "What can be heard?", "choices": CHOICES, "category": "sound"}
    data[field] = ["A\x00", *CHOICES[1:]] if field == "choices" else "bad\x00text"
    with speech_clip.open("rb") as fh:
        response = client.post("/v1/clips", files={"video": ("c.mp4", fh, "video/mp4")}, data=data)
    assert response.status_code == 422, response.text
    assert "control character" in response.json()["detail"]
    assert stored(Path(local.media_root) / "originals") == []


def test_the_student_question_refuses_control_characters() -> None:
    with pytest.raises(ValueError, match="control character"):
        check_question("what\x00is heard")
    assert check_question("line one\nline two\ttab") == "line one\nline two\ttab"


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_the_collector_removes_only_old_files_no_row_points_to(local: Settings) -> None:
    store = MediaStore(local.media_root)
    kept_hash, orphan_hash, young_hash = "a1" * 32, "b2" * 32, "c3" * 32
    for digest in (kept_hash, orphan_hash, young_hash):
        store.put_bytes(original_key(digest), b"video")
        store.put_bytes(f"audio/{digest[:2]}/{digest}-16000.wav", b"audio")
    with session_scope(local.database_url) as session:
        session.add(Clip(id=uuid.uuid4(), content_hash=kept_hash, media_url=store.url(original_key(kept_hash)),
                         size_bytes=5, duration_s=1.0, has_audio=True,
                         audio_url=store.url(f"audio/{kept_hash[:2]}/{kept_hash}-16000.wav")))
    export = Path(local.dataset_root) / "lost" / "v1"
    export.mkdir(parents=True)
    (export / "data.jsonl").write_text("{}\n")
    tmp = Path(local.media_root) / "tmp" / "upload-crashed"
    tmp.mkdir(parents=True)
    (tmp / "upload").write_bytes(b"partial")
    old = local.orphan_grace_s + 60
    for path in [*stored(Path(local.media_root)), export, export / "data.jsonl", tmp, tmp / "upload"]:
        if young_hash not in str(path):
            age(path, old)
    report = collect_orphans(local)
    left = {p.name for p in stored(Path(local.media_root))}
    assert kept_hash in left and f"{kept_hash}-16000.wav" in left  # a row points to them
    assert young_hash in left and f"{young_hash}-16000.wav" in left  # too young: an upload may be in flight
    assert orphan_hash not in left and f"{orphan_hash}-16000.wav" not in left
    assert not export.exists() and not tmp.exists()
    assert report["originals"] == 1 and report["audio"] == 1 and report["datasets"] == 1
    with session_scope(local.database_url) as session:  # a recorded dataset's export is kept
        recorded = Path(local.dataset_root) / "kept" / "v1"
        recorded.mkdir(parents=True)
        age(recorded, old)
        session.add(Dataset(name="kept", version=1, export_url=recorded.resolve().as_uri(), counts={}))
    collect_orphans(local)
    assert recorded.exists()


def test_beat_runs_the_collector(settings: Settings) -> None:
    from sightsound.tasks.app import make_celery

    tasks = {entry["task"] for entry in make_celery(settings).conf.beat_schedule.values()}
    assert "sightsound.collect_orphans" in tasks
