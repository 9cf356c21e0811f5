"""Response models of the public API (what clients see; the ORM never leaks out)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sightsound.db.models import JobState, Split

_ORM = ConfigDict(from_attributes=True)


class JobOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "0b9d3c4e-2f4a-4c55-9a49-2c8f5d0f1a11",
                    "state": "accepted",
                    "error": None,
                    "attempts": 0,
                    "question_id": "6f1c0b8e-8f7e-4bb0-9b5c-0d5e9b7b2a10",
                    "clip_id": "a3c1e5d2-1b7a-4a0e-8e26-6b5f3d3c9e77",
                    "consensus_answer_index": 0,
                    "agreement": 1.0,
                    "traces_used": 4,
                    "created_at": "2026-11-26T10:00:00Z",
                    "updated_at": "2026-11-26T10:00:09Z",
                    "started_at": "2026-11-26T10:00:01Z",
                    "finished_at": "2026-11-26T10:00:09Z",
                    "deduplicated": False,
                }
            ]
        },
    )

    id: uuid.UUID
    state: JobState
    error: str | None
    attempts: int
    question_id: uuid.UUID
    clip_id: uuid.UUID
    consensus_answer_index: int | None
    agreement: float | None
    traces_used: int | None = Field(None, description="Teacher traces drawn for this question.")
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    deduplicated: bool = Field(False, description="True when this upload matched an existing clip and question.")


class VerdictOut(BaseModel):
    model_config = _ORM
    checker: str
    verdict: str
    confidence: float
    evidence: dict[str, Any]


class ClaimOut(BaseModel):
    model_config = _ORM
    claim_index: int
    kind: str
    text: str
    attributes: dict[str, Any]
    final_verdict: str
    final_confidence: float
    verdicts: list[VerdictOut]


class DecisionOut(BaseModel):
    model_config = _ORM
    decision: str
    policy: str
    reasons: list[Any]


class ClipTraceOut(BaseModel):
    model_config = _ORM
    id: int
    trace_index: int
    text: str
    answer_index: int | None
    parse_error: str | None
    model: str
    backend: str
    prompt_version: str
    sampling: dict[str, Any]
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int
    claims: list[ClaimOut]
    decision: DecisionOut | None


class QuestionOut(BaseModel):
    model_config = _ORM
    id: uuid.UUID
    text: str
    choices: list[str]
    answer_index: int | None
    category: str | None
    split: Split
    source: str | None
    job: JobOut | None = None
    traces: list[ClipTraceOut] = Field(default_factory=list)


class ClipOut(BaseModel):
    model_config = _ORM
    id: uuid.UUID
    content_hash: str
    media_url: str
    filename: str | None
    size_bytes: int
    duration_s: float
    fps: float | None
    width: int | None = Field(None, description="None for an audio-only clip.")
    height: int | None = None
    has_audio: bool
    frame_urls: list[str] | None
    audio_url: str | None
    created_at: datetime
    questions: list[QuestionOut] = Field(default_factory=list)


class TraceOut(BaseModel):
    """A teacher sample with its verification outcome."""

    trace_id: int
    job_id: uuid.UUID
    clip_id: uuid.UUID
    question_id: uuid.UUID
    category: str | None
    trace_index: int
    text: str
    answer_index: int | None
    decision: str | None
    reasons: list[Any]
    model: str
    prompt_version: str


class TracePage(BaseModel):
    items: list[TraceOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page; null at the end.")
