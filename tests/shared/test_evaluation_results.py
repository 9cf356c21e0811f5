"""Evaluations' pure logic: summaries, the Markdown report, comparison tables and the teacher's prediction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from sightsound.contracts.evaluation import UNCATEGORIZED, EvaluationCreate, EvaluationOut, EvaluationResults
from sightsound.contracts.teacher import Consensus, ReasonResponse, SamplingParams, TeacherTrace
from sightsound.db.models import RunState, Split
from sightsound.evaluation import (
    ItemOutcome,
    NotComparable,
    comparison_table,
    render_comparison_markdown,
    render_markdown,
    summarize,
)
from sightsound.evaluation.teacher import (
    SKIP_CHOICES,
    SKIP_NO_FRAMES,
    plurality,
    teacher_prediction,
    teacher_skip_reason,
)

# --- summarize: valid, invalid and mixed cases ----------------------------------------------------------


def test_an_empty_evaluation_has_no_accuracy_and_no_latency() -> None:
    results = summarize([])
    assert results.overall.model_dump() == {
        "n": 0, "correct": 0, "accuracy": None, "interval": None, "strict_correct": 0, "strict_accuracy": None,
        "strict_interval": None, "unanswered": 0, "errors": 0, "unreadable": 0, "strict_unreadable": 0}
    assert results.per_category == {}
    assert results.answer_reading == {"tag": 0, "letter": 0, "choice-text": 0, "none": 0}
    assert results.mean_latency_ms is None and results.skipped.n == 0


def test_all_right_and_all_wrong() -> None:
    right = summarize([ItemOutcome("a", True, "tag") for _ in range(4)])
    assert right.overall.accuracy == 1.0 and right.per_category["a"].accuracy == 1.0
    wrong = summarize([ItemOutcome("a", False, "letter") for _ in range(4)])
    assert wrong.overall.accuracy == 0.0 and wrong.overall.unanswered == 0
    assert wrong.answer_reading["letter"] == 4


def test_unanswered_and_errors_count_as_wrong_and_are_in_n() -> None:
    results = summarize([
        ItemOutcome("a", True, "tag", latency_ms=100.0),
        ItemOutcome("a", False, None, latency_ms=300.0),  # no answer read
        ItemOutcome("a", False, "none", latency_ms=200.0),  # "none" is unanswered too
        ItemOutcome("a", False, None, error=True),  # its audio could not be read: took no model time
    ])
    assert results.overall.n == 4 and results.overall.correct == 1 and results.overall.accuracy == 0.25
    assert results.overall.unanswered == 3 and results.overall.errors == 1
    assert results.answer_reading == {"tag": 1, "letter": 0, "choice-text": 0, "none": 3}
    assert results.mean_latency_ms == 200.0  # the error item is left out of the mean


def test_categories_are_sorted_and_none_is_uncategorized() -> None:
    results = summarize([ItemOutcome("zeta", True, "tag"), ItemOutcome(None, False, "choice-text"),
                         ItemOutcome("alpha", True, "letter"), ItemOutcome("alpha", False, "tag")])
    assert list(results.per_category) == ["alpha", UNCATEGORIZED, "zeta"]
    alpha = results.per_category["alpha"]
    assert (alpha.n, alpha.correct, alpha.accuracy, alpha.strict_correct) == (2, 1, 0.5, 0)
    assert alpha.interval is not None and alpha.interval.low <= 0.5 <= alpha.interval.high
    assert results.per_category[UNCATEGORIZED].accuracy == 0.0
    assert sum(c.n for c in results.per_category.values()) == results.overall.n


def test_skipped_questions_are_apart_from_n_with_their_reasons() -> None:
    results = summarize([ItemOutcome("a", True, "tag")], skipped={SKIP_NO_FRAMES: 3, SKIP_CHOICES: 2})
    assert results.overall.n == 1 and results.overall.accuracy == 1.0
    assert results.skipped.n == 5
    assert list(results.skipped.reasons) == sorted([SKIP_NO_FRAMES, SKIP_CHOICES])


def test_an_unanswered_item_cannot_be_correct() -> None:
    with pytest.raises(ValueError, match="cannot be correct"):
        ItemOutcome("a", True, None)
    with pytest.raises(ValueError, match="cannot be correct"):
        ItemOutcome("a", True, "tag", error=True)


def test_accuracy_is_rounded_to_four_places() -> None:
    results = summarize([ItemOutcome("a", i == 0, "tag") for i in range(3)])
    assert results.overall.accuracy == 0.3333
    assert EvaluationResults.model_validate(results.model_dump(mode="json")) == results  # survives JSONB


# --- the request contract -------------------------------------------------------------------------------


@pytest.mark.parametrize("categories, message", [
    ([], "at least 1"), (["a", "a"], "must not repeat"), ([" "], "1 to 64"), (["x" * 65], "1 to 64"),
])
def test_bad_categories_are_refused(categories: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EvaluationCreate(model="base:tiny-random", benchmark="b", categories=categories)


def test_a_request_defaults_to_the_test_split() -> None:
    body = EvaluationCreate(model="teacher", benchmark="b", categories=[" sound "])
    assert body.split == Split.test and body.categories == ["sound"]


# --- reports and comparisons ----------------------------------------------------------------------------


def evaluation(label: str, items: list[ItemOutcome] | None, state: RunState = RunState.succeeded,
               **extra: Any) -> EvaluationOut:
    results = summarize(items).model_dump(mode="json") if items is not None else {}
    return EvaluationOut(
        id=uuid.uuid4(), model_ref=extra.get("model_ref", f"base:{label}"), model_label=label, checkpoint_id=None,
        benchmark="unit-bench", split=Split.test, settings={}, state=state,
        progress={"done": len(items or []), "total": 4}, results=results, error=extra.get("error"), attempts=1,
        created_at=datetime(2026, 11, 26, tzinfo=UTC), started_at=None, finished_at=None)


BASE = [ItemOutcome("speech", False, None), ItemOutcome("speech", True, "letter"), ItemOutcome("music", False, "tag")]
TRAINED = [ItemOutcome("speech", True, "tag", strict=True), ItemOutcome("speech", True, "tag", strict=True),
           ItemOutcome("music", True, "tag", strict=True), ItemOutcome("pitch", False, "tag")]


def test_the_markdown_report_lists_every_category_with_counts() -> None:
    text = render_markdown(evaluation("CoT SFT", TRAINED, model_ref="checkpoint:abc"))
    assert text.startswith("# Evaluation of CoT SFT\n")
    assert "- model: `checkpoint:abc`" in text and "- benchmark: `unit-bench` (split test)" in text
    assert "- accuracy: **75.0%** (3/4); unanswered 0" in text
    assert "| **overall** | 4 | 3 | **75.0%** |" in text
    assert "| music | 1 | 1 | 100.0% |" in text and "| pitch | 1 | 0 | 0.0% |" in text
    assert "| speech | 2 | 2 | 100.0% |" in text
    assert text.index("| music") < text.index("| pitch") < text.index("| speech")
    assert "answers read by: tag 4, letter 0, choice-text 0, none 0" in text


def test_the_report_escapes_pipes_and_shows_skips_and_errors() -> None:
    items = [ItemOutcome("a|b", False, None, error=True), ItemOutcome("a|b", True, "tag")]
    out = evaluation("x", items)
    assert out.results is not None
    out = out.model_copy(update={"results": out.results.model_copy(
        update={"skipped": out.results.skipped.model_copy(update={"n": 2, "reasons": {SKIP_NO_FRAMES: 2}})})})
    text = render_markdown(out)
    assert "| a\\|b | 2 | 1 | 50.0% |" in text
    assert "(of which 1 could not be asked)" in text
    assert f"- {SKIP_NO_FRAMES}: 2" in text and "2 evaluated, 2 skipped" in text


def test_a_report_without_results_says_the_state_and_error() -> None:
    text = render_markdown(evaluation("x", None, RunState.failed, error="model base:x: not served"))
    assert "- state: failed" in text and "- error: model base:x: not served" in text
    assert "No results yet." in text and "| category |" not in text


def test_the_comparison_has_the_overall_row_first_then_categories_and_a_column_per_model() -> None:
    table = comparison_table([evaluation("base", BASE), evaluation("SFT+GRPO", TRAINED)])
    assert [c.label for c in table.columns] == ["base", "SFT+GRPO"]
    assert [r.name for r in table.rows] == ["overall", "music", "pitch", "speech"]
    overall = table.rows[0].cells
    assert [(c.correct, c.n) for c in overall if c] == [(1, 3), (3, 4)]
    pitch = table.rows[2].cells
    assert pitch[0] is None and pitch[1] is not None and pitch[1].accuracy == 0.0
    text = render_comparison_markdown(table)
    lines = text.splitlines()
    assert lines[2] == "| category | base | SFT+GRPO |"
    assert lines[4] == "| **overall** | 33.3% [0.0, 100.0] (1/3) | **75.0% [25.0, 100.0] (3/4)** |"
    assert lines[5] == "| music | 0.0% [0.0, 0.0] (0/1) | **100.0% [100.0, 100.0] (1/1)** |"
    assert lines[6] == "| pitch | – | 0.0% [0.0, 0.0] (0/1) |"  # one model alone is not "best"
    assert lines[7] == "| speech | 50.0% [0.0, 100.0] (1/2) | **100.0% [100.0, 100.0] (2/2)** |"
    strict = lines[lines.index("Strict accuracy (only a well-formed `<answer>X</answer>` counts):") + 4]
    assert strict == "| **overall** | 0.0% [0.0, 0.0] (0/3) | **75.0% [25.0, 100.0] (3/4)** |"
    assert "Intervals: 95% percentile bootstrap, 2000 resamples, seed 0." in text
    assert "- base: `base:base` on `unit-bench` (test)" in text


def test_tied_rows_bold_nothing_and_repeated_labels_are_told_apart() -> None:
    first, second = evaluation("same", TRAINED), evaluation("same", TRAINED)
    table = comparison_table([first, second])
    assert table.columns[0].label == f"same ({str(first.id)[:8]})"
    assert table.columns[1].label == f"same ({str(second.id)[:8]})"
    assert "**75.0%" not in render_comparison_markdown(table)


def test_unfinished_evaluations_cannot_be_compared_and_are_named() -> None:
    running = evaluation("run", None, RunState.running)
    with pytest.raises(NotComparable, match=f"{running.id} \\(running\\)"):
        comparison_table([evaluation("base", BASE), running])


def test_one_evaluation_compares_to_itself() -> None:
    table = comparison_table([evaluation("base", BASE)])
    assert len(table.columns) == 1 and all(len(r.cells) == 1 for r in table.rows)


# --- the teacher ----------------------------------------------------------------------------------------


def response(answers: list[int | None], consensus: int | None, reached: bool) -> ReasonResponse:
    samples = [TeacherTrace(index=i, text=f"<answer>{'ABCD'[a]}</answer>" if a is not None else "?",
                             answer_index=a, latency_ms=1.0, prompt_tokens=1, completion_tokens=1)
               for i, a in enumerate(answers)]
    return ReasonResponse(model="m", backend="b", prompt_version="v", sampling=SamplingParams(), traces=samples,
                          consensus=Consensus(policy="unanimous", reached=reached, answer_index=consensus,
                                              agreement=0.5, traces_used=len(answers)))


@pytest.mark.parametrize("answers, consensus, reached, want", [
    ([2, 2, 2], 2, True, 2),  # consensus
    ([1, 1, 3], None, False, 1),  # no unanimity: the plurality
    ([0, 3], None, False, None),  # tied
    ([None, None], None, False, None),  # nothing parsed
    ([None, 3, None], None, False, 3),  # one parsed answer
])
def test_the_teacher_prediction(answers: list[int | None], consensus: int | None, reached: bool,
                                want: int | None) -> None:
    assert teacher_prediction(response(answers, consensus, reached)) == want


def test_plurality_and_skip_reasons() -> None:
    assert plurality([]) is None and plurality([3]) == 3 and plurality([0, 0, 1, 1, 1]) == 1
    assert teacher_skip_reason(4, ["f.jpg"]) is None
    assert teacher_skip_reason(3, ["f.jpg"]) == SKIP_CHOICES
    assert teacher_skip_reason(4, []) == SKIP_NO_FRAMES
    assert teacher_skip_reason(2, None) == SKIP_CHOICES  # choices are checked first


# --- intervals and paired comparisons -------------------------------------------------------------------


def test_every_accuracy_has_a_seeded_interval_around_it() -> None:
    items = [ItemOutcome("a" if i % 2 else "b", i < 30, "tag", strict=i < 20) for i in range(50)]
    first, again = summarize(items), summarize(items)
    assert first == again  # seeded: the same items give the same intervals
    overall = first.overall
    assert (overall.accuracy, overall.strict_accuracy) == (0.6, 0.4)
    assert overall.interval is not None and overall.strict_interval is not None
    assert overall.interval.low < 0.6 < overall.interval.high and overall.interval.high - overall.interval.low < 0.35
    assert overall.strict_interval.low < 0.4 < overall.strict_interval.high
    for category in first.per_category.values():
        assert category.interval is not None and category.n == 25
    assert first.interval_method == "95% percentile bootstrap, 2000 resamples, seed 0"


def test_a_strictly_right_answer_must_be_a_right_tagged_one() -> None:
    with pytest.raises(ValueError, match="strictly right"):
        ItemOutcome("a", True, "letter", strict=True)
    with pytest.raises(ValueError, match="strictly right"):
        ItemOutcome("a", False, "tag", strict=True)


def test_pairs_say_which_differences_are_within_the_noise() -> None:
    questions = [uuid.uuid4() for _ in range(40)]
    weak = {q: (i < 10, i < 10) for i, q in enumerate(questions)}  # 25%
    close = {q: (i < 12, i < 11) for i, q in enumerate(questions)}  # 30%: 2 more right
    strong = {q: (i < 30, i < 28) for i, q in enumerate(questions[:30])} | {q: (False, False) for q in questions[30:]}
    evaluations = [evaluation(label, [ItemOutcome("a", bool(s[0]), "tag", strict=bool(s[1])) for s in m.values()])
                   for label, m in (("weak", weak), ("close", close), ("strong", strong))]
    table = comparison_table(evaluations, [weak, close, strong])
    assert [(p.a, p.b, p.measure) for p in table.pairs][:2] == [(0, 1, "lenient"), (0, 1, "strict")]
    weak_close = table.pairs[0]
    assert (weak_close.n, weak_close.only_a, weak_close.only_b, weak_close.difference) == (40, 0, 2, 0.05)
    assert not weak_close.significant and weak_close.p_value == 0.5
    weak_strong = table.pairs[2]
    assert weak_strong.significant and weak_strong.difference == 0.5
    assert weak_strong.difference_interval is not None and weak_strong.difference_interval.low > 0
    text = render_comparison_markdown(table)
    assert "Differences within the noise" in text and "close vs weak (lenient, +5.0 points)" in text
    assert "Differences beyond the noise: strong vs weak (lenient, +50.0 points)" in text
    partial = comparison_table(evaluations[:2], [weak, dict(list(close.items())[:10])])
    assert partial.pairs[0].n == 10  # only the questions both answered
