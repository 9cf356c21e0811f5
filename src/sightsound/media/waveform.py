"""The one way audio becomes model input: any audio or video file -> mono float32 at a given rate.

Ingest (the stored 16 kHz WAV), the verifier, training and student serving all decode through
:func:`extract_audio` (PyAV: libavcodec decoding, libswresample resampling), so the student hears the
same samples in training as in serving, and the verifier checks the samples the student learns from.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
import numpy.typing as npt

from sightsound.media.errors import CorruptMedia, TooLong
from sightsound.media.probe import translate_av_errors

Waveform = npt.NDArray[np.float32]

#: The rate every model in the platform hears (Whisper's, Qwen2-Audio's, the analyzers').
SAMPLE_RATE = 16_000


def extract_audio(path: str | Path | BinaryIO, sample_rate: int = SAMPLE_RATE, *,
                  max_duration_s: float | None = None) -> Waveform | None:
    """The first audio track as mono float32 at ``sample_rate``; None when the file has no audio track.

    With ``max_duration_s``, decoding stops with :class:`TooLong` as soon as the decoded audio passes it, so
    a file whose header understates its audio is never decoded whole into memory.
    """
    source = str(path) if isinstance(path, str | Path) else path
    with translate_av_errors(CorruptMedia, "the audio could not be decoded"), av.open(source, "r") as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        chunks: list[npt.NDArray[np.float32]] = []
        decoded = 0
        for frame in container.decode(stream):
            chunks += [f.to_ndarray()[0] for f in resampler.resample(frame)]
            decoded += frame.samples
            if max_duration_s is not None and frame.sample_rate and decoded / frame.sample_rate > max_duration_s:
                raise TooLong(
                    f"the audio lasts at least {decoded / frame.sample_rate:.1f} s; the longest accepted is "
                    f"{max_duration_s:g} s: cut it shorter",
                    limit=max_duration_s,
                    measured=decoded / frame.sample_rate,
                )
        chunks += [f.to_ndarray()[0] for f in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


def decode_bytes(data: bytes, sample_rate: int = SAMPLE_RATE) -> Waveform | None:
    """:func:`extract_audio` of a file held in memory."""
    return extract_audio(io.BytesIO(data), sample_rate)
