"""A soak ended by SIGTERM (what ``timeout`` sends) leaves no process behind: the API, the workers, the model
stand-ins (each in a process group of its own, out of reach of a signal to the driver's) and the private Redis are
all stopped. Before, Python's default SIGTERM ended the driver on the spot and they ran on with parent PID 1."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from sightsound.config import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DRIVER = ("import sys; from pathlib import Path; from sightsound_ops.soak import run_soak; "
          "run_soak(sys.argv[1], Path(sys.argv[2]), uploads=40, clients=4, distinct_clips=4, timeout_s=300)")


def started_by(work: Path, exclude: int) -> list[psutil.Process]:
    """Processes of the soak in ``work``: its folder in their command line, environment or working directory (a
    redis-server's title hides its ``--dir``, where it runs)."""
    found = []
    for proc in psutil.process_iter():
        if proc.pid == exclude:
            continue
        try:
            if (str(work) in " ".join(proc.cmdline()) or str(work) in proc.cwd()
                    or any(str(work) in v for v in proc.environ().values())):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def test_sigterm_stops_every_process_the_soak_started(settings: Settings, tmp_path: Path) -> None:
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, settings.database_url, str(tmp_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while not list((tmp_path / "logs").glob("models-*.log")):  # the rig is up and the model worker started
            assert driver.poll() is None, driver.communicate()[0].decode(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the soak's workers did not start"
            time.sleep(0.5)
        time.sleep(3.0)  # uploads in flight
        running = started_by(tmp_path, exclude=driver.pid)
        names = " ".join(" ".join(p.cmdline()) for p in running)
        for what in ("redis-server", "sightsound_api", "model_standins", "sightsound_worker.app"):
            assert what in names, (what, names)
        driver.send_signal(signal.SIGTERM)
        output = driver.communicate(timeout=120)[0].decode(errors="replace")
        assert driver.returncode == 128 + signal.SIGTERM, output[-3000:]
        _, alive = psutil.wait_procs(running, timeout=30)
        assert not alive, [" ".join(p.cmdline()) for p in alive]
        assert not started_by(tmp_path, exclude=driver.pid)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        for proc in started_by(tmp_path, exclude=driver.pid):  # whatever a failed run left
            proc.kill()
