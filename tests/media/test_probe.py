from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from sightsound.config import Settings
from sightsound.media import isobmff
from sightsound.media.errors import (
    CorruptMedia,
    MediaError,
    NotAVideo,
    NoVideoStream,
    ResolutionTooLarge,
    TooLong,
    TooManyFrames,
    TruncatedMedia,
)
from sightsound.media.probe import MediaLimits, check_duration, probe_video
from sightsound_devdata.clipgen import make_corrupt_tail, make_fake_mp4, make_truncated

from .conftest import GENEROUS


def box_names(path: Path) -> list[str]:
    return [b.name for b in isobmff.top_level_boxes(path)]


# --- valid ----------------------------------------------------------------------------------------


def test_probe_good_clip(clips: dict[str, Path]) -> None:
    result = probe_video(clips["tone"], GENEROUS)
    assert result.duration_s == pytest.approx(2.0, abs=0.07)
    assert result.fps == pytest.approx(15.0)
    assert (result.width, result.height) == (160, 120)
    assert result.frame_count == 30
    assert result.has_audio
    assert result.audio_sample_rate == 44_100
    assert result.video_codec in ("h264", "mpeg4")
    assert result.audio_codec == "aac"


def test_probe_faststart_and_mkv_clips(clips: dict[str, Path]) -> None:
    for name in ("tone_faststart", "tone_mkv"):
        result = probe_video(clips[name], GENEROUS)
        assert result.frame_count == 30 and result.has_audio, name
        assert result.duration_s == pytest.approx(2.0, abs=0.07), name


def test_probe_clip_without_audio(clips: dict[str, Path]) -> None:
    result = probe_video(clips["noaudio"], GENEROUS)
    assert not result.has_audio
    assert result.audio_sample_rate is None and result.audio_codec is None
    assert result.frame_count == 30


def test_limits_from_settings() -> None:
    settings = Settings(max_duration_s=12.5, max_width=640, max_height=480, max_source_frames=99)
    # decode_passes: ingest decodes up to one group of pictures per sampled frame
    expected = MediaLimits(12.5, 640, 480, 99, decode_passes=settings.frames_per_clip)
    assert MediaLimits.from_settings(settings) == expected


# --- invalid: not a video ---------------------------------------------------------------------------


def test_fake_mp4_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(NotAVideo) as info:
        probe_video(make_fake_mp4(tmp_path / "fake.mp4"), GENEROUS)
    assert info.value.code == "not_a_video"
    assert str(info.value).startswith("the file is not a decodable video: ")


def test_empty_file_is_not_a_video(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(NotAVideo, match="empty"):
        probe_video(tmp_path / "empty.mp4", GENEROUS)


def test_still_image_named_mp4_is_not_a_video(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(buffer, format="PNG")
    (tmp_path / "image.mp4").write_bytes(buffer.getvalue())
    with pytest.raises(NotAVideo, match="still image"):
        probe_video(tmp_path / "image.mp4", GENEROUS)


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "sound.mp4", np.zeros(16_000, np.float32), 16_000, format="WAV")
    with pytest.raises(NoVideoStream) as info:
        probe_video(tmp_path / "sound.mp4", GENEROUS)
    assert info.value.code == "no_video_stream"
    assert "only audio" in str(info.value)


def test_missing_file_is_the_callers_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        probe_video(tmp_path / "nope.mp4", GENEROUS)


# --- invalid: truncated or corrupt ------------------------------------------------------------------


def test_clips_cover_moov_at_both_ends(clips: dict[str, Path]) -> None:
    plain, faststart = box_names(clips["tone"]), box_names(clips["tone_faststart"])
    assert plain.index("moov") > plain.index("mdat")
    assert faststart.index("moov") < faststart.index("mdat")


@pytest.mark.parametrize("name", ["tone", "tone_faststart", "noaudio", "noaudio_faststart"])
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99, 0.999])
def test_truncated_mp4_is_refused(clips: dict[str, Path], tmp_path: Path, name: str, keep: float) -> None:
    cut = make_truncated(clips[name], tmp_path / "cut.mp4", keep)
    with pytest.raises(TruncatedMedia) as info:
        probe_video(cut, GENEROUS)
    assert info.value.code == "truncated"
    assert "upload the complete file" in str(info.value)


