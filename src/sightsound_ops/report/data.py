"""What a run report shows, as plain validated data (no database, no HTTP: the job collects it).

The funnel and the verdict counts have the field names of ``GET /v1/stats`` (``funnel`` and
``verdicts_by_kind``), so its JSON validates into them directly. Every section is optional: an empty
one is drawn as "no data", never as an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

Weights = Literal["random", "pretrained", "trained"]


class Funnel(BaseModel):
    """From clips to accepted traces (the fields of the API's ``StatsOut.funnel``)."""

    clips: int = 0
    questions: int = 0
    questions_by_split: dict[str, int] = Field(default_factory=dict)
    jobs: int = 0
    jobs_by_state: dict[str, int] = Field(default_factory=dict)
    jobs_with_consensus: int = 0
    jobs_unanimous: int = 0
    traces_sampled: int = 0
    traces_verified: int = 0
    traces_accepted: int = 0
    traces_rejected: int = 0

    def split_counts(self) -> list[tuple[str, int]]:
        """Questions per split, in the order train, validation, test (others after, by name)."""
        order = {"train": 0, "validation": 1, "test": 2}
        return sorted(self.questions_by_split.items(), key=lambda item: (order.get(item[0], 3), item[0]))

    def steps(self) -> list[tuple[str, int]]:
        """The funnel's bars, widest first."""
        return [
            ("clips", self.clips),
            ("questions", self.questions),
            ("jobs", self.jobs),
            ("unanimous jobs", self.jobs_unanimous),
            ("traces sampled", self.traces_sampled),
            ("traces verified", self.traces_verified),
            ("traces accepted", self.traces_accepted),
        ]


class VerdictCounts(BaseModel):
    supported: int = 0
    contradicted: int = 0
    unverifiable: int = 0

    @property
    def total(self) -> int:
        return self.supported + self.contradicted + self.unverifiable


class TrainingCurve(BaseModel):
    """One stage of one training run: metric values per logged step (``None`` where not logged)."""

    run: str = Field(..., min_length=1, description="The run's label, e.g. `CoT SFT+GRPO`.")
    stage: str = Field(..., min_length=1, description="`sft` or `grpo`.")
    steps: list[int]
    loss: list[float | None] = Field(default_factory=list)
    reward: list[float | None] = Field(default_factory=list)
    accuracy: list[float | None] = Field(default_factory=list)

    @model_validator(mode="after")
    def _aligned(self) -> TrainingCurve:
        for name in ("loss", "reward", "accuracy"):
            values = getattr(self, name)
            if values and len(values) != len(self.steps):
                raise ValueError(f"{name} has {len(values)} values for {len(self.steps)} steps")
        return self

    def metric(self, name: str) -> list[float | None]:
        values: list[float | None] = getattr(self, name)
        return values

    @classmethod
    def from_history(cls, run: str, history: Sequence[Mapping[str, Any]]) -> list[TrainingCurve]:
        """Curves per stage from a training run's ``progress.history`` (dicts with step, stage, metrics).

        >>> curves = TrainingCurve.from_history("r", [{"stage": "sft", "step": 1, "loss": 2.0},
        ...                                           {"stage": "grpo", "step": 1, "reward": 0.5}])
        >>> [(c.stage, c.steps, c.loss, c.reward) for c in curves]
        [('sft', [1], [2.0], []), ('grpo', [1], [], [0.5])]
        """
        stages: dict[str, list[Mapping[str, Any]]] = {}
        for point in history:
            stages.setdefault(str(point.get("stage", "train")), []).append(point)
        curves = []
        for stage, points in stages.items():
            columns: dict[str, list[float | None]] = {}
            for name in ("loss", "reward", "accuracy"):
                values = [None if p.get(name) is None else float(p[name]) for p in points]
                columns[name] = values if any(v is not None for v in values) else []
            curves.append(
                cls(run=run, stage=stage, steps=[int(p.get("step", i)) for i, p in enumerate(points)], **columns)
            )
        return curves


Bounds = tuple[float, float]


class CategoryScore(BaseModel):
    accuracy: float = Field(..., ge=0.0, le=1.0)
    n: int = Field(..., ge=0)
    interval: Bounds | None = None
    strict_accuracy: float | None = Field(None, ge=0.0, le=1.0)


class Robustness(BaseModel):
    """One model's shortcut checks (an evaluation with ``choice_rotations`` and/or ``silent_audio``)."""

    rotated_questions: int | None = Field(None, description="Questions asked under every rotation of their choices.")
    rotated_accuracy: float | None = Field(None, ge=0.0, le=1.0, description="Lenient, over all asked items.")
    rotated_interval: Bounds | None = None
    consistency: float | None = Field(None, ge=0.0, le=1.0,
                                      description="Share answered with the same choice under every rotation.")
    consistency_interval: Bounds | None = None
    silent_questions: int | None = Field(None, description="Questions asked with audio and with silence.")
    without_audio: float | None = Field(None, ge=0.0, le=1.0,
                                        description="Share answered right with silence (answerable without audio).")
    without_audio_interval: Bounds | None = None
    needs_audio_n: int | None = None
    needs_audio_accuracy: float | None = Field(None, ge=0.0, le=1.0,
                                               description="Lenient accuracy on the questions that need audio.")
    needs_audio_interval: Bounds | None = None

    @classmethod
    def from_results(cls, results: dict[str, Any]) -> Robustness | None:
        """From an evaluation's ``results`` (the API's JSON); None when neither check was asked for."""
        rotations, silent = results.get("rotations"), results.get("audio_contribution")
        if not rotations and not silent:
            return None

        def bounds(group: dict[str, Any]) -> Bounds | None:
            interval = group.get("interval")
            return None if not interval else (float(interval["low"]), float(interval["high"]))

        found = cls()
        if rotations:
            found.rotated_questions = rotations["questions"]
            found.rotated_accuracy, found.rotated_interval = rotations["items"]["accuracy"], bounds(rotations["items"])
            found.consistency = rotations["consistent"]["accuracy"]
            found.consistency_interval = bounds(rotations["consistent"])
        if silent:
            found.silent_questions = silent["questions"]
            found.without_audio = silent["without_audio"]["accuracy"]
            found.without_audio_interval = bounds(silent["without_audio"])
            found.needs_audio_n = silent["needs_audio"]["n"]
            found.needs_audio_accuracy = silent["needs_audio"]["accuracy"]
            found.needs_audio_interval = bounds(silent["needs_audio"])
        return found


class ModelEvaluation(BaseModel):
    """One model's accuracy on the test questions, overall and per category: lenient (``overall_accuracy``)
    and strict (a well-formed ``<answer>X</answer>`` only), each with its 95% bootstrap interval."""

    model_label: str = Field(..., min_length=1)
    paper_row: str = Field("", description="The ablation row of the paper this model stands for.")
    overall_accuracy: float = Field(..., ge=0.0, le=1.0)
    n: int = Field(..., ge=0)
    interval: Bounds | None = None
    strict_accuracy: float | None = Field(None, ge=0.0, le=1.0)
    strict_interval: Bounds | None = None
    unanswered: int | None = None
    per_category: dict[str, CategoryScore] = Field(default_factory=dict)
    robustness: Robustness | None = Field(None, description="Choice-order and audio-contribution checks, if run.")


class PairedDifference(BaseModel):
    """Two models on the questions both answered (``GET /v1/evaluations/compare``'s ``pairs``)."""

    a: str
    b: str
    measure: str
    n: int
    difference: float | None = Field(None, description="accuracy(b) - accuracy(a).")
    interval: Bounds | None = None
    p_value: float
    significant: bool


class StageTiming(BaseModel):
    stage: str = Field(..., min_length=1)
    seconds: float = Field(..., ge=0.0)
    note: str = ""


class ModelUsed(BaseModel):
    role: str = Field(..., description="teacher, verifier checker, student, ...")
    name: str
    weights: Weights = Field(..., description="`random`: built from a config, so its outputs mean nothing.")


class Environment(BaseModel):
    cpu: str = ""
    torch_version: str = ""
    python_version: str = ""
    date: datetime | None = None
    models: list[ModelUsed] = Field(default_factory=list)
    extra: dict[str, str] = Field(default_factory=dict, description="Any other fact worth a row.")


class ReportData(BaseModel):
    title: str = "SightSound run report"
    funnel: Funnel | None = None
    verdicts_by_kind: dict[str, VerdictCounts] = Field(default_factory=dict)
    training_curves: list[TrainingCurve] = Field(default_factory=list)
    evaluations: list[ModelEvaluation] = Field(default_factory=list)
    pairs: list[PairedDifference] = Field(default_factory=list)
    interval_method: str | None = None
    stage_timings: list[StageTiming] = Field(default_factory=list)
    cost: dict[str, Any] | None = Field(None, description="`GET /v1/stats`'s `cost` (report.cost renders it).")
    environment: Environment = Field(default_factory=Environment)
    notes: list[str] = Field(default_factory=list, description="Free sentences shown under the title.")

    def categories(self) -> list[str]:
        """Every category any evaluation reports, sorted."""
        return sorted({c for e in self.evaluations for c in e.per_category})

    def random_models(self) -> list[ModelUsed]:
        return [m for m in self.environment.models if m.weights == "random"]


ROBUSTNESS_HEADER = ["model", "rotated questions", "accuracy over all rotations", "answered consistently",
                     "silent questions", "answerable without audio", "accuracy where audio is needed (n)"]


def robustness_rows(data: ReportData, cell: Callable[[float | None, Bounds | None], str]) -> list[list[str]]:
    """One row per model that ran a shortcut check; ``cell(value, bounds)`` formats a share with its interval."""
    rows = []
    for e in data.evaluations:
        r = e.robustness
        if r is None:
            continue
        needs = "–" if r.needs_audio_n is None else f"{cell(r.needs_audio_accuracy, r.needs_audio_interval)} " \
                                                    f"({r.needs_audio_n})"
        rows.append([e.model_label, "–" if r.rotated_questions is None else str(r.rotated_questions),
                     cell(r.rotated_accuracy, r.rotated_interval), cell(r.consistency, r.consistency_interval),
                     "–" if r.silent_questions is None else str(r.silent_questions),
                     cell(r.without_audio, r.without_audio_interval), needs])
    return rows


ROBUSTNESS_NOTE = ("Shortcut checks: each question asked under every rotation of its choices (consistent: the same "
                   "underlying choice every time), and once more with silent audio of the same duration (answerable "
                   "without audio: right with silence; the accuracy where audio is needed is over the others). "
                   "Lenient readings, 95% bootstrap intervals.")


def noise_statement(data: ReportData) -> list[str]:
    """In words: which differences between the models lie within the noise, and which beyond it."""
    if not data.pairs:
        return []
    within = [f"{p.b} vs {p.a} ({p.measure})" for p in data.pairs if not p.significant]
    beyond = [f"{p.b} vs {p.a} ({p.measure}, {100 * (p.difference or 0):+.1f} points)"
              for p in data.pairs if p.significant]
    return [f"Within the noise (paired exact McNemar p >= 0.05 on the shared questions): "
            f"{'; '.join(within) if within else 'none'}.",
            f"Beyond the noise (p < 0.05): {'; '.join(beyond) if beyond else 'none'}."]
