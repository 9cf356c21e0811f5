"""Checkers on generated audio, the router and ensemble rule, and the accept / reject policy."""

from __future__ import annotations

import numpy as np
import pytest

from sightsound.config import Settings
from sightsound.contracts.common import ClaimKind, TraceDecisionLabel, VerdictLabel
from sightsound.contracts.verifier import Claim, ClaimResult, Verdict
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio import AudioClip
from sightsound_verifier.checkers import LoudnessChecker, SilenceChecker, SpeechPresenceChecker, default_checkers
from sightsound_verifier.claims import extract_claims
from sightsound_verifier.ensemble import combine_verdicts
from sightsound_verifier.policy import TracePolicy
from sightsound_verifier.router import ClaimRouter, unchecked

RATE = 16_000
S, C, U = VerdictLabel.supported, VerdictLabel.contradicted, VerdictLabel.unverifiable


def analyse(samples: np.ndarray) -> ClipAnalysis:
    return ClipAnalysis(AudioClip(samples.astype(np.float32), RATE))


def claim(line: str) -> Claim:
    out = extract_claims(f"<claims>\n{line}\n</claims>", 8)
    assert out.errors == [], out.errors
    return out.claims[0]


@pytest.fixture(scope="module")
def tone_clip() -> ClipAnalysis:
    t = np.arange(2 * RATE) / RATE
    return analyse(0.5 * np.sin(2 * np.pi * 440 * t))


@pytest.fixture
def speech_analysis(speech_samples) -> ClipAnalysis:
    return analyse(speech_samples)


# --- checkers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "on_tone", "on_speech"),
    [
        ("source=person; event=speech; present=yes", C, S),
        ("source=person; event=speech; present=no", S, C),
        ('source=person; event=speech; words="hello there"', C, U),  # words: speech-to-text's job
        ('source=person; event=speech; words="goodbye"; present=no', S, U),
    ],
)
def test_speech_checker(tone_clip, speech_analysis, line, on_tone, on_speech):
    checker = SpeechPresenceChecker()
    on_t, on_s = checker.check(claim(line), tone_clip), checker.check(claim(line), speech_analysis)
    assert (on_t.verdict, on_s.verdict) == (on_tone, on_speech)
    assert on_t.confidence >= 0.9 and on_t.evidence["speech_segments_s"] == []
    assert on_t.evidence["summary"].startswith("no speech detected")
    if on_speech is not U:
        assert on_s.confidence >= 0.9 and on_s.evidence["speech_segments_s"]
    else:
        assert on_s.confidence == 0.0 and "words are left to speech-to-text" in on_s.evidence["summary"]


def test_speech_checker_honours_time_windows(signals, speech_samples):
    clip = analyse(np.concatenate([signals.tone(1.5, amplitude=0.3), speech_samples]))
    checker = SpeechPresenceChecker()
    assert checker.check(claim("event=speech; present=no; time=0-1.2s"), clip).verdict is S
    assert checker.check(claim("event=speech; present=yes; time=0-1.2s"), clip).verdict is C
    assert checker.check(claim("event=speech; present=yes; time=2-4s"), clip).verdict is S
    whole = checker.check(claim("event=speech; present=no"), clip)
    assert whole.verdict is C


def test_window_problems_are_unverifiable(tone_clip):
    checker = SpeechPresenceChecker()
    outside = checker.check(claim("event=speech; time=5-9s"), tone_clip)
    assert outside.verdict is U and "outside the 2.00 s clip" in outside.evidence["summary"]
    vague = checker.check(claim("event=speech; time=at the end"), tone_clip)
    assert vague.verdict is U and "not understood" in vague.evidence["summary"]


def test_short_window_caps_confidence(tone_clip):
    verdict = SpeechPresenceChecker().check(claim("event=speech; time=0-0.3s"), tone_clip)
    assert verdict.verdict is C and verdict.confidence == 0.5 and "capped" in verdict.evidence["note"]


@pytest.mark.parametrize(
    ("line", "on_silence", "on_tone"),
    [
        ("source=scene; event=silence", S, C),
        ("source=scene; event=silence; present=no", C, S),
        ("source=scene; event=sound", C, S),
        ("source=scene; event=sound; present=no", S, C),
    ],
)
def test_silence_checker(signals, tone_clip, line, on_silence, on_tone):
    checker = SilenceChecker()
    quiet = checker.check(claim(line), analyse(signals.silence(2.0)))
    loud = checker.check(claim(line), tone_clip)
    assert (quiet.verdict, loud.verdict) == (on_silence, on_tone)
    assert quiet.confidence == 0.99 and loud.confidence == 0.99
    assert quiet.evidence["level_max_dbfs"] == -120.0 and loud.evidence["level_median_dbfs"] == pytest.approx(-9.0)


