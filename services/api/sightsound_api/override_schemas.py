"""Request and response models of reviewers' overrides (``/v1/claims/{id}/overrides``,
``/v1/traces/{id}/overrides``) and of their counts in ``/v1/stats``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from sightsound.contracts.common import TraceDecisionLabel, VerdictLabel
from sightsound.db.overrides import MAX_COMMENT

#: A claim's or a trace's id in a path (a PostgreSQL BIGINT: anything larger cannot name a row).
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The row's id (a positive 64-bit integer).")]


class ClaimOverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"verdict": "supported", "comment": "the bark is audible at 2.1 s; the VAD missed it"}]})

    verdict: VerdictLabel = Field(description="The reviewer's verdict on the claim.")
    comment: str = Field("", max_length=MAX_COMMENT, description="Why (shown beside the machine's verdict).")


class TraceOverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"decision": "rejected", "comment": "the reasoning describes a different clip"}]})

    decision: TraceDecisionLabel = Field(description="The reviewer's decision on the trace.")
    comment: str = Field("", max_length=MAX_COMMENT, description="Why (shown beside the verifier's decision).")


class OverrideOut(BaseModel):
    """One override: who overruled what, when, and what the machine had said."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    trace_id: int
    claim_id: int | None = Field(description="Set for a claim's verdict; null for a trace's decision.")
    verdict: VerdictLabel | None
    decision: TraceDecisionLabel | None
    machine: str | None = Field(description="The machine's verdict or decision when overruled (null: undecided).")
    comment: str
    reviewer: str
    created_at: datetime


class OverrideList(BaseModel):
    items: list[OverrideOut] = Field(description="Oldest first; the last one is in force.")


class ReviewCountsOut(BaseModel):
    """What reviewers changed (the console's overrides)."""

    overrides: int = Field(0, description="Override rows (every correction, the superseded ones included).")
    reviewers: int = 0
    claims_overruled: int = Field(0, description="Claims with a reviewer's verdict in force.")
    claims_changed: int = Field(0, description="... whose reviewer's verdict differs from the machine's.")
    claim_verdicts: dict[str, int] = Field(default_factory=dict, description="Reviewer's verdicts in force.")
    traces_overruled: int = Field(0, description="Traces with a reviewer's decision in force.")
    trace_decisions: dict[str, int] = Field(default_factory=dict)
    decision_changes: dict[str, int] = Field(default_factory=dict,
                                             description="`machine->reviewer` counts where they differ.")
