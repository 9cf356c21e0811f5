"""Event counts ("three beeps") and tempo ("120bpm", fast, slow).

Counts come from :func:`sightsound_verifier.onsets.count_events` (speech left out unless the claim is
about speech, which is not counted at all). The tolerance is none up to 7 events, one up to 12, and
10% above. A count one step past the tolerance is the analyzer's most likely error (two events merged,
a ringing tail split), so its contradiction is weakened. An estimate (``about 4``, ``~4``, "roughly four
knocks") may be off by one more event, or a fifth of larger counts. A count whose sentence names another
sound beside it ("twice before someone knocks": ``count_before`` / ``count_after``) is of the events
:mod:`~sightsound_verifier.count_scope` leaves to it: before or after located speech, the group a trait
split gives, or the whole window with the other sound's events among them (then only too few events
refute it).

Tempo comes from :func:`sightsound_verifier.tempo.estimate_tempo`. The measured tempo is the pulse the
accents settle (``pulse_bpm``: the tracked tempo, its double or its half, whichever the accented onsets
recur at), else the tracked tempo. Within 6% of the measured tempo is supported; twice or half of it is
ambiguous (the tracker's octave errors); 10% or more away from all three is contradicted. Fast is 120
bpm or more, slow 85 or less; between is unverifiable.

Fast / slow is only as sure as the octave. When the accents settle it, the class of the settled pulse
decides at full confidence: the other octave readings have no support in the audio (a double needs
onsets between the beats, a half needs every other beat weaker; quiet off-beat onsets are subdivisions,
not beats). When they do not, the old caution holds: a beat whose onsets come twice as fast as the
tracked tempo is unverifiable when the two readings differ in class, and a contradiction that half or
twice the tempo would undo is kept below the reject confidence.
"""

from __future__ import annotations

from typing import Any

from sightsound.contracts.common import ClaimKind
from sightsound.contracts.verifier import Claim, Verdict
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.checkers import oriented, ranges_s, resolve_window, unverifiable
from sightsound_verifier.claim_values import Locatable, parse_bpm, parse_count_estimate, subject_kind
from sightsound_verifier.claims import asserts_presence
from sightsound_verifier.count_scope import SPLIT_CONFIDENCE, count_scope
from sightsound_verifier.tempo import TempoEstimate

NEAR_MISS_FACTOR = 0.8
TEMPO_MATCH = 0.06
TEMPO_MISMATCH = 0.10
#: A fast / slow contradiction that an octave error of the tracker would turn round stays below rejecting
#: (only where the accents do not settle the octave).
OCTAVE_AMBIGUOUS_CONFIDENCE = 0.55
FAST_BPM = 120.0
SLOW_BPM = 85.0
FAST = frozenset({"fast", "quick", "rapid", "upbeat", "brisk", "energetic", "uptempo"})
SLOW = frozenset({"slow", "calm", "leisurely", "relaxed", "downtempo", "sluggish"})


def count_tolerance(claimed: int) -> int:
    """Events a count may be off by and still hold: people count small numbers exactly and estimate
    larger ones ("about ten knocks").

    >>> [count_tolerance(n) for n in (0, 3, 7, 8, 12, 30)]
    [0, 0, 0, 1, 1, 3]
    """
    if claimed <= 7:
        return 0
    if claimed <= 12:
        return 1
    return round(0.1 * claimed)


def estimate_slack(claimed: int) -> int:
    """Extra events an estimate ("about four knocks") may be off by: one, or a fifth of larger counts.

    >>> [estimate_slack(n) for n in (2, 4, 10, 20)]
    [1, 1, 2, 4]
    """
    return max(1, round(0.2 * claimed))


def tempo_class(bpm: float) -> str | None:
    return "fast" if bpm >= FAST_BPM else "slow" if bpm <= SLOW_BPM else None


def tempo_candidates(found: TempoEstimate) -> list[float]:
    """The pulse the accents settle when they do; else the tracked tempo, and twice it when the onsets come
    twice as often (a half-time reading of a fast beat, or subdivisions of a slow one: unsettled).

    >>> tempo_candidates(TempoEstimate((0, 8), 80.0, 10, 0.8, 0.01, 160.0))
    [80.0, 160.0]
    >>> tempo_candidates(TempoEstimate((0, 8), 120.0, 16, 0.9, 0.01, 120.0))
    [120.0]
    >>> tempo_candidates(TempoEstimate((0, 8), 80.0, 10, 0.8, 0.01, 160.0, "", 163.0, 160.0))
    [160.0]
    """
    assert found.bpm is not None
    if found.pulse_bpm is not None:
        return [found.pulse_bpm]
    if found.onset_bpm is not None and abs(found.onset_bpm - 2 * found.bpm) <= TEMPO_MISMATCH * 2 * found.bpm:
        return [found.bpm, 2 * found.bpm]
    return [found.bpm]


def octave_reading_agrees(bpm: float, claimed_fast: bool) -> bool:
    """Whether half or twice ``bpm`` (the tracker's classic octave errors) is in the claimed class.

    >>> octave_reading_agrees(121.0, claimed_fast=False), octave_reading_agrees(180.0, claimed_fast=False)
    (True, False)
    """
    return any(tempo_class(bpm * f) == ("fast" if claimed_fast else "slow") for f in (0.5, 2.0))


