"""Response models of the evaluation routes (the request and the evaluation itself are shared contracts)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from sightsound.contracts.evaluation import EvaluationOut, EvaluationResults
from sightsound.db.models import Split


class EvaluationPage(BaseModel):
    items: list[EvaluationOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page; null at the end.")


class EvaluationItemOut(BaseModel):
    """One question as the evaluated model answered it."""

    id: int
    question_id: uuid.UUID
    question: str
    choices: list[str] = Field(..., description="The question's choices as given (before any rotation).")
    rotation: int = Field(0, description="The choices were shown rotated by this much: letter A was "
                                         "`choices[rotation]` (0: as given).")
    silent: bool = Field(False, description="Asked with silent audio of the clip's duration.")
    category: str | None
    gold_index: int | None = Field(..., description="The right choice (0 = the first of `choices`).")
    predicted_index: int | None = Field(..., description="The underlying choice read from the answer (mapped back "
                                                         "from a rotation's letters); null: unanswered.")
    correct: bool
    output: str = Field(..., description="What the model said (the teacher: its vote and first sample).")
    parse_error: str | None = Field(
        ..., description="Why no answer was read; starts with `not asked: ` when the question could not be asked."
    )
    latency_ms: float
    created_at: datetime


class EvaluationItemPage(BaseModel):
    items: list[EvaluationItemOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page; null at the end.")


class EvaluationReport(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    evaluation_id: uuid.UUID
    model_ref: str
    model_label: str
    benchmark: str
    split: Split
    results: EvaluationResults
    finished_at: datetime | None
