"""Contracts of evaluations, shared by the API (which validates and records them) and the trainer worker
(which answers the questions and writes the results).

- :class:`EvaluationCreate` asks for one model to answer one benchmark's questions (a question ``source``).
- :class:`EvaluationResults` is what the worker writes into ``evaluations.results`` when it ends:
  overall and per-category accuracy, how answers were read, mean latency, and skipped questions.
- :class:`EvaluationOut` is an evaluation as the API shows it.

Accuracy counts every evaluated question: an unanswered question (no answer could be read, or its audio
could not be read) is wrong, not left out. Only *skipped* questions (the teacher cannot be asked them)
are outside ``n``, each with its reason. Every accuracy comes twice: *lenient* (``accuracy``: the answer
read however :mod:`sightsound.answers` can read it) and *strict* (``strict_accuracy``: only a well-formed
``<answer>X</answer>`` counts), each with its 95% bootstrap interval and its n.

Two checks against the shortcuts of multiple-choice benchmarks can be asked for (see
:mod:`sightsound.evaluation.robustness`): ``choice_rotations`` asks each question under every rotation of its
choices (results in ``rotations``: accuracy over all asked items, share answered consistently), and
``silent_audio`` asks each question once more with silence (results in ``audio_contribution``: how many are
answerable without listening, accuracy on the questions that need audio); ``label_audio_contribution`` then
stores each question's ``weak`` / ``strong`` audio contribution for dataset filters.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sightsound.contracts.lifecycle import RunState, Split
from sightsound.tasks.registry import EVALUATE

#: The Celery task that runs an evaluation (consumed by the trainer worker on the ``evaluate`` queue).
EVALUATE_TASK = EVALUATE.name
EVALUATE_QUEUE = EVALUATE.queue

#: How an answer was read from a model's text (see the trainer's ``answers`` module); ``none``: unanswered.
Reading = Literal["tag", "letter", "choice-text", "none"]
READINGS: tuple[Reading, ...] = ("tag", "letter", "choice-text", "none")
#: The per-category key of questions that have no category.
UNCATEGORIZED = "uncategorized"
#: How an evaluation item's ``parse_error`` starts when the question could not be asked at all (its audio
#: could not be read, the teacher refused it): such an item is unanswered and counted in ``errors``.
NOT_ASKED = "not asked: "


class EvaluationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "model": "checkpoint:9a1b2c3d-4e5f-4a6b-8c7d-6e5f4a3b2c1d",
                    "label": "SFT+GRPO",
                    "benchmark": "mmau-test-mini",
                    "split": "test",
                    "categories": ["sound"],
                    "limit": 500,
                },
                {
                    "model": "base:embedded",
                    "label": "reference (silent audio)",
                    "benchmark": "mmar",
                    "split": "test",
                    "choice_rotations": True,
                    "silent_audio": True,
                    "label_audio_contribution": True,
                },
            ]
        },
    )

    model: str = Field(
        ..., min_length=1, max_length=255,
        description="What to evaluate: `checkpoint:<id>` (or a bare checkpoint id), `base:<name>` (an untrained "
        "student named in `SIGHTSOUND_STUDENT_BASE_MODELS`), `deployed` (the deployed checkpoint, recorded by "
        "its id) or `teacher` (the vision teacher, from the clip's frames; 4-choice questions of clips with "
        "frames only).",
    )
    label: str | None = Field(
        None, min_length=1, max_length=255,
        description="The column name in comparisons, e.g. `base`, `label-only SFT`, `CoT SFT`, `SFT+GRPO`; "
        "default: the model reference.",
    )
    benchmark: str = Field(..., min_length=1, max_length=128,
                           description="The question `source` to evaluate on, e.g. `mmau-test-mini`.")
    split: Split = Field(Split.test, description="Only questions of this split.")
    categories: list[str] | None = Field(
        None, min_length=1, max_length=64, description="Only questions of these categories (default: all)."
    )
    limit: int | None = Field(
        None, ge=1, le=100_000, description="At most this many questions (in a fixed order: the same ones each time)."
    )
    max_new_tokens: int | None = Field(
        None, ge=1, le=4096,
        description="Longest answer in tokens; at most `SIGHTSOUND_STUDENT_MAX_NEW_TOKENS`, which is the default.",
    )
    batch_size: int | None = Field(
        None, ge=1, le=256, description="Questions answered together; default `SIGHTSOUND_EVALUATION_BATCH_SIZE`."
    )
    # --- robustness checks (each multiplies the questions asked) ---
    choice_rotations: bool = Field(
        False, description="Also ask each question under every other rotation of its choices (a question with n "
        "choices is asked n times, the letters re-assigned and the gold letter moved with its choice); results in "
        "`rotations`: accuracy over all asked items and the share answered consistently.",
    )
    silent_audio: bool = Field(
        False, description="Also ask each question (its choices as given) with silent audio of the clip's duration; "
        "results in `audio_contribution`: how many are answerable without listening, and the accuracy on the ones "
        "that need audio. Students only (the teacher never hears the audio).",
    )
    label_audio_contribution: bool = Field(
        False, description="With `silent_audio`: when the evaluation succeeds, label each asked question `weak` "
        "(answered right with silence) or `strong` audio contribution, for the dataset filter "
        "`audio_contribution` (AudioMCQ's recipe: SFT on weak, GRPO on strong). A later labelling evaluation "
        "overwrites the labels of the questions it asked.",
    )

    @field_validator("categories")
    @classmethod
    def _clean_categories(cls, categories: list[str] | None) -> list[str] | None:
        if categories is None:
            return None
        cleaned = [c.strip() for c in categories]
        if any(not c or len(c) > 64 for c in cleaned):
            raise ValueError("every category must have 1 to 64 characters")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("categories must not repeat")
        return cleaned

    @model_validator(mode="after")
    def _labels_need_silence(self) -> EvaluationCreate:
        if self.label_audio_contribution and not self.silent_audio:
            raise ValueError("label_audio_contribution labels questions by their answers with silent audio: "
                             "set silent_audio to true as well")
        return self


class EvaluationSettings(BaseModel):
    """What the worker needs besides the model and the benchmark (stored in ``evaluations.settings``)."""

    categories: list[str] | None = None
    limit: int | None = None
    max_new_tokens: int = Field(..., ge=1)
    batch_size: int = Field(..., ge=1)
    temperature: float = Field(0.0, description="0: greedy decoding (evaluations are deterministic).")
    choice_rotations: bool = False
    silent_audio: bool = False
    label_audio_contribution: bool = False
    request: dict[str, Any] | None = Field(
        None, description="The request as posted (an Idempotency-Key replay is compared with it)."
    )


class EvaluationProgress(BaseModel):
    """What the worker writes into ``evaluations.progress`` after each batch."""

    done: int = 0
    total: int = 0
    eta_s: float | None = Field(None, description="Seconds left, from this attempt's mean time per question.")


class Interval(BaseModel):
    """A confidence interval of an accuracy (or of a difference of accuracies)."""

    low: float
    high: float


class _Scored(BaseModel):
    n: int = Field(..., ge=0, description="Questions evaluated (skipped ones are not counted).")
    correct: int = Field(..., ge=0, description="Right by the lenient reading.")
    accuracy: float | None = Field(..., ge=0.0, le=1.0, description="Lenient: correct / n; null when n is 0.")
    interval: Interval | None = Field(None, description="95% bootstrap interval of `accuracy`.")
    strict_correct: int | None = Field(
        None, ge=0, description="Right with a well-formed `<answer>X</answer>` (null in results made before it "
        "was measured).")
    strict_accuracy: float | None = Field(None, ge=0.0, le=1.0, description="Strict: strict_correct / n.")
    strict_interval: Interval | None = Field(None, description="95% bootstrap interval of `strict_accuracy`.")


class OverallResult(_Scored):
    unanswered: int = Field(..., ge=0, description="Questions with no readable answer (counted as wrong).")
    errors: int = Field(0, ge=0, description="Unanswered because the question could not be asked (its audio "
                                             "could not be read, say); included in `unanswered`.")
    unreadable: int | None = Field(
        None, ge=0, description="Asked, but no answer could be read leniently (a hedge, two answers, nothing); "
        "`unanswered` = `unreadable` + `errors`.")
    strict_unreadable: int | None = Field(
        None, ge=0, description="Asked, but without a well-formed `<answer>X</answer>`.")


class CategoryResult(_Scored):
    pass


class SkippedQuestions(BaseModel):
    n: int = Field(0, ge=0)
    reasons: dict[str, int] = Field(default_factory=dict, description="How many questions each reason skipped.")


class ScoredGroup(BaseModel):
    """A count of right answers among ``n`` with its share and 95% bootstrap interval."""

    n: int = Field(..., ge=0)
    correct: int = Field(..., ge=0)
    accuracy: float | None = Field(..., ge=0.0, le=1.0, description="correct / n; null when n is 0.")
    interval: Interval | None = None


class RotationResult(BaseModel):
    """Each question asked under every rotation of its choices (``choice_rotations``)."""

    questions: int = Field(..., ge=0, description="Questions asked under their rotations.")
    items: ScoredGroup = Field(..., description="Lenient accuracy over every asked item (question × rotation); "
                                                "the interval resamples questions.")
    strict_items: ScoredGroup = Field(..., description="The same, strict (`<answer>X</answer>` only).")
    consistent: ScoredGroup = Field(..., description="Questions answered under every rotation with the same "
                                                     "underlying choice (of `questions`).")
    strict_consistent: ScoredGroup = Field(..., description="The same, every answer a well-formed tag.")
    all_correct: ScoredGroup = Field(..., description="Questions answered right under every rotation.")


class AudioContributionResult(BaseModel):
    """Each question asked once more with silent audio (``silent_audio``)."""

    questions: int = Field(..., ge=0, description="Questions asked both with their audio and with silence.")
    not_asked: int = Field(0, ge=0, description="Questions that could not be asked (audio unreadable).")
    without_audio: ScoredGroup = Field(..., description="Answered right with silence (leniently): answerable "
                                                        "without listening, AudioMCQ's weak audio contribution.")
    strict_without_audio: ScoredGroup = Field(..., description="Answered right with silence, strictly.")
    needs_audio: ScoredGroup = Field(..., description="Lenient accuracy with audio on the questions not answered "
                                                      "right with silence (strong audio contribution).")
    strict_needs_audio: ScoredGroup = Field(..., description="The same, strict.")
    weak_with_audio: ScoredGroup = Field(..., description="Lenient accuracy with audio on the questions answerable "
                                                          "without it.")
    labelled: int = Field(0, ge=0, description="Questions whose `audio_contribution` label this evaluation stored.")


class EvaluationResults(BaseModel):
    overall: OverallResult
    per_category: dict[str, CategoryResult] = Field(
        default_factory=dict, description=f"By question category (`{UNCATEGORIZED}` for none), sorted by name."
    )
    answer_reading: dict[Reading, int] = Field(
        default_factory=dict,
        description="How each answer was read: `tag` (<answer>X</answer>), `letter` (a lone or stated letter), "
        "`choice-text` (exactly one choice's text named), `none` (unanswered).",
    )
    mean_latency_ms: float | None = Field(None, description="Mean time to answer one question (its batch share).")
    skipped: SkippedQuestions = Field(default_factory=SkippedQuestions)
    interval_method: str | None = Field(None, description="How every interval here was made.")
    rotations: RotationResult | None = Field(None, description="With `choice_rotations` only.")
    audio_contribution: AudioContributionResult | None = Field(None, description="With `silent_audio` only.")


class EvaluationOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        protected_namespaces=(),
        json_schema_extra={
            "examples": [
                {
                    "id": "2f0c1d4e-5b6a-4c7d-8e9f-0a1b2c3d4e5f",
                    "model_ref": "checkpoint:9a1b2c3d-4e5f-4a6b-8c7d-6e5f4a3b2c1d",
                    "model_label": "SFT+GRPO",
                    "checkpoint_id": "9a1b2c3d-4e5f-4a6b-8c7d-6e5f4a3b2c1d",
                    "benchmark": "mmau-test-mini",
                    "split": "test",
                    "settings": {"categories": ["sound"], "limit": None, "max_new_tokens": 256, "batch_size": 8,
                                 "temperature": 0.0},
                    "state": "succeeded",
                    "progress": {"done": 333, "total": 333, "eta_s": 0.0},
                    "results": {
                        "overall": {"n": 333, "correct": 220, "accuracy": 0.6607, "unanswered": 4, "errors": 0},
                        "per_category": {"sound": {"n": 333, "correct": 220, "accuracy": 0.6607}},
                        "answer_reading": {"tag": 329, "letter": 0, "choice-text": 0, "none": 4},
                        "mean_latency_ms": 812.5,
                        "skipped": {"n": 0, "reasons": {}},
                    },
                    "error": None,
                    "attempts": 1,
                    "created_at": "2026-11-26T12:00:00Z",
                    "started_at": "2026-11-26T12:00:02Z",
                    "finished_at": "2026-11-26T12:04:40Z",
                }
            ]
        },
    )

    id: uuid.UUID
    model_ref: str = Field(..., description="`checkpoint:<id>`, `base:<name>` or `teacher`.")
    model_label: str
    checkpoint_id: uuid.UUID | None
    benchmark: str
    split: Split
    settings: dict[str, Any]
    state: RunState
    progress: EvaluationProgress
    results: EvaluationResults | None = Field(description="Null until the evaluation succeeds.")
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @field_validator("results", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == {} else value


# --- comparisons -------------------------------------------------------------------------------------


class ComparisonColumn(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    evaluation_id: uuid.UUID
    label: str = Field(..., description="The model label, made unique among the columns.")
    model_ref: str
    benchmark: str
    split: Split


class ComparisonCell(BaseModel):
    n: int
    correct: int
    accuracy: float | None
    interval: Interval | None = None
    strict_correct: int | None = None
    strict_accuracy: float | None = None
    strict_interval: Interval | None = None


Measure = Literal["lenient", "strict"]


class PairedComparison(BaseModel):
    """Two evaluations on the questions both answered: who got which right, and whether the difference is
    more than noise (exact McNemar test; paired bootstrap interval of the difference)."""

    a: int = Field(..., description="Index of the first column.")
    b: int = Field(..., description="Index of the second column.")
    measure: Measure
    n: int = Field(..., description="Questions both evaluations answered (or were asked).")
    a_correct: int
    b_correct: int
    only_a: int = Field(..., description="Right by `a`, wrong by `b`.")
    only_b: int = Field(..., description="Right by `b`, wrong by `a`.")
    difference: float | None = Field(..., description="accuracy(b) − accuracy(a) on the shared questions.")
    difference_interval: Interval | None = Field(None, description="95% paired bootstrap interval of `difference`.")
    p_value: float = Field(..., description="Two-sided exact McNemar test.")
    significant: bool = Field(..., description="p < 0.05; otherwise the difference is within the noise.")


class ComparisonRow(BaseModel):
    name: str = Field(..., description="`overall`, then each category.")
    cells: list[ComparisonCell | None] = Field(
        ..., description="One per column, in column order; null where that model had no question of the row."
    )


class ComparisonTable(BaseModel):
    """Categories as rows, models as columns, the overall row first (the paper's ablation table shape)."""

    columns: list[ComparisonColumn]
    rows: list[ComparisonRow]
    pairs: list[PairedComparison] = Field(
        default_factory=list, description="Every column against every later one, strict and lenient, on the "
        "questions both answered.")
    interval_method: str | None = None
