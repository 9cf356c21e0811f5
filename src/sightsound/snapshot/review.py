"""Snapshots and reviewers: which traces count as accepted when reviewers overruled the verifier
(``filters.overrides``), ``filters.reviewed_only``, and what the review changed in a snapshot (``counts.review``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from sightsound.contracts.training import DatasetCreate, DatasetFilters
from sightsound.db.models import ReviewOverride, Trace, TraceDecision
from sightsound.db.overrides import latest_decisions, latest_verdicts

S = TypeVar("S", bound=Select[*tuple[Any, ...]])


class _Row(Protocol):
    @property
    def trace_id(self) -> int: ...


def accepted(stmt: S, filters: DatasetFilters) -> S:
    """Narrow a statement over ``Trace`` (selecting ``TraceDecision`` too) to accepted traces: by the verifier's
    decision, or, when overrides are honoured, by the reviewer's where one overruled it."""
    stmt = stmt.outerjoin(TraceDecision, TraceDecision.trace_id == Trace.id)
    if filters.overrides == "ignore":
        return stmt.where(TraceDecision.decision == "accepted")
    reviewed = latest_decisions()
    return stmt.outerjoin(reviewed, reviewed.c.trace_id == Trace.id).where(
        func.coalesce(reviewed.c.decision, TraceDecision.decision) == "accepted"
    )


def reviewed(stmt: S, filters: DatasetFilters) -> S:
    """Only traces a reviewer looked at, when ``filters.reviewed_only``."""
    if not filters.reviewed_only:
        return stmt
    return stmt.where(exists().where(ReviewOverride.trace_id == Trace.id))


def review_counts(session: Session, request: DatasetCreate, used: Sequence[int],
                  select_rows: Callable[[Session, DatasetCreate], Sequence[_Row]]) -> dict[str, Any]:
    """``counts.review`` of a snapshot: the override setting, the used traces a reviewer looked at, their claims
    with an overruled verdict, and the traces the reviewers' decisions put in or kept out (against the verifier
    alone)."""
    f = request.filters
    out: dict[str, Any] = {"overrides": f.overrides if request.variant != "cot-unverified" else "ignore",
                           "reviewed_only": f.reviewed_only}
    ids = list(used)
    if ids:
        out["traces_reviewed"] = int(session.scalar(
            select(func.count(func.distinct(ReviewOverride.trace_id))).where(ReviewOverride.trace_id.in_(ids))) or 0)
        claims = latest_verdicts()
        out["claims_overruled"] = int(session.scalar(
            select(func.count()).select_from(claims).where(claims.c.trace_id.in_(ids))) or 0)
    else:
        out["traces_reviewed"] = out["claims_overruled"] = 0
    if out["overrides"] == "honour" and session.scalar(select(exists().where(ReviewOverride.decision.is_not(None)))):
        machine = {r.trace_id for r in select_rows(session, request.model_copy(
            update={"filters": f.model_copy(update={"overrides": "ignore"})}))}
        honoured = {r.trace_id for r in select_rows(session, request)}
        out["accepted_by_reviewer"] = len(honoured - machine)
        out["rejected_by_reviewer"] = len(machine - honoured)
    else:
        out["accepted_by_reviewer"] = out["rejected_by_reviewer"] = 0
    return out
