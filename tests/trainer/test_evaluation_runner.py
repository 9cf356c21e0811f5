"""The evaluation runner against PostgreSQL, in-process: the teacher path (its HTTP call replaced by a
function that answers like the teacher service's contract), resuming without duplicates, locks, and the
failures that must end an evaluation with a reason. The student path runs in the end-to-end test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import delete, func, select, update

from sightsound.answers import parse_answer
from sightsound.clients.base import ServiceRejectedError, TransientServiceError
from sightsound.config import Settings
from sightsound.contracts.evaluation import NOT_ASKED, EvaluationOut, EvaluationResults, EvaluationSettings
from sightsound.contracts.teacher import Consensus, ReasonRequest, ReasonResponse, SamplingParams, TeacherTrace
from sightsound.db.models import Evaluation, EvaluationItem, Question, RunState, Split
from sightsound.db.session import session_scope
from sightsound.evaluation.report import render_markdown
from sightsound.evaluation.teacher import SKIP_CHOICES, SKIP_NO_FRAMES
from sightsound_trainer.evaluation.records import evaluation_lock
from sightsound_trainer.evaluation.runner import execute_evaluation
from tests.trainer.evaluation_bench import (
    CHOICES,
    BenchQuestion,
    insert_benchmark,
    insert_checkpoint,
    tone,
    two_categories,
)


@pytest.fixture(scope="module")
def bench(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> str:
    """2 tone and 2 noise questions the teacher can take, one audio-only clip, one 2-choice question."""
    name = f"runner-bench-{uuid.uuid4().hex[:8]}"
    questions = two_categories(tmp_path_factory.mktemp("runner-audio"), per_category=2)
    questions.append(BenchQuestion("tones", questions[0].audio, 0, frames=False))
    questions.append(BenchQuestion("noise", questions[1].audio, 1, choices=("Yes", "No")))
    with session_scope(settings.database_url) as session:
        insert_benchmark(session, name, questions)
    return name


@pytest.fixture(scope="module", autouse=True)
def _leave_nothing_queued(settings: Settings) -> Iterator[None]:
    """Evaluations left queued here would be taken by the end-to-end tests' trainer workers when they start."""
    yield
    with session_scope(settings.database_url) as session:
        session.execute(update(Evaluation).where(Evaluation.state.in_([RunState.queued, RunState.running]))
                        .values(state=RunState.cancelled))


def new_evaluation(settings: Settings, model_ref: str, benchmark: str, **extra: object) -> uuid.UUID:
    evaluation_id = uuid.uuid4()
    with session_scope(settings.database_url) as session:
        session.add(Evaluation(
            id=evaluation_id, model_ref=model_ref, model_label=model_ref, benchmark=benchmark, split=Split.test,
            settings=EvaluationSettings(max_new_tokens=8, batch_size=2, **extra).model_dump(mode="json"),
            state=RunState.queued, progress={}, results={}))
    return evaluation_id


def row(settings: Settings, evaluation_id: uuid.UUID) -> Evaluation:
    with session_scope(settings.database_url) as session:
        return session.get_one(Evaluation, evaluation_id)


def items(settings: Settings, evaluation_id: uuid.UUID) -> list[EvaluationItem]:
    with session_scope(settings.database_url) as session:
        return list(session.scalars(select(EvaluationItem).where(EvaluationItem.evaluation_id == evaluation_id)
                                    .order_by(EvaluationItem.id)))


