"""The audio of a student request, as 16 kHz mono samples: from a media-store URL or from base64 bytes.

Either way the file is validated by decoding it (:func:`sightsound.media.audio.probe_audio`: the
extension and the declared ``format`` are never trusted; a video's audio track works too), its length is
checked against ``student_max_audio_s`` before and while decoding, and only then resampled. A URL must lie
in the media store (:mod:`sightsound.media.access`, the verifier's rule), so a request cannot make the
service read any other file or host. Every failure is an :class:`AudioInputError` whose message says what
to fix.
"""

from __future__ import annotations

import base64
import binascii
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np

from sightsound.media.access import AudioURLRefusedError, allowed_audio_url
from sightsound.media.audio import probe_audio
from sightsound.media.errors import MediaError, TooLong
from sightsound.media.probe import MediaLimits
from sightsound.media.store import open_url
from sightsound.media.waveform import SAMPLE_RATE, Waveform, extract_audio
from sightsound_student.errors import StudentRequestError

#: Status of each media error: 415 when the bytes are not audio at all, 422 when they are audio we refuse.
MEDIA_ERROR_STATUS = {"not_audio": 415, "no_audio_stream": 422, "corrupt": 422, "truncated": 422, "too_long": 422}
_DATA_URI = re.compile(r"^data:[\w/+.-]*(;[\w=.-]+)*;base64,", re.IGNORECASE)
COPY_CHUNK = 1 << 20


class AudioInputError(StudentRequestError):
    """The request's audio cannot be used (not audio, no audio track, too long, outside the media store)."""


@dataclass(frozen=True)
class AudioLimits:
    max_seconds: float
    max_bytes: int


def base64_bytes(data: str, param: str, max_bytes: int) -> bytes:
    """The bytes of base64 ``data`` (a ``data:audio/...;base64,`` prefix is allowed).

    >>> base64_bytes("data:audio/wav;base64,UklGRg==", "audio", 100)
    b'RIFF'
    >>> base64_bytes("not base64!", "audio", 100)
    Traceback (most recent call last):
    ...
    sightsound_student.audio_input.AudioInputError: audio is not valid base64: send the file's bytes \
base64-encoded (standard alphabet, with padding)
    """
    text = _DATA_URI.sub("", data.strip(), count=1)
    if len(text) * 3 // 4 > max_bytes:
        raise AudioInputError(413, "audio-too-large",
                              f"{param} holds more than the limit of {max_bytes} bytes of audio; send a shorter clip",
                              param)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AudioInputError(400, "invalid-base64", f"{param} is not valid base64: send the file's bytes "
                              "base64-encoded (standard alphabet, with padding)", param) from exc
    if not raw:
        raise AudioInputError(422, "empty-audio", f"{param} is empty; send an audio file", param)
    return raw


def _decode_file(path: Path, limits: AudioLimits, param: str) -> Waveform:
    media_limits = MediaLimits(max_duration_s=limits.max_seconds, max_width=1, max_height=1, max_source_frames=1)
    try:
        probe_audio(path, media_limits)
        samples = extract_audio(path, SAMPLE_RATE)
    except TooLong as exc:
        raise AudioInputError(
            422, "audio-too-long",
            f"{param}: the audio lasts at least {exc.measured:.1f} s; the student takes at most "
            f"{limits.max_seconds:g} s (SIGHTSOUND_STUDENT_MAX_AUDIO_S): cut it shorter", param,
        ) from exc
    except MediaError as exc:
        status = MEDIA_ERROR_STATUS.get(exc.code, 422)
        raise AudioInputError(status, f"media-{exc.code.replace('_', '-')}", f"{param}: {exc}", param) from exc
    if samples is None or len(samples) == 0:
        raise AudioInputError(422, "media-no-audio-stream", f"{param}: the file holds no audio samples", param)
    return np.asarray(samples, dtype=np.float32)


def waveform_from_bytes(raw: bytes, limits: AudioLimits, param: str) -> Waveform:
    """Decode an audio (or video) file held in memory."""
    if len(raw) > limits.max_bytes:
        raise AudioInputError(413, "audio-too-large",
                              f"{param} is larger than the limit of {limits.max_bytes} bytes; send a shorter clip",
                              param)
    with tempfile.TemporaryDirectory(prefix="student-audio-") as folder:
        path = Path(folder) / "audio"
        path.write_bytes(raw)
        return _decode_file(path, limits, param)


def waveform_from_url(url: str, media_root: str | Path, limits: AudioLimits, param: str = "audio_url") -> Waveform:
    """Decode the audio at a media-store URL (refused outside the media root)."""
    try:
        allowed = allowed_audio_url(url, media_root)
    except AudioURLRefusedError as exc:
        raise AudioInputError(422, "audio-url-refused", str(exc), param) from exc
    if allowed.startswith("file://"):
        path = Path(unquote(urlsplit(allowed).path))
        if not path.is_file():
            raise AudioInputError(422, "audio-not-found", f"{param}: nothing is stored at {url}", param)
        return _decode_file(path, limits, param)
    with tempfile.TemporaryDirectory(prefix="student-audio-") as folder:
        local = Path(folder) / "audio"
        try:
            with open_url(allowed) as source, local.open("wb") as target:
                size = 0
                while chunk := source.read(COPY_CHUNK):
                    size += len(chunk)
                    if size > limits.max_bytes:
                        raise AudioInputError(413, "audio-too-large",
                                              f"{param} is larger than the limit of {limits.max_bytes} bytes", param)
                    target.write(chunk)
        except FileNotFoundError as exc:
            raise AudioInputError(422, "audio-not-found", f"{param}: nothing is stored at {url}", param) from exc
        return _decode_file(local, limits, param)
