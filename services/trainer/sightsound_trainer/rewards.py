"""GRPO rewards: small pure functions of a completion's text (and the gold answer).

The student answers in the shape the teacher's traces taught it::

    <think>reasoning about the sound</think><answer>B</answer>

- :func:`accuracy_reward`: 1 when exactly one ``<answer>`` holds the gold letter, else 0.
- :func:`format_reward`: 1 when the whole completion is one non-empty ``<think>`` block followed by one
  ``<answer>`` block holding a single letter A–D, else 0. The answer-only form ``<answer>X</answer>`` earns
  it only when ``require_reasoning`` is False (an explicit GRPO setting, for a label-only student): by default
  a completion that skips the reasoning is not well formed.
- :func:`reward_parts` / :func:`total_reward`: the one definition of the total reward,
  ``accuracy_weight * accuracy + format_weight * format``.

A completion with two answers gets no accuracy reward: hedging ("A" here, "B" there) must not pay.
"""

from __future__ import annotations

import re

from sightsound.answers import answer_letter
from sightsound.contracts.common import ANSWER_CLOSE, ANSWER_OPEN, CHOICE_LETTERS, THINK_CLOSE, THINK_OPEN

_NO_TAG = r"(?:(?!" + "|".join(re.escape(t) for t in (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)) + r").)*?"
# Reasoning: at least one non-space character before the closing tag.
_REASONING = (re.escape(THINK_OPEN) + r"(?=\s*(?!" + re.escape(THINK_CLOSE) + r")\S)" + _NO_TAG
              + re.escape(THINK_CLOSE) + r"\s*")
_ANSWER = re.escape(ANSWER_OPEN) + r"\s*[A-D]\s*" + re.escape(ANSWER_CLOSE) + r"\s*"
_WITH_REASONING = re.compile(r"\s*" + _REASONING + _ANSWER, re.DOTALL)
_ANSWER_ONLY = re.compile(r"\s*" + _ANSWER, re.DOTALL)


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


def format_reward(completion: str, require_reasoning: bool = True) -> float:
    """1.0 for ``<think>reasoning</think><answer>X</answer>`` and nothing else; the answer-only form too when
    ``require_reasoning`` is False.

    Valid:

    >>> format_reward("<think>a steady beep</think>\\n<answer>B</answer>")
    1.0
    >>> format_reward("<answer>D</answer>", require_reasoning=False)
    1.0

    Invalid:

    >>> format_reward("<answer>D</answer>")  # no reasoning
    0.0
    >>> format_reward("<think> </think><answer>D</answer>")  # empty reasoning
    0.0
    >>> format_reward("<think>a beep</think>")  # no answer
    0.0

    Mixed:

    >>> format_reward("<think>x</think><answer>B</answer> and more")  # right shape, then more text
    0.0
    >>> format_reward("<think>x</think><answer>B</answer>", require_reasoning=False)  # both forms allowed
    1.0
    """
    if _WITH_REASONING.fullmatch(completion):
        return 1.0
    return 1.0 if not require_reasoning and _ANSWER_ONLY.fullmatch(completion) else 0.0


def reward_parts(completion: str, gold_index: int, *, accuracy_weight: float = 1.0, format_weight: float = 1.0,
                 require_reasoning: bool = True) -> tuple[float, float, float]:
    """``(accuracy, format, total)`` of one completion: the one definition of GRPO's total reward.

    >>> reward_parts("<think>t</think><answer>A</answer>", 0, format_weight=0.5)
    (1.0, 1.0, 1.5)
    >>> reward_parts("<answer>A</answer>", 0)
    (1.0, 0.0, 1.0)
    """
    accuracy = accuracy_reward(completion, gold_index)
    fmt = format_reward(completion, require_reasoning)
    return accuracy, fmt, accuracy_weight * accuracy + format_weight * fmt


def total_reward(completion: str, gold_index: int, accuracy_weight: float = 1.0, format_weight: float = 1.0,
                 require_reasoning: bool = True) -> float:
    """The total reward of :func:`reward_parts`.

    >>> total_reward("<think>t</think><answer>A</answer>", 0, 1.0, 0.5)
    1.5
    """
    return reward_parts(completion, gold_index, accuracy_weight=accuracy_weight, format_weight=format_weight,
                        require_reasoning=require_reasoning)[2]