class FakeTeacher:
    """Answers in the teacher service's contract: unanimous and right on tone questions (choice A), split
    1-1 (no consensus, a tie) on noise questions. Keeps its requests."""

    def __init__(self) -> None:
        self.calls: list[ReasonRequest] = []

    def __call__(self, request: ReasonRequest) -> ReasonResponse:
        self.calls.append(request)
        assert request.frame_urls and len(request.choices) == 4
        # The bench's frame URLs end in "-<item>-<frame>.jpg"; even items are tone questions.
        tone = int(request.frame_urls[0].rsplit("-", 2)[-2]) % 2 == 0
        answers = [0, 0] if tone else [1, 2]
        samples = [TeacherTrace(index=i, text=f"<think>I see.</think><answer>{'ABCD'[a]}</answer>",
                                 answer_index=a, latency_ms=5.0, prompt_tokens=10, completion_tokens=5)
                   for i, a in enumerate(answers)]
        reached = len(set(answers)) == 1
        return ReasonResponse(model="fake", backend="test", prompt_version="v", sampling=SamplingParams(),
                              traces=samples, consensus=Consensus(
                                  policy="unanimous", reached=reached, answer_index=answers[0] if reached else None,
                                  agreement=1.0 if reached else 0.5, traces_used=2))


def test_the_teacher_is_asked_only_what_it_can_answer_and_its_vote_is_the_prediction(
    settings: Settings, bench: str
) -> None:
    teacher = FakeTeacher()
    evaluation_id = new_evaluation(settings, "teacher", bench)
    assert execute_evaluation(settings, evaluation_id, teacher) == RunState.succeeded
    assert len(teacher.calls) == 4
    assert teacher.calls[0].k == settings.traces_per_question
    evaluation = row(settings, evaluation_id)
    assert evaluation.state == RunState.succeeded and evaluation.attempts == 1 and evaluation.error is None
    assert evaluation.progress["done"] == evaluation.progress["total"] == 4
    results = EvaluationResults.model_validate(evaluation.results)
    assert results.overall.n == 4 and results.overall.correct == 2 and results.overall.unanswered == 2
    assert results.per_category["tones"].accuracy == 1.0 and results.per_category["noise"].accuracy == 0.0
    assert results.answer_reading == {"tag": 2, "letter": 0, "choice-text": 0, "none": 2}
    assert results.skipped.reasons == {SKIP_NO_FRAMES: 1, SKIP_CHOICES: 1}
    stored = items(settings, evaluation_id)
    assert len(stored) == 4 and len({i.question_id for i in stored}) == 4
    tie = next(i for i in stored if i.category == "noise")
    assert tie.predicted_index is None and tie.parse_error == "no consensus and no single most common answer"
    assert tie.output.startswith("votes: B C; consensus: none (unanimous, agreement 0.50)")


def test_a_restarted_evaluation_answers_only_the_missing_questions_and_writes_no_duplicates(
    settings: Settings, bench: str
) -> None:
    evaluation_id = new_evaluation(settings, "teacher", bench)
    assert execute_evaluation(settings, evaluation_id, FakeTeacher()) == RunState.succeeded
    first = {i.question_id: i.id for i in items(settings, evaluation_id)}
    before = row(settings, evaluation_id).results
    # As a worker that died mid-way leaves it: running, one question not answered yet.
    with session_scope(settings.database_url) as session:
        lost = session.scalars(select(EvaluationItem.question_id)
                               .where(EvaluationItem.evaluation_id == evaluation_id).limit(1)).one()
        session.execute(delete(EvaluationItem).where(EvaluationItem.evaluation_id == evaluation_id,
                                                     EvaluationItem.question_id == lost))
        session.execute(update(Evaluation).where(Evaluation.id == evaluation_id)
                        .values(state=RunState.running, results={}))
    teacher = FakeTeacher()
    assert execute_evaluation(settings, evaluation_id, teacher) == RunState.succeeded
    assert len(teacher.calls) == 1
    again = {i.question_id: i.id for i in items(settings, evaluation_id)}
    assert set(again) == set(first) and all(again[q] == first[q] for q in first if q != lost)
    evaluation = row(settings, evaluation_id)
    assert evaluation.attempts == 2
    assert {**evaluation.results, "mean_latency_ms": None} == {**before, "mean_latency_ms": None}  # wall time varies
    # A redelivered message of a finished evaluation does nothing.
    assert execute_evaluation(settings, evaluation_id, teacher) is None
    assert len(teacher.calls) == 1 and row(settings, evaluation_id).attempts == 2


