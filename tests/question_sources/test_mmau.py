"""MMAU test-mini parser: every field of the real format, the answer quirks of the released file, and
malformed entries (reported with position, id and field; the other entries still parse)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from sightsound_ops.question_sources import mmau
from tests.question_sources.conftest import load_fixture

MEDIA = Path("/data/mmau")


def entries() -> list[dict[str, Any]]:
    return copy.deepcopy(load_fixture("mmau-test-mini.json"))


def test_fixture_parses_every_field() -> None:
    parsed = mmau.parse(entries(), MEDIA)
    assert parsed.entries == 3 and parsed.problems == []
    first, second, third = parsed.items
    assert first.source_id == "5b0c6a52-0a5e-4c43-9a55-3f6f5a0b1e01"
    assert first.entry_index == 0
    assert first.media_path == MEDIA / "test-mini-audios" / "5b0c6a52-0a5e-4c43-9a55-3f6f5a0b1e01.wav"
    assert first.media_paths[1] == MEDIA / "5b0c6a52-0a5e-4c43-9a55-3f6f5a0b1e01.wav"  # media_dir = the audio folder
    assert first.question == "Which sound can be heard throughout the recording?"
    assert first.choices == ("A steady electronic tone", "Footsteps on gravel", "Heavy rain", "Applause")
    assert first.answer_index == 0
    assert first.category == "sound"  # task: the unit MMAU reports
    assert first.extra == {
        "category": "Information Extraction",
        "sub-category": "Sound-Based Event Recognition",
        "difficulty": "easy",
        "dataset": "sightsound-generated",
        "split": "test-mini",
        "audio_id": "./test-mini-audios/5b0c6a52-0a5e-4c43-9a55-3f6f5a0b1e01.wav",
    }
    # "(B) It rises" names the choice "It rises " (trailing space in the file, stripped here)
    assert second.choices[1] == "It rises" and second.answer_index == 1 and second.category == "music"
    assert second.extra["sub-category"] == "Temporal Reasoning"
    # three choices are kept as three (the database takes 2 to 4)
    assert third.choices == ("Yes, a single speaker", "Yes, several speakers", "No, there is no speech")
    assert third.answer_index == 2 and third.category == "speech" and third.extra["difficulty"] == "hard"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("Heavy rain", 2), ("heavy rain ", 2), ("(C) Heavy rain", 2), ("(c) Heavy rain", 2),
     ("(A)A steady electronic tone", 0)],
)
def test_answer_forms(answer: str, expected: int) -> None:
    data = entries()
    data[0]["answer"] = answer
    assert mmau.parse(data, MEDIA).items[0].answer_index == expected


def _break(field: str, value: Any) -> dict[str, Any]:
    entry = entries()[0]
    if value is KeyError:
        del entry[field]
    else:
        entry[field] = value
    return entry


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("id", KeyError, "is missing"),
        ("audio_id", KeyError, "is missing"),
        ("question", KeyError, "is missing"),
        ("question", "   ", "is empty"),
        ("choices", KeyError, "is missing"),
        ("answer", KeyError, "is missing"),
        ("task", KeyError, "is missing"),
        ("question", 42, "is a JSON number, expected a string"),
        ("answer", "Birdsong", "'Birdsong' is not one of the choices"),
        ("answer", "(B) A steady electronic tone", "its letter (B) names 'Footsteps on gravel'"),
        ("answer", "(F) A steady electronic tone", "its letter (F) names no choice"),
        ("choices", ["Only one"], "has 1 choices; a question needs 2 to 4"),
        ("choices", ["a", "b", "c", "d", "e"], "has 5 choices; a question needs 2 to 4"),
        ("choices", [], "has 0 choices"),
        ("choices", [f"c{i}" for i in range(8)], "has 8 choices"),
        ("choices", "Man, Woman", "is a JSON string, expected a list"),
        ("choices", ["A steady electronic tone", None], "choice 1 is a JSON null, expected a string"),
        ("choices", ["A steady electronic tone", "a steady electronic tone "], "choices 0 and 1 are the same"),
        ("choices", ["A steady electronic tone", " "], "choice 1 is empty"),
        ("audio_id", "../../etc/passwd", "points outside the media folder"),
        ("audio_id", "/abs/path.wav", "points outside the media folder"),
        ("question", "what\x00", "contains a NUL character"),
        ("task", "x" * 65, "longer than 64 characters"),
    ],
)
def test_malformed_entry_is_reported_with_field_and_the_rest_parses(field: str, value: Any, reason: str) -> None:
    data = entries()
    data[1] = _break(field, value)
    parsed = mmau.parse(data, MEDIA)
    assert [i.entry_index for i in parsed.items] == [0, 2]
    (problem,) = parsed.problems
    assert problem.index == 1 and problem.field == field and problem.kind == "malformed"
    assert reason in problem.reason
    assert problem.source_id == (None if field == "id" else "5b0c6a52-0a5e-4c43-9a55-3f6f5a0b1e01")
    assert "entry 1" in problem.describe() and field in problem.describe()


def test_entry_that_is_not_an_object() -> None:
    parsed = mmau.parse([*entries(), ["not", "an", "object"], None], MEDIA)
    assert len(parsed.items) == 3
    assert [(p.index, p.field, p.reason) for p in parsed.problems] == [
        (3, None, "the entry is a JSON array, expected an object"),
        (4, None, "the entry is a JSON null, expected an object"),
    ]
