"""Reading the student's answer out of its text (pure).

The trained shape is ``<think>…</think><answer>X</answer>`` (the GRPO rewards pay only for it). An
evaluation must also score students that never learned the tags (the base model), so when there is no
single ``<answer>`` letter the answer is read leniently, and the way it was read is recorded: a lone
letter ("B", "Answer: B", "(B)", "the best choice is B"), or exactly one choice's text mentioned.
Anything else is unanswered.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sightsound.contracts.common import ANSWER_CLOSE, ANSWER_OPEN, CHOICE_LETTERS, THINK_CLOSE, THINK_OPEN

_ANSWER = re.compile(re.escape(ANSWER_OPEN) + r"(.*?)" + re.escape(ANSWER_CLOSE), re.DOTALL)
_THINK = re.compile(re.escape(THINK_OPEN) + r"(.*?)" + re.escape(THINK_CLOSE), re.DOTALL)
# Letters are matched case-sensitively: "the answer is a dog" must not read as A.
_LONE_LETTER = re.compile(r"^\W*(?:(?i:answer)\s*(?:(?i:is))?\s*:?\s*)?\(?([A-D])\)?\W*$")
_STATED_LETTER = re.compile(r"\b(?i:answer|choice|option)\s*(?:(?i:is))?\s*:?\s*\(?([A-D])\)?(?![A-Za-z])")


def answer_letter(completion: str) -> str | None:
    """The letter inside the completion's only ``<answer>`` tag; None when absent, repeated or not a letter.

    >>> answer_letter("<think>a voice</think><answer> B </answer>")
    'B'
    >>> answer_letter("<answer>A</answer><answer>B</answer>") is None
    True
    >>> answer_letter("<answer>A dog barking</answer>") is None
    True
    """
    found = _ANSWER.findall(completion)
    if len(found) != 1:
        return None
    letter = found[0].strip()
    return letter if letter in CHOICE_LETTERS else None



@dataclass(frozen=True)
class ParsedAnswer:
    index: int | None
    reasoning: str | None
    how: str | None  # "tag", "letter", "choice-text"; None when unanswered
    error: str | None = None

    @property
    def letter(self) -> str | None:
        return None if self.index is None else CHOICE_LETTERS[self.index]


def reasoning_in(text: str) -> str | None:
    """The ``<think>`` block's text, if any.

    >>> reasoning_in("<think> a bell rings </think><answer>A</answer>")
    'a bell rings'
    """
    found = _THINK.search(text)
    return found.group(1).strip() or None if found else None


def parse_answer(text: str, choices: Sequence[str] | None) -> ParsedAnswer:
    """The chosen index of ``text`` given ``choices`` (None choices: a free answer, nothing to pick).

    >>> parse_answer("<think>a dog</think><answer>B</answer>", ["cat", "dog"]).index
    1
    >>> parse_answer("Answer: C", ["a", "b", "c", "d"]).how
    'letter'
    >>> parse_answer("A. rain B. a bell C. a car D. wind  The best choice is D. wind.", list("wxyz")).letter
    'D'
    >>> parse_answer("The answer is a dog barking.", ["A cat", "A dog barking"]).how
    'choice-text'
    >>> parse_answer("It sounds like a dog barking.", ["A cat", "A dog"]).how
    'choice-text'
    >>> parse_answer("a cat or a dog", ["A cat", "A dog"]).error
    'no single answer: the text names 2 choices'
    >>> parse_answer("<answer>D</answer>", ["yes", "no"]).error
    'answer D is not one of the 2 choices'
    """
    reasoning = reasoning_in(text)
    if choices is None:
        return ParsedAnswer(None, reasoning, None, None)
    letter = answer_letter(text)
    how = "tag"
    if letter is None:
        lone = _LONE_LETTER.match(text.strip())
        stated = _STATED_LETTER.findall(text)
        if lone:
            letter, how = lone.group(1), "letter"
        elif len(set(stated)) == 1:
            letter, how = stated[0], "letter"
    if letter is not None:
        index = CHOICE_LETTERS.index(letter)
        if index >= len(choices):
            return ParsedAnswer(None, reasoning, None, f"answer {letter} is not one of the {len(choices)} choices")
        return ParsedAnswer(index, reasoning, how)
    lowered = text.lower()
    named = [i for i, c in enumerate(choices) if c.strip() and c.strip().lower() in lowered]
    if len(named) == 1:
        return ParsedAnswer(named[0], reasoning, "choice-text")
    if named:
        return ParsedAnswer(None, reasoning, None, f"no single answer: the text names {len(named)} choices")
    return ParsedAnswer(None, reasoning, None, "no answer letter or choice text found")
