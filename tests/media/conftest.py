"""Clips shared by the media tests, generated once per session (small: 160x120, 2 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightsound.media.probe import MediaLimits
from sightsound_devdata.clipgen import Tone, VideoSpec, make_clip

SMALL = VideoSpec(width=160, height=120, fps=15)
GENEROUS = MediaLimits(max_duration_s=600, max_width=3840, max_height=2160, max_source_frames=100_000)


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clips")
    return {
        # moov written after mdat (the muxer's default)
        "tone": make_clip(root / "tone.mp4", SMALL, Tone(440.0, 2.0), 2.0),
        # moov written before mdat, as web uploads usually are
        "tone_faststart": make_clip(root / "tone_fs.mp4", SMALL, Tone(440.0, 2.0), 2.0, faststart=True),
        "noaudio": make_clip(root / "noaudio.mp4", SMALL, None, 2.0),
        "noaudio_faststart": make_clip(root / "noaudio_fs.mp4", SMALL, None, 2.0, faststart=True),
        "tone_mkv": make_clip(root / "tone.mkv", SMALL, Tone(440.0, 2.0), 2.0, container="matroska"),
    }
