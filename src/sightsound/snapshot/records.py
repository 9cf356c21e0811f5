"""From accepted traces to dataset records, counts and provenance (pure: rows in, records out)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

from sightsound.contracts.training import (
    REASONING_VARIANTS,
    DatasetFilters,
    DatasetRecord,
    DatasetVariant,
    LabelSource,
)
from sightsound.db.models import Split
from sightsound.snapshot.targets import STUDENT_PROMPT_VERSION, reasoning_of, student_prompt, student_target


@dataclass(frozen=True)
class TraceRow:
    """One trace with its question, job, clip and verifier decision, as the selection query returns it
    (accepted traces for every variant but ``cot-unverified``, which takes every trace of a unanimous
    question)."""

    trace_id: int
    text: str
    trace_answer: int | None
    teacher_model: str
    prompt_version: str
    policy: str
    agreement: float | None
    consensus: int | None
    question_id: uuid.UUID
    question: str
    choices: list[str]
    gold: int | None
    category: str | None
    split: Split
    clip_id: uuid.UUID
    audio_url: str
    decision: str | None = None  # the verifier's: accepted, rejected; None when not decided


def local_path(url: str) -> str | None:
    """The filesystem path of a ``file://`` URL (None for other schemes).

    >>> local_path("file:///var/media/audio/ab.wav"), local_path("s3://bucket/x.wav")
    ('/var/media/audio/ab.wav', None)
    """
    parsed = urlparse(url)
    return unquote(parsed.path) if parsed.scheme == "file" else None


def keep(row: TraceRow, filters: DatasetFilters) -> bool:
    """The filters that need a row's fields beyond what the query filtered on."""
    if filters.strict_only and not row.policy.endswith("+strict"):
        return False
    if (filters.require_gold or filters.match_gold) and row.gold is None:
        return False
    return not (filters.match_gold and row.trace_answer != row.gold)


#: What each variant's target answer is taken from, and whether the verifier's verdicts count (recorded in
#: every snapshot's provenance).
LABEL_SOURCE: dict[str, LabelSource] = {"label-only": "teacher", "gold-label": "gold", "cot": "teacher",
                                        "cot-unverified": "teacher"}
VERIFICATION = {"cot-unverified": "ignored"}


def label_answer(row: TraceRow, variant: DatasetVariant) -> tuple[int | None, LabelSource]:
    """The answer a one-answer-per-question record trains on, and where it comes from.

    ``label-only`` takes the teacher's consensus (its trace's answer when no consensus was recorded): the
    paper's distilled labels, right or wrong. ``gold-label`` takes the gold answer, the consensus where
    there is none.
    """
    teacher = row.consensus if row.consensus is not None else row.trace_answer
    if variant == "gold-label" and row.gold is not None:
        return row.gold, "gold"
    return teacher, "teacher"


def _record(row: TraceRow, variant: DatasetVariant, *, with_reasoning: str | None, answer: int,
            label_source: LabelSource = "teacher") -> DatasetRecord:
    reward_answer = row.gold if row.gold is not None else answer
    per_trace = variant in REASONING_VARIANTS
    return DatasetRecord(
        id=f"{row.trace_id}" if per_trace else f"q-{row.question_id}",
        question_id=row.question_id,
        clip_id=row.clip_id,
        trace_id=row.trace_id if per_trace else None,
        audio_url=row.audio_url,
        audio_path=local_path(row.audio_url),
        question=row.question,
        choices=list(row.choices),
        prompt=student_prompt(row.question, row.choices, variant),
        target=student_target(answer, with_reasoning),
        answer_index=reward_answer,
        answer_source="gold" if row.gold is not None else "consensus",
        label_source=label_source,
        teacher_answer_index=row.trace_answer,
        verifier_decision=row.decision if per_trace else None,
        category=row.category,
        split=row.split,
        teacher_model=row.teacher_model,
        prompt_version=row.prompt_version,
        verifier_policy=row.policy,
        agreement=row.agreement,
    )


@dataclass(frozen=True)
class Built:
    records: list[DatasetRecord]
    counts: dict[str, Any]
    provenance: dict[str, Any]
    trace_ids: list[int]


def build_records(rows: Sequence[TraceRow], variant: DatasetVariant, filters: DatasetFilters) -> Built:
    """Records of a snapshot: one per trace (``cot``, ``cot-unverified``) or per question (``label-only``,
    ``gold-label``).

    A trace variant's target is the trace's own reasoning and answer; a ``label-only`` target is the
    teacher's consensus answer, a ``gold-label`` target the gold answer (see :func:`label_answer`). Traces
    without an answer, or (trace variants) without reasoning, are skipped and counted.
    """
    skipped: Counter[str] = Counter()
    records: list[DatasetRecord] = []
    used: list[TraceRow] = []
    seen_questions: set[uuid.UUID] = set()
    sources: Counter[str] = Counter()
    for row in rows:
        if not keep(row, filters):
            skipped["filtered"] += 1
            continue
        if variant in REASONING_VARIANTS:
            reasoning = reasoning_of(row.text)
            if row.trace_answer is None:
                skipped["no_answer"] += 1
                continue
            if reasoning is None:
                skipped["no_reasoning"] += 1
                continue
            records.append(_record(row, variant, with_reasoning=reasoning, answer=row.trace_answer))
        else:
            if row.question_id in seen_questions:
                continue
            answer, source = label_answer(row, variant)
            if answer is None:
                skipped["no_answer"] += 1
                continue
            seen_questions.add(row.question_id)
            records.append(_record(row, variant, with_reasoning=None, answer=answer, label_source=source))
        sources[records[-1].label_source] += 1
        used.append(row)
        if filters.max_records is not None and len(records) >= filters.max_records:
            break
    counts: dict[str, Any] = {
        "records": len(records),
        "traces": len({r.trace_id for r in used}),
        "questions": len({r.question_id for r in used}),
        "clips": len({r.clip_id for r in used}),
        "by_split": dict(Counter(r.split.value for r in records)),
        "by_category": dict(Counter(r.category or "none" for r in records)),
        "by_answer": dict(Counter("ABCD"[r.answer_index] for r in records)),
        "gold_answers": sum(r.answer_source == "gold" for r in records),
        "label_source": dict(sources),
        "skipped": dict(skipped),
    }
    if variant in REASONING_VARIANTS:
        counts["decisions"] = dict(Counter(r.verifier_decision or "undecided" for r in records))
    provenance: dict[str, Any] = {
        "teacher_models": sorted({r.teacher_model for r in used}),
        "prompt_versions": sorted({r.prompt_version for r in used}),
        "verifier_policies": sorted({r.policy for r in used if r.policy}),
        "student_prompt_version": STUDENT_PROMPT_VERSION,
        "target_format": "<think>…</think><answer>X</answer>" if variant in REASONING_VARIANTS
        else "<answer>X</answer>",
        "label_source": LABEL_SOURCE[variant],
        "verification": VERIFICATION.get(variant, "accepted traces only"),
    }
    return Built(records, counts, provenance, sorted({r.trace_id for r in used}))
