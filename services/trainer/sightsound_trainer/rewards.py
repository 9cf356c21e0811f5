"""GRPO rewards: small pure functions of a completion's text (and the gold answer), in [0, 1].

The student answers in the shape the teacher's traces taught it::

    <think>reasoning about the sound</think><answer>B</answer>

- :func:`accuracy_reward`: 1 when exactly one ``<answer>`` holds the gold letter, else 0.
- :func:`format_reward`: 1 when the whole completion is one ``<think>`` block followed by one ``<answer>``
  block holding a single letter A–D (a label-only student may omit the ``<think>`` block), else 0.

A completion with two answers gets no accuracy reward: hedging ("A" here, "B" there) must not pay.
"""

from __future__ import annotations

import re

from sightsound.answers import answer_letter
from sightsound.contracts.common import ANSWER_CLOSE, ANSWER_OPEN, CHOICE_LETTERS, THINK_CLOSE, THINK_OPEN

_NO_TAG = r"(?:(?!" + "|".join(re.escape(t) for t in (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)) + r").)*?"
_FORMAT = re.compile(
    r"\s*(?:" + re.escape(THINK_OPEN) + _NO_TAG + re.escape(THINK_CLOSE) + r"\s*)?"
    + re.escape(ANSWER_OPEN) + r"\s*[A-D]\s*" + re.escape(ANSWER_CLOSE) + r"\s*",
    re.DOTALL,
)


def answer_index(completion: str) -> int | None:
    """0-3 for A-D, None when :func:`answer_letter` finds no single letter.

    >>> answer_index("<answer>C</answer>")
    2
    """
    letter = answer_letter(completion)
    return None if letter is None else CHOICE_LETTERS.index(letter)


def accuracy_reward(completion: str, gold_index: int) -> float:
    """1.0 when the completion's single answer is the gold choice, else 0.0.

    >>> accuracy_reward("<think>someone talks</think><answer>A</answer>", 0)
    1.0
    >>> accuracy_reward("<think>someone talks</think><answer>A</answer>", 1)
    0.0
    >>> accuracy_reward("the answer is A", 0)
    0.0
    """
    return 1.0 if answer_index(completion) == gold_index else 0.0


def format_reward(completion: str) -> float:
    """1.0 for ``<think>…</think><answer>X</answer>`` (or just ``<answer>X</answer>``) and nothing else.

    >>> format_reward("<think>a steady beep</think>\\n<answer>B</answer>")
    1.0
    >>> format_reward("<answer>D</answer>")
    1.0
    >>> format_reward("<think>a beep</think>")
    0.0
    >>> format_reward("<think>x</think><answer>B</answer> and more")
    0.0
    """
    return 1.0 if _FORMAT.fullmatch(completion) else 0.0


def total_reward(completion: str, gold_index: int, accuracy_weight: float = 1.0, format_weight: float = 1.0) -> float:
    """Weighted sum of the accuracy and format rewards.

    >>> total_reward("<think>t</think><answer>A</answer>", 0, 1.0, 0.5)
    1.5
    """
    return accuracy_weight * accuracy_reward(completion, gold_index) + format_weight * format_reward(completion)
