"""Block claims and prose claims merged into one list without duplicates (pure).

Two claims are the same statement when they have the same kind, polarity, subject (speech, music,
singing, a tone, or else the event / source words) and the same other attribute values. The block's
claim is kept (it was written on purpose); prose claims keep their text order after the block's.
"""

from __future__ import annotations

from collections.abc import Sequence

from sightsound.contracts.verifier import Claim
from sightsound_verifier.claim_values import locatable

#: Attributes that do not change what a claim says.
_META = frozenset(
    {
        "extracted_from",
        "hedged",
        "pattern_name",
        "rule",
        "source",
        "event",
        "kind",
        "version",
        "earlier_words",
        "later_words",
    }
)


def subject_of(claim: Claim) -> str:
    """A canonical subject: the locatable kind when the words name one, else the event (or source).

    >>> subject_of(Claim(index=0, kind="speech_presence", text="", attributes={"source": "man", "event": "talks"}))
    'speech'
    """
    event = str(claim.attributes.get("event", "")).strip().lower()
    source = str(claim.attributes.get("source", "")).strip().lower()
    found = locatable(event) if event else None
    if found is None and not event:
        found = locatable(source)
    if found is not None:
        return found.value
    return f"{source} {event}".strip()


def claim_key(claim: Claim) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
    present = str(claim.attributes.get("present", "yes")).lower()
    rest = tuple(
        sorted((k, str(v).strip().lower()) for k, v in claim.attributes.items() if k not in _META and k != "present")
    )
    return claim.kind.value, present, subject_of(claim), rest


def merge_claims(block: Sequence[Claim], prose: Sequence[Claim]) -> list[Claim]:
    """The block's claims (all kept), then the prose claims that say something new."""
    seen = {claim_key(claim) for claim in block}
    merged: list[Claim] = list(block)
    for claim in prose:
        key = claim_key(claim)
        if key in seen:
            continue
        seen.add(key)
        merged.append(claim)
    return merged
