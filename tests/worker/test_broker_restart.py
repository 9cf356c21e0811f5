"""Issue 12, restarts: a Celery worker with the threads pool (the model stages' pool) lives through a restart of its
Redis broker, whether idle or in the middle of a task, and runs what is sent after it.

Before the fix, celery 5.7.0's consumer, on losing the broker, first ``collect()``-ed its connection (which detaches
the transport: ``transport.client = None``) and then ``close()``-d it; the close restored the unacknowledged
deliveries of the still-open default channel through that detached transport, kombu's redis ``_connparams`` raised
``AttributeError: 'NoneType' object has no attribute 'hostname'``, which ``ignore_errors`` does not ignore, and the
worker died ("Unrecoverable error"). A real worker (``make_celery``'s configuration, a tiny task module written
here) and a private ``redis-server`` on a free loopback port that is really stopped and started again."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sightsound_ops.soak import PrivateRedis
from sightsound_ops.stack import ServiceProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

#: The worker's task module: our Celery configuration with one queue and one task that appends its tag to a file
#: (after sleeping, then sending a follow-up task when asked).
TASKS = '''
import os, time
from kombu import Queue
from sightsound.config import Settings
from sightsound.tasks.app import make_celery

app = make_celery(Settings(environment="test", redis_url=os.environ["PROBE_REDIS_URL"]))
app.conf.task_queues = [Queue("probe")]
app.conf.task_default_queue = "probe"
app.conf.task_routes = {}

@app.task(name="probe.mark")
def mark(tag: str, sleep_s: float = 0.0, then: str = "") -> None:
    time.sleep(sleep_s)
    if then:
        app.send_task("probe.mark", args=[then], queue="probe")
    with open(os.environ["PROBE_OUT"], "a") as out:
        out.write(tag + "\\n")
'''


class Probe:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "probe_tasks.py").write_text(TASKS)
        self.out = folder / "marks.txt"
        self.out.touch()
        self.redis = PrivateRedis(folder / "redis")
        self.env = {**os.environ, "PROBE_REDIS_URL": self.redis.url, "PROBE_OUT": str(self.out),
                    "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}
        self.worker = ServiceProcess("probe-worker", [
            sys.executable, "-m", "celery", "-A", "probe_tasks", "worker", "--queues", "probe", "--pool", "threads",
            "--concurrency", "4", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
        ], None, folder / "worker.log")

    def send(self, tag: str, sleep_s: float = 0.0, then: str = "") -> None:
        code = ("import probe_tasks, sys; probe_tasks.app.send_task('probe.mark', args=sys.argv[1:2], "
                "kwargs={'sleep_s': float(sys.argv[2]), 'then': sys.argv[3]}, queue='probe')")
        subprocess.run([sys.executable, "-c", code, tag, str(sleep_s), then], env=self.env, cwd=self.folder,
                       check=True, timeout=60)

    def marks(self) -> list[str]:
        return self.out.read_text().split()

    def wait_for(self, tag: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while tag not in self.marks():
            assert self.worker.alive(), f"the worker died:\n{self.worker.log_tail(30)}"
            assert time.monotonic() < deadline, f"{tag!r} not done in {timeout_s} s: {self.marks()}\n" \
                                                f"{self.worker.log_tail(30)}"
            time.sleep(0.2)

    def restart_redis(self, down_s: float) -> None:
        self.redis.stop()
        time.sleep(down_s)
        self.redis.start()


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[Probe]:
    probe = Probe(tmp_path)
    probe.redis.start()
    try:
        probe.worker.start(probe.env)
        probe.send("ready")
        probe.wait_for("ready", 60)
        yield probe
    finally:
        probe.worker.stop()
        probe.redis.stop()


def test_an_idle_worker_survives_a_redis_restart(probe: Probe) -> None:
    probe.restart_redis(down_s=2.0)
    probe.send("after")
    probe.wait_for("after", 60)
    assert probe.worker.alive() and probe.marks().count("after") == 1


@pytest.mark.parametrize(("task_s", "then"), [(1.5, ""), (6.0, "follow-up")],
                         ids=["ends-while-redis-is-down", "ends-after-redis-is-back-and-sends-a-task"])
def test_a_worker_in_the_middle_of_a_task_survives_a_redis_restart(probe: Probe, task_s: float, then: str) -> None:
    probe.send("running", sleep_s=task_s, then=then)
    time.sleep(0.5)  # the task has started (acks_late: its message is unacknowledged)
    probe.restart_redis(down_s=3.0)
    probe.send("after")
    for tag in ("after", "running", *([then] if then else [])):
        probe.wait_for(tag, 60)
    assert probe.worker.alive(), probe.worker.log_tail(30)
    assert "Unrecoverable error" not in probe.worker.log_tail(400)
