"""Issue 10: verification that catches what a real teacher hallucinates (each finding has a test)."""

from __future__ import annotations

import numpy as np
import pytest

from sightsound.contracts.common import ClaimKind, TraceDecisionLabel, VerdictLabel
from sightsound.contracts.verifier import Claim, TraceIn, VerifyRequest
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio import AudioClip
from sightsound_verifier.claims import ORIGIN_BLOCK, ORIGIN_PROSE, extract_claims
from sightsound_verifier.lineup import acoustic_checkers
from sightsound_verifier.policy import TracePolicy
from sightsound_verifier.router import ClaimRouter
from sightsound_verifier.verification import Verifier
from sightsound_verifier.windows import relative_window

RATE = 16_000


def tone(seconds: float = 2.0, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def silence(seconds: float = 2.0) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


ROUTER = ClaimRouter(acoustic_checkers())


def bursts(onsets: list[float], seconds: float, amplitudes: list[float] | None = None) -> np.ndarray:
    """Short 1 kHz bursts (knocks) at ``onsets`` on silence."""
    out = np.zeros(int(seconds * RATE), dtype=np.float32)
    for i, at in enumerate(onsets):
        amp = amplitudes[i] if amplitudes else 0.5
        burst = tone(0.08, 1000.0, amp) * np.hanning(int(0.08 * RATE)).astype(np.float32)
        start = int(at * RATE)
        out[start : start + burst.size] += burst
    return out


def verifier(**policy: object) -> Verifier:
    return Verifier(ROUTER, TracePolicy(**policy), 64)  # type: ignore[arg-type]


def verify(text: str, samples: np.ndarray | None, category: str | None = None, **policy: object):
    clip = None if samples is None else AudioClip(samples, RATE)
    request = VerifyRequest(audio_url=None, traces=[TraceIn(trace_index=0, text=text)], category=category)
    return verifier(**policy).verify(request, clip).traces[0]


def check(line: str, samples: np.ndarray) -> VerdictLabel:
    out = extract_claims(f"<claims>\n{line}\n</claims>", 8)
    (claim,) = out.claims
    from sightsound_verifier.windows import with_absolute_time

    analysis = ClipAnalysis(AudioClip(samples, RATE))
    return ROUTER.check(with_absolute_time(claim, analysis.duration_s), analysis).final.verdict


# --- prose extraction (valid) -------------------------------------------------------------------

REALISTIC = [
    ("The dog barks exactly four times.", ClaimKind.event_count, {"count": "4"}),
    ("The engine gets steadily louder.", ClaimKind.loudness, {"loudness": "rising"}),
    ("The door slams before the man speaks.", ClaimKind.temporal_order, {"order": "door slam before speech"}),
    ("A violin is playing.", ClaimKind.instrument, {"instrument": "violin"}),
    ("No one speaks.", ClaimKind.speech_presence, {"present": "no"}),
    ("There is no music.", ClaimKind.music, {"present": "no"}),
    ("It happens without any speech.", ClaimKind.speech_presence, {"present": "no"}),
    ("The clip is mostly silent except for a dog barking.", ClaimKind.exception, {"except": "dog bark"}),
    ("There are silent pauses between the knocks.", ClaimKind.gap, {"gap": "yes"}),
    ("Nothing is heard at the start.", ClaimKind.silence, {"window": "start"}),
    ("A man talks over music.", ClaimKind.overlap, {"overlap": "music"}),
    ("The first knock is louder than the last.", ClaimKind.comparison, {"compare": "first louder than last"}),
    ("The second note is higher.", ClaimKind.comparison, {"compare": "second higher than first"}),
    ("Someone knocks in groups of three.", ClaimKind.pattern, {"pattern": "groups of 3"}),
    ("A child is speaking.", ClaimKind.voice, {"voice": "child"}),
    ("A robotic voice announces the time.", ClaimKind.voice, {"voice": "robotic"}),
    ("The hum is under 200 Hz.", ClaimKind.pitch, {"pitch": "<200Hz"}),
    ("The dog barks more than five times.", ClaimKind.event_count, {"count": ">5"}),
    ("The cat might meow.", ClaimKind.sound_source, {"hedged": "yes"}),
    ("In the final two seconds a siren wails.", ClaimKind.sound_source, {"window": "final 2s"}),
    ("A guitar, piano and drums play together.", ClaimKind.instrument, {"instrument": "guitar, piano, drums"}),
    ("Birds are chirping throughout the clip.", ClaimKind.coverage, {"coverage": "whole"}),
    ('The man says "hello there".', ClaimKind.speech_content, {"words": "hello there"}),
    ("Midway through, a phone rings.", ClaimKind.sound_source, {"window": "middle"}),
    ("A woman sings softly.", ClaimKind.loudness, {"loudness": "quiet"}),
    ("The car honks twice.", ClaimKind.event_count, {"count": "2"}),
    ("It is not silent.", ClaimKind.silence, {"present": "no"}),
    ("The speaker says three words.", ClaimKind.event_count, {"event": "word", "count": "3"}),
    ("The music has a fast tempo.", ClaimKind.tempo, {"tempo": "fast"}),
    ("The beeps are evenly spaced.", ClaimKind.pattern, {"pattern": "regular"}),
    ("A narrator explains the recipe.", ClaimKind.speech_presence, {}),
    ("We can hear a choir chanting.", ClaimKind.singing, {}),
    ("Someone whispers.", ClaimKind.speech_presence, {}),
    ("A trumpet plays a melody.", ClaimKind.instrument, {"instrument": "trumpet"}),
    ("An announcer shouts over the crowd's cheering.", ClaimKind.overlap, {}),
    ("The rooster crows at the very start.", ClaimKind.sound_source, {"window": "start"}),
    ("The bell rings three times.", ClaimKind.event_count, {"count": "3"}),
    ("The applause lasts about 2 seconds.", ClaimKind.duration, {"duration": "2s"}),
    ("The audio is quiet for most of the clip.", ClaimKind.coverage, {"coverage": "most"}),
    ("The music fades out at the end.", ClaimKind.loudness, {"loudness": "falling"}),
]


def _matches(claim: Claim, kind: ClaimKind, attrs: dict[str, str]) -> bool:
    return claim.kind is kind and all(claim.attributes.get(k) == v for k, v in attrs.items())


def test_prose_recall_on_realistic_sentences_is_at_least_90_percent():
    hits = 0
    missed = []
    for sentence, kind, attrs in REALISTIC:
        claims = extract_claims(f"<think>{sentence}</think><answer>A</answer>", 16).claims
        if any(_matches(c, kind, attrs) for c in claims):
            hits += 1
        else:
            missed.append((sentence, [(c.kind.value, c.attributes) for c in claims]))
    assert hits / len(REALISTIC) >= 0.9, missed


def test_prose_is_read_even_with_a_claims_block_and_merged_without_duplicates():
    text = (
        "<think>A man is talking. The dog barks twice.</think>\n<claims>\nsource=man; event=speech; present=yes\n"
        "</claims><answer>A</answer>"
    )
    claims = extract_claims(text, 16).claims
    origins = [(c.kind, c.attributes["extracted_from"]) for c in claims]
    assert origins == [(ClaimKind.speech_presence, ORIGIN_BLOCK), (ClaimKind.event_count, ORIGIN_PROSE)]


# --- qualified prose never becomes "the clip is silent" (invalid reading) ----------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "The clip is mostly silent except for a dog barking.",
        "There are silent pauses between the knocks.",
        "Nothing is heard at the start.",
        "The hall is quiet apart from the footsteps.",
        "A man talks; the room is otherwise quiet.",
    ],
)
def test_qualified_silence_is_not_plain_silence(sentence):
    claims = extract_claims(sentence, 16).claims
    plain = [
        c
        for c in claims
        if c.kind is ClaimKind.silence and c.attributes.get("present") != "no" and "window" not in c.attributes
    ]
    assert plain == [], [c.attributes for c in claims]


