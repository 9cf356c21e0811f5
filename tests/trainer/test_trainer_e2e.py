"""The learnable task through real processes: uvicorn API, a Celery trainer worker, PostgreSQL, Redis.

``POST /v1/datasets`` snapshots the accepted traces, ``POST /v1/training-runs`` queues SFT then GRPO on
the tiny student; the worker is killed (SIGKILL) right after the first GRPO checkpoint, a fresh worker
re-sends the orphaned run when it starts, and the run resumes from that checkpoint to the end. The
progress the API shows has the SFT loss falling and the GRPO accuracy rising; checkpoints are rows in
PostgreSQL with their folders on disk.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from sightsound.config import Settings
from sightsound.db.models import RunState, TrainingRun
from sightsound.db.session import session_scope
from sightsound_ops.stack import ServiceProcess, free_port, trainer_worker_process
from tests.conftest import TEST_SERVICE_TOKEN
from tests.trainer import learnable

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@dataclass
class TrainerStack:
    """The API and a trainer worker as processes, started the way a user starts them."""

    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))  # sends the API key (fixture)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        import sys

        api = ServiceProcess("api", [sys.executable, "-m", "sightsound_api", "--host", "127.0.0.1", "--port",
                                     str(self.port)], f"{self.api_url}/readyz", self.log_dir / "api.log")
        api.start(self.env)
        self.processes["api"] = api
        self.start_trainer()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert api.alive(), api.log_tail()
            try:
                if httpx.get(f"{self.api_url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(api.log_tail())

    def start_trainer(self) -> ServiceProcess:
        trainer = trainer_worker_process(self.log_dir)
        trainer.start(self.env)
        self.processes["trainer"] = trainer
        return trainer

    def stop(self) -> None:
        for proc in self.processes.values():
            proc.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log_tail(40)}" for p in self.processes.values())


@pytest.fixture(scope="module")
def stack(api_key: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrainerStack]:
    # Runs other tests left queued (they had no worker) must not be taken by this worker when it starts.
    with session_scope(settings.database_url) as session:
        session.execute(update(TrainingRun).where(TrainingRun.state.in_([RunState.queued, RunState.running]))
                        .values(state=RunState.cancelled))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGHTSOUND_")}
    env.update({
        "SIGHTSOUND_ENVIRONMENT": "test",
        "SIGHTSOUND_DATABASE_URL": settings.database_url,
        "SIGHTSOUND_REDIS_URL": settings.redis_url,
        "SIGHTSOUND_MEDIA_ROOT": str(settings.media_root),
        "SIGHTSOUND_SERVICE_TOKEN": TEST_SERVICE_TOKEN,
        "SIGHTSOUND_DATASET_ROOT": str(tmp_path_factory.mktemp("datasets")),
        "SIGHTSOUND_TRAINER_OUTPUT_ROOT": str(tmp_path_factory.mktemp("runs")),
        "SIGHTSOUND_TRAINER_DEVICE": "cpu",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    })
    running = TrainerStack(env, tmp_path_factory.mktemp("trainer-logs"))
    running.http.headers["Authorization"] = f"Bearer {api_key}"
    try:
        running.start()
        yield running
    finally:
        running.stop()
    assert not any(p.alive() for p in running.processes.values())


def wait_run(stack: TrainerStack, run_id: str, done: Any, timeout_s: float = 420) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        run = stack.http.get(f"{stack.api_url}/v1/training-runs/{run_id}", timeout=10).json()
        if done(run):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} stuck: {run.get('state')} {run.get('progress', {}).get('step')}\n"
                         f"{stack.logs()}")


def test_a_training_run_through_the_api_learns_survives_a_worker_kill_and_records_checkpoints(
    stack: TrainerStack, settings: Settings, task_clips: list[learnable.TaskClip]
) -> None:
    category = f"e2e-train-{uuid.uuid4().hex[:8]}"
    with session_scope(settings.database_url) as session:
        learnable.insert_task(session, task_clips, category)
    created = stack.http.post(f"{stack.api_url}/v1/datasets", timeout=60, json={
        "name": category, "variant": "cot", "filters": {"categories": [category]}})
    assert created.status_code == 201, created.text
    dataset = created.json()
    assert dataset["counts"]["records"] == 2 * len(task_clips)

    response = stack.http.post(f"{stack.api_url}/v1/training-runs", timeout=30, json={
        "dataset_id": dataset["id"], "student_model": "tiny-random", "stages": ["sft", "grpo"],
        "hyperparameters": learnable.HYPERPARAMETERS})
    assert response.status_code == 202, response.text
    run_id = response.json()["id"]
    assert response.headers["location"] == f"/v1/training-runs/{run_id}"

    seen = wait_run(stack, run_id, lambda r: any(c["stage"] == "grpo" for c in r["checkpoints"])
                    or r["state"] not in ("queued", "running"))
    assert seen["state"] == "running", seen.get("error")
    assert seen["progress"]["eta_s"] is not None and seen["progress"]["total_steps"] == 36
    worker = stack.processes["trainer"]
    worker.kill(signal.SIGKILL)
    assert worker.popen is not None
    worker.popen.wait(timeout=10)
    stack.start_trainer()  # on start it re-sends the orphaned run; the run resumes from its last checkpoint

    run = wait_run(stack, run_id, lambda r: r["state"] in ("succeeded", "failed", "cancelled"))
    assert run["state"] == "succeeded", run["error"]
    assert run["attempts"] == 2 and "/grpo/step-" in run["progress"]["resumed_from"]
    history: dict[tuple[str, int], dict[str, Any]] = {(h["stage"], h["step"]): h for h in run["progress"]["history"]}
    sft_loss = [history[("sft", s)]["loss"] for s in range(1, 81)]
    accuracy = [history[("grpo", s)]["accuracy"] for s in range(1, 37)]
    learnable.assert_learned(sft_loss, accuracy)

    rows = {(c["stage"], c["step"]): c for c in run["checkpoints"]}
    assert {("sft", 80), ("grpo", 12), ("grpo", 24), ("grpo", 36)} <= set(rows)
    final = rows[("grpo", 36)]
    assert final["metrics"]["complete"] is True and "accuracy" in final["metrics"]
    folder = Path(final["url"].removeprefix("file://"))
    assert (folder / "adapter_model.safetensors").exists() and (folder / "checkpoint.json").exists()