def test_an_evaluation_held_by_another_worker_is_left_alone(settings: Settings, bench: str) -> None:
    evaluation_id = new_evaluation(settings, "teacher", bench)
    teacher = FakeTeacher()
    with evaluation_lock(settings, evaluation_id):
        assert execute_evaluation(settings, evaluation_id, teacher) is None
    assert teacher.calls == [] and row(settings, evaluation_id).state == RunState.queued


def test_limit_and_categories_select_a_fixed_subset(settings: Settings, bench: str) -> None:
    teacher = FakeTeacher()
    evaluation_id = new_evaluation(settings, "teacher", bench, categories=["tones"], limit=1)
    assert execute_evaluation(settings, evaluation_id, teacher) == RunState.succeeded
    results = EvaluationResults.model_validate(row(settings, evaluation_id).results)
    assert results.overall.n == 1 and list(results.per_category) == ["tones"]
    other = FakeTeacher()
    assert execute_evaluation(settings, new_evaluation(settings, "teacher", bench, categories=["tones"], limit=1),
                              other) == RunState.succeeded
    assert [c.question for c in other.calls] == [c.question for c in teacher.calls]
    assert [c.choices for c in other.calls] == [c.choices for c in teacher.calls]


def flaky(fails: int, error: Callable[[], Exception]) -> Callable[[ReasonRequest], ReasonResponse]:
    teacher = FakeTeacher()
    count = {"n": 0}

    def call(request: ReasonRequest) -> ReasonResponse:
        count["n"] += 1
        if count["n"] <= fails:
            raise error()
        return teacher(request)

    return call


def test_transient_teacher_errors_are_retried_and_a_refusal_is_an_unasked_item(
    settings: Settings, bench: str
) -> None:
    quick = settings.model_copy(update={"task_retry_backoff_s": 0.0, "task_max_retries": 2})
    retried = new_evaluation(quick, "teacher", bench)
    call = flaky(2, lambda: TransientServiceError("teacher", "503", 503))
    assert execute_evaluation(quick, retried, call) == RunState.succeeded
    assert EvaluationResults.model_validate(row(quick, retried).results).overall.n == 4

    refused = new_evaluation(quick, "teacher", bench)
    call = flaky(1, lambda: ServiceRejectedError("teacher", "frames too large", 413))
    assert execute_evaluation(quick, refused, call) == RunState.succeeded
    results = EvaluationResults.model_validate(row(quick, refused).results)
    assert results.overall.n == 4 and results.overall.errors == 1
    not_asked = [i for i in items(quick, refused) if i.parse_error and i.parse_error.startswith(NOT_ASKED)]
    assert len(not_asked) == 1 and "frames too large" in str(not_asked[0].parse_error)


def test_a_teacher_that_stays_down_fails_the_evaluation_with_the_reason(settings: Settings, bench: str) -> None:
    quick = settings.model_copy(update={"task_retry_backoff_s": 0.0, "task_max_retries": 1})
    evaluation_id = new_evaluation(quick, "teacher", bench)
    assert execute_evaluation(quick, evaluation_id, flaky(100, lambda: TransientServiceError(
        "teacher", "ConnectError: connection refused"))) == RunState.failed
    evaluation = row(quick, evaluation_id)
    assert evaluation.state == RunState.failed and "connection refused" in str(evaluation.error)
    assert evaluation.finished_at is not None and evaluation.results == {}


def test_a_checkpoint_whose_folder_is_gone_fails_with_the_reason(
    settings: Settings, bench: str, tmp_path: Path
) -> None:
    with session_scope(settings.database_url) as session:
        checkpoint_id = insert_checkpoint(session, tmp_path / "deleted")
    evaluation_id = new_evaluation(settings, f"checkpoint:{checkpoint_id}", bench)
    assert execute_evaluation(settings, evaluation_id) == RunState.failed
    error = str(row(settings, evaluation_id).error)
    assert f"checkpoint {checkpoint_id} is recorded but its folder" in error and "is gone" in error


