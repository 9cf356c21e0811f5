"""Snapshot records from accepted traces (pure): targets per variant, filters, counts, provenance."""

from __future__ import annotations

import uuid

from sightsound.contracts.training import DatasetFilters
from sightsound.db.models import Split
from sightsound.snapshot.records import TraceRow, build_records
from sightsound_trainer.rewards import accuracy_reward, format_reward

CHOICES = ["Speech", "A tone", "A dog", "Music"]


def row(trace_id: int, question: int, answer: int | None, gold: int | None = 0, *,
        text: str | None = None, policy: str = "contradiction>=0.60", model: str = "vlm-a") -> TraceRow:
    qid = uuid.UUID(int=question)
    letter = "ABCD"[answer] if answer is not None else "?"
    return TraceRow(
        trace_id=trace_id, text=text if text is not None else f"<think>trace {trace_id}</think>\n<claims>\n"
        f"source=person; event=speech\n</claims>\n<answer>{letter}</answer>", trace_answer=answer,
        teacher_model=model, prompt_version="audio-cot-v1", policy=policy, agreement=1.0, consensus=answer,
        question_id=qid, question="What is heard?", choices=CHOICES, gold=gold, category="sound",
        split=Split.train, clip_id=qid, audio_url=f"file:///media/audio/{question}.wav",
    )


def test_cot_records_are_the_teachers_reasoning_and_answer_in_the_student_format() -> None:
    built = build_records([row(1, 1, 0), row(2, 1, 0), row(3, 2, 1, gold=None)], "cot", DatasetFilters())
    first = built.records[0]
    assert first.target == "<think>trace 1</think><answer>A</answer>"
    assert format_reward(first.target) == 1.0 and accuracy_reward(first.target, first.answer_index) == 1.0
    assert first.audio_path == "/media/audio/1.wav" and "<answer></answer>" in first.prompt
    no_gold = built.records[2]
    assert no_gold.answer_index == 1 and no_gold.answer_source == "consensus"
    assert built.counts["skipped"] == {} and built.counts["records"] == 3
    assert built.counts["questions"] == 2 and built.counts["by_answer"] == {"A": 2, "B": 1}
    assert built.provenance["teacher_models"] == ["vlm-a"] and built.trace_ids == [1, 2, 3]


def test_label_only_has_one_record_per_question_with_the_teachers_answer() -> None:
    rows = [row(1, 1, 2, gold=0), row(2, 1, 2, gold=0), row(3, 2, 3, gold=None)]
    built = build_records(rows, "label-only", DatasetFilters())
    assert [r.target for r in built.records] == ["<answer>C</answer>", "<answer>D</answer>"]
    assert all(r.trace_id is None and r.label_source == "teacher" for r in built.records)
    assert built.counts["questions"] == 2 and built.counts["label_source"] == {"teacher": 2}
    assert built.records[0].answer_index == 0  # the GRPO reward answer stays the gold one
    assert "Answer with the letter" in built.records[0].prompt


def test_gold_label_takes_the_gold_answer_where_there_is_one() -> None:
    built = build_records([row(1, 1, 2, gold=0), row(3, 2, 3, gold=None)], "gold-label", DatasetFilters())
    assert [r.target for r in built.records] == ["<answer>A</answer>", "<answer>D</answer>"]
    assert [r.label_source for r in built.records] == ["gold", "teacher"]
    assert built.counts["label_source"] == {"gold": 1, "teacher": 1}
    assert built.provenance["label_source"] == "gold"


def test_filters_and_skips_are_counted() -> None:
    rows = [
        row(1, 1, 0, gold=0, policy="contradiction>=0.60+strict"),
        row(2, 2, 1, gold=0),  # wrong answer
        row(3, 3, 0, gold=None),  # no gold
        row(4, 4, 0, text="<answer>A</answer>"),  # no reasoning
        row(5, 5, None),  # no answer
    ]
    assert [r.trace_id for r in build_records(rows, "cot", DatasetFilters(strict_only=True)).records] == [1]
    matched = build_records(rows, "cot", DatasetFilters(match_gold=True))
    assert [r.trace_id for r in matched.records] == [1] and matched.counts["skipped"]["filtered"] == 3
    plain = build_records(rows, "cot", DatasetFilters())
    assert plain.counts["skipped"] == {"no_reasoning": 1, "no_answer": 1}
    assert build_records(rows, "cot", DatasetFilters(max_records=2)).counts["records"] == 2
    assert build_records([row(4, 4, 0, text="<answer>A</answer>")], "cot", DatasetFilters()).records == []
