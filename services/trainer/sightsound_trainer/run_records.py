"""A training run's rows in PostgreSQL: claim, progress, cancel flag, checkpoints, outcome.

A worker holds a session-level advisory lock on the run for as long as it trains it, so a redelivered
message (Redis gives back an unacknowledged task after the visibility timeout) finds the lock taken and
leaves the run alone, while a run whose worker died has a free lock and can be taken again: it resumes
from its last checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert

from sightsound.config import Settings
from sightsound.contracts.training import Hyperparameters, RunProgress, Stage
from sightsound.db.models import Checkpoint, Dataset, RunState, TrainingRun
from sightsound.db.session import session_scope
from sightsound.tasks.locks import LockSpace, TaskBusy, task_lock
from sightsound.tasks.recovery import orphaned_training_runs
from sightsound_student_model.checkpoints import CheckpointInfo

log = logging.getLogger(__name__)

TERMINAL = frozenset({RunState.succeeded, RunState.failed, RunState.cancelled})
HISTORY_POINTS = 400


class RunSkipped(Exception):
    """The run is finished, missing, or being trained by another worker: nothing to do."""


class RunGaveUp(RunSkipped):
    """The run was delivered more than ``max_attempts`` times (its worker keeps dying): it was failed instead."""


def gave_up_reason(kind: str, attempts: int, max_attempts: int) -> str:
    """
    >>> gave_up_reason("training run", 6, 5)
    'gave up after 6 deliveries (SIGHTSOUND_MAX_ATTEMPTS=5): its worker may have been killed by this training run'
    """
    return (f"gave up after {attempts} deliveries (SIGHTSOUND_MAX_ATTEMPTS={max_attempts}): its worker may have "
            f"been killed by this {kind}")


def _now() -> datetime:
    return datetime.now(UTC)


@contextlib.contextmanager
def run_lock(settings: Settings, run_id: uuid.UUID) -> Iterator[Connection]:
    """Hold the run's lock (:mod:`sightsound.tasks.locks`) for the duration, or raise :class:`RunSkipped`."""
    try:
        with task_lock(settings.database_url, LockSpace.training_run, run_id) as conn:
            yield conn
    except TaskBusy as busy:
        raise RunSkipped(str(busy)) from busy


@dataclass(frozen=True)
class RunSpec:
    run_id: uuid.UUID
    student_model: str
    stages: list[Stage]
    hyperparameters: Hyperparameters
    dataset_export_url: str
    dataset_records: int
    run_dir: Path
    attempt: int


def _run_dir(settings: Settings, run: TrainingRun) -> Path:
    """The run's folder: the one its first attempt used, else a new one under ``trainer_output_root``."""
    if run.output_url and run.output_url.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(run.output_url).path))
    return Path(settings.trainer_output_root).resolve() / str(run.id)


def _spec(settings: Settings, run: TrainingRun, dataset: Dataset) -> RunSpec:
    return RunSpec(
        run_id=run.id,
        student_model=run.student_model,
        stages=list(run.stages),
        hyperparameters=Hyperparameters.model_validate(run.hyperparameters),
        dataset_export_url=str(dataset.export_url),
        dataset_records=int(dataset.counts.get("records", 0)),
        run_dir=_run_dir(settings, run),
        attempt=run.attempts,
    )


def claim_run(settings: Settings, run_id: uuid.UUID) -> RunSpec:
    """Move a queued (or orphaned running) run to running; raises :class:`RunSkipped` if there is nothing
    to do (missing, finished, or cancelled before it started: then it is marked cancelled here), and
    :class:`RunGaveUp` once the run has been delivered more than ``max_attempts`` times (it is failed)."""
    gave_up: str | None = None
    with session_scope(settings.database_url) as session:
        run = session.get(TrainingRun, run_id, with_for_update=True)
        if run is None or run.state in TERMINAL:
            why = "does not exist" if run is None else f"is {run.state.value}"
            raise RunSkipped(f"training run {run_id} {why}")
        if run.attempts >= settings.max_attempts and not run.cancel_requested:
            run.attempts += 1
            gave_up = gave_up_reason("training run", run.attempts, settings.max_attempts)
            run.state, run.error, run.finished_at, run.updated_at = RunState.failed, gave_up, _now(), _now()
        elif not run.cancel_requested:
            run.state = RunState.running
            run.attempts += 1
            run.started_at = run.started_at or _now()
            run.updated_at = _now()
            run.output_url = _run_dir(settings, run).as_uri()
            run.error = None
            return _spec(settings, run, session.get_one(Dataset, run.dataset_id))
        else:
            run.state, run.finished_at, run.updated_at = RunState.cancelled, _now(), _now()
    if gave_up is not None:
        raise RunGaveUp(f"training run {run_id}: {gave_up}")
    raise RunSkipped(f"training run {run_id} was cancelled before it started")


