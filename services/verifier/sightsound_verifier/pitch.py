"""Pitch (fundamental frequency) from librosa: pYIN decides which frames are pitched, YIN measures them.

pYIN at half-semitone resolution is fast (about 0.1 s for 10 s of audio) and its voicing decision is
robust; its pitch is quantised to its bins, so the value of each voiced frame is taken from YIN (no
bins), unless the two disagree by more than a semitone (then pYIN's). Range 50-2500 Hz, 20 ms hop: at
16 kHz, YIN reads a 3.5 kHz tone an octave low, so higher sounds are left unmeasured.
No I/O: numpy in, measurements out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import librosa
import numpy as np
from numpy.typing import NDArray

from sightsound_verifier.audio import TimeRange
from sightsound_verifier.loudness import theil_sen_slope

FMIN_HZ = 50.0
FMAX_HZ = 2500.0
FRAME = 1024
HOP_S = 0.02
#: Least pitched audio for any pitch statement.
MIN_VOICED_S = 0.2
#: Pitch trend: change over the pitched span (robust fit, semitones) that counts as rising / falling.
TREND_SEMITONES = 2.0
STEADY_SEMITONES = 1.0
BIN_S = 0.1
#: Frame-to-frame change under which a pitched run counts as a steady tone.
TONE_JITTER_SEMITONES = 0.5
MIN_TONE_S = 0.1


@dataclass(frozen=True, eq=False)
class PitchTrack:
    """``hz[i]`` is the pitch of the frame centred at ``times_s[i]``, NaN where unpitched."""

    times_s: NDArray[np.float64]
    hz: NDArray[np.float64]
    voiced_probability: NDArray[np.float64]
    duration_s: float

    @property
    def hop_s(self) -> float:
        return HOP_S


def track_pitch(samples: NDArray[np.float32], sample_rate: int) -> PitchTrack:
    duration = len(samples) / sample_rate
    hop = max(1, round(HOP_S * sample_rate))
    frame = FRAME if sample_rate <= 24_000 else 2 * FRAME
    if len(samples) < frame:
        empty = np.zeros(0, dtype=np.float64)
        return PitchTrack(empty, empty, empty, duration)
    y = samples.astype(np.float32)
    f0_p, voiced, prob = librosa.pyin(
        y,
        fmin=FMIN_HZ,
        fmax=FMAX_HZ,
        sr=sample_rate,
        frame_length=frame,
        hop_length=hop,
        resolution=0.5,
        n_thresholds=20,
    )
    f0_y = librosa.yin(y, fmin=FMIN_HZ, fmax=FMAX_HZ, sr=sample_rate, frame_length=frame, hop_length=hop)
    n = min(len(f0_p), len(f0_y))
    f0_p, f0_y, voiced, prob = f0_p[:n], f0_y[:n], voiced[:n], prob[:n]
    with np.errstate(invalid="ignore", divide="ignore"):
        agree = np.abs(12.0 * np.log2(f0_y / f0_p)) <= 1.0
    hz = np.where(voiced, np.where(agree, f0_y, f0_p), np.nan).astype(np.float64)
    times = librosa.frames_to_time(np.arange(n), sr=sample_rate, hop_length=hop).astype(np.float64)
    return PitchTrack(times, hz, np.nan_to_num(prob).astype(np.float64), duration)


def in_ranges(times: NDArray[np.float64], ranges: tuple[TimeRange, ...]) -> NDArray[np.bool_]:
    mask = np.zeros(len(times), dtype=bool)
    for start, end in ranges:
        mask |= (times >= start) & (times <= end)
    return mask


class PitchDirection(StrEnum):
    rising = "rising"
    falling = "falling"
    steady = "steady"
    unclear = "unclear"


@dataclass(frozen=True)
class PitchAnalysis:
    """The pitched frames of a window (optionally only inside / outside some ranges) and their trend."""

    window: TimeRange
    voiced_s: float
    median_hz: float | None = None
    low_hz: float | None = None
    high_hz: float | None = None
    spread_semitones: float | None = None
    change_semitones: float | None = None
    thirds_delta_semitones: float | None = None
    direction: PitchDirection = PitchDirection.unclear
    note: str = ""

    @property
    def has_pitch(self) -> bool:
        return self.median_hz is not None


def hz_to_semitones(hz: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """Semitones above A4 (440 Hz)."""
    return np.asarray(12.0 * np.log2(np.asarray(hz, dtype=np.float64) / 440.0))


def analyze_pitch(
    track: PitchTrack,
    window: TimeRange | None = None,
    *,
    only: tuple[TimeRange, ...] | None = None,
    exclude: tuple[TimeRange, ...] = (),
) -> PitchAnalysis:
    """Median pitch and trend of the pitched frames in ``window``, restricted to ``only`` and not in ``exclude``."""
    span = window if window is not None else (0.0, track.duration_s)
    times = track.times_s
    mask = (times >= span[0]) & (times <= span[1]) & ~np.isnan(track.hz)
    if only is not None:
        mask &= in_ranges(times, only)
    if exclude:
        mask &= ~in_ranges(times, exclude)
    voiced_s = float(mask.sum() * track.hop_s)
    if voiced_s < MIN_VOICED_S:
        return PitchAnalysis(span, voiced_s, note=f"only {voiced_s:.2f} s of pitched sound; need {MIN_VOICED_S} s")
    t, semis = times[mask], hz_to_semitones(track.hz[mask])
    p10, p25, p50, p75, p90 = (float(v) for v in np.percentile(semis, [10, 25, 50, 75, 90]))
    median_hz = float(440.0 * 2.0 ** (p50 / 12.0))
    spread = p75 - p25
    direction, change, delta, note = PitchDirection.unclear, None, None, ""
    if t[-1] - t[0] >= 2 * BIN_S and voiced_s >= 0.3:
        bins = np.floor((t - t[0]) / BIN_S).astype(np.int64)
        keys = np.unique(bins)
        bin_t = np.array([t[bins == k].mean() for k in keys])
        bin_s = np.array([np.median(semis[bins == k]) for k in keys])
        change = theil_sen_slope(bin_t, bin_s) * float(t[-1] - t[0])
        third = (t[-1] - t[0]) / 3.0
        delta = float(np.median(semis[t >= t[-1] - third]) - np.median(semis[t <= t[0] + third]))
        if change >= TREND_SEMITONES and delta >= STEADY_SEMITONES:
            direction = PitchDirection.rising
        elif change <= -TREND_SEMITONES and delta <= -STEADY_SEMITONES:
            direction = PitchDirection.falling
        elif abs(change) < STEADY_SEMITONES and abs(delta) < STEADY_SEMITONES:
            direction = PitchDirection.steady
        else:
            note = "fit and thirds disagree or change is in between"
    else:
        note = "pitched span too short for a trend"
    return PitchAnalysis(
        span,
        round(voiced_s, 3),
        round(median_hz, 2),
        round(440.0 * 2.0 ** (p10 / 12.0), 2),
        round(440.0 * 2.0 ** (p90 / 12.0), 2),
        round(spread, 2),
        None if change is None else round(change, 2),
        None if delta is None else round(delta, 2),
        direction,
        note,
    )


def steady_tone_segments(track: PitchTrack, exclude: tuple[TimeRange, ...] = ()) -> tuple[TimeRange, ...]:
    """Runs of pitched frames whose pitch moves less than half a semitone per frame (tones, beeps, hums),
    outside ``exclude`` (e.g. speech), at least ``MIN_TONE_S`` long.
    """
    if len(track.hz) == 0:
        return ()
    semis = hz_to_semitones(np.where(np.isnan(track.hz), 440.0, track.hz))
    pitched = ~np.isnan(track.hz)
    steady = pitched.copy()
    jump = np.abs(np.diff(semis)) > TONE_JITTER_SEMITONES
    steady[1:] &= ~(jump & pitched[:-1])
    if exclude:
        steady &= ~in_ranges(track.times_s, exclude)
    padded = np.concatenate(([False], steady, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    half = track.hop_s / 2
    runs = []
    for first, stop in zip(edges[::2], edges[1::2], strict=True):
        start, end = float(track.times_s[first]) - half, float(track.times_s[stop - 1]) + half
        if end - start >= MIN_TONE_S:
            runs.append((round(max(0.0, start), 3), round(min(track.duration_s, end), 3)))
    return tuple(runs)
