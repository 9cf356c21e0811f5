"""Parse the final answer of one teacher trace inside its answer tags. Pure: no I/O, no model.

Accepted inside ``<answer>...</answer>`` (tags and content are case and whitespace tolerant):

- a letter ``A``-``D``, optionally wrapped or followed by punctuation: ``B``, ``(b)``, ``B.``;
- a **1-based** digit ``1``-``4``: choices are shown as A-D, the first, second, ... choice, so ``1`` is
  ``A``. ``0`` is refused rather than guessed, because a 0-based writer would mean ``A`` and a 1-based
  one nothing at all;
- the text of a choice (``a dog barking`` matches choice ``A dog barking``), or a letter followed by that
  choice's text (``B. A dog barking``);

Several ``<answer>`` blocks are fine when they all name the same choice; two different choices are a
parse error, since a vote must not pick one of them silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sightsound.contracts.common import ANSWER_CLOSE, ANSWER_OPEN, CHOICE_LETTERS

_ANSWER_RE = re.compile(re.escape(ANSWER_OPEN) + r"(.*?)" + re.escape(ANSWER_CLOSE), re.IGNORECASE | re.DOTALL)
_OPEN_RE = re.compile(re.escape(ANSWER_OPEN), re.IGNORECASE)
_LETTER_RE = re.compile(r"^\(?\s*([a-z])\s*\)?[.):]?$")
_DIGIT_RE = re.compile(r"^\(?\s*(\d+)\s*\)?[.):]?$")
_LETTER_THEN_TEXT_RE = re.compile(r"^\(?([a-z])\s*[.):]\s*(.+)$")
_EDGE_PUNCT = " \t\r\n\"'`*.,;:!?"

ParseResult = tuple[int | None, str | None]


def normalize(text: str) -> str:
    """Casefold, collapse whitespace, drop quotes and punctuation at the edges.

    >>> normalize('  "A Dog   barking." ')
    'a dog barking'
    """
    return " ".join(text.split()).strip(_EDGE_PUNCT).casefold()


def letter(index: int) -> str:
    """``0`` -> ``A``."""
    return CHOICE_LETTERS[index]


def parse_choice(content: str, choices: Sequence[str]) -> ParseResult:
    """Map the content of one answer block to a 0-based choice index.

    When two readings point to different choices (choices ``["2", "3", "4", "5"]`` and the answer ``3``:
    the choice text ``3`` or the third choice?) the answer is refused as ambiguous.

    >>> choices = ["Speech", "Music", "A dog barking", "Silence"]
    >>> parse_choice("b", choices), parse_choice(" 3 ", choices), parse_choice("a dog barking.", choices)
    ((1, None), (2, None), (2, None))
    >>> parse_choice("5", choices)
    (None, "answer index '5' is out of range: use 1-4 (1-based) or a letter A-D")
    >>> parse_choice("3", ["2", "3", "4", "5"])
    (None, "answer '3' is ambiguous: it reads as choices B and C")
    """
    norm = normalize(content)
    if not norm:
        return None, "empty <answer> block"
    n = len(choices)
    readings: list[int] = [i for i, choice in enumerate(choices) if normalize(choice) == norm]
    errors: list[str] = []
    if match := _LETTER_RE.match(norm):
        index = ord(match.group(1)) - ord("a")
        if 0 <= index < n:
            readings.append(index)
        else:
            errors.append(f"answer letter {match.group(1).upper()!r} is not one of {', '.join(CHOICE_LETTERS[:n])}")
    elif match := _DIGIT_RE.match(norm):
        number = int(match.group(1))
        if 1 <= number <= n:
            readings.append(number - 1)
        else:
            errors.append(f"answer index {match.group(1)!r} is out of range: use 1-{n} (1-based) or a letter A-D")
    elif match := _LETTER_THEN_TEXT_RE.match(norm):
        index = ord(match.group(1)) - ord("a")
        if 0 <= index < n and normalize(choices[index]) == normalize(match.group(2)):
            readings.append(index)
        else:
            errors.append(f"answer {content.strip()!r} names a letter with text that is not that choice")
    distinct = sorted(set(readings))
    if len(distinct) == 1:
        return distinct[0], None
    if len(distinct) > 1:
        named = " and ".join(letter(i) for i in distinct)
        return None, f"answer {content.strip()!r} is ambiguous: it reads as choices {named}"
    if errors:
        return None, errors[0]
    return None, f"answer {_shorten(content.strip())!r} is not a letter, a 1-based index or a choice text"


def parse_answer(text: str, choices: Sequence[str]) -> ParseResult:
    """Parse a whole sample: ``(answer_index, None)`` or ``(None, error)``.

    >>> choices = ["Speech", "Music", "A dog barking", "Silence"]
    >>> parse_answer("<think>...</think><answer>C</answer>", choices)
    (2, None)
    >>> parse_answer("<ANSWER> 2 </ANSWER> and again <answer>b</answer>", choices)
    (1, None)
    >>> parse_answer("<answer>A</answer><answer>D</answer>", choices)
    (None, 'two different answers: A and D')
    >>> parse_answer("I think it is B", choices)
    (None, 'missing <answer>...</answer> tags')
    """
    blocks = _ANSWER_RE.findall(text)
    if not blocks:
        if _OPEN_RE.search(text):
            return None, f"unclosed {ANSWER_OPEN} tag"
        return None, f"missing {ANSWER_OPEN}...{ANSWER_CLOSE} tags"
    found: list[int] = []
    for block in blocks:
        index, error = parse_choice(block, choices)
        if error is not None:
            return None, error
        assert index is not None
        if index not in found:
            found.append(index)
    if len(found) > 1:
        return None, "two different answers: " + " and ".join(letter(i) for i in found)
    return found[0], None


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
