"""The versioned prompt."""

from __future__ import annotations

from sightsound.contracts.common import ANSWER_OPEN, CLAIMS_OPEN, THINK_OPEN
from sightsound_teacher.parsing import parse_answer
from sightsound_teacher.prompt import (
    IMAGE_PLACEHOLDER,
    PROMPT_VERSION,
    SYSTEM_TEXT,
    build_messages,
    flatten_messages,
)


def test_version_and_format_are_taught() -> None:
    assert PROMPT_VERSION == "audio-cot-v1"
    for tag in (THINK_OPEN, CLAIMS_OPEN, ANSWER_OPEN, "present=yes"):
        assert tag in SYSTEM_TEXT


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
