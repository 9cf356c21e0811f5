"""``/v1/stats``: pipeline statistics for dashboards and the run report (read-only, aggregated in SQL)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query
from sqlalchemy import Select, distinct, extract, func, select
from sqlalchemy.orm import Session

from sightsound.contracts.common import VerdictLabel
from sightsound.db.models import Claim, Clip, Job, JobState, Question, Split, Trace, TraceDecision
from sightsound.db.overrides import review_counts
from sightsound.web import problem_openapi_responses
from sightsound_api.cost import cost
from sightsound_api.deps import SessionDep, scope
from sightsound_api.override_schemas import ReviewCountsOut
from sightsound_api.stats_schemas import FunnelOut, LatencyOut, StatsOut, VerdictCountsOut

router = APIRouter(prefix="/v1/stats", tags=["stats"])
#: Any select statement, keeping its row type through the helpers below.
AnySelect = Select[*tuple[Any, ...]]
S = TypeVar("S", bound=AnySelect)


def _only(stmt: S, source: str | None) -> S:
    """Restrict a statement that already reaches ``questions`` to one question source."""
    return stmt if source is None else stmt.where(Question.source == source)


def _jobs(stmt: S, source: str | None) -> S:
    """Join a statement over jobs to their questions, when a source restricts it (no join otherwise: faster)."""
    return stmt if source is None else stmt.join(Question, Job.question_id == Question.id)


def _samples(stmt: S, source: str | None) -> S:
    return stmt if source is None else _jobs(stmt.join(Job, Trace.job_id == Job.id), source)


def _traces_of(stmt: S, trace_id: Any, source: str | None) -> S:
    """Join a statement over rows of traces (claims, decisions) to their traces' questions, when a source
    restricts it."""
    return stmt if source is None else _samples(stmt.join(Trace, trace_id == Trace.id), source)


def _count(session: Session, stmt: AnySelect) -> int:
    return int(session.execute(stmt).scalar_one() or 0)


def _grouped(session: Session, stmt: AnySelect) -> dict[str, int]:
    return {str(getattr(key, "value", key)): int(n) for key, n in session.execute(stmt).all()}


def funnel(session: Session, source: str | None) -> FunnelOut:
    if source is None:
        clips = _count(session, select(func.count()).select_from(Clip))
    else:
        clips = _count(session, _only(select(func.count(distinct(Question.clip_id))), source))
    by_split = _grouped(session, _only(select(Question.split, func.count()).group_by(Question.split), source))
    by_state = _grouped(
        session, _only(_jobs(select(Job.state, func.count()).select_from(Job), source).group_by(Job.state), source)
    )
    job_flags = session.execute(
        _only(
            _jobs(
                select(
                    func.count(Job.consensus_answer_index),
                    func.count().filter(Job.agreement >= 1.0),
                ).select_from(Job),
                source,
            ),
            source,
        )
    ).one()
    decisions = _grouped(
        session,
        _only(
            _traces_of(select(TraceDecision.decision, func.count()).select_from(TraceDecision),
                       TraceDecision.trace_id, source).group_by(TraceDecision.decision),
            source,
        ),
    )
    return FunnelOut(
        clips=clips,
        questions=sum(by_split.values()),
        questions_by_split={s.value: by_split.get(s.value, 0) for s in Split},
        jobs=sum(by_state.values()),
        jobs_by_state={s.value: by_state.get(s.value, 0) for s in JobState},
        jobs_with_consensus=int(job_flags[0]),
        jobs_unanimous=int(job_flags[1]),
        traces_sampled=_count(session, _only(_samples(select(func.count()).select_from(Trace), source), source)),
        traces_verified=sum(decisions.values()),
        traces_accepted=decisions.get("accepted", 0),
        traces_rejected=decisions.get("rejected", 0),
    )


def verdicts_by_kind(session: Session, source: str | None) -> dict[str, VerdictCountsOut]:
    stmt = _only(
        _traces_of(select(Claim.kind, Claim.final_verdict, func.count()).select_from(Claim), Claim.trace_id,
                   source).group_by(Claim.kind, Claim.final_verdict),
        source,
    )
    out: dict[str, dict[str, int]] = {}
    for kind, verdict, n in session.execute(stmt).all():
        if verdict in VerdictLabel.__members__:
            out.setdefault(kind, {})[verdict] = int(n)
    return {kind: VerdictCountsOut(**counts) for kind, counts in sorted(out.items())}


def _rounded(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def latency(session: Session, source: str | None) -> LatencyOut:
    teacher_ms = session.execute(
        _only(_samples(select(func.avg(Trace.latency_ms)).select_from(Trace), source), source)
    ).scalar_one()
    queue_s, run_s, finished = session.execute(
        _only(
            _jobs(
                select(
                    func.avg(extract("epoch", Job.started_at - Job.created_at)),
                    func.avg(extract("epoch", Job.finished_at - Job.started_at)),
                    func.count(Job.finished_at).filter(Job.started_at.is_not(None)),
                ).select_from(Job),
                source,
            ),
            source,
        )
    ).one()
    return LatencyOut(
        teacher_sample_ms=_rounded(teacher_ms),
        job_queue_s=_rounded(queue_s),
        job_run_s=_rounded(run_s),
        jobs_finished=int(finished),
    )


@router.get(
    "",
    dependencies=[scope("read")],
    response_model=StatsOut,
    summary="Pipeline statistics",
    description="The acceptance funnel from clips to accepted traces, the verifier's final claim verdicts by "
    "claim kind, mean latencies, and what reviewers overruled. `source` restricts every number to questions of "
    "that source.",
    responses=problem_openapi_responses(422),
)
def get_stats(
    session: SessionDep,
    source: Annotated[
        str | None,
        Query(min_length=1, max_length=128, description="Only questions of this source (e.g. `sightsound-synthetic`)."),
    ] = None,
) -> StatsOut:
    return StatsOut(
        source=source,
        funnel=funnel(session, source),
        verdicts_by_kind=verdicts_by_kind(session, source),
        latency=latency(session, source),
        review=ReviewCountsOut(**review_counts(session, source)),
        cost=cost(session, source),
    )
