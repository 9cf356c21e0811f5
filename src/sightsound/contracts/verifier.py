"""Contract of the verifier service: ``POST /v1/verify``.

The verifier gets the clip's audio by URL (or ``None`` when the clip has no audio track) and the
traces' texts; it extracts the sound claims, checks each against the audio, and decides per trace.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sightsound.contracts.common import ClaimKind, TraceDecisionLabel, VerdictLabel


class TraceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trace_index: int = Field(..., ge=0)
    text: str = Field(..., max_length=200_000)


class VerifyRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "audio_url": "file:///var/lib/sightsound/media/audio/ab/abcd.wav",
                    "traces": [
                        {
                            "trace_index": 0,
                            "text": "<think>A man talks.</think>\n<claims>\nsource=person; event=speech; "
                            "present=yes\n</claims>\n<answer>A</answer>",
                        }
                    ],
                }
            ]
        },
    )

    audio_url: str | None = Field(None, description="16 kHz mono WAV URL; null when the clip has no audio track.")
    traces: list[TraceIn] = Field(..., min_length=1, max_length=64)
    category: str | None = Field(
        None,
        max_length=64,
        description="The question's category (e.g. `sound`, `music`, `speech`); a question that needs audio on a "
        "clip without an audio track is rejected, and `verifier_require_verified=category` uses it.",
    )


class Claim(BaseModel):
    index: int = Field(..., ge=0)
    kind: ClaimKind
    text: str
    attributes: dict[str, Any] = Field(default_factory=dict)


class Verdict(BaseModel):
    checker: str
    verdict: VerdictLabel
    confidence: float = Field(..., ge=0.0, le=1.0)
    evidence: dict[str, Any] = Field(default_factory=dict)


class ClaimResult(BaseModel):
    claim: Claim
    verdicts: list[Verdict]
    final: Verdict


class TraceVerification(BaseModel):
    trace_index: int
    claims: list[ClaimResult]
    parse_errors: list[str] = Field(default_factory=list)
    decision: TraceDecisionLabel
    reasons: list[str]
    claims_verified: int = Field(0, ge=0, description="Claims with a supported or contradicted final verdict.")
    claims_unverifiable: int = Field(0, ge=0, description="Claims no checker could decide.")


class AudioSummary(BaseModel):
    has_audio: bool
    duration_s: float | None = None
    note: str | None = Field(None, description="Why the audio could not be checked, e.g. 'no audio track'.")


class VerifierUsage(BaseModel):
    """What one verify request cost the verifier (cost accounting: ``/v1/stats`` ``cost``)."""

    seconds: float = Field(..., ge=0.0, description="Wall time of the request: audio loading, analyzers, checkers.")
    checker_seconds: float = Field(
        0.0, ge=0.0, description="Of which model checkers (the audio LLM), summed over their calls."
    )
    checker_calls: int = Field(0, ge=0, description="Audio-LLM calls made.")
    prompt_tokens: int = Field(0, ge=0, description="Audio-LLM prompt tokens (as the server reports them).")
    completion_tokens: int = Field(0, ge=0, description="Audio-LLM completion tokens.")


class VerifyResponse(BaseModel):
    policy: str
    audio: AudioSummary
    traces: list[TraceVerification]
    usage: VerifierUsage | None = Field(None, description="What the request cost (absent from older verifiers).")
