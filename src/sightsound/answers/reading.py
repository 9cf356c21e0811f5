"""Reading the student's answer out of its text (pure), strictly and leniently.

The trained shape is ``<think>…</think><answer>X</answer>`` (the GRPO rewards pay only for it).

- **Strict** (:func:`strict_answer`): exactly one well-formed ``<answer>X</answer>``, X an upper-case letter
  of one of the choices, outside ``<think>``. Strict accuracy counts only these.
- **Lenient** (:func:`parse_answer`): an evaluation must also score students that never learned the tags
  (the base model), so when there is no strict answer the text is read leniently, and the way it was read is
  recorded: a lower-case letter in the tag, a lone or stated letter ("B", "Answer: B", "(B)", "the best choice
  is B"), or exactly one choice's text named as a whole phrase. The lenient reader never looks inside
  ``<think>`` (an unclosed one runs to the end), never matches a choice's text inside a longer word
  ("no" in "know") or inside a longer choice's text ("A dog" in "a dog barking" is that longer choice), never
  reads a negated choice ("not rain") and never reads a hedge ("I cannot know", "not sure", "maybe"): those
  are unanswered, with the reason.
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
_LOWER_TAG = re.compile(re.escape(ANSWER_OPEN) + r"\s*([a-d])\s*" + re.escape(ANSWER_CLOSE))
# Reasoning is not the answer: closed <think> blocks, and an unclosed one up to the end of the text.
_THINK_SPAN = re.compile(re.escape(THINK_OPEN) + r".*?(?:" + re.escape(THINK_CLOSE) + r"|$)", re.DOTALL)
_HEDGE = re.compile(
    r"\b(?:maybe|perhaps|possibly|unsure|uncertain|unclear|not\s+(?:sure|certain|clear)"
    r"|(?:can\s*not|can't|cant|could\s*not|couldn't)\s+(?:\w+\s+)?(?:know|tell|say|determine|hear|be\s+sure)"
    r"|(?:don't|do\s+not|dont)\s+know|hard\s+to\s+(?:tell|say)|impossible\s+to\s+(?:tell|know|say)"
    r"|might\s+be|could\s+be|no\s+way\s+to\s+(?:tell|know))\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"(?:\b(?:not|no|never|without|nor)|n't)\s+$", re.IGNORECASE)


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


def outside_reasoning(text: str) -> str:
    """``text`` without its ``<think>`` blocks (an unclosed one runs to the end).

    >>> outside_reasoning("<think>yes?</think>no<think>maybe")
    ' no '
    """
    return _THINK_SPAN.sub(" ", text) if THINK_OPEN in text else text


def strict_answer(text: str, choices: Sequence[str]) -> int | None:
    """The index of the completion's only, well-formed ``<answer>X</answer>`` (outside ``<think>``, X an
    upper-case letter of one of ``choices``); None otherwise.

    >>> strict_answer("<think>a bark</think><answer>B</answer>", ["cat", "dog"])
    1
    >>> strict_answer("<answer>b</answer>", ["cat", "dog"]), strict_answer("B", ["cat", "dog"])
    (None, None)
    >>> strict_answer("<think><answer>A</answer></think>", ["cat", "dog"]) is None
    True
    """
    letter = answer_letter(text)
    if letter is None or answer_letter(outside_reasoning(text)) != letter:
        return None
    index = CHOICE_LETTERS.index(letter)
    return index if index < len(choices) else None


def named_choices(text: str, choices: Sequence[str]) -> tuple[list[int], bool]:
    """The choices whose text ``text`` names as a whole phrase (case-insensitive), and whether one was negated.

    A mention inside a longer choice's mention counts for the longer choice only.

    >>> named_choices("It is a dog barking.", ["A dog", "A dog barking", "Rain"])
    ([1], False)
    >>> named_choices("I know nothing.", ["yes", "no"])
    ([], False)
    >>> named_choices("It is not rain.", ["Rain", "Speech"])
    ([0], True)
    """
    spans: list[tuple[int, int, int]] = []
    for i, choice in enumerate(choices):
        phrase = " ".join(choice.strip().split())
        if not phrase:
            continue
        pattern = r"(?<![\w'])" + r"\s+".join(re.escape(w) for w in phrase.split()) + r"(?![\w'])"
        spans += [(m.start(), m.end(), i) for m in re.finditer(pattern, text, re.IGNORECASE)]
    kept = [s for s in spans
            if not any(o[0] <= s[0] and s[1] <= o[1] and (o[1] - o[0]) > (s[1] - s[0]) for o in spans)]
    negated = any(_NEGATION.search(text[: start]) for start, _, _ in kept)
    return sorted({i for _, _, i in kept}), negated



@dataclass(frozen=True)
class ParsedAnswer:
    index: int | None
    reasoning: str | None
    how: str | None  # "tag" (strict), "letter", "choice-text"; None when unanswered
    error: str | None = None

    @property
    def letter(self) -> str | None:
        return None if self.index is None else CHOICE_LETTERS[self.index]

    @property
    def strict(self) -> bool:
        """Read from one well-formed ``<answer>X</answer>`` (counts for strict accuracy)."""
        return self.how == "tag"


def reasoning_in(text: str) -> str | None:
    """The ``<think>`` block's text, if any.

    >>> reasoning_in("<think> a bell rings </think><answer>A</answer>")
    'a bell rings'
    """
    found = _THINK.search(text)
    return found.group(1).strip() or None if found else None


def _letter_index(letter: str, how: str, reasoning: str | None, n_choices: int) -> ParsedAnswer:
    index = CHOICE_LETTERS.index(letter)
    if index >= n_choices:
        return ParsedAnswer(None, reasoning, None, f"answer {letter} is not one of the {n_choices} choices")
    return ParsedAnswer(index, reasoning, how)


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
    >>> parse_answer("It sounds like a dog.", ["A cat", "A dog"]).how
    'choice-text'
    >>> parse_answer("a cat or a dog", ["A cat", "A dog"]).error
    'no single answer: the text names 2 choices'
    >>> parse_answer("<answer>D</answer>", ["yes", "no"]).error
    'answer D is not one of the 2 choices'
    >>> parse_answer("I cannot know for sure.", ["yes", "no"]).error
    'a hedge, not an answer'
    >>> parse_answer("<think>I hear a violin and a piano.</think>", ["yes", "no"]).error
    'no answer outside <think>'
    """
    reasoning = reasoning_in(text)
    if choices is None:
        return ParsedAnswer(None, reasoning, None, None)
    tagged = answer_letter(text)
    if tagged is not None:
        strict = strict_answer(text, choices)
        if strict is not None:
            return ParsedAnswer(strict, reasoning, "tag")
        if answer_letter(outside_reasoning(text)) == tagged:
            return _letter_index(tagged, "tag", reasoning, len(choices))
    outside = outside_reasoning(text)
    if not outside.strip():
        return ParsedAnswer(None, reasoning, None, "no answer outside <think>")
    lower = _LOWER_TAG.findall(outside)
    if len(lower) == 1 and len(_ANSWER.findall(outside)) == 1:
        return _letter_index(lower[0].upper(), "letter", reasoning, len(choices))
    if _HEDGE.search(outside):
        return ParsedAnswer(None, reasoning, None, "a hedge, not an answer")
    lone = _LONE_LETTER.match(outside.strip())
    stated = _STATED_LETTER.findall(outside)
    if lone:
        return _letter_index(lone.group(1), "letter", reasoning, len(choices))
    if len(set(stated)) == 1:
        return _letter_index(stated[0], "letter", reasoning, len(choices))
    named, negated = named_choices(outside, choices)
    if len(named) > 1:
        return ParsedAnswer(None, reasoning, None, f"no single answer: the text names {len(named)} choices")
    if negated:
        return ParsedAnswer(None, reasoning, None, "the choice named is negated")
    if named:
        return ParsedAnswer(named[0], reasoning, "choice-text")
    return ParsedAnswer(None, reasoning, None, "no answer letter or choice text found")
