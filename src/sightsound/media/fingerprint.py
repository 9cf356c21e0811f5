"""An audio fingerprint that survives re-encoding: a coarse, quantised band-energy signature of the 16 kHz audio.

Why: a clip that holds a test or validation question must never feed training, and a copy of it uploaded
again as another file (re-encoded at another bitrate, in another container, louder or quieter) has another
content hash. Its *sound* is the same, and that is what this signature keeps.

The signature (pure, numpy only) of a mono 16 kHz waveform:

1. power spectra of 1024-sample Hann windows every 512 samples (32 ms);
2. energy in 16 bands spaced logarithmically from 150 Hz to 4 kHz (lossy codecs keep this range even at
   low bitrates; they cut the highs first), in dB;
3. relative to the clip's loudest band-frame (so the gain does not matter), floored at -60 dB and rounded to
   whole dB (small codec differences vanish).

Two signatures are the same audio when their durations agree (within 10% or 0.5 s) and, at the best of a few
frame shifts (±3 frames, ±96 ms: encoder delay and padding), the mean absolute difference over the cells where
either is louder than -40 dB is at most :data:`TOLERANCE_DB` dB. Measured: a clip against its MP3 re-encodings
at 32-128 kbit/s differ by about 1 dB; different clips by 8 dB and more (``tests/media/test_fingerprint.py``).

A clip that is (nearly) silent or one steady level has no signature (None): it carries no information to
leak, and it would match every other silent clip. Exact copies are still caught by their content hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000
N_FFT = 1024
HOP = 512
BANDS = 16
LOW_HZ, HIGH_HZ = 150.0, 4000.0
FLOOR_DB = -60.0
LOUD_DB = -40.0
MAX_SHIFT = 3
TOLERANCE_DB = 4.0
VERSION = 1
#: Below this RMS (about -70 dBFS) a clip is silence.
SILENT_RMS = 3e-4


@dataclass(frozen=True)
class Fingerprint:
    """``cells[t][b]``: whole dB relative to the loudest cell, in [-60, 0]."""

    cells: npt.NDArray[np.int8]
    duration_s: float

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "duration_s": round(self.duration_s, 3),
                "cells": self.cells.astype(int).tolist()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fingerprint | None:
        """None for a stored signature of another version (recompute it) or of a silent clip."""
        if data.get("version") != VERSION or not data.get("cells"):
            return None
        return cls(np.asarray(data["cells"], dtype=np.int8).reshape(-1, BANDS), float(data["duration_s"]))


def _band_matrix() -> npt.NDArray[np.float64]:
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    edges = np.geomspace(LOW_HZ, HIGH_HZ, BANDS + 1)
    return np.stack([(freqs >= lo) & (freqs < hi) for lo, hi in pairwise(edges)]).astype(np.float64)


def fingerprint(waveform: npt.NDArray[np.float32], sample_rate: int = SAMPLE_RATE) -> Fingerprint | None:
    """The signature of a mono waveform at 16 kHz; None when it is silent, steady or shorter than one window.

    >>> t = np.arange(16_000) / 16_000
    >>> fp = fingerprint((0.3 * np.sin(2 * np.pi * 440 * t) * (t < 0.5)).astype(np.float32))
    >>> fp.cells.shape, int(fp.cells.max()), fp.duration_s
    ((30, 16), 0, 1.0)
    >>> fingerprint(np.zeros(16_000, np.float32)) is None
    True
    """
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"fingerprints are of {SAMPLE_RATE} Hz audio (the stored clips' rate)")
    x = np.asarray(waveform, dtype=np.float64)
    if x.size < N_FFT or float(np.sqrt(np.mean(x**2))) < SILENT_RMS:
        return None
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP] * np.hanning(N_FFT)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    energy = 10 * np.log10(power @ _band_matrix().T + 1e-12)
    relative = np.maximum(energy - energy.max(), FLOOR_DB)
    if float(relative.std()) < 1.0:
        return None
    return Fingerprint(np.round(relative).astype(np.int8), x.size / SAMPLE_RATE)


def distance(a: Fingerprint, b: Fingerprint) -> float:
    """Mean absolute dB difference of two signatures at their best alignment; ``inf`` when their durations
    differ or nothing loud overlaps.

    >>> rng = np.random.default_rng(0)
    >>> noise = (0.1 * rng.standard_normal(16_000) * np.repeat(rng.random(8), 2000)).astype(np.float32)
    >>> a = fingerprint(noise)
    >>> distance(a, a), distance(a, fingerprint(0.5 * noise))
    (0.0, 0.0)
    """
    if abs(a.duration_s - b.duration_s) > max(0.5, 0.1 * max(a.duration_s, b.duration_s)):
        return float("inf")
    x, y = a.cells.astype(np.float32), b.cells.astype(np.float32)
    best = float("inf")
    for shift in range(-MAX_SHIFT, MAX_SHIFT + 1):
        xs = x[max(0, shift):]
        ys = y[max(0, -shift):]
        n = min(len(xs), len(ys))
        if n < max(1, min(len(x), len(y)) // 2):
            continue
        xs, ys = xs[:n], ys[:n]
        loud = (xs > LOUD_DB) | (ys > LOUD_DB)
        if loud.any():
            best = min(best, float(np.abs(xs - ys)[loud].mean()))
    return best


def same_audio(a: Fingerprint | None, b: Fingerprint | None, tolerance_db: float = TOLERANCE_DB) -> bool:
    """Whether two signatures are the same audio (never for a clip without one)."""
    return a is not None and b is not None and distance(a, b) <= tolerance_db
