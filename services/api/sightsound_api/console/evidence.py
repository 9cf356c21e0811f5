"""Pure helpers of the clip page: where each claim sits in its trace's text, and which of a verdict's evidence
values are times that can be drawn on the waveform."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Words of evidence keys whose lists hold durations, not times on the clip (never drawn; scalars never are).
NOT_TIMES = ("gap", "duration")


@dataclass(frozen=True)
class Mark:
    """A time on the clip from a verdict's evidence: a span (``end`` set) or a point, with a label."""

    label: str
    start: float
    end: float | None
    left_pct: float
    width_pct: float
    window: bool = False


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _pair(value: Any) -> bool:
    return isinstance(value, list | tuple) and len(value) == 2 and all(_number(v) for v in value)


def marks(evidence: dict[str, Any], duration_s: float, limit: int = 64) -> list[Mark]:
    """The evidence values that are times: ``window_s`` (the analysed window), ``…_s`` lists of
    ``[start, end]`` (speech segments, sounding ranges, events) and ``…onset…_s`` / ``…beat…_s`` lists of times.

    >>> [(m.label, m.start, m.end, m.left_pct, m.width_pct) for m in marks(
    ...     {"window_s": [0, 4], "speech_segments_s": [[1.0, 2.0]], "onsets_s": [3.0], "gaps_s": [0.5],
    ...      "speech_s": 1.0, "summary": "x"}, 4.0)]
    [('window', 0, 4, 0.0, 100.0), ('speech segments', 1.0, 2.0, 25.0, 25.0), ('onsets', 3.0, None, 75.0, 0.0)]
    """
    out: list[Mark] = []
    span = max(duration_s, 1e-6)

    def add(label: str, start: float, end: float | None, window: bool = False) -> None:
        left = min(max(start / span * 100, 0.0), 100.0)
        right = left if end is None else min(max(end / span * 100, left), 100.0)
        out.append(Mark(label, start, end, round(left, 2), round(right - left, 2), window))

    for key, value in evidence.items():
        if not key.endswith("_s") or any(word in key for word in NOT_TIMES):
            continue
        label = key[:-2].replace("_", " ")
        if key == "window_s" and _pair(value):
            add("window", value[0], value[1], window=True)
        elif isinstance(value, list) and value and all(_pair(v) for v in value):
            for start, end in value[:limit]:
                add(label, start, end)
        elif isinstance(value, list) and value and all(_number(v) for v in value) and \
                any(word in key for word in ("onset", "beat", "time", "peak")):
            for when in value[:limit]:
                add(label, when, None)
    return out


def details(evidence: dict[str, Any]) -> list[tuple[str, str]]:
    """The evidence's measured values as (name, text) rows, the summary and the time lists left out (shown
    elsewhere).

    >>> details({"summary": "s", "level_median_dbfs": -20.5, "speech_segments_s": [[0, 1]], "dissent": ["x"]})
    [('level median dbfs', '-20.5'), ('dissent', 'x')]
    """
    rows = []
    for key, value in evidence.items():
        if key == "summary" or (key.endswith("_s") and isinstance(value, list) and value
                                and all(_pair(v) for v in value)):
            continue
        if isinstance(value, list):
            text = ", ".join(str(v) for v in value[:12]) + (" …" if len(value) > 12 else "")
        elif isinstance(value, dict):
            text = ", ".join(f"{k}: {v}" for k, v in list(value.items())[:12])
        else:
            text = str(value)
        rows.append((key.replace("_", " "), text[:300]))
    return rows


def reason(evidence: dict[str, Any]) -> str | None:
    """What an audio LLM said (its reason or answer), when the evidence has it."""
    for key in ("reason", "explanation", "answer"):
        value = evidence.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def highlight(text: str, claims: list[tuple[int, str]]) -> list[tuple[str, int | None]]:
    """The trace's text cut into pieces, each with the id of the claim it quotes (``None``: plain text). A claim is
    found by its text (a claims-block line, or a prose claim's sentence), first unclaimed occurrence; claims not
    found verbatim are left out (listed in the claims block below the text anyway).

    >>> highlight("I hear a dog. Then silence.", [(7, "Then silence."), (5, "a dog")])
    [('I hear ', None), ('a dog', 5), ('. ', None), ('Then silence.', 7), ('', None)]
    """
    spans: list[tuple[int, int, int]] = []
    for claim_id, claim_text in claims:
        needle = claim_text.strip()
        if not needle:
            continue
        at = text.find(needle)
        while at != -1 and any(s < at + len(needle) and at < e for s, e, _ in spans):
            at = text.find(needle, at + 1)
        if at != -1:
            spans.append((at, at + len(needle), claim_id))
    spans.sort()
    pieces: list[tuple[str, int | None]] = []
    pos = 0
    for start, end, claim_id in spans:
        pieces.append((text[pos:start], None))
        pieces.append((text[start:end], claim_id))
        pos = end
    pieces.append((text[pos:], None))
    return pieces
