"""PostgreSQL schema (SQLAlchemy 2 typed ORM). PostgreSQL is the source of truth for every state.

Unique constraints make every pipeline stage idempotent: a stage that runs twice (a redelivered
Celery message, a re-enqueued stuck job) upserts into the same rows instead of adding new ones.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSONB,
        list[Any]: JSONB,
        uuid.UUID: UUID(as_uuid=True),
    }


from sightsound.contracts.common import ClaimKind, TraceDecisionLabel, VerdictLabel  # noqa: E402
from sightsound.contracts.lifecycle import TERMINAL_STATES as TERMINAL_STATES  # noqa: E402
from sightsound.contracts.lifecycle import JobState as JobState  # noqa: E402
from sightsound.contracts.lifecycle import RunState as RunState  # noqa: E402
from sightsound.contracts.lifecycle import Split as Split  # noqa: E402


def _label(cls: type[StrEnum], length: int) -> Enum:
    """A contract enum stored as VARCHAR (not a PostgreSQL enum type): the claim language grows new kinds
    without a migration, and the ORM still reads and writes the enum, refusing unknown values."""
    return Enum(cls, native_enum=False, create_constraint=False, length=length,
                values_callable=lambda e: [m.value for m in e], validate_strings=True)


def _enum(cls: type[StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e], validate_strings=True)


def _now_col() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Clip(Base):
    """An uploaded audio-visual clip, deduplicated by the SHA-256 of its bytes."""

    __tablename__ = "clips"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    media_url: Mapped[str] = mapped_column(Text, nullable=False)
    filename: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    duration_s: Mapped[float] = mapped_column(Float, nullable=False)
    fps: Mapped[float | None] = mapped_column(Float)
    # None for audio-only clips (benchmarks such as MMAU ship audio files): they have no frames either.
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    has_audio: Mapped[bool] = mapped_column(Boolean, nullable=False)
    frame_urls: Mapped[list[Any] | None] = mapped_column(JSONB)
    audio_url: Mapped[str | None] = mapped_column(Text)
    # sightsound.media.fingerprint's signature of the 16 kHz audio ({"version", "duration_s", "cells"}; empty
    # cells: silent), filled in when a dataset snapshot first needs it (the leakage guard).
    audio_fingerprint: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _now_col()

    questions: Mapped[list[Question]] = relationship(back_populates="clip", order_by="Question.created_at")


class Question(Base):
    """A multiple-choice audio question about a clip (optional gold answer).

    Uploaded questions have 4 choices (the method's format, enforced by the API); imported benchmark
    questions keep their own 2-4 choices (MMAU and MUSIC-AVQA yes/no items have fewer than 4; letters stay A-D).
    """

    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("clip_id", "fingerprint", name="uq_questions_clip_fingerprint"),
        CheckConstraint("jsonb_array_length(choices) BETWEEN 2 AND 4", name="ck_questions_choice_count"),
        CheckConstraint(
            "answer_index IS NULL OR (answer_index >= 0 AND answer_index < jsonb_array_length(choices))",
            name="ck_questions_answer",
        ),
        CheckConstraint("audio_contribution IN ('weak', 'strong')", name="ck_questions_audio_contribution"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    clip_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    choices: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)
    answer_index: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(64), index=True)
    split: Mapped[Split] = mapped_column(_enum(Split, "split"), default=Split.train, nullable=False)
    source: Mapped[str | None] = mapped_column(String(128), index=True)
    # The benchmark's own id of an imported item (MMAU ``id``, MUSIC-AVQA ``question_id``, AVQA ``id``).
    source_ref: Mapped[str | None] = mapped_column(String(255))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # AudioMCQ's label: 'weak' (a reference model answered it right with silent audio) or 'strong'; set by an
    # evaluation with label_audio_contribution (the latest one that asked the question), NULL until then.
    audio_contribution: Mapped[str | None] = mapped_column(String(8), index=True)
    audio_contribution_evaluation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("evaluations.id", ondelete="SET NULL", name="fk_questions_audio_contribution_eval"))
    created_at: Mapped[datetime] = _now_col()

    clip: Mapped[Clip] = relationship(back_populates="questions")
    job: Mapped[Job | None] = relationship(back_populates="question")


class Job(Base):
    """The pipeline run of one question: its state lives here, never only in the broker."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_updated", "state", "updated_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    question_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    state: Mapped[JobState] = mapped_column(_enum(JobState, "job_state"), default=JobState.queued, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    consensus_answer_index: Mapped[int | None] = mapped_column(Integer)
    agreement: Mapped[float | None] = mapped_column(Float)
    traces_used: Mapped[int | None] = mapped_column(Integer)
    # Cost accounting (summed over every model call that answered for this job; migration 0010):
    teacher_seconds: Mapped[float | None] = mapped_column(Float)  # waited on the teacher service
    verifier_seconds: Mapped[float | None] = mapped_column(Float)  # waited on the verifier service
    checker_seconds: Mapped[float | None] = mapped_column(Float)  # of which the verifier's audio LLM
    checker_prompt_tokens: Mapped[int | None] = mapped_column(BigInteger)
    checker_completion_tokens: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = _now_col()
    updated_at: Mapped[datetime] = _now_col()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    question: Mapped[Question] = relationship(back_populates="job")
    traces: Mapped[list[Trace]] = relationship(
        back_populates="job", order_by="Trace.trace_index"
    )


class Trace(Base):
    """One chain of thought of the teacher (a trace), with how it was produced."""

    __tablename__ = "traces"
    __table_args__ = (UniqueConstraint("job_id", "trace_index", name="uq_traces_job_index"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False)
    trace_index: Mapped[int] = mapped_column(Integer, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    answer_index: Mapped[int | None] = mapped_column(Integer)
    parse_error: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(255), nullable=False)
    backend: Mapped[str] = mapped_column(String(64), nullable=False)
    prompt_version: Mapped[str] = mapped_column(String(64), nullable=False)
    sampling: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    latency_ms: Mapped[float] = mapped_column(Float, nullable=False)
    prompt_tokens: Mapped[int] = mapped_column(Integer, nullable=False)
    completion_tokens: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = _now_col()

    job: Mapped[Job] = relationship(back_populates="traces")
    claims: Mapped[list[Claim]] = relationship(back_populates="trace", order_by="Claim.claim_index")
    decision: Mapped[TraceDecision | None] = relationship(back_populates="trace")


class Claim(Base):
    """A sound claim extracted from a trace by the verifier."""

    __tablename__ = "claims"
    __table_args__ = (UniqueConstraint("trace_id", "claim_index", name="uq_claims_trace_index"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    trace_id: Mapped[int] = mapped_column(ForeignKey("traces.id", ondelete="CASCADE"), nullable=False)
    claim_index: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[ClaimKind] = mapped_column(_label(ClaimKind, 32), nullable=False, index=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    final_verdict: Mapped[VerdictLabel] = mapped_column(_label(VerdictLabel, 16), nullable=False)
    final_confidence: Mapped[float] = mapped_column(Float, nullable=False)

    trace: Mapped[Trace] = relationship(back_populates="claims")
    verdicts: Mapped[list[Verdict]] = relationship(back_populates="claim", order_by="Verdict.checker")


class Verdict(Base):
    """What one checker said about one claim, with its evidence."""

    __tablename__ = "verdicts"
    __table_args__ = (UniqueConstraint("claim_id", "checker", name="uq_verdicts_claim_checker"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), nullable=False)
    checker: Mapped[str] = mapped_column(String(64), nullable=False)
    verdict: Mapped[VerdictLabel] = mapped_column(_label(VerdictLabel, 16), nullable=False)
    confidence: Mapped[float] = mapped_column(Float, nullable=False)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)

    claim: Mapped[Claim] = relationship(back_populates="verdicts")


class TraceDecision(Base):
    """Accept or reject of one trace, with the policy that decided and its reasons."""

    __tablename__ = "trace_decisions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    trace_id: Mapped[int] = mapped_column(
        ForeignKey("traces.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    decision: Mapped[TraceDecisionLabel] = mapped_column(_label(TraceDecisionLabel, 16), nullable=False, index=True)
    policy: Mapped[str] = mapped_column(String(128), nullable=False)
    reasons: Mapped[list[Any]] = mapped_column(JSONB, nullable=False, default=list)
    created_at: Mapped[datetime] = _now_col()

    trace: Mapped[Trace] = relationship(back_populates="decision")


class Dataset(Base):
    """An immutable snapshot of accepted traces: which traces, how selected, and where the export lies."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_datasets_name_version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    variant: Mapped[str] = mapped_column(String(32), nullable=False, default="cot")
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    trace_ids: Mapped[list[Any]] = mapped_column(JSONB, nullable=False, default=list)
    export_url: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = _now_col()


class TrainingRun(Base):
    """A training run of the student on a dataset; a trainer worker moves it and writes its progress."""

    __tablename__ = "training_runs"
    __table_args__ = (Index("ix_training_runs_state_created", "state", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id"), nullable=False)
    student_model: Mapped[str] = mapped_column(Text, nullable=False)
    stages: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)
    hyperparameters: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    state: Mapped[RunState] = mapped_column(_enum(RunState, "run_state"), default=RunState.queued, nullable=False)
    progress: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="false")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    output_url: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Cost accounting: wall time x devices over every attempt, and where it trained (cuda, cpu); migration 0010.
    accelerator_seconds: Mapped[float | None] = mapped_column(Float)
    accelerator: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = _now_col()
    updated_at: Mapped[datetime] = _now_col()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    checkpoints: Mapped[list[Checkpoint]] = relationship(order_by="Checkpoint.created_at", viewonly=True)


class Checkpoint(Base):
    """A saved student (adapters or full weights) of a run's stage. At most one is ``deployed``: the one
    the student endpoints answer with when a request names no model."""

    __tablename__ = "checkpoints"
    __table_args__ = (
        UniqueConstraint("run_id", "stage", "step", name="uq_checkpoints_run_stage_step"),
        Index("uq_checkpoints_one_deployed", "deployed", unique=True, postgresql_where="deployed"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_runs.id", ondelete="CASCADE"), nullable=False)
    stage: Mapped[str] = mapped_column(String(16), nullable=False)
    step: Mapped[int] = mapped_column(Integer, nullable=False)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    deployed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    deployed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now_col()

    run: Mapped[TrainingRun] = relationship(viewonly=True)


class Evaluation(Base):
    """One model answering one set of test questions; per-category results when it ends.

    ``model_ref`` names what is evaluated: ``checkpoint:<uuid>``, ``base:<student model>`` or ``teacher``.
    """

    __tablename__ = "evaluations"
    __table_args__ = (Index("ix_evaluations_state_created", "state", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    checkpoint_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("checkpoints.id", ondelete="SET NULL"))
    model_ref: Mapped[str] = mapped_column(Text, nullable=False)
    model_label: Mapped[str] = mapped_column(String(255), nullable=False)
    # The question source evaluated on (e.g. ``mmau-test-mini``, ``sightsound-synthetic``).
    benchmark: Mapped[str] = mapped_column(String(128), nullable=False)
    split: Mapped[Split] = mapped_column(_enum(Split, "split"), default=Split.test, nullable=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    state: Mapped[RunState] = mapped_column(_enum(RunState, "run_state"), default=RunState.queued, nullable=False)
    progress: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    results: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = _now_col()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EvaluationItem(Base):
    """The evaluated model's answer to one question asked one way (unique per evaluation, question, rotation and
    silence: a re-run task upserts). ``rotation`` 0 without ``silent`` is the question as given; ``predicted_index``
    is always the underlying choice (mapped back from the rotated letters)."""

    __tablename__ = "evaluation_items"
    __table_args__ = (
        UniqueConstraint("evaluation_id", "question_id", "rotation", "silent", name="uq_evaluation_items_ask"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    evaluation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("evaluations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    question_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), nullable=False)
    rotation: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0, server_default="0")
    silent: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="false")
    category: Mapped[str | None] = mapped_column(String(64))
    predicted_index: Mapped[int | None] = mapped_column(Integer)
    correct: Mapped[bool] = mapped_column(Boolean, nullable=False)
    output: Mapped[str] = mapped_column(Text, nullable=False)
    parse_error: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[float] = mapped_column(Float, nullable=False)
    created_at: Mapped[datetime] = _now_col()


class ApiKey(Base):
    """A key of the public API (``sightsound keys create``): only the SHA-256 of its secret is stored, beside a
    short prefix that names it in listings. Revoked keys stay, for the record."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    scopes: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = _now_col()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReviewOverride(Base):
    """A reviewer overruling the machine: a claim's final verdict (``claim_id`` and ``verdict``) or a trace's
    decision (``decision``). Rows are only ever added (an audit trail); the latest row of a claim or a trace is the
    one in force; the machine's own verdict and decision are never changed (``machine`` keeps what it said)."""

    __tablename__ = "review_overrides"
    __table_args__ = (
        CheckConstraint("(claim_id IS NOT NULL AND verdict IS NOT NULL AND decision IS NULL) OR "
                        "(claim_id IS NULL AND decision IS NOT NULL AND verdict IS NULL)", name="ck_review_target"),
        Index("ix_review_overrides_trace", "trace_id", "id"),
        Index("ix_review_overrides_claim", "claim_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    trace_id: Mapped[int] = mapped_column(ForeignKey("traces.id", ondelete="CASCADE"), nullable=False)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    verdict: Mapped[VerdictLabel | None] = mapped_column(_label(VerdictLabel, 16))
    decision: Mapped[TraceDecisionLabel | None] = mapped_column(_label(TraceDecisionLabel, 16))
    machine: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    reviewer: Mapped[str] = mapped_column(String(255), nullable=False)
    reviewer_key_id: Mapped[uuid.UUID | None] = mapped_column()
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = _now_col()


class TraceDoubt(Base):
    """How unsure the verifier was of a decided trace (the review queue's order; derived from its claims and
    verdicts, which never change once the trace is decided, so filled once per trace by the console)."""

    __tablename__ = "trace_doubts"
    __table_args__ = (Index("ix_trace_doubts_order", text("doubt DESC"), "trace_id"),)

    trace_id: Mapped[int] = mapped_column(ForeignKey("traces.id", ondelete="CASCADE"), primary_key=True)
    doubt: Mapped[Decimal] = mapped_column(Numeric(12, 6), nullable=False)
    lowest: Mapped[float | None] = mapped_column(Float)
    unverifiable: Mapped[int] = mapped_column(Integer, nullable=False)
    claims: Mapped[int] = mapped_column(Integer, nullable=False)
    disagreed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    # The decision the doubt was computed for: new decisions have higher ids, so the highest one stored says where
    # the next fill starts.
    decision_id: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
