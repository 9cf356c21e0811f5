"""Time relative to the clip (pure): ``start``, ``middle``, ``end``, ``first 2s``, ``final 2s``, ``whole``.

A claim's ``window`` (v2) or a relative ``time`` is turned into an absolute ``time`` ("A-Bs") once the
clip's duration is known, so every checker that honours ``time`` checks the claim on that part only.
"""

from __future__ import annotations

import re

from sightsound.contracts.verifier import Claim
from sightsound_verifier.prose_modifiers import number

#: "At the start" / "at the end": the first / last quarter of the clip, but at least this long.
EDGE_MIN_S = 1.0
EDGE_FRACTION = 0.25
_ABSOLUTE = re.compile(
    r"^\s*\d+(?:\.\d+)?\s*(?:s|sec|seconds)?\s*(?:-|–|to|\.\.)\s*\d+(?:\.\d+)?\s*(?:s|sec|seconds)?\s*$"
)


def relative_window(value: str, duration_s: float) -> tuple[float, float] | None:
    """``(start_s, end_s)`` of a relative window on a clip of ``duration_s``, ``None`` if not understood.

    >>> relative_window("final 2s", 10.0), relative_window("the very start", 10.0), relative_window("middle", 9.0)
    ((8.0, 10.0), (0.0, 2.5), (3.0, 6.0))
    """
    text = value.strip().lower()
    text = re.sub(r"^(?:at |in |near |towards? )?(?:the )?(?:very )?", "", text)
    edge = min(duration_s, max(EDGE_MIN_S, EDGE_FRACTION * duration_s))
    if text in {"start", "beginning", "opening", "outset"}:
        return 0.0, edge
    if text in {"end", "ending", "close"}:
        return max(0.0, duration_s - edge), duration_s
    if text in {"middle", "midway", "halfway"}:
        return duration_s / 3.0, 2.0 * duration_s / 3.0
    if text in {"whole", "entire", "all", "whole clip", "entire clip"}:
        return 0.0, duration_s
    match = re.fullmatch(r"(first|last|final)\s+(\S+?)\s*(?:s|sec|secs|seconds?)", text)
    if match:
        seconds = number(match.group(2))
        if seconds is None or seconds <= 0:
            return None
        seconds = min(seconds, duration_s)
        return (0.0, seconds) if match.group(1) == "first" else (duration_s - seconds, duration_s)
    return None


def with_absolute_time(claim: Claim, duration_s: float) -> Claim:
    """The claim with its relative ``window`` / ``time`` resolved into ``time="A-Bs"`` (originals kept).

    A window that cannot be read is left as it is; the checkers then report it as not understood.
    """
    attributes = claim.attributes
    raw = attributes.get("window")
    key = "window"
    if raw is None:
        raw, key = attributes.get("time"), "time"
        if raw is None or _ABSOLUTE.match(str(raw)):
            return claim
    if _ABSOLUTE.match(str(raw)):
        return claim.model_copy(update={"attributes": {**attributes, "time": str(raw)}})
    window = relative_window(str(raw), duration_s)
    if window is None:
        if key == "window":
            return claim.model_copy(update={"attributes": {**attributes, "time": str(raw)}})
        return claim
    resolved = f"{window[0]:.3f}-{window[1]:.3f}s"
    return claim.model_copy(update={"attributes": {**attributes, "time": resolved, "window": str(raw)}})
