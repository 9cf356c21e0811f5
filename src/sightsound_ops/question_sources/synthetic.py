"""The project's own synthetic set (:mod:`sightsound_devdata.synthetic_set`) as a benchmark: its test split becomes
evaluation questions exactly the way a public benchmark's would.

The question file is a JSON list of the manifest's item entries (``manifest.json``'s ``items``, e.g. only
the test split): ``name`` (the id), ``path`` (the MP4, relative to the media folder), ``question``,
``choices``, ``answer_index``, ``category``; the rest (``photo``, ``sounds``, ``picture_gives_answer``) is
kept as metadata.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sightsound_devdata.synthetic_set import SOURCE
from sightsound_ops.question_sources.items import (
    BenchmarkItem,
    EntryError,
    ParsedBenchmark,
    check_category,
    check_choices,
    parse_each,
    relative_media,
    require_entry,
    require_id,
    require_int,
    require_str,
)

NAME = SOURCE
METADATA = ("photo", "sounds", "picture_gives_answer", "duration_s", "split")


def parse_entry(index: int, entry: Any, media_dir: Path) -> BenchmarkItem:
    fields = require_entry(entry)
    source_id = require_id(fields, "name")
    path = relative_media("path", require_str(fields, "path"))
    choices = check_choices("choices", fields.get("choices"))
    answer = require_int(fields, "answer_index")
    if not 0 <= answer < len(choices):
        raise EntryError("answer_index", f"index {answer} is out of range for {len(choices)} choices")
    return BenchmarkItem(
        entry_index=index,
        source_id=source_id,
        media_paths=(media_dir / path,),
        question=require_str(fields, "question"),
        choices=choices,
        answer_index=answer,
        category=check_category("category", require_str(fields, "category")),
        extra={key: fields[key] for key in METADATA if key in fields},
    )


def parse(entries: list[Any], media_dir: Path) -> ParsedBenchmark:
    return parse_each(entries, media_dir, parse_entry, "name")
