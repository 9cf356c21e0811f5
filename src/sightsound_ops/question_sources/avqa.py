"""AVQA (Yang et al., ACM MM 2022): ``train_qa.json`` / ``val_qa.json`` -> benchmark items (videos).

The files (from mn.cs.tsinghua.edu.cn/avqa; read by github.com/AlyssaYoung/AVQA,
``preprocess/preprocess_text/datautils/avqa.py``) are JSON arrays of objects::

    {"id": 183, "video_name": "-HG3Omg_89c_000030", "video_id": 341,
     "question_text": "What happened in the video?",
     "multi_choice": ["motorboat", "Yacht consignment", "Sailboat set sail", "Consignment car"],
     "answer": 1, "question_relation": "View", "question_type": "Happening"}

``answer`` is the 0-based index of the right entry of ``multi_choice`` (the reference loader reads it
with ``int()``, so a string of digits is accepted too). ``video_name`` is ``<YouTube id>_<start s>``
and names the video file; ``video_id`` is the dataset's integer id of the video, kept as metadata. The
category is ``question_type`` (Which, Come From, Happening, Where, Why, Before Next, When, Used For);
``question_relation`` is kept in ``extra``.

Videos are looked up as ``<media_dir>/<video_name>.mp4``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sightsound_ops.question_sources.items import (
    BenchmarkItem,
    EntryError,
    ParsedBenchmark,
    check_category,
    check_choices,
    optional_str,
    parse_each,
    relative_media,
    require_entry,
    require_id,
    require_int,
    require_str,
)

NAME = "avqa"


def parse_entry(index: int, entry: Any, media_dir: Path) -> BenchmarkItem:
    fields = require_entry(entry)
    source_id = require_id(fields, "id")
    video_name = require_str(fields, "video_name")
    if relative_media("video_name", video_name).name != video_name:
        raise EntryError("video_name", f"{video_name!r} is not a plain file name")
    question = require_str(fields, "question_text")
    choices = check_choices("multi_choice", fields.get("multi_choice"))
    answer = require_int(fields, "answer")
    if not 0 <= answer < len(choices):
        raise EntryError("answer", f"index {answer} is out of range for {len(choices)} choices (0-{len(choices) - 1})")
    category = check_category("question_type", require_str(fields, "question_type"))
    extra: dict[str, Any] = {"video_name": video_name}
    if isinstance(fields.get("video_id"), int | str) and not isinstance(fields.get("video_id"), bool):
        extra["video_id"] = fields["video_id"]
    relation = optional_str(fields, "question_relation")
    if relation is not None:
        extra["question_relation"] = relation
    return BenchmarkItem(
        entry_index=index,
        source_id=source_id,
        media_paths=(media_dir / f"{video_name}.mp4",),
        question=question,
        choices=choices,
        answer_index=answer,
        category=category,
        extra=extra,
    )


def parse(entries: list[Any], media_dir: Path) -> ParsedBenchmark:
    return parse_each(entries, media_dir, parse_entry, "id")
