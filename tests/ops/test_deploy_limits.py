"""Issue 12B, findings 8 and 9: how the processes are deployed (compose, Dockerfile, Procfile, the stack runner).

- Training runs and evaluations have separate worker pools (a long run no longer blocks every evaluation).
- Every long-running compose service restarts, has memory and CPU limits and a healthcheck (worker, beat and
  trainer had none), and every named volume mounts at a folder the image creates for uid 10001 (``datasets`` and
  ``checkpoints`` were root-owned and unwritable).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from sightsound_ops.stack import Stack, trainer_worker_process

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
LONG_RUNNING = [name for name, svc in SERVICES.items() if name != "migrate"]


def queues_of(command: list[str]) -> str:
    return command[command.index("--queues") + 1]


def test_training_and_evaluation_have_separate_pools(tmp_path: Path) -> None:
    assert queues_of(SERVICES["trainer"]["command"]) == "train"
    assert queues_of(SERVICES["evaluator"]["command"]) == "evaluate"
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert "--queues train " in procfile["trainer"] and "--queues evaluate " in procfile["evaluator"]
    assert "beat" in procfile  # the periodic reapers run locally too
    assert queues_of(trainer_worker_process(tmp_path, queues="train").argv) == "train"


def test_the_stack_starts_one_pool_per_queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sightsound_ops.stack import ServiceProcess

    started: list[str] = []
    monkeypatch.setattr(ServiceProcess, "start", lambda self, env: started.append(queues_of(self.argv)))
    stack = Stack(env={}, log_dir=tmp_path)
    trainer = stack.add_trainer_worker()
    assert sorted(started) == ["evaluate", "train"] and queues_of(trainer.argv) == "train"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_every_long_running_service_restarts_is_limited_and_has_a_healthcheck(name: str) -> None:
    service = SERVICES[name]
    assert service.get("restart") in ("unless-stopped", "always", "on-failure"), name
    limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
    assert limits.get("memory") and limits.get("cpus"), f"{name} has no memory/CPU limits"
    assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_every_volume_mounts_at_a_folder_the_image_creates_for_its_user() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    created = set(re.findall(r"(/var/[\w/.-]+)", dockerfile.split("useradd", 1)[1]))
    image = SERVICES["api"]["image"]
    for name, service in SERVICES.items():
        if service.get("image") != image:
            continue
        for volume in service.get("volumes", []):
            target = volume.split(":")[1]
            assert target in created, f"{name} mounts {target}, which docker/Dockerfile does not create for uid 10001"
