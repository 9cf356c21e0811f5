"""What the student reads and what it learns to write, built from a question and a teacher trace (pure).

The student's prompt asks for the shape the rewards check; the target of a ``cot`` or ``cot-unverified``
record is the teacher's reasoning and answer in that shape (the ``<claims>`` block, which existed for the
verifier, is left out), and the target of a ``label-only`` or ``gold-label`` record is the answer alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sightsound.contracts.common import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    CHOICE_LETTERS,
    CLAIMS_OPEN,
    THINK_CLOSE,
    THINK_OPEN,
)
from sightsound.contracts.training import REASONING_VARIANTS

#: Bump when the student prompt's wording changes (recorded in every dataset's provenance).
STUDENT_PROMPT_VERSION = "student-v1"

_THINK = re.compile(re.escape(THINK_OPEN) + r"(.*?)" + re.escape(THINK_CLOSE), re.DOTALL)


def student_prompt(question: str, choices: Sequence[str], variant: str) -> str:
    """The user text (after the audio) for the student.

    >>> print(student_prompt("What is heard?", ["Speech", "A tone", "A dog", "Music"], "label-only"))
    What is heard?
    A. Speech
    B. A tone
    C. A dog
    D. Music
    Answer with the letter of the best choice in <answer></answer>.
    """
    lines = [question.strip(), *(f"{CHOICE_LETTERS[i]}. {c}" for i, c in enumerate(choices))]
    if variant in REASONING_VARIANTS:
        lines.append(
            f"Think about what is heard inside {THINK_OPEN}{THINK_CLOSE}, then give the letter of the best "
            f"choice in {ANSWER_OPEN}{ANSWER_CLOSE}."
        )
    else:
        lines.append(f"Answer with the letter of the best choice in {ANSWER_OPEN}{ANSWER_CLOSE}.")
    return "\n".join(lines)


def reasoning_of(trace: str) -> str | None:
    """The reasoning of a teacher trace: its ``<think>`` block, else the text before ``<claims>``/``<answer>``.

    >>> reasoning_of("<think> A man speaks. </think><claims>x</claims><answer>A</answer>")
    'A man speaks.'
    >>> reasoning_of("<answer>A</answer>") is None
    True
    """
    found = _THINK.search(trace)
    if found:
        text = found.group(1).strip()
    else:
        cut = min((i for i in (trace.find(CLAIMS_OPEN), trace.find(ANSWER_OPEN)) if i >= 0), default=len(trace))
        text = trace[:cut].replace(THINK_OPEN, "").strip()
    return text or None


def student_target(answer_index: int, reasoning: str | None = None) -> str:
    """``<think>reasoning</think><answer>X</answer>``, or ``<answer>X</answer>`` without reasoning.

    >>> student_target(1, "A steady beep.")
    '<think>A steady beep.</think><answer>B</answer>'
    >>> student_target(0)
    '<answer>A</answer>'
    """
    answer = f"{ANSWER_OPEN}{CHOICE_LETTERS[answer_index]}{ANSWER_CLOSE}"
    return answer if reasoning is None else f"{THINK_OPEN}{reasoning}{THINK_CLOSE}{answer}"
