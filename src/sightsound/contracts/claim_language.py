"""The claim language, version 2: which claim lines are valid and what each value means (pure).

A claim line is one statement about the clip's sound, inside ``<claims>...</claims>``::

    source=dog; event=bark; count>=3; window=final 2s
    source=scene; event=silence; except=dog bark; coverage=most
    source=door; event=knock; pattern=groups of 3; gap=yes
    source=man; event=speech; overlap=music
    source=door; event=knock; compare=first louder than last
    source=music; instrument=violin, piano
    source=person; event=speech; voice=child
    source=bird; event=chirp; pitch>2000Hz; duration<2s; hedged=yes

Grammar (whitespace around every token is allowed; keys are case-insensitive)::

    line     := pair (";" pair)*
    pair     := KEY OP VALUE
    KEY      := [a-z][a-z0-9_]*          (keys outside CLAIM_KEYS are kept as attributes)
    OP       := "=" | "<" | ">" | "<=" | ">="   (the inequalities only on INEQUALITY_KEYS)
    VALUE    := '"' [^"\\n]* '"' | [^;"\\n]+  (non-empty after trimming)

Version 1 lines (``key=value`` only, v1 keys only) are valid version 2 lines with the same meaning.
``present=no`` negates the line's whole statement (its presence, relation, comparison or pattern).
Inequalities: ``count>5`` is the same claim as ``count=more than 5``; both forms are valid.

The teacher may build a decoding grammar from :func:`claim_line_regex` (it never limits what a value
may say, only the envelope of a line); :func:`claim_value_error` is the stricter per-key check the
verifier reports as a parse note.
"""

from __future__ import annotations

import re
from typing import Final

CLAIM_FORMAT_VERSION: Final = 2

#: Keys of version 1 (all still valid, same meaning).
CLAIM_KEYS_V1: Final = (
    "source",
    "event",
    "kind",
    "present",
    "count",
    "order",
    "time",
    "loudness",
    "pitch",
    "tempo",
    "words",
)

#: Keys added by version 2.
CLAIM_KEYS_V2_ADDED: Final = (
    "window",
    "coverage",
    "except",
    "gap",
    "overlap",
    "between",
    "compare",
    "pattern",
    "instrument",
    "voice",
    "duration",
    "hedged",
    "version",
)

#: Every key version 2 defines, in the order the prompt documents them.
CLAIM_KEYS_V2: Final = CLAIM_KEYS_V1 + CLAIM_KEYS_V2_ADDED

#: Keys that accept ``<``, ``>``, ``<=``, ``>=`` in place of ``=`` (or a worded bound: "more than 5").
INEQUALITY_KEYS: Final = ("count", "pitch", "tempo", "duration", "gap")

#: Operators between key and value, longest first (so ``<=`` is never read as ``<``).
CLAIM_OPERATORS: Final = ("<=", ">=", "=", "<", ">")

_NUM = r"\d+(?:\.\d+)?"
_NUMBER_WORD = (
    r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen"
    r"|seventeen|eighteen|nineteen|twenty|once|twice|thrice|a couple of|a single|single|no|none)"
)
_BOUND = r"(?:(?:more than|over|above|at least|at most|fewer than|less than|under|below|exactly|about|around|~)\s*)?"
_SECONDS = rf"{_NUM}\s*(?:s|sec|secs|seconds?)"
_ORDINAL = (
    r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|second[- ]to[- ]last|penultimate"
    r"|final|\d+(?:st|nd|rd|th))"
)
_PHRASE = r"[a-z][a-z0-9 ,'/&()-]*"

