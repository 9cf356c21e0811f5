"""No leakage: a clip holding a test question, and a re-encoded copy of it, never feed a training snapshot.

Three clips, each with a train question whose trace the verifier accepted:

- ``held``: the same clip also holds a TEST question (imported from a benchmark, say);
- ``copy``: another upload of the same sound, re-encoded by ffmpeg as a 32 kbit/s MP3 (another content hash);
- ``fresh``: other audio.

Only ``fresh`` feeds the snapshot; the snapshot says what it left out and why.
"""

from __future__ import annotations

import hashlib
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile
from fastapi.testclient import TestClient

from sightsound.config import Settings
from sightsound.contracts.training import DatasetRecord
from sightsound.db.models import Clip, Job, JobState, Question, Split, Trace, TraceDecision
from sightsound.db.session import session_scope
from sightsound.media.waveform import extract_audio
from sightsound_api.main import create_app
from sightsound_devdata.clipgen import Concat, NoiseBursts, Silence, Speech

RATE = 16_000
CHOICES = ["A dog", "Speech", "A car", "Rain"]


@pytest.fixture(scope="module")
def client(auth_headers: dict[str,
           str], settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    local = settings.model_copy(update={"dataset_root": tmp_path_factory.mktemp("leak-datasets")})
    with TestClient(create_app(local), headers=auth_headers) as test_client:
        yield test_client


def stored_audio(folder: Path, name: str, samples: object) -> Path:
    path = folder / f"{name}-16k.wav"
    soundfile.write(path, samples, RATE)
    return path


def add_clip(session, category: str, name: str, audio: Path, splits: list[Split]) -> uuid.UUID:  # type: ignore[no-untyped-def]
    clip = Clip(id=uuid.uuid4(), content_hash=hashlib.sha256(f"{category}:{name}".encode()).hexdigest(),
                media_url=audio.as_uri(), filename=audio.name, size_bytes=1, duration_s=3.0, has_audio=True,
                audio_url=audio.as_uri())
    session.add(clip)
    for i, split in enumerate(splits):
        question = Question(id=uuid.uuid4(), clip=clip, fingerprint=hashlib.sha256(f"{name}{i}".encode()).hexdigest(),
                            text=f"What is heard ({i})?", choices=CHOICES, answer_index=1, category=category,
                            split=split, source="leak-test")
        session.add(question)
        if split != Split.train:
            continue
        job = Job(id=uuid.uuid4(), question=question, state=JobState.accepted, consensus_answer_index=1,
                  agreement=1.0, traces_used=1)
        session.add(job)
        session.flush()
        trace = Trace(job_id=job.id, trace_index=0, text="<think>A voice.</think><answer>B</answer>", answer_index=1,
                      model="vlm", backend="test", prompt_version="audio-cot-v1", sampling={}, latency_ms=1.0,
                      prompt_tokens=1, completion_tokens=1)
        session.add(trace)
        session.flush()
        session.add(TraceDecision(trace_id=trace.id, decision="accepted", policy="contradiction>=0.60", reasons=[]))
    session.flush()
    return clip.id


@pytest.fixture(scope="module")
def category(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, uuid.UUID]]:
    folder = tmp_path_factory.mktemp("leak-audio")
    category = f"leak-{uuid.uuid4().hex[:8]}"
    sound = Concat([Silence(0.2), Speech("the dog barks at the red car", words_per_minute=170)]).render(RATE)
    original = folder / "original.wav"
    soundfile.write(original, sound, RATE)
    mp3 = folder / "copy.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(original), "-ar", "44100", "-ac", "2", "-b:a", "32k",
                    str(mp3)], check=True)
    copy = extract_audio(mp3)  # what ingest stores for the re-encoded upload
    other = NoiseBursts(4, seed=3).render(RATE)
    with session_scope(settings.database_url) as session:
        ids = {
            "held": add_clip(session, category, "held", stored_audio(folder, "held", sound),
                             [Split.train, Split.test]),
            "copy": add_clip(session, category, "copy", stored_audio(folder, "copy", copy), [Split.train]),
            "fresh": add_clip(session, category, "fresh", stored_audio(folder, "fresh", other), [Split.train]),
        }
    return category, ids


def test_a_test_clip_and_its_reencoded_copy_are_kept_out_of_training(
    client: TestClient, settings: Settings, category: tuple[str, dict[str, uuid.UUID]]
) -> None:
    name, ids = category
    response = client.post("/v1/datasets", json={"name": name, "variant": "cot", "filters": {"categories": [name]}})
    assert response.status_code == 201, response.text
    dataset = response.json()
    lines = Path(dataset["jsonl_url"].removeprefix("file://")).read_text().splitlines()
    records = [DatasetRecord.model_validate_json(line) for line in lines]
    assert [r.clip_id for r in records] == [ids["fresh"]]
    assert dataset["counts"]["excluded"] == {"rows": {"same_clip": 1, "same_audio": 1},
                                             "clips": {"same_clip": 1, "same_audio": 1}}
    listed = {e["clip_id"]: e for e in dataset["provenance"]["leakage_guard"]["excluded_clips"]}
    assert listed[str(ids["held"])]["reason"] == "same_clip"
    assert listed[str(ids["copy"])]["reason"] == "same_audio"
    assert listed[str(ids["copy"])]["held_out_clip_id"] == str(ids["held"])
    assert listed[str(ids["copy"])]["distance_db"] <= 4.0
    with session_scope(settings.database_url) as session:
        stored = session.get(Clip, ids["copy"])
        assert stored is not None and stored.audio_fingerprint and stored.audio_fingerprint["version"] == 1

    label_only = client.post("/v1/datasets", json={"name": f"{name}-labels", "variant": "label-only",
                                                   "filters": {"categories": [name]}}).json()
    assert label_only["counts"]["records"] == 1 and label_only["counts"]["excluded"]["clips"]["same_audio"] == 1


def test_test_questions_never_feed_a_snapshot(client: TestClient, category: tuple[str, dict[str, uuid.UUID]]) -> None:
    name, _ = category
    response = client.post("/v1/datasets", json={"name": f"{name}-t", "filters": {"categories": [name],
                                                                                  "split": "test"}})
    assert response.status_code == 422 and "empty" in response.json()["detail"]
