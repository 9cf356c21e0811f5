"""The main job's ablation: the paper's rows in order, the runs that feed them, and the paired comparison in
the report."""

from __future__ import annotations

from sightsound_ops.mainjob.ablation import DATASET_VARIANTS, PLANS, ROWS, evaluation_order
from sightsound_ops.mainjob.report_inputs import model_evaluation, paired_differences


def test_the_rows_are_the_papers_and_every_trained_row_has_a_run() -> None:
    assert [r.paper_row for r in ROWS] == [
        "base student (no training)", "label-only SFT (teacher's distilled labels)", "CoT SFT without verification",
        "CoT SFT with verification", "SFT + GRPO", "vision teacher (silent frames)"]
    trained = {label for plan in PLANS for label, _ in plan.rows}
    assert trained == {r.label for r in ROWS} - {"base", "teacher"}
    assert {plan.variant for plan in PLANS} == set(DATASET_VARIANTS) == {"label-only", "cot-unverified", "cot"}
    unverified = next(p for p in PLANS if p.variant == "cot-unverified")
    assert unverified.stages == ("sft",)  # kept small: SFT only, as the verified row it is compared with


def test_evaluations_follow_the_papers_order_and_skip_what_did_not_train() -> None:
    checkpoints = {"CoT SFT + GRPO": "g", "CoT SFT (unverified)": "u", "CoT SFT": "c", "label-only SFT": "l"}
    assert [label for label, _ in evaluation_order("tiny-random", checkpoints)] == [
        "base", "label-only SFT", "CoT SFT (unverified)", "CoT SFT", "CoT SFT + GRPO", "teacher"]
    assert evaluation_order("x", {}, teacher=False) == [("base", "base:x")]


def test_the_report_row_has_strict_and_lenient_accuracy_with_intervals_and_pairs_have_labels() -> None:
    evaluation = {"results": {"overall": {"n": 10, "correct": 4, "accuracy": 0.4, "interval": {"low": 0.1, "high": 0.7},
                                          "strict_correct": 3, "strict_accuracy": 0.3,
                                          "strict_interval": {"low": 0.0, "high": 0.6}, "unanswered": 2},
                              "per_category": {}}}
    row = model_evaluation("CoT SFT (unverified)", evaluation)
    assert row is not None and row.paper_row == "CoT SFT without verification"
    assert (row.interval, row.strict_accuracy, row.strict_interval) == ((0.1, 0.7), 0.3, (0.0, 0.6))
    comparison = {"columns": [{"label": "base"}, {"label": "CoT SFT"}],
                  "pairs": [{"a": 0, "b": 1, "measure": "strict", "n": 10, "difference": 0.2,
                             "difference_interval": {"low": -0.1, "high": 0.5}, "p_value": 0.38, "significant": False}]}
    (pair,) = paired_differences(comparison)
    assert (pair.a, pair.b, pair.interval, pair.significant) == ("base", "CoT SFT", (-0.1, 0.5), False)
    assert paired_differences(None) == []
