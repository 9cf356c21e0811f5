"""Reading answers strictly and leniently, on a table of tricky outputs (issue 11).

Strict: only one well-formed ``<answer>X</answer>`` (an upper-case letter of one of the choices) counts.
Lenient: also a lone or stated letter, or exactly one choice's text named as a whole phrase; never inside
``<think>``, never a choice text inside a longer word or phrase, never a hedge.
"""

from __future__ import annotations

import pytest

from sightsound.answers import parse_answer, strict_answer

YES_NO = ["yes", "no"]
FOUR = ["A dog", "A dog barking", "Speech", "Rain"]

# (text, choices, lenient index, strict index)
TABLE: list[tuple[str, list[str], int | None, int | None]] = [
    # well-formed
    ("<think>a bark</think><answer>B</answer>", FOUR, 1, 1),
    ("<answer> C </answer>", FOUR, 2, 2),
    # hedges are not answers, even when a choice's text is in them
    ("I cannot know for sure.", YES_NO, None, None),
    ("I'm not sure, maybe yes.", YES_NO, None, None),
    ("Maybe no.", YES_NO, None, None),
    ("It is hard to tell; perhaps speech.", FOUR, None, None),
    # answers inside <think> are reasoning, not the answer
    ("<think>I hear a violin and a piano.</think>", YES_NO, None, None),
    ("<think>It is rain.</think>", FOUR, None, None),
    ("<think>I would say yes</think> hmm", YES_NO, None, None),
    ("<think>unclosed reasoning says yes", YES_NO, None, None),
    ("<think>rain? no, speech</think><answer>C</answer>", FOUR, 2, 2),
    # two answers: no answer
    ("<answer>A</answer><answer>B</answer>", FOUR, None, None),
    ("yes or no", YES_NO, None, None),
    # lower case: a tag's lower-case letter is lenient only; a bare lower-case "a" is an article
    ("<answer>b</answer>", FOUR, 1, None),
    ("the answer is a dog", FOUR, 0, None),
    # a choice text inside a longer word or phrase
    ("I know it.", YES_NO, None, None),
    ("There is nothing there.", YES_NO, None, None),
    ("It is a dog barking loudly.", FOUR, 1, None),
    ("Speechless.", FOUR, None, None),
    ("It is not rain.", FOUR, None, None),
    ("No.", YES_NO, 1, None),
    ("Yes, a person speaks.", YES_NO, 0, None),
    # letters outside tags, and a letter not among the choices
    ("Answer: B", FOUR, 1, None),
    ("<answer>D</answer>", YES_NO, None, None),
    ("<answer>yes</answer>", YES_NO, 0, None),
]


@pytest.mark.parametrize(("text", "choices", "lenient", "strict"), TABLE)
def test_tricky_outputs_read_strictly_and_leniently(text: str, choices: list[str], lenient: int | None,
                                                    strict: int | None) -> None:
    parsed = parse_answer(text, choices)
    assert parsed.index == lenient, (text, parsed)
    assert strict_answer(text, choices) == strict, text
    if strict is not None:
        assert parsed.how == "tag" and parsed.index == strict
    if lenient is None:
        assert parsed.error, text


def test_an_unreadable_answer_says_why() -> None:
    assert "hedge" in (parse_answer("I cannot know for sure.", YES_NO).error or "")
    assert "think" in (parse_answer("<think>yes</think>", YES_NO).error or "")