def test_qualified_silence_accepts_the_true_trace():
    knocks = bursts([0.5, 1.1, 1.7], 3.0)
    trace = verify("<think>There are silent pauses between the knocks.</think><answer>A</answer>", knocks)
    assert trace.decision is TraceDecisionLabel.accepted, trace.reasons
    trace = verify("<think>It is mostly silent except for a dog barking.</think><answer>A</answer>", knocks)
    assert trace.decision is TraceDecisionLabel.accepted, trace.reasons


# --- prose contradictions reject (mixed) --------------------------------------------------------


def test_contradicted_prose_rejects_a_trace_with_a_clean_block():
    text = (
        "<think>A man is talking to the camera.</think>\n<claims>\nsource=scene; event=silence; present=no\n"
        "</claims>\n<answer>A</answer>"
    )
    trace = verify(text, tone(3.0, 440.0, 0.3))
    block = [r for r in trace.claims if r.claim.attributes["extracted_from"] == ORIGIN_BLOCK]
    assert block and all(r.final.verdict is VerdictLabel.supported for r in block)
    assert trace.decision is TraceDecisionLabel.rejected, trace.reasons
    assert trace.claims_verified >= 2


def test_word_count_is_speech_not_a_sound_count():
    assert check("event=word; count=3", tone(2.0)) is VerdictLabel.unverifiable


