"""Analyzers and audio loading on generated audio whose truth is known."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio import AudioClip, AudioUnavailableError, decode_audio, load_clip
from sightsound_verifier.loudness import (
    LoudnessProfile,
    TrendDirection,
    analyze_trend,
    loudness_profile,
    theil_sen_slope,
)
from sightsound_verifier.speech import detect_speech

RATE = 16_000


def analyse(samples: np.ndarray) -> ClipAnalysis:
    return ClipAnalysis(AudioClip(samples.astype(np.float32), RATE))


# --- speech (silero-vad) ---------------------------------------------------------------------


def test_tone_is_not_speech(signals):
    speech = analyse(signals.tone(2.0)).speech()
    assert not speech.has_speech
    assert speech.max_probability < 0.2
    assert speech.speech_ratio == 0.0


def test_espeak_is_speech(speech_samples):
    speech = analyse(speech_samples).speech()
    assert speech.has_speech
    assert speech.max_probability > 0.9
    assert speech.speech_ratio > 0.6  # espeak talks almost without pauses
    assert all(0.0 <= s < e <= speech.window[1] for s, e in speech.segments)


def test_speech_is_located_in_time(signals, speech_samples):
    """1.5 s of tone, then speech: segments start after the tone, windows split the two."""
    analysis = analyse(np.concatenate([signals.tone(1.5, amplitude=0.3), speech_samples]))
    segments = analysis.speech().segments
    assert segments and segments[0][0] >= 1.3
    assert not analysis.speech((0.0, 1.2)).has_speech
    assert analysis.speech((2.0, 3.5)).has_speech


def test_digital_silence_is_not_speech(signals):
    assert not analyse(signals.silence(1.0)).speech().has_speech


def test_speech_detection_resamples_other_rates(signals):
    track = detect_speech(signals.tone(1.0, rate=22_050), 22_050)
    assert track.segments == () and abs(track.duration_s - 1.0) < 1e-6


# --- silence and loudness (RMS) --------------------------------------------------------------


def test_digital_silence_is_silent(signals):
    silence = analyse(signals.silence(2.0)).silence()
    assert silence.is_silent
    assert silence.silent_fraction == 1.0
    assert silence.level_max_dbfs == -120.0
    assert silence.confidence == 0.99
    assert silence.sounding == ()


def test_tone_is_not_silent_and_level_is_measured(signals):
    silence = analyse(signals.tone(2.0, amplitude=0.5)).silence()
    assert not silence.is_silent
    # RMS of a sine of amplitude 0.5 is 0.354 -> -9.0 dBFS.
    assert silence.level_median_dbfs == pytest.approx(-9.03, abs=0.1)
    assert silence.sounding == ((0.0, 2.0),)


def test_short_burst_in_silence_is_located(signals):
    samples = np.concatenate([signals.silence(1.0), signals.tone(0.5), signals.silence(1.0)])
    silence = analyse(samples).silence()
    assert not silence.is_silent
    ((start, end),) = silence.sounding
    assert start == pytest.approx(1.0, abs=0.07) and end == pytest.approx(1.5, abs=0.07)
    assert analyse(samples).silence((0.0, 0.9)).is_silent


def test_quiet_noise_floor_counts_as_silent(signals):
    """Noise at about -65 dBFS RMS (a quiet room) is silent, with less confidence than digital silence."""
    silence = analyse(signals.noise_ramp(2.0, start_db=-55.0, end_db=-55.0)).silence()
    assert silence.is_silent
    assert 0.6 < silence.confidence < 0.99


def test_rising_ramp_is_rising(signals):
    trend = analyse(signals.noise_ramp(3.0, start_db=-40.0, end_db=-6.0)).trend()
    assert trend.direction is TrendDirection.rising
    assert trend.slope_db_per_s == pytest.approx(34.0 / 3.0, rel=0.15)
    assert trend.confidence >= 0.9


def test_falling_ramp_is_falling(signals):
    trend = analyse(signals.noise_ramp(3.0, start_db=-6.0, end_db=-40.0)).trend()
    assert trend.direction is TrendDirection.falling
    assert trend.slope_db_per_s == pytest.approx(-34.0 / 3.0, rel=0.15)


def test_constant_noise_is_steady(signals):
    trend = analyse(signals.noise_ramp(3.0, start_db=-20.0, end_db=-20.0)).trend()
    assert trend.direction is TrendDirection.steady
    assert abs(trend.change_db or 99.0) < 1.0


def test_gentle_ramp_is_unclear(signals):
    """4 dB over the clip: neither steady (< 3 dB) nor a trend (>= 6 dB)."""
    assert analyse(signals.noise_ramp(3.0, start_db=-22.0, end_db=-18.0)).trend().direction is TrendDirection.unclear


def test_fit_and_thirds_must_agree():
    """A ramp whose last 0.6 s drops back: the robust fit still rises, the thirds do not -> unclear."""
    times = np.arange(0.0, 3.0, 0.016) + 0.032
    levels = np.where(times > 2.4, -30.0, -30.0 + 20.0 * times / 3.0)
    trend = analyze_trend(LoudnessProfile(times, levels, 0.016, 3.05))
    assert (trend.change_db or 0.0) >= 6.0 and (trend.thirds_delta_db or 0.0) < 0.0
    assert trend.direction is TrendDirection.unclear


def test_trend_needs_enough_sound(signals):
    trend = analyse(np.concatenate([signals.silence(2.0), signals.tone(0.5)])).trend()
    assert trend.direction is TrendDirection.unclear and "a trend needs" in trend.note


def test_trend_ignores_silent_gaps(signals):
    """A steady tone interrupted by silences stays steady: only sounding frames are fitted."""
    on, off = signals.tone(0.5, amplitude=0.2), signals.silence(0.5)
    trend = analyse(np.concatenate([on, off, on, off, on, off, on])).trend()
    assert trend.direction is TrendDirection.steady


def test_trend_in_a_window(signals):
    samples = np.concatenate([signals.noise_ramp(3.0, -40.0, -6.0), signals.noise_ramp(3.0, -6.0, -40.0, seed=1)])
    profile = loudness_profile(samples, RATE)
    assert analyze_trend(profile, (0.0, 3.0)).direction is TrendDirection.rising
    assert analyze_trend(profile, (3.0, 6.0)).direction is TrendDirection.falling


def test_theil_sen_ignores_outliers():
    x = np.arange(20, dtype=np.float64)
    y = 2.0 * x
    y[[3, 11]] = 500.0
    assert theil_sen_slope(x, y) == pytest.approx(2.0)
    assert theil_sen_slope(np.zeros(3), np.arange(3.0)) == 0.0


# --- audio loading ---------------------------------------------------------------------------


def wav_bytes(samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def test_stereo_44k_is_mixed_down_and_resampled(signals):
    left = signals.tone(1.0, amplitude=0.4, rate=44_100)
    clip = decode_audio(wav_bytes(np.stack([left, -left], axis=1), 44_100), RATE, 600.0)
    assert clip.sample_rate == RATE and clip.samples.dtype == np.float32 and clip.samples.ndim == 1
    assert len(clip.samples) == RATE
    assert np.abs(clip.samples).max() < 1e-3  # opposite channels cancel: proves a mixdown, not channel 0


def test_nan_samples_become_zero():
    samples = np.full(RATE, np.nan, dtype=np.float32)
    clip = decode_audio(wav_bytes(samples, RATE, "FLOAT"), RATE, 600.0)
    assert np.all(clip.samples == 0.0)


def test_too_short_clip_says_why():
    clip = AudioClip(np.zeros(800, dtype=np.float32), RATE)
    assert clip.unusable_reason() == "audio is 0.050 s long, under 0.1 s: too short to analyse"
    assert AudioClip(np.zeros(1600, dtype=np.float32), RATE).unusable_reason() is None


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"this is not audio at all", "not a readable audio file"), (b"", "empty")],
)
def test_undecodable_bytes(tmp_path, data, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(data)
    with pytest.raises(AudioUnavailableError, match=message):
        load_clip(path.as_uri(), RATE, 600.0, 10_000_000)


def test_missing_file_and_limits(tmp_path, signals):
    with pytest.raises(AudioUnavailableError, match="cannot read audio"):
        load_clip((tmp_path / "nope.wav").as_uri(), RATE, 600.0, 10_000_000)
    path = tmp_path / "long.wav"
    path.write_bytes(wav_bytes(signals.silence(3.0), RATE))
    with pytest.raises(AudioUnavailableError, match="at most 2 s"):
        load_clip(path.as_uri(), RATE, 2.0, 10_000_000)
    with pytest.raises(AudioUnavailableError, match="larger than 1000 bytes"):
        load_clip(path.as_uri(), RATE, 600.0, 1000)


def test_a_segment_grazing_a_window_does_not_count(signals, speech_samples):
    analysis = analyse(np.concatenate([signals.tone(1.5, amplitude=0.3), speech_samples]))
    first_start = analysis.speech().segments[0][0]
    grazing = analysis.speech((0.0, first_start + 0.05))
    assert not grazing.has_speech
    assert analysis.speech((0.0, first_start + 0.3)).has_speech
