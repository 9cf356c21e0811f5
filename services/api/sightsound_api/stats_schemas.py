"""Response model of ``GET /v1/stats``: the acceptance funnel, claim verdicts by kind, stage latencies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sightsound_api.cost import CostOut
from sightsound_api.override_schemas import ReviewCountsOut


class FunnelOut(BaseModel):
    """How many items reached each step, from uploaded clips to accepted traces."""

    clips: int = Field(description="Clips with at least one question (all clips when no source is given).")
    questions: int
    questions_by_split: dict[str, int] = Field(description="Every split, zero included.")
    jobs: int
    jobs_by_state: dict[str, int] = Field(description="Every job state, zero included.")
    jobs_with_consensus: int = Field(description="Jobs whose teacher samples reached the voting policy's consensus.")
    jobs_unanimous: int = Field(description="Jobs whose teacher samples all gave the same answer (agreement 1.0).")
    traces_sampled: int = Field(description="Teacher chains of thought stored.")
    traces_verified: int = Field(description="Traces the verifier decided on (accepted + rejected).")
    traces_accepted: int
    traces_rejected: int


class VerdictCountsOut(BaseModel):
    """Final verdicts of the claims of one kind."""

    supported: int = 0
    contradicted: int = 0
    unverifiable: int = 0


class LatencyOut(BaseModel):
    """Mean latencies, from the timestamps the pipeline stores; ``None`` where nothing was measured yet."""

    teacher_sample_ms: float | None = Field(description="Mean time the teacher took per chain of thought.")
    job_queue_s: float | None = Field(description="Mean wait from a job's creation to its first stage.")
    job_run_s: float | None = Field(description="Mean time from a job's first stage to its end (finished jobs).")
    jobs_finished: int = Field(description="Finished jobs the run time is averaged over.")


class StatsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "source": "sightsound-synthetic",
                    "funnel": {
                        "clips": 36,
                        "questions": 36,
                        "questions_by_split": {"train": 28, "validation": 0, "test": 8},
                        "jobs": 36,
                        "jobs_by_state": {
                            "queued": 0,
                            "ingesting": 0,
                            "reasoning": 0,
                            "verifying": 0,
                            "accepted": 20,
                            "rejected": 6,
                            "no_consensus": 9,
                            "failed": 1,
                        },
                        "jobs_with_consensus": 26,
                        "jobs_unanimous": 26,
                        "traces_sampled": 144,
                        "traces_verified": 104,
                        "traces_accepted": 71,
                        "traces_rejected": 33,
                    },
                    "verdicts_by_kind": {
                        "speech_presence": {"supported": 40, "contradicted": 3, "unverifiable": 0},
                        "sound_source": {"supported": 0, "contradicted": 2, "unverifiable": 51},
                    },
                    "latency": {
                        "teacher_sample_ms": 5400.0,
                        "job_queue_s": 0.8,
                        "job_run_s": 31.2,
                        "jobs_finished": 36,
                    },
                }
            ]
        }
    )

    source: str | None = Field(description="The question source the numbers are restricted to, if any.")
    funnel: FunnelOut
    verdicts_by_kind: dict[str, VerdictCountsOut] = Field(description="Claim kind -> final verdict counts.")
    latency: LatencyOut
    review: ReviewCountsOut = Field(default_factory=ReviewCountsOut,
                                    description="What reviewers overruled in the review console (`/ui`).")
    cost: CostOut | None = Field(None, description="Tokens and model seconds per accepted trace and per dataset, "
                                 "and the share spent on questions without consensus (sightsound_api.cost).")
