"""Pitch claims: a frequency (``pitch=440Hz``, ``pitch=A4``), a trend (rising, falling, steady) or a
register (high, low), against the pitch track of :mod:`sightsound_verifier.pitch`.

Which frames count: for a voice (the claim's source or event names speech) the frames inside speech
segments; for anything else the pitched frames outside them, so a talking narrator does not decide
the pitch of a whistle.

- Frequency: supported within 1 semitone (about 6%) of the median, or inside the 10th-90th percentile
  range when the pitch moves; contradicted 2 semitones or more outside it; an octave off (a classic
  tracker error) or in between is unverifiable.
- Register: high is a median of 1 kHz or more, low 250 Hz or less; for a voice, 180 Hz or more and
  150 Hz or less (a typical man speaks near 100-130 Hz, a woman near 180-230 Hz, a child above 250 Hz);
  in between unverifiable.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sightsound.contracts.common import ClaimKind
from sightsound.contracts.verifier import Claim, Verdict
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio import TimeRange
from sightsound_verifier.checkers import oriented, resolve_window, unverifiable
from sightsound_verifier.claim_values import Locatable, parse_hz, subject_kind
from sightsound_verifier.claims import asserts_presence
from sightsound_verifier.event_spectra import Shape, event_spectra
from sightsound_verifier.loudness import theil_sen_slope
from sightsound_verifier.pitch import (
    STEADY_SEMITONES,
    TREND_SEMITONES,
    PitchAnalysis,
    PitchDirection,
    analyze_pitch,
    hz_to_semitones,
)

SUPPORT_SEMITONES = 1.0
CONTRADICT_SEMITONES = 2.0
#: A pitch moving more than this (interquartile range, semitones) is a melody or a voice, not one note.
ONE_NOTE_SPREAD = 1.0
#: Register thresholds (median Hz): (low at or below, high at or above), for sounds and for voices.
REGISTER_HZ = (250.0, 1000.0)
VOICE_REGISTER_HZ = (150.0, 180.0)

RISING = frozenset({"rising", "rises", "up", "increasing", "higher", "ascending", "going up"})
FALLING = frozenset({"falling", "falls", "down", "decreasing", "lower", "descending", "going down", "dropping"})
STEADY = frozenset({"steady", "constant", "stable", "flat", "same", "unchanged", "monotone"})
HIGH = frozenset({"high", "high-pitched", "shrill", "squeaky", "piercing", "very high"})
LOW = frozenset({"low", "low-pitched", "deep", "bass", "very low", "rumbling"})
TREND_WORDS = ((RISING, PitchDirection.rising), (FALLING, PitchDirection.falling), (STEADY, PitchDirection.steady))
#: Trend from the strongest partial of each event (no pitch track): at least this many events, this share of
#: steps in the claimed direction, no step over this (a jump to another partial), at most this confident.
MIN_SERIES = 3
CONSISTENT_STEPS = 0.75
MAX_STEP_SEMITONES = 7.0
EVENT_PEAK_CONFIDENCE = 0.85


def semitones(a_hz: float, b_hz: float) -> float:
    return 12.0 * math.log2(a_hz / b_hz)


class PitchChecker:
    name = "pyin-pitch"
    kinds = frozenset({ClaimKind.pitch})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        raw = str(claim.attributes.get("pitch", "")).strip().lower()
        if not raw:
            return unverifiable(self.name, "the claim names no pitch (440Hz, rising, falling, high, low)")
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        voice = subject_kind(claim) is Locatable.speech
        speech = clip.speech_track.segments
        analysis = analyze_pitch(
            clip.pitch_track, window, only=speech if voice else None, exclude=() if voice else speech
        )
        frames = "speech frames" if voice else "pitched frames outside speech"
        evidence: dict[str, Any] = {
            "window_s": [round(analysis.window[0], 3), round(analysis.window[1], 3)],
            "frames": frames,
            "voiced_s": analysis.voiced_s,
            "median_hz": analysis.median_hz,
            "range_hz": [analysis.low_hz, analysis.high_hz],
            "spread_semitones": analysis.spread_semitones,
            "change_semitones": analysis.change_semitones,
            "direction": analysis.direction.value,
        }
        if not voice and (not analysis.has_pitch or analysis.direction is PitchDirection.unclear):
            # pYIN found no pitch or no trend (chimes above its range): the strongest partial of each event
            trend = self._event_peaks(raw, clip, window, asserts_presence(claim), evidence)
            if trend is not None:
                return trend
        if not analysis.has_pitch:
            return unverifiable(self.name, f"no clear pitch in the {frames}: {analysis.note}", **evidence)
        asserted = asserts_presence(claim)
        hz = parse_hz(raw)
        if hz is not None:
            return self._frequency(hz, analysis, asserted, evidence)
        if raw in HIGH | LOW:
            thresholds = VOICE_REGISTER_HZ if voice else REGISTER_HZ
            return self._register(raw in HIGH, thresholds, analysis, asserted, evidence)
        for words, direction in ((RISING, PitchDirection.rising), (FALLING, PitchDirection.falling)):
            if raw in words:
                return self._trend(direction, analysis, asserted, evidence)
        if raw in STEADY:
            return self._trend(PitchDirection.steady, analysis, asserted, evidence)
        return unverifiable(self.name, f"pitch value {raw!r} not understood", **evidence)

    def _event_peaks(
        self, raw: str, clip: ClipAnalysis, window: TimeRange | None, asserted: bool, evidence: dict[str, Any]
    ) -> Verdict | None:
        """A trend claim over a series of peaky events (chimes above pYIN's range): the strongest partial of each."""
        claimed = next((d for words, d in TREND_WORDS if raw in words), None)
        if claimed is None:
            return None
        events = clip.event_count(window).events
        spectra = event_spectra(clip.clip.samples, clip.clip.sample_rate, events)
        if len(spectra) < MIN_SERIES or sum(s.shape is Shape.peaky for s in spectra) < len(spectra) - 1:
            return None
        semis = hz_to_semitones(np.array([s.peak_hz for s in spectra]))
        steps = np.diff(semis)
        evidence["event_peaks_hz"] = [round(s.peak_hz, 1) for s in spectra]
        if np.any(np.abs(steps) > MAX_STEP_SEMITONES):  # the strongest partial jumped: no trend to read
            return None
        change = float(theil_sen_slope(np.arange(len(semis), dtype=np.float64), semis) * (len(semis) - 1))
        if change >= TREND_SEMITONES and np.mean(steps > 0) >= CONSISTENT_STEPS:
            found = PitchDirection.rising
        elif change <= -TREND_SEMITONES and np.mean(steps < 0) >= CONSISTENT_STEPS:
            found = PitchDirection.falling
        elif abs(change) < STEADY_SEMITONES and np.all(np.abs(steps) < STEADY_SEMITONES):
            found = PitchDirection.steady
        else:
            return None
        summary = f"strongest partial of {len(spectra)} peaky events: {found.value}, {change:+.1f} semitones"
        confidence = 0.7 if found is PitchDirection.steady else min(EVENT_PEAK_CONFIDENCE, 0.5 + 0.15 * abs(change))
        return oriented(self.name, found is claimed, asserted, confidence, summary, **evidence)

    def _frequency(self, hz: float, found: PitchAnalysis, asserted: bool, evidence: dict[str, Any]) -> Verdict:
        assert found.median_hz is not None and found.low_hz is not None and found.high_hz is not None
        evidence["claimed_hz"] = hz
        off = semitones(hz, found.median_hz)
        if (found.spread_semitones or 0.0) > ONE_NOTE_SPREAD:
            # A moving pitch: how far outside the range the claim lies.
            off = max(0.0, semitones(hz, found.high_hz)) + min(0.0, semitones(hz, found.low_hz))
        evidence["off_semitones"] = round(off, 2)
        distance = abs(off)
        measured = f"measured {found.median_hz:.0f} Hz (10-90%: {found.low_hz:.0f}-{found.high_hz:.0f} Hz)"
        if distance <= SUPPORT_SEMITONES:
            confidence = 0.95 - 0.25 * distance / SUPPORT_SEMITONES
            return oriented(self.name, True, asserted, confidence, f"{measured}; claimed {hz:g} Hz", **evidence)
        if abs(distance - 12.0) <= SUPPORT_SEMITONES or abs(distance - 24.0) <= SUPPORT_SEMITONES:
            return unverifiable(self.name, f"{measured}: claimed {hz:g} Hz is an octave off (ambiguous)", **evidence)
        if distance < CONTRADICT_SEMITONES:
            return unverifiable(self.name, f"{measured}: claimed {hz:g} Hz is {distance:.1f} semitones off", **evidence)
        confidence = 0.6 + 0.35 * min(1.0, (distance - CONTRADICT_SEMITONES) / 4.0)
        summary = f"{measured}; claimed {hz:g} Hz is {distance:.1f} semitones off"
        return oriented(self.name, False, asserted, confidence, summary, **evidence)

    def _register(
        self,
        high: bool,
        thresholds: tuple[float, float],
        found: PitchAnalysis,
        asserted: bool,
        evidence: dict[str, Any],
    ) -> Verdict:
        assert found.median_hz is not None
        median, (low_hz, high_hz) = found.median_hz, thresholds
        evidence["register_thresholds_hz"] = [low_hz, high_hz]
        if low_hz < median < high_hz:
            return unverifiable(self.name, f"median pitch {median:.0f} Hz is neither high nor low", **evidence)
        measured_high = median >= high_hz
        octaves = abs(math.log2(median / (high_hz if measured_high else low_hz)))
        confidence = 0.6 + 0.35 * min(1.0, octaves)
        summary = f"median pitch {median:.0f} Hz ({'high' if measured_high else 'low'})"
        return oriented(self.name, measured_high == high, asserted, confidence, summary, **evidence)

    def _trend(
        self, claimed: PitchDirection, found: PitchAnalysis, asserted: bool, evidence: dict[str, Any]
    ) -> Verdict:
        if found.direction is PitchDirection.unclear or found.change_semitones is None:
            return unverifiable(self.name, f"pitch trend unclear: {found.note}", **evidence)
        change = abs(found.change_semitones)
        if found.direction is PitchDirection.steady:
            confidence = 0.5 + 0.45 * (STEADY_SEMITONES - change) / STEADY_SEMITONES
        else:
            confidence = min(0.95, 0.5 + 0.45 * (change - 1.0) / 3.0)
        summary = f"pitch {found.direction.value}: {found.change_semitones:+.1f} semitones over the pitched span"
        return oriented(self.name, found.direction is claimed, asserted, confidence, summary, **evidence)
