"""The teacher's output format as one regular expression, for servers that constrain decoding by regex.

vLLM constrains sampling to a regex (``structured_outputs: {"regex": ...}``), which is how the
``openai`` backend gets the same guarantees as :mod:`sightsound_teacher.grammar` does locally: a think
block without tags, one or two compatible lines of :data:`~sightsound_teacher.grammar.CLAIM_MENU`, and
one letter. Pure.

The server's tokenizer is unknown here, so the think block is capped in *characters*:
:func:`think_char_budget` leaves :data:`TAIL_TOKENS` tokens for the fixed tail and assumes
:data:`CHARS_PER_TOKEN` characters per free-text token (English BPE averages about 4). Under a regex
constraint a model may also spell the fixed tail in many small tokens (SmolLM2 on vLLM took 88 tokens
for its 125 characters), so the request's ``max_tokens`` is :func:`structured_max_tokens`: the longest
sample the regex allows, counted at one token per character. A sample can then never be cut off
before its answer; the regex itself ends every sample well before that in practice.
"""

from __future__ import annotations

from collections.abc import Sequence

from sightsound.contracts.common import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    CHOICE_LETTERS,
    CLAIMS_CLOSE,
    CLAIMS_OPEN,
    THINK_CLOSE,
    THINK_OPEN,
)
from sightsound_teacher.grammar import CLAIM_MENU, ClaimOption, compatible

#: Tokens reserved for everything after the reasoning (close tags, two claim lines, the letter).
TAIL_TOKENS = 64
#: Conservative characters per reasoning token when turning a token budget into a character cap.
CHARS_PER_TOKEN = 2.5
_SPECIAL = set(".^$*+?{}[]\\|()")


def escape(text: str) -> str:
    r"""Escape regex metacharacters only (some regex engines refuse ``\ `` for a space).

    >>> escape("a=b; c (x)")
    'a=b; c \\(x\\)'
    """
    return "".join("\\" + ch if ch in _SPECIAL else ch for ch in text)


def think_char_budget(max_new_tokens: int) -> int:
    """Characters the reasoning may use so the tail still fits in ``max_new_tokens`` (at least 16).

    >>> think_char_budget(256), think_char_budget(64)
    (480, 16)
    """
    return max(16, int((max_new_tokens - TAIL_TOKENS) * CHARS_PER_TOKEN))


def longest_tail(menu: Sequence[ClaimOption] = CLAIM_MENU) -> str:
    """The longest text a sample can have after its reasoning (two claim lines, tags, a letter)."""
    lines = sorted((option.text + "\n" for option in menu), key=len)[-2:]
    return f"{THINK_CLOSE}\n{CLAIMS_OPEN}\n" + "".join(lines) + f"{CLAIMS_CLOSE}\n{ANSWER_OPEN}A{ANSWER_CLOSE}"


def structured_max_tokens(max_new_tokens: int, menu: Sequence[ClaimOption] = CLAIM_MENU) -> int:
    """``max_tokens`` to send with the regex: every character of the longest allowed sample as a token.

    >>> structured_max_tokens(128) == len(THINK_OPEN) + think_char_budget(128) + len(longest_tail())
    True
    """
    return len(THINK_OPEN) + think_char_budget(max_new_tokens) + len(longest_tail(menu))


def claims_regex(menu: Sequence[ClaimOption] = CLAIM_MENU) -> str:
    """One claim line, optionally followed by a compatible second one (each line ends with a newline)."""
    alternatives = []
    for first in menu:
        seconds = [escape(second.text) + r"\n" for second in menu if compatible(first, second)]
        tail = f"(?:{'|'.join(seconds)})?" if seconds else ""
        alternatives.append(escape(first.text) + r"\n" + tail)
    return f"(?:{'|'.join(alternatives)})"


def format_regex(max_new_tokens: int, menu: Sequence[ClaimOption] = CLAIM_MENU) -> str:
    """The whole sample: ``<think>...</think>``, the claims block and the answer letter.

    >>> import re
    >>> sample = "<think>A man talks.</think>\\n<claims>\\nsource=person; event=speech; present=yes\\n"
    >>> sample += "</claims>\\n<answer>B</answer>"
    >>> bool(re.fullmatch(format_regex(128), sample)), bool(re.fullmatch(format_regex(128), sample + "x"))
    (True, False)
    """
    letters = "".join(CHOICE_LETTERS)
    return (
        escape(THINK_OPEN)
        + f"[^<]{{0,{think_char_budget(max_new_tokens)}}}"
        + escape(THINK_CLOSE)
        + r"\n"
        + escape(CLAIMS_OPEN)
        + r"\n"
        + claims_regex(menu)
        + escape(CLAIMS_CLOSE)
        + r"\n"
        + escape(ANSWER_OPEN)
        + f"[{letters}]"
        + escape(ANSWER_CLOSE)
    )
