"""The clip page's data: each question with its K traces side by side, every claim highlighted in its trace, the
checkers' verdicts with their evidence (times drawn on the waveform), the trace's decision, and the reviewers'
overrides beside what the machine said."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from sightsound.db.models import Claim, Clip, Job, Question, ReviewOverride, Trace
from sightsound.db.overrides import history
from sightsound_api.console import evidence as ev

ORIGIN_KEY = "extracted_from"  # the verifier's attribute naming a claim's origin (claims block or prose)


@dataclass
class VerdictView:
    checker: str
    verdict: str
    confidence: float
    summary: str
    reason: str | None
    details: list[tuple[str, str]]
    marks: list[ev.Mark]


@dataclass
class ClaimView:
    id: int
    index: int
    kind: str
    text: str
    origin: str
    verdict: str
    confidence: float
    verdicts: list[VerdictView]
    overrides: list[ReviewOverride] = field(default_factory=list)

    @property
    def override(self) -> ReviewOverride | None:
        return self.overrides[-1] if self.overrides else None

    @property
    def effective(self) -> str:
        override = self.override
        return override.verdict.value if override is not None and override.verdict is not None else self.verdict

    @property
    def marks(self) -> list[ev.Mark]:
        return [m for v in self.verdicts for m in v.marks]


@dataclass
class TraceView:
    id: int
    index: int
    answer_index: int | None
    parse_error: str | None
    pieces: list[tuple[str, int | None]]
    claims: list[ClaimView]
    decision: str | None
    policy: str | None
    reasons: list[str]
    overrides: list[ReviewOverride] = field(default_factory=list)

    @property
    def override(self) -> ReviewOverride | None:
        return self.overrides[-1] if self.overrides else None

    @property
    def effective(self) -> str | None:
        override = self.override
        return override.decision.value if override is not None and override.decision is not None else self.decision

    def claim(self, claim_id: int) -> ClaimView | None:
        return next((c for c in self.claims if c.id == claim_id), None)


@dataclass
class QuestionView:
    id: uuid.UUID
    text: str
    choices: list[str]
    answer_index: int | None
    category: str | None
    split: str
    job: Job | None
    traces: list[TraceView]


def trace_view(trace: Trace, duration_s: float, overrides: list[ReviewOverride]) -> TraceView:
    by_claim: dict[int, list[ReviewOverride]] = defaultdict(list)
    decided: list[ReviewOverride] = []
    for row in overrides:
        (by_claim[row.claim_id] if row.claim_id is not None else decided).append(row)
    claims = []
    for claim in trace.claims:
        verdicts = [VerdictView(
            checker=v.checker, verdict=v.verdict.value, confidence=v.confidence,
            summary=str(v.evidence.get("summary", "")), reason=ev.reason(v.evidence), details=ev.details(v.evidence),
            marks=ev.marks(v.evidence, duration_s)) for v in claim.verdicts]
        claims.append(ClaimView(
            id=claim.id, index=claim.claim_index, kind=claim.kind.value, text=claim.text,
            origin=str(claim.attributes.get(ORIGIN_KEY, "")).replace("_", " "), verdict=claim.final_verdict.value,
            confidence=claim.final_confidence, verdicts=verdicts, overrides=by_claim.get(claim.id, [])))
    decision = trace.decision
    return TraceView(
        id=trace.id, index=trace.trace_index, answer_index=trace.answer_index, parse_error=trace.parse_error,
        pieces=ev.highlight(trace.text, [(c.id, c.text) for c in claims]), claims=claims,
        decision=decision.decision.value if decision is not None else None,
        policy=decision.policy if decision is not None else None,
        reasons=[str(r) for r in decision.reasons] if decision is not None else [], overrides=decided)


def load_clip(session: Session, clip_id: uuid.UUID) -> tuple[Clip, list[QuestionView]] | None:
    clip = session.scalar(
        select(Clip).where(Clip.id == clip_id).options(
            selectinload(Clip.questions).selectinload(Question.job).selectinload(Job.traces).options(
                selectinload(Trace.claims).selectinload(Claim.verdicts), selectinload(Trace.decision))))
    if clip is None:
        return None
    traces = [t for q in clip.questions if q.job is not None for t in q.job.traces]
    overrides: dict[int, list[ReviewOverride]] = defaultdict(list)
    for row in history(session, [t.id for t in traces]):
        overrides[row.trace_id].append(row)
    questions = [QuestionView(
        id=q.id, text=q.text, choices=[str(c) for c in q.choices], answer_index=q.answer_index, category=q.category,
        split=q.split.value, job=q.job,
        traces=[trace_view(t, clip.duration_s, overrides[t.id]) for t in (q.job.traces if q.job else [])])
        for q in clip.questions]
    return clip, questions


def letter(index: int | None) -> str:
    """The answer letter of a choice index.

    >>> letter(2), letter(None)
    ('C', '-')
    """
    return "ABCD"[index] if index is not None and 0 <= index < 4 else "-"


def summary(questions: list[QuestionView]) -> dict[str, Any]:
    traces = [t for q in questions for t in q.traces]
    return {"traces": len(traces), "claims": sum(len(t.claims) for t in traces),
            "accepted": sum(t.effective == "accepted" for t in traces)}
