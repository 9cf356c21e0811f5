"""MMAR parser and import: every field of the real format (the JSON array and the later JSON Lines file), its
quirks (choices padded with empty strings, trailing spaces), malformed entries reported with their field, and an
import against PostgreSQL making audio-only clips and test questions by modality."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from sightsound.config import Settings
from sightsound.db.models import Clip, Question, Split
from sightsound.db.session import session_scope
from sightsound.media.store import sha256_file
from sightsound_ops.question_sources import mmar
from sightsound_ops.question_sources.importer import import_benchmark
from sightsound_ops.question_sources.items import BenchmarkFormatError, load_entries
from sightsound_ops.question_sources.registry import get_benchmark
from tests.question_sources.conftest import load_fixture

MEDIA = Path("/data/mmar")
FIRST_ID = "sSgenTone001_00-00-00_00-00-02"


def entries() -> list[dict[str, Any]]:
    return copy.deepcopy(load_fixture("MMAR-meta.json"))


def test_fixture_parses_every_field() -> None:
    parsed = mmar.parse(entries(), MEDIA)
    assert parsed.entries == 3 and parsed.problems == []
    first, second, third = parsed.items
    assert first.source_id == FIRST_ID and first.entry_index == 0
    assert first.media_path == MEDIA / "audio" / f"{FIRST_ID}.wav"
    assert first.media_paths[1] == MEDIA / f"{FIRST_ID}.wav"  # media_dir = the audio folder itself
    assert first.question == "How many times does the bell ring"
    assert first.choices == ("Once", "Twice", "Three times", "Four times") and first.answer_index == 1
    assert first.category == "sound"  # modality: the unit MMAR reports
    assert first.extra == {
        "category": "Perception Layer", "sub-category": "Counting and Statistics", "source": "youtube",
        "url": "https://www.youtube.com/watch?v=sSgenTone001", "timestamp": "00:00:00,00:00:02",
        "audio_path": f"./audio/{FIRST_ID}.wav",
    }  # language null: left out
    assert second.choices == ("Indoors", "Outdoors") and second.answer_index == 1
    assert second.category == "mix-sound-speech" and second.extra["language"] == "en"
    # ["Higher ", "Lower", ""]: the padding dropped, the trailing space stripped, the answer "Higher " found
    assert third.choices == ("Higher", "Lower") and third.answer_index == 0 and third.category == "music"


def test_registered_as_an_audio_benchmark() -> None:
    spec = get_benchmark("mmar")
    assert spec.media == "audio" and spec.media_field == "audio_path" and spec.parse is mmar.parse


def test_the_json_lines_file_reads_as_the_json_array(mmar_dir: Path) -> None:
    as_lines = load_entries(mmar_dir / "MMAR-meta.jsonl")
    assert as_lines == load_entries(mmar_dir / "MMAR-meta.json")
    # The JSONL's reasoning annotations are extra fields: ignored.
    as_lines[0] |= {"thinking": "…", "cue": ["bell"], "rubric": [{"name": "x"}]}
    assert mmar.parse(as_lines, MEDIA).items[0] == mmar.parse(entries(), MEDIA).items[0]


def test_a_broken_json_lines_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "MMAR-meta.jsonl"
    path.write_text('{"id": "a"}\n{"id": \n')
    with pytest.raises(BenchmarkFormatError, match=r"line 2, is not valid JSON"):
        load_entries(path)
    path.write_text("\n\n")
    with pytest.raises(BenchmarkFormatError, match="holds no JSON lines"):
        load_entries(path)


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
        ("audio_path", KeyError, "is missing"),
        ("question", KeyError, "is missing"),
        ("question", "  ", "is empty"),
        ("choices", KeyError, "is missing"),
        ("answer", KeyError, "is missing"),
        ("modality", KeyError, "is missing"),
        ("modality", None, "is a JSON null, expected a string"),
        ("answer", "Five times", "'Five times' is not one of the choices"),
        ("answer", 1, "is a JSON number, expected a string"),
        ("choices", ["Once", "", "Twice"], "choice 1 is empty"),  # only trailing padding is dropped
        ("choices", ["Once", ""], "has 1 choices; a question needs 2 to 4"),
        ("choices", [f"c{i}" for i in range(6)], "has 6 choices; a question needs 2 to 4"),  # as in MMAR, once
        ("choices", "Once, Twice", "is a JSON string, expected a list"),
        ("choices", ["Twice", "twice "], "choices 0 and 1 are the same"),
        ("audio_path", "../../etc/passwd", "points outside the media folder"),
        ("modality", "m" * 65, "longer than 64 characters"),
    ],
)
def test_malformed_entry_is_reported_with_field_and_the_rest_parses(field: str, value: Any, reason: str) -> None:
    data = entries()
    data[1] = _break(field, value)
    parsed = mmar.parse(data, MEDIA)
    assert [i.entry_index for i in parsed.items] == [0, 2]
    (problem,) = parsed.problems
    assert problem.index == 1 and problem.field == field and reason in problem.reason
    assert problem.source_id == (None if field == "id" else FIRST_ID)
    assert "entry 1" in problem.describe()


@pytest.fixture
def clean(settings: Settings, mmar_dir: Path) -> Iterator[None]:
    hashes = [sha256_file(p) for p in (mmar_dir / "audio").glob("*.wav")]
    with session_scope(settings.database_url) as session:
        session.execute(delete(Question).where(Question.source == mmar.NAME))
        session.execute(delete(Clip).where(Clip.content_hash.in_(hashes)))
    yield


@pytest.mark.parametrize("file_name", ["MMAR-meta.json", "MMAR-meta.jsonl"])
def test_import_makes_audio_only_clips_and_test_questions(
    settings: Settings, mmar_dir: Path, clean: None, file_name: str
) -> None:
    report = import_benchmark(settings, "mmar", mmar_dir / file_name, mmar_dir)
    assert report.problems == [] and (report.imported, report.clips_created) == (3, 3)
    with session_scope(settings.database_url) as session:
        stored = {q.source_ref: (q.split, q.category, q.choices, q.answer_index, q.clip.frame_urls, q.clip.has_audio)
                  for q in session.scalars(select(Question).where(Question.source == "mmar"))}
    assert stored[FIRST_ID] == (Split.test, "sound", ["Once", "Twice", "Three times", "Four times"], 1, [], True)
    assert stored["sSgenMusic03_00-01-00_00-01-02"][2:4] == (["Higher", "Lower"], 0)
    again = import_benchmark(settings, "mmar", mmar_dir / file_name, mmar_dir)
    assert (again.imported, again.already_present) == (0, 3)
