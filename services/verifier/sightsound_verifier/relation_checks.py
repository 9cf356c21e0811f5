"""Checks of two sounds together (overlap / simultaneity, "between") and of what is sounding
(instrument identity, voice attributes), with the reason spelled out where offline analysis cannot tell.

Instrument identity: no PyPI package ships offline instrument-tagging weights under a licence that
allows this use (musicnn's checkpoints are trained on MagnaTagATune, whose data is CC BY-NC-SA), so an
instrument claim is checked only for what the music detector can say: no music at all contradicts it.
Voice: a child's voice is checked by a measurable proxy, the median fundamental of the speech (above
250 Hz: child; below 180 Hz: adult); male / female likewise (below 165 Hz / above 180 Hz); a robotic
or synthetic voice needs the audio LLM.
"""

from __future__ import annotations

import re
from typing import Any

from sightsound.contracts.common import ClaimKind
from sightsound.contracts.verifier import Claim, Verdict
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio import TimeRange
from sightsound_verifier.checkers import oriented, ranges_s, resolve_window, unverifiable
from sightsound_verifier.claims import asserts_presence
from sightsound_verifier.music_checks import MIN_PRESENT_S
from sightsound_verifier.pitch import analyze_pitch
from sightsound_verifier.sound_events import SoundClass
from sightsound_verifier.subjects import events_of, located, subject_ranges, total_s

MIN_OVERLAP_S = 0.3
INSTRUMENT_REASON = "instrument identity needs the audio LLM: no offline instrument tagger with a usable licence"
#: Median speech fundamental (Hz) bounds of the voice proxies: (supports above/below, contradicts beyond).
CHILD_HZ, ADULT_HZ = 250.0, 180.0
MALE_HZ, FEMALE_HZ = 165.0, 180.0


def _overlap_s(a: tuple[TimeRange, ...], b: tuple[TimeRange, ...]) -> float:
    return float(sum(max(0.0, min(e1, e2) - max(s1, s2)) for s1, e1 in a for s2, e2 in b))


class OverlapChecker:
    """``overlap=X``: the subject and X sound at the same time; ``between=A and B``: the subject lies between."""

    name = "segment-overlap"
    kinds = frozenset({ClaimKind.overlap})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        if "between" in claim.attributes:
            return self._between(claim, clip, window)
        other = str(claim.attributes.get("overlap", "")).strip()
        mine, theirs = subject_ranges(claim, clip, window), located(other, clip, window)
        asserted = asserts_presence(claim)
        for name, ranges in (("the subject", mine), (other, theirs)):
            if ranges is not None and total_s(ranges) < MIN_OVERLAP_S:
                return oriented(self.name, False, asserted, 0.65, f"{name} is not found, so nothing overlaps it")
        if mine is None or theirs is None:
            return unverifiable(self.name, "cannot locate both sounds in time (only speech, music, singing, tones)")
        shared = _overlap_s(mine, theirs)
        evidence: dict[str, Any] = {
            "subject_s": ranges_s(mine),
            "other_s": ranges_s(theirs),
            "overlap_s": round(shared, 3),
        }
        summary = f"{shared:.2f} s where both sound"
        return oriented(self.name, shared >= MIN_OVERLAP_S, asserted, 0.7, summary, **evidence)

    def _between(self, claim: Claim, clip: ClipAnalysis, window: TimeRange | None) -> Verdict:
        raw = str(claim.attributes.get("between", ""))
        parts = re.split(r"\s+and\s+", raw, maxsplit=1)
        if len(parts) != 2:
            return unverifiable(self.name, f"between {raw!r} not understood (expected 'A and B')")
        mine = subject_ranges(claim, clip, window)
        if mine is None:
            return unverifiable(self.name, "cannot locate the subject in time (only speech, music, singing, tones)")
        asserted = asserts_presence(claim)
        if total_s(mine) < MIN_OVERLAP_S:
            return oriented(self.name, False, asserted, 0.65, "the subject is not found")
        a, b = located(parts[0], clip, window), located(parts[1], clip, window)
        start, end = mine[0][0], mine[-1][1]
        if a is None and b is None:  # two unidentified events: any sound events outside the subject
            events = events_of(claim.model_copy(update={"attributes": {"event": "sound"}}), clip, window).events
            before = [e for e in events if e[1] <= start + 0.05]
            after = [e for e in events if e[0] >= end - 0.05]
            holds_ = bool(before) and bool(after)
            summary = (
                f"{len(before)} sound event(s) before and {len(after)} after the subject ({start:.2f}-{end:.2f} s)"
            )
            return oriented(self.name, holds_, asserted, 0.6, summary, events_s=ranges_s(events))
        if a is None or b is None or not a or not b:
            return unverifiable(self.name, f"cannot locate both of {raw!r} in time")
        holds_ = a[0][0] < start and b[-1][1] > end
        return oriented(self.name, holds_, asserted, 0.65, f"subject at {start:.2f}-{end:.2f} s")


