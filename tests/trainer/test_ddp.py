"""The loops under torchrun: 2 processes on CPU (gloo) end a step holding the same weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sightsound.contracts.training import DatasetRecord
from sightsound_student_model.loading import load_student
from sightsound_trainer.launch import weights_digest

pytestmark = pytest.mark.slow

JOB = {
    "student_model": "tiny-random",
    "stages": ["sft", "grpo"],
    "device": "cpu",
    "hyperparameters": {
        "seed": 5,
        "lora": {"rank": 4, "alpha": 8, "extra_trainable_modules": ["lm_head"]},
        "sft": {"max_steps": 1, "batch_size": 2, "learning_rate": 1e-2, "warmup_ratio": 0.0},
        "grpo": {"steps": 1, "prompts_per_step": 1, "num_generations": 2, "max_new_tokens": 4, "beta": 0.1,
                 "learning_rate": 1e-2},
    },
}


def test_two_ranks_hold_the_same_weights_after_a_step(task_records: list[DatasetRecord], tmp_path: Path) -> None:
    records = tmp_path / "data.jsonl"
    records.write_text("".join(r.model_dump_json() + "\n" for r in task_records))
    run_dir = tmp_path / "run"
    job = tmp_path / "job.json"
    job.write_text(json.dumps({**JOB, "records": str(records), "run_dir": str(run_dir)}))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "sightsound_trainer.launch", "--config", str(job)],
        env=env, capture_output=True, text=True, timeout=240, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    ranks = [json.loads((run_dir / f"weights-rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0].keys() == ranks[1].keys() and ranks[0]
    assert ranks[0] == ranks[1]  # DDP averaged the gradients: both replicas took the same step
    report = json.loads((run_dir / "steps.json").read_text())
    assert report["world_size"] == 2
    assert [(s["stage"], s["step"]) for s in report["steps"]] == [("sft", 1), ("grpo", 1)]
    # The SFT step changed the weights (its adapters are merged into the attention before GRPO).
    fresh = weights_digest(load_student("tiny-random", seed=5).core)
    merged = "base_model.model.model.language_model.layers.0.self_attn.q_proj.base_layer.weight"
    assert ranks[0][merged] != fresh["model.language_model.layers.0.self_attn.q_proj.weight"]
