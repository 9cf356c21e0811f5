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
from sqlalchemy.orm import Session

from sightsound.db.models import Claim, Job, Question, ReviewOverride, Trace, TraceDecision, Verdict
from sightsound.web import ProblemError

PAGE = 20
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


def doubts() -> Any:
    """A subquery (``trace_id``, ``doubt``, ``lowest``, ``unverifiable``, ``claims``, ``disagreed``) over every
    trace with claims."""
    split_claims = (select(Claim.trace_id.label("trace_id")).join(Verdict, Verdict.claim_id == Claim.id)
                    .where(Verdict.verdict != "unverifiable").group_by(Claim.id, Claim.trace_id)
                    .having(func.count(func.distinct(Verdict.verdict)) > 1).subquery("split_claims"))
    disagreed = (select(split_claims.c.trace_id, func.count().label("n")).group_by(split_claims.c.trace_id)
                 .subquery("disagreed"))
    unverifiable = func.count().filter(Claim.final_verdict == "unverifiable")
    lowest = func.min(Claim.final_confidence).filter(Claim.final_verdict != "unverifiable")
    per_trace = (select(Claim.trace_id.label("trace_id"), lowest.label("lowest"),
                        unverifiable.label("unverifiable"), func.count().label("claims"))
                 .group_by(Claim.trace_id).subquery("claim_stats"))
    flag = disagreed.c.n.is_not(None)
    doubt = (1.0 - func.coalesce(per_trace.c.lowest, 1.0) + case((flag, 1.0), else_=0.0)
             + 0.5 * cast(per_trace.c.unverifiable, Float) / per_trace.c.claims)
    return (select(per_trace.c.trace_id, func.round(cast(doubt, Numeric(12, PRECISION)), PRECISION).label("doubt"),
                   per_trace.c.lowest, per_trace.c.unverifiable, per_trace.c.claims, flag.label("disagreed"))
            .outerjoin(disagreed, disagreed.c.trace_id == per_trace.c.trace_id).subquery("doubts"))


def page(session: Session, cursor: str | None, include_reviewed: bool = False,
         limit: int = PAGE) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the queue: trace, its question and clip, its doubt and why."""
    d = doubts()
    stmt = (select(Trace, TraceDecision, Question, d.c.doubt, d.c.lowest, d.c.unverifiable, d.c.claims,
                   d.c.disagreed)
            .join(d, d.c.trace_id == Trace.id)
            .join(TraceDecision, TraceDecision.trace_id == Trace.id)
            .join(Job, Job.id == Trace.job_id).join(Question, Question.id == Job.question_id)
            .order_by(d.c.doubt.desc(), Trace.id).limit(limit + 1))
    if not include_reviewed:
        stmt = stmt.where(~exists().where(and_(ReviewOverride.trace_id == Trace.id,
                                               ReviewOverride.decision.is_not(None))))
    if cursor:
        doubt, last = decode(cursor)
        stmt = stmt.where(or_(d.c.doubt < doubt, and_(d.c.doubt == doubt, Trace.id > last)))
    rows = session.execute(stmt).all()
    items = [{"trace": trace, "decision": decision, "question": question, "doubt": Decimal(doubt),
              "lowest": lowest, "unverifiable": int(unverifiable), "claims": int(claims), "disagreed": bool(flag)}
             for trace, decision, question, doubt, lowest, unverifiable, claims, flag in rows[:limit]]
    more = len(rows) > limit
    return items, (encode(items[-1]["doubt"], items[-1]["trace"].id) if more and items else None)
