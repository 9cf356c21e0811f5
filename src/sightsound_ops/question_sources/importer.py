"""Import a benchmark the user has on disk into clips and evaluation questions.

A management operation, run by the CLI on the machine that holds the media (no Celery, no API): the
benchmark's JSON is parsed (pure, see the parser modules), each distinct media file is validated by
decoding and ingested into the media store exactly like an upload (16 kHz audio, plus frames for
videos; audio-only files such as MMAU's get no frames), then all clips and questions are written in ONE
transaction. Hence:

- Idempotent: clips are unique by content hash (as uploads), questions by clip + fingerprint; a
  re-import writes nothing and reports the questions as already present. Media already ingested (the
  same bytes in the database) are not decoded again.
- Imported questions have ``source`` = the benchmark's name, ``source_ref`` = its own item id, the
  given ``split`` (``test`` by default) and their category. No job is created for them, so they never
  reach the teacher: they are evaluation items.
- Nothing is dropped silently: every entry not imported is in the report with its position, id, field
  and reason. ``on_error="skip"`` imports the rest; ``on_error="fail"`` writes nothing to the database
  (derived media may stay in the content-addressed store, where they do no harm) and raises
  :class:`ImportFailed` with the report.
- An item whose id is stored already with a different question, choices, answer or media (another
  version of the benchmark file) is reported as a conflict and the stored question is kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sightsound.config import Settings
from sightsound.db.catalog import ClipFacts, QuestionFacts, insert_clip, insert_question
from sightsound.db.models import Clip, Question, Split
from sightsound.db.session import session_scope
from sightsound.media.audio import ingest_audio, probe_audio
from sightsound.media.errors import MediaError, NoAudioStream
from sightsound.media.ingest import ingest_clip
from sightsound.media.probe import MediaLimits, probe_video
from sightsound.media.store import MediaStore, original_key, sha256_file
from sightsound_ops.question_sources.items import (
    BenchmarkFormatError,
    BenchmarkItem,
    EntryProblem,
    ProblemKind,
    load_entries,
)
from sightsound_ops.question_sources.registry import Benchmark, UnknownBenchmark, get_benchmark
from sightsound_ops.question_sources.report import ImportFailed, ImportReport

OnError = Literal["skip", "fail"]
ProgressCallback = Callable[[int, int], None]  # (media files done, media files in all)
REF_CHUNK = 1000  # source_refs looked up per query


@dataclass(frozen=True)
class PreparedClip:
    """A validated, ingested media file; ``facts`` is None when its clip row exists already."""

    content_hash: str
    facts: ClipFacts | None
    frame_urls: list[str]
    audio_url: str


def import_benchmark(
    settings: Settings,
    benchmark: str,
    json_path: str | Path,
    media_dir: str | Path,
    *,
    split: str = "test",
    limit: int | None = None,
    on_error: OnError = "skip",
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import ``json_path`` (the benchmark's own question file) with its media from ``media_dir``.

    ``limit`` imports only the first ``limit`` well-formed questions, in file order. ``progress`` is
    called with (done, total) after each distinct media file is validated and ingested. Raises
    :class:`ImportFailed` for an unknown benchmark, an unreadable file or folder, and with
    ``on_error="fail"`` when any entry is malformed or its media missing, undecodable or conflicting.
    """
    if on_error not in ("skip", "fail"):
        raise ValueError(f"on_error must be 'skip' or 'fail', got {on_error!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be at least 0, got {limit}")
    try:
        spec = get_benchmark(benchmark)
        split_value = Split(split)
    except UnknownBenchmark as exc:
        raise ImportFailed(str(exc)) from exc
    except ValueError as exc:
        raise ImportFailed(f"split must be one of {', '.join(s.value for s in Split)}, got {split!r}") from exc
    json_path, media_dir = Path(json_path), Path(media_dir)
    if not json_path.is_file():
        raise ImportFailed(f"{json_path} is not a file: pass the benchmark's question file ({spec.question_file})")
    if not media_dir.is_dir():
        raise ImportFailed(f"{media_dir} is not a folder: pass the folder holding the media ({spec.media_naming})")
    try:
        parsed = spec.parse(load_entries(json_path), media_dir)
    except BenchmarkFormatError as exc:
        raise ImportFailed(str(exc)) from exc

    items = parsed.items if limit is None else parsed.items[:limit]
    last = items[-1].entry_index if limit is not None and items and len(items) < len(parsed.items) else None
    report = ImportReport(
        benchmark=spec.name,
        json_path=str(json_path),
        media_dir=str(media_dir),
        split=split_value.value,
        entries=parsed.entries,
        selected=len(items),
        problems=[p for p in parsed.problems if last is None or p.index <= last],
    )
    located = _locate_media(spec, items, report)
    _stop_on_errors(on_error, report)
    prepared = _prepare_media(settings, spec, sorted(set(located.values())), progress)
    for item in items:
        path = located.get(item.entry_index)
        if path is not None and isinstance(prepared.get(path), str):
            report.problems.append(_problem(item, spec.media_field, f"{path}: {prepared[path]}", "bad_media"))
    _stop_on_errors(on_error, report)
    with session_scope(settings.database_url) as session:
        _write(session, spec, split_value, items, located, prepared, report)
        if on_error == "fail" and report.errors:  # a conflict found while writing: the transaction rolls back
            report.imported = report.clips_created = 0
            _stop_on_errors(on_error, report)
    report.problems.sort(key=lambda p: p.index)
    return report


