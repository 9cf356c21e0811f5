"""Order of two named sounds that no tagger names, by the traits their names promise (register, ring time).

Pure logic first (names to traits, splitting events by a trait, assigning groups to names), then the order
checker on generated clips: a low thump against a high beep, a long-ringing gong against short knocks.
"""

from __future__ import annotations

import numpy as np
import pytest

from sightsound.contracts.common import ClaimKind, VerdictLabel
from sightsound.contracts.verifier import Claim
from sightsound_verifier.analysis import AnalyzerOptions, ClipAnalysis
from sightsound_verifier.audio import AudioClip
from sightsound_verifier.event_profiles import EventTraits, Trait, assign, event_traits, split_by, trait_level
from sightsound_verifier.order_checks import OrderChecker

RATE = 16_000


# --- pure logic -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phrase", "trait", "level"),
    [
        ("thump", Trait.low, 1),
        ("someone knocks on the door", Trait.low, 1),
        ("a device beeps", Trait.low, 0),
        ("crow", Trait.low, 0),
        ("snap", Trait.low, None),
        ("gong", Trait.ring, 1),
        ("cymbal", Trait.ring, 1),
        ("knock", Trait.ring, 0),
        ("bell", Trait.ring, None),  # a short ding or a long ring
        ("a drum and a bell", Trait.low, None),  # both kinds of name: open
    ],
)
def test_trait_levels_of_names(phrase, trait, level):
    assert trait_level(phrase, trait) == level


def traits(*rows: tuple[float, float]) -> list[EventTraits]:
    return [EventTraits((2.0 * i, 2.0 * i + 0.5), low, ring) for i, (low, ring) in enumerate(rows)]


def test_split_needs_a_wide_gap():
    assert split_by(traits((0.9, 0.1), (0.8, 0.1), (0.05, 0.1)), Trait.low) == ({2}, {0, 1})
    assert split_by(traits((0.5, 0.1), (0.4, 0.1), (0.35, 0.1)), Trait.low) is None
    assert split_by(traits((0.1, 0.15), (0.1, 0.6)), Trait.ring) == ({0}, {1})
    assert split_by(traits((0.1, 0.3), (0.1, 0.4)), Trait.ring) is None  # ratio 1.33
    assert split_by(traits((0.1, 0.3)), Trait.ring) is None


def test_assign_by_one_or_two_traits():
    found = assign(("gong", "knock"), traits((0.6, 0.2), (0.1, 0.7), (0.5, 0.15)))
    assert found is not None
    assert found.first == ((2.0, 2.5),) and found.second == ((0.0, 0.5), (4.0, 4.5))
    assert found.traits == (Trait.low, Trait.ring) or found.traits == (Trait.ring,)


def test_assign_refuses_when_traits_disagree_or_none_differ():
    # a thump is low and short, a cymbal high and long: here the low events ring long: contradictory
    assert assign(("thump", "cymbal"), traits((0.9, 0.7), (0.05, 0.1))) is None
    assert assign(("beep", "crow"), traits((0.0, 0.1), (0.0, 0.3))) is None  # no trait tells them apart
    assert assign(("beep", "knock"), traits((0.5, 0.1), (0.45, 0.1))) is None  # no clear split


# --- on generated clips -----------------------------------------------------------------------------------


def canvas(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float64)


def put(x: np.ndarray, sound: np.ndarray, at_s: float) -> None:
    i = int(at_s * RATE)
    x[i : i + len(sound)] += sound[: len(x) - i]


def decaying(partials: tuple[float, ...], seconds: float, tau_s: float, level: float = 0.4) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    wave = sum(np.sin(2 * np.pi * hz * t) / (1 + i) for i, hz in enumerate(partials))
    return level * wave * np.exp(-t / tau_s)


def thump() -> np.ndarray:
    return decaying((55.0, 110.0), 0.3, 0.05, 0.8)


def beep() -> np.ndarray:
    t = np.arange(int(0.2 * RATE)) / RATE
    return 0.3 * np.sin(2 * np.pi * 1800.0 * t) * np.minimum(1.0, (0.2 - t) / 0.02)


def gong() -> np.ndarray:
    return decaying((420.0, 655.0, 1130.0, 1710.0), 2.5, 0.5)


def knock(seed: int) -> np.ndarray:
    t = np.arange(int(0.25 * RATE)) / RATE
    noise = np.random.default_rng(seed).standard_normal(len(t)) * np.exp(-t / 0.01) * 0.3
    return decaying((180.0, 360.0), 0.25, 0.04, 0.7) + noise


def analysis(x: np.ndarray, seed: int = 0) -> ClipAnalysis:
    x = x + np.random.default_rng(seed).standard_normal(len(x)) * 10 ** (-50 / 20)
    return ClipAnalysis(AudioClip(x.astype(np.float32), RATE), AnalyzerOptions(cpu_threads=1))


def check(order: str, clip: ClipAnalysis) -> tuple[VerdictLabel, str]:
    claim = Claim(index=0, kind=ClaimKind.temporal_order, text="", attributes={"order": order})
    verdict = OrderChecker().check(claim, clip)
    return verdict.verdict, str(verdict.evidence.get("summary", ""))


def test_event_traits_measure_register_and_ring_time():
    x = canvas(6.0)
    put(x, thump(), 0.5)
    put(x, gong(), 2.0)
    found = event_traits(x.astype(np.float32), RATE, ((0.5, 0.8), (2.0, 4.5)), 6.0)
    assert found[0].low_share > 0.9 and found[1].low_share < 0.1
    assert found[0].ring_s < 0.3 and found[1].ring_s > 0.8


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("thump before beep", VerdictLabel.supported),
        ("beep before thump", VerdictLabel.contradicted),
        ("beep after thump", VerdictLabel.supported),
    ],
)
def test_order_of_a_low_thump_and_high_beeps(order, expected):
    x = canvas(5.0)
    for at in (0.4, 1.2):
        put(x, thump(), at)
    for at in (2.6, 3.6):
        put(x, beep(), at)
    verdict, summary = check(order, analysis(x))
    assert verdict is expected, summary


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("gong before knock", VerdictLabel.contradicted),
        ("knock before gong", VerdictLabel.supported),
        ("gong after knock", VerdictLabel.supported),
    ],
)
def test_order_of_short_knocks_and_a_ringing_gong(order, expected):
    x = canvas(6.0)
    for k, at in enumerate((0.4, 1.3)):
        put(x, knock(k), at)
    put(x, gong(), 2.6)
    verdict, summary = check(order, analysis(x))
    assert verdict is expected, summary


def test_two_sounds_no_trait_tells_apart_stay_unverifiable():
    x = canvas(5.0)
    for k, at in enumerate((0.4, 1.4, 2.6, 3.6)):
        put(x, knock(k), at)
    verdict, _ = check("knock before thump", analysis(x))  # both low and short
    assert verdict is VerdictLabel.unverifiable


def test_prose_order_keeps_each_sides_words():
    from sightsound_verifier.prose_claims import sentence_claims

    (kind, attributes), *_ = sentence_claims("The cymbal crashes after the bass drum thumps.")
    assert kind == "order"
    # both are 'music' to the canonical subjects: the order names them by their words
    assert attributes["order"] == "drum before cymbal"
    assert "drum" in attributes["earlier_words"] and "cymbal" in attributes["later_words"]
    (_, gong), *_ = sentence_claims("Someone knocks on the door before a gong rings out.")
    assert "gong" in gong["later_words"]
