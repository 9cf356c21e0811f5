"""MUSIC-AVQA (Li et al., CVPR 2022): ``avqa-{train,val,test}.json`` -> benchmark items (videos).

The files (github.com/GeWu-Lab/MUSIC-AVQA, ``data/json/``) are JSON arrays of objects::

    {"video_id": "00000272", "question_id": 50, "type": "[\\"Audio-Visual\\", \\"Temporal\\"]",
     "question_content": "Where is the <FL> sounding instrument?", "templ_values": "[\\"first\\"]",
     "question_deleted": 0, "anser": "left"}

``type`` and ``templ_values`` are JSON *strings* holding a list (a decoded list is accepted too). The
placeholders of ``question_content`` (``<Object>``, ``<FL>``, ``<LL>``, ``<TH>``, …) are filled in order
from ``templ_values``, as the dataset's own loader does. The answer's key is spelled ``anser`` (the
dataset's typo; ``answer`` is accepted when ``anser`` is absent). Entries with ``question_deleted`` = 1
are excluded and reported as such. The category is the type pair, e.g. ``Audio-Visual/Temporal``.

MUSIC-AVQA is open-ended over a closed answer vocabulary; SightSound asks multiple-choice questions,
so the choices are BUILT HERE, they are not part of the benchmark: the right answer plus up to 3
distractors drawn from the other answers given in the same file to the same question template (the
same ``question_content`` before filling), topped up from the same question type when the template has
fewer than 3 other answers. A yes/no question gets exactly ``yes`` and ``no``; other questions never
get yes/no distractors. The draw and the order of the choices come from a random generator seeded with
the question id, and the pools are computed over the whole file (``limit`` does not change them), so
importing the same file twice builds the same choices. Scores on these questions are therefore not
comparable with the open-ended accuracy the MUSIC-AVQA paper reports.

Videos are looked up as ``<media_dir>/<video_id>.mp4``.
"""

from __future__ import annotations

import ast
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sightsound_ops.question_sources.items import (
    BenchmarkItem,
    EntryError,
    EntryProblem,
    ParsedBenchmark,
    check_category,
    problem_of,
    relative_media,
    require_entry,
    require_id,
    require_str,
)

NAME = "music-avqa"
PLACEHOLDER = re.compile(r"<[^<>\s]+>")
YES_NO = ("yes", "no")
DISTRACTORS = 3


def _string_list(name: str, raw: Any) -> list[str]:
    """A list of strings, given as a list or as a string that encodes one (JSON or a Python literal).

    >>> _string_list("templ_values", '["piano", "ukulele"]')
    ['piano', 'ukulele']
    >>> _string_list("type", "['Audio', 'Counting']")
    ['Audio', 'Counting']
    """
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            try:
                value = ast.literal_eval(raw)
            except (ValueError, SyntaxError) as exc:
                raise EntryError(name, f"{raw!r} does not encode a list") from exc
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EntryError(name, "is missing" if raw is None else f"{raw!r} is not a list of strings")
    return [v.strip() for v in value]


def fill_template(template: str, values: list[str]) -> str:
    """Fill the ``<…>`` placeholders in order.

    >>> fill_template("Are there <Object> and <Object> instruments in the video?", ["piano", "ukulele"])
    'Are there piano and ukulele instruments in the video?'
    >>> fill_template("Where is the <FL> sounding instrument?", [])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sightsound_ops.question_sources.items.EntryError: question_content has 1 placeholder(s) but ...
    """
    holes = PLACEHOLDER.findall(template)
    if len(holes) != len(values):
        raise EntryError(
            "templ_values",
            f"question_content has {len(holes)} placeholder(s) but templ_values has {len(values)} value(s)",
        )
    filled = iter(values)
    return PLACEHOLDER.sub(lambda _: next(filled), template)


@dataclass(frozen=True)
class _Entry:
    """A well-formed entry before its choices are built."""

    index: int
    question_id: str
    video_id: str
    kind: tuple[str, str]
    template: str
    values: list[str]
    answer: str


def _is_yes_no(answer: str) -> bool:
    return answer.casefold() in YES_NO


