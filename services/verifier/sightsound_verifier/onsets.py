"""Discrete sound events (beeps, knocks, barks, bursts) and their count, from the RMS level (pure numpy).

An event is a run of frames above an adaptive threshold (10 dB over the window's noise floor, at most
30 dB under its peak, never under -50 dBFS); runs closer than 80 ms merge, runs shorter than 30 ms are
dropped. A run is split where the level dips 6 dB or more below its peak and comes back 6 dB or more
(a new attack over a ringing tail: bell strokes, drum hits). Events mostly inside ``exclude`` ranges
(speech) are left out, so syllables are not counted as knocks.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sightsound_verifier.audio import TimeRange
from sightsound_verifier.loudness import SILENCE_THRESHOLD_DBFS, LoudnessProfile

FLOOR_MARGIN_DB = 10.0
BELOW_PEAK_DB = 30.0
MERGE_GAP_S = 0.08
MIN_EVENT_S = 0.03
REATTACK_DB = 6.0
#: Least contrast (event peaks over the floor) for events to count as discrete.
MIN_CONTRAST_DB = 12.0
#: Events covering more of the window than this, as one event, are a continuous sound, not a count.
CONTINUOUS_FRACTION = 0.85
MAX_EVENTS = 200
#: A new event needs an attack: the level rises this much within ``ATTACK_S``. A piece without one that
#: starts less than ``TAIL_GAP_S`` after the previous event is that event's tail (a ringing bell's beating,
#: a passage's tremolo) crossing the threshold again, not a new event.
ATTACK_DB = 8.0
ATTACK_S = 0.05
TAIL_GAP_S = 0.6
#: Events this far under the loudest event are background (crackles, distant clicks), not counted.
FAINT_DB = 18.0


@dataclass(frozen=True)
class EventCount:
    window: TimeRange
    events: tuple[TimeRange, ...]
    floor_dbfs: float
    peak_dbfs: float
    threshold_dbfs: float
    contrast_db: float
    excluded: int = 0
    note: str = ""

    @property
    def count(self) -> int:
        return len(self.events)

    @property
    def sounding_fraction(self) -> float:
        span = self.window[1] - self.window[0]
        return sum(e - s for s, e in self.events) / span if span > 0 else 0.0

    @property
    def countable(self) -> bool:
        """Events stand out from the floor and are not one continuous sound."""
        if self.note:
            return False
        return not (self.count == 1 and self.sounding_fraction > CONTINUOUS_FRACTION)

    @property
    def confidence(self) -> float:
        """0.5 at 12 dB of contrast, 0.95 at 32 dB or more."""
        return round(0.5 + 0.45 * min(1.0, max(0.0, self.contrast_db - MIN_CONTRAST_DB) / 20.0), 3)


def _runs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def split_reattacks(
    db: NDArray[np.float64], first: int, stop: int, dip_db: float = REATTACK_DB, attack_frames: int = 3
) -> list[int]:
    """Frame indices in ``db[first:stop]`` where a new attack starts after a dip of ``dip_db`` or more.

    The level must come back fast (``dip_db`` within ``attack_frames``): a slow swell is tremolo or the
    beating of a ringing tail, not a new stroke.

    >>> level = np.array([-10.0, -12, -20, -11, -12, -30, -9, -9])
    >>> split_reattacks(level, 0, len(level))
    [2, 5]
    >>> swell = np.array([-10.0, -14, -18, -16, -14, -12, -10])  # tremolo: back up 2 dB a frame
    >>> split_reattacks(swell, 0, len(swell), attack_frames=1)
    []
    """
    splits: list[int] = []
    peak = -np.inf
    valley, valley_at = np.inf, -1
    in_dip = False
    for i in range(first, stop):
        value = float(db[i])
        if not in_dip:
            if value > peak:
                peak = value
            elif value <= peak - dip_db:
                in_dip, valley, valley_at = True, value, i
        elif value < valley:
            valley, valley_at = value, i
        elif value >= valley + dip_db:
            if value - float(db[max(first, i - attack_frames) : i].min()) >= dip_db:
                splits.append(valley_at)  # a fast rise: a new attack
            in_dip, peak = False, value
    return splits


def has_attack(db: NDArray[np.float64], first: int, stop: int, attack_frames: int) -> bool:
    """Whether the level rises ``ATTACK_DB`` or more from just before ``first`` to its peak soon after.

    >>> level = np.array([-40.0, -40, -12, -14, -30, -28, -26])
    >>> has_attack(level, 2, 4, 2), has_attack(level, 5, 7, 2)
    (True, False)
    """
    before = float(db[max(0, first - attack_frames) : first + 1].min())
    after = float(db[first : min(stop, first + 2 * attack_frames + 1)].max())
    return after - before >= ATTACK_DB


def count_events(
    profile: LoudnessProfile, window: TimeRange | None = None, exclude: tuple[TimeRange, ...] = ()
) -> EventCount:
    span = window if window is not None else (0.0, profile.duration_s)
    times, db = profile.within(window)
    if db.size == 0:
        return EventCount(span, (), -120.0, -120.0, SILENCE_THRESHOLD_DBFS, 0.0, note="no audio in the window")
    floor, peak = float(np.percentile(db, 10)), float(db.max())
    if peak <= SILENCE_THRESHOLD_DBFS:
        # Silence: zero events, as clearly as the silence is clear.
        return EventCount(span, (), floor, peak, SILENCE_THRESHOLD_DBFS, BELOW_PEAK_DB + MIN_CONTRAST_DB)
    threshold = max(SILENCE_THRESHOLD_DBFS, floor + FLOOR_MARGIN_DB, peak - BELOW_PEAK_DB)
    hop = profile.hop_s
    runs: list[tuple[int, int]] = []
    for first, stop in _runs(db > threshold):
        if runs and (first - runs[-1][1]) * hop < MERGE_GAP_S:
            runs[-1] = (runs[-1][0], stop)
        else:
            runs.append((first, stop))
    attack_frames = max(1, round(ATTACK_S / hop))
    pieces: list[tuple[int, int]] = []
    for first, stop in runs:
        cuts = [first, *split_reattacks(db, first, stop, attack_frames=attack_frames), stop]
        for a, b in itertools.pairwise(cuts):
            if (b - a) * hop < MIN_EVENT_S:
                continue
            if pieces and (a - pieces[-1][1]) * hop < TAIL_GAP_S and not has_attack(db, a, b, attack_frames):
                pieces[-1] = (pieces[-1][0], b)  # a tail crossing the threshold again
            else:
                pieces.append((a, b))
    if pieces:
        loudest = max(float(db[a:b].max()) for a, b in pieces)
        pieces = [(a, b) for a, b in pieces if float(db[a:b].max()) >= loudest - FAINT_DB]
    events: list[TimeRange] = []
    peaks: list[float] = []
    excluded = 0
    for first, stop in pieces[:MAX_EVENTS]:
        start, end = float(times[first]) - hop / 2, float(times[stop - 1]) + hop / 2
        overlap = sum(max(0.0, min(end, e) - max(start, s)) for s, e in exclude)
        if overlap > 0.5 * (end - start):
            excluded += 1
            continue
        start, end = max(span[0], start), min(span[1], end)
        if end - start < MIN_EVENT_S:  # the window's edge cut it to a sliver
            continue
        events.append((round(start, 3), round(end, 3)))
        peaks.append(float(db[first:stop].max()))
    contrast = (float(np.median(peaks)) - floor) if peaks else peak - floor
    note = ""
    if not pieces and peak - floor < MIN_CONTRAST_DB:
        note = f"one continuous sound (level varies {peak - floor:.1f} dB): no separate events"
    elif peaks and contrast < MIN_CONTRAST_DB:
        note = f"events stand only {contrast:.1f} dB over the floor; need {MIN_CONTRAST_DB:.0f} dB"
    elif len(pieces) > MAX_EVENTS:
        note = f"more than {MAX_EVENTS} events: too many to count"
    return EventCount(
        span, tuple(events), round(floor, 2), round(peak, 2), round(threshold, 2), round(contrast, 2), excluded, note
    )
