"""A training run from start (or last checkpoint) to end: its stages in order, resumed where they stopped.

:func:`train_stages` is the part every rank runs (in one process, or under ``torchrun``); it knows no
database, only a :class:`~sightsound_trainer.context.Monitor`. :func:`execute_run` is the worker's side:
claim the run in PostgreSQL, train it (in this process, or in ``trainer_processes`` processes under
``torchrun``), and record how it ended. Any error fails the run with its reason; nothing hangs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sightsound.config import Settings
from sightsound.contracts.training import DatasetRecord, Hyperparameters, Stage
from sightsound.db.models import RunState
from sightsound.snapshot.create import read_records
from sightsound_student_model.checkpoints import CheckpointInfo, load_weights
from sightsound_student_model.student import Student, StudentLoadError
from sightsound_trainer.context import Monitor, StageContext, StageOutcome
from sightsound_trainer.grpo import train_grpo
from sightsound_trainer.run_records import (
    DatabaseMonitor,
    RunGaveUp,
    RunSkipped,
    RunSpec,
    claim_run,
    finish_run,
    recorded_checkpoints,
    run_lock,
)
from sightsound_trainer.setup import make_accelerator, prepare_student, start_next_stage
from sightsound_trainer.sft import train_sft
from sightsound_trainer.usage import accelerator_clock

log = logging.getLogger(__name__)

OUTCOME_FILE = "outcome.json"


@dataclass(frozen=True)
class Resume:
    """Where each stage stands: its complete checkpoint (done) or its latest partial one."""

    complete: dict[str, Path]
    partial: dict[str, Path]

    @classmethod
    def from_folders(cls, folders: Sequence[Path]) -> Resume:
        complete: dict[str, Path] = {}
        partial: dict[str, tuple[int, Path]] = {}
        for folder in folders:
            info = CheckpointInfo.read(folder)
            if info.complete:
                complete[info.stage] = folder
            elif info.step > partial.get(info.stage, (-1, folder))[0]:
                partial[info.stage] = (info.step, folder)
        return cls(complete, {stage: folder for stage, (_, folder) in partial.items()})

    def latest(self) -> str | None:
        found = [*self.partial.values(), *self.complete.values()]
        return max(found, key=lambda f: f.stat().st_mtime).as_uri() if found else None


@dataclass(frozen=True)
class Trained:
    outcomes: list[StageOutcome]
    student: Student | None

    @property
    def cancelled(self) -> bool:
        return any(o.cancelled for o in self.outcomes)


def train_stages(
    records: Sequence[DatasetRecord],
    student_model: str,
    stages: Sequence[Stage],
    hp: Hyperparameters,
    run_dir: Path,
    monitor: Monitor,
    resume: Resume | None = None,
    device: str = "auto",
) -> Trained:
    """Run ``stages`` in order, skipping complete ones and resuming partial ones."""
    resume = resume or Resume({}, {})
    accelerator = make_accelerator(hp, device)
    outcomes: list[StageOutcome] = []
    context: StageContext | None = None
    sft_done = resume.complete.get("sft") if "sft" in stages else None
    for stage in stages:
        if stage in resume.complete:
            log.info("stage %s is complete already (%s)", stage, resume.complete[stage])
            continue
        if context is None:
            # A fresh process: GRPO after a finished SFT starts from the SFT weights (its adapters merged).
            after_sft = sft_done if stage == "grpo" else None
            merge = [after_sft] if after_sft is not None and hp.lora.enabled else []
            student = prepare_student(student_model, hp, accelerator, merge=merge)
            if after_sft is not None and not hp.lora.enabled:
                load_weights(after_sft, student)
            context = StageContext(accelerator, student, hp, run_dir, monitor,
                                   merged_adapters=[m.as_uri() for m in merge])
        elif stage == "grpo":
            if outcomes and outcomes[-1].checkpoint is not None and hp.lora.enabled:
                context.merged_adapters.append(outcomes[-1].checkpoint.as_uri())
            context.student = start_next_stage(context.student, hp, accelerator)
        train = train_sft if stage == "sft" else train_grpo
        outcome = train(context, records, resume.partial.get(stage))
        outcomes.append(outcome)
        if outcome.cancelled:
            break
    accelerator.wait_for_everyone()
    return Trained(outcomes, context.student if context is not None else None)


def _run_in_process(settings: Settings, spec: RunSpec, resume: Resume) -> bool:
    """Train in this process; True when cancelled."""
    records = read_records(spec.dataset_export_url)
    monitor = DatabaseMonitor(settings, spec.run_id, spec.stages, resumed_from=resume.latest())
    trained = train_stages(records, spec.student_model, spec.stages, spec.hyperparameters, spec.run_dir,
                           monitor, resume, settings.trainer_device)
    return trained.cancelled


def settings_env(settings: Settings) -> dict[str, str]:
    """This process's environment with ``settings`` spelled as ``SIGHTSOUND_*`` variables (for the ranks)."""
    env = dict(os.environ)
    for key, value in settings.env().items():  # secrets spelled out, not masked
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


