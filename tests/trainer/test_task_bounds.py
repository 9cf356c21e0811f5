"""Issue 12B: training runs and evaluations are bounded like pipeline jobs (findings 2, 8 and 10).

A run or evaluation whose worker dies is taken again by the next delivery; past ``max_attempts`` deliveries it
fails with the reason instead of killing workers forever. No model is loaded here: every case is decided
before training or answering starts.
"""

from __future__ import annotations

import uuid

import pytest

from sightsound.config import Settings
from sightsound.db.models import Dataset, Evaluation, RunState, Split, TrainingRun
from sightsound.db.session import session_scope
from sightsound_trainer.evaluation.runner import execute_evaluation
from sightsound_trainer.runner import execute_run


@pytest.fixture(scope="module")
def dataset_id(settings: Settings) -> uuid.UUID:
    with session_scope(settings.database_url) as session:
        dataset = Dataset(name=f"bounds-{uuid.uuid4().hex[:8]}", version=1, export_url="file:///nowhere.jsonl",
                          counts={"records": 1})
        session.add(dataset)
        session.flush()
        return dataset.id


def new_run(settings: Settings, dataset_id: uuid.UUID, *, attempts: int, state: RunState) -> uuid.UUID:
    run_id = uuid.uuid4()
    with session_scope(settings.database_url) as session:
        session.add(TrainingRun(id=run_id, dataset_id=dataset_id, student_model="tiny-random", stages=["sft"],
                                hyperparameters={}, state=state, progress={}, attempts=attempts))
    return run_id


def new_evaluation(settings: Settings, *, attempts: int, state: RunState) -> uuid.UUID:
    evaluation_id = uuid.uuid4()
    with session_scope(settings.database_url) as session:
        session.add(Evaluation(id=evaluation_id, model_ref="base:tiny-random", model_label="x", benchmark="none",
                               split=Split.test, settings={}, state=state, progress={}, results={},
                               attempts=attempts))
    return evaluation_id


def test_a_run_past_its_delivery_cap_fails_instead_of_training_again(settings: Settings,
                                                                     dataset_id: uuid.UUID) -> None:
    # running with a free lock: its worker died (killed by this run, say) max_attempts times already
    run_id = new_run(settings, dataset_id, attempts=settings.max_attempts, state=RunState.running)
    assert execute_run(settings, run_id) is RunState.failed
    with session_scope(settings.database_url) as session:
        run = session.get_one(TrainingRun, run_id)
        assert run.state is RunState.failed and run.attempts == settings.max_attempts + 1
        assert run.error is not None and "SIGHTSOUND_MAX_ATTEMPTS" in run.error
    assert execute_run(settings, run_id) is None  # and it stays failed


def test_an_evaluation_past_its_delivery_cap_fails_instead_of_running_again(settings: Settings) -> None:
    evaluation_id = new_evaluation(settings, attempts=settings.max_attempts, state=RunState.running)
    assert execute_evaluation(settings, evaluation_id) is RunState.failed
    with session_scope(settings.database_url) as session:
        evaluation = session.get_one(Evaluation, evaluation_id)
        assert evaluation.state is RunState.failed and evaluation.finished_at is not None
        assert evaluation.error is not None and "SIGHTSOUND_MAX_ATTEMPTS" in evaluation.error


# --- finding 8: a run's wall clock, its student model, its steps and tokens --------------------------------


def test_a_subprocess_past_its_wall_clock_limit_is_killed_with_its_children(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import sys
    import time

    from sightsound_trainer.runner import RunTimedOut, run_with_deadline

    pid_file = tmp_path / "child.pid"
    # a parent (standing for torchrun) with a child (a rank) that would both outlive any test
    script = ("import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; "
              f"time.sleep(120)']); open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(120)")
    started = time.monotonic()
    with pytest.raises(RunTimedOut, match="wall-clock limit of 2 s"):
        run_with_deadline([sys.executable, "-c", script], tmp_path / "launch.log", dict(os.environ), timeout_s=2)
    assert time.monotonic() - started < 30
    child = int(pid_file.read_text())
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the rank outlived its run")
    assert run_with_deadline([sys.executable, "-c", "pass"], tmp_path / "ok.log", dict(os.environ), timeout_s=30) == 0
