"""AVQA parser: fields of train_qa.json / val_qa.json, index answers, malformed entries."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from sightsound_ops.question_sources import avqa
from tests.question_sources.conftest import load_fixture

MEDIA = Path("/data/avqa/videos")


def entries() -> list[dict[str, Any]]:
    return copy.deepcopy(load_fixture("val_qa.json"))


def test_fixture_parses_every_field() -> None:
    parsed = avqa.parse(entries(), MEDIA)
    assert parsed.entries == 3 and parsed.problems == []
    first, second, third = parsed.items
    assert first.source_id == "501" and first.media_path == MEDIA / "abcDEF12345_000030.mp4"
    assert first.question == "What is making the sound in the video?"
    assert first.choices == ("a car horn", "a whistle", "a siren", "a bell")
    assert first.answer_index == 1 and first.choices[first.answer_index] == "a whistle"
    assert first.category == "Come From"
    assert first.extra == {"video_name": "abcDEF12345_000030", "video_id": 7001, "question_relation": "Both"}
    assert second.answer_index == 1  # "1": the reference loader reads answers with int()
    assert second.media_path == first.media_path  # two questions about one video
    assert third.media_path == MEDIA / "xyz-_98765a_000010.mp4" and third.answer_index == 3
    assert (third.category, third.extra["question_relation"]) == ("Where", "Sound")


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("answer", 4, "index 4 is out of range for 4 choices (0-3)"),
        ("answer", -1, "index -1 is out of range"),
        ("answer", True, "is a JSON boolean, expected an integer"),
        ("answer", "one", "is a JSON string, expected an integer"),
        ("answer", None, "is a JSON null"),
        ("multi_choice", ["a car horn", None, "a siren", "a bell"], "choice 1 is a JSON null"),
        ("multi_choice", ["a car horn"], "has 1 choices"),
        ("multi_choice", None, "is missing"),
        ("question_type", None, "is a JSON null, expected a string"),
        ("question_text", "", "is empty"),
        ("video_name", "../x", "points outside the media folder"),
        ("video_name", "sub/x", "is not a plain file name"),
        ("id", None, "is missing"),
    ],
)
def test_malformed_entry_is_reported(field: str, value: Any, reason: str) -> None:
    data = entries()
    data[0][field] = value
    parsed = avqa.parse(data, MEDIA)
    assert [i.source_id for i in parsed.items] == ["502", "503"]
    (problem,) = parsed.problems
    assert (problem.index, problem.field, problem.kind) == (0, field, "malformed")
    assert reason in problem.reason


def test_missing_question_relation_is_tolerated() -> None:
    data = entries()
    del data[0]["question_relation"]
    item = avqa.parse(data, MEDIA).items[0]
    assert "question_relation" not in item.extra and item.category == "Come From"