@pytest.fixture(scope="module")
def ramps(signals) -> dict[str, ClipAnalysis]:
    return {
        "rising": analyse(signals.noise_ramp(3.0, -40.0, -6.0)),
        "falling": analyse(signals.noise_ramp(3.0, -6.0, -40.0)),
        "steady": analyse(signals.noise_ramp(3.0, -20.0, -20.0)),
    }


@pytest.mark.parametrize("claimed", ["rising", "falling", "steady"])
@pytest.mark.parametrize("measured", ["rising", "falling", "steady"])
def test_loudness_checker_trend_matrix(ramps, claimed, measured):
    verdict = LoudnessChecker().check(claim(f"source=scene; event=sound; loudness={claimed}"), ramps[measured])
    assert verdict.verdict is (S if claimed == measured else C)
    assert verdict.confidence >= 0.8
    assert verdict.evidence["direction"] == measured
    negated = LoudnessChecker().check(claim(f"event=sound; loudness={claimed}; present=no"), ramps[measured])
    assert negated.verdict is (C if claimed == measured else S)


def test_loudness_synonyms_and_unknown_values(ramps):
    checker = LoudnessChecker()
    assert checker.check(claim("event=sound; loudness=Increasing"), ramps["rising"]).verdict is S
    assert checker.check(claim("event=sound; loudness=fades"), ramps["falling"]).verdict is S
    odd = checker.check(claim("event=sound; loudness=wobbly"), ramps["rising"])
    assert odd.verdict is U and "not understood" in odd.evidence["summary"]
    bare = checker.check(claim("kind=loudness; source=scene"), ramps["rising"])
    assert bare.verdict is U and "no loudness value" in bare.evidence["summary"]


def test_absolute_loudness_never_reaches_a_rejecting_confidence(tone_clip, signals):
    checker = LoudnessChecker()
    loud = checker.check(claim("event=sound; loudness=loud"), tone_clip)
    quiet_claim = checker.check(claim("event=sound; loudness=quiet"), tone_clip)
    assert (loud.verdict, quiet_claim.verdict) == (S, C)
    assert quiet_claim.confidence == 0.55 < Settings().verifier_reject_confidence
    silent = checker.check(claim("event=sound; loudness=quiet"), analyse(signals.silence(2.0)))
    assert silent.verdict is S and silent.evidence["level_median_dbfs"] == -120.0


def test_trend_unclear_is_unverifiable(signals):
    verdict = LoudnessChecker().check(claim("event=sound; loudness=rising"), analyse(signals.silence(2.0)))
    assert verdict.verdict is U and "unclear" in verdict.evidence["summary"]


# --- router and ensemble -----------------------------------------------------------------------


def test_router_covers_kinds_and_reports_missing_ones(tone_clip):
    router = ClaimRouter(default_checkers())
    assert router.covered_kinds == {
        ClaimKind.speech_presence,
        ClaimKind.speech_content,
        ClaimKind.silence,
        ClaimKind.loudness,
        ClaimKind.sound_source,
        ClaimKind.other,
    }
    result = router.check(claim("source=bird; pitch=high"), tone_clip)
    assert result.final.verdict is U and result.final.checker == "none"
    assert result.final.evidence["summary"] == "no analyzer for claim kind 'pitch' yet"


class _Broken:
    name = "broken"
    kinds = frozenset({ClaimKind.pitch})

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        raise RuntimeError("boom")


class _Fixed:
    def __init__(self, name: str, label: VerdictLabel, confidence: float) -> None:
        self.name, self.kinds, self.verdict = name, frozenset({ClaimKind.pitch}), (label, confidence)

    def check(self, claim: Claim, clip: ClipAnalysis) -> Verdict:
        return Verdict(checker=self.name, verdict=self.verdict[0], confidence=self.verdict[1])


def test_failing_checker_costs_only_its_verdict(tone_clip):
    router = ClaimRouter([_Broken(), _Fixed("ok", S, 0.8)])
    result = router.check(claim("source=bird; pitch=high"), tone_clip)
    assert [v.verdict for v in result.verdicts] == [U, S]
    assert "checker failed (RuntimeError)" in result.verdicts[0].evidence["summary"]
    assert result.final.verdict is S and result.final.checker == "ok"


