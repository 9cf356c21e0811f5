"""The run report: every section with its numbers, charts that decode as PNG, "no data" for empty parts."""

from __future__ import annotations

import base64
import io
import re
from datetime import UTC, datetime

import pytest
from PIL import Image
from pydantic import ValidationError

from sightsound_ops.report import (
    CategoryScore,
    Environment,
    Funnel,
    ModelEvaluation,
    ModelUsed,
    PairedDifference,
    ReportData,
    Robustness,
    StageTiming,
    TrainingCurve,
    VerdictCounts,
    render_html,
    render_markdown_summary,
)

SECTIONS = ("funnel", "verdicts", "training", "evaluation", "timings", "environment")


def full_data(label: str = "SFT+GRPO") -> ReportData:
    return ReportData(
        notes=["Seed 0, 36 clips."],
        funnel=Funnel(
            clips=36,
            questions=36,
            questions_by_split={"test": 8, "train": 28, "validation": 0},
            jobs=36,
            jobs_by_state={"accepted": 20, "rejected": 6, "no_consensus": 9, "failed": 1},
            jobs_with_consensus=26,
            jobs_unanimous=26,
            traces_sampled=144,
            traces_verified=104,
            traces_accepted=71,
            traces_rejected=33,
        ),
        verdicts_by_kind={
            "speech_presence": VerdictCounts(supported=41, contradicted=3),
            "sound_source": VerdictCounts(contradicted=2, unverifiable=57),
        },
        training_curves=TrainingCurve.from_history(
            "CoT run",
            [{"stage": "sft", "step": i, "loss": 3.0 - 0.25 * i} for i in range(1, 5)]
            + [{"stage": "grpo", "step": i, "reward": 0.125 * i, "accuracy": 0.25 * i} for i in range(1, 4)],
        ),
        evaluations=[
            ModelEvaluation(
                model_label="base student",
                overall_accuracy=0.25,
                n=8,
                per_category={"loudness": CategoryScore(accuracy=0.5, n=2)},
            ),
            ModelEvaluation(
                model_label=label,
                overall_accuracy=0.625,
                n=8,
                per_category={
                    "loudness": CategoryScore(accuracy=1.0, n=2),
                    "event_count": CategoryScore(accuracy=0.0, n=2),
                },
            ),
        ],
        stage_timings=[StageTiming(stage="synthetic set", seconds=3.75), StageTiming(stage="teacher", seconds=120.5)],
        environment=Environment(
            cpu="2-core test CPU",
            torch_version="2.13.0+cpu",
            python_version="3.11.9",
            date=datetime(2026, 1, 5, 12, 0, tzinfo=UTC),
            models=[
                ModelUsed(role="teacher", name="tiny-qwen2.5-vl", weights="random"),
                ModelUsed(role="student", name="smollm2-whisper-student", weights="pretrained"),
            ],
        ),
    )


