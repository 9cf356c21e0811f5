"""Errors of media validation and decoding.

Each error has a stable machine ``code`` (for API problem types and metrics) and a ``message`` written
for the person who uploaded the file: it says what is wrong and what to do about it. FFmpeg/PyAV
exceptions never leave the media package; they are translated into these.
"""

from __future__ import annotations

from typing import ClassVar


class MediaError(Exception):
    """Base of all media errors; ``str(err)`` is the user-facing message."""

    code: ClassVar[str] = "media_error"
    title: ClassVar[str] = "Unusable media"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAVideo(MediaError):
    code = "not_a_video"
    title = "Not a video"


class CorruptMedia(MediaError):
    code = "corrupt"
    title = "Corrupt video"


class TruncatedMedia(CorruptMedia):
    """The file stops early (an interrupted upload or recording); a kind of corruption."""

    code = "truncated"
    title = "Truncated video"


class NoVideoStream(MediaError):
    code = "no_video_stream"
    title = "No video track"


class MediaLimitExceeded(MediaError):
    """The file decodes but is bigger than this deployment accepts; ``limit`` and ``measured`` say by how much."""

    code = "limit_exceeded"
    title = "Video too large"

    def __init__(self, message: str, *, limit: float, measured: float) -> None:
        super().__init__(message)
        self.limit = limit
        self.measured = measured


class TooLong(MediaLimitExceeded):
    code = "too_long"
    title = "Video too long"


class ResolutionTooLarge(MediaLimitExceeded):
    code = "resolution_too_large"
    title = "Resolution too large"


class TooManyFrames(MediaLimitExceeded):
    code = "too_many_frames"
    title = "Too many frames"


class NotAudio(MediaError):
    """An audio-only import (e.g. a benchmark's WAV file) that FFmpeg cannot read as audio."""

    code = "not_audio"
    title = "Not an audio file"


class NoAudioStream(MediaError):
    code = "no_audio_stream"
    title = "No audio track"


class TooCostlyToDecode(MediaLimitExceeded):
    """Decoding would pass the budget of frames per clip (few keyframes: each sampled frame decodes a whole GOP)."""

    code = "decode_budget"
    title = "Video too costly to decode"


class AudioFormatRefused(MediaLimitExceeded):
    """The audio's sample rate or channel count is above what this deployment decodes."""

    code = "audio_format"
    title = "Audio format refused"


class TooManyStreams(MediaLimitExceeded):
    code = "too_many_streams"
    title = "Too many streams"
