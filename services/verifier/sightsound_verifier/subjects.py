"""Where a claim's subject sounds and what its separate events are (measurements, shared by checkers)."""

from __future__ import annotations

import numpy as np

from sightsound.contracts.verifier import Claim
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio import TimeRange
from sightsound_verifier.claim_values import Locatable, locatable, subject_kind
from sightsound_verifier.onsets import EventCount
from sightsound_verifier.order_checks import clip_to, locate


def located(phrase: str, clip: ClipAnalysis, window: TimeRange | None) -> tuple[TimeRange, ...] | None:
    """Where the sound named by ``phrase`` is, if the analyzers can locate that kind; else ``None``."""
    kind = locatable(phrase)
    return None if kind is None else clip_to(locate(kind, clip), window)


def subject_ranges(claim: Claim, clip: ClipAnalysis, window: TimeRange | None) -> tuple[TimeRange, ...] | None:
    kind = subject_kind(claim)
    return None if kind is None else clip_to(locate(kind, clip), window)


def events_of(claim: Claim, clip: ClipAnalysis, window: TimeRange | None) -> EventCount:
    """Separate sound events in the window; speech is left out unless the claim is about speech."""
    return clip.event_count(window, exclude_speech=subject_kind(claim) is not Locatable.speech)


def total_s(ranges: tuple[TimeRange, ...]) -> float:
    return float(sum(e - s for s, e in ranges))


def span_of(window: TimeRange | None, clip: ClipAnalysis) -> TimeRange:
    return window if window is not None else (0.0, clip.duration_s)


def peak_db(clip: ClipAnalysis, event: TimeRange) -> float | None:
    _, db = clip.loudness.within(event)
    return float(db.max()) if db.size else None


def median_hz(clip: ClipAnalysis, event: TimeRange) -> float | None:
    track = clip.pitch_track
    mask = (track.times_s >= event[0]) & (track.times_s <= event[1]) & np.isfinite(track.hz)
    return float(np.median(track.hz[mask])) if mask.sum() >= 3 else None