# --- no audio, unverifiable claims, require_verified --------------------------------------------


def test_no_audio_track_rejects_every_trace_with_the_reason():
    trace = verify("<think>A cat meows.</think><answer>A</answer>", None, category="sound")
    assert trace.decision is TraceDecisionLabel.rejected
    assert trace.reasons == ["no audio track: the question needs audio"]


def test_picture_suggested_source_claims_need_verification_when_required():
    noise = (np.random.default_rng(0).standard_normal(3 * RATE) * 0.1).astype(np.float32)
    text = "<think>The cat in the frame meows.</think><answer>A</answer>"
    lenient = verify(text, noise, category="sound")
    assert lenient.decision is TraceDecisionLabel.accepted
    assert (lenient.claims_verified, lenient.claims_unverifiable) == (0, 1)
    strict = verify(text, noise, category="sound", require_verified="category")
    assert strict.decision is TraceDecisionLabel.rejected
    assert any("could not be verified" in r for r in strict.reasons)
    assert verify(text, noise, require_verified="all").decision is TraceDecisionLabel.rejected


# --- v2 checkers on generated audio ------------------------------------------------------------


def test_relative_windows():
    assert relative_window("final 2s", 10.0) == (8.0, 10.0)
    assert relative_window("first three seconds", 10.0) == (0.0, 3.0)
    assert relative_window("the end", 8.0) == (6.0, 8.0)
    assert relative_window("next week", 8.0) is None


def test_window_restricts_the_check():
    late_tone = np.concatenate([silence(2.0), tone(2.0, 440.0, 0.3)])
    assert check("source=scene; event=silence; window=start", late_tone) is VerdictLabel.supported
    assert check("source=scene; event=silence; window=final 1s", late_tone) is VerdictLabel.contradicted


def test_comparison_of_two_events():
    knocks = bursts([0.5, 1.2, 1.9], 3.0, [0.8, 0.3, 0.08])
    assert check("source=door; event=knock; compare=first louder than last", knocks) is VerdictLabel.supported
    assert check("source=door; event=knock; compare=last louder than first", knocks) is VerdictLabel.contradicted


def test_groups_of_n():
    groups = bursts([0.3, 0.55, 0.8, 1.8, 2.05, 2.3], 3.2)
    assert check("source=door; event=knock; pattern=groups of 3", groups) is VerdictLabel.supported
    assert check("source=door; event=knock; pattern=groups of 2", groups) is VerdictLabel.contradicted


