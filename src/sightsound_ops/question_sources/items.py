"""What every benchmark parser produces, and the checks they share (pure: no I/O but reading the JSON).

A parser turns the benchmark's own JSON entries into :class:`BenchmarkItem` objects: one multiple-choice
question about one media file, with the right answer as an index. An entry that cannot become one is
never dropped silently: it becomes an :class:`EntryProblem` that says which entry (its position in the
file and its id when readable), which field, and why. Whole-file problems (not JSON, not a list) raise
:class:`BenchmarkFormatError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

# What the database stores (questions.ck_questions_choice_count, questions.category, questions.source_ref).
MIN_CHOICES = 2
MAX_CHOICES = 4  # the student answers with a letter A-D
MAX_CATEGORY_CHARS = 64
MAX_SOURCE_ID_CHARS = 255

ProblemKind = Literal["malformed", "excluded", "missing_media", "bad_media", "duplicate", "conflict"]
#: Kinds that are the data's or the files' fault; ``on_error="fail"`` stops the import on these.
ERROR_KINDS: frozenset[str] = frozenset({"malformed", "missing_media", "bad_media", "conflict"})


@dataclass(frozen=True)
class BenchmarkItem:
    """One question of a benchmark, ready to import."""

    entry_index: int  # position of the entry in the file's list (0-based), for reports
    source_id: str  # the benchmark's own id of the question
    media_paths: tuple[Path, ...]  # where the media file may be, in order of preference
    question: str
    choices: tuple[str, ...]
    answer_index: int
    category: str | None
    extra: dict[str, Any] = field(default_factory=dict)  # the benchmark's other fields, kept as metadata

    @property
    def media_path(self) -> Path:
        """The preferred location (the benchmark's own naming)."""
        return self.media_paths[0]


@dataclass(frozen=True)
class EntryProblem:
    """Why an entry was not imported. ``index`` is its position in the file (0-based)."""

    index: int
    source_id: str | None
    field: str | None
    reason: str
    kind: ProblemKind = "malformed"

    def describe(self) -> str:
        """One line for a person.

        >>> EntryProblem(3, "q7", "answer", "'x' is not one of the choices").describe()
        "entry 3 (id q7), field 'answer': 'x' is not one of the choices"
        """
        where = f"entry {self.index}" + (f" (id {self.source_id})" if self.source_id is not None else "")
        return f"{where}{f', field {self.field!r}' if self.field else ''}: {self.reason}"


@dataclass(frozen=True)
class ParsedBenchmark:
    entries: int  # how many entries the file holds
    items: list[BenchmarkItem]
    problems: list[EntryProblem]  # malformed or excluded entries, in file order


class BenchmarkFormatError(ValueError):
    """The file as a whole is unusable (not JSON, or not a list of entries)."""


class EntryError(ValueError):
    """Raised inside a parser for one entry; becomes an :class:`EntryProblem`."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


# --- the file ------------------------------------------------------------------------------------


def load_entries(path: str | Path) -> list[Any]:
    """The JSON array of entries in ``path`` (or, for a ``.jsonl`` file, its lines: one JSON entry each);
    :class:`BenchmarkFormatError` when it is neither."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BenchmarkFormatError(f"{path} is not UTF-8 text, so not a benchmark JSON file") from exc
    if path.suffix.lower() == ".jsonl":
        return parse_json_lines(text, str(path))
    return parse_entries(text, str(path))


def parse_json_lines(text: str, name: str = "the file") -> list[Any]:
    r"""The entries of a JSON Lines file: one JSON value per line, blank lines skipped.

    >>> parse_json_lines('{"id": 1}\n\n{"id": 2}\n')
    [{'id': 1}, {'id': 2}]
    >>> parse_json_lines('{"id": 1}\n{"id": ')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sightsound_ops.question_sources.items.BenchmarkFormatError: the file, line 2, is not valid JSON: ...
    """
    entries: list[Any] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise BenchmarkFormatError(f"{name}, line {number}, is not valid JSON: {exc.msg} at column {exc.colno} "
                                       "(a .jsonl file holds one JSON entry per line)") from exc
    if not entries:
        raise BenchmarkFormatError(f"{name} holds no JSON lines: pass the benchmark's question file itself")
    return entries


def parse_entries(text: str, name: str = "the file") -> list[Any]:
    """
    >>> parse_entries('[{"id": 1}]')
    [{'id': 1}]
    >>> parse_entries('{"id": 1}')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sightsound_ops.question_sources.items.BenchmarkFormatError: the file holds a JSON object (keys: id), ...
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BenchmarkFormatError(
            f"{name} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    if not isinstance(data, list):
        what = f"a JSON {_json_type(data)}"
        if isinstance(data, dict):
            what += f" (keys: {', '.join(list(map(str, data))[:8])})"
        raise BenchmarkFormatError(
            f"{name} holds {what}, expected a JSON array of entries: pass the benchmark's question file itself"
        )
    return data


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


# --- fields --------------------------------------------------------------------------------------


def require_entry(entry: Any) -> Mapping[str, Any]:
    if not isinstance(entry, dict):
        raise EntryError(None, f"the entry is a JSON {_json_type(entry)}, expected an object")
    return entry


def _check_text(name: str, value: str) -> str:
    if "\x00" in value:
        raise EntryError(name, "contains a NUL character")
    return value


def require_str(entry: Mapping[str, Any], name: str, *, nonempty: bool = True) -> str:
    """``entry[name]`` as a string (stripped).

    >>> require_str({"q": "  What?  "}, "q")
    'What?'
    >>> require_str({"q": 3}, "q")
    Traceback (most recent call last):
    ...
    sightsound_ops.question_sources.items.EntryError: is a JSON number, expected a string
    """
    if name not in entry:
        raise EntryError(name, "is missing")
    value = entry[name]
    if not isinstance(value, str):
        raise EntryError(name, f"is a JSON {_json_type(value)}, expected a string")
    value = _check_text(name, value.strip())
    if nonempty and not value:
        raise EntryError(name, "is empty")
    return value


def optional_str(entry: Mapping[str, Any], name: str) -> str | None:
    value = entry.get(name)
    return value.strip() if isinstance(value, str) and value.strip() and "\x00" not in value else None


def require_int(entry: Mapping[str, Any], name: str) -> int:
    """An integer, also when written as a string of digits (as some re-distributions do).

    >>> require_int({"answer": "2"}, "answer"), require_int({"answer": 2}, "answer")
    (2, 2)
    >>> require_int({"answer": True}, "answer")
    Traceback (most recent call last):
    ...
    sightsound_ops.question_sources.items.EntryError: is a JSON boolean, expected an integer
    """
    if name not in entry:
        raise EntryError(name, "is missing")
    value = entry[name]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise EntryError(name, f"is a JSON {_json_type(value)}, expected an integer")


def require_id(entry: Mapping[str, Any], name: str) -> str:
    """The benchmark's id of an entry (a string or an integer) as a string."""
    value = entry.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EntryError(name, "is missing" if value is None else f"is a JSON {_json_type(value)}, expected an id")
    text = _check_text(name, str(value).strip())
    if not text:
        raise EntryError(name, "is empty")
    if len(text) > MAX_SOURCE_ID_CHARS:
        raise EntryError(name, f"is longer than {MAX_SOURCE_ID_CHARS} characters")
    return text


def check_choices(name: str, raw: Any) -> tuple[str, ...]:
    """Choices as stripped strings: 2 to 6 of them, none empty, no two the same.

    >>> check_choices("choices", [" Man", "Woman "])
    ('Man', 'Woman')
    >>> check_choices("choices", ["1.63 seconds", "2.74 seconds", "1.63 seconds"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sightsound_ops.question_sources.items.EntryError: choices 0 and 2 are the same ('1.63 seconds'), so ...
    """
    if not isinstance(raw, list):
        raise EntryError(name, "is missing" if raw is None else f"is a JSON {_json_type(raw)}, expected a list")
    if not MIN_CHOICES <= len(raw) <= MAX_CHOICES:
        raise EntryError(name, f"has {len(raw)} choices; a question needs {MIN_CHOICES} to {MAX_CHOICES}")
    choices: list[str] = []
    seen: dict[str, int] = {}
    for i, choice in enumerate(raw):
        if not isinstance(choice, str):
            raise EntryError(name, f"choice {i} is a JSON {_json_type(choice)}, expected a string")
        text = _check_text(name, choice.strip())
        if not text:
            raise EntryError(name, f"choice {i} is empty")
        key = text.casefold()
        if key in seen:
            raise EntryError(name, f"choices {seen[key]} and {i} are the same ({text!r}), so the answer is ambiguous")
        seen[key] = i
        choices.append(text)
    return tuple(choices)


def check_category(name: str, category: str | None) -> str | None:
    if category is not None and len(category) > MAX_CATEGORY_CHARS:
        raise EntryError(name, f"gives a category longer than {MAX_CATEGORY_CHARS} characters")
    return category


def relative_media(name: str, value: str) -> PurePosixPath:
    """A path inside the media folder: relative, no ``..``; ``./`` and backslashes are tolerated.

    >>> str(relative_media("audio_id", "./test-mini-audios/a.wav"))
    'test-mini-audios/a.wav'
    >>> relative_media("audio_id", "../../etc/passwd")
    Traceback (most recent call last):
    ...
    sightsound_ops.question_sources.items.EntryError: '../../etc/passwd' points outside the media folder
    """
    path = PurePosixPath(value.replace("\\", "/"))
    parts = [p for p in path.parts if p not in (".", "")]
    if path.is_absolute() or ".." in parts or not parts:
        raise EntryError(name, f"{value!r} points outside the media folder")
    return PurePosixPath(*parts)


def problem_of(index: int, entry: Any, id_field: str, error: EntryError) -> EntryProblem:
    """An :class:`EntryProblem` for ``error``, with the entry's id when it can be read."""
    source_id = None
    if isinstance(entry, dict) and isinstance(entry.get(id_field), str | int) and not isinstance(
        entry.get(id_field), bool
    ):
        source_id = str(entry[id_field])[:MAX_SOURCE_ID_CHARS]
    return EntryProblem(index, source_id, error.field, error.reason)


def index_of_answer(name: str, answer: str, choices: Sequence[str]) -> int:
    """The index of ``answer`` among ``choices``: exact, then ignoring case and surrounding spaces.

    >>> index_of_answer("answer", "woman ", ["Man", "Woman"])
    1
    """
    if answer in choices:
        return list(choices).index(answer)
    folded = [c.strip().casefold() for c in choices]
    key = answer.strip().casefold()
    if key in folded:
        return folded.index(key)
    raise EntryError(name, f"{answer!r} is not one of the choices {list(choices)!r}")


EntryParser = Callable[[int, Any, Path], BenchmarkItem]


def parse_each(entries: list[Any], media_dir: Path, parse_entry: EntryParser, id_field: str) -> ParsedBenchmark:
    """Parse every entry with ``parse_entry``; an entry that raises :class:`EntryError` becomes a problem
    named by its position and its ``id_field``."""
    items: list[BenchmarkItem] = []
    problems: list[EntryProblem] = []
    for index, entry in enumerate(entries):
        try:
            items.append(parse_entry(index, entry, media_dir))
        except EntryError as err:
            problems.append(problem_of(index, entry, id_field, err))
    return ParsedBenchmark(len(entries), items, problems)
