from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from PIL import Image

from sightsound.media import ingest
from sightsound.media.ingest import (
    extract_audio,
    extract_frames,
    fit_within,
    ingest_clip,
    pick_nearest,
    sample_frame_times,
)
from sightsound.media.store import MediaStore, sha256_file
from sightsound_devdata.clipgen import VideoSpec, make_clip


def dominant_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*") if p.is_file()}


# --- pure -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("duration", "n"), [(2.0, 16), (10.0, 1), (0.5, 3), (600.0, 256)])
def test_sample_frame_times_are_segment_centers(duration: float, n: int) -> None:
    times = sample_frame_times(duration, n)
    assert len(times) == n
    step = duration / n
    assert times[0] == pytest.approx(step / 2)
    assert np.allclose(np.diff(times), step)
    assert times[0] > 0 and times[-1] < duration


def test_sample_frame_times_rejects_no_frames() -> None:
    with pytest.raises(ValueError):
        sample_frame_times(2.0, 0)


def test_pick_nearest() -> None:
    timed = [(0.0, 0), (1.0, 1), (2.0, 2), (3.0, 3)]
    assert pick_nearest(timed, [0.2, 0.5, 0.51, 2.9, 3.0, 7.0]) == [0, 0, 1, 3, 3, 3]
    assert pick_nearest(timed, [-1.0]) == [0]
    assert pick_nearest([], [1.0]) == []
    assert pick_nearest(iter(timed), []) == []
    with pytest.raises(ValueError):
        pick_nearest(timed, [2.0, 1.0])


def test_pick_nearest_stops_consuming_once_done() -> None:
    def frames() -> Iterator[tuple[float, str]]:
        yield 0.0, "a"
        yield 1.0, "b"
        raise AssertionError("read past the last target")

    assert pick_nearest(frames(), [0.4, 0.9]) == ["a", "b"]


@pytest.mark.parametrize(
    ("size", "side", "expected"),
    [
        ((1920, 1080), 448, (448, 252)),
        ((1080, 1920), 448, (252, 448)),
        ((320, 240), 448, (320, 240)),
        ((448, 448), 448, (448, 448)),
        ((4000, 10), 100, (100, 1)),
    ],
)
def test_fit_within(size: tuple[int, int], side: int, expected: tuple[int, int]) -> None:
    assert fit_within(*size, side) == expected


# --- frames ---------------------------------------------------------------------------------------


def test_extract_frames_count_size_mode(clips: dict[str, Path]) -> None:
    frames = extract_frames(clips["tone"], 16, 64)
    assert len(frames) == 16
    assert all(f.size == (64, 48) and f.mode == "RGB" for f in frames)


def test_extract_frames_never_enlarges(clips: dict[str, Path]) -> None:
    assert {f.size for f in extract_frames(clips["noaudio"], 3, 448)} == {(160, 120)}


def shape_x(image: Image.Image) -> float:
    """Centroid column of the yellow shape (red and green high, blue low)."""
    a = np.asarray(image).astype(int)
    mask = (a[..., 0] > 150) & (a[..., 1] > 120) & (a[..., 2] < 100)
    assert mask.sum() > 20
    return float(np.nonzero(mask)[1].mean())


@pytest.mark.parametrize("n", [3, 16])  # 3: targets 2.5 s apart, reached by seeking; 16: decoded in one run
def test_extract_frames_picks_the_frames_nearest_the_targets(tmp_path: Path, n: int) -> None:
    spec = VideoSpec(width=320, height=96, fps=10, background=(0, 0, 90))
    duration = 7.6  # no target falls halfway between two frames
    path = make_clip(tmp_path / "moving.mp4", spec, None, duration, keyframe_every_s=1.0)
    frames = extract_frames(path, n, 320)
    for target, frame in zip(sample_frame_times(duration, n), frames, strict=True):
        assert abs(target * spec.fps % 1 - 0.5) > 0.1
        nearest = round(target * spec.fps) / spec.fps
        neighbours = [nearest - 1 / spec.fps, nearest, nearest + 1 / spec.fps]
        xs = [spec.shape_center(t, duration)[0] for t in neighbours]  # 3 px apart
        found = shape_x(frame)
        assert abs(found - xs[1]) < min(abs(found - xs[0]), abs(found - xs[2])), (target, found, xs)


# --- audio ----------------------------------------------------------------------------------------


