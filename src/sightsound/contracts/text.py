"""What free text a request may carry (pure): no NUL or other control characters (PostgreSQL refuses NUL in
``text``, so it used to surface as a 500 after the upload was stored), no lone surrogates. Line breaks and tabs
are allowed."""

from __future__ import annotations

import re

_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def text_problem(field: str, value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None.

    >>> text_problem("question", "What is heard?\\nA bell") is None
    True
    >>> text_problem("question", "bad\\x00text")
    'question: contains the control character U+0000 at position 3; send plain text'
    """
    found = _INVALID.search(value)
    if found is None:
        return None
    return (f"{field}: contains the control character U+{ord(found.group()):04X} at position {found.start()}; "
            "send plain text")


def check_text(field: str, value: str) -> str:
    """``value`` unchanged, or ``ValueError`` saying what is wrong with it."""
    problem = text_problem(field, value)
    if problem is not None:
        raise ValueError(problem)
    return value
