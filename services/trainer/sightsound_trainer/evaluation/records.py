"""An evaluation's rows in PostgreSQL: lock, claim, its questions, items upserted per batch, progress, outcome.

As for training runs, a worker holds a session-level advisory lock on the evaluation while it works on it:
a redelivered message finds the lock taken and leaves it alone, and an evaluation whose worker died has a
free lock and is taken again. Items are unique per (evaluation, question, rotation, silent) and upserted, so an
evaluation taken again asks only what has no item yet and never writes a duplicate row. An evaluation with
``label_audio_contribution`` writes its questions' weak / strong labels when it ends.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sightsound.config import Settings
from sightsound.contracts.evaluation import EvaluationProgress, EvaluationSettings
from sightsound.db.models import Clip, Evaluation, EvaluationItem, Question, RunState, Split
from sightsound.db.session import session_scope
from sightsound.tasks import recovery
from sightsound.tasks.locks import LockSpace, TaskBusy, task_lock
from sightsound_trainer.run_records import gave_up_reason

TERMINAL = frozenset({RunState.succeeded, RunState.failed, RunState.cancelled})


class EvaluationSkipped(Exception):
    """The evaluation is finished, missing, or being worked on by another worker: nothing to do."""


class EvaluationGaveUp(EvaluationSkipped):
    """Delivered more than ``max_attempts`` times (its worker keeps dying): the evaluation was failed instead."""


def _now() -> datetime:
    return datetime.now(UTC)


@contextlib.contextmanager
def evaluation_lock(settings: Settings, evaluation_id: uuid.UUID) -> Iterator[Connection]:
    """Hold the evaluation's lock (:mod:`sightsound.tasks.locks`), or raise :class:`EvaluationSkipped`."""
    try:
        with task_lock(settings.database_url, LockSpace.evaluation, evaluation_id) as conn:
            yield conn
    except TaskBusy as busy:
        raise EvaluationSkipped(str(busy)) from busy


@dataclass(frozen=True)
class EvaluationSpec:
    evaluation_id: uuid.UUID
    model_ref: str
    benchmark: str
    split: Split
    settings: EvaluationSettings
    attempt: int


@dataclass(frozen=True)
class QuestionRow:
    """One question to ask, with where its clip's audio and frames are."""

    id: uuid.UUID
    text: str
    choices: list[str]
    answer_index: int
    category: str | None
    audio_url: str | None
    frame_urls: list[str] | None


def claim_evaluation(settings: Settings, evaluation_id: uuid.UUID) -> EvaluationSpec:
    """Move a queued (or orphaned running) evaluation to running; raises :class:`EvaluationSkipped` if there
    is nothing to do, :class:`EvaluationGaveUp` (after failing it) once it was delivered ``max_attempts`` times."""
    with session_scope(settings.database_url) as session:
        evaluation = session.get(Evaluation, evaluation_id, with_for_update=True)
        if evaluation is None or evaluation.state in TERMINAL:
            why = "does not exist" if evaluation is None else f"is {evaluation.state.value}"
            raise EvaluationSkipped(f"evaluation {evaluation_id} {why}")
        if evaluation.attempts >= settings.max_attempts:
            evaluation.attempts += 1
            gave_up = gave_up_reason("evaluation", evaluation.attempts, settings.max_attempts)
            evaluation.state, evaluation.error, evaluation.finished_at = RunState.failed, gave_up, _now()
        else:
            evaluation.state = RunState.running
            evaluation.attempts += 1
            evaluation.started_at = evaluation.started_at or _now()
            evaluation.error = None
            return EvaluationSpec(
                evaluation_id=evaluation.id,
                model_ref=evaluation.model_ref,
                benchmark=evaluation.benchmark,
                split=evaluation.split,
                settings=EvaluationSettings.model_validate(evaluation.settings),
                attempt=evaluation.attempts,
            )
    raise EvaluationGaveUp(f"evaluation {evaluation_id}: {gave_up}")


def select_questions(settings: Settings, spec: EvaluationSpec) -> list[QuestionRow]:
    """The questions of the benchmark and split that have a gold answer (and one of the categories, if
    asked), in a fixed order (benchmark item id, then question id), at most ``limit`` of them."""
    stmt = (
        select(Question.id, Question.text, Question.choices, Question.answer_index, Question.category,
               Clip.audio_url, Clip.frame_urls)
        .join(Clip, Clip.id == Question.clip_id)
        .where(Question.source == spec.benchmark, Question.split == spec.split, Question.answer_index.is_not(None))
        .order_by(Question.source_ref.asc().nulls_last(), Question.id)
    )
    if spec.settings.categories:
        stmt = stmt.where(Question.category.in_(spec.settings.categories))
    if spec.settings.limit is not None:
        stmt = stmt.limit(spec.settings.limit)
    with session_scope(settings.database_url) as session:
        rows = session.execute(stmt).all()
    return [QuestionRow(id=r.id, text=r.text, choices=[str(c) for c in r.choices], answer_index=int(r.answer_index),
                        category=r.category, audio_url=r.audio_url,
                        frame_urls=[str(f) for f in r.frame_urls] if r.frame_urls else None) for r in rows]


