"""Writes of the pipeline stages' results into PostgreSQL, each idempotent.

Samples are upserted on ``(job_id, trace_index)``; a trace's claims, verdicts and decision are
written together in one transaction and skipped when its decision exists already, so a stage that
runs twice leaves exactly one copy of every row.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sightsound.contracts.teacher import ReasonResponse
from sightsound.contracts.verifier import VerifierUsage, VerifyResponse
from sightsound.db.models import Claim, Job, JobState, Trace, TraceDecision, Verdict


def now() -> datetime:
    return datetime.now(UTC)


def set_state(
    session: Session,
    job_id: uuid.UUID,
    state: JobState,
    *,
    expected: frozenset[JobState] | None = None,
    error: str | None = None,
) -> bool:
    """Move a job to ``state``; with ``expected``, only from one of those states (compare-and-set)."""
    values: dict[str, object] = {"state": state, "updated_at": now()}
    if state.terminal:
        values["finished_at"] = now()
    if state == JobState.ingesting:
        values["started_at"] = now()
    if state in (JobState.reasoning, JobState.verifying):
        values["attempts"] = 0  # attempts count deliveries of the current stage (see stages._load_job_state)
    if error is not None:
        values["error"] = error[:4000]
    stmt = update(Job).where(Job.id == job_id).values(**values)
    if expected is not None:
        stmt = stmt.where(Job.state.in_(expected))
    result = session.execute(stmt)
    return bool(getattr(result, "rowcount", 0))


def record_model_time(
    session: Session,
    job_id: uuid.UUID,
    *,
    teacher_seconds: float = 0.0,
    verifier_seconds: float = 0.0,
    usage: VerifierUsage | None = None,
) -> None:
    """Add one model call's cost to the job (every call that answered counts, a duplicate delivery's too): the
    seconds the pipeline waited on the teacher or the verifier, and the verifier's audio-LLM seconds and tokens."""
    values: dict[str, object] = {}
    if teacher_seconds:
        values["teacher_seconds"] = func.coalesce(Job.teacher_seconds, 0.0) + teacher_seconds
    if verifier_seconds:
        values["verifier_seconds"] = func.coalesce(Job.verifier_seconds, 0.0) + verifier_seconds
    if usage is not None:
        values["checker_seconds"] = func.coalesce(Job.checker_seconds, 0.0) + usage.checker_seconds
        values["checker_prompt_tokens"] = func.coalesce(Job.checker_prompt_tokens, 0) + usage.prompt_tokens
        values["checker_completion_tokens"] = (
            func.coalesce(Job.checker_completion_tokens, 0) + usage.completion_tokens
        )
    if values:
        session.execute(update(Job).where(Job.id == job_id).values(**values))


def record_traces(session: Session, job_id: uuid.UUID, response: ReasonResponse) -> int:
    """Upsert the teacher's samples of a job; returns how many rows were new."""
    if not response.traces:
        return 0
    rows = [
        {
            "job_id": job_id,
            "trace_index": sample.index,
            "text": sample.text,
            "answer_index": sample.answer_index,
            "parse_error": sample.parse_error,
            "model": response.model,
            "backend": response.backend,
            "prompt_version": response.prompt_version,
            "sampling": response.sampling.model_dump(mode="json"),
            "latency_ms": sample.latency_ms,
            "prompt_tokens": sample.prompt_tokens,
            "completion_tokens": sample.completion_tokens,
        }
        for sample in response.traces
    ]
    stmt = insert(Trace).values(rows).on_conflict_do_nothing(constraint="uq_traces_job_index")
    result = session.execute(stmt.returning(Trace.id))
    return len(result.fetchall())


def record_verification(session: Session, job_id: uuid.UUID, response: VerifyResponse) -> list[str]:
    """Store claims, verdicts and decisions of each verified trace; returns every trace's decision."""
    samples = {
        s.trace_index: s
        for s in session.scalars(select(Trace).where(Trace.job_id == job_id))
    }
    decided = set(
        session.scalars(
            select(TraceDecision.trace_id).join(Trace).where(Trace.job_id == job_id)
        )
    )
    decisions: list[str] = []
    for trace in response.traces:
        sample = samples.get(trace.trace_index)
        if sample is None:
            raise ValueError(f"verifier answered for unknown sample {trace.trace_index}")
        decisions.append(trace.decision.value)
        if sample.id in decided:
            continue
        for result in trace.claims:
            claim = Claim(
                trace_id=sample.id,
                claim_index=result.claim.index,
                kind=result.claim.kind.value,
                text=result.claim.text,
                attributes=result.claim.attributes,
                final_verdict=result.final.verdict.value,
                final_confidence=result.final.confidence,
            )
            session.add(claim)
            session.flush()
            seen_checkers: set[str] = set()
            for verdict in result.verdicts:
                if verdict.checker in seen_checkers:
                    continue
                seen_checkers.add(verdict.checker)
                session.add(
                    Verdict(
                        claim_id=claim.id,
                        checker=verdict.checker,
                        verdict=verdict.verdict.value,
                        confidence=verdict.confidence,
                        evidence=verdict.evidence,
                    )
                )
        reasons = list(trace.reasons)
        if response.audio.note:
            reasons.append(f"audio: {response.audio.note}")
        reasons.extend(f"parse: {err}" for err in trace.parse_errors)
        session.add(
            TraceDecision(
                trace_id=sample.id, decision=trace.decision.value, policy=response.policy, reasons=reasons
            )
        )
    session.flush()
    return decisions