def test_a_base_model_no_longer_served_fails_with_the_reason(settings: Settings, bench: str) -> None:
    served = settings.model_copy(update={"student_base_models": ["embedded"]})
    evaluation_id = new_evaluation(served, "base:tiny-random", bench)
    assert execute_evaluation(served, evaluation_id) == RunState.failed
    assert "'tiny-random' is not served here; served: base:embedded" in str(row(served, evaluation_id).error)
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(EvaluationItem)
                              .where(EvaluationItem.evaluation_id == evaluation_id)) == 0


# --- shortcut checks: choice rotations and silent audio ----------------------------------------------------


def test_rotations_move_the_letters_and_map_the_teachers_answers_back(settings: Settings, bench: str) -> None:
    """The fake teacher says A on every tone question whatever the order: under rotation r, A is the underlying
    choice r, so it is right only as given and never consistent."""
    teacher = FakeTeacher()
    evaluation_id = new_evaluation(settings, "teacher", bench, choice_rotations=True)
    assert execute_evaluation(settings, evaluation_id, teacher) == RunState.succeeded
    assert len(teacher.calls) == 16  # 4 askable questions x 4 rotations
    shown = {tuple(c.choices) for c in teacher.calls}
    assert shown == {tuple(CHOICES[r:] + CHOICES[:r]) for r in range(4)}
    evaluation = row(settings, evaluation_id)
    assert evaluation.progress["done"] == evaluation.progress["total"] == 16
    results = EvaluationResults.model_validate(evaluation.results)
    assert results.overall.n == 4 and results.overall.correct == 2  # the ordinary results: the asks as given
    rotations = results.rotations
    assert rotations is not None and results.audio_contribution is None
    assert rotations.questions == 4 and (rotations.items.n, rotations.items.correct) == (16, 2)
    assert rotations.consistent.correct == 0 and rotations.all_correct.correct == 0
    stored = items(settings, evaluation_id)
    tone_answers = {(i.question_id, i.rotation): i.predicted_index for i in stored if i.category == "tones"}
    assert {rotation: index for (_, rotation), index in tone_answers.items()} == {0: 0, 1: 1, 2: 2, 3: 3}
    assert all(i.correct == (i.rotation == 0) for i in stored if i.category == "tones")
    # Items of the ordinary asks pair with another evaluation; the report says what the rotations found.
    markdown = render_markdown(EvaluationOut.model_validate(evaluation))
    assert "## Choice order (every rotation of the choices)" in markdown
    assert "| **answered consistently** (same choice under every rotation) | 0.0% (0/4)" in markdown