def _problem(item: BenchmarkItem, field: str | None, reason: str, kind: ProblemKind) -> EntryProblem:
    return EntryProblem(item.entry_index, item.source_id, field, reason, kind)


def _stop_on_errors(on_error: OnError, report: ImportReport) -> None:
    if on_error == "fail" and report.errors:
        report.problems.sort(key=lambda p: p.index)
        first = report.errors[0]
        raise ImportFailed(
            f"{len(report.errors)} entries cannot be imported (first: [{first.kind}] {first.describe()}); "
            "nothing was written to the database: fix them, or import with on_error='skip'",
            report,
        )


def _locate_media(spec: Benchmark, items: list[BenchmarkItem], report: ImportReport) -> dict[int, Path]:
    """Entry index -> the existing media file; items without one are reported as missing media."""
    located: dict[int, Path] = {}
    for item in items:
        found = next((p for p in item.media_paths if p.is_file()), None)
        if found is None:
            tried = " or ".join(str(p) for p in item.media_paths)
            report.problems.append(_problem(item, spec.media_field, f"no media file at {tried}", "missing_media"))
        else:
            located[item.entry_index] = found
    return located


def _prepare_media(
    settings: Settings,
    spec: Benchmark,
    paths: list[Path],
    progress: ProgressCallback | None,
) -> dict[Path, PreparedClip | str]:
    """Each path -> its prepared clip, or the reason it is unusable."""
    store = MediaStore(settings.media_root)
    limits = MediaLimits.from_settings(settings)
    prepared: dict[Path, PreparedClip | str] = {}
    for done, path in enumerate(paths, start=1):
        try:
            prepared[path] = _prepare_one(settings, spec, store, limits, path)
        except MediaError as exc:
            prepared[path] = str(exc)
        except OSError as exc:
            prepared[path] = f"the file cannot be read: {exc.strerror or exc}"
        if progress is not None:
            progress(done, len(paths))
    return prepared


def _prepare_one(
    settings: Settings, spec: Benchmark, store: MediaStore, limits: MediaLimits, path: Path
) -> PreparedClip:
    content_hash = sha256_file(path)
    with session_scope(settings.database_url) as session:
        row = session.execute(
            select(Clip.frame_urls, Clip.audio_url).where(Clip.content_hash == content_hash)
        ).first()
    if row is not None and row.frame_urls is not None:
        if row.audio_url is None:
            raise NoAudioStream("a clip with these bytes is stored already and has no audio track")
        return PreparedClip(content_hash, None, list(row.frame_urls), row.audio_url)
    if spec.media == "audio":
        audio = probe_audio(path, limits)
        stored = ingest_audio(path, store, content_hash=content_hash, sample_rate=settings.audio_sample_rate)
        duration, fps, width, height = audio.duration_s, None, None, None
        frame_urls: list[str] = []
        audio_url = stored.audio_url
    else:
        video = probe_video(path, limits)
        if not video.has_audio:
            raise NoAudioStream("the video has no audio track, so no audio question can be asked about it")
        ingested = ingest_clip(
            path,
            store,
            content_hash=content_hash,
            frames=settings.frames_per_clip,
            max_side=settings.frame_max_side,
            sample_rate=settings.audio_sample_rate,
            max_audio_s=settings.max_duration_s,
            max_decoded_frames=settings.max_decoded_frames,
        )
        if ingested.audio_url is None:
            raise NoAudioStream("the video's audio track holds no samples")
        duration, fps, width, height = video.duration_s, video.fps, video.width, video.height
        frame_urls, audio_url = ingested.frame_urls, ingested.audio_url
    facts = ClipFacts(
        content_hash=content_hash,
        media_url=store.put_file(original_key(content_hash), path),
        filename=path.name,
        size_bytes=path.stat().st_size,
        duration_s=duration,
        fps=fps,
        width=width,
        height=height,
        has_audio=True,
    )
    return PreparedClip(content_hash, facts, frame_urls, audio_url)


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _stored_refs(session: Session, source: str, refs: Iterable[str]) -> dict[str, tuple[uuid.UUID, str]]:
    """source_ref -> (clip id, fingerprint) of this benchmark's questions stored already."""
    found: dict[str, tuple[uuid.UUID, str]] = {}
    for chunk in _chunks(sorted(set(refs)), REF_CHUNK):
        rows = session.execute(
            select(Question.source_ref, Question.clip_id, Question.fingerprint).where(
                Question.source == source, Question.source_ref.in_(chunk)
            )
        )
        found.update({r.source_ref: (r.clip_id, r.fingerprint) for r in rows if r.source_ref is not None})
    return found


