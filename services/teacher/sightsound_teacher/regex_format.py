"""The teacher's output format as ONE regular expression: the single definition of structured decoding.

The same regex string constrains every backend:

- vLLM (``openai`` backend, opt-in): sent as ``structured_outputs: {"regex": ...}``; vLLM compiles it
  with its own engine (xgrammar or llguidance);
- the local backends (``transformers``, ``embedded``): compiled by llguidance, the engine vLLM itself
  uses, in :mod:`sightsound_teacher.grammar`, which adds only *token* budgets on top (when to close the
  reasoning, when to close the claims block) and never changes which texts are allowed.

It shapes the envelope only::

    <think>free text without '<'</think>
    <claims>
    1 to MAX_CLAIM_LINES lines, each any line of the claim language (sightsound.contracts.claim_language)
    </claims>
    <answer>A|B|C|D</answer>

Claim lines are built from the contract's own patterns (:data:`CLAIM_KEY_PATTERN`,
:data:`CLAIM_OPERATOR_PATTERN`, :data:`CLAIM_VALUE_PATTERN`), mirroring :func:`claim_line_regex`: any key
(v1 and v2 keys included, unknown keys too), every operator, any value text. Two envelope rules narrow a
line, and only these: whitespace inside a line is spaces and tabs (a line never spans two lines), and no
value contains ``<`` (so a value can never open or close a tag of the envelope). A property test checks
that on every other line the decoding regex and the contract agree.

The reasoning has no character cap: its length is bounded in tokens (``max_tokens`` on vLLM, a token
budget locally). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sightsound.contracts.claim_language import (
    CLAIM_KEY_PATTERN,
    CLAIM_OPERATOR_PATTERN,
    CLAIM_VALUE_PATTERN,
)
from sightsound.contracts.common import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    CHOICE_LETTERS,
    CLAIMS_CLOSE,
    CLAIMS_OPEN,
    THINK_CLOSE,
    THINK_OPEN,
)

#: Most claim lines in one block (a bound on repetition, not on what a line may say).
MAX_CLAIM_LINES = 12
#: Whitespace inside a claim line: never a newline (lines are newline-separated).
LINE_SPACE = r"[ \t]"
#: The reasoning: any text without ``<`` (so no tag can open inside it).
THINK_TEXT = r"[^<]*"
_SPECIAL = set(".^$*+?{}[]\\|()")


def escape(text: str) -> str:
    r"""Escape regex metacharacters only (some regex engines refuse ``\ `` for a space); newlines as ``\n``.

    >>> escape("a=b; c (x)")
    'a=b; c \\(x\\)'
    >>> escape("x\n")
    'x\\n'
    """
    return "".join("\\" + ch if ch in _SPECIAL else "\\n" if ch == "\n" else ch for ch in text)


def _decoding_value_pattern() -> str:
    """The contract's value pattern, with ``<`` excluded from every character class that admits it."""
    value = CLAIM_VALUE_PATTERN.replace("\\n]", "\\n<]").replace("\\s]", "\\s<]")
    if value.count("<]") != CLAIM_VALUE_PATTERN.count("\\n]") + CLAIM_VALUE_PATTERN.count("\\s]") or "<]" not in value:
        raise RuntimeError(f"the claim value pattern changed shape ({CLAIM_VALUE_PATTERN!r}): update regex_format")
    return value


#: One ``key OP value`` pair: the contract's key, operator and value patterns, spaces and tabs around them.
CLAIM_PAIR = (
    rf"{LINE_SPACE}*(?:{CLAIM_KEY_PATTERN}){LINE_SPACE}*(?:{CLAIM_OPERATOR_PATTERN})"
    rf"{LINE_SPACE}*(?:{_decoding_value_pattern()}){LINE_SPACE}*"
)
#: One claim line without its newline, shaped as :func:`sightsound.contracts.claim_language.claim_line_regex`.
CLAIM_LINE = rf"{CLAIM_PAIR}(?:;{CLAIM_PAIR})*;?{LINE_SPACE}*"


def claim_line_pattern() -> re.Pattern[str]:
    """The decoding grammar's claim line, compiled (for tests and for checking fixed lines).

    >>> bool(claim_line_pattern().fullmatch("source=dog; event=bark; count>=3; window=final 2s"))
    True
    >>> bool(claim_line_pattern().fullmatch("source=a dog that barks loudly at the cat; hedged=yes"))
    True
    >>> bool(claim_line_pattern().fullmatch("source dog")), bool(claim_line_pattern().fullmatch("source=<b>"))
    (False, False)
    """
    return re.compile(CLAIM_LINE)


@dataclass(frozen=True)
class RowFormat:
    """What one sample must contain besides the open format: a fixed start of its reasoning, fixed claim
    lines (each must be a line of the open grammar), a fixed answer letter. Empty: the open format."""

    think_prefix: str = ""
    claims: tuple[str, ...] | None = None
    letter: str | None = None

    def __post_init__(self) -> None:
        if "<" in self.think_prefix:
            raise ValueError("the reasoning cannot contain '<'")
        if self.letter is not None and self.letter not in CHOICE_LETTERS:
            raise ValueError(f"answer letter {self.letter!r} is not one of {CHOICE_LETTERS}")
        if self.claims is not None:
            if not 1 <= len(self.claims) <= MAX_CLAIM_LINES:
                raise ValueError(f"1 to {MAX_CLAIM_LINES} claim lines, got {len(self.claims)}")
            line = claim_line_pattern()
            bad = [c for c in self.claims if not line.fullmatch(c)]
            if bad:
                raise ValueError(f"not a claim line of the claim language: {bad[0]!r}")


OPEN = RowFormat()


def claims_block_regex(claims: Sequence[str] | None = None) -> str:
    """The lines of the claims block: 1 to :data:`MAX_CLAIM_LINES` open lines, or exactly ``claims``."""
    if claims is not None:
        return "".join(escape(line) + r"\n" for line in claims)
    return rf"(?:{CLAIM_LINE}\n){{1,{MAX_CLAIM_LINES}}}"


def format_regex(row: RowFormat = OPEN) -> str:
    """The whole sample: ``<think>...</think>``, the claims block and the answer letter.

    >>> import re
    >>> sample = "<think>A man talks, then a dog barks twice.</think>\\n<claims>\\n"
    >>> sample += "source=man; event=speech; present=yes\\nsource=dog; event=bark; count=2; order=after speech\\n"
    >>> sample += "</claims>\\n<answer>B</answer>"
    >>> bool(re.fullmatch(format_regex(), sample)), bool(re.fullmatch(format_regex(), sample + "x"))
    (True, False)
    """
    letters = escape(row.letter) if row.letter is not None else f"[{''.join(CHOICE_LETTERS)}]"
    return (
        escape(THINK_OPEN)
        + escape(row.think_prefix)
        + THINK_TEXT
        + escape(f"{THINK_CLOSE}\n{CLAIMS_OPEN}\n")
        + claims_block_regex(row.claims)
        + escape(f"{CLAIMS_CLOSE}\n{ANSWER_OPEN}")
        + letters
        + escape(ANSWER_CLOSE)
    )
