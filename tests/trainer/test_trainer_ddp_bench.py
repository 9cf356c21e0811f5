"""``perf/trainer_ddp.py`` at tiny size: 2 gloo ranks run the trainer's own SFT and GRPO steps, end them
with identical (and changed) adapters, and the JSON holds what the multi-GPU report needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_two_gloo_ranks_measure_and_agree(tmp_path: Path) -> None:
    out = tmp_path / "ddp.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "perf" / "trainer_ddp.py"), "--device", "cpu", "--size", "tiny",
         "--processes", "2", "--sft-batch", "2", "--prompts", "1", "--group", "2", "--new-tokens", "4",
         "--steps", "1", "--warmup", "0", "--seconds", "2", "--timeout", "300", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=360, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "same adapters" in result.stdout  # the table was printed
    report = json.loads(out.read_text())
    assert report["random_weights"] is True and report["device"] == "cpu" and report["card"].startswith("cpu")
    assert report["adapters_identical"] is True and report["adapters_changed"] is True
    run = report["runs"]["2"]
    assert run["processes"] == 2 and run["backend"] == "gloo" and len(run["ranks"]) == 2
    for stage in ("initial", "after_sft", "after_grpo"):
        digests = run["adapter_digests"][stage]
        assert len(digests) == 2 and digests[0] == digests[1] and len(digests[0]) == 64
    assert run["adapter_digests"]["after_sft"][0] != run["adapter_digests"]["initial"][0]
    for key in ("step_s", "tokens_per_s", "tokens_per_s_per_gpu", "mfu_per_gpu", "peak_memory_gib"):
        assert run["sft"][key] > 0, key
    assert run["sft"]["tokens_per_s"] == pytest.approx(2 * run["sft"]["tokens_per_s_per_gpu"])
    for key in ("rollout_s", "update_s", "step_s"):
        assert run["grpo"][key] > 0, key
    assert report["scaling_efficiency"] == {}  # no 1-process run in this call to compare against
    assert report["pending"] == []
