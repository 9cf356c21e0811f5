"""What an import did: counts, and every entry that was not imported with the reason why."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sightsound_ops.question_sources.items import ERROR_KINDS, EntryProblem

MAX_LISTED = 20  # problems spelled out in a summary; the report itself keeps all of them


@dataclass
class ImportReport:
    benchmark: str
    json_path: str
    media_dir: str
    split: str
    entries: int  # entries in the file
    selected: int  # questions considered (after ``limit``)
    imported: int = 0  # questions written by this import
    already_present: int = 0  # questions stored already, identical (a re-import)
    clips_created: int = 0
    clips_reused: int = 0
    problems: list[EntryProblem] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for p in self.problems if p.kind == kind)

    @property
    def errors(self) -> list[EntryProblem]:
        """Problems that are the data's or the files' fault (``excluded`` and ``duplicate`` are not)."""
        return [p for p in self.problems if p.kind in ERROR_KINDS]

    def counts(self) -> dict[str, int]:
        by_kind = Counter(p.kind for p in self.problems)
        return {
            "entries": self.entries,
            "selected": self.selected,
            "imported": self.imported,
            "already_present": self.already_present,
            "clips_created": self.clips_created,
            "clips_reused": self.clips_reused,
            **{kind: by_kind.get(kind, 0)
               for kind in ("malformed", "missing_media", "bad_media", "conflict", "duplicate", "excluded")},
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "json_path": self.json_path,
            "media_dir": self.media_dir,
            "split": self.split,
            "counts": self.counts(),
            "problems": [
                {"index": p.index, "id": p.source_id, "field": p.field, "kind": p.kind, "reason": p.reason}
                for p in self.problems
            ],
        }

    def summary(self) -> str:
        """Lines for a person: the counts, then the first problems."""
        counts = self.counts()
        lines = [
            f"{self.benchmark}: {counts['imported']} questions imported, {counts['already_present']} already present "
            f"({counts['selected']} of {counts['entries']} entries considered; split {self.split}); "
            f"clips: {counts['clips_created']} new, {counts['clips_reused']} reused",
        ]
        skipped = {k: v for k, v in counts.items()
                   if k in ("malformed", "missing_media", "bad_media", "conflict", "duplicate", "excluded") and v}
        if skipped:
            lines.append("not imported: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in skipped.items()))
        lines += [f"  [{p.kind}] {p.describe()}" for p in self.problems[:MAX_LISTED]]
        if len(self.problems) > MAX_LISTED:
            lines.append(f"  … and {len(self.problems) - MAX_LISTED} more (see the report's problems)")
        return "\n".join(lines)


class ImportFailed(Exception):
    """The import could not run or, with ``on_error="fail"``, found bad entries; nothing was written to the
    database. ``report`` says what was found when the file could be read."""

    def __init__(self, message: str, report: ImportReport | None = None) -> None:
        super().__init__(message)
        self.report = report
