"""How much of a trace was verified, and what the question's category needs verified (pure).

``verifier_require_verified``: ``none`` accepts unverifiable claims (the default, as before);
``category`` needs every claim of the kinds the question's category depends on to be verified
(supported or contradicted), and at least one such claim; ``all`` needs every claim verified. A clip
with no audio track cannot answer a question about audio: every trace is rejected (``NO_AUDIO_REASON``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sightsound.contracts.common import ClaimKind, VerdictLabel
from sightsound.contracts.verifier import ClaimResult

NO_AUDIO_REASON = "no audio track: the question needs audio"
REQUIRE_VERIFIED = ("none", "category", "all")

_SOUND = frozenset(
    {
        ClaimKind.sound_source,
        ClaimKind.silence,
        ClaimKind.event_count,
        ClaimKind.loudness,
        ClaimKind.temporal_order,
        ClaimKind.gap,
        ClaimKind.overlap,
        ClaimKind.comparison,
        ClaimKind.pattern,
        ClaimKind.coverage,
        ClaimKind.exception,
        ClaimKind.duration,
        ClaimKind.other,
    }
)
_MUSIC = frozenset(
    {ClaimKind.music, ClaimKind.instrument, ClaimKind.singing, ClaimKind.tempo, ClaimKind.pitch, ClaimKind.pattern}
)
_SPEECH = frozenset({ClaimKind.speech_presence, ClaimKind.speech_content, ClaimKind.voice})
#: Category words (matched inside the category name, lower-cased) -> the claim kinds it depends on.
CATEGORY_KINDS: dict[str, frozenset[ClaimKind]] = {"sound": _SOUND, "music": _MUSIC, "speech": _SPEECH}


def category_kinds(category: str | None) -> frozenset[ClaimKind]:
    """Kinds a category depends on; an unknown or missing category depends on every kind.

    >>> ClaimKind.instrument in category_kinds("MUSIC-AVQA"), len(category_kinds(None)) == len(ClaimKind)
    (True, True)
    """
    name = (category or "").lower()
    kinds = frozenset().union(*(kinds for word, kinds in CATEGORY_KINDS.items() if word in name))
    return kinds or frozenset(ClaimKind)


def is_verified(result: ClaimResult) -> bool:
    return result.final.verdict is not VerdictLabel.unverifiable


def counts(results: Sequence[ClaimResult]) -> tuple[int, int]:
    """``(verified, unverifiable)`` claims of a trace."""
    verified = sum(is_verified(r) for r in results)
    return verified, len(results) - verified


def unverified_reasons(results: Sequence[ClaimResult], require: str, category: str | None) -> list[str]:
    """Why a trace fails ``require`` (empty when it passes)."""
    if require == "none":
        return []
    if require == "all":
        needed, what = list(results), "claims"
    else:
        kinds = category_kinds(category)
        needed = [r for r in results if r.claim.kind in kinds]
        what = f"claims the {category or 'unknown'}-category question depends on"
    if not needed:
        return [f"verifier_require_verified={require}: the trace makes no {what.removesuffix(' depends on')}"]
    missing = [r for r in needed if not is_verified(r)]
    if not missing:
        return []
    shown = ", ".join(f"{r.claim.index} ({r.claim.kind.value})" for r in missing[:8])
    return [
        f"verifier_require_verified={require}: {len(missing)} of {len(needed)} {what} could not be verified: "
        f"claim(s) {shown}"
    ]
