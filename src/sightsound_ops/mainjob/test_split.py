"""The main job's data: build the synthetic set, import its test split as evaluation questions."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sightsound.config import Settings
from sightsound_devdata.synthetic_set import SOURCE, SyntheticItem, build_synthetic_set
from sightsound_ops.mainjob.options import MainJobOptions
from sightsound_ops.question_sources.importer import import_benchmark

TEST_FILE = "test-questions.json"


@dataclass(frozen=True)
class SyntheticSplit:
    train: list[SyntheticItem]
    test: list[SyntheticItem]
    imported_summary: str


def build_and_import(settings: Settings, options: MainJobOptions) -> SyntheticSplit:
    folder = options.workdir / "synthetic-set"
    items = build_synthetic_set(folder, train=options.train_clips, test=options.test_clips, seed=options.seed,
                                categories=options.categories)
    train = [i for i in items if i.split == "train"]
    test = [i for i in items if i.split == "test"]
    (folder / TEST_FILE).write_text(json.dumps([i.manifest_entry() for i in test], indent=2) + "\n")
    report = import_benchmark(settings, SOURCE, folder / TEST_FILE, folder, split="test", on_error="fail")
    counts = report.counts()
    summary = f"{counts['imported']} new, {counts['already_present']} already present"
    return SyntheticSplit(train, test, summary)
