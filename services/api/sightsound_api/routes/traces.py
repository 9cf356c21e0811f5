"""``/v1/traces``: teacher samples with their verification outcome, filtered and paginated."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from sightsound.db.models import Job, Question, Trace, TraceDecision
from sightsound.web import problem_openapi_responses
from sightsound_api.deps import SessionDep, scope
from sightsound_api.pagination import decode_cursor, encode_cursor
from sightsound_api.schemas import TraceOut, TracePage

router = APIRouter(prefix="/v1/traces", tags=["traces"])


@router.get("", response_model=TracePage, summary="List traces",
            dependencies=[scope("read")], responses=problem_openapi_responses(400, 422))
def list_traces(
    session: SessionDep,
    decision: Annotated[
        Literal["accepted", "rejected", "undecided"] | None,
        Query(description="`undecided`: not verified (yet, or no consensus)."),
    ] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> TracePage:
    stmt = (
        select(Trace, Job, Question, TraceDecision)
        .join(Job, Trace.job_id == Job.id)
        .join(Question, Job.question_id == Question.id)
        .outerjoin(TraceDecision, TraceDecision.trace_id == Trace.id)
        .order_by(Trace.id)
        .limit(limit + 1)
    )
    if cursor is not None:
        stmt = stmt.where(Trace.id > decode_cursor(cursor))
    if decision == "undecided":
        stmt = stmt.where(TraceDecision.id.is_(None))
    elif decision is not None:
        stmt = stmt.where(TraceDecision.decision == decision)
    if category is not None:
        stmt = stmt.where(Question.category == category)
    rows = session.execute(stmt).all()
    items = [
        TraceOut(
            trace_id=sample.id,
            job_id=job.id,
            clip_id=question.clip_id,
            question_id=question.id,
            category=question.category,
            trace_index=sample.trace_index,
            text=sample.text,
            answer_index=sample.answer_index,
            decision=dec.decision if dec is not None else None,
            reasons=list(dec.reasons) if dec is not None else [],
            model=sample.model,
            prompt_version=sample.prompt_version,
        )
        for sample, job, question, dec in rows[:limit]
    ]
    next_cursor = encode_cursor(items[-1].trace_id) if len(rows) > limit else None
    return TracePage(items=items, next_cursor=next_cursor)