def v(label: VerdictLabel, confidence: float, name: str = "x") -> Verdict:
    return Verdict(checker=name, verdict=label, confidence=confidence, evidence={"summary": name})


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([], (U, 0.0, "none")),
        ([v(U, 0.0, "a"), v(U, 0.0, "b")], (U, 0.0, "a")),
        ([v(U, 0.0, "a"), v(C, 0.7, "b")], (C, 0.7, "b")),
        ([v(S, 0.6, "a"), v(S, 0.9, "b")], (S, 0.9, "b")),
        ([v(S, 0.9, "a"), v(C, 0.95, "b")], (C, 0.05, "b")),  # disagreement: margin only
        ([v(S, 0.8, "a"), v(C, 0.8, "b")], (U, 0.0, "none")),  # exact tie
    ],
)
def test_ensemble_rule(verdicts, expected):
    final = combine_verdicts(verdicts)
    assert (final.verdict, final.confidence, final.checker) == expected


def test_ensemble_lists_the_dissent():
    final = combine_verdicts([v(S, 0.9, "a"), v(C, 0.3, "b")])
    assert final.evidence["dissent"] == [{"checker": "b", "verdict": "contradicted", "confidence": 0.3}]
    assert final.evidence["summary"] == "a (other checkers disagree)"


# --- policy ------------------------------------------------------------------------------------


def result(index: int, label: VerdictLabel, confidence: float, summary: str = "because") -> ClaimResult:
    c = Claim(index=index, kind=ClaimKind.speech_presence, text="source=person; event=speech; present=yes")
    final = Verdict(checker="silero-vad", verdict=label, confidence=confidence, evidence={"summary": summary})
    return ClaimResult(claim=c, verdicts=[final], final=final)


def test_policy_name_follows_settings():
    assert TracePolicy.from_settings(Settings()).name == "contradiction>=0.60"
    strict = Settings(verifier_reject_confidence=0.8, verifier_require_supported=True)
    assert TracePolicy.from_settings(strict).name == "contradiction>=0.80+strict"


def test_contradiction_at_threshold_rejects_below_does_not():
    policy = TracePolicy(0.6)
    at = policy.decide([result(0, S, 0.9), result(1, C, 0.6, "no speech detected")])
    assert at.label is TraceDecisionLabel.rejected
    assert at.reasons == [
        "claim 1 'source=person; event=speech; present=yes' contradicted (confidence 0.60): no speech detected"
    ]
    below = policy.decide([result(0, S, 0.9), result(1, C, 0.59)])
    assert below.label is TraceDecisionLabel.accepted
    assert below.reasons[0].startswith("no claim contradicted at confidence >= 0.60 (1 supported")
    assert "below 0.60: not rejecting" in below.reasons[1]


def test_every_rejecting_claim_is_a_reason():
    decision = TracePolicy(0.6).decide([result(0, C, 0.9), result(1, C, 0.99), result(2, S, 0.99)])
    assert decision.label is TraceDecisionLabel.rejected
    assert [r.split(" ")[1] for r in decision.reasons] == ["0", "1"]


def test_strict_mode_needs_a_supported_claim():
    strict, lenient = TracePolicy(0.6, True), TracePolicy(0.6, False)
    unverified = [result(0, U, 0.0)]
    assert lenient.decide(unverified, unverified_because="no audio track").label is TraceDecisionLabel.accepted
    decision = strict.decide(unverified, unverified_because="no audio track")
    assert decision.label is TraceDecisionLabel.rejected
    assert decision.reasons == [
        "strict mode needs at least one supported claim: none of the 1 claim(s) could be verified: no audio track"
    ]
    assert strict.decide([result(0, S, 0.7)]).label is TraceDecisionLabel.accepted
    assert strict.decide([]).label is TraceDecisionLabel.rejected


def test_accepting_without_evidence_says_so():
    lenient = TracePolicy()
    decision = lenient.decide([result(0, U, 0.0)], unverified_because="no audio track")
    assert decision.reasons == ["accepted without evidence: none of the 1 claim(s) could be verified: no audio track"]
    empty = lenient.decide([], parse_errors=3)
    assert empty.reasons == [
        "accepted without evidence: the trace makes no sound claim that could be extracted (3 parse error(s))"
    ]


def test_unchecked_claims_carry_the_reason():
    r = unchecked(claim("event=speech"), "no audio track")
    assert r.final.verdict is U and r.final.checker == "none" and r.final.evidence == {"summary": "no audio track"}
