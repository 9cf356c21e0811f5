"""Checks of how much of a window a sound fills: coverage ("for the whole clip", "mostly silent"),
exceptions ("quiet except for the dog": every part but the dog is quiet, never "the clip is silent"),
and inequalities on counts, pitch, tempo and durations (``count>5``, ``pitch<200Hz``, ``duration<2s``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sightsound.contracts.common import ClaimKind
from sightsound.contracts.verifier import Claim, Verdict
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.checkers import oriented, ranges_s, resolve_window, unverifiable
from sightsound_verifier.claim_bounds import holds, split_bound
from sightsound_verifier.claim_values import Locatable, parse_bpm, parse_count, parse_hz, subject_kind
from sightsound_verifier.claims import SILENCE_EVENTS, asserts_presence
from sightsound_verifier.count_scope import count_scope
from sightsound_verifier.loudness import SILENCE_THRESHOLD_DBFS
from sightsound_verifier.pitch import analyze_pitch
from sightsound_verifier.subjects import events_of, located, span_of, subject_ranges, total_s

#: Coverage words -> (least fraction that supports, fraction below which it is contradicted).
COVERAGE = {"whole": (0.9, 0.6), "most": (0.5, 0.3), "part": (0.05, 0.0), "brief": (0.0, 0.0)}
_COVERAGE_WORDS = {"all": "whole", "entire": "whole", "throughout": "whole", "mostly": "most", "partly": "part"}
_COVERAGE_WORDS |= {"some": "part", "briefly": "brief"}
#: Frames this far below the window's peak count as quiet even above the absolute silence threshold.
QUIET_BELOW_PEAK_DB = 30.0
EXCEPTION_QUIET_FRACTION = 0.8
UNIDENTIFIED_CONFIDENCE = 0.55


def _is_silence(claim: Claim) -> bool:
    return str(claim.attributes.get("event", "")).strip().lower() in SILENCE_EVENTS


class CoverageChecker:
    """Fraction of the window the subject fills (silent frames, located speech / music, or any sound)."""

    name = "coverage"
    kinds = frozenset({ClaimKind.coverage})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        raw = str(claim.attributes.get("coverage", "")).strip().lower()
        level = _COVERAGE_WORDS.get(raw, raw)
        if level not in COVERAGE:
            return unverifiable(self.name, f"coverage {raw!r} not understood (whole, most, part, brief)")
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        span = span_of(window, clip)
        length = max(span[1] - span[0], 1e-6)
        silence = clip.silence(window)
        identified = True
        if _is_silence(claim):
            fraction = silence.silent_fraction
        else:
            ranges = subject_ranges(claim, clip, window)
            if ranges is None:
                identified = False
                fraction = 1.0 - silence.silent_fraction
            else:
                fraction = total_s(ranges) / length
        evidence: dict[str, Any] = {"window_s": [round(span[0], 3), round(span[1], 3)], "fraction": round(fraction, 3)}
        if level == "brief":
            measured = fraction <= 0.25 and fraction > 0.0
            decided = fraction > 0.5 or fraction == 0.0 or measured
        elif level == "part":
            measured = 0.05 <= fraction < 0.9
            decided = True
        else:
            support, refute = COVERAGE[level]
            measured = fraction >= support
            decided = measured or fraction < refute
        summary = f"the subject fills {fraction:.0%} of the window (claimed: {level})"
        if not decided:
            return unverifiable(self.name, summary + ": between the thresholds", **evidence)
        if not identified and measured:
            return unverifiable(self.name, summary + " of sound, but its source cannot be identified", **evidence)
        confidence = 0.75 if identified else 0.7
        return oriented(self.name, measured, asserts_presence(claim), confidence, summary, **evidence)


class ExceptionChecker:
    """ "Quiet except for X": X is there, and the frames outside X are quiet.

    X that the analyzers locate (speech, music, singing, tones) is cut out by its segments; any other X
    (a dog) is taken to be the loud parts, so the claim holds when the clip is quiet most of the time
    and not silent throughout, at a confidence that never rejects alone unless the clip is loud almost
    everywhere or silent everywhere.
    """

    name = "exception"
    kinds = frozenset({ClaimKind.exception})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        excepted = str(claim.attributes.get("except", "")).strip()
        times, db = clip.loudness.within(window)
        if db.size == 0:
            return unverifiable(self.name, "no audio in the window")
        quiet = (db < SILENCE_THRESHOLD_DBFS) | (db < db.max() - QUIET_BELOW_PEAK_DB)
        ranges = located(excepted, clip, window)
        span = span_of(window, clip)
        evidence: dict[str, Any] = {"window_s": [round(span[0], 3), round(span[1], 3)], "except": excepted}
        asserted = asserts_presence(claim)
        required = 0.6 if str(claim.attributes.get("coverage", "")).lower() in {"most", "mostly"} else 0.8
        if ranges is not None:
            inside = np.zeros(times.shape, dtype=bool)
            for start, end in ranges:
                inside |= (times >= start) & (times <= end)
            evidence["excepted_segments_s"] = ranges_s(ranges)
            rest = quiet[~inside]
            quiet_rest = float(rest.mean()) if rest.size else 1.0
            evidence["quiet_fraction_outside"] = round(quiet_rest, 3)
            if total_s(ranges) < 0.2:
                summary = f"no {excepted} found in the window"
                return oriented(self.name, False, asserted, 0.7, summary, **evidence)
            holds_ = quiet_rest >= required
            summary = f"{quiet_rest:.0%} of the frames outside the {excepted} are quiet (needs {required:.0%})"
            return oriented(self.name, holds_, asserted, 0.75 if holds_ else 0.7, summary, **evidence)
        quiet_fraction = float(quiet.mean())
        evidence["quiet_fraction"] = round(quiet_fraction, 3)
        if db.max() < SILENCE_THRESHOLD_DBFS:
            return oriented(self.name, False, asserted, 0.8, f"the window is silent: no {excepted} at all", **evidence)
        if quiet_fraction < 0.15:
            summary = f"sound almost everywhere ({1 - quiet_fraction:.0%} of frames): not quiet apart from one source"
            return oriented(self.name, False, asserted, 0.65, summary, **evidence)
        if quiet_fraction >= 0.4:
            summary = f"quiet {quiet_fraction:.0%} of the time with louder parts (taken to be the {excepted})"
            return oriented(self.name, True, asserted, UNIDENTIFIED_CONFIDENCE, summary, **evidence)
        return unverifiable(self.name, f"quiet only {quiet_fraction:.0%} of the time; source of the rest unknown")


class BoundChecker:
    """Inequalities (``count>5``, ``pitch<200Hz``, ``tempo>=120bpm``) and durations (``duration<2s``)."""

    name = "bounds"
    kinds = frozenset({ClaimKind.event_count, ClaimKind.pitch, ClaimKind.tempo, ClaimKind.duration})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        key = {ClaimKind.event_count: "count", ClaimKind.pitch: "pitch", ClaimKind.tempo: "tempo"}.get(
            claim.kind, "duration"
        )
        op, rest = split_bound(claim.attributes.get(key, ""))
        if op == "=" and key != "duration":
            return unverifiable(self.name, f"no inequality on {key} (the exact value is checked elsewhere)")
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        measured, bound, confidence, note = self._measure(key, rest, claim, clip, window)
        if measured is None or bound is None:
            return unverifiable(self.name, note)
        evidence = {"measured": round(measured, 3), "bound": f"{op}{bound:g}", "what": key}
        if key == "count":
            scope = count_scope(claim, clip, window)
            if scope.note:
                evidence["scope"] = scope.note
            if not scope.others_exact:
                # at least one of the counted events is the other sound's: the subject has at most one fewer
                most = measured - scope.others
                lower = op in {">", ">="}
                if holds(most, op, bound) != lower:
                    summary = (
                        f"at most {most:g} of the counted events can be the subject's ({note}); claimed {op}{bound:g}"
                    )
                    return oriented(self.name, not lower, asserts_presence(claim), confidence, summary, **evidence)
                return unverifiable(
                    self.name,
                    f"{measured:g} events counted, some of them the {scope.other}'s: which cannot be told offline",
                    **evidence,
                )
        if op == "=":  # an exact duration: within 25%
            holds_ = abs(measured - bound) <= 0.25 * max(bound, 0.2)
        else:
            holds_ = holds(measured, op, bound)
            if abs(measured - bound) <= 0.05 * max(abs(bound), 1.0) and key != "count":
                return unverifiable(self.name, f"{key} {measured:.3g} is at the bound {op}{bound:g}", **evidence)
        summary = f"{key} measured {measured:.3g} ({note}); claimed {op}{bound:g}"
        return oriented(self.name, holds_, asserts_presence(claim), confidence, summary, **evidence)

    def _measure(
        self, key: str, rest: str, claim: Claim, clip: ClipAnalysis, window: tuple[float, float] | None
    ) -> tuple[float | None, float | None, float, str]:
        if key == "count":
            bound = parse_count(rest)
            if bound is None:
                return None, None, 0.0, f"count bound {rest!r} not understood"
            if subject_kind(claim) is Locatable.speech:
                return None, None, 0.0, "counting words or utterances is not supported"
            scope = count_scope(claim, clip, window)
            found = events_of(claim, clip, scope.window)
            if not found.countable:
                return None, None, 0.0, f"events cannot be counted: {found.note or 'one continuous sound'}"
            # a told count of the other sound is taken off; an untold one is handled by the caller
            others = scope.others if scope.others_exact else 0
            counted = len(scope.kept(found.events))
            return float(counted - others), float(bound), found.confidence, "separate events counted"
        if key == "pitch":
            hz = parse_hz(rest)
            voice = subject_kind(claim) is Locatable.speech
            speech = clip.speech_track.segments
            pitched = analyze_pitch(
                clip.pitch_track, window, only=speech if voice else None, exclude=() if voice else speech
            )
            if hz is None or pitched.median_hz is None:
                return None, None, 0.0, f"pitch bound {rest!r} not understood or no clear pitch"
            return pitched.median_hz, hz, 0.75, "median pitch, Hz"
        if key == "tempo":
            bpm = parse_bpm(rest)
            tempo = clip.tempo(window)
            if bpm is None or tempo.bpm is None or not tempo.rhythmic:
                return None, None, 0.0, f"tempo bound {rest!r} not understood or no steady beat"
            return float(tempo.pulse_bpm or tempo.bpm), bpm, min(0.75, tempo.confidence), "tempo, bpm"
        seconds = _seconds(rest)
        if seconds is None:
            return None, None, 0.0, f"duration {rest!r} not understood (expected e.g. '2s')"
        ranges = subject_ranges(claim, clip, window)
        if ranges is None:
            found = events_of(claim, clip, window)
            if not found.events:
                return 0.0, seconds, 0.7, "no sound event"
            ranges = found.events if found.count == 1 else ((found.events[0][0], found.events[-1][1]),)
        if not ranges:
            return 0.0, seconds, 0.7, "the sound is not found"
        return ranges[-1][1] - ranges[0][0], seconds, 0.7, "from its first start to its last end, s"


def _seconds(text: str) -> float | None:
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds?)?\s*", text)
    return float(match.group(1)) if match else None
