"""Making a snapshot: select accepted traces, build records, export them, record the dataset row.

The export is written before the row is committed, into a folder named by dataset name and version,
``<dataset_root>/<name>/v<version>/``:

- ``data.jsonl``: one :class:`~sightsound.contracts.training.DatasetRecord` per line;
- ``hf/``: the same records as a Hugging Face ``datasets`` dataset (``datasets.load_from_disk``), with
  ``audio_url`` / ``audio_path`` columns pointing at the 16 kHz clips;
- ``manifest.json``: name, version, variant, filters, counts (with what the leakage guard excluded, and why)
  and provenance.

Versions of a name are allocated under a transaction-level advisory lock, so two concurrent requests
never take the same number. A snapshot never changes: a new selection is a new version.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sightsound.contracts.training import DatasetCreate, DatasetRecord
from sightsound.db.models import Clip, Dataset, Job, Question, Trace, TraceDecision
from sightsound.snapshot import review
from sightsound.snapshot.leakage import guard
from sightsound.snapshot.records import Built, TraceRow, build_records

JSONL_NAME = "data.jsonl"
HF_DIR = "hf"
MANIFEST_NAME = "manifest.json"


class EmptySelection(ValueError):
    """No accepted trace matches the filters: a snapshot would be empty."""


#: A question is unanimous when all its teacher samples agreed (``jobs.agreement`` is 1).
UNANIMOUS = 1.0 - 1e-9


def select_rows(session: Session, request: DatasetCreate) -> list[TraceRow]:
    """Traces of clips with audio, narrowed by the filters the database can apply: the accepted ones, or for
    ``cot-unverified`` every trace of a unanimous question whatever the verifier decided (or whether it did)."""
    f = request.filters
    stmt = (
        select(Trace, TraceDecision, Job, Question, Clip)
        .join(Job, Trace.job_id == Job.id)
        .join(Question, Job.question_id == Question.id)
        .join(Clip, Question.clip_id == Clip.id)
        .where(Clip.audio_url.is_not(None))
        .order_by(Trace.id)
    )
    if request.variant == "cot-unverified":
        stmt = stmt.outerjoin(TraceDecision, TraceDecision.trace_id == Trace.id).where(
            Job.consensus_answer_index.is_not(None), Job.agreement >= UNANIMOUS
        )
    else:  # accepted by the verifier, or by a reviewer who overruled it (filters.overrides)
        stmt = review.accepted(stmt, f)
    stmt = review.reviewed(stmt, f)
    if f.split is not None:
        stmt = stmt.where(Question.split == f.split)
    if f.categories:
        stmt = stmt.where(Question.category.in_(f.categories))
    if f.audio_contribution is not None:
        stmt = stmt.where(Question.audio_contribution == f.audio_contribution)
    if f.min_agreement is not None:
        stmt = stmt.where(Job.agreement >= f.min_agreement)
    if f.verifier_policy is not None:  # never with cot-unverified (refused by the contract)
        stmt = stmt.where(TraceDecision.policy == f.verifier_policy)
    if f.teacher_models:
        stmt = stmt.where(Trace.model.in_(f.teacher_models))
    if f.prompt_versions:
        stmt = stmt.where(Trace.prompt_version.in_(f.prompt_versions))
    return [
        TraceRow(
            trace_id=sample.id,
            text=sample.text,
            trace_answer=sample.answer_index,
            teacher_model=sample.model,
            prompt_version=sample.prompt_version,
            policy=decision.policy if decision is not None else "",
            decision=decision.decision if decision is not None else None,
            agreement=job.agreement,
            consensus=job.consensus_answer_index,
            question_id=question.id,
            question=question.text,
            choices=list(question.choices),
            gold=question.answer_index,
            category=question.category,
            split=question.split,
            clip_id=clip.id,
            audio_url=str(clip.audio_url),
        )
        for sample, decision, job, question, clip in session.execute(stmt).all()
    ]


def export_records(folder: Path, records: list[DatasetRecord], manifest: dict[str, object]) -> None:
    """Write JSONL, the Hugging Face dataset and the manifest into ``folder`` (atomically, via a rename)."""
    import datasets  # the Hugging Face library (heavy import: only here)

    tmp = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rows = [r.model_dump(mode="json") for r in records]
    with (tmp / JSONL_NAME).open("w") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp / HF_DIR))
    (tmp / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, default=str))
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)


def _name_lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"dataset:{name}".encode()).digest()[:8], "big", signed=True)


@dataclass(frozen=True)
class Snapshot:
    dataset: Dataset
    built: Built


def create_snapshot(
    session: Session, request: DatasetCreate, dataset_root: Path, idempotency_key: str | None = None
) -> Snapshot:
    """Select, build, export and insert a new dataset version (the caller commits).

    Rows of held-out questions, of clips holding one, and of copies of their audio are left out first
    (:mod:`sightsound.snapshot.leakage`); ``counts.excluded`` and ``provenance.leakage_guard`` say what and why.
    Raises :class:`EmptySelection` when nothing matches.
    """
    guarded = guard(session, select_rows(session, request))
    built = build_records(guarded.rows, request.variant, request.filters)
    built.counts["excluded"] = guarded.counts()
    built.provenance["leakage_guard"] = guarded.provenance()
    built.counts["review"] = review.review_counts(session, request, built.trace_ids, select_rows)
    if not built.records:
        raise EmptySelection(
            ("no trace of a unanimous question" if request.variant == "cot-unverified" else "no accepted trace")
            + " with audio matches these filters"
            + (f" (skipped: {built.counts['skipped']})" if built.counts["skipped"] else "")
            + (f" (excluded as held-out data: {guarded.counts()['rows']})" if guarded.excluded_rows else "")
        )
    session.execute(select(func.pg_advisory_xact_lock(_name_lock_key(request.name))))
    latest = session.scalar(select(func.max(Dataset.version)).where(Dataset.name == request.name))
    version = (latest or 0) + 1
    dataset_id = uuid.uuid4()
    folder = (Path(dataset_root) / request.name / f"v{version}").resolve()
    filters = request.filters.model_dump(mode="json", exclude_none=True)
    manifest = {
        "id": str(dataset_id),
        "name": request.name,
        "version": version,
        "variant": request.variant,
        "filters": filters,
        "counts": built.counts,
        "provenance": built.provenance,
    }
    export_records(folder, built.records, manifest)
    dataset = Dataset(
        id=dataset_id,
        name=request.name,
        version=version,
        variant=request.variant,
        filters=filters,
        provenance=built.provenance,
        counts=built.counts,
        trace_ids=built.trace_ids,
        export_url=folder.as_uri(),
        idempotency_key=idempotency_key,
    )
    session.add(dataset)
    try:
        session.flush()
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Snapshot(dataset, built)


def read_records(export_url: str) -> list[DatasetRecord]:
    """The records of an exported snapshot (its ``data.jsonl``)."""
    from sightsound.media.store import read_url

    raw = read_url(f"{export_url.rstrip('/')}/{JSONL_NAME}").decode()
    return [DatasetRecord.model_validate_json(line) for line in raw.splitlines() if line.strip()]
