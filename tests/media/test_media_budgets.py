"""Issue 12B, findings 2 and 4: what a clip may cost to validate and ingest is bounded before it is paid.

Hostile clips are small files that are expensive to decode: a 1 s video carrying 700 s of AAC (the audio was
never measured), a video with one keyframe (every sampled frame decodes the whole clip again), or audio
with a huge sample rate, many channels or many streams.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import av
import numpy as np
import pytest

from sightsound.media.errors import AudioFormatRefused, TooCostlyToDecode, TooLong, TooManyStreams
from sightsound.media.ingest import extract_frames, ingest_clip
from sightsound.media.probe import MediaLimits, probe_video
from sightsound.media.store import MediaStore
from sightsound.media.waveform import extract_audio
from sightsound_devdata.clipgen import Tone, VideoSpec, make_clip

GENEROUS = MediaLimits(max_duration_s=600, max_width=3840, max_height=2160, max_source_frames=100_000)
HASH = "ab" * 32


def mux(path: Path, *, video_s: float = 1.0, audio_s: float = 700.0, rate: int = 8000, layout: str = "mono",
        audio_streams: int = 1) -> Path:
    """A tiny MP4: ``video_s`` of black 32x32 video beside ``audio_s`` of silent AAC (silence compresses to
    almost nothing, so 700 s of it is a few tens of kilobytes)."""
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=5)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        audios = []
        for _ in range(audio_streams):
            audio = out.add_stream("aac", rate=rate)
            audio.layout = layout
            audios.append(audio)
        for i in range(round(video_s * 5)):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        for audio in audios:
            channels = audio.layout.nb_channels
            silence = np.zeros((channels, 1024), np.float32)
            for pts in range(0, round(audio_s * rate), 1024):
                frame = av.AudioFrame.from_ndarray(silence, format="fltp", layout=layout)
                frame.sample_rate, frame.pts = rate, pts
                for packet in audio.encode(frame):
                    out.mux(packet)
            for packet in audio.encode():
                out.mux(packet)
    return path


@pytest.fixture(scope="module")
def long_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mux(tmp_path_factory.mktemp("hostile") / "long-audio.mp4")


@pytest.fixture(scope="module")
def one_keyframe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 8 s at 15 fps with a single keyframe: 120 frames in one group of pictures.
    path = tmp_path_factory.mktemp("hostile") / "one-key.mp4"
    return make_clip(path, VideoSpec(width=64, height=48, fps=15), Tone(440.0, 8.0), 8.0, keyframe_every_s=100.0)


# --- finding 2: audio length ---------------------------------------------------------------------------


def test_long_audio_behind_a_short_video_is_refused_at_probe(long_audio: Path) -> None:
    assert long_audio.stat().st_size < 100_000  # tiny file, huge audio
    with pytest.raises(TooLong) as info:
        probe_video(long_audio, GENEROUS)
    assert "audio" in str(info.value) and info.value.measured > 600


def test_audio_decode_stops_at_the_duration_limit(long_audio: Path) -> None:
    with pytest.raises(TooLong) as info:
        extract_audio(long_audio, 16_000, max_duration_s=10.0)
    assert info.value.limit == 10.0 and info.value.measured < 11.0  # stopped right after the limit


def test_ingest_refuses_audio_past_the_limit(long_audio: Path, tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    with pytest.raises(TooLong):
        ingest_clip(long_audio, store, content_hash=HASH, frames=2, max_side=32, sample_rate=16_000,
                    max_audio_s=10.0)
    assert not list((tmp_path / "media").rglob("*.wav"))


# --- finding 4: decode budget, audio format and stream limits -----------------------------------------


def test_one_keyframe_clip_is_refused_before_it_is_decoded(one_keyframe: Path) -> None:
    probe_video(one_keyframe, GENEROUS)  # within the default budget
    # 16 sampled frames may each decode the whole 120-frame group: 16 x 120 > 1000
    limits = dataclasses.replace(GENEROUS, max_decoded_frames=1000, decode_passes=16)
    with pytest.raises(TooCostlyToDecode) as info:
        probe_video(one_keyframe, limits)
    assert info.value.code == "decode_budget" and "keyframe" in str(info.value)


def test_ingest_stops_decoding_frames_at_the_budget(one_keyframe: Path) -> None:
    assert len(extract_frames(one_keyframe, 4, 32)) == 4
    with pytest.raises(TooCostlyToDecode):
        extract_frames(one_keyframe, 16, 32, max_decoded_frames=100)


def test_audio_sample_rate_and_channels_are_limited(tmp_path: Path) -> None:
    path = mux(tmp_path / "stereo48k.mp4", audio_s=1.0, rate=48_000, layout="stereo")
    probe_video(path, GENEROUS)
    with pytest.raises(AudioFormatRefused, match="sample rate"):
        probe_video(path, dataclasses.replace(GENEROUS, max_audio_sample_rate=44_100))
    with pytest.raises(AudioFormatRefused, match="channels"):
        probe_video(path, dataclasses.replace(GENEROUS, max_audio_channels=1))


def test_stream_count_is_limited(tmp_path: Path) -> None:
    path = mux(tmp_path / "three-audio.mp4", audio_s=1.0, audio_streams=3)
    probe_video(path, GENEROUS)
    with pytest.raises(TooManyStreams) as info:
        probe_video(path, dataclasses.replace(GENEROUS, max_streams=2))
    assert info.value.measured == 4