class EventCountChecker:
    name = "rms-count"
    kinds = frozenset({ClaimKind.event_count})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        raw = claim.attributes.get("count", "")
        parsed = parse_count_estimate(raw)
        if parsed is None:
            return unverifiable(self.name, f"count {raw!r} not understood (expected a number)")
        claimed, estimate = parsed
        if subject_kind(claim) is Locatable.speech:
            return unverifiable(self.name, "counting words or utterances is not supported")
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        scope = count_scope(claim, clip, window)
        found = clip.event_count(scope.window)
        events = scope.kept(found.events)
        counted = len(events)
        evidence: dict[str, Any] = {
            "window_s": [round(found.window[0], 3), round(found.window[1], 3)],
            "claimed": claimed,
            "counted": counted,
            "events_s": ranges_s(events),
            "threshold_dbfs": found.threshold_dbfs,
            "contrast_db": found.contrast_db,
            "speech_events_left_out": found.excluded,
        }
        if scope.note:
            evidence["scope"] = scope.note
        if not found.countable:
            reason = found.note or "one continuous sound, not separate events"
            return unverifiable(self.name, f"events cannot be counted: {reason}", **evidence)
        expected = claimed + scope.others
        tolerance = count_tolerance(expected) + (estimate_slack(claimed) if estimate else 0)
        about = "about " if estimate else ""
        if not scope.others_exact:  # the other sound's events are among them, how many is not known
            off = expected - counted
            if off <= tolerance:
                return unverifiable(
                    self.name,
                    f"{counted} separate sound event(s) counted: room for {about}{claimed} and the {scope.other}, "
                    "but which events are which cannot be told offline",
                    **evidence,
                )
            confidence = found.confidence * (NEAR_MISS_FACTOR if off == tolerance + 1 else 1.0)
            summary = (
                f"{counted} separate sound event(s) counted: too few for {about}{claimed} and at least one "
                f"{scope.other} (tolerance {tolerance})"
            )
            return oriented(self.name, False, asserts_presence(claim), confidence, summary, **evidence)
        off = abs(counted - expected)
        holds = off <= tolerance
        confidence = found.confidence * (NEAR_MISS_FACTOR if off == tolerance + 1 else 1.0)
        if scope.mine is not None:  # the split by traits is no surer than the order checker's use of it
            confidence = min(confidence, SPLIT_CONFIDENCE)
        also = f" ({scope.note})" if scope.note else ""
        summary = (
            f"{counted} separate sound event(s) counted{also}; claimed {about}{claimed}"
            f"{f' and {scope.others} of the {scope.other}' if scope.others else ''} (tolerance {tolerance})"
        )
        return oriented(self.name, holds, asserts_presence(claim), confidence, summary, **evidence)


class TempoChecker:
    name = "librosa-tempo"
    kinds = frozenset({ClaimKind.tempo})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        raw = str(claim.attributes.get("tempo", "")).strip().lower()
        if not raw:
            return unverifiable(self.name, "the claim names no tempo (120bpm, fast, slow)")
        bpm = parse_bpm(raw)
        if bpm is None and raw not in FAST | SLOW:
            return unverifiable(self.name, f"tempo {raw!r} not understood")
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        found = clip.tempo(window)
        evidence: dict[str, Any] = {
            "window_s": [round(found.window[0], 3), round(found.window[1], 3)],
            "bpm": found.bpm,
            "beats": found.beats,
            "pulse_clarity": found.clarity,
            "beat_interval_cv": found.beat_cv,
            "onset_bpm": found.onset_bpm,
            "accent_bpm": found.accent_bpm,
            "pulse_bpm": found.pulse_bpm,
        }
        if not found.rhythmic or found.bpm is None:
            return unverifiable(self.name, f"no steady beat: {found.note}", **evidence)
        asserted = asserts_presence(claim)
        if bpm is not None:
            return self._bpm(bpm, found, found.pulse_bpm or found.bpm, asserted, evidence)
        candidates = tempo_candidates(found)
        evidence["candidate_bpm"] = candidates
        classes = {tempo_class(bpm) for bpm in candidates}
        if len(classes) > 1:
            shown = " or ".join(f"{bpm:.0f}" for bpm in candidates)
            return unverifiable(self.name, f"tempo is {shown} bpm (the pulse is ambiguous): fast or not", **evidence)
        measured = classes.pop()
        if measured is None:
            return unverifiable(self.name, f"tempo {candidates[0]:.0f} bpm is neither fast nor slow", **evidence)
        tempo = candidates[0]
        summary = f"tempo {tempo:.0f} bpm ({measured}; pulse clarity {found.clarity:.2f})"
        if found.pulse_bpm is not None:
            summary += f"; accented onsets at {found.accent_bpm:.0f} bpm settle the octave"
        holds = measured == ("fast" if raw in FAST else "slow")
        confidence = found.confidence
        if holds != asserted and found.pulse_bpm is None and octave_reading_agrees(tempo, raw in FAST):
            confidence = min(confidence, OCTAVE_AMBIGUOUS_CONFIDENCE)
            summary += "; half or twice that tempo would agree with the claim, so not a firm contradiction"
        return oriented(self.name, holds, asserted, confidence, summary, **evidence)

    def _bpm(
        self, claimed: float, found: TempoEstimate, measured: float, asserted: bool, evidence: dict[str, Any]
    ) -> Verdict:
        evidence["claimed_bpm"] = claimed
        relative = abs(claimed - measured) / measured
        summary = f"tempo {measured:.0f} bpm; claimed {claimed:g} bpm"
        if relative <= TEMPO_MATCH:
            return oriented(self.name, True, asserted, found.confidence, summary, **evidence)
        if any(abs(claimed - measured * f) / (measured * f) <= TEMPO_MISMATCH for f in (0.5, 2.0)):
            return unverifiable(self.name, summary + ": twice or half the measured tempo (ambiguous)", **evidence)
        if relative < TEMPO_MISMATCH:
            return unverifiable(self.name, summary + ": close, but outside the 6% tolerance", **evidence)
        return oriented(self.name, False, asserted, found.confidence, summary, **evidence)
