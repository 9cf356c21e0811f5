"""``sightsound stack`` starts a Celery worker that exited again, as compose's ``restart: unless-stopped`` does,
unless it keeps dying (a crash loop ends the stack); a server that exits still ends it. Cheap stand-in processes."""

from __future__ import annotations

import sys
from pathlib import Path

from sightsound_ops.stack import WORKER_RESTART_LIMIT, WORKER_RESTART_WINDOW_S, ServiceProcess, Stack


def test_a_dead_worker_is_started_again_until_it_crash_loops(tmp_path: Path) -> None:
    stack = Stack(env={"SIGHTSOUND_SERVICE_TOKEN": "t"}, log_dir=tmp_path)
    server = ServiceProcess("api", [sys.executable, "-c", "raise SystemExit(1)"], "http://127.0.0.1:1/readyz",
                            tmp_path / "api.log")
    worker = ServiceProcess("worker", [sys.executable, "-c", "print('boom'); raise SystemExit(3)"], None,
                            tmp_path / "worker.log")
    stack.processes = {"api": server, "worker": worker}
    try:
        for proc in stack.processes.values():
            proc.start(stack.env)

        def wait_dead() -> None:
            assert worker.popen is not None
            worker.popen.wait(timeout=30)

        wait_dead()
        assert stack.restart_dead_workers(now=0.0) == ["worker"]
        first = worker.pid
        for i in range(1, WORKER_RESTART_LIMIT):
            wait_dead()
            assert stack.restart_dead_workers(now=float(i)) == ["worker"]
        assert worker.pid != first
        wait_dead()
        assert stack.restart_dead_workers(now=float(WORKER_RESTART_LIMIT)) == []  # a crash loop: left dead
        assert stack.restart_dead_workers(now=WORKER_RESTART_WINDOW_S + 10) == ["worker"]  # the window moved on
        assert server.popen is not None and server.popen.wait(timeout=30) == 1
        assert not server.alive()  # a dead server is never started again: the stack ends
    finally:
        for proc in stack.processes.values():
            proc.stop(grace_s=5)
