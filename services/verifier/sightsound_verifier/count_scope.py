"""What a count is a count of, when its sentence names another sound beside it (pure measurement glue).

"A bell rings twice before someone knocks on the door": the clip's events hold the knock as well, so
counting every event judges two rings against rings *and* knocks. The prose extractor marks such a count
with ``count_before`` / ``count_after`` (the other sound, named as in the order value) and, where the
sentence gives it, ``other_count``. The scope of the count is then:

- the other sound is speech, singing or music (located by their detectors): the events that start before
  (or after) its first segment starts; speech is not counted anyway (a struck drum or cymbal is no music
  to locate, but a discrete sound);
- the other sound is a discrete sound no analyzer names (a knock, a crow): the same window, with that
  sound's events among those counted: exactly ``other_count`` of them when the sentence says how many,
  otherwise at least one, so that the count can only be refuted (too few events for both), never
  confirmed. Where the two names promise a trait that tells their events apart (a knock is low, a chime
  is not; a gong rings on, a drum hit does not: :mod:`~sightsound_verifier.event_profiles`, as the order
  checker uses it) and the events split cleanly by it, the subject's own group is counted instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sightsound.contracts.verifier import Claim
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio import TimeRange
from sightsound_verifier.claim_values import Locatable, locatable, parse_count
from sightsound_verifier.event_profiles import assign, event_traits
from sightsound_verifier.order_checks import clip_to, locate

RELATIONS = ("count_before", "count_after")
_LOCATED = frozenset({Locatable.speech, Locatable.singing, Locatable.music})
#: Words of a struck sound: "the drum is struck" is a discrete event to count, not music to locate.
STRUCK = frozenset(
    re.findall(
        r"\w+",
        "drum drums cymbal cymbals gong gongs snare kick hit hits thump thumps crash crashes tambourine cowbell bongo "
        "bongos conga congas timpani struck strike strikes",
    )
)
#: An event starting this close before the other sound's start still counts as after it (onset jitter).
SPLIT_MARGIN_S = 0.1
#: A count of the group a trait split gives is at most this confident (as the order checker's use of it).
SPLIT_CONFIDENCE = 0.8


@dataclass(frozen=True)
class CountScope:
    """Which counted events are the subject's, and how many of them are the other sound's."""

    window: TimeRange | None
    others: int = 0
    others_exact: bool = True
    other: str = ""
    note: str = ""
    #: Keep only events starting before (``before``) or at / after (``after``) this time.
    split_s: float | None = None
    side: str = ""
    #: The subject's own events, where the traits its name and the other's promise split them apart.
    mine: tuple[TimeRange, ...] | None = None

    def kept(self, events: tuple[TimeRange, ...]) -> tuple[TimeRange, ...]:
        if self.mine is not None:
            return self.mine
        if self.split_s is None:
            return events
        at = self.split_s
        return tuple(e for e in events if (e[0] < at if self.side == "before" else e[0] >= at - SPLIT_MARGIN_S))


def located_kind(other: str) -> Locatable | None:
    """The detector that places ``other`` in time: speech, singing, or music that is not a struck drum."""
    kind = locatable(other)
    if kind is Locatable.music and set(re.findall(r"[a-z]+", other.lower())) & STRUCK:
        return None
    return kind if kind in _LOCATED else None


def count_scope(claim: Claim, clip: ClipAnalysis, window: TimeRange | None) -> CountScope:
    relation = next((key for key in RELATIONS if claim.attributes.get(key)), None)
    if relation is None:
        return CountScope(window)
    other = str(claim.attributes[relation]).strip()
    side = relation.removeprefix("count_")
    if locatable(other) is Locatable.silence:
        return CountScope(window)
    kind = located_kind(other)
    if kind is not None:
        found = clip_to(locate(kind, clip), window)
        if not found:
            return CountScope(window, note=f"no {kind.value} found to count {side}: the whole window")
        at = found[0][0]
        return CountScope(window, note=f"the events {side} the {kind.value} at {at:.2f} s", split_s=at, side=side)
    subject = " ".join(str(claim.attributes.get(k, "")) for k in ("source", "event")).strip()
    events = clip.event_count(window).events
    traits = event_traits(clip.clip.samples, clip.clip.sample_rate, events, clip.duration_s)
    split = assign((subject, other), traits)
    if split is not None:
        by = " and ".join(t.value for t in split.traits)
        note = f"split by {by}: {len(split.first)} {subject} event(s), {len(split.second)} of the {other}"
        return CountScope(window, note=note, mine=split.first)
    told = parse_count(claim.attributes.get("other_count", ""))
    if told is not None:
        return CountScope(window, told, True, other, f"{told} of them the {other} (as the sentence says)")
    return CountScope(window, 1, False, other, f"at least one of them the {other}")
