"""Run the whole stack locally as processes: api, teacher, verifier, student (uvicorn) and the pipeline workers (the
model stages' threads pool and the ingest pool).

Used by ``sightsound stack up`` / ``sightsound demo`` and by the end-to-end tests, so the tests start
the services exactly the way a user does. Each process gets its own process group and is stopped with
SIGTERM (then SIGKILL after a grace period) when the stack closes.

Authentication is on, as in production: the stack gives its services a fresh service token (unless the
environment sets ``SIGHTSOUND_SERVICE_TOKEN``) and, when it starts, creates an ``admin`` API key for this run
(:attr:`Stack.api_key`; :attr:`Stack.http` sends it), which it revokes when it stops.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from sightsound.config import get_settings
from sightsound.db.keys import create_key, revoke_key
from sightsound.db.session import session_scope

#: Started by every stack; stopped first, in this order (the api before what it calls).
CORE_PROCESSES = ("api", "worker", "ingest", "teacher", "verifier", "student")
#: A worker that exits is started again, unless it died this many times within this many seconds (a crash loop).
WORKER_RESTART_LIMIT = 5
WORKER_RESTART_WINDOW_S = 300.0


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


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """SIGTERM (what ``timeout`` and ``kill`` send) and SIGHUP raise ``SystemExit`` in the main thread while inside,
    so the ``finally`` blocks run and stop every process started (each is in a process group of its own,
    out of reach of a signal to ours); Python's default would end the process on the spot and leave them running.
    SIGINT already raises ``KeyboardInterrupt``. Outside the main thread, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, _frame: object) -> None:
        for sig in previous:  # a second signal must not cut the clean-up short (SIGKILL still can)
            signal.signal(sig, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, _raise) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def trainer_worker_process(log_dir: Path, name: str = "trainer", queues: str = "train,evaluate") -> ServiceProcess:
    """A Celery worker of the trainer on ``queues``: one run or evaluation at a time, a fresh child per task (so its
    GPU memory goes back when it ends). The stack runs one pool per queue, so a long run never blocks evaluations."""
    argv = [
        sys.executable, "-m", "celery", "-A", "sightsound_trainer.worker", "worker",
        "--queues", queues, "--concurrency", "1", "--pool", "prefork", "--max-tasks-per-child", "1",
        "--loglevel", "INFO", "--hostname", f"{name}-{os.getpid()}-{time.monotonic_ns()}@%h",
        "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    return ServiceProcess(name, argv, None, log_dir / f"{name}.log")


def pipeline_worker_process(log_dir: Path, name: str, queues: str, *, pool: str, concurrency: int) -> ServiceProcess:
    """A pipeline worker (``sightsound_worker.app``) on ``queues``, with a hostname of its own (several run at once)."""
    argv = [
        sys.executable, "-m", "celery", "-A", "sightsound_worker.app", "worker",
        "--queues", queues, "--concurrency", str(concurrency), "--pool", pool,
        "--loglevel", "INFO", "--hostname", f"{name}-{os.getpid()}-{time.monotonic_ns()}@%h",
        "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    return ServiceProcess(name, argv, None, log_dir / f"{name}.log")


def wait_ready(proc: ServiceProcess, deadline: float) -> None:
    """Poll the process's health URL until it answers 200; raise if it exits or ``deadline`` passes."""
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
    #: The model stages' pool (threads: they wait on HTTP) and the ingest pool (processes: CPU); README "Scaling out".
    worker_queues: str = "reason,verify"
    worker_threads: int = 8
    ingest_queues: str = "ingest"
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    #: The run's admin key (``None`` before ``start`` and with ``SIGHTSOUND_AUTH=off``).
    api_key: str | None = None
    _key_id: str | None = None
    _http: httpx.Client | None = None
    _worker_restarts: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.env.get("SIGHTSOUND_SERVICE_TOKEN"):
            self.env = {**self.env, "SIGHTSOUND_SERVICE_TOKEN": secrets.token_urlsafe(32)}
        # A laptop's in-process teacher and verifier serve one request at a time best (one each in flight, the two
        # stages overlapping); a stack in front of vLLM sets its own limits.
        self.env = {"SIGHTSOUND_TEACHER_MAX_IN_FLIGHT": "1", "SIGHTSOUND_VERIFIER_MAX_IN_FLIGHT": "1", **self.env}
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
            "ingest": self.ingest_process(),
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
        """The reason and verify pool: threads, each waiting on one model call (the in-flight limits hold)."""
        return pipeline_worker_process(self.log_dir, name, self.worker_queues, pool="threads",
                                       concurrency=self.worker_threads)

    def ingest_process(self, name: str = "ingest") -> ServiceProcess:
        """The ingest pool (and beat's reapers): one process per core, at most 2 on a laptop beside the models."""
        return pipeline_worker_process(self.log_dir, name, self.ingest_queues, pool="prefork",
                                       concurrency=min(2, os.cpu_count() or 1))

    @property
    def database_url(self) -> str:
        return self.env.get("SIGHTSOUND_DATABASE_URL") or get_settings().database_url

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    @property
    def http(self) -> httpx.Client:
        """An HTTP client that sends the run's API key (for absolute URLs under :attr:`api_url`)."""
        if self._http is None:
            self._http = httpx.Client(headers=self.auth_headers, timeout=30)
        return self._http

    def create_api_key(self) -> None:
        """An ``admin`` key for this run, in the stack's database (revoked by :meth:`stop`)."""
        if self.api_key is not None or self.env.get("SIGHTSOUND_AUTH", "").lower() == "off":
            return
        with session_scope(self.database_url) as session:
            created = create_key(session, f"stack run (pid {os.getpid()}, api port {self.api_port})", "admin")
            self.api_key, self._key_id = created.secret, str(created.key.id)

    def revoke_api_key(self) -> None:
        if self._key_id is None:
            return
        with contextlib.suppress(Exception), session_scope(self.database_url) as session:  # best effort on the way out
            revoke_key(session, self._key_id)
        self._key_id = None

    def start(self, timeout_s: float = 180.0) -> None:
        self.create_api_key()
        for proc in self.processes.values():
            proc.start(self.env)
        deadline = time.monotonic() + timeout_s
        for proc in self.processes.values():
            if proc.health_url is not None:
                self.wait_ready(proc, deadline)

    def wait_ready(self, proc: ServiceProcess, deadline: float) -> None:
        wait_ready(proc, deadline)

    def replace_worker(self) -> ServiceProcess:
        """Start a fresh worker in place of the current one (after a kill, say)."""
        worker = self.worker_process()
        worker.start(self.env)
        self.processes["worker"] = worker
        return worker

    def add_trainer_worker(self, name: str = "trainer") -> ServiceProcess:
        """Start the trainer's two worker pools beside the stack (or fresh ones in place of dead ones): ``name`` on
        the ``train`` queue (returned) and ``<name>-evaluate`` on ``evaluate``, so a long training run does not
        hold up every evaluation."""
        for proc_name, queue in ((f"{name}-evaluate", "evaluate"), (name, "train")):
            worker = trainer_worker_process(self.log_dir, proc_name, queues=queue)
            worker.start(self.env)
            self.processes[proc_name] = worker
        return self.processes[name]

    def restart_dead_workers(self, now: float | None = None) -> list[str]:
        """Start again each Celery worker (a process without a health URL) that has exited, its log tail printed,
        as compose's ``restart: unless-stopped`` does; the names restarted. A worker that died
        :data:`WORKER_RESTART_LIMIT` times within :data:`WORKER_RESTART_WINDOW_S` is left dead (a crash loop):
        :meth:`serve_until_interrupted` then ends the stack."""
        now = time.monotonic() if now is None else now
        restarted = []
        for name, proc in self.processes.items():
            if proc.health_url is not None or proc.alive():
                continue
            recent = [t for t in self._worker_restarts.get(name, []) if now - t < WORKER_RESTART_WINDOW_S]
            if len(recent) >= WORKER_RESTART_LIMIT:
                continue
            code = proc.popen.returncode if proc.popen is not None else None
            print(f"{name} exited ({code}); starting it again:\n{proc.log_tail(15)}", file=sys.stderr, flush=True)
            proc.start(self.env)
            self._worker_restarts[name] = [*recent, now]
            restarted.append(name)
        return restarted

    def serve_until_interrupted(self) -> int:
        """Keep the stack up until SIGINT/SIGTERM (0) or until one of its servers dies (1, its log tail printed).
        A worker that exits is started again (:meth:`restart_dead_workers`), unless it keeps dying."""
        stop = False

        def _stop(*_: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        while not stop:
            self.restart_dead_workers()
            for proc in self.processes.values():
                if not proc.alive():
                    print(f"{proc.name} exited:\n{proc.log_tail()}", file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0

    def stop(self) -> None:
        for name in CORE_PROCESSES:
            self.processes[name].stop()
        for name, proc in self.processes.items():  # added workers (a trainer, say)
            if name not in CORE_PROCESSES:
                proc.stop()
        if self._http is not None:
            self._http.close()
            self._http = None
        self.revoke_api_key()

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
