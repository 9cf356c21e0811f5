"""The clip's audio: a small value type, and loading it from a media URL (the verifier's only input I/O)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import soundfile as sf
from numpy.typing import NDArray

from sightsound.media.errors import MediaError
from sightsound.media.store import open_url
from sightsound.media.waveform import decode_bytes

#: Below this, no analyzer says anything meaningful: every claim is unverifiable.
MIN_DURATION_S = 0.1

#: ``(start_s, end_s)`` in seconds from the start of the clip.
TimeRange = tuple[float, float]


class AudioUnavailableError(Exception):
    """The audio URL cannot be read or decoded; the message says why, for the client."""


@dataclass(frozen=True, eq=False)
class AudioClip:
    """Mono float32 samples in [-1, 1] at ``sample_rate``."""

    samples: NDArray[np.float32]
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    def wav_bytes(self) -> bytes:
        """The samples as a 16-bit PCM WAV file (what audio LLM APIs take)."""
        buffer = io.BytesIO()
        sf.write(buffer, self.samples, self.sample_rate, format="WAV", subtype="PCM_16")
        return buffer.getvalue()

    def unusable_reason(self) -> str | None:
        """Why nothing can be checked on this clip, or ``None`` when it can be analysed."""
        if self.duration_s < MIN_DURATION_S:
            return f"audio is {self.duration_s:.3f} s long, under {MIN_DURATION_S} s: too short to analyse"
        return None


def decode_audio(data: bytes, target_rate: int, max_duration_s: float) -> AudioClip:
    """Decode any audio (or video) file to mono float32 at ``target_rate``, as training and serving do.

    Decoding and resampling are the platform's one path (:func:`sightsound.media.waveform.decode_bytes`);
    NaN / inf samples, which a broken encoder can write into float WAVs, become 0 so the analyzers never
    see them.
    """
    try:
        info = sf.info(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        info = None  # not a libsndfile format: its length is known after decoding
    if info is not None and info.duration > max_duration_s:
        raise AudioUnavailableError(
            f"audio is {info.duration:.1f} s long; the verifier accepts at most {max_duration_s:.0f} s"
        )
    try:
        samples = decode_bytes(data, target_rate)
    except MediaError as exc:
        raise AudioUnavailableError(f"not a readable audio file ({exc})") from exc
    if samples is None:
        raise AudioUnavailableError("not a readable audio file (no audio track)")
    if len(samples) > max_duration_s * target_rate:
        raise AudioUnavailableError(
            f"audio is {len(samples) / target_rate:.1f} s long; the verifier accepts at most {max_duration_s:.0f} s"
        )
    mono = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    return AudioClip(np.clip(mono, -1.0, 1.0).astype(np.float32, copy=False), target_rate)


def load_clip(url: str, target_rate: int, max_duration_s: float, max_bytes: int) -> AudioClip:
    """Fetch ``url`` (any fsspec protocol: ``file://``, ``s3://``, ...) and decode it."""
    try:
        with open_url(url) as handle:
            data = handle.read(max_bytes + 1)
    except Exception as exc:  # fsspec raises many types (OSError, ValueError, ImportError, botocore...)
        raise AudioUnavailableError(f"cannot read audio at {url!r} ({type(exc).__name__}: {exc})") from exc
    if len(data) > max_bytes:
        raise AudioUnavailableError(f"audio at {url!r} is larger than {max_bytes} bytes")
    if not data:
        raise AudioUnavailableError(f"audio at {url!r} is empty (0 bytes)")
    return decode_audio(data, target_rate, max_duration_s)
