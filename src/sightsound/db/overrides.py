"""Reviewers overruling the machine (the ``review_overrides`` audit trail): record an override, read the ones in
force (the latest per claim and per trace), count them.

The machine's verdicts and decisions are never changed: an override is a new row beside them, and the latest row
of a claim (or of a trace's decision) is the one in force. Overruling a claim's verdict does not re-run the
verifier's policy (the verifier owns it): a reviewer who disagrees with the outcome overrules the trace's decision
as well.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from sightsound.contracts.common import TraceDecisionLabel, VerdictLabel
from sightsound.db.models import Claim, Job, Question, ReviewOverride, Trace, TraceDecision

MAX_COMMENT = 2000


class NotFound(LookupError):
    """No claim or trace with that id."""


@dataclass(frozen=True)
class Reviewer:
    """Who overrules: the principal's name and its API key's id (none when authentication is off)."""

    name: str
    key_id: uuid.UUID | None = None

    @classmethod
    def of(cls, name: str, key_id: str | None) -> Reviewer:
        return cls(name[:255], uuid.UUID(key_id) if key_id else None)


def overrule_claim(session: Session, claim_id: int, verdict: VerdictLabel, comment: str,
                   reviewer: Reviewer) -> ReviewOverride:
    """Record a reviewer's verdict on a claim (the caller commits). Raises :class:`NotFound`."""
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise NotFound(f"no claim with id {claim_id}")
    row = ReviewOverride(trace_id=claim.trace_id, claim_id=claim.id, verdict=VerdictLabel(verdict),
                         machine=claim.final_verdict.value, comment=comment.strip()[:MAX_COMMENT],
                         reviewer=reviewer.name, reviewer_key_id=reviewer.key_id)
    session.add(row)
    session.flush()
    return row


def overrule_trace(session: Session, trace_id: int, decision: TraceDecisionLabel, comment: str,
                   reviewer: Reviewer) -> ReviewOverride:
    """Record a reviewer's decision on a trace (the caller commits). ``machine`` is the verifier's decision, or
    ``None`` when it never decided. Raises :class:`NotFound`."""
    trace = session.get(Trace, trace_id)
    if trace is None:
        raise NotFound(f"no trace with id {trace_id}")
    machine = session.scalar(select(TraceDecision.decision).where(TraceDecision.trace_id == trace_id))
    row = ReviewOverride(trace_id=trace_id, claim_id=None, decision=TraceDecisionLabel(decision),
                         machine=machine.value if machine is not None else None,
                         comment=comment.strip()[:MAX_COMMENT], reviewer=reviewer.name,
                         reviewer_key_id=reviewer.key_id)
    session.add(row)
    session.flush()
    return row


def latest_decisions() -> Any:
    """A subquery (``trace_id``, ``decision``): the decision override in force of every overruled trace."""
    return (select(ReviewOverride.trace_id, ReviewOverride.decision)
            .where(ReviewOverride.decision.is_not(None))
            .ext(distinct_on(ReviewOverride.trace_id))
            .order_by(ReviewOverride.trace_id, ReviewOverride.id.desc())
            .subquery("reviewed"))


def latest_verdicts() -> Any:
    """A subquery (``claim_id``, ``trace_id``, ``verdict``, ``machine``): the verdict override in force of every
    overruled claim."""
    return (select(ReviewOverride.claim_id, ReviewOverride.trace_id, ReviewOverride.verdict, ReviewOverride.machine)
            .where(ReviewOverride.claim_id.is_not(None))
            .ext(distinct_on(ReviewOverride.claim_id))
            .order_by(ReviewOverride.claim_id, ReviewOverride.id.desc())
            .subquery("reviewed_claims"))


def history(session: Session, trace_ids: Iterable[int]) -> list[ReviewOverride]:
    """Every override of these traces and their claims, oldest first."""
    ids = list(trace_ids)
    if not ids:
        return []
    return list(session.scalars(select(ReviewOverride).where(ReviewOverride.trace_id.in_(ids))
                                .order_by(ReviewOverride.id)))


def _by_source(stmt: Select[Any], trace_col: Any, source: str | None) -> Select[Any]:
    if source is None:
        return stmt
    return (stmt.join(Trace, Trace.id == trace_col).join(Job, Job.id == Trace.job_id)
            .join(Question, Question.id == Job.question_id).where(Question.source == source))


def review_counts(session: Session, source: str | None = None) -> dict[str, Any]:
    """What reviewers changed: override rows, claims and traces with an override in force, the verdicts and
    decisions in force, and how many of them differ from the machine's."""
    rows = _count(session, _by_source(select(func.count()).select_from(ReviewOverride), ReviewOverride.trace_id,
                                      source))
    reviewers = _count(session, _by_source(select(func.count(distinct(ReviewOverride.reviewer))),
                                           ReviewOverride.trace_id, source))
    claims = latest_verdicts()
    by_verdict: dict[str, int] = {str(getattr(k, "value", k)): int(n) for k, n in session.execute(_by_source(
        select(claims.c.verdict, func.count()).select_from(claims).group_by(claims.c.verdict),
        claims.c.trace_id, source)).all()}
    claims_changed = _count(session, _by_source(
        select(func.count()).select_from(claims).where(claims.c.verdict != claims.c.machine), claims.c.trace_id,
        source))
    traces = latest_decisions()
    machine = TraceDecision.decision
    decided = (select(traces.c.decision, machine, func.count()).select_from(traces)
               .outerjoin(TraceDecision, TraceDecision.trace_id == traces.c.trace_id)
               .group_by(traces.c.decision, machine))
    by_decision: dict[str, int] = {}
    flips: dict[str, int] = {}
    for reviewed, said, n in session.execute(_by_source(decided, traces.c.trace_id, source)).all():
        key = str(getattr(reviewed, "value", reviewed))
        by_decision[key] = by_decision.get(key, 0) + int(n)
        if said is None or str(getattr(said, "value", said)) != key:
            flip = f"{getattr(said, 'value', said) or 'undecided'}->{key}"
            flips[flip] = flips.get(flip, 0) + int(n)
    return {
        "overrides": rows,
        "reviewers": reviewers,
        "claims_overruled": sum(by_verdict.values()),
        "claims_changed": claims_changed,
        "claim_verdicts": dict(sorted(by_verdict.items())),
        "traces_overruled": sum(by_decision.values()),
        "trace_decisions": dict(sorted(by_decision.items())),
        "decision_changes": dict(sorted(flips.items())),
    }


def _count(session: Session, stmt: Select[Any]) -> int:
    return int(session.execute(stmt).scalar_one() or 0)
