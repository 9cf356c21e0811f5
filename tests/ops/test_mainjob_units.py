"""The main job's pure pieces: which checkpoint stands for a stage, the services' environment, and how an
evaluation becomes a report row."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightsound.config import Settings
from sightsound_ops.mainjob.job import latest_per_stage, stack_env
from sightsound_ops.mainjob.options import MainJobOptions
from sightsound_ops.mainjob.report_inputs import model_evaluation


def test_the_last_step_of_each_stage_stands_for_it() -> None:
    checkpoints = [{"id": "a", "stage": "sft", "step": 4}, {"id": "b", "stage": "sft", "step": 8},
                   {"id": "c", "stage": "grpo", "step": 2}, {"id": "d", "stage": "grpo", "step": 1}]
    latest = latest_per_stage(checkpoints)
    assert latest["sft"]["id"] == "b" and latest["grpo"]["id"] == "c"
    assert latest_per_stage([]) == {}


def test_services_get_the_embedded_defaults_unless_the_user_set_them(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    settings = Settings(media_root=tmp_path / "media")
    options = MainJobOptions(workdir=tmp_path / "job", traces_per_question=3, student_model="tiny-random")
    monkeypatch.delenv("SIGHTSOUND_TEACHER_BACKEND", raising=False)
    env = stack_env(settings, options)
    assert env["SIGHTSOUND_TEACHER_BACKEND"] == "embedded"
    assert env["SIGHTSOUND_TRACES_PER_QUESTION"] == "3"
    assert env["SIGHTSOUND_STUDENT_BASE_MODELS"] == '["tiny-random"]'
    assert env["SIGHTSOUND_TRAINER_OUTPUT_ROOT"] == str((tmp_path / "job" / "runs").resolve())
    monkeypatch.setenv("SIGHTSOUND_TEACHER_BACKEND", "openai")
    assert stack_env(settings, options)["SIGHTSOUND_TEACHER_BACKEND"] == "openai"


def test_an_evaluation_becomes_a_report_row_and_an_unfinished_one_none() -> None:
    finished = {"results": {"overall": {"n": 4, "correct": 1, "accuracy": 0.25},
                            "per_category": {"loudness": {"n": 2, "correct": 1, "accuracy": 0.5},
                                             "empty": {"n": 0, "correct": 0, "accuracy": None}}}}
    row = model_evaluation("CoT SFT", finished)
    assert row is not None and row.overall_accuracy == 0.25 and row.n == 4
    assert set(row.per_category) == {"loudness"} and row.per_category["loudness"].accuracy == 0.5
    assert model_evaluation("failed", {"results": {}}) is None
