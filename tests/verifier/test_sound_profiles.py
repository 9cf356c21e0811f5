"""Sounds that no tagger names, told apart by their spectral shape (defects seen on the realistic set).

A phone chime or a small bell rings high (partials above pYIN's 2.5 kHz ceiling), so the pitch track finds
no tone; a drum, a snap or a knock is broadband noise. Order claims between the two, and pitch trends of a
series of chimes, are decided from each event's spectrum; two sounds of one shape stay unverifiable.
"""

from __future__ import annotations

import numpy as np
import pytest

from sightsound.contracts.common import ClaimKind, VerdictLabel
from sightsound.contracts.verifier import Claim
from sightsound_verifier.analysis import AnalyzerOptions, ClipAnalysis
from sightsound_verifier.audio import AudioClip
from sightsound_verifier.order_checks import OrderChecker
from sightsound_verifier.pitch_checks import PitchChecker

RATE = 16_000


def canvas(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float64)


def put(x: np.ndarray, sound: np.ndarray, at_s: float) -> None:
    i = int(at_s * RATE)
    x[i : i + len(sound)] += sound[: len(x) - i]


def chime(hz: float = 5800.0, seconds: float = 0.8) -> np.ndarray:
    """A high struck chime: inharmonic partials above pYIN's range, fast attack, exponential decay."""
    t = np.arange(int(seconds * RATE)) / RATE
    ratios = (1.0, 1.062, 0.965, 1.52)  # close partials beating, as in an electronic chime
    partials = sum(np.sin(2 * np.pi * hz * r * t) / (1 + i) for i, r in enumerate(ratios))
    return 0.3 * partials * np.exp(-t / 0.2)


def hit(seed: int = 1) -> np.ndarray:
    """A drum hit / snap: a burst of broadband noise."""
    t = np.arange(int(0.2 * RATE)) / RATE
    return np.random.default_rng(seed).standard_normal(len(t)) * 0.4 * np.exp(-t / 0.04)


def analysis(x: np.ndarray, seed: int = 0) -> ClipAnalysis:
    x = x + np.random.default_rng(seed).standard_normal(len(x)) * 10 ** (-52 / 20)
    return ClipAnalysis(AudioClip(x.astype(np.float32), RATE), AnalyzerOptions(cpu_threads=1))


def claim(kind: ClaimKind, **attributes: str) -> Claim:
    return Claim(index=0, kind=kind, text="", attributes=attributes)


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("chime before drum", VerdictLabel.supported),
        ("drum before chime", VerdictLabel.contradicted),
        ("chime after drum", VerdictLabel.contradicted),
        ("bell before snap", VerdictLabel.supported),
        ("crow before chime", VerdictLabel.contradicted),
    ],
)
def test_order_of_a_high_chime_and_noise_hits_is_decided_by_spectral_shape(order, expected):
    x = canvas(6.0)
    for at in (0.4, 1.5):
        put(x, chime(), at)
    for k, at in enumerate((3.0, 4.0)):
        put(x, hit(k), at)
    verdict = OrderChecker().check(claim(ClaimKind.temporal_order, order=order), analysis(x))
    assert verdict.verdict is expected, verdict.evidence["summary"]
    assert verdict.confidence >= 0.6


def test_order_of_two_noisy_sounds_stays_unverifiable():
    x = canvas(5.0)
    for k, at in enumerate((0.4, 1.4, 2.6, 3.6)):
        put(x, hit(k), at)
    verdict = OrderChecker().check(claim(ClaimKind.temporal_order, order="snap before drum"), analysis(x))
    assert verdict.verdict is VerdictLabel.unverifiable


def chime_series(step_semitones: float, n: int = 4) -> np.ndarray:
    x = canvas(0.6 + n * 1.2)
    for k in range(n):
        put(x, chime(2800.0 * 2 ** (k * step_semitones / 12)), 0.4 + k * 1.2)
    return x


@pytest.mark.parametrize(
    ("step", "claimed", "expected"),
    [
        (3.0, "rising", VerdictLabel.supported),
        (3.0, "falling", VerdictLabel.contradicted),
        (-3.0, "falling", VerdictLabel.supported),
        (-3.0, "rising", VerdictLabel.contradicted),
        (3.0, "steady", VerdictLabel.contradicted),
    ],
)
def test_pitch_trend_of_chimes_above_the_pitch_tracker_range(step, claimed, expected):
    clip = analysis(chime_series(step))
    verdict = PitchChecker().check(claim(ClaimKind.pitch, source="phone", event="chime", pitch=claimed), clip)
    assert verdict.verdict is expected, verdict.evidence["summary"]
