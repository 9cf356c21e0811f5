"""A pipeline under load: the real API, pipeline workers, PostgreSQL and Redis, with the teacher and verifier
replaced by stand-ins that answer in a set time and batch like vLLM (:mod:`sightsound_devdata.model_standins`).

Used by the throughput benchmark (``perf/pipeline.py``) and the many-workers test (``tests/e2e``): it starts the
processes, submits jobs through ``POST /v1/clips`` and follows them in PostgreSQL. Workers are started and killed
at will (``add_model_worker``, ``add_ingest_worker``, ``kill``), the way several hosts' workers come and go.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from sightsound.db.keys import create_key
from sightsound.db.models import TERMINAL_STATES, Job
from sightsound.db.session import session_scope
from sightsound_ops.stack import ServiceProcess, free_port, pipeline_worker_process, signals_raise, wait_ready

CHOICES = ["A person speaking", "A dog barking", "Piano music", "Nothing at all"]


@dataclass
class PipelineRig:
    env: dict[str, str]
    log_dir: Path
    database_url: str
    teacher_s: float = 1.5
    verifier_s: float = 1.5
    slope: float = 0.001
    no_consensus: float = 0.0
    reject: float = 0.0
    #: Optional wrapper argv put before ``-m module`` of the API and the workers (statement counting, say).
    python: list[str] = field(default_factory=lambda: [sys.executable])
    api_port: int = field(default_factory=free_port)
    models_port: int = field(default_factory=free_port)
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    api_key: str = ""
    _serial: int = 0
    _http: httpx.Client | None = None
    _signals: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def __post_init__(self) -> None:
        models = f"http://127.0.0.1:{self.models_port}"
        self.env = {
            **self.env,
            "SIGHTSOUND_DATABASE_URL": self.database_url,
            "SIGHTSOUND_TEACHER_URL": models,
            "SIGHTSOUND_VERIFIER_URL": models,
            "SIGHTSOUND_API_PUBLIC_URL": self.api_url,
            "PYTHONUNBUFFERED": "1",
        }

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def models_url(self) -> str:
        return f"http://127.0.0.1:{self.models_port}"

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(headers={"Authorization": f"Bearer {self.api_key}"}, timeout=60,
                                      limits=httpx.Limits(max_connections=64))
        return self._http

    # --- processes ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        with session_scope(self.database_url) as session:
            self.api_key = create_key(session, "pipeline rig", "admin").secret
        standins = ServiceProcess("models", [
            sys.executable, "-m", "sightsound_devdata.model_standins", "--port", str(self.models_port),
            "--teacher-s", str(self.teacher_s), "--verifier-s", str(self.verifier_s), "--slope", str(self.slope),
            "--no-consensus", str(self.no_consensus), "--reject", str(self.reject),
        ], f"{self.models_url}/healthz", self.log_dir / "models.log")
        api = ServiceProcess("api", [*self.python, "-m", "sightsound_api", "--host", "127.0.0.1", "--port",
                                     str(self.api_port)], f"{self.api_url}/readyz", self.log_dir / "api.log")
        for proc in (standins, api):
            proc.start(self.env)
            self.processes[proc.name] = proc
        for proc in (standins, api):
            wait_ready(proc, time.monotonic() + 120.0)

    def _worker(self, kind: str, queues: str, pool: str, concurrency: int, env: dict[str, str] | None) -> str:
        self._serial += 1
        name = f"{kind}-{self._serial}"
        proc = pipeline_worker_process(self.log_dir, name, queues, pool=pool, concurrency=concurrency)
        proc.argv = [*self.python, *proc.argv[1:]]
        proc.argv[proc.argv.index("INFO")] = "WARNING"  # a log line per task costs CPU at 100 tasks/s
        proc.env_overrides = dict(env or {})
        proc.start(self.env)
        self.processes[name] = proc
        return name

    def add_model_worker(self, threads: int, env: dict[str, str] | None = None, pool: str = "threads") -> str:
        """A reason + verify worker (a threads pool; ``pool="prefork"`` for comparison); returns its name."""
        return self._worker("models", "reason,verify", pool, threads, env)

    def add_ingest_worker(self, processes: int = 1, env: dict[str, str] | None = None) -> str:
        return self._worker("ingest", "ingest", "prefork", processes, env)

    def workers(self) -> list[str]:
        return [name for name in self.processes if name.startswith(("models-", "ingest-"))]

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.processes.pop(name)
        proc.kill(sig)
        if proc.popen is not None:
            proc.popen.wait(timeout=30)

    def stop_workers(self) -> None:
        for name in self.workers():
            self.processes.pop(name).stop()

    def stop(self) -> None:
        self.stop_workers()
        for name in list(self.processes):
            self.processes.pop(name).stop()
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> PipelineRig:
        self._signals.enter_context(signals_raise())  # SIGTERM stops the rig's processes too
        try:
            self.start()
        except BaseException:
            try:
                self.stop()
            finally:
                self._signals.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        try:
            self.stop()
        finally:
            self._signals.close()

    # --- jobs --------------------------------------------------------------------------------------------------
    def submit(self, clip: Path, question: str | None = None) -> dict[str, Any]:
        """One upload (202): a new question on ``clip`` (the clip itself is stored once)."""
        text = question or f"What is heard? ({uuid.uuid4().hex[:12]})"
        with clip.open("rb") as handle:
            response = self.http.post(f"{self.api_url}/v1/clips",
                                      files={"video": (clip.name, handle, "video/mp4")},
                                      data={"question": text, "choices": CHOICES, "category": "load"})
        if response.status_code != 202:
            raise RuntimeError(f"upload refused: {response.status_code} {response.text[:300]}")
        return dict(response.json())

    def submit_many(self, clips: list[Path], count: int, parallel: int = 8) -> list[str]:
        """``count`` uploads spread over ``clips``, ``parallel`` at a time; the job ids."""
        with ThreadPoolExecutor(parallel) as pool:
            jobs = list(pool.map(lambda i: self.submit(clips[i % len(clips)]), range(count)))
        return [str(job["id"]) for job in jobs]

    def states(self, job_ids: list[str] | None = None) -> Counter[str]:
        with session_scope(self.database_url) as session:
            stmt = select(Job.state, func.count()).group_by(Job.state)
            if job_ids is not None:
                stmt = stmt.where(Job.id.in_([uuid.UUID(j) for j in job_ids]))
            return Counter({state.value: int(n) for state, n in session.execute(stmt)})

    def wait_terminal(self, job_ids: list[str], timeout_s: float, poll_s: float = 0.5) -> Counter[str]:
        deadline = time.monotonic() + timeout_s
        terminal = {s.value for s in TERMINAL_STATES}
        while True:
            states = self.states(job_ids)
            if sum(n for s, n in states.items() if s in terminal) >= len(job_ids):
                return states
            if time.monotonic() > deadline:
                tails = "\n".join(f"--- {p.name}\n{p.log_tail(15)}" for p in self.processes.values())
                raise TimeoutError(f"jobs not finished after {timeout_s:.0f} s: {dict(states)}\n{tails}")
            time.sleep(poll_s)

    def model_stats(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.models_url}/stats", timeout=30).json())

    def reset_model_stats(self) -> None:
        httpx.post(f"{self.models_url}/stats/reset", timeout=10)


def rig_env(database_url: str, redis_url: str, media_root: Path, **extra: str) -> dict[str, str]:
    """The environment of a rig's processes: this one's, minus any ``SIGHTSOUND_*``, plus the rig's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGHTSOUND_")}
    env.update({
        "SIGHTSOUND_ENVIRONMENT": "test",
        "SIGHTSOUND_DATABASE_URL": database_url,
        "SIGHTSOUND_REDIS_URL": redis_url,
        "SIGHTSOUND_MEDIA_ROOT": str(media_root),
        "SIGHTSOUND_SERVICE_TOKEN": os.environ.get("SIGHTSOUND_SERVICE_TOKEN") or uuid.uuid4().hex,
        "SIGHTSOUND_FRAMES_PER_CLIP": "4",
        "SIGHTSOUND_FRAME_MAX_SIDE": "112",
        "SIGHTSOUND_TRACES_PER_QUESTION": "4",
        "SIGHTSOUND_TASK_RETRY_BACKOFF_S": "0.5",
        # The rig measures the pipeline: one key uploads hundreds of clips a minute, past any sane per-key budget.
        "SIGHTSOUND_RATE_LIMIT_WRITE": "100000/minute",
        "SIGHTSOUND_RATE_LIMIT_READ": "100000/minute",
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        **extra,
    })
    return env