def build_choices(
    answer: str, seed: str, template_answers: list[str], type_answers: list[str]
) -> tuple[tuple[str, ...], int]:
    """The choices and the right one's index; candidates are drawn in a seeded, order-independent way.

    >>> build_choices("yes", "q1", ["yes", "no"], ["yes", "no"])
    (('yes', 'no'), 0)
    >>> choices, right = build_choices("two", "q2", ["one", "two", "three", "four", "five"], [])
    >>> len(choices), choices[right], len(set(choices))
    (4, 'two', 4)
    >>> build_choices("two", "q2", ["five", "four", "three", "two", "one"], []) == (choices, right)
    True
    >>> sorted(build_choices("left", "q3", ["left", "right"], ["left", "right", "middle", "yes", "no", "piano"])[0])
    ['left', 'middle', 'piano', 'right']
    """
    if _is_yes_no(answer):
        choices = YES_NO
        return choices, choices.index(answer.casefold())
    rng = random.Random(seed)
    taken = {answer.casefold()}
    distractors: list[str] = []
    for pool in (template_answers, type_answers):
        candidates = sorted({a for a in pool if a.casefold() not in taken and not _is_yes_no(a)})
        picked = rng.sample(candidates, min(DISTRACTORS - len(distractors), len(candidates)))
        distractors += picked
        taken |= {a.casefold() for a in picked}
    if not distractors:
        raise EntryError("anser", f"no other answer to this question type in the file to draw choices from: {answer!r}")
    choices_list = [answer, *distractors]
    rng.shuffle(choices_list)
    return tuple(choices_list), choices_list.index(answer)


def _read_entry(index: int, entry: Any) -> _Entry:
    fields = require_entry(entry)
    question_id = require_id(fields, "question_id")
    video_id = require_str(fields, "video_id")
    if relative_media("video_id", video_id).name != video_id:
        raise EntryError("video_id", f"{video_id!r} is not a plain file name")
    kind = _string_list("type", fields.get("type"))
    if len(kind) != 2 or not all(kind):
        raise EntryError("type", f"{fields.get('type')!r} is not a pair like [\"Audio\", \"Counting\"]")
    template = require_str(fields, "question_content")
    values = _string_list("templ_values", fields.get("templ_values"))
    fill_template(template, values)  # the placeholders must match before the entry counts as well-formed
    answer_field = "anser" if "anser" in fields or "answer" not in fields else "answer"
    answer = require_str(fields, answer_field)
    return _Entry(index, question_id, video_id, (kind[0], kind[1]), template, values, answer)


def parse(entries: list[Any], media_dir: Path) -> ParsedBenchmark:
    problems: list[EntryProblem] = []
    readable: list[_Entry] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and entry.get("question_deleted") not in (None, 0, "0", False):
            error = EntryError("question_deleted", "the dataset marks this question as deleted")
            problems.append(replace(problem_of(index, entry, "question_id", error), kind="excluded"))
            continue
        try:
            readable.append(_read_entry(index, entry))
        except EntryError as err:
            problems.append(problem_of(index, entry, "question_id", err))

    by_template: dict[str, list[str]] = defaultdict(list)
    by_type: dict[tuple[str, str], list[str]] = defaultdict(list)
    for e in readable:
        by_template[e.template].append(e.answer)
        by_type[e.kind].append(e.answer)

    items: list[BenchmarkItem] = []
    for e in readable:
        try:
            seed = f"{NAME}:{e.question_id}"
            choices, right = build_choices(e.answer, seed, by_template[e.template], by_type[e.kind])
            category = check_category("type", "/".join(e.kind))
        except EntryError as err:
            problems.append(EntryProblem(e.index, e.question_id, err.field, err.reason))
            continue
        items.append(
            BenchmarkItem(
                entry_index=e.index,
                source_id=e.question_id,
                media_paths=(media_dir / f"{e.video_id}.mp4",),
                question=fill_template(e.template, e.values),
                choices=choices,
                answer_index=right,
                category=category,
                extra={
                    "video_id": e.video_id,
                    "type": list(e.kind),
                    "question_content": e.template,
                    "templ_values": e.values,
                    "answer": e.answer,
                    "choices_built_by": "sightsound: answer + distractors from the same template/type in the file",
                },
            )
        )
    problems.sort(key=lambda p: p.index)
    return ParsedBenchmark(len(entries), items, problems)
