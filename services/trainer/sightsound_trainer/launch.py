"""Run training stages as one rank of a (possibly) distributed job: ``torchrun … -m sightsound_trainer.launch``.

Two ways in:

- ``--run-id ID``: a run recorded in PostgreSQL and claimed by the Celery task that started this
  ``torchrun`` (with ``trainer_processes`` > 1). Rank 0 writes progress and checkpoints rows and, at the
  end, ``outcome.json`` in the run folder for the task to read.
- ``--config job.json``: a standalone job without a database (benches, tests, a first try on a new
  machine): ``{"records": "data.jsonl", "student_model": "tiny-random", "stages": ["sft"],
  "hyperparameters": {...}, "run_dir": "…", "device": "cpu"}``. Every rank writes a digest of its
  trainable weights to ``weights-rank<r>.json`` so replicas can be compared.

The loops use ``accelerate``: under ``torchrun`` (or ``accelerate launch``) the environment tells it the
rank and world size, and it picks NCCL on GPUs and gloo on CPU.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import torch

from sightsound.contracts.training import DatasetRecord, Hyperparameters
from sightsound_trainer.context import MemoryMonitor
from sightsound_trainer.runner import OUTCOME_FILE, Resume, Trained, train_stages

log = logging.getLogger("sightsound.trainer.launch")


def weights_digest(model: torch.nn.Module) -> dict[str, str]:
    """SHA-256 of every parameter, keyed by name (equal digests: equal weights)."""
    return {
        name: hashlib.sha256(param.detach().float().cpu().numpy().tobytes()).hexdigest()
        for name, param in model.named_parameters()
    }


def _rank() -> int:
    return int(os.environ.get("RANK", "0"))


def run_config(path: Path) -> Trained:
    job = json.loads(path.read_text())
    lines = Path(job["records"]).read_text().splitlines()
    records = [DatasetRecord.model_validate_json(line) for line in lines if line.strip()]
    hp = Hyperparameters.model_validate(job.get("hyperparameters", {}))
    run_dir = Path(job["run_dir"])
    monitor = MemoryMonitor()
    trained = train_stages(records, job["student_model"], job["stages"], hp, run_dir, monitor,
                           device=job.get("device", "auto"))
    if trained.student is not None:
        digest = weights_digest(trained.student.model)
        (run_dir / f"weights-rank{_rank()}.json").write_text(json.dumps(digest, indent=1, sort_keys=True))
    if _rank() == 0:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        (run_dir / "steps.json").write_text(json.dumps({"world_size": world, "steps": monitor.steps}, indent=1))
    return trained


def run_recorded(run_id: uuid.UUID) -> Trained:
    from sightsound.config import get_settings
    from sightsound.snapshot.create import read_records
    from sightsound_trainer.run_records import DatabaseMonitor, load_spec, recorded_checkpoints

    settings = get_settings()
    spec = load_spec(settings, run_id)
    resume = Resume.from_folders([f for _, _, f in recorded_checkpoints(settings, run_id)])
    monitor = DatabaseMonitor(settings, run_id, spec.stages, resumed_from=resume.latest())
    trained = train_stages(read_records(spec.dataset_export_url), spec.student_model, spec.stages,
                           spec.hyperparameters, spec.run_dir, monitor, resume, settings.trainer_device)
    if _rank() == 0:
        (spec.run_dir / OUTCOME_FILE).write_text(json.dumps({"cancelled": trained.cancelled}))
    return trained


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sightsound_trainer.launch", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run-id", type=uuid.UUID, help="a training run recorded in PostgreSQL")
    source.add_argument("--config", type=Path, help="a standalone job file (JSON)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s rank{_rank()} %(levelname)s %(name)s: %(message)s")
    if args.config is not None:
        run_config(args.config)
    else:
        run_recorded(args.run_id)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