def _section(html: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', html, re.S)
    assert match, f"section {anchor} missing"
    return match.group(1)


def _pngs(fragment: str) -> list[Image.Image]:
    images = []
    for payload in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', fragment):
        raw = base64.b64decode(payload)
        assert raw.startswith(b"\x89PNG\r\n\x1a\n")
        image = Image.open(io.BytesIO(raw))
        image.load()
        images.append(image)
    return images


@pytest.fixture(scope="module")
def html() -> str:
    return render_html(full_data())


def test_every_section_is_there_with_a_title(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    for anchor in SECTIONS:
        assert _section(html, anchor).startswith("<h2>")
    assert "no data" not in html


def test_the_four_charts_are_inline_pngs_of_a_real_size(html: str) -> None:
    for anchor in ("funnel", "verdicts", "training", "evaluation"):
        images = _pngs(_section(html, anchor))
        assert len(images) == 1, anchor
        assert images[0].format == "PNG" and images[0].width > 300 and images[0].height > 150
    assert "http://" not in html and "https://" not in html  # self-contained: nothing to fetch


def test_the_tables_carry_the_numbers(html: str) -> None:
    funnel = _section(html, "funnel")
    for number in ("144", "104", "71", "33", "28", ">26<"):
        assert number in funnel
    assert funnel.index(">train<") < funnel.index(">validation<") < funnel.index(">test<")
    verdicts = _section(html, "verdicts")
    assert "speech_presence" in verdicts and ">41<" in verdicts and ">57<" in verdicts and ">59<" in verdicts
    training = _section(html, "training")
    assert "CoT run" in training and "2.75 → 2" in training and "0.125 → 0.375" in training
    evaluation = _section(html, "evaluation")
    assert "62.5%" in evaluation and ">8<" in evaluation and "100.0% (2)" in evaluation and "0.0% (2)" in evaluation
    assert "–" in evaluation  # the base student has no event_count score
    timings = _section(html, "timings")
    assert "120.5" in timings and "124.25" in timings
    environment = _section(html, "environment")
    assert "2.13.0+cpu" in environment and "2026-01-05T12:00:00+00:00" in environment
    assert "pretrained" in environment and "random" in environment


def test_random_weights_are_said_up_front(html: str) -> None:
    banner = html[: html.index("<section")]
    assert "Random weights" in banner and "tiny-qwen2.5-vl" in banner
    assert "Random weights" not in render_html(ReportData(environment=Environment(models=[])))


def test_empty_sections_say_no_data_instead_of_crashing() -> None:
    html = render_html(ReportData())
    for anchor in SECTIONS:
        assert "no data" in _section(html, anchor), anchor
    assert _pngs(html) == []
    summary = render_markdown_summary(ReportData())
    assert "Pipeline: no data" in summary and "Evaluation: no data" in summary and "Stage timings: no data" in summary


def test_a_curve_with_only_gaps_draws_no_chart() -> None:
    curve = TrainingCurve(run="r", stage="sft", steps=[1, 2], loss=[None, None])
    assert "no data" not in _section(render_html(ReportData(training_curves=[curve])), "training")
    assert _pngs(render_html(ReportData(training_curves=[curve]))) == []


def test_names_are_html_escaped() -> None:
    evil = '<script>alert("x")</script> & $\\alpha$'
    data = full_data(label=evil)
    data.title = "<b>run</b>"
    data.notes = ["<img src=x onerror=alert(1)>"]
    data.verdicts_by_kind["<kind>"] = VerdictCounts(supported=1)
    html = render_html(data)  # the $...$ label must not break matplotlib's math text either
    assert "<script>" not in html and "<img src=x" not in html and "<kind>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;" in html
    assert "<title>&lt;b&gt;run&lt;/b&gt;</title>" in html


def test_markdown_summary_has_the_key_numbers() -> None:
    summary = render_markdown_summary(full_data(label="a|b"))
    assert "| clips | 36 |" in summary
    assert "36 (28 train / 8 test)" in summary
    assert "26 of 36" in summary and "71 / 33" in summary
    assert "| a\\|b |  | – | 62.5% | 8 | 0.0% | 100.0% |" in summary  # categories sorted: event_count, loudness
    assert "| base student |  | – | 25.0% | 8 | – | 50.0% |" in summary
    assert "| total | 124.2 |" in summary or "| total | 124.3 |" in summary
    assert "Random weights (teacher tiny-qwen2.5-vl)" in summary


def test_stats_json_validates_into_the_report_sections() -> None:
    stats = {
        "funnel": {"clips": 2, "questions": 3, "jobs_by_state": {"accepted": 1}, "traces_accepted": 2},
        "verdicts_by_kind": {"tempo": {"supported": 0, "contradicted": 1, "unverifiable": 0}},
    }
    data = ReportData.model_validate(stats)
    assert data.funnel is not None and data.funnel.traces_accepted == 2
    assert data.verdicts_by_kind["tempo"].total == 1


def test_curves_must_align_with_their_steps() -> None:
    with pytest.raises(ValidationError, match="loss has 1 values for 2 steps"):
        TrainingCurve(run="r", stage="sft", steps=[1, 2], loss=[1.0])
    with pytest.raises(ValidationError):
        CategoryScore(accuracy=1.5, n=1)


def test_the_ablation_shows_strict_and_lenient_with_intervals_and_says_what_is_noise() -> None:
    data = full_data(label="CoT SFT")
    data.evaluations[1] = data.evaluations[1].model_copy(update={
        "paper_row": "CoT SFT with verification", "interval": (0.25, 0.875), "strict_accuracy": 0.5,
        "strict_interval": (0.125, 0.875)})
    data.pairs = [
        PairedDifference(a="base student", b="CoT SFT", measure="lenient", n=8, difference=0.375,
                         interval=(0.0, 0.75), p_value=0.25, significant=False),
        PairedDifference(a="base student", b="CoT SFT", measure="strict", n=8, difference=0.5,
                         interval=(0.25, 0.75), p_value=0.03, significant=True),
    ]
    data.interval_method = "95% percentile bootstrap, 2000 resamples, seed 0"
    summary = render_markdown_summary(data)
    assert "| CoT SFT | CoT SFT with verification | 50.0% [12.5, 87.5] | 62.5% [25.0, 87.5] | 8 |" in summary
    assert "| base student | CoT SFT | lenient | 8 | +37.5 | [+0.0, +75.0] | 0.25 | within the noise |" in summary
    assert "Within the noise (paired exact McNemar p >= 0.05 on the shared questions): CoT SFT vs base student " \
           "(lenient)." in summary
    assert "Beyond the noise (p < 0.05): CoT SFT vs base student (strict, +50.0 points)." in summary
    html = render_html(data)
    assert "50.0% [12.5, 87.5]" in html and "within the noise" in html and "seed 0" in html


def test_the_cost_section_shows_tokens_and_seconds_per_accepted_trace_and_dataset() -> None:
    from sightsound_ops.report.data import ReportData
    from sightsound_ops.report.html import render_html
    from sightsound_ops.report.markdown import render_markdown_summary

    cost = {"total": {"jobs": 2, "tokens": 3140, "model_seconds": 10.0}, "accepted_traces": 3,
            "per_accepted_trace": {"tokens": 1046.67, "model_seconds": 3.333},
            "no_consensus_share": {"tokens": 0.4459, "model_seconds": 0.4}, "training_accelerator_seconds": 120.0,
            "datasets": [{"name": "cot", "version": 1, "variant": "cot", "traces": 3,
                          "per_trace": {"tokens": 580.0, "model_seconds": 2.0}, "training_accelerator_seconds": 120.0}]}
    data = ReportData(cost=cost)
    page = render_html(data)
    assert 'id="cost"' in page and "1,046.7" in page and "44.6%" in page and "cot v1 (cot)" in page
    assert "tokens per accepted trace | 1,046.7" in render_markdown_summary(data)
    assert 'id="cost"' not in render_html(ReportData())


def test_shortcut_checks_are_a_table_in_both_reports() -> None:
    """An evaluation's rotation and silent-audio results (the API's JSON) become one row per model."""
    group = {"n": 4, "correct": 1, "accuracy": 0.25, "interval": {"low": 0.0, "high": 0.75}}
    results = {"rotations": {"questions": 4, "items": {**group, "n": 16, "correct": 6, "accuracy": 0.375},
                             "strict_items": group, "consistent": group, "strict_consistent": group,
                             "all_correct": group},
               "audio_contribution": {"questions": 4, "without_audio": {**group, "correct": 2, "accuracy": 0.5},
                                      "strict_without_audio": group, "needs_audio": {**group, "n": 2},
                                      "strict_needs_audio": group, "weak_with_audio": group}}
    robustness = Robustness.from_results(results)
    assert robustness is not None and robustness.consistency == 0.25 and robustness.without_audio == 0.5
    assert Robustness.from_results({"overall": {}}) is None
    data = full_data()
    data.evaluations[0].robustness = robustness
    markdown = render_markdown_summary(data)
    assert "answered consistently" in markdown and "answerable without audio" in markdown
    assert "| 4 | 37.5% [0.0, 75.0] | 25.0% [0.0, 75.0] | 4 | 50.0% [0.0, 75.0] | 25.0% [0.0, 75.0] (2) |" in markdown
    page = render_html(data)
    assert "answered consistently" in page and "50.0% [0.0, 75.0]" in page
    assert "answered consistently" not in render_markdown_summary(full_data())  # no checks run: no table