def test_extract_audio_16k_mono_keeps_the_tone(clips: dict[str, Path]) -> None:
    audio = extract_audio(clips["tone"], 16_000)
    assert audio is not None
    assert audio.dtype == np.float32 and audio.ndim == 1
    # clipgen pads the last AAC frame (1024 samples at 44.1 kHz = 23 ms) with silence.
    assert 1.999 <= len(audio) / 16_000 <= 2.024
    assert dominant_hz(audio, 16_000) == pytest.approx(440.0, abs=2.0)
    rms = float(np.sqrt(np.mean(audio[1600:-1600] ** 2)))
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.1)  # amplitude 0.5 survives the codec


def test_extract_audio_other_rate(clips: dict[str, Path]) -> None:
    audio = extract_audio(clips["tone_mkv"], 8_000)
    assert audio is not None and 1.999 <= len(audio) / 8_000 <= 2.024
    assert dominant_hz(audio, 8_000) == pytest.approx(440.0, abs=2.0)


def test_extract_audio_without_track_is_none(clips: dict[str, Path]) -> None:
    assert extract_audio(clips["noaudio"]) is None


# --- ingest ---------------------------------------------------------------------------------------


def test_ingest_writes_frames_and_audio_and_is_idempotent(clips: dict[str, Path], tmp_path: Path) -> None:
    root = tmp_path / "media"
    store = MediaStore(root)
    digest = sha256_file(clips["tone"])
    kwargs: dict[str, Any] = {"content_hash": digest, "frames": 4, "max_side": 64, "sample_rate": 16_000}
    first = ingest_clip(clips["tone"], store, **kwargs)

    assert first.frame_size == (64, 48)
    assert len(first.frame_urls) == 4
    shard = f"{digest[:2]}/{digest}"
    assert first.frame_urls[2] == store.url(f"frames/{shard}/4x64/002.jpg")
    assert first.audio_url == store.url(f"audio/{shard}-16000.wav")
    assert first.audio_duration_s is not None and 1.999 <= first.audio_duration_s <= 2.024
    with Image.open(root / f"frames/{shard}/4x64/000.jpg") as image:
        assert image.format == "JPEG" and image.size == (64, 48)
    info = soundfile.info(root / f"audio/{shard}-16000.wav")
    assert (info.samplerate, info.channels, info.subtype) == (16_000, 1, "PCM_16")
    assert sorted(snapshot(root)) == sorted(
        [f"frames/{shard}/4x64/{i:03d}.jpg" for i in range(4)] + [f"audio/{shard}-16000.wav"]
    )

    before = snapshot(root)
    second = ingest_clip(clips["tone"], store, **kwargs)
    assert second == first
    assert snapshot(root) == before  # nothing written, nothing rewritten


def test_ingest_second_call_does_not_decode(
    clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MediaStore(tmp_path / "media")
    kwargs: dict[str, Any] = {
        "content_hash": sha256_file(clips["tone"]),
        "frames": 2,
        "max_side": 32,
        "sample_rate": 16_000,
    }
    first = ingest_clip(clips["tone"], store, **kwargs)

    def refuse(*args: object, **kw: object) -> None:
        raise AssertionError("decoded again")

    monkeypatch.setattr(ingest, "extract_frames", refuse)
    monkeypatch.setattr(ingest, "extract_audio", refuse)
    assert ingest_clip(clips["tone"], store, **kwargs) == first


def test_ingest_other_parameters_get_other_keys(clips: dict[str, Path], tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    digest = sha256_file(clips["tone"])
    a = ingest_clip(clips["tone"], store, content_hash=digest, frames=2, max_side=32, sample_rate=16_000)
    b = ingest_clip(clips["tone"], store, content_hash=digest, frames=3, max_side=48, sample_rate=8_000)
    assert not set(a.frame_urls) & set(b.frame_urls)
    assert a.audio_url != b.audio_url
    assert b.frame_size == (48, 36)


def test_ingest_clip_without_audio(clips: dict[str, Path], tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    result = ingest_clip(
        clips["noaudio"], store, content_hash=sha256_file(clips["noaudio"]), frames=2, max_side=32, sample_rate=16_000
    )
    assert result.audio_url is None and result.audio_duration_s is None
    assert not (tmp_path / "media" / "audio").exists()


@pytest.mark.parametrize("bad", ["../../etc", "ABCDEF0123456789", "abc", ""])
def test_ingest_refuses_a_hash_that_is_not_hex(clips: dict[str, Path], tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        ingest_clip(clips["tone"], MediaStore(tmp_path), content_hash=bad, frames=1, max_side=32, sample_rate=16_000)


def test_keys_are_content_addressed() -> None:
    digest = "ab" + "0" * 62
    assert re.fullmatch(r"frames/ab/ab0+/16x448/015\.jpg", ingest.frame_key(digest, 16, 448, 15))
    assert ingest.audio_key(digest, 16_000) == f"audio/ab/{digest}-16000.wav"
