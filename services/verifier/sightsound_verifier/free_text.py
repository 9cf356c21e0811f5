"""Fallback claim extraction from prose, for traces without a ``<claims>`` block (pure).

Deliberately narrow: only phrasings whose meaning is unambiguous are recognised (someone is speaking,
no speech, no sound, the scene is silent, it gets louder / fades out). A missed claim costs nothing
(it is simply not checked); a misread one can reject a good trace, so precision beats recall here.
Negated phrasings are matched first and their text is then masked, so "is not silent" never also
counts as "silent".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sightsound.contracts.common import ANSWER_CLOSE, ANSWER_OPEN, ClaimKind

#: Longest snippet kept as a free-text claim's text.
MAX_SNIPPET = 160

_SPEAKER = (
    r"(?:someone|somebody|people|he|she|they|a\s+(?:man|woman|person|child|kid|boy|girl|narrator|speaker)"
    r"|the\s+(?:man|woman|person|child|kid|boy|girl|narrator|speaker|host|reporter|presenter))"
)
_SPEAKING = r"(?:speaking|talking|narrating|saying\s+something|explaining|announcing)"


@dataclass(frozen=True)
class _Pattern:
    name: str
    regex: re.Pattern[str]
    kind: ClaimKind
    attributes: tuple[tuple[str, str], ...]


def _p(name: str, regex: str, kind: ClaimKind, **attributes: str) -> _Pattern:
    return _Pattern(name, re.compile(regex, re.IGNORECASE), kind, tuple(attributes.items()))


_SPEECH, _SILENCE, _LOUDNESS = ClaimKind.speech_presence, ClaimKind.silence, ClaimKind.loudness

#: Order matters: negated forms first (their spans are masked before the positive forms run).
PATTERNS: tuple[_Pattern, ...] = (
    _p(
        "no-speech",
        r"\b(?:no|without)\s+(?:speech|talking|dialogue|narration|conversation|voices?)\b",
        _SPEECH,
        event="speech",
        present="no",
    ),
    _p(
        "nobody-speaks",
        rf"\b(?:nobody|no\s+one|no-one)\s+(?:is\s+|was\s+)?(?:{_SPEAKING}|speaks|talks)\b",
        _SPEECH,
        event="speech",
        present="no",
    ),
    _p(
        "not-speaking",
        rf"\b(?:is|are|was|were)(?:\s+not|n't)\s+{_SPEAKING}\b",
        _SPEECH,
        event="speech",
        present="no",
    ),
    _p(
        "not-silent",
        r"\b(?:not|isn't|aren't|wasn't|never)\s+(?:completely\s+|entirely\s+|totally\s+)?silent\b",
        _SILENCE,
        event="silence",
        present="no",
    ),
    _p(
        "not-louder",
        r"\b(?:not|n't|never)\s+(?:get|getting|grow|growing|become|becoming)\s+louder\b",
        _LOUDNESS,
        event="sound",
        loudness="rising",
        present="no",
    ),
    _p(
        "someone-speaks",
        rf"\b{_SPEAKER}\s+(?:(?:is|are|was|were)\s+{_SPEAKING}|speaks|talks|says)\b",
        _SPEECH,
        event="speech",
        present="yes",
    ),
    _p(
        "speech-heard",
        r"\b(?:speech|talking|a\s+voice|voices|a\s+conversation|dialogue|narration)\s+"
        r"(?:is|are|can\s+be)\s+(?:heard|audible)\b",
        _SPEECH,
        event="speech",
        present="yes",
    ),
    _p(
        "hear-speech",
        r"\b(?:hear|hears|heard)\s+(?:someone|somebody|a\s+voice|voices|speech|talking)\b",
        _SPEECH,
        event="speech",
        present="yes",
    ),
    _p(
        "no-sound",
        r"\b(?:no\s+(?:sound|sounds|audio|noise)\b|nothing\s+(?:can\s+be\s+|is\s+)?heard\b)",
        _SILENCE,
        event="silence",
        present="yes",
    ),
    _p(
        "is-silent",
        r"\b(?:is|are|was|were|remains?|stays?|seems?|appears?)\s+(?:completely\s+|totally\s+|entirely\s+)?"
        r"silent\b|\b(?:complete|total|dead|utter)\s+silence\b",
        _SILENCE,
        event="silence",
        present="yes",
    ),
    _p(
        "gets-louder",
        r"\b(?:gets?|getting|grows?|growing|becomes?|becoming)\s+(?:much\s+|gradually\s+|steadily\s+)?louder\b"
        r"|\bcrescendo\b|\b(?:volume|sound|noise)\s+(?:increases|rises|grows)\b",
        _LOUDNESS,
        event="sound",
        loudness="rising",
        present="yes",
    ),
    _p(
        "gets-quieter",
        r"\b(?:gets?|getting|grows?|growing|becomes?|becoming)\s+(?:much\s+|gradually\s+|steadily\s+)?"
        r"(?:quieter|softer)\b|\bfad(?:es?|ing)\s+(?:out|away)\b|\bdecrescendo\b|\bdiminuendo\b"
        r"|\b(?:volume|sound|noise)\s+(?:decreases|drops|falls|diminishes)\b",
        _LOUDNESS,
        event="sound",
        loudness="falling",
        present="yes",
    ),
)

_ANSWER = re.compile(re.escape(ANSWER_OPEN) + r".*?(?:" + re.escape(ANSWER_CLOSE) + r"|$)", re.I | re.S)
_TAG = re.compile(r"</?[a-z]+>", re.IGNORECASE)


def claims_from_free_text(text: str) -> list[tuple[ClaimKind, str, dict[str, str]]]:
    """``(kind, snippet, attributes)`` for each distinct sound statement found, in text order.

    The ``<answer>`` is ignored (it names a choice, not a sound); duplicates (same kind and
    attributes) are kept once. ``attributes`` carries ``pattern``, the name of the phrasing matched.

    >>> [(k.value, a["present"]) for k, _, a in claims_from_free_text("Nobody is talking; it is silent.")]
    [('speech_presence', 'no'), ('silence', 'yes')]
    >>> claims_from_free_text("The frames show a red car.")
    []
    """
    prose = _TAG.sub(" ", _ANSWER.sub(" ", text))
    masked = prose
    firsts: list[tuple[int, int, _Pattern]] = []
    for pattern in PATTERNS:
        # Only each pattern's first match can survive deduplication, so only it is kept.
        match = pattern.regex.search(masked)
        if match is not None:
            firsts.append((match.start(), match.end(), pattern))
            # Mask every match (same length) so later, weaker patterns cannot re-read it.
            masked = pattern.regex.sub(lambda m: " " * len(m.group(0)), masked)
    firsts.sort(key=lambda hit: hit[0])
    seen: set[tuple[ClaimKind, tuple[tuple[str, str], ...]]] = set()
    found: list[tuple[ClaimKind, str, dict[str, str]]] = []
    for start, end, pattern in firsts:
        key = (pattern.kind, pattern.attributes)
        if key in seen:
            continue
        seen.add(key)
        attributes = {**dict(pattern.attributes), "pattern": pattern.name}
        found.append((pattern.kind, _snippet(prose, start, end), attributes))
    return found


def _snippet(text: str, start: int, end: int) -> str:
    """The sentence around ``text[start:end]``, whitespace-collapsed and shortened."""
    low, high = max(0, start - 4 * MAX_SNIPPET), min(len(text), end + 4 * MAX_SNIPPET)
    left = max(text.rfind(stop, low, start) for stop in ".!?\n")
    rights = [pos for pos in (text.find(stop, end, high) for stop in ".!?\n") if pos >= 0]
    sentence = " ".join(text[max(left + 1, low) : min(rights) if rights else high].split())
    return sentence if len(sentence) <= MAX_SNIPPET else sentence[: MAX_SNIPPET - 3] + "..."
