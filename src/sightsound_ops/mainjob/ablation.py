"""The paper's ablation as the main job runs it: which datasets, which training runs, which rows (pure data).

| row (model label) | the paper's row | trained on |
|---|---|---|
| base | the student before training | nothing |
| label-only SFT | label-only SFT (the teacher's distilled labels) | `label-only`: the teacher's consensus answers |
| CoT SFT (unverified) | CoT SFT without verification | `cot-unverified`: every trace of a unanimous question |
| CoT SFT | CoT SFT with verification | `cot`: the verifier's accepted traces |
| CoT SFT + GRPO | SFT + GRPO | `cot`, then GRPO |
| teacher | the vision teacher itself | (answers from the silent frames) |

Every training run has the same hyperparameters, so the rows differ only by their data (and GRPO).
"""

from __future__ import annotations

from dataclasses import dataclass

TEACHER_ROW = "teacher"
BASE_ROW = "base"


@dataclass(frozen=True)
class TrainingPlan:
    run: str  # the run's label (training curves)
    variant: str  # the dataset variant it trains on
    stages: tuple[str, ...]
    rows: tuple[tuple[str, str], ...]  # (model label, stage whose last checkpoint stands for it)


@dataclass(frozen=True)
class AblationRow:
    label: str
    paper_row: str


DATASET_VARIANTS = ("cot", "cot-unverified", "label-only")
PLANS = (
    TrainingPlan("label-only SFT", "label-only", ("sft",), (("label-only SFT", "sft"),)),
    TrainingPlan("CoT SFT (unverified)", "cot-unverified", ("sft",), (("CoT SFT (unverified)", "sft"),)),
    TrainingPlan("CoT SFT + GRPO", "cot", ("sft", "grpo"), (("CoT SFT", "sft"), ("CoT SFT + GRPO", "grpo"))),
)
ROWS = (
    AblationRow(BASE_ROW, "base student (no training)"),
    AblationRow("label-only SFT", "label-only SFT (teacher's distilled labels)"),
    AblationRow("CoT SFT (unverified)", "CoT SFT without verification"),
    AblationRow("CoT SFT", "CoT SFT with verification"),
    AblationRow("CoT SFT + GRPO", "SFT + GRPO"),
    AblationRow(TEACHER_ROW, "vision teacher (silent frames)"),
)
PAPER_ROW = {row.label: row.paper_row for row in ROWS}


def evaluation_order(student_model: str, checkpoints: dict[str, str], teacher: bool = True) -> list[tuple[str, str]]:
    """(label, model reference) of every row there is something to evaluate for, in the paper's order.

    >>> evaluation_order("embedded", {"CoT SFT": "c1", "label-only SFT": "l1"})
    [('base', 'base:embedded'), ('label-only SFT', 'checkpoint:l1'), ('CoT SFT', 'checkpoint:c1'), \
('teacher', 'teacher')]
    """
    order = []
    for row in ROWS:
        if row.label == BASE_ROW:
            order.append((row.label, f"base:{student_model}"))
        elif row.label == TEACHER_ROW:
            if teacher:
                order.append((row.label, TEACHER_ROW))
        elif row.label in checkpoints:
            order.append((row.label, f"checkpoint:{checkpoints[row.label]}"))
    return order
