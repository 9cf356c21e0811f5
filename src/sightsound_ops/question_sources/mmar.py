"""MMAR (Ma et al., 2025, arXiv 2505.13032): ``MMAR-meta.json`` / ``MMAR-meta.jsonl`` -> benchmark items (audio).

The file (github.com/ddlBoJack/MMAR; first ``MMAR-meta.json``, a JSON array, since 2026 ``MMAR-meta.jsonl``,
one object per line with the same fields and ``thinking``, ``cue`` and ``rubric`` added) holds 1,000 entries::

    {"id": "qx8hrhBZJ98_00-01-32_00-02-02", "audio_path": "./audio/qx8hrhBZJ98_00-01-32_00-02-02.wav",
     "question": "What type of natural environment might this music originate from",
     "choices": ["Mountain Canyon", "Dense Forest", "Open Grassland", "City Streets"],
     "answer": "Open Grassland", "modality": "music", "category": "Cultural Layer",
     "sub-category": "Professional Knowledge and Reasoning", "language": null, "source": "youtube",
     "url": "https://www.youtube.com/watch?v=…", "timestamp": "00:01:32,00:02:02"}

``answer`` is the text of the right choice. Most questions have 4 choices, 171 have 2; a few entries pad their
choices with empty strings (``["Entered", "Did not enter", ""]``): trailing empty choices are dropped, an empty
choice between others is not. One entry has 6 real choices: more than the student's letters A-D, so it is
reported, not imported.

The category of an imported question is ``modality`` (sound, music, speech and their mixes such as
``mix-sound-speech``): MMAR reports accuracy per modality, as MMAU per task. ``category`` (the reasoning layer),
``sub-category``, ``language``, ``source``, ``url`` and ``timestamp`` are kept in the question's ``extra``; the
reasoning annotations of the JSONL (``thinking``, ``cue``, ``rubric``) are not imported.

The audio is looked up as ``<media_dir>/<audio_path>`` (media_dir = the folder holding ``audio/``), then as
``<media_dir>/<file name>`` (media_dir = ``audio/`` itself).
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
    index_of_answer,
    optional_str,
    parse_each,
    relative_media,
    require_entry,
    require_id,
    require_str,
)

NAME = "mmar"
EXTRA_FIELDS = ("category", "sub-category", "language", "source", "url", "timestamp")


def unpadded(raw: Any) -> Any:
    """MMAR's choices without the empty strings some entries end with (anything else is left for the checks).

    >>> unpadded(["Entered", "Did not enter", ""]), unpadded(["a", "", "b"]), unpadded("x")
    (['Entered', 'Did not enter'], ['a', '', 'b'], 'x')
    """
    if not isinstance(raw, list):
        return raw
    end = len(raw)
    while end > 0 and isinstance(raw[end - 1], str) and not raw[end - 1].strip():
        end -= 1
    return raw[:end]


def parse_entry(index: int, entry: Any, media_dir: Path) -> BenchmarkItem:
    fields = require_entry(entry)
    source_id = require_id(fields, "id")
    relative = relative_media("audio_path", require_str(fields, "audio_path"))
    question = require_str(fields, "question")
    if "choices" not in fields:
        raise EntryError("choices", "is missing")
    choices = check_choices("choices", unpadded(fields["choices"]))
    answer = require_str(fields, "answer")
    modality = check_category("modality", require_str(fields, "modality"))
    extra: dict[str, Any] = {name: optional_str(fields, name) for name in EXTRA_FIELDS}
    extra["audio_path"] = fields["audio_path"]
    paths = (media_dir / relative, media_dir / relative.name)
    return BenchmarkItem(
        entry_index=index,
        source_id=source_id,
        media_paths=tuple(dict.fromkeys(paths)),
        question=question,
        choices=choices,
        answer_index=index_of_answer("answer", answer, choices),
        category=modality,
        extra={k: v for k, v in extra.items() if v is not None},
    )


def parse(entries: list[Any], media_dir: Path) -> ParsedBenchmark:
    return parse_each(entries, media_dir, parse_entry, "id")
