"""import_benchmark against PostgreSQL and a real media store: clips and test questions written once,
audio-only clips for MMAU, nothing for the teacher, every skipped entry reported, on_error="fail"
writing nothing, re-imports writing nothing new."""

from __future__ import annotations

import copy
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import soundfile
from sqlalchemy import delete, func, select

from sightsound.config import Settings
from sightsound.db.models import Clip, Job, Question, Split
from sightsound.db.session import session_scope
from sightsound.media.store import read_url, sha256_file
from sightsound_devdata.clipgen import VideoSpec, make_clip
from sightsound_ops.question_sources import importer
from sightsound_ops.question_sources.importer import import_benchmark
from sightsound_ops.question_sources.report import ImportFailed
from tests.question_sources.conftest import load_fixture, write_json

SOURCES = ("mmau-test-mini", "music-avqa", "avqa")


@pytest.fixture(autouse=True)
def clean(settings: Settings, mmau_dir: Path, music_avqa_dir: Path, avqa_dir: Path) -> Iterator[None]:
    """Each test starts without this module's clips and questions (the database is per session)."""
    media = [p for d in (mmau_dir, music_avqa_dir, avqa_dir) for p in d.rglob("*") if p.suffix in (".wav", ".mp4")]
    hashes = [sha256_file(p) for p in media]
    with session_scope(settings.database_url) as session:
        session.execute(delete(Question).where(Question.source.in_(SOURCES)))
        session.execute(delete(Clip).where(Clip.content_hash.in_(hashes)))
    yield


def questions(settings: Settings, source: str) -> list[Question]:
    with session_scope(settings.database_url) as session:
        rows = session.scalars(select(Question).where(Question.source == source).order_by(Question.source_ref)).all()
        for q in rows:
            _ = q.clip  # load while the session is open
        return list(rows)


def counts(settings: Settings) -> tuple[int, int]:
    with session_scope(settings.database_url) as session:
        n_questions = session.scalar(select(func.count()).select_from(Question).where(Question.source.in_(SOURCES)))
        n_clips = session.scalar(
            select(func.count(func.distinct(Question.clip_id))).where(Question.source.in_(SOURCES))
        )
    return int(n_questions or 0), int(n_clips or 0)


def media_snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*") if p.is_file()}