class RunTimedOut(RuntimeError):
    """A run's processes passed its wall-clock limit and were killed."""


def run_with_deadline(argv: list[str], log_path: Path, env: dict[str, str], timeout_s: float) -> int:
    """Run ``argv`` (torchrun) in a process group of its own, its output appended to ``log_path``; its exit code.

    Past ``timeout_s``, or when this process is interrupted (Celery's soft time limit), the whole group is killed
    (torchrun and every rank), so no rank outlives its run holding a GPU.
    """
    with log_path.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            return process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise RunTimedOut(f"the run passed its wall-clock limit of {timeout_s:g} s "
                              "(SIGHTSOUND_TRAINER_RUN_TIMEOUT_S); its processes were killed") from None
        finally:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _run_distributed(settings: Settings, spec: RunSpec) -> bool:
    """Train in ``trainer_processes`` processes under torchrun; True when cancelled."""
    spec.run_dir.mkdir(parents=True, exist_ok=True)
    outcome_path = spec.run_dir / OUTCOME_FILE
    outcome_path.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={settings.trainer_processes}", "-m", "sightsound_trainer.launch",
            "--run-id", str(spec.run_id)]
    log_path = spec.run_dir / f"launch-{spec.attempt}.log"
    returncode = run_with_deadline(argv, log_path, settings_env(settings), settings.trainer_run_timeout_s)
    if returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"torchrun exited with {returncode}:\n{tail}")
    return bool(json.loads(outcome_path.read_text()).get("cancelled", False))


def execute_run(settings: Settings, run_id: uuid.UUID) -> RunState | None:
    """Claim, train and finish a run (the Celery task's body). None when there was nothing to do."""
    try:
        with run_lock(settings, run_id):
            spec = claim_run(settings, run_id)
            log.info("training run %s (attempt %d): %s on %s, stages %s", run_id, spec.attempt,
                     spec.student_model, spec.dataset_export_url, spec.stages)
            try:
                resume = Resume.from_folders([f for _, _, f in recorded_checkpoints(settings, run_id)])
                with accelerator_clock(settings, run_id):
                    if settings.trainer_processes > 1:
                        cancelled = _run_distributed(settings, spec)
                    else:
                        cancelled = _run_in_process(settings, spec, resume)
            except StudentLoadError as exc:
                finish_run(settings, run_id, RunState.failed, f"student model did not load: {exc}")
                return RunState.failed
            except Exception as exc:
                log.exception("training run %s failed", run_id)
                finish_run(settings, run_id, RunState.failed, f"{type(exc).__name__}: {exc}")
                return RunState.failed
            state = RunState.cancelled if cancelled else RunState.succeeded
            finish_run(settings, run_id, state)
            return state
    except RunGaveUp as gave_up:
        log.error("fail %s", gave_up)
        return RunState.failed
    except RunSkipped as skipped:
        log.info("skip training run %s: %s", run_id, skipped)
        return None