def load_spec(settings: Settings, run_id: uuid.UUID) -> RunSpec:
    """The spec of a run claimed by another process (the ranks that ``torchrun`` starts)."""
    with session_scope(settings.database_url) as session:
        run = session.get_one(TrainingRun, run_id)
        return _spec(settings, run, session.get_one(Dataset, run.dataset_id))


def finish_run(settings: Settings, run_id: uuid.UUID, state: RunState, error: str | None = None) -> None:
    with session_scope(settings.database_url) as session:
        session.execute(
            update(TrainingRun)
            .where(TrainingRun.id == run_id)
            .values(state=state, error=error[:4000] if error else None, finished_at=_now(), updated_at=_now())
        )


def recorded_checkpoints(settings: Settings, run_id: uuid.UUID) -> list[tuple[str, int, Path]]:
    """(stage, step, folder) of the run's checkpoints whose folder still exists, oldest step first."""
    from urllib.parse import unquote, urlparse

    with session_scope(settings.database_url) as session:
        rows = session.execute(
            select(Checkpoint.stage, Checkpoint.step, Checkpoint.url)
            .where(Checkpoint.run_id == run_id)
            .order_by(Checkpoint.step)
        ).all()
    found = []
    for stage, step, url in rows:
        folder = Path(unquote(urlparse(url).path))
        if (folder / "checkpoint.json").exists():
            found.append((stage, step, folder))
    return found


def thin(history: list[dict[str, Any]], limit: int = HISTORY_POINTS) -> list[dict[str, Any]]:
    """Keep at most ``limit`` points: when full, drop every other one (the last is always kept).

    >>> [p["step"] for p in thin([{"step": i} for i in range(1, 8)], limit=4)]
    [1, 3, 5, 7]
    """
    if len(history) <= limit:
        return history
    kept = history[::2]
    if kept[-1] is not history[-1]:
        kept.append(history[-1])
    return thin(kept, limit)


MAIN_METRICS = ("loss", "reward", "accuracy", "format", "kl", "completion_length")


class DatabaseMonitor:
    """The loops' :class:`~sightsound_trainer.context.Monitor` for a run recorded in PostgreSQL."""

    def __init__(self, settings: Settings, run_id: uuid.UUID, stages: list[Stage],
                 resumed_from: str | None = None) -> None:
        self.settings = settings
        self.run_id = run_id
        self.stages = stages
        self.resumed_from = resumed_from
        with session_scope(settings.database_url) as session:
            run = session.get_one(TrainingRun, run_id)
            self.history: list[dict[str, Any]] = list(run.progress.get("history", []))

    def on_step(self, stage: Stage, step: int, total: int, metrics: dict[str, float], eta_s: float | None) -> None:
        self.history.append({"stage": stage, "step": step, **{k: round(metrics[k], 5) for k in MAIN_METRICS
                                                               if k in metrics}})
        self.history = thin(self.history)
        progress = RunProgress(
            stage=stage,
            stages=self.stages,
            step=step,
            total_steps=total,
            loss=metrics.get("loss"),
            reward=metrics.get("reward"),
            accuracy=metrics.get("accuracy"),
            kl=metrics.get("kl"),
            eta_s=eta_s,
            metrics=metrics,
            history=self.history,
            resumed_from=self.resumed_from,
        )
        with session_scope(self.settings.database_url) as session:
            session.execute(
                update(TrainingRun)
                .where(TrainingRun.id == self.run_id)
                .values(progress=progress.model_dump(mode="json"), updated_at=_now())
            )

    def on_checkpoint(self, info: CheckpointInfo, folder: Path) -> None:
        row = {"id": uuid.uuid4(), "run_id": self.run_id, "stage": info.stage, "step": info.step,
               "url": folder.resolve().as_uri(), "metrics": {**info.metrics, "complete": info.complete}}
        stmt = insert(Checkpoint).values(row)
        stmt = stmt.on_conflict_do_update(
            constraint="uq_checkpoints_run_stage_step",
            set_={"url": stmt.excluded.url, "metrics": stmt.excluded.metrics},
        )
        with session_scope(self.settings.database_url) as session:
            session.execute(stmt)

    def cancelled(self) -> bool:
        with session_scope(self.settings.database_url) as session:
            return bool(session.scalar(select(TrainingRun.cancel_requested).where(TrainingRun.id == self.run_id)))


def orphaned_runs(settings: Settings) -> list[uuid.UUID]:
    """Queued or running runs that no worker holds (their worker died, or their message was lost); the periodic
    reaper uses the same query (:mod:`sightsound.tasks.recovery`) with an age for the queued ones."""
    return orphaned_training_runs(settings, older_than_s=0)
