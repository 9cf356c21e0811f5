"""Loudness trend of a few separate hits: judged by their peaks when the frame fit mixes in their decays."""

from __future__ import annotations

import numpy as np
import pytest

from sightsound_verifier.loudness import TrendDirection, analyze_trend, loudness_profile, peak_trend

RATE = 16_000


def hits(levels_db: tuple[float, ...], seed: int = 0) -> np.ndarray:
    """Short decaying noise bursts 0.9 s apart at the given peak levels, over a faint noise floor."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int((len(levels_db) + 1) * 0.9 * RATE)) * 10 ** (-65 / 20)
    t = np.arange(int(0.3 * RATE)) / RATE
    for k, level in enumerate(levels_db):
        burst = rng.standard_normal(len(t)) * np.exp(-t / 0.03) * 10 ** (level / 20)
        start = int((0.4 + 0.9 * k) * RATE)
        x[start : start + len(burst)] += burst
    return x.astype(np.float32)


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ((-10.0, -14.0, -19.0, -25.0), TrendDirection.falling),
        ((-25.0, -20.0, -15.0, -10.0), TrendDirection.rising),
    ],
)
def test_four_hits_ramping_15_db(levels, expected):
    trend = analyze_trend(loudness_profile(hits(levels), RATE))
    assert trend.direction is expected, trend


def test_even_hits_are_not_given_a_trend_by_their_peaks():
    profile = loudness_profile(hits((-12.0, -13.0, -12.0, -12.5)), RATE)
    active = profile.dbfs > -50
    assert peak_trend(profile.times_s, profile.dbfs, active, profile.hop_s) is None
    assert analyze_trend(profile).direction is not TrendDirection.falling


def test_two_hits_are_too_few_for_a_peak_trend():
    profile = loudness_profile(hits((-10.0, -25.0)), RATE)
    assert peak_trend(profile.times_s, profile.dbfs, profile.dbfs > -50, profile.hop_s) is None
