"""Training runs recorded in PostgreSQL, trained in this process: failure reasons, cancel, crash and resume."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, update

from sightsound.config import Settings
from sightsound.contracts.training import DatasetCreate, DatasetFilters
from sightsound.db.models import Checkpoint, RunState, TrainingRun
from sightsound.db.session import session_scope
from sightsound.snapshot.create import create_snapshot
from sightsound_trainer import run_records
from sightsound_trainer.run_records import orphaned_runs, run_lock
from sightsound_trainer.runner import execute_run
from tests.trainer import learnable

HP = {
    "seed": 1,
    "lora": {"rank": 4, "alpha": 8, "extra_trainable_modules": ["lm_head"]},
    "sft": {"max_steps": 2, "batch_size": 2, "learning_rate": 5e-3, "save_every_steps": 1},
    "grpo": {"steps": 1, "prompts_per_step": 2, "num_generations": 2, "max_new_tokens": 4, "learning_rate": 1e-3},
}


class Crash(BaseException):
    """Stands for the worker process dying (not an Exception: nothing catches it)."""


@pytest.fixture(scope="module")
def local(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings.model_copy(update={
        "dataset_root": tmp_path_factory.mktemp("datasets"),
        "trainer_output_root": tmp_path_factory.mktemp("runs"),
        "trainer_device": "cpu",
    })


@pytest.fixture(scope="module")
def dataset_id(local: Settings, task_clips: list[learnable.TaskClip]) -> uuid.UUID:
    category = f"runs-{uuid.uuid4().hex[:8]}"
    with session_scope(local.database_url) as session:
        learnable.insert_task(session, task_clips[:4] + task_clips[-4:], category)
        request = DatasetCreate(name=category, filters=DatasetFilters(categories=[category]))
        return create_snapshot(session, request, local.dataset_root).dataset.id


def new_run(local: Settings, dataset_id: uuid.UUID, student: str = "tiny-random",
            stages: tuple[str, ...] = ("sft", "grpo")) -> uuid.UUID:
    run_id = uuid.uuid4()
    with session_scope(local.database_url) as session:
        session.add(TrainingRun(id=run_id, dataset_id=dataset_id, student_model=student, stages=list(stages),
                                hyperparameters=HP, state=RunState.queued, progress={}))
    return run_id


def load(local: Settings, run_id: uuid.UUID) -> TrainingRun:
    with session_scope(local.database_url) as session:
        run = session.get_one(TrainingRun, run_id)
        _ = run.checkpoints
        return run


def test_a_student_that_does_not_load_fails_the_run_with_the_reason(local: Settings, dataset_id: uuid.UUID,
                                                                      tmp_path: Path) -> None:
    run_id = new_run(local, dataset_id, student=str(tmp_path / "missing-model"))
    assert execute_run(local, run_id) is RunState.failed
    run = load(local, run_id)
    assert run.state is RunState.failed and run.finished_at is not None
    assert run.error is not None and "student model did not load" in run.error and "does not exist" in run.error
    assert execute_run(local, run_id) is None  # a redelivered message for a finished run does nothing


def test_a_run_records_progress_and_checkpoints(local: Settings, dataset_id: uuid.UUID) -> None:
    run_id = new_run(local, dataset_id)
    assert execute_run(local, run_id) is RunState.succeeded
    run = load(local, run_id)
    assert run.state is RunState.succeeded and run.attempts == 1 and run.error is None
    assert run.progress["stage"] == "grpo" and run.progress["step"] == run.progress["total_steps"] == 1
    assert [(h["stage"], h["step"]) for h in run.progress["history"]] == [("sft", 1), ("sft", 2), ("grpo", 1)]
    assert "reward" in run.progress["metrics"] and "kl" in run.progress["metrics"]
    rows = sorted((c.stage, c.step, c.metrics["complete"]) for c in run.checkpoints)
    assert rows == [("grpo", 1, True), ("sft", 1, False), ("sft", 2, True)]
    assert all(Path(c.url.removeprefix("file://"), "checkpoint.json").exists() for c in run.checkpoints)
    assert run.output_url is not None and run.output_url.endswith(str(run_id))


def test_cancel_stops_the_run_between_steps(local: Settings, dataset_id: uuid.UUID,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = new_run(local, dataset_id)
    original = run_records.DatabaseMonitor.on_step

    def on_step(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        with session_scope(local.database_url) as session:  # a user's POST /cancel, during step 1
            session.execute(update(TrainingRun).where(TrainingRun.id == run_id).values(cancel_requested=True))

    monkeypatch.setattr(run_records.DatabaseMonitor, "on_step", on_step)
    assert execute_run(local, run_id) is RunState.cancelled
    run = load(local, run_id)
    assert run.state is RunState.cancelled and run.progress["step"] == 1 and run.finished_at is not None


def test_a_run_that_dies_resumes_from_its_last_checkpoint(local: Settings, dataset_id: uuid.UUID,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = new_run(local, dataset_id)
    original = run_records.DatabaseMonitor.on_checkpoint

    def on_checkpoint(self, info, folder):  # type: ignore[no-untyped-def]
        original(self, info, folder)
        raise Crash  # the worker dies right after the first checkpoint is recorded

    monkeypatch.setattr(run_records.DatabaseMonitor, "on_checkpoint", on_checkpoint)
    with pytest.raises(Crash):
        execute_run(local, run_id)
    run = load(local, run_id)
    assert run.state is RunState.running and [(c.stage, c.step) for c in run.checkpoints] == [("sft", 1)]
    assert run_id in orphaned_runs(local)  # nobody holds it: a trainer worker re-sends it when it starts

    monkeypatch.setattr(run_records.DatabaseMonitor, "on_checkpoint", original)
    assert execute_run(local, run_id) is RunState.succeeded
    run = load(local, run_id)
    assert run.attempts == 2 and run.progress["resumed_from"].endswith("/sft/step-0000001")
    steps = [(h["stage"], h["step"]) for h in run.progress["history"]]
    assert steps == [("sft", 1), ("sft", 2), ("grpo", 1)]  # step 1 was not trained again
    with session_scope(local.database_url) as session:
        stages = session.execute(select(Checkpoint.stage, Checkpoint.step).where(Checkpoint.run_id == run_id)).all()
    assert sorted(stages) == [("grpo", 1), ("sft", 1), ("sft", 2)]


def test_a_run_held_by_another_worker_is_left_alone(local: Settings, dataset_id: uuid.UUID) -> None:
    run_id = new_run(local, dataset_id)
    with run_lock(local, run_id):
        assert execute_run(local, run_id) is None
        assert run_id not in orphaned_runs(local)
    assert load(local, run_id).state is RunState.queued
    with session_scope(local.database_url) as session:
        session.execute(update(TrainingRun).where(TrainingRun.id == run_id).values(state=RunState.cancelled))


def test_a_run_with_two_processes_trains_under_torchrun(local: Settings, dataset_id: uuid.UUID) -> None:
    two = local.model_copy(update={"trainer_processes": 2})
    run_id = new_run(local, dataset_id, stages=("sft",))
    assert execute_run(two, run_id) is RunState.succeeded, load(local, run_id).error
    run = load(local, run_id)
    assert [(c.stage, c.step) for c in run.checkpoints] == [("sft", 1), ("sft", 2)]
    launch_log = Path(run.output_url.removeprefix("file://"), "launch-1.log").read_text()  # type: ignore[union-attr]
    assert "rank1" in launch_log and "rank0" in launch_log