def _clip_id(session: Session, clip: PreparedClip, cache: dict[str, uuid.UUID], report: ImportReport) -> uuid.UUID:
    if clip.content_hash in cache:
        return cache[clip.content_hash]
    if clip.facts is None:
        clip_id = session.scalars(select(Clip.id).where(Clip.content_hash == clip.content_hash)).one()
        report.clips_reused += 1
    else:
        clip_id, created = insert_clip(session, clip.facts, frame_urls=clip.frame_urls, audio_url=clip.audio_url)
        if created:
            report.clips_created += 1
        else:  # uploaded before but not ingested yet: what this import extracted saves the pipeline the work
            report.clips_reused += 1
            session.execute(
                update(Clip)
                .where(Clip.id == clip_id, Clip.frame_urls.is_(None))
                .values(frame_urls=clip.frame_urls, audio_url=clip.audio_url)
            )
    cache[clip.content_hash] = clip_id
    return clip_id


def _write(
    session: Session,
    spec: Benchmark,
    split: Split,
    items: list[BenchmarkItem],
    located: dict[int, Path],
    prepared: dict[Path, PreparedClip | str],
    report: ImportReport,
) -> None:
    usable = [
        (item, clip)
        for item in items
        if (path := located.get(item.entry_index)) is not None and isinstance(clip := prepared.get(path), PreparedClip)
    ]
    stored = _stored_refs(session, spec.name, (item.source_id for item, _ in usable))
    clip_ids: dict[str, uuid.UUID] = {}
    this_run: dict[str, tuple[uuid.UUID, str, int]] = {}  # source_ref -> (clip, fingerprint, entry index)
    same_content: dict[tuple[uuid.UUID, str], BenchmarkItem] = {}  # (clip, fingerprint) -> first item with it
    for item, clip in usable:
        clip_id = _clip_id(session, clip, clip_ids, report)
        facts = QuestionFacts(
            text=item.question,
            choices=item.choices,
            answer_index=item.answer_index,
            category=item.category,
            split=split,
            source=spec.name,
            source_ref=item.source_id,
            extra=item.extra or None,
        )
        key = (clip_id, facts.fingerprint)
        earlier = this_run.get(item.source_id)
        if earlier is not None:
            same = earlier[:2] == key
            reason = (f"repeats entry {earlier[2]} (same id, question and media)" if same
                      else f"its id is used by entry {earlier[2]} too, with a different question or media")
            report.problems.append(_problem(item, None, reason, "duplicate" if same else "conflict"))
            continue
        this_run[item.source_id] = (*key, item.entry_index)
        if key in same_content:
            first = same_content[key]
            reason = f"the same question, choices, answer and media as entry {first.entry_index} (id {first.source_id})"
            report.problems.append(_problem(item, None, reason, "duplicate"))
            continue
        same_content[key] = item
        if item.source_id in stored and stored[item.source_id] != key:
            report.problems.append(_problem(
                item, None,
                "this id is stored already with a different question, choices, answer or media (another version "
                "of the benchmark file?); the stored question is kept",
                "conflict",
            ))
            continue
        question_id, created = insert_question(session, clip_id, facts)
        if created:
            report.imported += 1
            continue
        row = session.execute(select(Question.source, Question.split).where(Question.id == question_id)).one()
        if row.source == spec.name and row.split == split:
            report.already_present += 1
        else:
            report.problems.append(_problem(
                item, None,
                f"the same question about the same media is stored already with source {row.source!r} and split "
                f"{row.split.value}; it is not imported a second time",
                "conflict",
            ))
