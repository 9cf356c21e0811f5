from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from sightsound.media.ingest import extract_audio
from sightsound.media.probe import probe_video
from sightsound_devdata import clipgen
from sightsound_devdata.clipgen import (
    Concat,
    Mix,
    NoiseBursts,
    Ramp,
    Silence,
    Speech,
    Tone,
    VideoSpec,
    main,
    make_clip,
    make_truncated,
)

from .conftest import GENEROUS

RATE = 16_000
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def count_bursts(x: np.ndarray, rate: int, threshold: float = 0.1) -> int:
    """Runs of 10 ms windows whose RMS is above ``threshold``."""
    win = rate // 100
    frames = x[: len(x) // win * win].reshape(-1, win)
    loud = np.sqrt((frames**2).mean(axis=1)) > threshold
    return int(np.sum(loud[1:] & ~loud[:-1]) + loud[0])


def quarter_rms(x: np.ndarray) -> tuple[float, float]:
    q = len(x) // 4
    return float(np.sqrt(np.mean(x[:q] ** 2))), float(np.sqrt(np.mean(x[-q:] ** 2)))


@pytest.mark.parametrize("count", [1, 3, 5])
def test_noise_bursts_count(count: int) -> None:
    spec = NoiseBursts(count, burst_s=0.15, gap_s=0.3)
    x = spec.render(RATE)
    assert count_bursts(x, RATE) == count
    assert len(x) == pytest.approx((0.2 + count * 0.45) * RATE, abs=count + 1)


def test_noise_bursts_survive_the_mp4_round_trip(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "bursts.mp4", VideoSpec(), NoiseBursts(4))
    audio = extract_audio(path, RATE)
    assert audio is not None and count_bursts(audio, RATE) == 4


@needs_espeak
def test_speech_is_audible_and_longer_for_longer_text() -> None:
    short = Speech("hello").render(RATE)
    long = Speech("hello, this sentence is a good deal longer than one word").render(RATE)
    assert np.sqrt(np.mean(short**2)) > 0.05
    assert np.max(np.abs(long)) == pytest.approx(0.9, abs=1e-3)  # normalised to the amplitude
    assert 0.2 * RATE < len(short) < len(long) / 3


@needs_espeak
def test_speech_text_starting_with_dash_is_spoken_not_parsed() -> None:
    assert len(Speech("-v nonsense").render(RATE)) > 0.2 * RATE


def test_tone_frequency_and_level() -> None:
    x = Tone(1000.0, 1.0, amplitude=0.25).render(RATE)
    assert len(x) == RATE
    peak = np.fft.rfftfreq(len(x), 1 / RATE)[np.argmax(np.abs(np.fft.rfft(x)))]
    assert peak == pytest.approx(1000.0, abs=1.0)
    assert np.max(np.abs(x)) == pytest.approx(0.25, abs=1e-3)


@pytest.mark.parametrize("source", ["noise", "tone"])
def test_ramps(source: str) -> None:
    first, last = quarter_rms(Ramp(2.0, "rising", source).render(RATE))  # type: ignore[arg-type]
    assert last > 10 * first
    first, last = quarter_rms(Ramp(2.0, "falling", source).render(RATE))  # type: ignore[arg-type]
    assert first > 10 * last


def test_concat_mix_and_silence() -> None:
    a, b = Tone(440.0, 0.5), Silence(0.25)
    assert len((a + b + a).render(RATE)) == int(1.25 * RATE)
    assert isinstance(a + b, Concat)
    assert not Silence(0.5).render(RATE).any()
    mixed = Mix((Tone(440.0, 1.0, 0.9), Tone(440.0, 0.5, 0.9))).render(RATE)
    assert len(mixed) == RATE and np.max(np.abs(mixed)) <= 1.0
    assert np.max(np.abs(mixed[: RATE // 2])) == pytest.approx(1.0)  # clipped where both play


def test_make_clip_duration_defaults_to_the_audio(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "c.mp4", VideoSpec(fps=10), Tone(440.0, 1.5))
    result = probe_video(path, GENEROUS)
    assert result.duration_s == pytest.approx(1.5, abs=0.1) and result.frame_count == 15


def test_make_clip_rejects_odd_sizes(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        make_clip(tmp_path / "odd.mp4", VideoSpec(width=161), None)


def test_make_truncated_keeps_the_fraction(clips: dict[str, Path], tmp_path: Path) -> None:
    size = clips["tone"].stat().st_size
    assert make_truncated(clips["tone"], tmp_path / "half.mp4", 0.5).stat().st_size == size // 2
    with pytest.raises(ValueError):
        make_truncated(clips["tone"], tmp_path / "x.mp4", 1.0)


@pytest.mark.parametrize("kind", ["bursts", "noaudio"])
def test_cli(tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"{kind}.mp4"
    assert main([str(out), "--kind", kind, "--width", "160", "--height", "120"]) == 0
    assert str(out) in capsys.readouterr().out
    assert probe_video(out, GENEROUS).has_audio == (kind != "noaudio")


def test_mpeg4_fallback_makes_a_valid_clip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The path taken where PyAV's FFmpeg lacks libx264 (the PyPI wheels have it).
    monkeypatch.setattr(clipgen, "video_codec_name", lambda: "mpeg4")
    result = probe_video(make_clip(tmp_path / "m.mp4", VideoSpec(), Tone(440.0, 1.0)), GENEROUS)
    assert result.video_codec == "mpeg4" and result.has_audio
