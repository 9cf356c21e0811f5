"""Which of two named sounds is which group of events: coarse acoustic profiles of sound names. Pure numpy.

No offline tagger names a source, but some names promise a physical trait that a series of events can
be sorted by, *relative to the other name in the same claim*:

- register: a thump, a knock or a drum hit puts most of its energy in the low band (under
  ``LOW_BAND_HZ``: a body resonance), a beep, a chime, a bell, a cymbal or a bird call almost none;
- ringing: a gong or a cymbal rings on for a long time after the strike, while a knock, a thump, a drum
  hit, a snap, a clap or a caw dies away quickly.

A name can leave a trait open (a bell may be a short ding or a long ring; a snap's low band varies; a gong
is low or middling). For two names, every trait on which both are known and differ is a test: the clip's
events are split into two groups by that trait (the widest gap between sorted values, which must be wide
enough), and the group higher in the trait takes the name that is higher. Every test must agree; then the
two groups are the two sounds. Otherwise (no such trait, no clear split, tests disagree) nothing is said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from sightsound_verifier.audio import TimeRange

LOW_BAND_HZ = 300.0
#: The spectrum is read over the first ``SPECTRUM_S`` after the event's loudest 10 ms.
SPECTRUM_S = 0.2
ENVELOPE_S = 0.01
#: Ring time: from the loudest 10 ms until the level falls ``RING_DB`` under it (or to ``FLOOR_MARGIN_DB``
#: over the clip's floor, whichever is higher), read up to the next event or ``MAX_RING_S``.
RING_DB = 15.0
FLOOR_MARGIN_DB = 6.0
MAX_RING_S = 3.0
#: A split by a trait needs this gap between the groups: low-band share (0-1), ring time (ratio).
MIN_LOW_GAP = 0.2
MIN_RING_RATIO = 1.6


class Trait(StrEnum):
    low = "low-band share"
    ring = "ring time"


def names(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Per trait: names that are high in it, names that are low in it. Names absent from both leave it open.
TRAIT_NAMES: dict[Trait, tuple[frozenset[str], frozenset[str]]] = {
    Trait.low: (
        names("thump thumps kick kicks knock knocks knocking drum drums bass"),
        names(
            "beep beeps chime chimes bell bells ding dings ping pings cymbal cymbals crow crows caw caws bird birds "
            "whistle whistles tweet chirp chirps alert"
        ),
    ),
    Trait.ring: (
        names("gong gongs cymbal cymbals"),
        names(
            "knock knocks knocking thump thumps kick kicks drum drums snare snap snaps clap claps caw caws crow crows "
            "tap taps click clicks"
        ),
    ),
}


def trait_level(phrase: str, trait: Trait) -> int | None:
    """1 when the name is high in ``trait``, 0 when low, ``None`` when open (or contradictory).

    >>> trait_level("a bass drum", Trait.low), trait_level("the gong", Trait.ring), trait_level("bell", Trait.ring)
    (1, 1, None)
    """
    words = set(re.findall(r"[a-z]+", phrase.lower()))
    high, low = (bool(words & names) for names in TRAIT_NAMES[trait])
    if high == low:
        return None
    return 1 if high else 0


@dataclass(frozen=True)
class EventTraits:
    event: TimeRange
    low_share: float
    ring_s: float

    def value(self, trait: Trait) -> float:
        return self.low_share if trait is Trait.low else self.ring_s


def event_traits(
    samples: NDArray[np.float32], rate: int, events: tuple[TimeRange, ...], duration_s: float
) -> list[EventTraits]:
    """Each event's low-band share and ring time (each read until the next event starts)."""
    hop = max(1, round(ENVELOPE_S * rate))
    x = samples.astype(np.float64)
    whole = x[: len(x) // hop * hop].reshape(-1, hop)
    levels = 10 * np.log10(np.mean(whole**2, axis=1) + 1e-12) if len(whole) else np.zeros(1)
    floor = float(np.percentile(levels, 5))
    out = []
    for i, (start, end) in enumerate(events):
        stop = events[i + 1][0] if i + 1 < len(events) else duration_s
        stop = min(stop, start + MAX_RING_S)
        a, b = int(start * rate), max(int(start * rate) + hop, int(stop * rate))
        segment = x[a:b]
        frames = segment[: len(segment) // hop * hop].reshape(-1, hop)
        env = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
        peak = int(np.argmax(env))
        threshold = max(float(env[peak]) - RING_DB, floor + FLOOR_MARGIN_DB)
        below = np.flatnonzero(env[peak:] < threshold)
        ring = float((below[0] if below.size else len(env) - peak) * hop / rate)
        part = segment[peak * hop : peak * hop + int(SPECTRUM_S * rate)]
        if len(part) < 64:
            part = segment
        power = np.abs(np.fft.rfft(part * np.hanning(len(part)))) ** 2
        freqs = np.fft.rfftfreq(len(part), 1.0 / rate)
        total = float(power.sum()) or 1e-12
        out.append(EventTraits((start, end), round(float(power[freqs < LOW_BAND_HZ].sum()) / total, 3), round(ring, 3)))
    return out


def split_by(traits: list[EventTraits], trait: Trait) -> tuple[set[int], set[int]] | None:
    """The events split into (low group, high group) at the widest gap of ``trait``, or ``None`` if no gap
    is wide enough.

    >>> t = [EventTraits((0, 1), 0.9, 0.1), EventTraits((2, 3), 0.05, 0.1), EventTraits((4, 5), 0.8, 0.1)]
    >>> split_by(t, Trait.low)
    ({1}, {0, 2})
    >>> split_by(t, Trait.ring) is None
    True
    """
    if len(traits) < 2:
        return None
    ring = trait is Trait.ring
    values = [np.log(max(t.value(trait), ENVELOPE_S)) if ring else t.value(trait) for t in traits]
    order = sorted(range(len(traits)), key=lambda i: values[i])
    gaps = [values[order[k + 1]] - values[order[k]] for k in range(len(order) - 1)]
    k = int(np.argmax(gaps))
    if gaps[k] < (np.log(MIN_RING_RATIO) if ring else MIN_LOW_GAP):
        return None
    return set(order[: k + 1]), set(order[k + 1 :])


@dataclass(frozen=True)
class Assignment:
    """The events of each named sound, and the traits that told them apart."""

    first: tuple[TimeRange, ...]
    second: tuple[TimeRange, ...]
    traits: tuple[Trait, ...]


def assign(names: tuple[str, str], traits: list[EventTraits]) -> Assignment | None:
    """Which events are ``names[0]`` and which ``names[1]``, by every trait the two names differ in.

    >>> t = [EventTraits((0, 1), 0.9, 0.15), EventTraits((2, 3), 0.05, 0.1), EventTraits((4, 5), 0.85, 0.12)]
    >>> found = assign(("a beep", "a knock"), t)
    >>> found.first, found.second, [x.value for x in found.traits]
    (((2, 3),), ((0, 1), (4, 5)), ['low-band share'])
    >>> assign(("a beep", "a bell"), t) is None
    True
    """
    groups: set[frozenset[int]] = set()
    used = []
    for trait in Trait:
        levels = [trait_level(name, trait) for name in names]
        if levels[0] is None or levels[1] is None or levels[0] == levels[1]:
            continue
        split = split_by(traits, trait)
        if split is None:
            return None
        low, high = split
        groups.add(frozenset(high if levels[0] == 1 else low))
        used.append(trait)
    if len(groups) != 1:
        return None
    first = groups.pop()
    return Assignment(
        tuple(t.event for i, t in enumerate(traits) if i in first),
        tuple(t.event for i, t in enumerate(traits) if i not in first),
        tuple(used),
    )
