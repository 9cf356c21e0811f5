"""MMAU test-mini (Sakshi et al., 2024): ``mmau-test-mini.json`` -> benchmark items (audio only).

The file (github.com/Sakshi113/MMAU, ``mmau-test-mini.json``) is a JSON array of objects::

    {"id": "3fe64f3d-…", "audio_id": "./test-mini-audios/3fe64f3d-….wav",
     "question": "Based on the given audio, identify the source of the speaking voice.",
     "choices": ["Man", "Woman", "Child", "Robot"], "answer": "Man",
     "dataset": "AudioSet", "task": "sound", "split": "test-mini",
     "category": "Reasoning", "sub-category": "Acoustic Source Inference", "difficulty": "medium"}

``answer`` is the text of the right choice. In the released file it is sometimes prefixed with the
option's letter (``"(B) 0.95 seconds"`` for the choice ``"0.95 seconds"``) and choices sometimes carry
trailing spaces: both are accepted, a letter that disagrees with the text is not. A few entries are
broken upstream (a choice listed twice, eight choices run together); they are reported, not guessed at.

The category of an imported question is ``task`` (sound, music or speech): the unit MMAU's own
evaluation reports per task. MMAU's ``category``, ``sub-category``, ``difficulty``, ``dataset`` and
``split`` are kept in the question's ``extra``.

The audio is looked up as ``<media_dir>/<audio_id>`` (media_dir = the folder holding
``test-mini-audios/``), then as ``<media_dir>/<file name>`` (media_dir = ``test-mini-audios/`` itself).
"""

from __future__ import annotations

import re
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

NAME = "mmau-test-mini"
EXTRA_FIELDS = ("category", "sub-category", "difficulty", "dataset", "split")
_LETTERED = re.compile(r"^\(([A-Za-z])\)\s*(.+)$", re.DOTALL)


def answer_index(answer: str, choices: tuple[str, ...]) -> int:
    """The index of MMAU's ``answer`` among ``choices``, accepting a ``"(B) "`` letter prefix.

    >>> answer_index("Man", ("Man", "Woman"))
    0
    >>> answer_index("(B) 0.95 seconds", ("0.65 seconds", "0.95 seconds", "1.25 seconds"))
    1
    >>> answer_index("(A) 0.95 seconds", ("0.65 seconds", "0.95 seconds"))
    Traceback (most recent call last):
    ...
    sightsound_ops.question_sources.items.EntryError: its letter (A) names '0.65 seconds' but its text is '0.95 seconds'
    """
    try:
        return index_of_answer("answer", answer, choices)
    except EntryError:
        lettered = _LETTERED.match(answer)
        if lettered is None:
            raise
    letter, text = lettered.group(1).upper(), lettered.group(2).strip()
    by_text = index_of_answer("answer", text, choices)
    by_letter = ord(letter) - ord("A")
    if by_letter != by_text:
        named = repr(choices[by_letter]) if by_letter < len(choices) else "no choice"
        raise EntryError("answer", f"its letter ({letter}) names {named} but its text is {text!r}")
    return by_text


def parse_entry(index: int, entry: Any, media_dir: Path) -> BenchmarkItem:
    fields = require_entry(entry)
    source_id = require_id(fields, "id")
    relative = relative_media("audio_id", require_str(fields, "audio_id"))
    question = require_str(fields, "question")
    choices = check_choices("choices", fields.get("choices"))
    answer = require_str(fields, "answer")
    task = check_category("task", require_str(fields, "task"))
    extra: dict[str, Any] = {name: optional_str(fields, name) for name in EXTRA_FIELDS}
    extra["audio_id"] = fields["audio_id"]
    paths = (media_dir / relative, media_dir / relative.name)
    return BenchmarkItem(
        entry_index=index,
        source_id=source_id,
        media_paths=tuple(dict.fromkeys(paths)),
        question=question,
        choices=choices,
        answer_index=answer_index(answer, choices),
        category=task,
        extra={k: v for k, v in extra.items() if v is not None},
    )


def parse(entries: list[Any], media_dir: Path) -> ParsedBenchmark:
    return parse_each(entries, media_dir, parse_entry, "id")
