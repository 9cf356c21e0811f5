"""Inequalities of claim values (pure): ``count>5``, ``pitch<200Hz``, ``tempo>=120bpm``, ``duration<2s``.

A bound is kept in the attribute value as an operator prefix (``">5"``), whichever way it was written
(``count>5``, ``count=more than 5``, ``count=over 5``); an exact value has no prefix.
"""

from __future__ import annotations

import re
from typing import Final

_WORDED: Final = (
    (r"more than|over|above|greater than|upwards of", ">"),
    (r"at least|no fewer than|no less than|>=|=>", ">="),
    (r"fewer than|less than|under|below|lower than", "<"),
    (r"at most|no more than|up to|<=|=<", "<="),
)
OPERATORS: Final = ("<=", ">=", "<", ">")


def normalise_bound(op: str, value: str) -> str:
    """The value with its bound as an operator prefix.

    >>> normalise_bound(">", "5"), normalise_bound("=", "more than five"), normalise_bound("=", "3")
    ('>5', '>five', '3')
    >>> normalise_bound("=", "at least 120 bpm"), normalise_bound("=", "exactly 4")
    ('>=120 bpm', '4')
    """
    text = value.strip()
    text = re.sub(r"^(?:exactly|precisely)\s+", "", text, flags=re.IGNORECASE)
    if op != "=":
        return f"{op}{text}"
    for words, worded_op in _WORDED:
        match = re.match(rf"^(?:{words})\s*(.+)$", text, re.IGNORECASE)
        if match:
            return f"{worded_op}{match.group(1).strip()}"
    return text


def split_bound(value: object) -> tuple[str, str]:
    """``(operator, rest)``; the operator is ``=`` for an exact value.

    >>> split_bound(">=120bpm"), split_bound("440Hz"), split_bound("<2s")
    (('>=', '120bpm'), ('=', '440Hz'), ('<', '2s'))
    """
    text = str(value).strip()
    for op in OPERATORS:
        if text.startswith(op):
            return op, text[len(op) :].strip()
    return "=", text


def holds(measured: float, op: str, bound: float) -> bool:
    """Whether ``measured op bound`` is true.

    >>> holds(6, ">", 5), holds(5, ">", 5), holds(5, ">=", 5), holds(1.5, "<", 2)
    (True, False, True, True)
    """
    if op == ">":
        return measured > bound
    if op == ">=":
        return measured >= bound
    if op == "<":
        return measured < bound
    if op == "<=":
        return measured <= bound
    return measured == bound


def margin(measured: float, op: str, bound: float) -> float:
    """How far ``measured`` lies from the bound, relative to the bound (0 at the bound)."""
    scale = max(abs(bound), 1e-9)
    return abs(measured - bound) / scale
