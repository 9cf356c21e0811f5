"""Reading multiple-choice options out of a chat message's text (pure).

An OpenAI client has no field for choices, so a question with choices is written the usual way:

    What can be heard?
    A. A person speaking
    B. A dog barking

Lines that start with consecutive letters from ``A`` (``A.``, ``A)``, ``(A)`` or ``A:``, then a space) are
the choices; the text before them is the question. Text after them (an instruction such as "Answer with
the letter") is not kept: the student is asked in the prompt shape it was trained on, which ends with
its own instruction. Only when nothing comes before the options is the text after them the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sightsound.contracts.common import CHOICE_LETTERS

_OPTION = re.compile(r"^\s*\(?([A-Za-z])\s*[.):]\s+(\S.*?)\s*$")


@dataclass(frozen=True)
class SplitQuestion:
    question: str
    choices: list[str] | None  # None: no lettered options, a free question


def split_lettered_choices(text: str) -> SplitQuestion:
    """The question and its lettered choices (at least two, from ``A`` on, in order).

    >>> split_lettered_choices("What is heard?\\nA. A dog\\nB) A cat\\n(C) Rain\\nAnswer with the letter.")
    SplitQuestion(question='What is heard?', choices=['A dog', 'A cat', 'Rain'])
    >>> split_lettered_choices("A. A dog\\nB. A cat\\nWhich one barks?")
    SplitQuestion(question='Which one barks?', choices=['A dog', 'A cat'])
    >>> split_lettered_choices("What is heard?\\nA. A dog\\nB. A cat")
    SplitQuestion(question='What is heard?', choices=['A dog', 'A cat'])
    >>> split_lettered_choices("Describe the sound.")
    SplitQuestion(question='Describe the sound.', choices=None)
    >>> split_lettered_choices("Is it loud?\\nA. yes")  # one option is not a choice between options
    SplitQuestion(question='Is it loud?\\nA. yes', choices=None)
    """
    lines = text.strip().splitlines()
    for start, line in enumerate(lines):
        found = _OPTION.match(line)
        if found is None or found.group(1).upper() != CHOICE_LETTERS[0]:
            continue
        choices: list[str] = []
        for option_line in lines[start:]:
            option = _OPTION.match(option_line)
            if len(choices) == len(CHOICE_LETTERS) or option is None:
                break
            if option.group(1).upper() != CHOICE_LETTERS[len(choices)]:
                break
            choices.append(option.group(2))
        if len(choices) >= 2:
            before = "\n".join(lines[:start]).strip()
            after = "\n".join(lines[start + len(choices) :]).strip()
            return SplitQuestion(before or after, choices)
    return SplitQuestion(text.strip(), None)
