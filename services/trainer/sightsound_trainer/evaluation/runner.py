"""An evaluation from claim to results: select its questions, load the model once, answer in batches, and
summarize. Any error fails the evaluation with its reason; the items answered so far stay, so a re-sent
evaluation goes on where it stopped.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sightsound.config import Settings
from sightsound.contracts.evaluation import EvaluationProgress
from sightsound.contracts.teacher import ReasonRequest, ReasonResponse
from sightsound.db.models import RunState
from sightsound.db.session import session_scope
from sightsound.evaluation.items import item_outcome
from sightsound.evaluation.summary import ItemOutcome, summarize
from sightsound.evaluation.teacher import teacher_skip_reason
from sightsound.registry import TEACHER, BadModelName, UnknownModel, parse_model_ref, resolve_model
from sightsound_student_model.inference import (
    LoadedStudent,
    inference_device,
    inference_dtype,
    load_base,
    load_checkpoint,
)
from sightsound_student_model.student import StudentLoadError
from sightsound_trainer.evaluation.answerers import Answerer, StudentAnswerer, TeacherAnswerer
from sightsound_trainer.evaluation.records import (
    EvaluationGaveUp,
    EvaluationSkipped,
    EvaluationSpec,
    QuestionRow,
    StoredItem,
    answered_question_ids,
    claim_evaluation,
    evaluation_lock,
    finish_evaluation,
    record_progress,
    save_batch,
    select_questions,
    stored_items,
)

log = logging.getLogger(__name__)

TeacherCall = Callable[[ReasonRequest], ReasonResponse]


class EvaluationFailed(Exception):
    """The evaluation cannot go on; the message is the reason recorded for the user."""


def askable(questions: Sequence[QuestionRow], teacher: bool) -> tuple[list[QuestionRow], dict[str, int]]:
    """The questions the model can be asked, and how many were skipped for each reason."""
    if not teacher:
        return list(questions), {}
    kept: list[QuestionRow] = []
    skipped: dict[str, int] = {}
    for q in questions:
        reason = teacher_skip_reason(len(q.choices), q.frame_urls)
        if reason is None:
            kept.append(q)
        else:
            skipped[reason] = skipped.get(reason, 0) + 1
    return kept, skipped


def outcome(item: StoredItem, teacher: bool) -> ItemOutcome:
    """What :func:`~sightsound.evaluation.summary.summarize` needs of a stored item (lenient and strict)."""
    return item_outcome(category=item.category, output=item.output, choices=item.choices,
                        predicted_index=item.predicted_index, correct=item.correct, parse_error=item.parse_error,
                        latency_ms=item.latency_ms, teacher=teacher)


def load_model(settings: Settings, model_ref: str) -> LoadedStudent:
    """The student ``model_ref`` names, on ``student_device``; :class:`EvaluationFailed` says why not."""
    try:
        ref = parse_model_ref(model_ref)
        with session_scope(settings.database_url) as session:
            resolved = resolve_model(session, ref, settings.student_base_models)
        device = inference_device(settings.student_device)
        dtype = inference_dtype(device)
        if resolved.folder is not None:
            loaded = load_checkpoint(resolved.folder, ref=resolved.ref, variant=resolved.variant, dtype=dtype)
        else:
            loaded = load_base(resolved.base_model, dtype=dtype)
    except (BadModelName, UnknownModel) as exc:
        raise EvaluationFailed(f"model {model_ref}: {exc}") from exc
    except StudentLoadError as exc:
        raise EvaluationFailed(f"model {model_ref} did not load: {exc}") from exc
    loaded.student.model.to(device)
    return loaded


def answerer_for(settings: Settings, spec: EvaluationSpec, teacher_call: TeacherCall | None) -> Answerer:
    if spec.model_ref == TEACHER:
        if teacher_call is None:
            from sightsound.clients.teacher import TeacherClient

            teacher_call = TeacherClient.from_settings(settings).reason
        return TeacherAnswerer(settings, teacher_call)
    loaded = load_model(settings, spec.model_ref)
    log.info("evaluation %s: %s loaded in %.1f s", spec.evaluation_id, loaded.ref, loaded.load_s)
    return StudentAnswerer(loaded, spec.settings.max_new_tokens, spec.settings.temperature)


def run_evaluation(settings: Settings, spec: EvaluationSpec,
                   teacher_call: TeacherCall | None = None) -> dict[str, Any]:
    """Answer every question that has no item yet, then return the results of all items."""
    teacher = spec.model_ref == TEACHER
    questions, skipped = askable(select_questions(settings, spec), teacher)
    answered = answered_question_ids(settings, spec.evaluation_id)
    todo = [q for q in questions if q.id not in answered]
    done = len(questions) - len(todo)
    log.info("evaluation %s (attempt %d): %s on %s/%s: %d questions, %d answered already, %d skipped",
             spec.evaluation_id, spec.attempt, spec.model_ref, spec.benchmark, spec.split.value, len(questions),
             done, sum(skipped.values()))
    record_progress(settings, spec.evaluation_id, EvaluationProgress(done=done, total=len(questions)))
    if todo:
        answerer = answerer_for(settings, spec, teacher_call)
        started, asked = time.perf_counter(), 0
        size = spec.settings.batch_size
        for start in range(0, len(todo), size):
            batch = todo[start : start + size]
            rows = answerer.answer(batch)
            asked += len(batch)
            per_question = (time.perf_counter() - started) / asked
            left = len(todo) - asked
            save_batch(settings, spec.evaluation_id, rows, EvaluationProgress(
                done=done + asked, total=len(questions), eta_s=round(per_question * left, 1)))
    items = stored_items(settings, spec.evaluation_id)
    wanted = {q.id for q in questions}
    outcomes = [outcome(item, teacher) for item in items if item.question_id in wanted]
    return summarize(outcomes, skipped).model_dump(mode="json")


def execute_evaluation(settings: Settings, evaluation_id: uuid.UUID,
                       teacher_call: TeacherCall | None = None) -> RunState | None:
    """Claim, run and finish an evaluation (the Celery task's body). None when there was nothing to do."""
    try:
        with evaluation_lock(settings, evaluation_id):
            spec = claim_evaluation(settings, evaluation_id)
            try:
                results = run_evaluation(settings, spec, teacher_call)
            except EvaluationFailed as exc:
                finish_evaluation(settings, evaluation_id, RunState.failed, error=str(exc))
                return RunState.failed
            except Exception as exc:
                log.exception("evaluation %s failed", evaluation_id)
                finish_evaluation(settings, evaluation_id, RunState.failed, error=f"{type(exc).__name__}: {exc}")
                return RunState.failed
            finish_evaluation(settings, evaluation_id, RunState.succeeded, results=results)
            return RunState.succeeded
    except EvaluationGaveUp as gave_up:
        log.error("fail %s", gave_up)
        return RunState.failed
    except EvaluationSkipped as skipped:
        log.info("skip evaluation %s: %s", evaluation_id, skipped)
        return None
