"""The README's main command at test scale: ``sightsound run --exit`` as a user runs it, as a subprocess.

Real processes end to end (api, embedded teacher with its pretrained weights, verifier, pipeline worker,
trainer worker, student service). To keep the test short the student is the tiny RANDOM Qwen2-Audio
(``--student tiny-random``), on 6 train clips and 2 test questions of the synthetic set (with 3, the embedded teacher's
view-based claims could all be contradicted, leaving nothing to train on); the README's
measured run uses the ``embedded`` student at full sample size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sightsound.config import Settings
from sightsound_ops.stack import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MODELS = ("base", "label-only SFT", "CoT SFT (unverified)", "CoT SFT", "CoT SFT + GRPO", "teacher")


@pytest.fixture(scope="module")
def main_job(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    work = tmp_path_factory.mktemp("mainjob")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGHTSOUND_") or k == "SIGHTSOUND_CACHE_DIR"}
    env.update({
        "SIGHTSOUND_DATABASE_URL": settings.database_url,
        "SIGHTSOUND_REDIS_URL": settings.redis_url,
        "SIGHTSOUND_MEDIA_ROOT": str(work / "media"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    })
    argv = [sys.executable, "-m", "sightsound_ops.cli", "run", "--exit", "--train-clips", "6", "--test-clips", "2",
            "--k", "2", "--sft-epochs", "1", "--grpo-steps", "1", "--student", "tiny-random",
            "--port", str(free_port()), "--workdir", str(work / "job"), "--report-dir", str(work / "report"),
            "--log-dir", str(work / "logs")]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1200, check=False)
    return done, work


def test_the_main_job_finishes_and_says_so(main_job) -> None:  # type: ignore[no-untyped-def]
    done, work = main_job
    logs = "\n".join(p.read_text(errors="replace")[-3000:] for p in (work / "logs").glob("*.log"))
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}\n{logs}"
    assert "The main job took" in done.stdout
    for stage in ("synthetic set", "teacher (K=2) and verifier", "datasets", "train the student", "evaluate", "report"):
        assert f"==> {stage}" in done.stdout


def test_the_report_shows_every_stage_with_numbers(main_job) -> None:  # type: ignore[no-untyped-def]
    done, work = main_job
    report = json.loads((work / "report" / "report.json").read_text())
    funnel = report["funnel"]
    assert funnel["clips"] == 8
    assert funnel["questions_by_split"] == {"train": 6, "validation": 0, "test": 2}
    assert funnel["jobs"] == 6 and sum(funnel["jobs_by_state"].values()) == 6
    assert funnel["traces_sampled"] == 6 * 2  # K=2 traces per train question
    assert funnel["traces_accepted"] + funnel["traces_rejected"] <= funnel["traces_sampled"]
    assert sum(v["supported"] + v["contradicted"] + v["unverifiable"] for v in report["verdicts_by_kind"].values()) > 0
    timings = {t["stage"] for t in report["stage_timings"]}
    assert any(t.startswith("teacher") for t in timings) and "report" not in timings  # written before it ends
    evaluations = {e["model_label"]: e for e in report["evaluations"]}
    assert evaluations["base"]["n"] == 2
    html = (work / "report" / "index.html").read_text()
    assert "base" in html and "<img" in html
    if funnel["traces_accepted"] == 0:
        pytest.fail(f"no trace was accepted, so nothing trained: {report['notes']}")
    assert set(evaluations) == set(MODELS), report["notes"]
    assert all(e["n"] == 2 for e in evaluations.values())
    assert all(e["strict_accuracy"] is not None and e["interval"] is not None for e in evaluations.values())
    assert evaluations["CoT SFT (unverified)"]["paper_row"] == "CoT SFT without verification"
    assert len(report["pairs"]) == 2 * 15  # 6 rows: every pair, strict and lenient
    stages = {(c["run"], c["stage"]) for c in report["training_curves"]}
    assert {("label-only SFT", "sft"), ("CoT SFT (unverified)", "sft"), ("CoT SFT + GRPO", "sft"),
            ("CoT SFT + GRPO", "grpo")} <= stages
    summary = (work / "report" / "summary.md").read_text()
    assert "Within the noise" in summary and "strict accuracy [95%]" in summary
    assert "asked the deployed student" in done.stdout
