"""Issue 12B, findings 4 and 10: every Celery task has soft and hard time limits (per queue, from settings), and
the periodic reaper (beat) re-sends orphaned training runs and evaluations, not only pipeline jobs: before, they
were re-sent only when a trainer worker started."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from sightsound.config import Settings
from sightsound.db.models import Dataset, Evaluation, RunState, Split, TrainingRun
from sightsound.db.session import session_scope
from sightsound.tasks.app import make_celery, task_time_limits
from sightsound.tasks.locks import LockSpace, task_lock
from sightsound.tasks.recovery import resend_orphans
from sightsound.tasks.registry import ALL_TASKS, EVALUATE, REAP_RUNS, TRAIN, TaskRoute


def test_every_task_has_a_soft_and_a_hard_time_limit(settings: Settings) -> None:
    limits = task_time_limits(settings)
    assert set(limits) == {task.name for task in ALL_TASKS}
    for name, limit in limits.items():
        assert 0 < limit["soft_time_limit"] < limit["time_limit"], name
    assert limits[TRAIN.name]["soft_time_limit"] == settings.trainer_run_timeout_s
    assert limits[EVALUATE.name]["soft_time_limit"] == settings.evaluation_timeout_s
    assert limits["sightsound.ingest_job"]["soft_time_limit"] == settings.stage_time_limit_s
    assert make_celery(settings).conf.task_annotations == limits


def test_beat_runs_the_orphan_reaper(settings: Settings) -> None:
    schedule = make_celery(settings).conf.beat_schedule
    assert REAP_RUNS.name in {entry["task"] for entry in schedule.values()}


@pytest.fixture(scope="module")
def dataset_id(settings: Settings) -> uuid.UUID:
    with session_scope(settings.database_url) as session:
        dataset = Dataset(name=f"recovery-{uuid.uuid4().hex[:8]}", version=1, export_url="file:///x", counts={})
        session.add(dataset)
        session.flush()
        return dataset.id


def test_orphaned_runs_and_evaluations_are_re_sent(settings: Settings, dataset_id: uuid.UUID) -> None:
    old = datetime.now(UTC) - timedelta(seconds=settings.stuck_after_s + 60)
    ids: dict[str, uuid.UUID] = {}
    with session_scope(settings.database_url) as session:
        for name, state in (("dead", RunState.running), ("held", RunState.running), ("lost", RunState.queued),
                            ("fresh", RunState.queued), ("done", RunState.succeeded)):
            ids[f"run-{name}"] = run_id = uuid.uuid4()
            session.add(TrainingRun(id=run_id, dataset_id=dataset_id, student_model="tiny-random", stages=["sft"],
                                    hyperparameters={}, state=state, progress={}))
            ids[f"eval-{name}"] = evaluation_id = uuid.uuid4()
            session.add(Evaluation(id=evaluation_id, model_ref="base:tiny-random", model_label="x", benchmark="b",
                                   split=Split.test, settings={}, state=state, progress={}, results={}))
        session.flush()
        for name in ("dead", "held", "lost", "done"):  # "fresh" was just queued: its message is surely in the queue
            session.execute(update(TrainingRun).where(TrainingRun.id == ids[f"run-{name}"])
                            .values(updated_at=old, created_at=old))
            session.execute(update(Evaluation).where(Evaluation.id == ids[f"eval-{name}"]).values(created_at=old))
    sent: list[tuple[str, uuid.UUID]] = []

    def send(task: TaskRoute, task_id: uuid.UUID) -> None:
        sent.append((task.name, task_id))

    with task_lock(settings.database_url, LockSpace.training_run, ids["run-held"]), \
            task_lock(settings.database_url, LockSpace.evaluation, ids["eval-held"]):
        report = resend_orphans(settings, send)
    expected = {(TRAIN.name, ids["run-dead"]), (TRAIN.name, ids["run-lost"]),
                (EVALUATE.name, ids["eval-dead"]), (EVALUATE.name, ids["eval-lost"])}
    assert expected <= set(sent)
    assert not {i for _, i in sent} & {ids["run-held"], ids["eval-held"], ids["run-fresh"], ids["eval-fresh"],
                                       ids["run-done"], ids["eval-done"]}
    assert set(report["training_runs"]) >= {str(ids["run-dead"]), str(ids["run-lost"])}