@pytest.mark.parametrize("name", ["tone_faststart", "noaudio_faststart"])
@pytest.mark.parametrize("keep", [0.3, 0.9, 0.99])
def test_truncated_mp4_with_whole_looking_boxes_is_refused_by_demuxing(
    clips: dict[str, Path], tmp_path: Path, name: str, keep: float
) -> None:
    cut = make_truncated(clips[name], tmp_path / "cut.mp4", keep, fix_boxes=True)
    boxes = isobmff.top_level_boxes(cut)
    # Precondition: the structure check alone would pass this file, so the packets must be read.
    assert isobmff.truncation_problem(boxes, cut.stat().st_size) is None
    with pytest.raises(TruncatedMedia, match="packet"):
        probe_video(cut, GENEROUS)


def test_truncated_mkv_is_refused(clips: dict[str, Path], tmp_path: Path) -> None:
    cut = make_truncated(clips["tone_mkv"], tmp_path / "cut.mkv", 0.6)
    with pytest.raises(TruncatedMedia, match="stops at"):
        probe_video(cut, GENEROUS)


def test_undecodable_end_is_refused(clips: dict[str, Path], tmp_path: Path) -> None:
    broken = make_corrupt_tail(clips["tone_faststart"], tmp_path / "tail.mp4")
    assert isobmff.truncation_problem(isobmff.top_level_boxes(broken), broken.stat().st_size) is None
    with pytest.raises(CorruptMedia, match="end of the video"):
        probe_video(broken, GENEROUS)


# --- invalid: over the limits -----------------------------------------------------------------------


def test_too_long(clips: dict[str, Path]) -> None:
    limits = MediaLimits(max_duration_s=1.5, max_width=3840, max_height=2160, max_source_frames=100_000)
    with pytest.raises(TooLong) as info:
        probe_video(clips["tone"], limits)
    assert info.value.code == "too_long"
    assert info.value.limit == 1.5 and info.value.measured == pytest.approx(2.0, abs=0.07)
    assert "1.5 s" in str(info.value) and "2.0 s" in str(info.value)


def test_resolution_too_large(clips: dict[str, Path]) -> None:
    limits = MediaLimits(max_duration_s=600, max_width=128, max_height=2160, max_source_frames=100_000)
    with pytest.raises(ResolutionTooLarge) as info:
        probe_video(clips["tone"], limits)
    assert info.value.code == "resolution_too_large"
    assert "160x120" in str(info.value) and "128x2160" in str(info.value)


def test_too_many_frames(clips: dict[str, Path]) -> None:
    limits = MediaLimits(max_duration_s=600, max_width=3840, max_height=2160, max_source_frames=29)
    with pytest.raises(TooManyFrames) as info:
        probe_video(clips["tone"], limits)
    assert info.value.code == "too_many_frames" and info.value.measured == 30


def test_too_many_frames_without_header_count(clips: dict[str, Path]) -> None:
    # MKV has no per-track frame count in its header: the count comes from demuxing.
    limits = MediaLimits(max_duration_s=600, max_width=3840, max_height=2160, max_source_frames=20)
    with pytest.raises(TooManyFrames, match="at least 21"):
        probe_video(clips["tone_mkv"], limits)


def test_limit_exactly_met_is_accepted() -> None:
    check_duration(2.0, MediaLimits(2.0, 16, 16, 1))


def test_every_error_has_a_distinct_code() -> None:
    classes: list[type[MediaError]] = [
        NotAVideo,
        CorruptMedia,
        TruncatedMedia,
        NoVideoStream,
        TooLong,
        ResolutionTooLarge,
        TooManyFrames,
    ]
    codes = [c.code for c in classes]
    assert len(set(codes)) == len(codes)
    assert all(issubclass(c, MediaError) for c in classes)


def test_box_walk_is_bounded(tmp_path: Path) -> None:
    # A hostile file of tiny boxes: the walk stops at the limit instead of visiting each one, and the
    # file is refused by decoding (it stays classified as a broken MP4, not called truncated).
    path = tmp_path / "boxes.mp4"
    path.write_bytes(b"\x00\x00\x00\x08free" * 120_000)
    assert len(isobmff.top_level_boxes(path)) == 100_000
    with pytest.raises(CorruptMedia) as info:
        probe_video(path, GENEROUS)
    assert info.value.code == "corrupt"
