"""An evaluation from claim to results: select its questions, plan its asks (each question as given, and with
``choice_rotations`` under every other rotation, with ``silent_audio`` once more with silence), load the model
once, answer in batches, summarize, and with ``label_audio_contribution`` label the questions weak / strong.
Any error fails the evaluation with its reason; the items answered so far stay, so a re-sent evaluation goes on
where it stopped.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sightsound.config import Settings
from sightsound.contracts.evaluation import EvaluationProgress, EvaluationResults
from sightsound.contracts.teacher import ReasonRequest, ReasonResponse
from sightsound.db.models import RunState
from sightsound.db.session import session_scope
from sightsound.evaluation.items import item_outcome
from sightsound.evaluation.robustness import (
    ListenedPair,
    RotatedAnswer,
    contribution_labels,
    rotations,
    summarize_contribution,
    summarize_rotations,
)
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
    Ask,
    EvaluationGaveUp,
    EvaluationSkipped,
    EvaluationSpec,
    QuestionRow,
    StoredItem,
    answered_asks,
    claim_evaluation,
    evaluation_lock,
    finish_evaluation,
    label_questions,
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


def plan_asks(questions: Sequence[QuestionRow], choice_rotations: bool, silent_audio: bool) -> list[Ask]:
    """Every ask of the evaluation, a question's asks together (so a batch reads its audio once): as given, then
    its other rotations, then with silence."""
    asks: list[Ask] = []
    for q in questions:
        turns = rotations(len(q.choices)) if choice_rotations else range(1)
        asks += [Ask(q, rotation) for rotation in turns]
        if silent_audio:
            asks.append(Ask(q, 0, silent=True))
    return asks


def outcome(item: StoredItem, teacher: bool) -> ItemOutcome:
    """What :func:`~sightsound.evaluation.summary.summarize` needs of a stored item (lenient and strict)."""
    return item_outcome(category=item.category, output=item.output, choices=item.choices,
                        predicted_index=item.predicted_index, correct=item.correct, parse_error=item.parse_error,
                        latency_ms=item.latency_ms, teacher=teacher, rotation=item.rotation)


def rotated_answer(item: StoredItem, teacher: bool) -> RotatedAnswer:
    read = outcome(item, teacher)
    return RotatedAnswer(question_id=item.question_id, rotation=item.rotation, n_choices=len(item.choices),
                         choice=item.predicted_index if read.answered else None, tagged=read.reading == "tag",
                         correct=read.correct, strict=read.strict)


def listened_pairs(items: Sequence[StoredItem], teacher: bool) -> list[ListenedPair]:
    """Each question's ask as given, paired with its ask with silence (questions without both are left out)."""
    heard = {i.question_id: outcome(i, teacher) for i in items if i.rotation == 0 and not i.silent}
    silent = {i.question_id: outcome(i, teacher) for i in items if i.rotation == 0 and i.silent}
    pairs = []
    for question_id, with_audio in heard.items():
        without = silent.get(question_id)
        if without is None:
            continue
        pairs.append(ListenedPair(question_id, with_audio.correct, with_audio.strict, without.correct,
                                  without.strict, asked=not (with_audio.error or without.error)))
    return pairs


def results_of(spec: EvaluationSpec, items: Sequence[StoredItem], skipped: dict[str, int]) -> EvaluationResults:
    """The evaluation's results from its stored items: the ordinary ones from the asks as given, and the
    rotation and audio-contribution blocks when they were asked for."""
    teacher = spec.model_ref == TEACHER
    given = [item for item in items if item.rotation == 0 and not item.silent]
    results = summarize([outcome(item, teacher) for item in given], skipped)
    if spec.settings.choice_rotations:
        results.rotations = summarize_rotations(rotated_answer(i, teacher) for i in items if not i.silent)
    if spec.settings.silent_audio:
        results.audio_contribution = summarize_contribution(listened_pairs(items, teacher))
    return results


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
    asks = plan_asks(questions, spec.settings.choice_rotations, spec.settings.silent_audio)
    answered = answered_asks(settings, spec.evaluation_id)
    todo = [ask for ask in asks if ask.key not in answered]
    done = len(asks) - len(todo)
    log.info("evaluation %s (attempt %d): %s on %s/%s: %d questions in %d asks, %d answered already, %d skipped",
             spec.evaluation_id, spec.attempt, spec.model_ref, spec.benchmark, spec.split.value, len(questions),
             len(asks), done, sum(skipped.values()))
    record_progress(settings, spec.evaluation_id, EvaluationProgress(done=done, total=len(asks)))
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
                done=done + asked, total=len(asks), eta_s=round(per_question * left, 1)))
    wanted = {ask.key for ask in asks}
    items = [i for i in stored_items(settings, spec.evaluation_id) if (i.question_id, i.rotation, i.silent) in wanted]
    results = results_of(spec, items, skipped)
    if spec.settings.label_audio_contribution and results.audio_contribution is not None:
        labels = contribution_labels(listened_pairs(items, teacher))
        results.audio_contribution.labelled = label_questions(settings, spec.evaluation_id, labels)
        log.info("evaluation %s labelled %d questions' audio contribution", spec.evaluation_id, len(labels))
    return results.model_dump(mode="json")


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
