"""Validation of the question that comes with an upload (pure: no I/O)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sightsound.contracts.text import text_problem
from sightsound.db.catalog import question_fingerprint
from sightsound.db.models import Split
from sightsound.web import ProblemError


@dataclass(frozen=True)
class QuestionIn:
    text: str
    choices: tuple[str, str, str, str]
    answer_index: int | None
    category: str | None
    split: Split
    source: str | None

    @property
    def fingerprint(self) -> str:
        """Same text, choices and answer → same question (uploads of it are deduplicated)."""
        return question_fingerprint(self.text, self.choices, self.answer_index)


def _bad(detail: str) -> ProblemError:
    return ProblemError(422, detail, kind="invalid-question")


def parse_choices(raw: list[str]) -> list[str]:
    """Choices come as repeated form fields, or as one field holding a JSON array.

    >>> parse_choices(['["a", "b", "c", "d"]'])
    ['a', 'b', 'c', 'd']
    >>> parse_choices(["a", "b", "c", "d"])
    ['a', 'b', 'c', 'd']
    """
    if len(raw) == 1 and raw[0].lstrip().startswith("["):
        try:
            parsed = json.loads(raw[0])
        except json.JSONDecodeError as exc:
            raise _bad(f"choices is not a valid JSON array: {exc.msg}") from exc
        if not isinstance(parsed, list) or not all(isinstance(c, str) for c in parsed):
            raise _bad("choices must be a JSON array of strings")
        return parsed
    return raw


def _check_texts(*fields: tuple[str, str | None]) -> None:
    """Refuse NUL and other control characters (before the upload is stored: PostgreSQL refuses NUL)."""
    for field, value in fields:
        problem = text_problem(field, value) if value else None
        if problem:
            raise _bad(problem)


def build_question(
    text: str,
    raw_choices: list[str],
    answer_index: int | None,
    category: str | None,
    split: str,
    source: str | None,
) -> QuestionIn:
    _check_texts(("question", text), ("category", category), ("source", source), ("split", split))
    text = text.strip()
    if not text:
        raise _bad("question must not be empty")
    if len(text) > 2000:
        raise _bad("question is longer than 2000 characters")
    choices = [c.strip() for c in parse_choices(raw_choices)]
    _check_texts(*(("choices", c) for c in choices))
    if len(choices) != 4:
        raise _bad(f"a question needs exactly 4 choices, got {len(choices)}")
    if any(not c for c in choices):
        raise _bad("choices must not be empty")
    if any(len(c) > 500 for c in choices):
        raise _bad("each choice must be at most 500 characters")
    if len({c.casefold() for c in choices}) != 4:
        raise _bad("the 4 choices must be different from each other")
    if answer_index is not None and not 0 <= answer_index <= 3:
        raise _bad(f"answer_index must be between 0 and 3 (the index of the right choice), got {answer_index}")
    try:
        split_value = Split(split)
    except ValueError as exc:
        raise _bad(f"split must be one of {', '.join(s.value for s in Split)}, got {split!r}") from exc
    return QuestionIn(
        text=text,
        choices=(choices[0], choices[1], choices[2], choices[3]),
        answer_index=answer_index,
        category=(category or None) and category.strip()[:64],
        split=split_value,
        source=(source or None) and source.strip()[:128],
    )
