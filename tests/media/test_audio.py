"""Audio-only clips: probing by decoding, the duration limit, bad files with clear errors, and the 16 kHz
mono WAV stored like the video path's (same key, idempotent)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile

from sightsound.media.audio import ingest_audio, probe_audio, wav_truncation_problem
from sightsound.media.errors import CorruptMedia, MediaError, NoAudioStream, NotAudio, TooLong, TruncatedMedia
from sightsound.media.ingest import audio_key
from sightsound.media.probe import MediaLimits
from sightsound.media.store import MediaStore, sha256_file
from sightsound_devdata.clipgen import Tone, VideoSpec, make_clip

LIMITS = MediaLimits(max_duration_s=600, max_width=3840, max_height=2160, max_source_frames=100_000)


@pytest.fixture(scope="module")
def stereo_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s stereo at 44.1 kHz: a 440 Hz tone on the left, 880 Hz on the right."""
    path = tmp_path_factory.mktemp("audio") / "tone.wav"
    left, right = Tone(440.0, 2.0).render(44_100), Tone(880.0, 2.0).render(44_100)
    soundfile.write(path, np.stack([left, right], axis=1), 44_100, subtype="PCM_16")
    return path


def test_probe_wav_measures_by_decoding(stereo_wav: Path) -> None:
    probe = probe_audio(stereo_wav, LIMITS)
    assert probe.duration_s == pytest.approx(2.0, abs=1e-3)
    assert (probe.sample_rate, probe.channels, probe.codec, probe.container_format) == (44_100, 2, "pcm_s16le", "wav")


def test_probe_flac_and_the_audio_track_of_a_video(tmp_path: Path, stereo_wav: Path) -> None:
    data, rate = soundfile.read(stereo_wav)
    soundfile.write(tmp_path / "a.flac", data, rate)
    assert probe_audio(tmp_path / "a.flac", LIMITS).duration_s == pytest.approx(2.0, abs=1e-3)
    video = make_clip(tmp_path / "v.mp4", VideoSpec(width=64, height=48, fps=10), Tone(330.0, 1.0), 1.0)
    assert probe_audio(video, LIMITS).duration_s == pytest.approx(1.0, abs=0.05)


def test_ingest_stores_16k_mono_wav_under_the_audio_key_idempotently(stereo_wav: Path, tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    digest = sha256_file(stereo_wav)
    result = ingest_audio(stereo_wav, store, content_hash=digest, sample_rate=16_000)
    assert result.audio_url == store.url(audio_key(digest, 16_000))
    stored = tmp_path / "media" / audio_key(digest, 16_000)
    samples, rate = soundfile.read(stored, dtype="float32")
    info = soundfile.info(stored)
    assert (rate, info.channels, info.subtype) == (16_000, 1, "PCM_16")
    assert result.audio_duration_s == pytest.approx(2.0, abs=0.01) and len(samples) == pytest.approx(32_000, abs=32)
    # mono = the mean of both channels: both tones are there
    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(len(samples), 1 / 16_000)
    for hz in (440.0, 880.0):
        band = spectrum[(freqs > hz - 20) & (freqs < hz + 20)].max()
        assert band > 0.2 * spectrum.max()
    before = stored.stat().st_mtime_ns
    again = ingest_audio(stereo_wav, store, content_hash=digest, sample_rate=16_000)
    assert again == result and stored.stat().st_mtime_ns == before  # nothing decoded or written again


def test_too_long_audio_is_refused_from_the_header(stereo_wav: Path) -> None:
    with pytest.raises(TooLong, match=r"the audio lasts 2\.0 s; the longest accepted is 1\.5 s") as err:
        probe_audio(stereo_wav, MediaLimits(1.5, 3840, 2160, 100_000))
    assert err.value.limit == 1.5 and err.value.measured == pytest.approx(2.0)


def _wav_bytes(path: Path) -> bytes:
    return path.read_bytes()


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda d, p: p.write_bytes(b""), NotAudio, "the file is empty"),
        (lambda d, p: p.write_text("this is text, not audio\n" * 20), NotAudio, "not a decodable audio file"),
        (lambda d, p: p.write_bytes(np.random.default_rng(1).bytes(6000)), NotAudio, "not a decodable audio file"),
        (lambda d, p: p.write_bytes(d[: len(d) // 2]), TruncatedMedia, "the audio file is truncated: its data chunk"),
        (lambda d, p: p.write_bytes(d[:44]), TruncatedMedia, "the audio file is truncated"),
        (
            lambda d, p: p.write_bytes(d[:40] + struct.pack("<I", 0) + b""),
            CorruptMedia,
            "the audio track holds no samples",
        ),
    ],
    ids=["empty", "text", "random-bytes", "cut-in-half", "header-only", "no-samples"],
)
def test_bad_wav_gives_a_clear_error(stereo_wav: Path, tmp_path: Path, make, error, message: str) -> None:
    bad = tmp_path / "bad.wav"
    make(_wav_bytes(stereo_wav), bad)
    with pytest.raises(error, match=message) as err:
        probe_audio(bad, LIMITS)
    assert isinstance(err.value, MediaError) and err.value.code


def test_video_without_audio_has_no_audio_track(tmp_path: Path) -> None:
    silent = make_clip(tmp_path / "silent.mp4", VideoSpec(width=64, height=48, fps=10), None, 1.0)
    with pytest.raises(NoAudioStream, match=r"no audio track \(it has only video\)"):
        probe_audio(silent, LIMITS)


def test_png_is_not_audio(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "x.wav", format="PNG")
    with pytest.raises((NotAudio, NoAudioStream)) as err:
        probe_audio(tmp_path / "x.wav", LIMITS)
    assert "image" in str(err.value) or "no audio track" in str(err.value)


def test_wav_truncation_ignores_streaming_sizes() -> None:
    fmt = b"fmt " + struct.pack("<I", 16) + bytes(16)
    body = b"WAVE" + fmt + b"data" + struct.pack("<I", 0xFFFFFFFF) + bytes(100)
    assert wav_truncation_problem(b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + body, 8 + len(body)) is None
