"""Analyzer defects seen on the realistic claim set (perf/verifier_realistic.py), each pinned by a test.

Synthetic stand-ins with the same acoustic shape as the recordings that tripped the analyzers: a ringing
bell whose beating tail crosses the event threshold again, a sustained passage with tremolo, faint
background crackles, a noise floor in the pauses, events of two kinds one after the other, counts
with bounds, a level ramp over separate hits.
"""

from __future__ import annotations

import numpy as np
import pytest

from sightsound.contracts.common import ClaimKind, VerdictLabel
from sightsound.contracts.verifier import Claim
from sightsound_verifier.analysis import AnalyzerOptions, ClipAnalysis
from sightsound_verifier.audio import AudioClip
from sightsound_verifier.claims import extract_claims
from sightsound_verifier.lineup import acoustic_checkers
from sightsound_verifier.loudness import TrendDirection, loudness_profile
from sightsound_verifier.onsets import count_events
from sightsound_verifier.order_checks import OrderChecker
from sightsound_verifier.router import ClaimRouter

RATE = 16_000


def canvas(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float64)


def noise_floor(n: int, dbfs: float, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(n)
    return x * 10 ** (dbfs / 20)


def put(x: np.ndarray, sound: np.ndarray, at_s: float, gain_db: float = 0.0) -> None:
    i = int(at_s * RATE)
    x[i : i + len(sound)] += sound[: len(x) - i] * 10 ** (gain_db / 20)


def bell(seconds: float = 2.5) -> np.ndarray:
    """A struck bell: fast attack, slow decay, two close partials beating at 3 Hz (a deep level wobble)."""
    t = np.arange(int(seconds * RATE)) / RATE
    partials = np.sin(2 * np.pi * 880 * t) + 0.9 * np.sin(2 * np.pi * 883 * t) + 0.3 * np.sin(2 * np.pi * 2310 * t)
    return 0.3 * partials * np.exp(-t / 0.45)


def knock(seed: int = 1) -> np.ndarray:
    t = np.arange(int(0.12 * RATE)) / RATE
    return np.random.default_rng(seed).standard_normal(len(t)) * 0.5 * np.exp(-t / 0.03)


def beep(hz: float = 1000.0, seconds: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    env = np.minimum(1.0, np.minimum(t, seconds - t) / 0.01)
    return 0.4 * np.sin(2 * np.pi * hz * t) * env


def analysis(x: np.ndarray) -> ClipAnalysis:
    return ClipAnalysis(AudioClip(x.astype(np.float32), RATE), AnalyzerOptions(cpu_threads=1))


def claim(kind: ClaimKind, **attributes: str) -> Claim:
    return Claim(index=0, kind=kind, text="", attributes=attributes)


def test_a_long_ringing_bell_stroke_counts_once():
    x = canvas(7.0)
    put(x, bell(), 0.5)
    put(x, bell(), 3.8)
    x += noise_floor(len(x), -48.0)
    assert count_events(loudness_profile(x.astype(np.float32), RATE)).count == 2


def test_a_sustained_passage_with_tremolo_counts_once():
    x = canvas(5.0)
    t = np.arange(int(3.0 * RATE)) / RATE
    tremolo = 10 ** ((-5 + 5 * np.sin(2 * np.pi * 4 * t)) / 20)  # 10 dB wobble, 4 times a second
    put(x, 0.4 * np.sin(2 * np.pi * 330 * t) * tremolo, 1.0)
    x += noise_floor(len(x), -55.0)
    found = count_events(loudness_profile(x.astype(np.float32), RATE))
    assert found.count == 1


def test_faint_background_crackles_are_not_counted():
    x = canvas(6.0)
    for at in (0.5, 1.7, 2.9):
        put(x, knock(), at)
    for at in (1.2, 3.6, 4.8):  # clicks 22 dB under the knocks, in the noise bed
        put(x, knock(seed=7), at, -22.0)
    x += noise_floor(len(x), -50.0)
    assert count_events(loudness_profile(x.astype(np.float32), RATE)).count == 3


def test_pauses_over_a_noise_floor_are_silent():
    x = canvas(5.0)
    put(x, knock(), 2.0)
    x += noise_floor(len(x), -36.0)
    clip = analysis(x)
    assert clip.silence((0.2, 1.7)).is_silent
    assert clip.silence((3.0, 4.8)).is_silent
    assert not clip.silence((1.8, 2.4)).is_silent
    assert not clip.silence().is_silent


def test_digital_and_room_tone_silence_still_silent_and_a_loud_steady_noise_is_not():
    assert analysis(canvas(3.0)).silence().is_silent
    assert analysis(noise_floor(3 * RATE, -62.0)).silence().is_silent
    assert not analysis(noise_floor(3 * RATE, -20.0)).silence().is_silent


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("beep before knock", VerdictLabel.supported),
        ("knock before beep", VerdictLabel.contradicted),
        ("knock after beep", VerdictLabel.supported),
        ("bell before drum", VerdictLabel.supported),
        ("drum before bell", VerdictLabel.contradicted),
    ],
)
def test_order_between_two_non_speech_sounds_is_decided(order, expected):
    x = canvas(5.0)
    put(x, beep(), 0.4)
    put(x, beep(), 1.1)
    put(x, knock(), 2.4)
    put(x, knock(), 3.2)
    x += noise_floor(len(x), -50.0)
    verdict = OrderChecker().check(claim(ClaimKind.temporal_order, order=order), analysis(x))
    assert verdict.verdict is expected, verdict.evidence["summary"]
    assert verdict.confidence >= 0.6


def test_order_of_two_sounds_of_one_kind_stays_unverifiable():
    x = canvas(4.0)
    put(x, knock(), 0.5)
    put(x, knock(seed=3), 2.0)
    verdict = OrderChecker().check(claim(ClaimKind.temporal_order, order="knock before drum"), analysis(x))
    assert verdict.verdict is VerdictLabel.unverifiable


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        ("more than 2", VerdictLabel.supported),
        ("at least 3", VerdictLabel.supported),
        ("more than 3", VerdictLabel.contradicted),
        ("at least 5", VerdictLabel.contradicted),
        ("fewer than 5", VerdictLabel.supported),
        ("at most 2", VerdictLabel.contradicted),
    ],
)
def test_count_bounds_are_checked(count, expected):
    x = canvas(5.0)
    for at in (0.5, 1.5, 2.5):
        put(x, knock(), at)
    x += noise_floor(len(x), -55.0)
    parsed = extract_claims(f"<claims>\nsource=door; event=knock; count={count}\n</claims>", 4).claims[0]
    verdict = ClaimRouter(acoustic_checkers()).check(parsed, analysis(x)).final
    assert verdict.verdict is expected, verdict.evidence["summary"]


def test_a_level_ramp_over_separate_hits_over_noise_is_a_trend():
    x = canvas(6.0)
    for k, at in enumerate(np.linspace(0.5, 5.0, 6)):
        put(x, knock(seed=k), float(at), -15.0 + 3.0 * k)
    x += noise_floor(len(x), -45.0)
    assert analysis(x).trend().direction is TrendDirection.rising
    assert analysis(x[::-1].copy()).trend().direction is not TrendDirection.rising
