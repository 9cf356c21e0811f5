"""Loudness from frame RMS (librosa): silence detection and loudness trend. No I/O, numpy in and out.

Levels are dBFS relative to an RMS of 1.0 (a full-scale sine reads -3 dBFS), floored at -120 dBFS so
digital silence has a finite level. Frames are 64 ms long with a 16 ms hop.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import librosa
import numpy as np
from numpy.typing import NDArray

from sightsound_verifier.audio import TimeRange

FRAME_S = 0.064
HOP_S = 0.016
FLOOR_DBFS = -120.0
#: Frames below this level count as silent (quiet room tone sits around -60 dBFS in 16-bit recordings).
SILENCE_THRESHOLD_DBFS = -50.0
#: A steady background (room tone, hiss, hum) under sounds that stand out is silence too: when the loudest
#: frames rise ``BACKGROUND_RISE_DB`` or more over the clip's floor (5th percentile), the threshold moves
#: to ``BACKGROUND_MARGIN_DB`` over that floor, but never above ``MAX_BACKGROUND_DBFS`` (a loud steady
#: noise is a sound, not silence).
BACKGROUND_RISE_DB = 15.0
BACKGROUND_MARGIN_DB = 8.0
MAX_BACKGROUND_DBFS = -28.0
#: A clip is silent when at least this fraction of its frames is below the threshold.
MIN_SILENT_FRACTION = 0.98
#: A trend needs this much sounding audio, spread over at least this long a span.
MIN_ACTIVE_S = 1.0
#: ... of which separate short hits (a ramp of knocks) need only this much sounding.
MIN_ACTIVE_S_SPARSE = 0.5
#: Change over the sounding span (robust fit) that counts as rising / falling, and below which it is steady.
TREND_DB = 6.0
STEADY_DB = 3.0
#: Frames are pooled into bins of this length (median dB) before the Theil-Sen fit.
BIN_S = 0.25
MAX_BINS = 200
#: Sounding runs shorter than this and this far under the loudest frame are crackles, not the sound.
CRACKLE_S = 0.3
CRACKLE_DB = 20.0
CRACKLE_GAP_S = 0.45
MAX_RANGES = 20
#: Separate hits for :func:`peak_trend`: sounding runs at least this far apart, and at least this many.
HIT_GAP_S = 0.1
MIN_HITS = 3


@dataclass(frozen=True, eq=False)
class LoudnessProfile:
    """RMS level per frame: ``dbfs[i]`` for the frame centred at ``times_s[i]``."""

    times_s: NDArray[np.float64]
    dbfs: NDArray[np.float64]
    hop_s: float
    duration_s: float

    def within(self, window: TimeRange | None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        if window is None:
            return self.times_s, self.dbfs
        mask = (self.times_s >= window[0]) & (self.times_s <= window[1])
        return self.times_s[mask], self.dbfs[mask]


def loudness_profile(samples: NDArray[np.float32], sample_rate: int) -> LoudnessProfile:
    frame = max(1, round(FRAME_S * sample_rate))
    hop = max(1, round(HOP_S * sample_rate))
    duration = len(samples) / sample_rate
    if len(samples) == 0:
        empty = np.zeros(0, dtype=np.float64)
        return LoudnessProfile(empty, empty, hop / sample_rate, duration)
    frame = min(frame, len(samples))
    rms = librosa.feature.rms(y=samples, frame_length=frame, hop_length=hop, center=False)[0]
    dbfs = 20.0 * np.log10(np.maximum(rms.astype(np.float64), 10.0 ** (FLOOR_DBFS / 20.0)))
    times = (np.arange(len(dbfs)) * hop + frame / 2.0) / sample_rate
    return LoudnessProfile(times, dbfs, hop / sample_rate, duration)


def silence_threshold(profile: LoudnessProfile) -> float:
    """The level under which a frame is silence in this clip: -50 dBFS, or just over a background floor.

    >>> quiet = LoudnessProfile(np.arange(4.0), np.array([-70.0, -70, -20, -70]), 1.0, 4.0)
    >>> noisy = LoudnessProfile(np.arange(4.0), np.array([-38.0, -38, -10, -38]), 1.0, 4.0)
    >>> steady = LoudnessProfile(np.arange(4.0), np.array([-38.0, -38, -37, -38]), 1.0, 4.0)
    >>> silence_threshold(quiet), silence_threshold(noisy), silence_threshold(steady)
    (-50.0, -30.0, -50.0)
    """
    if profile.dbfs.size == 0:
        return SILENCE_THRESHOLD_DBFS
    floor = float(np.percentile(profile.dbfs, 5))
    top = float(np.percentile(profile.dbfs, 99))
    if top - floor < BACKGROUND_RISE_DB:
        return SILENCE_THRESHOLD_DBFS
    return max(SILENCE_THRESHOLD_DBFS, min(floor + BACKGROUND_MARGIN_DB, MAX_BACKGROUND_DBFS))


@dataclass(frozen=True)
class SilenceAnalysis:
    window: TimeRange
    threshold_dbfs: float
    silent_fraction: float
    level_median_dbfs: float
    level_p95_dbfs: float
    level_max_dbfs: float
    sounding: tuple[TimeRange, ...]
    sounding_s: float

    @property
    def is_silent(self) -> bool:
        return self.silent_fraction >= MIN_SILENT_FRACTION

    @property
    def confidence(self) -> float:
        """How clearly the measurement is silent (or not): 0.5 at the threshold, 0.99 at 20 dB past it.

        Not silent also needs enough sounding time: 0.5 s above the threshold gives full weight.
        """
        if self.is_silent:
            margin = self.threshold_dbfs - self.level_p95_dbfs
            weight = 1.0
        else:
            margin = self.level_max_dbfs - self.threshold_dbfs
            weight = min(1.0, self.sounding_s / 0.5)
        return round(0.5 + 0.49 * min(1.0, max(0.0, margin) / 20.0) * weight, 3)


def analyze_silence(
    profile: LoudnessProfile, window: TimeRange | None = None, threshold_dbfs: float = SILENCE_THRESHOLD_DBFS
) -> SilenceAnalysis:
    times, dbfs = profile.within(window)
    span = window if window is not None else (0.0, profile.duration_s)
    if dbfs.size == 0:
        return SilenceAnalysis(span, threshold_dbfs, 1.0, FLOOR_DBFS, FLOOR_DBFS, FLOOR_DBFS, (), 0.0)
    loud = dbfs > threshold_dbfs
    return SilenceAnalysis(
        window=span,
        threshold_dbfs=threshold_dbfs,
        silent_fraction=float(1.0 - loud.mean()),
        level_median_dbfs=float(np.median(dbfs)),
        level_p95_dbfs=float(np.percentile(dbfs, 95)),
        level_max_dbfs=float(dbfs.max()),
        sounding=_ranges(times, loud, profile.hop_s, span),
        sounding_s=float(loud.sum() * profile.hop_s),
    )


def _ranges(
    times: NDArray[np.float64], mask: NDArray[np.bool_], hop_s: float, span: TimeRange
) -> tuple[TimeRange, ...]:
    """Runs of ``mask`` as time ranges (the first ``MAX_RANGES``); each frame covers its hop around its
    centre, and runs touching the first or last frame extend to the edge of ``span``.
    """
    ranges: list[TimeRange] = []
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    for first, stop in zip(edges[::2], edges[1::2], strict=True):
        start = span[0] if first == 0 else float(times[first]) - hop_s / 2
        end = span[1] if stop == len(mask) else float(times[stop - 1]) + hop_s / 2
        ranges.append((round(start, 3), round(end, 3)))
        if len(ranges) == MAX_RANGES:
            break
    return tuple(ranges)


class TrendDirection(StrEnum):
    rising = "rising"
    falling = "falling"
    steady = "steady"
    unclear = "unclear"


@dataclass(frozen=True)
class LoudnessTrend:
    """Direction of the level over the sounding frames, with the numbers it was decided from.

    ``change_db`` is the Theil-Sen slope times the sounding span; ``thirds_delta_db`` the median of the
    last third minus that of the first. Rising / falling need both: ``|change| >= 6 dB`` and a thirds
    delta of the same sign of at least 3 dB; steady needs both under 3 dB; anything else is unclear.
    """

    direction: TrendDirection
    window: TimeRange
    active_s: float
    slope_db_per_s: float | None = None
    change_db: float | None = None
    thirds_delta_db: float | None = None
    level_median_dbfs: float | None = None
    note: str = ""

    @property
    def confidence(self) -> float:
        """0.5 + up to 0.45: rising / falling by how far past 6 dB, steady by how far under 3 dB."""
        if self.change_db is None or self.direction is TrendDirection.unclear:
            return 0.0
        change = abs(self.change_db)
        if self.direction is TrendDirection.steady:
            return round(0.5 + 0.45 * (STEADY_DB - change) / STEADY_DB, 3)
        return round(min(0.95, 0.5 + 0.45 * (change - TREND_DB / 2) / TREND_DB), 3)


def analyze_trend(
    profile: LoudnessProfile, window: TimeRange | None = None, threshold_dbfs: float = SILENCE_THRESHOLD_DBFS
) -> LoudnessTrend:
    """The trend over the frames above the threshold, less isolated crackles (:func:`crackles`)."""
    times, dbfs = profile.within(window)
    span = window if window is not None else (0.0, profile.duration_s)
    active = dbfs > threshold_dbfs
    active &= ~crackles(dbfs, active, profile.hop_s)
    t, db = times[active], dbfs[active]
    active_s = float(active.sum() * profile.hop_s)
    if active_s < MIN_ACTIVE_S_SPARSE or t[-1] - t[0] < MIN_ACTIVE_S:
        return LoudnessTrend(
            TrendDirection.unclear,
            span,
            active_s,
            note=f"only {active_s:.2f} s above {threshold_dbfs:.0f} dBFS; a trend needs {MIN_ACTIVE_S_SPARSE} s",
        )
    t0, t1 = float(t[0]), float(t[-1])
    width = max(BIN_S, (t1 - t0) / MAX_BINS)
    bins = np.floor((t - t0) / width).astype(np.int64)
    keys = np.unique(bins)
    bin_t = np.array([t[bins == k].mean() for k in keys])
    # The upper level of each bin (its 90th percentile): separate hits are judged by their peaks, not by
    # their decays, which pull a median down wherever hits are sparse.
    bin_db = np.array([np.percentile(db[bins == k], 90) for k in keys])
    slope = theil_sen_slope(bin_t, bin_db)
    change = slope * (t1 - t0)
    third = (t1 - t0) / 3.0
    delta = float(np.median(db[t >= t1 - third]) - np.median(db[t <= t0 + third]))
    if change >= TREND_DB and delta >= STEADY_DB:
        direction = TrendDirection.rising
    elif change <= -TREND_DB and delta <= -STEADY_DB:
        direction = TrendDirection.falling
    elif abs(change) < STEADY_DB and abs(delta) < STEADY_DB:
        direction = TrendDirection.steady
    else:
        direction = TrendDirection.unclear
    note = "" if direction is not TrendDirection.unclear else "fit and thirds disagree or change is in between"
    if direction is TrendDirection.unclear:
        by_peaks = peak_trend(times, dbfs, active, profile.hop_s)
        if by_peaks is not None:
            direction, slope, change, delta = by_peaks
            note = "separate hits: judged by the trend of their peak levels"
    return LoudnessTrend(
        direction,
        span,
        active_s,
        slope_db_per_s=round(slope, 3),
        change_db=round(change, 2),
        thirds_delta_db=round(delta, 2),
        level_median_dbfs=round(float(np.median(db)), 2),
        note=note,
    )


def peak_trend(
    times: NDArray[np.float64], dbfs: NDArray[np.float64], active: NDArray[np.bool_], hop_s: float
) -> tuple[TrendDirection, float, float, float] | None:
    """Rising or falling by the peaks of separate hits, or ``None`` (fewer than ``MIN_HITS`` hits, or no
    clear trend): the Theil-Sen change of the hits' peak levels over their span, and the mean peak of the
    last third of the hits against the first third, must agree as in :func:`analyze_trend`. The frame
    fit there mixes each hit's decay into the level, so a few short hits ramping 15 dB can read as
    neither (dev count clips: four drum hits falling, four dings rising).

    >>> t = np.arange(40) * 0.1
    >>> db = np.full(40, -70.0)
    >>> for k, level in enumerate((-10.0, -14.0, -19.0, -25.0)):
    ...     db[10 * k : 10 * k + 3] = (level, level - 10, level - 20)
    >>> peak_trend(t, db, db > -50, 0.1)[0]
    <TrendDirection.falling: 'falling'>
    """
    padded = np.concatenate(([False], active, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    runs: list[list[int]] = []
    for first, stop in zip(edges[::2], edges[1::2], strict=True):
        if runs and (first - runs[-1][1]) * hop_s < HIT_GAP_S:
            runs[-1][1] = int(stop)
        else:
            runs.append([int(first), int(stop)])
    if len(runs) < MIN_HITS:
        return None
    peak_at = np.array([first + int(np.argmax(dbfs[first:stop])) for first, stop in runs])
    t, peaks = times[peak_at], dbfs[peak_at]
    slope = theil_sen_slope(t, peaks)
    change = slope * float(t[-1] - t[0])
    third = max(1, len(peaks) // 3)
    delta = float(np.mean(peaks[-third:]) - np.mean(peaks[:third]))
    if change >= TREND_DB and delta >= STEADY_DB:
        return TrendDirection.rising, slope, change, delta
    if change <= -TREND_DB and delta <= -STEADY_DB:
        return TrendDirection.falling, slope, change, delta
    return None


def crackles(dbfs: NDArray[np.float64], active: NDArray[np.bool_], hop_s: float) -> NDArray[np.bool_]:
    """Isolated short runs of sounding frames: under ``CRACKLE_S`` long, ``CRACKLE_DB`` or more under the
    loudest frame and ``CRACKLE_GAP_S`` or more from any other sounding run. A vinyl bed's pops after the
    last hit stretched the span and dragged its last third down, so hits rising 16 dB read as falling
    (dev-extra count clips). The quiet beats at the start of a music ramp from -18 dB are as faint and
    as short, but close together: they stay.

    >>> db = np.array([-60.0, -20, -20, -60, -60, -60, -60, -60, -45, -60, -60, -60, -60, -60, -45, -60, -45])
    >>> np.flatnonzero(crackles(db, db > -50, 0.1)).tolist()  # a lone pop; two close faint beats stay
    [8]
    """
    out = np.zeros(len(dbfs), dtype=bool)
    if not active.any():
        return out
    peak = float(dbfs[active].max())
    padded = np.concatenate(([False], active, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    runs = list(zip(edges[::2], edges[1::2], strict=True))
    for k, (first, stop) in enumerate(runs):
        before = (first - runs[k - 1][1]) * hop_s if k > 0 else np.inf
        after = (runs[k + 1][0] - stop) * hop_s if k + 1 < len(runs) else np.inf
        short_and_faint = (stop - first) * hop_s < CRACKLE_S and float(dbfs[first:stop].max()) <= peak - CRACKLE_DB
        if short_and_faint and min(before, after) >= CRACKLE_GAP_S:
            out[first:stop] = True
    return out


def theil_sen_slope(x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    """Median of pairwise slopes: robust to the outliers (plosives, clicks) a least-squares fit chases.

    >>> x = np.arange(6.0)
    >>> y = np.where(x == 5, 100.0, 2.0 * x)  # a line with one click at the end
    >>> theil_sen_slope(x, y), round(float(np.polyfit(x, y, 1)[0]), 1)  # vs least squares
    (2.0, 14.9)
    """
    i, j = np.triu_indices(len(x), k=1)
    dx = x[j] - x[i]
    keep = dx > 0
    if not keep.any():
        return 0.0
    return float(np.median((y[j] - y[i])[keep] / dx[keep]))


def silent_ranges(
    profile: LoudnessProfile, min_s: float = 0.3, threshold_dbfs: float = SILENCE_THRESHOLD_DBFS
) -> tuple[TimeRange, ...]:
    """Stretches of at least ``min_s`` with every frame below the threshold (pauses, gaps, silence)."""
    if profile.dbfs.size == 0:
        return ()
    quiet = profile.dbfs <= threshold_dbfs
    ranges = _ranges(profile.times_s, quiet, profile.hop_s, (0.0, profile.duration_s))
    return tuple((s, e) for s, e in ranges if e - s >= min_s)
