"""What the console's overview shows: the funnel and verdicts (the queries of ``/v1/stats``), recent failures,
and a search over traces by clip, question, category, decision, claim kind and verdict (keyset-paginated)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from sightsound.contracts.common import ClaimKind, VerdictLabel
from sightsound.db.models import Claim, Clip, Job, JobState, Question, Trace, TraceDecision
from sightsound.db.overrides import latest_decisions, review_counts
from sightsound_api.pagination import decode_cursor, encode_cursor
from sightsound_api.routes.stats import funnel, verdicts_by_kind

PAGE = 25
DECISIONS = ("accepted", "rejected", "undecided", "overruled")


def overview(session: Session) -> dict[str, Any]:
    failures = session.execute(
        select(Job, Question.text, Question.clip_id).join(Question, Question.id == Job.question_id)
        .where(Job.state == JobState.failed).order_by(Job.updated_at.desc()).limit(10)).all()
    rejected = session.execute(
        select(TraceDecision, Trace.job_id, Question.clip_id).join(Trace, Trace.id == TraceDecision.trace_id)
        .join(Job, Job.id == Trace.job_id).join(Question, Question.id == Job.question_id)
        .where(TraceDecision.decision == "rejected").order_by(TraceDecision.id.desc()).limit(8)).all()
    return {
        "funnel": funnel(session, None),
        "verdicts": verdicts_by_kind(session, None),
        "review": review_counts(session),
        "failures": [{"job": job, "question": text, "clip_id": clip_id} for job, text, clip_id in failures],
        "rejections": [{"trace_id": d.trace_id, "reasons": d.reasons, "clip_id": clip_id, "when": d.created_at}
                       for d, _, clip_id in rejected],
    }


@dataclass(frozen=True)
class Search:
    """The overview's search form (every field optional; together ANDed)."""

    clip: str = ""
    question: str = ""
    category: str = ""
    decision: str = ""
    kind: str = ""
    verdict: str = ""

    @classmethod
    def of(cls, params: Any) -> Search:
        values = {name: str(params.get(name, "") or "").strip()[:200] for name in cls.__dataclass_fields__}
        if values["decision"] not in DECISIONS:
            values["decision"] = ""
        if values["kind"] not in {k.value for k in ClaimKind}:
            values["kind"] = ""
        if values["verdict"] not in {v.value for v in VerdictLabel}:
            values["verdict"] = ""
        return cls(**values)

    def any(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__)

    def query(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__ if getattr(self, name)}


def _clip_filter(text: str) -> Any:
    try:
        return Clip.id == uuid.UUID(text)
    except ValueError:
        return or_(cast(Clip.id, String).startswith(text.lower()), Clip.filename.ilike(f"%{_like(text)}%"))


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(session: Session, form: Search, cursor: str | None, limit: int = PAGE) -> tuple[list[dict[str, Any]],
                                                                                             str | None]:
    """Traces matching ``form``, oldest first, one page after ``cursor``."""
    reviewed = latest_decisions()
    claims = (select(func.count()).where(Claim.trace_id == Trace.id).correlate(Trace).scalar_subquery())
    stmt = (select(Trace.id, Trace.trace_index, Trace.answer_index, Question.text, Question.category,
                   Question.clip_id, Clip.filename, TraceDecision.decision, reviewed.c.decision, claims)
            .join(Job, Job.id == Trace.job_id).join(Question, Question.id == Job.question_id)
            .join(Clip, Clip.id == Question.clip_id)
            .outerjoin(TraceDecision, TraceDecision.trace_id == Trace.id)
            .outerjoin(reviewed, reviewed.c.trace_id == Trace.id)
            .order_by(Trace.id).limit(limit + 1))
    if cursor:
        stmt = stmt.where(Trace.id > decode_cursor(cursor))
    if form.clip:
        stmt = stmt.where(_clip_filter(form.clip))
    if form.question:
        stmt = stmt.where(Question.text.ilike(f"%{_like(form.question)}%"))
    if form.category:
        stmt = stmt.where(Question.category == form.category)
    if form.decision == "undecided":
        stmt = stmt.where(TraceDecision.id.is_(None))
    elif form.decision == "overruled":
        stmt = stmt.where(reviewed.c.trace_id.is_not(None))
    elif form.decision:
        stmt = stmt.where(func.coalesce(reviewed.c.decision, TraceDecision.decision) == form.decision)
    if form.kind or form.verdict:
        claim = select(Claim.id).where(Claim.trace_id == Trace.id)
        if form.kind:
            claim = claim.where(Claim.kind == form.kind)
        if form.verdict:
            claim = claim.where(Claim.final_verdict == form.verdict)
        stmt = stmt.where(exists(claim))
    rows = session.execute(stmt).all()
    items = [{"trace_id": r[0], "trace_index": r[1], "answer_index": r[2], "question": r[3], "category": r[4],
              "clip_id": r[5], "filename": r[6], "decision": _value(r[7]), "override": _value(r[8]), "claims": r[9]}
             for r in rows[:limit]]
    return items, (encode_cursor(items[-1]["trace_id"]) if len(rows) > limit else None)


def categories(session: Session) -> list[str]:
    return [c for c in session.scalars(select(Question.category).where(Question.category.is_not(None))
                                       .distinct().order_by(Question.category).limit(100)) if c]


def _value(label: Any) -> str | None:
    return None if label is None else str(getattr(label, "value", label))