@dataclass(frozen=True)
class Ask:
    """One way of asking a question: its choices rotated by ``rotation`` (0: as given), with its clip's audio or
    with ``silent`` audio of the same duration."""

    question: QuestionRow
    rotation: int = 0
    silent: bool = False

    @property
    def key(self) -> AskKey:
        return self.question.id, self.rotation, self.silent


#: (question id, rotation, silent): what an evaluation item is unique by within its evaluation.
AskKey = tuple[uuid.UUID, int, bool]


def answered_asks(settings: Settings, evaluation_id: uuid.UUID) -> set[AskKey]:
    with session_scope(settings.database_url) as session:
        rows = session.execute(select(EvaluationItem.question_id, EvaluationItem.rotation, EvaluationItem.silent)
                               .where(EvaluationItem.evaluation_id == evaluation_id)).all()
    return {(r.question_id, int(r.rotation), bool(r.silent)) for r in rows}


@dataclass(frozen=True)
class ItemRow:
    """An answer about to be stored (one ``evaluation_items`` row); ``predicted_index`` is the underlying choice
    (mapped back from the letters of a rotated ask)."""

    question_id: uuid.UUID
    category: str | None
    predicted_index: int | None
    correct: bool
    output: str
    parse_error: str | None
    latency_ms: float
    rotation: int = 0
    silent: bool = False


def save_batch(settings: Settings, evaluation_id: uuid.UUID, items: Sequence[ItemRow],
               progress: EvaluationProgress) -> None:
    """Upsert one batch's items and the progress in one transaction (so ``done`` never runs ahead)."""
    with session_scope(settings.database_url) as session:
        if items:
            stmt = insert(EvaluationItem).values([
                {"evaluation_id": evaluation_id, "question_id": i.question_id, "rotation": i.rotation,
                 "silent": i.silent, "category": i.category,
                 "predicted_index": i.predicted_index, "correct": i.correct, "output": i.output,
                 "parse_error": i.parse_error, "latency_ms": i.latency_ms} for i in items
            ])
            stmt = stmt.on_conflict_do_update(
                constraint="uq_evaluation_items_ask",
                set_={name: stmt.excluded[name] for name in
                      ("category", "predicted_index", "correct", "output", "parse_error", "latency_ms")},
            )
            session.execute(stmt)
        set_progress(session, evaluation_id, progress)


def set_progress(session: Session, evaluation_id: uuid.UUID, progress: EvaluationProgress) -> None:
    session.execute(update(Evaluation).where(Evaluation.id == evaluation_id)
                    .values(progress=progress.model_dump(mode="json")))


def record_progress(settings: Settings, evaluation_id: uuid.UUID, progress: EvaluationProgress) -> None:
    with session_scope(settings.database_url) as session:
        set_progress(session, evaluation_id, progress)


@dataclass(frozen=True)
class StoredItem:
    """An item with its question's choices (to tell how its answer was read)."""

    question_id: uuid.UUID
    category: str | None
    choices: list[str]
    predicted_index: int | None
    correct: bool
    output: str
    parse_error: str | None
    latency_ms: float
    rotation: int = 0
    silent: bool = False


def stored_items(settings: Settings, evaluation_id: uuid.UUID) -> list[StoredItem]:
    with session_scope(settings.database_url) as session:
        rows = session.execute(
            select(EvaluationItem, Question.choices)
            .join(Question, Question.id == EvaluationItem.question_id)
            .where(EvaluationItem.evaluation_id == evaluation_id)
            .order_by(EvaluationItem.id)
        ).all()
    return [StoredItem(question_id=item.question_id, category=item.category, choices=[str(c) for c in choices],
                       predicted_index=item.predicted_index, correct=item.correct, output=item.output,
                       parse_error=item.parse_error, latency_ms=item.latency_ms, rotation=item.rotation,
                       silent=item.silent) for item, choices in rows]


LABEL_CHUNK = 1000


def label_questions(settings: Settings, evaluation_id: uuid.UUID, labels: Mapping[uuid.UUID, str]) -> int:
    """Store each question's audio contribution (``weak`` / ``strong``) as measured by ``evaluation_id``
    (overwriting an earlier evaluation's label); how many questions were labelled."""
    by_label: dict[str, list[uuid.UUID]] = {}
    for question_id, label in labels.items():
        by_label.setdefault(label, []).append(question_id)
    with session_scope(settings.database_url) as session:
        for label, ids in sorted(by_label.items()):
            for start in range(0, len(ids), LABEL_CHUNK):
                session.execute(update(Question).where(Question.id.in_(ids[start : start + LABEL_CHUNK]))
                                .values(audio_contribution=label, audio_contribution_evaluation_id=evaluation_id))
    return len(labels)


def finish_evaluation(settings: Settings, evaluation_id: uuid.UUID, state: RunState, *,
                      results: dict[str, Any] | None = None, error: str | None = None) -> None:
    values: dict[str, Any] = {"state": state, "error": error[:4000] if error else None, "finished_at": _now()}
    if results is not None:
        values["results"] = results
    with session_scope(settings.database_url) as session:
        session.execute(update(Evaluation).where(Evaluation.id == evaluation_id).values(**values))


def orphaned_evaluations(settings: Settings) -> list[uuid.UUID]:
    """Queued or running evaluations that no worker holds (their worker died, or their message was lost)."""
    return recovery.orphaned_evaluations(settings, older_than_s=0)
