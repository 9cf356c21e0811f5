"""Benchmark files in each real format (tests/question_sources/fixtures) and their media, generated once.

The media are made by sightsound_devdata.clipgen with content no other test uses (their own tones and noise
seeds), so the importer tests can count the clips they create and delete them between tests.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import soundfile

from sightsound_devdata.clipgen import Mix, Noise, Tone, VideoSpec, make_clip

FIXTURES = Path(__file__).parent / "fixtures"
SMALL = VideoSpec(width=96, height=64, fps=10)
WAV_RATE = 22_050


def load_fixture(name: str) -> list[Any]:
    data: list[Any] = json.loads((FIXTURES / name).read_text())
    return data


def write_json(path: Path, entries: Any) -> Path:
    path.write_text(json.dumps(entries, indent=1))
    return path


@pytest.fixture(scope="session")
def mmau_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder like the unpacked test-mini audio archive: ``test-mini-audios/<id>.wav`` + the JSON."""
    root = tmp_path_factory.mktemp("mmau")
    audio = root / "test-mini-audios"
    audio.mkdir()
    for i, entry in enumerate(load_fixture("mmau-test-mini.json")):
        samples = Mix((Tone(523.0 + 97 * i, 1.5), Noise(1.5, 0.05, seed=9100 + i))).render(WAV_RATE)
        soundfile.write(audio / Path(entry["audio_id"]).name, samples, WAV_RATE, subtype="PCM_16")
    shutil.copy(FIXTURES / "mmau-test-mini.json", root / "mmau-test-mini.json")
    return root


def _videos(root: Path, names: list[str], seed: int) -> Path:
    for i, name in enumerate(names):
        audio = Mix((Tone(311.0 + 53 * i + seed, 1.0), Noise(1.0, 0.05, seed=seed + i)))
        make_clip(root / f"{name}.mp4", SMALL, audio, 1.0)
    return root


@pytest.fixture(scope="session")
def music_avqa_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MUSIC-AVQA's videos are ``<video_id>.mp4``."""
    return _videos(tmp_path_factory.mktemp("music-avqa"), ["00000001", "00000002"], seed=9200)


@pytest.fixture(scope="session")
def avqa_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """AVQA's videos are ``<video_name>.mp4``."""
    return _videos(tmp_path_factory.mktemp("avqa"), ["abcDEF12345_000030", "xyz-_98765a_000010"], seed=9300)


@pytest.fixture(scope="session")
def mmar_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder like MMAR's download: ``audio/<id>.wav`` beside ``MMAR-meta.json`` and ``MMAR-meta.jsonl``."""
    root = tmp_path_factory.mktemp("mmar")
    audio = root / "audio"
    audio.mkdir()
    entries = load_fixture("MMAR-meta.json")
    for i, entry in enumerate(entries):
        samples = Mix((Tone(415.0 + 71 * i, 1.2), Noise(1.2, 0.05, seed=9400 + i))).render(WAV_RATE)
        soundfile.write(audio / Path(entry["audio_path"]).name, samples, WAV_RATE, subtype="PCM_16")
    shutil.copy(FIXTURES / "MMAR-meta.json", root / "MMAR-meta.json")
    (root / "MMAR-meta.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    return root
