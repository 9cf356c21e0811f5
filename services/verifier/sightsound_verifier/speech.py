"""Speech segments with silero-vad (weights ship in the PyPI package: offline, no torchaudio needed).

The model is loaded once per process and shared; it keeps recurrent state between chunks, so calls
are serialised by a lock. Per-chunk probabilities (32 ms at 16 kHz) are kept so a claim about a time
window can be answered from the one pass over the whole clip.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from typing import Any

import librosa
import numpy as np
import silero_vad
import torch
from numpy.typing import NDArray

from sightsound_verifier.audio import TimeRange

VAD_RATE = 16_000
CHUNK = 512  # samples per silero step at 16 kHz
CHUNK_S = CHUNK / VAD_RATE
#: Least overlap of a speech segment with a time window for the window to count as having speech.
MIN_OVERLAP_S = 0.1

_lock = threading.Lock()
_model: Any = None


def load_model() -> Any:
    """The process-wide silero-vad model (TorchScript), loaded on first use."""
    global _model
    with _lock:
        if _model is None:
            with warnings.catch_warnings():  # importlib.resources.path and torch.jit.load deprecations
                warnings.simplefilter("ignore", DeprecationWarning)
                _model = silero_vad.load_silero_vad()
        return _model


def model_loaded() -> bool:
    return _model is not None


@dataclass(frozen=True)
class SpeechAnalysis:
    """Speech found in (a window of) a clip."""

    segments: tuple[TimeRange, ...]
    window: TimeRange
    max_probability: float

    @property
    def duration_s(self) -> float:
        return self.window[1] - self.window[0]

    @property
    def speech_s(self) -> float:
        return sum(end - start for start, end in self.segments)

    @property
    def speech_ratio(self) -> float:
        return self.speech_s / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def has_speech(self) -> bool:
        return bool(self.segments)


@dataclass(frozen=True)
class SpeechTrack:
    """One silero pass over a whole clip: chunk probabilities and the segments silero derives from them."""

    probabilities: NDArray[np.float32]
    segments: tuple[TimeRange, ...]
    duration_s: float

    def within(self, window: TimeRange | None = None) -> SpeechAnalysis:
        """Segments clipped to ``window`` (whole clip when ``None``) and the peak probability inside it.

        A segment overlapping the window by less than ``MIN_OVERLAP_S`` is dropped: silero pads segments
        by 30 ms, and a claim's window edge is rarely that precise.
        """
        start, end = window if window is not None else (0.0, self.duration_s)
        end = min(end, self.duration_s)
        clipped = tuple(
            (max(s, start), min(e, end)) for s, e in self.segments if min(e, end) - max(s, start) >= MIN_OVERLAP_S
        )
        first = int(start // CHUNK_S)
        last = max(first + 1, int(np.ceil(end / CHUNK_S)))
        inside = self.probabilities[first:last]
        peak = float(inside.max()) if inside.size else 0.0
        return SpeechAnalysis(segments=clipped, window=(start, end), max_probability=peak)


def detect_speech(samples: NDArray[np.float32], sample_rate: int, threshold: float = 0.5) -> SpeechTrack:
    """Run silero-vad over ``samples``; silero's own defaults decide the segments (250 ms minimum speech)."""
    duration = len(samples) / sample_rate
    audio = samples
    if sample_rate != VAD_RATE:
        audio = librosa.resample(samples, orig_sr=sample_rate, target_sr=VAD_RATE).astype(np.float32)
    if len(audio) < CHUNK:
        audio = np.pad(audio, (0, CHUNK - len(audio)))
    model = load_model()
    with _lock, torch.inference_mode():
        probs = model.audio_forward(torch.from_numpy(np.ascontiguousarray(audio))[None, :], VAD_RATE)
    probabilities = probs[0].numpy().astype(np.float32)
    stamps = silero_vad.utils_vad.get_speech_timestamps_from_probs(
        probabilities.tolist(),
        sampling_rate=VAD_RATE,
        threshold=threshold,
        return_seconds=True,
        audio_length_samples=len(audio),
    )
    segments = tuple((float(s["start"]), min(float(s["end"]), duration)) for s in stamps)
    return SpeechTrack(probabilities=probabilities, segments=segments, duration_s=duration)