#: The documented value syntax per key: ``(description, regex of the whole value, case-insensitive)``.
CLAIM_VALUE_SYNTAX: Final[dict[str, tuple[str, str]]] = {
    "source": ("what makes the sound: person, man, child, dog, car, door, scene, music, ...", _PHRASE),
    "event": ("what happens: speech, singing, music, bark, knock, beep, silence, sound, ...", _PHRASE),
    "kind": ("an explicit ClaimKind value (overrides inference)", r"[a-z_]+"),
    "present": ("yes | no (no negates the line's statement); true/false/1/0 accepted", r"yes|no|true|false|1|0|y|n"),
    "count": (
        "how many events: an integer or number word; with <, >, <=, >= or a worded bound ('more than 5')",
        rf"{_BOUND}(?:\d{{1,4}}|{_NUMBER_WORD})(?:\s*times?)?",
    ),
    "order": ("'A before B' | 'A after B' | 'before B' (subject = the line's event)", rf"{_PHRASE}"),
    "time": (
        "absolute window 'A-Bs' (v1), or any `window` value (v2)",
        rf"{_NUM}\s*(?:s|sec|seconds)?\s*(?:-|–|to|\.\.)\s*{_SECONDS}?|{_NUM}\s*(?:s|sec|seconds)?\s*(?:-|–|to|\.\.)\s*{_NUM}"
        r"|[a-z][a-z0-9 .-]*",
    ),
    "window": (
        "part of the clip the line is about: start | beginning | middle | end | whole | 'first N s' | "
        "'last N s' | 'final N s' | 'A-Bs'",
        rf"(?:the\s+)?(?:very\s+)?(?:start|beginning|opening|middle|midway|halfway|end|ending|whole|entire|all)"
        rf"|(?:first|last|final)\s+(?:{_NUM}|{_NUMBER_WORD})\s*(?:s|sec|secs|seconds?)"
        rf"|{_NUM}\s*(?:s|sec|seconds)?\s*(?:-|–|to|\.\.)\s*{_NUM}\s*(?:s|sec|seconds)?",
    ),
    "coverage": (
        "how much of the window the subject fills: whole (>=90%) | most (>=50%) | part (some, <90%) | brief (<25%)",
        r"whole|all|entire|throughout|most|mostly|part|partly|some|brief|briefly",
    ),
    "except": ("the sounds excepted from the line's statement ('silent except dog bark')", _PHRASE),
    "gap": (
        "silence between consecutive events of the subject: yes | no | a duration ('0.5s'), with an inequality",
        rf"yes|no|{_BOUND}{_SECONDS}",
    ),
    "overlap": ("another sound heard at the same time as the subject ('music'); simultaneity", _PHRASE),
    "between": ("the subject happens between two other sounds: 'A and B'", rf"{_PHRASE}\s+and\s+{_PHRASE}"),
    "compare": (
        "two events of the subject by ordinal: '<ordinal> <louder|quieter|softer|higher|lower|longer|shorter> "
        "[than] <ordinal>' (ordinals first..tenth, last, Nth)",
        rf"(?:the\s+)?{_ORDINAL}\s+(?:is\s+)?(?:louder|quieter|softer|higher|lower|longer|shorter)\s+(?:than\s+)?"
        rf"(?:the\s+)?{_ORDINAL}",
    ),
    "pattern": (
        "repetition of the subject's events: 'groups of N' | alternating | regular | irregular | accelerating | "
        "slowing",
        rf"(?:in\s+)?groups?\s+of\s+(?:\d{{1,2}}|{_NUMBER_WORD})|alternating|regular|steady|irregular"
        r"|accelerating|speeding up|slowing|slowing down",
    ),
    "instrument": ("instrument names, comma- or 'and'-separated: guitar, piano, drums, violin, ...", _PHRASE),
    "voice": (
        "voice attributes: child | adult | male | female | robotic | synthetic | whispered | elderly",
        r"[a-z][a-z ,/-]*",
    ),
    "duration": ("how long the subject lasts, in seconds ('2s'), with an inequality", rf"{_BOUND}{_SECONDS}"),
    "loudness": ("rising | falling | steady | loud | quiet", r"[a-z][a-z -]*"),
    "pitch": (
        "rising | falling | high | low | steady | a frequency ('440Hz', '1.2kHz') or note ('A4'), with an inequality",
        rf"[a-z][a-z -]*|{_BOUND}{_NUM}\s*k?hz|{_BOUND}[a-g][#b]?-?\d",
    ),
    "tempo": ("fast | slow | moderate | 'N bpm', with an inequality", rf"[a-z][a-z -]*|{_BOUND}{_NUM}\s*(?:bpm)?"),
    "words": ("the spoken words, double-quoted", r'[^"\n]*'),
    "hedged": ("yes when the teacher only suspects the sound ('might', 'probably')", r"yes|no|true|false"),
    "version": ("claim format version of the line; 2 (default 1-compatible)", r"1|2"),
}

