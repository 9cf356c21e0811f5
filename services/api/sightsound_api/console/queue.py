"""The review queue: decided traces no reviewer has decided on yet, the ones the verifier was least sure of first.

A trace's doubt is ``(1 - the lowest final confidence of its decided claims) + 1 if two checkers disagreed on a
claim + half its share of unverifiable claims``; ties go to the older trace. (The verifier's ensemble already gives
a disagreed claim a low confidence, the margin; the disagreement term puts such traces first.) Keyset-paginated on
(doubt, trace id).
"""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Float, Numeric, and_, case, cast, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, selectinload

from sightsound.db.models import Claim, Job, Question, ReviewOverride, Trace, TraceDecision, TraceDoubt, Verdict
from sightsound.web import ProblemError

PAGE = 20
#: Decisions below the watermark looked at again (concurrent workers may commit ids out of order).
RECHECK = 1000
PRECISION = 6


def encode(doubt: Decimal, trace_id: int) -> str:
    """An opaque cursor after (doubt, trace id).

    >>> decode(encode(Decimal("0.25"), 7))
    (Decimal('0.250000'), 7)
    """
    return base64.urlsafe_b64encode(f"q:{doubt:.{PRECISION}f}|{trace_id}".encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[Decimal, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        doubt, _, trace_id = value.partition("|")
        if prefix != "q":
            raise ValueError(prefix)
        return Decimal(doubt), int(trace_id)
    except (binascii.Error, UnicodeDecodeError, ValueError, InvalidOperation) as exc:
        raise ProblemError(400, "cursor is not valid: follow the queue's own links", kind="invalid-cursor") from exc


def doubts(traces: Any) -> Any:
    """A select of (``trace_id``, ``doubt``, ``lowest``, ``unverifiable``, ``claims``, ``disagreed``) over the
    traces whose ids ``traces`` (a select of trace ids) yields, those with claims."""
    split_claims = (select(Claim.trace_id.label("trace_id")).join(Verdict, Verdict.claim_id == Claim.id)
                    .where(Verdict.verdict != "unverifiable", Claim.trace_id.in_(traces))
                    .group_by(Claim.id, Claim.trace_id)
                    .having(func.count(func.distinct(Verdict.verdict)) > 1).subquery("split_claims"))
    disagreed = (select(split_claims.c.trace_id, func.count().label("n")).group_by(split_claims.c.trace_id)
                 .subquery("disagreed"))
    unverifiable = func.count().filter(Claim.final_verdict == "unverifiable")
    lowest = func.min(Claim.final_confidence).filter(Claim.final_verdict != "unverifiable")
    per_trace = (select(Claim.trace_id.label("trace_id"), lowest.label("lowest"),
                        unverifiable.label("unverifiable"), func.count().label("claims"))
                 .where(Claim.trace_id.in_(traces)).group_by(Claim.trace_id).subquery("claim_stats"))
    flag = disagreed.c.n.is_not(None)
    doubt = (1.0 - func.coalesce(per_trace.c.lowest, 1.0) + case((flag, 1.0), else_=0.0)
             + 0.5 * cast(per_trace.c.unverifiable, Float) / per_trace.c.claims)
    return (select(per_trace.c.trace_id, func.round(cast(doubt, Numeric(12, PRECISION)), PRECISION),
                   per_trace.c.lowest, per_trace.c.unverifiable, per_trace.c.claims, flag)
            .outerjoin(disagreed, disagreed.c.trace_id == per_trace.c.trace_id))


def fill(session: Session) -> int:
    """Compute the doubt of every trace decided since the last fill (a trace's claims and verdicts never change once
    it is decided, so each is computed once; decision ids only grow, so the highest stored one is the watermark,
    less :data:`RECHECK` for decisions committed out of id order); returns how many were added. Concurrent fills add
    each trace once."""
    watermark = select(func.coalesce(func.max(TraceDoubt.decision_id), 0)).scalar_subquery()
    decided = select(TraceDecision.trace_id).where(TraceDecision.id > watermark - RECHECK,
                                                   ~exists().where(TraceDoubt.trace_id == TraceDecision.trace_id))
    scored = doubts(decided).subquery("scored")
    rows = (select(scored, TraceDecision.id).join(TraceDecision, TraceDecision.trace_id == scored.c.trace_id))
    columns = ["trace_id", "doubt", "lowest", "unverifiable", "claims", "disagreed", "decision_id"]
    added = session.execute(insert(TraceDoubt).from_select(columns, rows)
                            .on_conflict_do_nothing(index_elements=["trace_id"]))
    session.commit()
    return int(getattr(added, "rowcount", 0) or 0)


def page(session: Session, cursor: str | None, include_reviewed: bool = False,
         limit: int = PAGE) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the queue: trace, its question and clip, its doubt and why."""
    fill(session)
    d = TraceDoubt
    stmt = (select(Trace, TraceDecision, Question, d.doubt, d.lowest, d.unverifiable, d.claims, d.disagreed)
            .select_from(d).join(Trace, Trace.id == d.trace_id)
            .join(TraceDecision, TraceDecision.trace_id == Trace.id)
            .join(Job, Job.id == Trace.job_id).join(Question, Question.id == Job.question_id)
            .order_by(d.doubt.desc(), d.trace_id).limit(limit + 1)
            .options(selectinload(Trace.claims).selectinload(Claim.verdicts)))
    if not include_reviewed:
        stmt = stmt.where(~exists().where(and_(ReviewOverride.trace_id == d.trace_id,
                                               ReviewOverride.decision.is_not(None))))
    if cursor:
        doubt, last = decode(cursor)
        stmt = stmt.where(or_(d.doubt < doubt, and_(d.doubt == doubt, d.trace_id > last)))
    rows = session.execute(stmt).all()
    items: list[dict[str, Any]] = [
        {"trace": trace, "decision": decision, "question": question, "doubt": Decimal(doubt), "lowest": lowest,
         "unverifiable": int(unverifiable), "claims": int(claims), "disagreed": bool(flag)}
        for trace, decision, question, doubt, lowest, unverifiable, claims, flag in rows[:limit]]
    last_doubt: Decimal = items[-1]["doubt"] if items else Decimal(0)
    last_trace: Trace | None = items[-1]["trace"] if items else None
    more = len(rows) > limit and last_trace is not None
    return items, (encode(last_doubt, last_trace.id) if more and last_trace is not None else None)
