"""What ``POST /v1/evaluations`` checks before it records anything: that the model can be evaluated here,
that the benchmark has questions to ask, and that the robustness checks asked for can be made (silent audio
needs a model that hears; rotations need questions with at least 2 choices). Each failure is a 422 whose detail
says what exists instead or what to change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from sightsound.config import Settings
from sightsound.contracts.evaluation import EvaluationCreate
from sightsound.db.models import Clip, Question
from sightsound.evaluation.robustness import MIN_ROTATED_CHOICES
from sightsound.registry import TEACHER, BadModelName, UnknownModel, parse_model_ref, resolve_model
from sightsound.web import ProblemError

#: Benchmarks listed in a "no questions" detail, at most.
LISTED_BENCHMARKS = 20


@dataclass(frozen=True)
class EvaluatedModel:
    ref: str  # canonical: checkpoint:<uuid>, base:<name> or teacher
    checkpoint_id: uuid.UUID | None


def evaluated_model(session: Session, settings: Settings, name: str) -> EvaluatedModel:
    """The canonical reference of ``name`` (``deployed`` becomes the checkpoint deployed now)."""
    try:
        ref = parse_model_ref(name)
    except BadModelName as exc:
        raise ProblemError(422, f"model: {exc}", kind="bad-model-name") from exc
    if ref.kind == "teacher":
        return EvaluatedModel(TEACHER, None)
    try:
        resolved = resolve_model(session, ref, settings.student_base_models)
    except UnknownModel as exc:
        kind = "base-model-not-served" if ref.kind == "base" else "model-not-found"
        raise ProblemError(422, f"model: {exc}", kind=kind) from exc
    return EvaluatedModel(resolved.ref, resolved.checkpoint_id)


def _gold_questions(body: EvaluationCreate) -> list[ColumnElement[bool]]:
    return [Question.source == body.benchmark, Question.split == body.split, Question.answer_index.is_not(None)]


def _benchmarks_detail(session: Session) -> str:
    rows = session.execute(
        select(Question.source, Question.split, func.count())
        .where(Question.source.is_not(None), Question.answer_index.is_not(None))
        .group_by(Question.source, Question.split)
        .order_by(Question.source, Question.split)
    ).all()
    if not rows:
        return "no benchmark has questions with gold answers yet: import one or upload questions with a source"
    listed = ", ".join(f"{source} ({split.value}: {count})" for source, split, count in rows[:LISTED_BENCHMARKS])
    more = f" and {len(rows) - LISTED_BENCHMARKS} more" if len(rows) > LISTED_BENCHMARKS else ""
    return f"benchmarks with gold-answered questions: {listed}{more}"


def question_count(session: Session, body: EvaluationCreate, teacher: bool) -> int:
    """How many questions the evaluation will ask (after ``limit``); 422 when none, saying what exists."""
    where = _gold_questions(body)
    if body.categories:
        present = set(session.scalars(select(Question.category).where(*where).distinct()))
        missing = [c for c in body.categories if c not in present]
        if missing and present:
            have = ", ".join(sorted(c for c in present if c is not None)) or "none"
            raise ProblemError(422, f"categories: {', '.join(missing)} not in benchmark {body.benchmark!r} "
                                    f"({body.split.value}); its categories: {have}", kind="unknown-categories")
        where.append(Question.category.in_(body.categories))
    count = int(session.scalar(select(func.count()).select_from(Question).where(*where)) or 0)
    if count == 0:
        within = f" in categories {', '.join(body.categories)}" if body.categories else ""
        raise ProblemError(422, f"benchmark: no {body.split.value} questions with a gold answer in "
                                f"{body.benchmark!r}{within}; {_benchmarks_detail(session)}",
                           kind="no-questions")
    if teacher:
        # frame_urls of an audio-only clip may be SQL NULL or JSON null: count frames only of an array.
        frames = case((func.jsonb_typeof(Clip.frame_urls) == "array", func.jsonb_array_length(Clip.frame_urls)),
                      else_=0) > 0
        askable = int(session.scalar(
            select(func.count()).select_from(Question).join(Clip, Clip.id == Question.clip_id)
            .where(*where, func.jsonb_array_length(Question.choices) == 4, frames)
        ) or 0)
        if askable == 0:
            raise ProblemError(422, f"model: the teacher can be asked none of the {count} questions: it needs 4 "
                                    "choices and a clip with frames (audio-only benchmarks cannot be evaluated "
                                    "on the teacher)", kind="teacher-cannot-answer")
    return min(count, body.limit) if body.limit is not None else count


def check_generation(settings: Settings, body: EvaluationCreate) -> tuple[int, int]:
    """(max_new_tokens, batch_size) of the evaluation: the request's, else the settings'."""
    if body.max_new_tokens is not None and body.max_new_tokens > settings.student_max_new_tokens:
        raise ProblemError(422, f"max_new_tokens: at most {settings.student_max_new_tokens} here "
                                "(SIGHTSOUND_STUDENT_MAX_NEW_TOKENS)", kind="validation-error")
    return (body.max_new_tokens or settings.student_max_new_tokens,
            body.batch_size or settings.evaluation_batch_size)


def _selected(body: EvaluationCreate) -> list[ColumnElement[bool]]:
    where = _gold_questions(body)
    if body.categories:
        where.append(Question.category.in_(body.categories))
    return where


def check_robustness(session: Session, body: EvaluationCreate, teacher: bool) -> None:
    """422 when the robustness checks asked for cannot be made on this model or these questions."""
    if teacher and body.silent_audio:
        raise ProblemError(422, "silent_audio: the teacher never hears the audio (it answers from the frames), so "
                                "asking it with silence measures nothing; evaluate a student with silent_audio",
                           kind="silent-audio-needs-a-student")
    if body.choice_rotations:
        too_few = session.execute(
            select(Question.source_ref, Question.id).where(
                *_selected(body), func.jsonb_array_length(Question.choices) < MIN_ROTATED_CHOICES).limit(5)).all()
        if too_few:
            named = ", ".join(str(ref or question_id) for ref, question_id in too_few)
            raise ProblemError(422, f"choice_rotations: questions with fewer than {MIN_ROTATED_CHOICES} choices "
                                    f"cannot be rotated ({named}); narrow the categories or leave rotations off",
                               kind="rotations-need-choices")


def ask_count(session: Session, body: EvaluationCreate, questions: int) -> int:
    """How many asks the evaluation makes of its ``questions``: each as given, under its other rotations with
    ``choice_rotations`` (as many asks as choices), and once more with ``silent_audio``."""
    asks = questions
    if body.choice_rotations:
        chosen = (select(func.jsonb_array_length(Question.choices).label("n")).where(*_selected(body))
                  .order_by(Question.source_ref.asc().nulls_last(), Question.id).limit(questions).subquery())
        asks = int(session.scalar(select(func.coalesce(func.sum(chosen.c.n), 0))) or 0)
    if body.silent_audio:
        asks += questions
    return asks
