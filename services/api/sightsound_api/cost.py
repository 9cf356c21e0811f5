"""Cost accounting for ``GET /v1/stats`` (``cost``): what the pipeline's model calls and training cost, per
accepted trace and per dataset, and the share spent on questions that ended without consensus.

Per job (``jobs`` columns, summed by the worker over every model call that answered, duplicates included): the
seconds the pipeline waited on the teacher and on the verifier, and the verifier's audio-LLM seconds and tokens.
Teacher tokens come from the job's traces: the prompt once per job (K traces share one prefill: vLLM's ``n``)
plus every trace's completion. Training runs add accelerator seconds (wall time x devices) to their dataset.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from sightsound.db.models import Dataset, Job, JobState, Question, Trace, TraceDecision, TrainingRun

#: Datasets listed in ``cost.datasets`` (newest first).
DATASETS_LISTED = 50


class CostTotalsOut(BaseModel):
    jobs: int = 0
    teacher_prompt_tokens: int = 0
    teacher_completion_tokens: int = 0
    checker_prompt_tokens: int = 0
    checker_completion_tokens: int = 0
    tokens: int = Field(0, description="Teacher and audio-LLM tokens, prompt and completion.")
    teacher_seconds: float = 0.0
    verifier_seconds: float = Field(0.0, description="Waited on the verifier (analyzers and audio LLM).")
    checker_seconds: float = Field(0.0, description="Of which the audio LLM.")
    model_seconds: float = Field(0.0, description="Teacher + verifier seconds.")


class PerTraceOut(BaseModel):
    tokens: float | None = None
    model_seconds: float | None = None


class NoConsensusShareOut(BaseModel):
    tokens: float | None = Field(None, description="Share of all tokens spent on questions without consensus.")
    model_seconds: float | None = Field(None, description="Share of all model seconds spent on them.")


class DatasetCostOut(BaseModel):
    id: str
    name: str
    version: int
    variant: str
    traces: int
    pipeline: CostTotalsOut = Field(description="The model calls of the jobs whose traces the dataset holds.")
    per_trace: PerTraceOut
    training_runs: int
    training_accelerator_seconds: float = Field(description="Accelerator seconds of the runs trained on it.")


class CostOut(BaseModel):
    total: CostTotalsOut = Field(description="Every job's model calls (whatever the job's end).")
    accepted_traces: int
    per_accepted_trace: PerTraceOut = Field(description="Everything spent, divided by the accepted traces.")
    no_consensus_share: NoConsensusShareOut
    training_accelerator_seconds: float = 0.0
    datasets: list[DatasetCostOut] = Field(default_factory=list, description="Newest first (50 at most); not "
                                           "restricted by `source`.")


def _per_job_tokens() -> Any:
    return (
        select(Trace.job_id.label("job_id"), func.max(Trace.prompt_tokens).label("prompt"),
               func.sum(Trace.completion_tokens).label("completion"))
        .group_by(Trace.job_id)
        .subquery()
    )


def _totals_select(tokens: Any) -> Select[Any]:
    return (
        select(
            func.count(Job.id), func.sum(tokens.c.prompt), func.sum(tokens.c.completion),
            func.sum(Job.checker_prompt_tokens), func.sum(Job.checker_completion_tokens),
            func.sum(Job.teacher_seconds), func.sum(Job.verifier_seconds), func.sum(Job.checker_seconds),
        )
        .select_from(Job)
        .outerjoin(tokens, tokens.c.job_id == Job.id)
    )


def _totals(row: Any) -> CostTotalsOut:
    jobs, tp, tc, cp, cc, ts, vs, cs = (value or 0 for value in row)
    return CostTotalsOut(
        jobs=int(jobs), teacher_prompt_tokens=int(tp), teacher_completion_tokens=int(tc),
        checker_prompt_tokens=int(cp), checker_completion_tokens=int(cc), tokens=int(tp + tc + cp + cc),
        teacher_seconds=round(float(ts), 3), verifier_seconds=round(float(vs), 3), checker_seconds=round(float(cs), 3),
        model_seconds=round(float(ts + vs), 3),
    )


def _per(total: CostTotalsOut, count: int) -> PerTraceOut:
    if count == 0:
        return PerTraceOut()
    return PerTraceOut(tokens=round(total.tokens / count, 2), model_seconds=round(total.model_seconds / count, 4))


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _datasets(session: Session) -> list[DatasetCostOut]:
    out = []
    datasets = session.scalars(select(Dataset).order_by(Dataset.created_at.desc()).limit(DATASETS_LISTED)).all()
    tokens = _per_job_tokens()
    for dataset in datasets:
        trace_ids = [int(t) for t in dataset.trace_ids]
        jobs = select(Trace.job_id).where(Trace.id.in_(trace_ids)).distinct()
        pipeline = _totals(session.execute(_totals_select(tokens).where(Job.id.in_(jobs))).one())
        runs, seconds = session.execute(
            select(func.count(TrainingRun.id), func.sum(TrainingRun.accelerator_seconds))
            .where(TrainingRun.dataset_id == dataset.id)
        ).one()
        out.append(DatasetCostOut(
            id=str(dataset.id), name=dataset.name, version=dataset.version, variant=dataset.variant,
            traces=len(trace_ids), pipeline=pipeline, per_trace=_per(pipeline, len(trace_ids)),
            training_runs=int(runs), training_accelerator_seconds=round(float(seconds or 0.0), 3),
        ))
    return out


def cost(session: Session, source: str | None) -> CostOut:
    tokens = _per_job_tokens()
    stmt = _totals_select(tokens).add_columns(Job.state).group_by(Job.state)
    accepted = select(func.count()).select_from(TraceDecision).where(TraceDecision.decision == "accepted")
    if source is not None:
        stmt = stmt.join(Question, Job.question_id == Question.id).where(Question.source == source)
        accepted = (accepted.join(Trace, TraceDecision.trace_id == Trace.id).join(Job, Trace.job_id == Job.id)
                    .join(Question, Job.question_id == Question.id).where(Question.source == source))
    by_state = {row[-1]: _totals(row[:-1]) for row in session.execute(stmt)}
    total = _totals([sum(getattr(t, f) for t in by_state.values()) for f in (
        "jobs", "teacher_prompt_tokens", "teacher_completion_tokens", "checker_prompt_tokens",
        "checker_completion_tokens", "teacher_seconds", "verifier_seconds", "checker_seconds")])
    none = by_state.get(JobState.no_consensus, CostTotalsOut())
    accepted_traces = int(session.execute(accepted).scalar_one())
    training = session.execute(select(func.sum(TrainingRun.accelerator_seconds))).scalar_one()
    return CostOut(
        total=total,
        accepted_traces=accepted_traces,
        per_accepted_trace=_per(total, accepted_traces),
        no_consensus_share=NoConsensusShareOut(tokens=_share(none.tokens, total.tokens),
                                               model_seconds=_share(none.model_seconds, total.model_seconds)),
        training_accelerator_seconds=round(float(training or 0.0), 3),
        datasets=_datasets(session),
    )
