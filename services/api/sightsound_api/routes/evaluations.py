"""``/v1/evaluations``: a model (a checkpoint, a base student, the teacher) answers a benchmark's test
questions in a trainer worker; results per category, reports, and side-by-side comparisons."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response, status
from sqlalchemy import select

from sightsound.contracts.evaluation import (
    ComparisonTable,
    EvaluationCreate,
    EvaluationOut,
    EvaluationProgress,
    EvaluationSettings,
)
from sightsound.db.models import Evaluation, EvaluationItem, Question, RunState
from sightsound.evaluation import NotComparable, comparison_table, render_comparison_markdown, render_markdown
from sightsound.evaluation.compare import ItemScores
from sightsound.evaluation.items import item_outcome
from sightsound.registry import TEACHER
from sightsound.web import ProblemError, problem_openapi_responses
from sightsound_api.deps import SessionDep, SettingsDep, scope
from sightsound_api.evaluation_checks import (
    ask_count,
    check_generation,
    check_robustness,
    evaluated_model,
    question_count,
)
from sightsound_api.evaluation_schemas import EvaluationItemOut, EvaluationItemPage, EvaluationPage, EvaluationReport
from sightsound_api.idempotency import first_of_key, replay
from sightsound_api.pagination import decode_cursor, encode_cursor, newest_first_page

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/evaluations", tags=["evaluations"])

MARKDOWN = "text/markdown; charset=utf-8"
MAX_COMPARED = 16
Format = Literal["json", "markdown"]
_MARKDOWN_RESPONSE = {"content": {"text/markdown": {"example": "| category | base | SFT+GRPO |\n|---|---:|---:|\n"}}}


def evaluation_out(evaluation: Evaluation) -> EvaluationOut:
    return EvaluationOut.model_validate(evaluation)


def _get(session: SessionDep, evaluation_id: uuid.UUID) -> Evaluation:
    evaluation = session.get(Evaluation, evaluation_id)
    if evaluation is None:
        raise ProblemError(404, f"no evaluation with id {evaluation_id}", kind="evaluation-not-found")
    return evaluation


@router.post(
    "",
    dependencies=[scope("train")],
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EvaluationOut,
    summary="Evaluate a model on a benchmark; a trainer worker takes it from the `evaluate` queue",
    responses={202: {"description": "Accepted; poll the evaluation at the `Location` header."},
               **problem_openapi_responses(409, 422)},
)
def create_evaluation(
    body: EvaluationCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> EvaluationOut:
    wanted = body.model_dump(mode="json")
    existing = replay(session, Evaluation, idempotency_key, lambda row: row.settings.get("request") == wanted,
                      response, "/v1/evaluations")
    if existing is not None:
        return evaluation_out(existing)
    model = evaluated_model(session, settings, body.model)
    max_new_tokens, batch_size = check_generation(settings, body)
    check_robustness(session, body, teacher=model.ref == TEACHER)
    total = ask_count(session, body, question_count(session, body, teacher=model.ref == TEACHER))
    evaluation_id = uuid.uuid4()
    evaluation = Evaluation(
        id=evaluation_id,
        checkpoint_id=model.checkpoint_id,
        model_ref=model.ref,
        model_label=body.label or model.ref,
        benchmark=body.benchmark,
        split=body.split,
        settings=EvaluationSettings(categories=body.categories, limit=body.limit, max_new_tokens=max_new_tokens,
                                    batch_size=batch_size, choice_rotations=body.choice_rotations,
                                    silent_audio=body.silent_audio,
                                    label_audio_contribution=body.label_audio_contribution,
                                    request=wanted).model_dump(mode="json"),
        state=RunState.queued,
        progress=EvaluationProgress(done=0, total=total).model_dump(mode="json"),
        results={},
        idempotency_key=idempotency_key,
    )
    session.add(evaluation)
    with first_of_key(session, "evaluation"):
        session.commit()
    # After the commit, so a worker never gets a message for a row it cannot see. If the broker is down the
    # evaluation stays queued in PostgreSQL, and a trainer worker re-sends it when it starts.
    try:
        request.app.state.dispatcher.send_evaluation(evaluation_id)
    except Exception:
        log.exception("could not send evaluation %s; a trainer worker re-sends queued ones when it starts",
                      evaluation_id)
    response.headers["Location"] = f"/v1/evaluations/{evaluation_id}"
    session.refresh(evaluation)
    return evaluation_out(evaluation)


@router.get("", dependencies=[scope("read")], response_model=EvaluationPage, summary="List evaluations, newest first",
            responses=problem_openapi_responses(400, 422))
def list_evaluations(
    session: SessionDep,
    state: Annotated[RunState | None, Query()] = None,
    benchmark: Annotated[str | None, Query(max_length=128)] = None,
    model_ref: Annotated[str | None, Query(max_length=255, description="e.g. `base:embedded`")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> EvaluationPage:
    stmt = select(Evaluation)
    if state is not None:
        stmt = stmt.where(Evaluation.state == state)
    if benchmark is not None:
        stmt = stmt.where(Evaluation.benchmark == benchmark)
    if model_ref is not None:
        stmt = stmt.where(Evaluation.model_ref == model_ref)
    rows, next_cursor = newest_first_page(session, stmt, Evaluation, limit, cursor)
    return EvaluationPage(items=[evaluation_out(r) for r in rows], next_cursor=next_cursor)


def _ids(text: str) -> list[uuid.UUID]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ProblemError(422, "ids: give evaluation ids separated by commas", kind="validation-error")
    if len(parts) > MAX_COMPARED:
        raise ProblemError(422, f"ids: at most {MAX_COMPARED} evaluations at once", kind="validation-error")
    try:
        ids = [uuid.UUID(p) for p in parts]
    except ValueError as exc:
        raise ProblemError(422, f"ids: not an evaluation id: {exc}", kind="validation-error") from exc
    if len(set(ids)) != len(ids):
        raise ProblemError(422, "ids: an evaluation is named twice", kind="validation-error")
    return ids


def item_scores(session: SessionDep, evaluation: EvaluationOut) -> ItemScores:
    """Question id -> (right leniently, right strictly) of every item of ``evaluation`` asked as given (for
    pairing; the rotated and silent asks of a robustness check are not paired)."""
    rows = session.execute(select(EvaluationItem, Question.choices)
                           .join(Question, Question.id == EvaluationItem.question_id)
                           .where(EvaluationItem.evaluation_id == evaluation.id, EvaluationItem.rotation == 0,
                                  EvaluationItem.silent.is_(False))).all()
    teacher = evaluation.model_ref == TEACHER
    scores = {}
    for item, choices in rows:
        outcome = item_outcome(category=item.category, output=item.output, choices=[str(c) for c in choices],
                               predicted_index=item.predicted_index, correct=item.correct,
                               parse_error=item.parse_error, teacher=teacher)
        scores[item.question_id] = (outcome.correct, outcome.strict)
    return scores


@router.get(
    "/compare",
    dependencies=[scope("read")],
    response_model=ComparisonTable,
    summary="Evaluations side by side: categories as rows, models as columns, overall first; lenient and strict "
            "accuracy with 95% intervals, and every pair compared on shared questions (exact McNemar)",
    responses={200: _MARKDOWN_RESPONSE, **problem_openapi_responses(404, 409, 422)},
)
def compare_evaluations(
    session: SessionDep,
    ids: Annotated[str, Query(description="Evaluation ids separated by commas, in column order.")],
    format: Annotated[Format, Query()] = "json",
) -> ComparisonTable | Response:
    wanted = _ids(ids)
    found = {e.id: e for e in session.scalars(select(Evaluation).where(Evaluation.id.in_(wanted)))}
    unknown = [str(i) for i in wanted if i not in found]
    if unknown:
        raise ProblemError(404, f"no evaluation with id {', '.join(unknown)}", kind="evaluation-not-found",
                           unknown=unknown)
    evaluations = [evaluation_out(found[i]) for i in wanted]
    try:
        table = comparison_table(evaluations, [item_scores(session, e) for e in evaluations])
    except NotComparable as exc:
        unfinished = [{"id": str(e.id), "state": e.state.value} for e in evaluations if e.results is None]
        raise ProblemError(409, f"only succeeded evaluations can be compared; {exc}", kind="evaluation-unfinished",
                           unfinished=unfinished) from exc
    if format == "markdown":
        return Response(render_comparison_markdown(table), media_type=MARKDOWN)
    return table


@router.get("/{evaluation_id}", response_model=EvaluationOut, summary="An evaluation with its progress and results",
            dependencies=[scope("read")], responses=problem_openapi_responses(404, 422))
def get_evaluation(evaluation_id: uuid.UUID, session: SessionDep) -> EvaluationOut:
    return evaluation_out(_get(session, evaluation_id))


@router.get("/{evaluation_id}/items", dependencies=[scope("read")], response_model=EvaluationItemPage,
            summary="The questions of an evaluation as the model answered them (every ask: rotations, silence), "
                    "in answer order",
            responses=problem_openapi_responses(400, 404, 422))
def list_evaluation_items(
    evaluation_id: uuid.UUID,
    session: SessionDep,
    correct: Annotated[bool | None, Query(description="Only right (true) or wrong (false) answers.")] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    rotation: Annotated[int | None, Query(ge=0, le=3, description="Only asks under this rotation (0: as given).")]
    = None,
    silent: Annotated[bool | None, Query(description="Only asks with silent audio (true) or with the clip's audio "
                                                     "(false).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> EvaluationItemPage:
    _get(session, evaluation_id)
    stmt = (select(EvaluationItem, Question).join(Question, Question.id == EvaluationItem.question_id)
            .where(EvaluationItem.evaluation_id == evaluation_id).order_by(EvaluationItem.id).limit(limit + 1))
    if correct is not None:
        stmt = stmt.where(EvaluationItem.correct == correct)
    if category is not None:
        stmt = stmt.where(EvaluationItem.category == category)
    if rotation is not None:
        stmt = stmt.where(EvaluationItem.rotation == rotation)
    if silent is not None:
        stmt = stmt.where(EvaluationItem.silent.is_(silent))
    if cursor is not None:
        stmt = stmt.where(EvaluationItem.id > decode_cursor(cursor))
    rows = session.execute(stmt).all()
    page = rows[:limit]
    items = [EvaluationItemOut(
        id=item.id, question_id=item.question_id, question=question.text, choices=[str(c) for c in question.choices],
        rotation=item.rotation, silent=item.silent, category=item.category, gold_index=question.answer_index,
        predicted_index=item.predicted_index,
        correct=item.correct, output=item.output, parse_error=item.parse_error, latency_ms=item.latency_ms,
        created_at=item.created_at) for item, question in page]
    next_cursor = encode_cursor(page[-1][0].id) if len(rows) > limit else None
    return EvaluationItemPage(items=items, next_cursor=next_cursor)


@router.get(
    "/{evaluation_id}/report",
    dependencies=[scope("read")],
    response_model=EvaluationReport,
    summary="The results of a succeeded evaluation, as JSON or as Markdown with a per-category table",
    responses={200: _MARKDOWN_RESPONSE, **problem_openapi_responses(404, 409, 422)},
)
def evaluation_report(
    evaluation_id: uuid.UUID, session: SessionDep, format: Annotated[Format, Query()] = "json"
) -> EvaluationReport | Response:
    evaluation = evaluation_out(_get(session, evaluation_id))
    if evaluation.results is None:
        why = f": {evaluation.error}" if evaluation.error else ""
        raise ProblemError(409, f"evaluation {evaluation_id} is {evaluation.state.value}{why}; a report needs a "
                                "succeeded evaluation", kind="evaluation-unfinished", state=evaluation.state.value)
    if format == "markdown":
        return Response(render_markdown(evaluation), media_type=MARKDOWN)
    return EvaluationReport(evaluation_id=evaluation.id, model_ref=evaluation.model_ref,
                            model_label=evaluation.model_label, benchmark=evaluation.benchmark,
                            split=evaluation.split, results=evaluation.results, finished_at=evaluation.finished_at)
