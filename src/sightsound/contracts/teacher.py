"""Contract of the teacher service: ``POST /v1/reason``.

The teacher sees silent frames (by URL, never bytes) and a multiple-choice audio question, and writes
K audio-focused chains of thought. The response carries every sample with its parse result and the
self-consistency vote.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SamplingParams(BaseModel):
    """Sampling parameters of one reason request; stored with every sample."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_new_tokens: int = Field(256, ge=8, le=4096)
    seed: int | None = Field(None, ge=0, description="Seed for reproducible sampling.")


class ReasonRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "question": "What can be heard in this clip?",
                    "choices": ["A person speaking", "A dog barking", "Music", "Silence"],
                    "frame_urls": ["file:///var/lib/sightsound/media/frames/ab/abcd/000.jpg"],
                    "k": 4,
                    "sampling": {"temperature": 0.7, "top_p": 1.0, "max_new_tokens": 128, "seed": 0},
                }
            ]
        },
    )

    question: str = Field(..., min_length=1, max_length=2000)
    choices: list[str] = Field(..., min_length=4, max_length=4)
    frame_urls: list[str] = Field(..., min_length=1, description="Frames in time order, as media URLs.")
    k: int = Field(4, ge=1, description="Number of chains of thought to sample (capped by the server).")
    sampling: SamplingParams = Field(default_factory=lambda: SamplingParams())


class TeacherTrace(BaseModel):
    index: int = Field(..., ge=0)
    text: str
    answer_index: int | None = Field(None, ge=0, le=3)
    parse_error: str | None = None
    latency_ms: float = Field(..., ge=0.0, description="Wall time of the call that produced it.")
    prompt_tokens: int = Field(..., ge=0)
    completion_tokens: int = Field(..., ge=0)
    completion_tokens_estimated: bool | None = Field(
        None,
        description="True when the backend could not count this sample's tokens and split the call's total "
        "by text length (an OpenAI-compatible server that reports usage per request only).",
    )


class Consensus(BaseModel):
    policy: Literal["unanimous", "majority"]
    reached: bool
    answer_index: int | None = Field(None, ge=0, le=3)
    agreement: float = Field(..., ge=0.0, le=1.0, description="Share of traces that gave the winning answer.")
    traces_used: int = Field(..., ge=0, description="Samples drawn (adaptive sampling may stop before K).")
    traces_parsed: int | None = Field(None, ge=0, description="Samples whose answer parsed.")


class ReasonResponse(BaseModel):
    model: str
    backend: str
    prompt_version: str
    sampling: SamplingParams
    traces: list[TeacherTrace]
    consensus: Consensus
    k_requested: int | None = Field(None, ge=1, description="K asked for; fewer traces mean adaptive stopping.")
    rounds: int | None = Field(None, ge=1, description="Backend calls that drew the traces (1 unless adaptive).")