class InstrumentChecker:
    """Music presence stands in for the instrument: no music contradicts "a violin plays"."""

    name = "instrument"
    kinds = frozenset({ClaimKind.instrument})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        music = clip.sound_class(SoundClass.music, window)
        singing = clip.sound_class(SoundClass.singing, window)
        present_s = music.present_s + singing.present_s
        evidence: dict[str, Any] = {
            "instrument": claim.attributes.get("instrument", ""),
            "music_s": round(music.present_s, 3),
            "p95_music_probability": round(music.p95_probability, 3),
        }
        if present_s >= min(MIN_PRESENT_S, 0.2 * music.duration_s):
            return unverifiable(self.name, f"music is present ({present_s:.2f} s); {INSTRUMENT_REASON}", **evidence)
        confidence = min(0.9, 1.0 - music.p95_probability)
        summary = f"no music detected (95th-percentile probability {music.p95_probability:.2f}), so no instrument plays"
        return oriented(self.name, False, asserts_presence(claim), confidence, summary, **evidence)


class VoiceChecker:
    name = "voice-pitch"
    kinds = frozenset({ClaimKind.voice})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        raw = str(claim.attributes.get("voice", "")).strip().lower()
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        speech = clip.speech(window)
        asserted = asserts_presence(claim)
        if not speech.has_speech:
            confidence = min(0.8, 1.0 - speech.max_probability)
            return oriented(self.name, False, asserted, confidence, "no speech detected, so no such voice")
        wanted = {w for w in re.split(r"[ ,/]+", raw) if w}
        found = analyze_pitch(clip.pitch_track, window, only=speech.segments)
        evidence: dict[str, Any] = {"median_speech_hz": found.median_hz, "voice": raw}
        if found.median_hz is None:
            return unverifiable(self.name, "no clear pitch in the speech", **evidence)
        hz = found.median_hz
        if wanted & {"child", "kid", "children"}:
            verdict = True if hz > CHILD_HZ else False if hz < ADULT_HZ else None
        elif wanted & {"male", "man", "masculine"}:
            verdict = True if hz < MALE_HZ else False if hz > FEMALE_HZ + 20 else None
        elif wanted & {"female", "woman", "feminine"}:
            verdict = True if hz > FEMALE_HZ else False if hz < MALE_HZ - 20 else None
        else:
            return unverifiable(self.name, f"voice {raw!r} needs the audio LLM (no acoustic proxy)", **evidence)
        summary = f"median speech fundamental {hz:.0f} Hz (proxy for {raw})"
        if verdict is None:
            return unverifiable(self.name, summary + ": in the ambiguous range", **evidence)
        return oriented(self.name, verdict, asserted, 0.65, summary, **evidence)


def v2_checkers() -> list[Any]:
    """The checkers of claim-language v2 (added to the acoustic line-up)."""
    from sightsound_verifier.comparison_checks import ComparisonChecker, GapChecker, PatternChecker
    from sightsound_verifier.window_checks import BoundChecker, CoverageChecker, ExceptionChecker

    return [
        CoverageChecker(),
        ExceptionChecker(),
        BoundChecker(),
        ComparisonChecker(),
        PatternChecker(),
        GapChecker(),
        OverlapChecker(),
        InstrumentChecker(),
        VoiceChecker(),
    ]
