"""The versioned prompt."""

from __future__ import annotations

import re

from sightsound.answers.tagged import parse_answer
from sightsound.contracts.claim_language import CLAIM_FORMAT_VERSION, CLAIM_KEYS_V2, is_valid_claim_line
from sightsound.contracts.common import ANSWER_OPEN, CLAIMS_CLOSE, CLAIMS_OPEN, THINK_OPEN
from sightsound_teacher.prompt import (
    IMAGE_PLACEHOLDER,
    PROMPT_VERSION,
    PROMPT_VERSION_TAGS,
    PROMPT_VERSION_TAGS_SCORED,
    SYSTEM_TEXT,
    SYSTEM_TEXT_TAGS,
    TAGS_EXAMPLE_OUTPUT,
    build_messages,
    flatten_messages,
)
from sightsound_teacher.regex_format import format_regex


def test_version_and_format_are_taught() -> None:
    assert CLAIM_FORMAT_VERSION == 2 and PROMPT_VERSION.endswith(f"-claims{CLAIM_FORMAT_VERSION}")
    assert PROMPT_VERSION_TAGS == PROMPT_VERSION + "-tags"
    assert PROMPT_VERSION_TAGS_SCORED == PROMPT_VERSION + "-tags-scored"
    for tag in (THINK_OPEN, CLAIMS_OPEN, ANSWER_OPEN, "present=yes", "count>=3", "hedged=yes"):
        assert tag in SYSTEM_TEXT
    for key in CLAIM_KEYS_V2:  # every key of claim language v2, in both system texts
        assert f"  {key}: " in SYSTEM_TEXT or key == "version", key
        assert key in SYSTEM_TEXT_TAGS


def example_claim_lines(text: str) -> list[str]:
    return text.split(CLAIMS_OPEN + "\n")[-1].split(CLAIMS_CLOSE)[0].splitlines()


def test_few_shot_claims_are_valid_v2_lines_of_several_kinds() -> None:
    for output in (SYSTEM_TEXT, TAGS_EXAMPLE_OUTPUT):
        lines = example_claim_lines(output)
        assert len(lines) >= 2 and all(is_valid_claim_line(line) for line in lines), lines
        assert re.fullmatch(format_regex(), output[output.rindex(THINK_OPEN) :]), output
    assert any("hedged=yes" in line or "window=" in line for line in example_claim_lines(SYSTEM_TEXT))


def test_few_shot_example_parses() -> None:
    example = SYSTEM_TEXT[SYSTEM_TEXT.index("Example.") :]
    choices = ["A crowd cheering", "A man giving a speech", "Instrumental music", "Silence"]
    assert parse_answer(example, choices) == (1, None)


def test_messages_carry_frames_and_lettered_choices() -> None:
    messages = build_messages("What is heard?", ["Speech", "Music", "A dog", "Silence"], 3)
    user = messages[1]["content"]
    assert sum(part["type"] == "image" for part in user) == 3
    text = user[-1]["text"]
    assert "A. Speech" in text and "D. Silence" in text and "What is heard?" in text
    flat = flatten_messages(messages)
    assert flat[1]["content"].count(IMAGE_PLACEHOLDER) == 3
    assert isinstance(flat[0]["content"], str)
