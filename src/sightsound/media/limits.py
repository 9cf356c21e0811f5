"""What one clip may be, and cost, before it is refused (pure checks, no I/O).

Size limits (duration of every track, resolution, frames, streams, audio sample rate and channels) and the
decode budget: the most video frames one clip may cost to decode. Validation decodes the last group of
pictures (GOP) once; ingest may decode a whole GOP for each sampled frame, so a clip with few keyframes
costs ``decode_passes`` x its longest GOP, and is refused from what demuxing (no decoding) saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sightsound.media.errors import (
    AudioFormatRefused,
    ResolutionTooLarge,
    TooCostlyToDecode,
    TooLong,
    TooManyFrames,
    TooManyStreams,
)

if TYPE_CHECKING:
    from sightsound.config import Settings


@dataclass(frozen=True)
class MediaLimits:
    max_duration_s: float
    max_width: int
    max_height: int
    max_source_frames: int
    max_decoded_frames: int = 20_000  # video frames decoded per clip (validation and ingest each)
    decode_passes: int = 1  # GOPs ingest may decode per clip: one per sampled frame
    max_audio_sample_rate: int = 192_000
    max_audio_channels: int = 8
    max_streams: int = 8

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaLimits:
        return cls(
            settings.max_duration_s,
            settings.max_width,
            settings.max_height,
            settings.max_source_frames,
            max_decoded_frames=settings.max_decoded_frames,
            decode_passes=settings.frames_per_clip,
            max_audio_sample_rate=settings.max_audio_sample_rate,
            max_audio_channels=settings.max_audio_channels,
            max_streams=settings.max_streams,
        )


def check_resolution(width: int, height: int, limits: MediaLimits) -> None:
    if width > limits.max_width or height > limits.max_height:
        raise ResolutionTooLarge(
            f"the video is {width}x{height} pixels; the largest accepted is {limits.max_width}x"
            f"{limits.max_height}: scale it down and upload it again",
            limit=max(limits.max_width, limits.max_height),
            measured=max(width, height),
        )


def check_duration(duration_s: float, limits: MediaLimits, *, at_least: bool = False, what: str = "video") -> None:
    if duration_s > limits.max_duration_s:
        raise TooLong(
            f"the {what} lasts {'at least ' if at_least else ''}{duration_s:.1f} s; "
            f"the longest accepted is {limits.max_duration_s:g} s: cut it shorter and upload it again",
            limit=limits.max_duration_s,
            measured=duration_s,
        )


def check_frame_count(frames: int, limits: MediaLimits, *, at_least: bool = False) -> None:
    if frames > limits.max_source_frames:
        measured = f"at least {frames}" if at_least else str(frames)
        raise TooManyFrames(
            f"the video has {measured} frames; the most accepted is {limits.max_source_frames}: "
            "lower its frame rate or cut it shorter",
            limit=limits.max_source_frames,
            measured=frames,
        )


def check_streams(count: int, limits: MediaLimits) -> None:
    if count > limits.max_streams:
        raise TooManyStreams(
            f"the file holds {count} streams; the most accepted is {limits.max_streams} (SIGHTSOUND_MAX_STREAMS): "
            "keep one video and one audio track",
            limit=limits.max_streams,
            measured=count,
        )


def check_audio_format(sample_rate: int, channels: int, limits: MediaLimits) -> None:
    """Refuse audio whose rate or channel count is above the limits (the first audio track is the one decoded).

    >>> check_audio_format(48_000, 2, MediaLimits(1, 1, 1, 1))
    """
    if sample_rate > limits.max_audio_sample_rate:
        raise AudioFormatRefused(
            f"the audio's sample rate is {sample_rate} Hz; the highest accepted is {limits.max_audio_sample_rate} Hz "
            "(SIGHTSOUND_MAX_AUDIO_SAMPLE_RATE): resample it",
            limit=limits.max_audio_sample_rate,
            measured=sample_rate,
        )
    if channels > limits.max_audio_channels:
        raise AudioFormatRefused(
            f"the audio has {channels} channels; the most accepted is {limits.max_audio_channels} "
            "(SIGHTSOUND_MAX_AUDIO_CHANNELS): mix it down",
            limit=limits.max_audio_channels,
            measured=channels,
        )


def decode_cost(longest_gop: int, limits: MediaLimits) -> int:
    """Frames ingest may decode in the worst case: one whole GOP per pass.

    >>> decode_cost(120, MediaLimits(1, 1, 1, 1, decode_passes=16))
    1920
    """
    return longest_gop * max(1, limits.decode_passes)


def check_decode_cost(longest_gop: int, limits: MediaLimits, *, at_least: bool = False) -> None:
    cost = decode_cost(longest_gop, limits)
    if cost > limits.max_decoded_frames:
        raise TooCostlyToDecode(
            f"the video has {'at least ' if at_least else ''}{longest_gop} frames between two keyframes, so sampling "
            f"{limits.decode_passes} frame(s) may decode {cost} frames; the budget is {limits.max_decoded_frames} "
            "(SIGHTSOUND_MAX_DECODED_FRAMES): re-encode it with a keyframe every few seconds",
            limit=limits.max_decoded_frames,
            measured=cost,
        )


def check_decoded(frames: int, limit: int) -> None:
    """Raise once a decoder has decoded more than ``limit`` frames of one clip."""
    if frames > limit:
        raise TooCostlyToDecode(
            f"decoding the video passed the budget of {limit} frames (SIGHTSOUND_MAX_DECODED_FRAMES): "
            "re-encode it with a keyframe every few seconds",
            limit=limit,
            measured=frames,
        )