def test_the_tiny_student_with_rotations_and_silent_audio_labels_its_questions(
    settings: Settings, bench: str
) -> None:
    """The tiny RANDOM student (its accuracies mean nothing) asked every question under each rotation and once
    with silence: one item per ask, the blocks' counts add up, every asked question labelled weak or strong."""
    served = settings.model_copy(update={"student_base_models": ["tiny-random"], "student_device": "cpu"})
    evaluation_id = new_evaluation(served, "base:tiny-random", bench, choice_rotations=True, silent_audio=True,
                                   label_audio_contribution=True)
    assert execute_evaluation(served, evaluation_id) == RunState.succeeded, row(served, evaluation_id).error
    evaluation = row(served, evaluation_id)
    # 6 questions: 5 of 4 choices, 1 of 2; each as given and rotated (22 asks) and once silent (6 more).
    assert evaluation.progress["done"] == evaluation.progress["total"] == 28
    stored = items(served, evaluation_id)
    assert len(stored) == 28 and len({(i.question_id, i.rotation, i.silent) for i in stored}) == 28
    assert sum(i.silent for i in stored) == 6 and all(i.rotation == 0 for i in stored if i.silent)
    results = EvaluationResults.model_validate(evaluation.results)
    assert results.overall.n == 6
    rotations, silent = results.rotations, results.audio_contribution
    assert rotations is not None and silent is not None
    assert rotations.questions == 6 and rotations.items.n == 22
    assert 0 <= rotations.consistent.correct <= 6 and rotations.items.interval is not None
    assert silent.questions == 6 and silent.not_asked == 0 and silent.labelled == 6
    assert silent.needs_audio.n == 6 - silent.without_audio.correct
    assert silent.needs_audio.n + silent.weak_with_audio.n == 6
    with session_scope(served.database_url) as session:
        labels = dict(session.execute(select(Question.id, Question.audio_contribution).where(
            Question.id.in_({i.question_id for i in stored}))).all())
        sources = set(session.scalars(select(Question.audio_contribution_evaluation_id)
                                      .where(Question.id.in_(labels))))
    weak = {i.question_id for i in stored if i.silent and i.correct}
    assert labels == {q: "weak" if q in weak else "strong" for q in labels} and sources == {evaluation_id}
    assert all(i.output for i in stored)  # the random student said something to every ask
    markdown = render_markdown(EvaluationOut.model_validate(evaluation))
    assert "answered consistently" in markdown and "answerable without audio" in markdown
    assert "Labelled 6 questions' audio contribution" in markdown
    # Asked again (a redelivery after a crash), nothing is asked twice.
    with session_scope(served.database_url) as session:
        session.execute(delete(EvaluationItem).where(EvaluationItem.evaluation_id == evaluation_id,
                                                     EvaluationItem.silent.is_(True)))
        session.execute(update(Evaluation).where(Evaluation.id == evaluation_id)
                        .values(state=RunState.running, results={}))
    assert execute_evaluation(served, evaluation_id) == RunState.succeeded
    again = items(served, evaluation_id)
    assert len(again) == 28 and {i.id for i in again if not i.silent} == {i.id for i in stored if not i.silent}


def test_the_student_is_shown_rotated_choices_and_silence_of_the_clips_length(
    bench: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What reaches the student's answer(): the rotated choices, and for a silent ask zeros as long as the decoded
    clip (the same feature path as the heard ask); its letter is mapped back to the underlying choice."""
    from sightsound_student_model.inference import Answer
    from sightsound_trainer.evaluation import answerers
    from sightsound_trainer.evaluation.records import Ask, QuestionRow

    seen: list[Any] = []

    def fake_answer(loaded: object, queries: list[Any], **_: object) -> list[Answer]:
        seen.extend(queries)
        return [Answer("<answer>B</answer>", parse_answer("<answer>B</answer>", q.choices), 1, 1, 1.0)
                for q in queries]

    monkeypatch.setattr(answerers, "answer", fake_answer)
    audio = tone(Path(settings.media_root) / "rotation-probe.wav", 440.0)
    q = QuestionRow(uuid.uuid4(), "What is heard?", list(CHOICES), 0, "tones", audio.as_uri(), None)
    rows = answerers.StudentAnswerer(object(), 8).answer(  # type: ignore[arg-type]
        [Ask(q, 0), Ask(q, 1), Ask(q, 3), Ask(q, 0, silent=True)])
    assert [list(x.choices) for x in seen] == [CHOICES, CHOICES[1:] + CHOICES[:1], CHOICES[3:] + CHOICES[:3], CHOICES]
    heard, silent = seen[0].waveform, seen[3].waveform
    assert np.abs(heard).max() > 0.1 and silent.shape == heard.shape and not silent.any()
    # "B" is choice 1 as given, choice 2 under rotation 1, choice 0 under rotation 3.
    assert [(r.rotation, r.silent, r.predicted_index, r.correct) for r in rows] == [
        (0, False, 1, False), (1, False, 2, False), (3, False, 0, True), (0, True, 1, False)]
