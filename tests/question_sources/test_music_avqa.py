"""MUSIC-AVQA parser: JSON-encoded type/templ_values, placeholder filling, the ``anser`` key, deleted
questions, and the multiple choice built from the file's answers (deterministic, same template first)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from sightsound_ops.question_sources import music_avqa
from sightsound_ops.question_sources.items import BenchmarkItem
from tests.question_sources.conftest import load_fixture

MEDIA = Path("/data/music-avqa/videos")
YES_NO = {"yes", "no"}


def entries() -> list[dict[str, Any]]:
    return copy.deepcopy(load_fixture("avqa-test.json"))


def by_id(items: list[BenchmarkItem]) -> dict[str, BenchmarkItem]:
    return {i.source_id: i for i in items}


def test_fields_placeholders_and_categories() -> None:
    parsed = music_avqa.parse(entries(), MEDIA)
    assert parsed.entries == 12 and len(parsed.items) == 11
    items = by_id(parsed.items)
    assert items["105"].question == "Is the ukulele in the video always playing?"
    assert items["111"].question == "Is the piano more rhythmic than the violin?"  # two placeholders, in order
    assert items["107"].question == "Where is the first sounding instrument?"
    assert items["101"].question == "How many instruments are sounding in the video?"  # no placeholder
    assert items["101"].category == "Audio/Counting" and items["109"].category == "Audio-Visual/Temporal"
    assert items["101"].media_path == MEDIA / "00000001.mp4" and items["102"].media_path == MEDIA / "00000002.mp4"
    assert items["105"].extra["question_content"] == "Is the <Object> in the video always playing?"
    assert items["105"].extra["templ_values"] == ["ukulele"]
    assert items["105"].extra["type"] == ["Audio-Visual", "Existential"]
    assert "choices_built_by" in items["105"].extra


def test_deleted_question_is_excluded_and_reported() -> None:
    parsed = music_avqa.parse(entries(), MEDIA)
    (problem,) = parsed.problems
    assert (problem.index, problem.source_id, problem.field) == (11, "112", "question_deleted")
    assert problem.kind == "excluded"
    assert "112" not in by_id(parsed.items)


def test_every_answer_maps_to_its_choice() -> None:
    for entry, item in zip(entries()[:11], music_avqa.parse(entries(), MEDIA).items, strict=True):
        assert item.choices[item.answer_index] == entry["anser"]
        assert len(set(item.choices)) == len(item.choices)


def test_yes_no_questions_get_yes_and_no_only() -> None:
    items = by_id(music_avqa.parse(entries(), MEDIA).items)
    for qid, answer in (("105", "yes"), ("106", "no"), ("111", "no")):
        assert items[qid].choices == ("yes", "no") and items[qid].choices[items[qid].answer_index] == answer


def test_distractors_come_from_the_same_template_then_the_same_type() -> None:
    items = by_id(music_avqa.parse(entries(), MEDIA).items)
    two = items["101"]  # template answers: two, three; type Audio/Counting adds one, four
    assert set(two.choices) == {"two", "three", "one", "four"}
    left = items["107"]  # template: left/right, then the type's other answers (never yes/no)
    assert "right" in left.choices and len(left.choices) == 4 and not YES_NO & set(left.choices)
    violin = items["109"]
    assert "guitar" in violin.choices and not YES_NO & set(violin.choices)


def test_choices_are_deterministic_and_do_not_depend_on_entry_order() -> None:
    first = by_id(music_avqa.parse(entries(), MEDIA).items)
    again = by_id(music_avqa.parse(entries(), MEDIA).items)
    reversed_ = by_id(music_avqa.parse(list(reversed(entries())), MEDIA).items)
    for qid, item in first.items():
        assert (item.choices, item.answer_index) == (again[qid].choices, again[qid].answer_index)
        assert (item.choices, item.answer_index) == (reversed_[qid].choices, reversed_[qid].answer_index)


def test_right_answer_position_varies() -> None:
    """The order is shuffled per question, so "always A" is not a winning strategy."""
    items = music_avqa.parse(entries(), MEDIA).items
    assert len({i.answer_index for i in items if len(i.choices) == 4}) > 1


def test_answer_key_spelled_correctly_is_accepted_and_decoded_lists_too() -> None:
    data = entries()
    data[0]["answer"] = data[0].pop("anser")
    data[0]["type"] = ["Audio", "Counting"]
    data[0]["templ_values"] = []
    item = by_id(music_avqa.parse(data, MEDIA).items)["101"]
    assert item.choices[item.answer_index] == "two" and item.category == "Audio/Counting"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("anser", KeyError, "is missing"),
        ("templ_values", "[\"piano\"]", "question_content has 0 placeholder(s) but templ_values has 1 value(s)"),
        ("templ_values", "not a list", "does not encode a list"),
        ("templ_values", "[1, 2]", "is not a list of strings"),
        ("type", "[\"Audio\"]", "is not a pair"),
        ("type", "Audio Counting", "does not encode a list"),
        ("question_content", KeyError, "is missing"),
        ("video_id", "../00000001", "points outside the media folder"),
        ("video_id", 1, "is a JSON number, expected a string"),
        ("question_id", None, "is missing"),
    ],
)
def test_malformed_entry_is_reported(field: str, value: Any, reason: str) -> None:
    data = entries()
    if value is KeyError:
        del data[0][field]
    else:
        data[0][field] = value
    parsed = music_avqa.parse(data, MEDIA)
    malformed = [p for p in parsed.problems if p.kind == "malformed"]
    assert len(malformed) == 1 and malformed[0].index == 0 and malformed[0].field == field
    assert reason in malformed[0].reason
    assert len(parsed.items) == 10


def test_answer_with_no_possible_distractor_is_reported() -> None:
    lone = {**entries()[8], "question_id": 999, "type": "[\"Visual\", \"Location\"]", "anser": "left"}
    parsed = music_avqa.parse([lone], MEDIA)
    assert parsed.items == []
    (problem,) = parsed.problems
    assert problem.field == "anser" and "no other answer" in problem.reason