def mmau_copy(mmau_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "mmau"
    shutil.copytree(mmau_dir, target)
    return target


# --- happy paths -----------------------------------------------------------------------------------


def test_mmau_import_makes_audio_only_clips_and_test_questions(settings: Settings, mmau_dir: Path) -> None:
    seen: list[tuple[int, int]] = []
    report = import_benchmark(
        settings, "mmau-test-mini", mmau_dir / "mmau-test-mini.json", mmau_dir, progress=lambda *p: seen.append(p)
    )
    assert report.problems == [] and (report.imported, report.already_present) == (3, 0)
    assert (report.clips_created, report.clips_reused, report.entries, report.selected) == (3, 0, 3, 3)
    assert seen == [(1, 3), (2, 3), (3, 3)]

    stored = questions(settings, "mmau-test-mini")
    entries = {e["id"]: e for e in load_fixture("mmau-test-mini.json")}
    assert [q.source_ref for q in stored] == sorted(entries)
    for q in stored:
        entry = entries[q.source_ref]
        assert q.split == Split.test and q.category == entry["task"] and q.text == entry["question"]
        assert q.choices == [c.strip() for c in entry["choices"]]
        assert q.choices[q.answer_index].casefold() in entry["answer"].casefold()
        assert q.extra is not None and q.extra["sub-category"] == entry["sub-category"]
        clip = q.clip
        assert (clip.width, clip.height, clip.fps, clip.frame_urls) == (None, None, None, [])
        assert clip.has_audio and clip.duration_s == pytest.approx(1.5, abs=0.01)
        wav = mmau_dir / "test-mini-audios" / Path(entry["audio_id"]).name
        assert clip.content_hash == sha256_file(wav) and read_url(clip.media_url) == wav.read_bytes()
        assert clip.audio_url is not None
        info = soundfile.info(io.BytesIO(read_url(clip.audio_url)))
        assert (info.samplerate, info.channels) == (settings.audio_sample_rate, 1)
    with session_scope(settings.database_url) as session:  # evaluation items: no job, so never sent to the teacher
        jobs = select(func.count()).select_from(Job).where(Job.question_id.in_([q.id for q in stored]))
        assert session.scalar(jobs) == 0


def test_reimport_writes_nothing_new(settings: Settings, mmau_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = import_benchmark(settings, "mmau-test-mini", mmau_dir / "mmau-test-mini.json", mmau_dir)
    assert first.imported == 3
    before_rows, before_media = counts(settings), media_snapshot(settings.media_root)

    def not_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("media already in the database were decoded again")

    monkeypatch.setattr(importer, "probe_audio", not_again)
    monkeypatch.setattr(importer, "ingest_audio", not_again)
    again = import_benchmark(settings, "mmau-test-mini", mmau_dir / "mmau-test-mini.json", mmau_dir)
    assert (again.imported, again.already_present, again.clips_created, again.clips_reused) == (0, 3, 0, 3)
    assert again.problems == []
    assert counts(settings) == before_rows == (3, 3)
    assert media_snapshot(settings.media_root) == before_media


def test_music_avqa_import_dedupes_videos_and_reports_deleted(settings: Settings, music_avqa_dir: Path) -> None:
    fixture = Path(__file__).parent / "fixtures" / "avqa-test.json"
    report = import_benchmark(settings, "music-avqa", fixture, music_avqa_dir)
    assert (report.imported, report.clips_created) == (11, 2)  # 11 questions about 2 videos
    assert [(p.index, p.kind) for p in report.problems] == [(11, "excluded")]
    assert report.errors == []
    stored = {q.source_ref: q for q in questions(settings, "music-avqa")}
    assert len(stored) == 11 and "112" not in stored
    yes_no = stored["105"]
    assert yes_no.text == "Is the ukulele in the video always playing?" and yes_no.choices == ["yes", "no"]
    assert yes_no.choices[yes_no.answer_index] == "yes" and yes_no.category == "Audio-Visual/Existential"
    counting = stored["101"]
    assert len(counting.choices) == 4 and counting.choices[counting.answer_index] == "two"
    clip = counting.clip
    assert (clip.width, clip.height) == (96, 64) and len(clip.frame_urls or []) == settings.frames_per_clip
    assert clip.audio_url is not None and clip.filename == "00000001.mp4"


def test_avqa_import(settings: Settings, avqa_dir: Path) -> None:
    fixture = Path(__file__).parent / "fixtures" / "val_qa.json"
    report = import_benchmark(settings, "avqa", fixture, avqa_dir, split="validation")
    assert (report.imported, report.clips_created, report.problems) == (3, 2, [])
    stored = {q.source_ref: q for q in questions(settings, "avqa")}
    assert stored["501"].choices[stored["501"].answer_index] == "a whistle"
    assert stored["502"].answer_index == 1 and stored["503"].category == "Where"
    assert {q.split for q in stored.values()} == {Split.validation}
    assert stored["501"].clip_id == stored["502"].clip_id != stored["503"].clip_id


def test_limit_then_full_import_builds_the_same_choices(settings: Settings, music_avqa_dir: Path) -> None:
    fixture = Path(__file__).parent / "fixtures" / "avqa-test.json"
    partial = import_benchmark(settings, "music-avqa", fixture, music_avqa_dir, limit=3)
    assert (partial.selected, partial.imported, partial.problems) == (3, 3, [])  # the deleted entry is after the cut
    full = import_benchmark(settings, "music-avqa", fixture, music_avqa_dir)
    assert (full.imported, full.already_present) == (8, 3)  # choices do not depend on limit: no duplicates
    assert counts(settings)[0] == 11


# --- entries that are not imported -----------------------------------------------------------------


def test_missing_media_is_reported_and_the_rest_imported(settings: Settings, mmau_dir: Path, tmp_path: Path) -> None:
    root = mmau_copy(mmau_dir, tmp_path)
    gone = load_fixture("mmau-test-mini.json")[1]
    (root / "test-mini-audios" / Path(gone["audio_id"]).name).unlink()
    report = import_benchmark(settings, "mmau-test-mini", root / "mmau-test-mini.json", root)
    assert report.imported == 2
    (problem,) = report.problems
    assert (problem.index, problem.source_id, problem.field) == (1, gone["id"], "audio_id")
    assert problem.kind == "missing_media"
    assert "no media file at" in problem.reason and Path(gone["audio_id"]).name in problem.reason


def test_media_dir_may_be_the_audio_folder_itself(settings: Settings, mmau_dir: Path) -> None:
    audio_folder = mmau_dir / "test-mini-audios"
    report = import_benchmark(settings, "mmau-test-mini", mmau_dir / "mmau-test-mini.json", audio_folder)
    assert (report.imported, report.problems) == (3, [])


def test_bad_media_is_reported(settings: Settings, mmau_dir: Path, tmp_path: Path) -> None:
    root = mmau_copy(mmau_dir, tmp_path)
    bad = load_fixture("mmau-test-mini.json")[2]
    (root / "test-mini-audios" / Path(bad["audio_id"]).name).write_text("not audio at all\n" * 10)
    report = import_benchmark(settings, "mmau-test-mini", root / "mmau-test-mini.json", root)
    assert report.imported == 2
    (problem,) = report.problems
    assert (problem.index, problem.kind, problem.field) == (2, "bad_media", "audio_id")
    assert "not a decodable audio file" in problem.reason


def test_video_without_audio_is_bad_media(settings: Settings, avqa_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "avqa"
    shutil.copytree(avqa_dir, root)
    make_clip(root / "xyz-_98765a_000010.mp4", VideoSpec(width=96, height=64, fps=10), None, 1.0)
    report = import_benchmark(settings, "avqa", Path(__file__).parent / "fixtures" / "val_qa.json", root)
    assert report.imported == 2
    (problem,) = report.problems
    assert (problem.source_id, problem.kind) == ("503", "bad_media") and "no audio track" in problem.reason


def _broken_mmau(mmau_dir: Path, tmp_path: Path) -> Path:
    data: list[dict[str, Any]] = copy.deepcopy(load_fixture("mmau-test-mini.json"))
    data[1]["answer"] = "It goes sideways"
    return write_json(tmp_path / "mmau-test-mini.json", data)


def test_malformed_entry_is_skipped_and_reported(settings: Settings, mmau_dir: Path, tmp_path: Path) -> None:
    report = import_benchmark(settings, "mmau-test-mini", _broken_mmau(mmau_dir, tmp_path), mmau_dir)
    assert report.imported == 2 and report.count("malformed") == 1
    assert report.problems[0].field == "answer" and "'It goes sideways' is not one of the choices" in report.summary()


@pytest.mark.parametrize("problem", ["malformed", "missing_media", "bad_media"])
def test_on_error_fail_writes_nothing(settings: Settings, mmau_dir: Path, tmp_path: Path, problem: str) -> None:
    root = mmau_copy(mmau_dir, tmp_path)
    json_path = root / "mmau-test-mini.json"
    audio = root / "test-mini-audios" / Path(load_fixture("mmau-test-mini.json")[2]["audio_id"]).name
    if problem == "malformed":
        json_path = _broken_mmau(mmau_dir, tmp_path)
    elif problem == "missing_media":
        audio.unlink()
    else:
        audio.write_bytes(audio.read_bytes()[:2000])  # cut short: truncated WAV
    with pytest.raises(ImportFailed, match="nothing was written to the database") as err:
        import_benchmark(settings, "mmau-test-mini", json_path, root, on_error="fail")
    assert err.value.report is not None and [p.kind for p in err.value.report.errors] == [problem]
    assert counts(settings) == (0, 0)


def test_changed_benchmark_file_is_a_conflict_and_the_stored_question_is_kept(
    settings: Settings, mmau_dir: Path, tmp_path: Path
) -> None:
    import_benchmark(settings, "mmau-test-mini", mmau_dir / "mmau-test-mini.json", mmau_dir)
    data = copy.deepcopy(load_fixture("mmau-test-mini.json"))
    data[0]["answer"] = "Heavy rain"  # a revised answer in a newer release of the file
    report = import_benchmark(settings, "mmau-test-mini", write_json(tmp_path / "v2.json", data), mmau_dir)
    assert (report.imported, report.already_present) == (0, 2)
    (problem,) = report.problems
    assert (problem.index, problem.kind) == (0, "conflict") and "stored question is kept" in problem.reason
    kept = {q.source_ref: q for q in questions(settings, "mmau-test-mini")}[data[0]["id"]]
    assert kept.choices[kept.answer_index] == "A steady electronic tone"
    assert counts(settings)[0] == 3


def test_same_questions_under_another_split_are_conflicts(settings: Settings, avqa_dir: Path) -> None:
    fixture = Path(__file__).parent / "fixtures" / "val_qa.json"
    import_benchmark(settings, "avqa", fixture, avqa_dir)
    report = import_benchmark(settings, "avqa", fixture, avqa_dir, split="train")
    assert report.imported == 0 and report.count("conflict") == 3
    assert "split test" in report.problems[0].reason
    assert {q.split for q in questions(settings, "avqa")} == {Split.test}


def test_repeated_entry_is_reported_as_duplicate(settings: Settings, avqa_dir: Path, tmp_path: Path) -> None:
    data = load_fixture("val_qa.json")
    report = import_benchmark(settings, "avqa", write_json(tmp_path / "q.json", [*data, data[0]]), avqa_dir)
    assert report.imported == 3
    (problem,) = report.problems
    assert (problem.index, problem.kind) == (3, "duplicate") and "repeats entry 0" in problem.reason


# --- the import cannot run ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"benchmark": "mmau"}, "unknown benchmark 'mmau'; known: avqa, mmar, mmau-test-mini, music-avqa"),
        ({"split": "dev"}, "split must be one of train, validation, test, got 'dev'"),
        ({"json_path": "missing.json"}, "is not a file: pass the benchmark's question file (mmau-test-mini.json)"),
        ({"media_dir": "nowhere"}, "is not a folder: pass the folder holding the media"),
        ({"json_text": "[{oops"}, "is not valid JSON"),
        ({"json_text": '{"questions": []}'}, "holds a JSON object (keys: questions), expected a JSON array"),
    ],
)
def test_import_that_cannot_run_says_why(
    settings: Settings, mmau_dir: Path, tmp_path: Path, change: dict[str, str], message: str
) -> None:
    args: dict[str, Any] = {"benchmark": "mmau-test-mini", "json_path": mmau_dir / "mmau-test-mini.json",
                            "media_dir": mmau_dir, "split": "test"}
    if "json_text" in change:
        args["json_path"] = tmp_path / "q.json"
        args["json_path"].write_text(change.pop("json_text"))
    for key, value in change.items():
        args[key] = tmp_path / value if key in ("json_path", "media_dir") else value
    with pytest.raises(ImportFailed) as err:
        import_benchmark(settings, args["benchmark"], args["json_path"], args["media_dir"], split=args["split"])
    assert message in str(err.value)
    assert counts(settings) == (0, 0)


def test_conflict_with_on_error_fail_rolls_back(settings: Settings, avqa_dir: Path, tmp_path: Path) -> None:
    data = load_fixture("val_qa.json")
    import_benchmark(settings, "avqa", write_json(tmp_path / "v1.json", data[:1]), avqa_dir)
    changed = copy.deepcopy(data)
    changed[0]["answer"] = 2  # entry 0 conflicts with what is stored; entries 1 and 2 are new
    with pytest.raises(ImportFailed, match=r"\[conflict\] entry 0 \(id 501\)") as err:
        import_benchmark(settings, "avqa", write_json(tmp_path / "v2.json", changed), avqa_dir, on_error="fail")
    assert err.value.report is not None and err.value.report.imported == 0  # entries 1 and 2 were rolled back
    assert [q.source_ref for q in questions(settings, "avqa")] == ["501"]
