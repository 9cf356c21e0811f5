"""Contracts of datasets and training runs, shared by the API (which validates and records them) and the
trainer (which reads them back from PostgreSQL and the dataset export).

- :class:`DatasetCreate` asks for an immutable snapshot of accepted traces; :class:`DatasetRecord` is one
  row of its export (JSONL and a Hugging Face ``datasets`` dataset on disk).
- :class:`TrainingRunCreate` asks for a run; its :class:`Hyperparameters` are validated with ranges here,
  so a bad value is a 422 at the API and never reaches a worker.
- :class:`RunProgress` is what the trainer writes into ``training_runs.progress``.
"""

from __future__ import annotations

import uuid
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sightsound.contracts.lifecycle import Split
from sightsound.tasks.registry import TRAIN

#: The name of the Celery task that runs a training run (consumed on the ``train`` queue).
TRAIN_TASK = TRAIN.name
TRAIN_QUEUE = TRAIN.queue

#: What a snapshot trains on (the paper's ablation rows):
#: ``label-only`` the teacher's consensus answer alone (the paper's baseline: distilled labels);
#: ``gold-label`` the gold answer alone where there is one (the teacher's consensus where not);
#: ``cot`` every verified (accepted) trace; ``cot-unverified`` every trace of a unanimous question, verdicts
#: ignored (CoT SFT without verification).
DatasetVariant = Literal["label-only", "gold-label", "cot", "cot-unverified"]
DATASET_VARIANTS: tuple[DatasetVariant, ...] = get_args(DatasetVariant)
#: Variants whose records are teacher traces (reasoning then answer); the others are one answer per question.
REASONING_VARIANTS: frozenset[str] = frozenset({"cot", "cot-unverified"})
#: Where a record's target answer comes from.
LabelSource = Literal["teacher", "gold"]
Stage = Literal["sft", "grpo"]
STAGE_ORDER: tuple[Stage, ...] = ("sft", "grpo")


# --- datasets ----------------------------------------------------------------------------------------


class DatasetFilters(BaseModel):
    """Which accepted traces a snapshot takes. Every filter is optional; together they are ANDed."""

    model_config = ConfigDict(extra="forbid")

    split: Split | None = Field(None, description="Only questions of this split.")
    categories: list[str] | None = Field(
        None, min_length=1, max_length=64, description="Only questions of these categories."
    )
    min_agreement: float | None = Field(
        None, ge=0.0, le=1.0, description="Only questions whose teacher samples agreed at least this much."
    )
    verifier_policy: str | None = Field(
        None, min_length=1, max_length=128, description="Only traces decided by exactly this policy, "
        "e.g. `contradiction>=0.60` or `contradiction>=0.60+strict`."
    )
    strict_only: bool = Field(
        False, description="Only traces accepted in strict mode (at least one supported claim was required)."
    )
    require_gold: bool = Field(False, description="Only questions with a known gold answer.")
    match_gold: bool = Field(
        False, description="Only traces whose answer equals the gold answer (questions without gold are dropped)."
    )
    teacher_models: list[str] | None = Field(None, min_length=1, max_length=16)
    prompt_versions: list[str] | None = Field(None, min_length=1, max_length=16)
    max_records: int | None = Field(None, ge=1, le=10_000_000, description="Keep at most this many records.")
    overrides: Literal["honour", "ignore"] = Field(
        "honour", description="Reviewers' overrides of trace decisions (the review console): `honour` takes a "
        "trace a reviewer accepted and leaves out one a reviewer rejected; `ignore` goes by the verifier alone."
    )
    reviewed_only: bool = Field(False, description="Only traces a reviewer looked at (an override of the trace's "
                                "decision or of one of its claims' verdicts).")
    audio_contribution: Literal["weak", "strong"] | None = Field(
        None, description="Only questions of this audio contribution (AudioMCQ, arXiv 2509.21060): `weak` = a "
        "reference model answered them right with silent audio, `strong` = it did not. Labels come from an "
        "evaluation with `silent_audio` and `label_audio_contribution`; unlabelled questions are left out. "
        "AudioMCQ's recipe: SFT on a `weak` snapshot, GRPO on a `strong` one.",
    )


class DatasetCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "sound-cot",
                    "variant": "cot",
                    "filters": {"split": "train", "categories": ["sound"], "min_agreement": 1.0},
                }
            ]
        },
    )

    name: str = Field("sightsound", min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                      description="Datasets of one name are versioned 1, 2, 3, …")
    variant: DatasetVariant = Field(
        "cot",
        description="`cot`: one record per accepted (verified) trace, target = the teacher's reasoning and "
        "answer; `cot-unverified`: one record per trace of every unanimous question, accepted or rejected "
        "(verdicts ignored: CoT SFT without verification); `label-only`: one record per question with an "
        "accepted trace, target = the teacher's consensus answer alone (the paper's baseline, distilled "
        "labels); `gold-label`: the same questions, target = the gold answer where one exists (the "
        "teacher's consensus where not).",
    )
    filters: DatasetFilters = Field(default_factory=lambda: DatasetFilters())

    @model_validator(mode="after")
    def _verdict_filters_need_verdicts(self) -> DatasetCreate:
        if self.variant == "cot-unverified" and (self.filters.verifier_policy or self.filters.strict_only):
            raise ValueError("variant cot-unverified ignores the verifier's verdicts: drop filters.verifier_policy "
                             "and filters.strict_only, or use variant cot")
        return self


class DatasetRecord(BaseModel):
    """One training example of a snapshot, self-describing: the export can be trained on elsewhere."""

    id: str
    question_id: uuid.UUID
    clip_id: uuid.UUID
    trace_id: int | None = Field(None, description="The teacher sample (trace) of a `cot` record.")
    audio_url: str
    audio_path: str | None = Field(None, description="Local path of the audio when it is a `file://` URL.")
    question: str
    choices: list[str] = Field(..., min_length=4, max_length=4)
    prompt: str = Field(..., description="The user text for the student (the audio comes before it).")
    target: str = Field(..., description="The assistant text the student learns (SFT).")
    answer_index: int = Field(..., ge=0, le=3, description="Reward answer: the gold answer, else the consensus.")
    answer_source: Literal["gold", "consensus"]
    label_source: LabelSource = Field(
        "teacher", description="Where the target's answer comes from: the teacher (its trace or consensus) or "
        "the gold answer (`gold-label` only)."
    )
    teacher_answer_index: int | None = Field(None, ge=0, le=3)
    verifier_decision: str | None = Field(
        None, description="The trace's verifier decision (`accepted`, `rejected`; null: not decided) of a "
        "`cot` or `cot-unverified` record."
    )
    category: str | None = None
    split: Split = Split.train
    teacher_model: str | None = None
    prompt_version: str | None = None
    verifier_policy: str | None = None
    agreement: float | None = None


# --- training runs -----------------------------------------------------------------------------------


class LoRASettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="False: full fine-tuning of the language model and projector.")
    rank: int = Field(16, ge=1, le=512)
    alpha: int = Field(32, ge=1, le=4096)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        min_length=1,
        max_length=32,
        description="Linear layers of the language model that get adapters (the audio encoder never does).",
    )
    train_projector: bool = Field(True, description="Also train the audio→text projector (fully).")
    extra_trainable_modules: list[str] = Field(
        default_factory=list, max_length=16,
        description="More modules trained in full beside the adapters, e.g. `lm_head` for a student whose "
        "output head must learn new tokens (the tiny random student does).",
    )


class SFTHyperparameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    epochs: float = Field(1.0, gt=0, le=1000)
    max_steps: int | None = Field(None, ge=1, le=10_000_000, description="Optimizer steps; overrides epochs.")
    learning_rate: float = Field(1e-4, gt=0, le=1.0)
    batch_size: int = Field(4, ge=1, le=1024, description="Examples per device per micro-batch.")
    gradient_accumulation_steps: int = Field(1, ge=1, le=4096)
    warmup_ratio: float = Field(0.03, ge=0.0, le=0.5)
    weight_decay: float = Field(0.0, ge=0.0, le=1.0)
    max_grad_norm: float = Field(1.0, gt=0, le=1000)
    max_length: int = Field(2048, ge=16, le=65536, description="Longest tokenized example (prompt + target).")
    save_every_steps: int = Field(200, ge=1, le=10_000_000)


class GRPOHyperparameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int = Field(100, ge=1, le=10_000_000, description="GRPO steps (one batch of prompts each).")
    learning_rate: float = Field(1e-6, gt=0, le=1.0)
    prompts_per_step: int = Field(8, ge=1, le=4096, description="Prompts per device per step.")
    num_generations: int = Field(8, ge=2, le=256, description="G: completions sampled per prompt.")
    max_new_tokens: int = Field(256, ge=1, le=16384)
    temperature: float = Field(1.0, gt=0, le=2.0)
    top_p: float = Field(1.0, gt=0, le=1.0)
    beta: float = Field(0.04, ge=0.0, le=10.0, description="Weight of the KL penalty to the reference.")
    clip_epsilon: float = Field(0.2, gt=0.0, lt=1.0, description="PPO clip range of the policy ratio.")
    updates_per_batch: int = Field(1, ge=1, le=64, description="μ: optimizer passes over each rollout batch.")
    micro_batch_size: int | None = Field(
        None, ge=1, le=65536, description="Sequences per forward/backward pass (memory); default: all of a step."
    )
    accuracy_weight: float = Field(1.0, ge=0.0, le=100.0)
    format_weight: float = Field(1.0, ge=0.0, le=100.0)
    require_reasoning: bool = Field(
        True, description="The format reward pays only for `<think>reasoning</think><answer>X</answer>`; False: "
        "the answer-only form `<answer>X</answer>` earns it too (a label-only student).")
    max_grad_norm: float = Field(1.0, gt=0, le=1000)
    save_every_steps: int = Field(50, ge=1, le=10_000_000)
    scale_rewards: bool = Field(True, description="Divide advantages by the group's standard deviation.")
    merge_lora_for_rollouts: bool = Field(False, description="Merge the adapters into the weights while sampling.")
    static_cache: bool = Field(False, description="Sample with a static KV cache (compilable).")
    min_new_tokens: int = Field(0, ge=0, le=16384, description="Sample at least this many tokens (benchmarks).")


class Hyperparameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = Field(0, ge=0, le=2**31 - 1)
    lora: LoRASettings = Field(default_factory=lambda: LoRASettings())
    sft: SFTHyperparameters = Field(default_factory=lambda: SFTHyperparameters())
    grpo: GRPOHyperparameters = Field(default_factory=lambda: GRPOHyperparameters())
    precision: Literal["auto", "bf16", "fp32"] = Field("auto", description="`auto`: bf16 on GPU, fp32 on CPU.")
    gradient_checkpointing: bool = False
    attn_implementation: Literal["sdpa", "eager", "flash_attention_2"] = "sdpa"
    trim_audio_padding: bool = Field(
        False, description="Run the audio encoder on the clip's length instead of Whisper's 30 s window."
    )


class TrainingRunCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "dataset_id": "4d0c7b5e-1f2a-4b3c-9d8e-7f6a5b4c3d2e",
                    "student_model": "Qwen/Qwen2-Audio-7B-Instruct",
                    "stages": ["sft", "grpo"],
                    "hyperparameters": {"lora": {"rank": 64}, "sft": {"epochs": 2}, "grpo": {"steps": 500}},
                }
            ]
        },
    )

    dataset_id: uuid.UUID
    student_model: str = Field(
        ..., min_length=1, max_length=1000,
        description="A local model folder or a Hugging Face hub id of a Qwen2-Audio-family model; "
        "`tiny-random` builds a tiny student with random weights (tests, smoke runs).",
    )
    stages: list[Stage] = Field(["sft", "grpo"], min_length=1, max_length=2)
    hyperparameters: Hyperparameters = Field(default_factory=lambda: Hyperparameters())

    @field_validator("stages")
    @classmethod
    def _ordered_unique(cls, stages: list[Stage]) -> list[Stage]:
        if len(set(stages)) != len(stages):
            raise ValueError("stages must not repeat")
        if stages != sorted(stages, key=STAGE_ORDER.index):
            raise ValueError("stages run in the order sft, grpo")
        return stages

    @model_validator(mode="after")
    def _grpo_needs_room(self) -> TrainingRunCreate:
        grpo = self.hyperparameters.grpo
        if "grpo" in self.stages and grpo.num_generations * grpo.prompts_per_step > 1_000_000:
            raise ValueError("grpo.num_generations × grpo.prompts_per_step must be at most 1,000,000")
        return self


class RunProgress(BaseModel):
    """What a worker writes into ``training_runs.progress`` (between steps)."""

    stage: Stage | None = None
    stages: list[Stage] = Field(default_factory=list)
    step: int = 0
    total_steps: int = 0
    loss: float | None = None
    reward: float | None = None
    accuracy: float | None = None
    kl: float | None = None
    eta_s: float | None = Field(None, description="Seconds left in this stage, from the mean step time.")
    metrics: dict[str, float] = Field(default_factory=dict, description="Every metric of the last step.")
    history: list[dict[str, float | str]] = Field(
        default_factory=list, description="Past steps' main metrics, thinned to at most a few hundred points."
    )
    resumed_from: str | None = Field(None, description="Checkpoint URL this attempt resumed from.")
