"""Run the whole stack locally as processes: api, teacher, verifier, student (uvicorn) and a Celery worker.

Used by ``sightsound stack up`` / ``sightsound demo`` and by the end-to-end tests, so the tests start
the services exactly the way a user does. Each process gets its own process group and is stopped with
SIGTERM (then SIGKILL after a grace period) when the stack closes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

#: Started by every stack; stopped first, in this order (the api before what it calls).
CORE_PROCESSES = ("api", "worker", "teacher", "verifier", "student")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceProcess:
    name: str
    argv: list[str]
    health_url: str | None
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    env_overrides: dict[str, str] = field(default_factory=dict)  # this process only (threads, say)

    def start(self, env: Mapping[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv, env={**env, **self.env_overrides}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the whole process group (a Celery worker has children)."""
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)

    def stop(self, grace_s: float = 10.0) -> None:
        if self.popen is None:
            return
        self.kill(signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.popen.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def trainer_worker_process(log_dir: Path, name: str = "trainer") -> ServiceProcess:
    """A Celery worker of the trainer on the ``train`` and ``evaluate`` queues: one run or evaluation at a time,
    a fresh child per task (so its GPU memory goes back when it ends)."""
    argv = [
        sys.executable, "-m", "celery", "-A", "sightsound_trainer.worker", "worker",
        "--queues", "train,evaluate", "--concurrency", "1", "--pool", "prefork", "--max-tasks-per-child", "1",
        "--loglevel", "INFO", "--hostname", f"{name}-{os.getpid()}-{time.monotonic_ns()}@%h",
        "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    return ServiceProcess(name, argv, None, log_dir / f"{name}.log")


@dataclass
class Stack:
    """The processes of a local SightSound (api, teacher, verifier, student, worker), on free loopback ports."""

    env: dict[str, str]
    log_dir: Path
    host: str = "127.0.0.1"
    api_port: int = field(default_factory=free_port)
    teacher_port: int = field(default_factory=free_port)
    verifier_port: int = field(default_factory=free_port)
    student_port: int = field(default_factory=free_port)
    worker_queues: str = "ingest,reason,verify"
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = {
            **self.env,
            "SIGHTSOUND_TEACHER_URL": self.url(self.teacher_port),
            "SIGHTSOUND_VERIFIER_URL": self.url(self.verifier_port),
            "SIGHTSOUND_STUDENT_URL": self.url(self.student_port),
            "SIGHTSOUND_API_PUBLIC_URL": self.url(self.api_port),
            "PYTHONUNBUFFERED": "1",
        }
        py = sys.executable
        self.processes = {
            "teacher": self._uvicorn("teacher", "sightsound_teacher", self.teacher_port, py),
            "verifier": self._uvicorn("verifier", "sightsound_verifier", self.verifier_port, py),
            "student": self._uvicorn("student", "sightsound_student", self.student_port, py),
            "api": self._uvicorn("api", "sightsound_api", self.api_port, py),
            "worker": self.worker_process(),
        }

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"

    @property
    def api_url(self) -> str:
        return self.url(self.api_port)

    def _uvicorn(self, name: str, module: str, port: int, py: str) -> ServiceProcess:
        return ServiceProcess(
            name,
            [py, "-m", module, "--host", self.host, "--port", str(port)],
            f"{self.url(port)}/readyz",
            self.log_dir / f"{name}.log",
        )

    def worker_process(self, name: str = "worker") -> ServiceProcess:
        argv = [
            sys.executable, "-m", "celery", "-A", "sightsound_worker.app", "worker",
            "--queues", self.worker_queues, "--concurrency", "1", "--pool", "prefork",
            "--loglevel", "INFO", "--hostname", f"{name}-{os.getpid()}-{time.monotonic_ns()}@%h",
            "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        return ServiceProcess(name, argv, None, self.log_dir / f"{name}.log")

    def start(self, timeout_s: float = 180.0) -> None:
        for proc in self.processes.values():
            proc.start(self.env)
        deadline = time.monotonic() + timeout_s
        for proc in self.processes.values():
            if proc.health_url is not None:
                self.wait_ready(proc, deadline)

    def wait_ready(self, proc: ServiceProcess, deadline: float) -> None:
        assert proc.health_url is not None
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited during start:\n{proc.log_tail()}")
            try:
                if httpx.get(proc.health_url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{proc.name} not ready at {proc.health_url}:\n{proc.log_tail()}")

    def replace_worker(self) -> ServiceProcess:
        """Start a fresh worker in place of the current one (after a kill, say)."""
        worker = self.worker_process()
        worker.start(self.env)
        self.processes["worker"] = worker
        return worker

    def add_trainer_worker(self, name: str = "trainer") -> ServiceProcess:
        """Start a trainer worker beside the stack (or a fresh one in place of a dead one)."""
        trainer = trainer_worker_process(self.log_dir, name)
        trainer.start(self.env)
        self.processes[name] = trainer
        return trainer

    def stop(self) -> None:
        for name in CORE_PROCESSES:
            self.processes[name].stop()
        for name, proc in self.processes.items():  # added workers (a trainer, say)
            if name not in CORE_PROCESSES:
                proc.stop()

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