def test_count_inequalities():
    knocks = bursts([0.5, 1.1, 1.7], 3.0)
    assert check("source=door; event=knock; count>5", knocks) is VerdictLabel.contradicted
    assert check("source=door; event=knock; count>=2", knocks) is VerdictLabel.supported


def test_pitch_inequality():
    assert check("source=machine; event=hum; pitch<200Hz", tone(2.0, 120.0, 0.3)) is VerdictLabel.supported
    assert check("source=machine; event=hum; pitch<200Hz", tone(2.0, 800.0, 0.3)) is VerdictLabel.contradicted


def test_exception_is_not_silence():
    knocks = bursts([0.5, 1.1, 1.7], 3.0)
    assert check("source=scene; event=silence; except=dog bark", knocks) is VerdictLabel.supported
    assert check("source=scene; event=silence", knocks) is VerdictLabel.contradicted
    assert check("source=scene; event=silence; except=dog bark", silence(3.0)) is VerdictLabel.contradicted


def test_gaps_and_coverage():
    knocks = bursts([0.5, 1.1, 1.7], 3.0)
    assert check("source=door; event=knock; gap=yes", knocks) is VerdictLabel.supported
    assert check("source=scene; event=silence; coverage=most", knocks) is VerdictLabel.supported
    assert check("source=scene; event=silence; coverage=whole", tone(3.0)) is VerdictLabel.contradicted


def test_instrument_without_music_is_contradicted_and_with_music_unverifiable():
    verdict = check("source=violin; event=music; instrument=violin", silence(3.0))
    assert verdict is VerdictLabel.contradicted


# --- ensemble rule: audio LLM vs analyzer -------------------------------------------------------


def _v(checker: str, label: str, confidence: float):
    from sightsound.contracts.verifier import Verdict

    return Verdict(checker=checker, verdict=label, confidence=confidence, evidence={"summary": label})


def test_ensemble_llm_decides_what_analyzers_cannot():
    from sightsound_verifier.ensemble import combine_verdicts

    final = combine_verdicts([_v("rms-presence", "unverifiable", 0.0), _v("openai-audio", "contradicted", 0.8)])
    assert (final.checker, final.verdict, final.confidence) == ("openai-audio", VerdictLabel.contradicted, 0.8)


def test_ensemble_disagreement_on_a_measured_kind_never_rejects_alone():
    from sightsound_verifier.ensemble import combine_verdicts

    final = combine_verdicts([_v("rms-count", "contradicted", 0.9), _v("openai-audio", "supported", 0.7)])
    assert final.verdict is VerdictLabel.contradicted and final.confidence == pytest.approx(0.2)
    assert final.confidence < TracePolicy().reject_confidence
    tie = combine_verdicts([_v("rms-count", "contradicted", 0.7), _v("openai-audio", "supported", 0.7)])
    assert tie.verdict is VerdictLabel.unverifiable


def test_llm_prompt_carries_the_whole_reasoning():
    from sightsound_verifier.llm_answers import claims_prompt

    text = "<think>The dog barks twice, then a car passes.</think><answer>B</answer>"
    claims = extract_claims(text, 8).claims
    prompt = claims_prompt(claims, [text])
    assert text in prompt and "(from the prose)" in prompt


def test_verify_trace_entry_point(tmp_path):
    import soundfile as sf

    from sightsound.config import Settings
    from sightsound_verifier.verify_one import verify_trace

    path = tmp_path / "clip.wav"
    sf.write(path, tone(2.0, 440.0, 0.3), RATE)
    result = verify_trace("<think>It is completely silent.</think><answer>A</answer>", path, settings=Settings())
    assert result.decision is TraceDecisionLabel.rejected
    assert [r.final.verdict for r in result.claims] == [VerdictLabel.contradicted]