#: A key, as the line grammar accepts it.
CLAIM_KEY_PATTERN: Final = r"[A-Za-z][A-Za-z0-9_]*"
#: An operator between key and value.
CLAIM_OPERATOR_PATTERN: Final = r"<=|>=|=|<|>"
#: A value: double-quoted (may hold ``;``) or bare (no ``;``, no quote, no newline).
CLAIM_VALUE_PATTERN: Final = r'"[^"\n]*"|[^;"\n]*[^;"\s]'
#: One ``key OP value`` pair.
CLAIM_PAIR_PATTERN: Final = rf"\s*(?:{CLAIM_KEY_PATTERN})\s*(?:{CLAIM_OPERATOR_PATTERN})\s*(?:{CLAIM_VALUE_PATTERN})\s*"


def claim_line_regex() -> re.Pattern[str]:
    """The regex a whole valid claim line matches (envelope only: any value text is allowed).

    >>> bool(claim_line_regex().fullmatch('source=dog; event=bark; count>=3; window=final 2s'))
    True
    >>> bool(claim_line_regex().fullmatch('source dog'))
    False
    """
    return re.compile(rf"{CLAIM_PAIR_PATTERN}(?:;{CLAIM_PAIR_PATTERN})*;?\s*")


def is_valid_claim_line(line: str) -> bool:
    """Whether ``line`` is a valid v2 (and therefore also any v1) claim line, values checked per key.

    >>> is_valid_claim_line("source=person; event=speech; present=yes")
    True
    >>> is_valid_claim_line("source=bird; pitch>2000Hz; hedged=yes")
    True
    >>> is_valid_claim_line("source=dog; present>yes")
    False
    """
    if not claim_line_regex().fullmatch(line):
        return False
    for part in [p for p in split_claim_pairs(line)[0] if p.strip()]:
        key, op, value = split_pair(part)
        if claim_value_error(key, op, value) is not None:
            return False
    return True


def split_pair(part: str) -> tuple[str, str, str]:
    """``(key, operator, value)`` of one pair, key lower-cased, value unquoted and trimmed.

    >>> split_pair(' Count >= 3 ')
    ('count', '>=', '3')
    """
    match = re.match(rf"\s*({CLAIM_KEY_PATTERN})\s*({CLAIM_OPERATOR_PATTERN})\s*(.*?)\s*$", part, re.S)
    if match is None:
        return part.strip().lower(), "", ""
    value = match.group(3)
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return match.group(1).lower(), match.group(2), value


def claim_value_error(key: str, op: str, value: str) -> str | None:
    """Why ``key op value`` is not valid v2, or ``None`` when it is (unknown keys: any non-empty value).

    >>> claim_value_error("count", ">", "5"), claim_value_error("present", "<", "yes")
    (None, "operator '<' is only allowed on count, pitch, tempo, duration, gap")
    >>> claim_value_error("compare", "=", "first louder than last")
    >>> claim_value_error("pattern", "=", "sometimes")
    "value 'sometimes' of 'pattern' does not follow its syntax: repetition of the subject's events: ..."
    """
    if op != "=" and key not in INEQUALITY_KEYS:
        return f"operator {op!r} is only allowed on {', '.join(INEQUALITY_KEYS)}"
    if not value.strip() and key != "words":
        return f"empty value for {key!r}"
    syntax = CLAIM_VALUE_SYNTAX.get(key)
    if syntax is None:
        return None
    description, pattern = syntax
    if re.fullmatch(pattern, value.strip(), re.IGNORECASE) is None:
        head = description.split(":")[0]
        return f"value {value!r} of {key!r} does not follow its syntax: {head}: ..."
    return None


def split_claim_pairs(line: str) -> tuple[list[str], bool]:
    """A claim line's ``key=value`` parts, split on ``;`` outside double quotes, and whether a quote was
    left open (the verifier refuses such a line; the format check reads what it can).

    >>> split_claim_pairs('event=speech; words="a; b"')
    (['event=speech', ' words="a; b"'], False)
    """
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts, quoted
