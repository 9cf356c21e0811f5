"""Fixtures of the trainer tests: one torch thread (the machine is shared), the tiny student's tokenizer,
and the clips of the learnable task."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from sightsound.contracts.training import DatasetRecord
from tests.trainer import learnable

torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def task_clips(tmp_path_factory: pytest.TempPathFactory) -> list[learnable.TaskClip]:
    return learnable.make_clips(tmp_path_factory.mktemp("task-clips"))


@pytest.fixture(scope="session")
def task_records(task_clips: list[learnable.TaskClip]) -> list[DatasetRecord]:
    return learnable.records(task_clips)


@pytest.fixture(scope="session")
def tiny_tokenizer():  # type: ignore[no-untyped-def]
    from sightsound_student_model.tiny import tiny_tokenizer

    return tiny_tokenizer()


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return tmp_path / "run"
