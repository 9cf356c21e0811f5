"""Answer parsing: valid, invalid and mixed cases."""

from __future__ import annotations

import pytest

from sightsound.answers.tagged import parse_answer, parse_choice

CHOICES = ["A person speaking", "A dog barking", "Music playing", "Silence"]


class TestValid:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("<answer>A</answer>", 0),
            ("<answer>b</answer>", 1),
            ("<answer> C </answer>", 2),
            ("<ANSWER>d</Answer>", 3),
            ("<answer>(B)</answer>", 1),
            ("<answer>B.</answer>", 1),
            ("<answer>\n  b)\n</answer>", 1),
            ("<answer>1</answer>", 0),  # 1-based index
            ("<answer>4</answer>", 3),
            ("<answer>a dog barking</answer>", 1),
            ("<answer>  Music   PLAYING. </answer>", 2),
            ('<answer>"Silence"</answer>', 3),
            ("<answer>B. A dog barking</answer>", 1),
            ("<answer>(d) silence</answer>", 3),
        ],
    )
    def test_forms(self, text: str, expected: int) -> None:
        assert parse_answer(text, CHOICES) == (expected, None)

    def test_full_sample(self) -> None:
        text = (
            "<think>A man talks.</think>\n<claims>\nsource=person; event=speech; present=yes\n</claims>\n"
            "<answer>A</answer>"
        )
        assert parse_answer(text, CHOICES) == (0, None)

    def test_same_answer_twice_is_fine(self) -> None:
        assert parse_answer("<answer>B</answer> so <answer>2</answer>", CHOICES) == (1, None)


class TestInvalid:
    @pytest.mark.parametrize(
        ("text", "error_part"),
        [
            ("The answer is B", "missing <answer>"),
            ("", "missing <answer>"),
            ("<answer>B", "unclosed <answer>"),
            ("<answer></answer>", "empty"),
            ("<answer>   </answer>", "empty"),
            ("<answer>E</answer>", "letter 'E'"),
            ("<answer>0</answer>", "out of range"),
            ("<answer>5</answer>", "out of range"),
            ("<answer>a cat meowing</answer>", "not a letter"),
            ("<answer>B. Silence</answer>", "not that choice"),
            ("<answer>A</answer><answer>C</answer>", "two different answers: A and C"),
            ("<answer>B</answer><answer>nonsense</answer>", "not a letter"),
        ],
    )
    def test_errors(self, text: str, error_part: str) -> None:
        answer, error = parse_answer(text, CHOICES)
        assert answer is None
        assert error is not None and error_part in error

    def test_long_unknown_answer_is_shortened(self) -> None:
        _, error = parse_answer("<answer>" + "x" * 500 + "</answer>", CHOICES)
        assert error is not None and len(error) < 200


class TestMixed:
    def test_choice_text_that_is_a_digit_is_ambiguous(self) -> None:
        counts = ["2", "3", "4", "5"]
        # "5" is only the text of D (index 5 is out of range): one reading, accepted.
        assert parse_choice("5", counts) == (3, None)
        # "3" is the text of B and the 1-based index of C: refused.
        answer, error = parse_answer("<answer>3</answer>", counts)
        assert answer is None and error is not None and "ambiguous" in error
        assert parse_answer("<answer>A</answer>", counts) == (0, None)

    def test_identical_reading_is_not_ambiguous(self) -> None:
        # Text "1" is choice A and index 1 is choice A: both readings agree.
        assert parse_answer("<answer>1</answer>", ["1", "2", "3", "4"]) == (0, None)

    def test_duplicate_choice_texts(self) -> None:
        answer, error = parse_answer("<answer>same</answer>", ["same", "same", "x", "y"])
        assert answer is None and error is not None

    def test_answer_inside_think_counts(self) -> None:
        text = "<think>maybe <answer>A</answer></think><answer>B</answer>"
        assert parse_answer(text, CHOICES) == (None, "two different answers: A and B")
