"""The GRPO rewards, grouped as TRL groups its reward tests: valid, invalid and mixed completions."""

from __future__ import annotations

import pytest

from sightsound.contracts.training import GRPOHyperparameters
from sightsound_trainer.rewards import accuracy_reward, answer_letter, format_reward, reward_parts, total_reward

VALID = [
    ("<think>A man talks.</think><answer>A</answer>", 0),
    ("<think>A steady beep.</think>\n<answer>B</answer>", 1),
    ("<think>\nmultiline\nreasoning\n</think> <answer> C </answer>\n", 2),
]
#: Well formed without reasoning: earns the format reward only where the answer-only form is allowed.
ANSWER_ONLY = ["<answer>D</answer>", " <answer> B </answer>\n"]

INVALID = [
    "",
    "A",
    "The answer is A.",
    "<think>only reasoning</think>",
    "<think></think><answer>A</answer>",  # empty reasoning is no reasoning
    "<think> \n </think><answer>A</answer>",
    "<answer></answer>",
    "<answer>E</answer>",
    "<answer>a</answer>",
    "<answer>A person speaking</answer>",  # the choice's text instead of its letter
    "<answer>A</answer><answer>B</answer>",  # two answers: hedging
    "<answer>A</answer><answer>A</answer>",  # two answers, even when they agree
    "<answer>A",
    "A</answer>",
]


@pytest.mark.parametrize(("completion", "gold"), VALID)
def test_valid_completions_earn_both_rewards(completion: str, gold: int) -> None:
    assert format_reward(completion) == 1.0
    assert accuracy_reward(completion, gold) == 1.0
    assert accuracy_reward(completion, (gold + 1) % 4) == 0.0
    assert total_reward(completion, gold, 1.0, 0.5) == 1.5


@pytest.mark.parametrize("completion", ANSWER_ONLY)
def test_an_answer_without_reasoning_earns_the_format_reward_only_when_allowed(completion: str) -> None:
    assert format_reward(completion) == 0.0
    assert format_reward(completion, require_reasoning=False) == 1.0
    assert accuracy_reward(completion, "ABCD".index(answer_letter(completion) or "A")) == 1.0


def test_the_grpo_settings_require_reasoning_unless_told_otherwise() -> None:
    assert GRPOHyperparameters().require_reasoning is True
    assert GRPOHyperparameters(require_reasoning=False).require_reasoning is False


@pytest.mark.parametrize("completion", INVALID)
def test_invalid_completions_earn_no_accuracy(completion: str) -> None:
    if "<think>" not in completion or "</think>" not in completion:
        assert answer_letter(completion) is None
        assert all(accuracy_reward(completion, gold) == 0.0 for gold in range(4))
    assert format_reward(completion) == 0.0
    assert format_reward(completion, require_reasoning=False) == 0.0 or completion.startswith("<think>")


@pytest.mark.parametrize(
    ("completion", "accuracy", "fmt"),
    [
        # Right answer, but text after the answer: accuracy yes, format no.
        ("<think>voice</think><answer>A</answer> I am sure.", 1.0, 0.0),
        # Text before the reasoning.
        ("Let me think. <think>voice</think><answer>A</answer>", 1.0, 0.0),
        # Two reasoning blocks.
        ("<think>a</think><think>b</think><answer>A</answer>", 1.0, 0.0),
        # Missing reasoning tags around the reasoning.
        ("a voice is heard <answer>A</answer>", 1.0, 0.0),
        # Well formed but wrong.
        ("<think>a beep</think><answer>B</answer>", 0.0, 1.0),
        # Unclosed reasoning: the answer still counts, the format does not.
        ("<think>unclosed<answer>A</answer>", 1.0, 0.0),
        # Nested answer tag inside the reasoning makes two answers.
        ("<think>maybe <answer>B</answer></think><answer>A</answer>", 0.0, 0.0),
    ],
)
def test_mixed_completions_score_each_reward_on_its_own(completion: str, accuracy: float, fmt: float) -> None:
    assert accuracy_reward(completion, 0) == accuracy
    assert format_reward(completion) == fmt


def test_rewards_are_bounded_and_pure() -> None:
    completion = "<think>x</think><answer>A</answer>"
    first = [accuracy_reward(completion, 0), format_reward(completion)]
    assert first == [accuracy_reward(completion, 0), format_reward(completion)] == [1.0, 1.0]
    for text in [c for c, _ in VALID] + INVALID:
        assert 0.0 <= accuracy_reward(text, 0) <= 1.0 and 0.0 <= format_reward(text) <= 1.0


def test_one_total_reward_weighs_the_parts() -> None:
    parts = reward_parts("<think>a beep</think><answer>B</answer>", 1, accuracy_weight=2.0, format_weight=0.5)
    assert parts == (1.0, 1.0, 2.5)
    assert total_reward("<think>a beep</think><answer>B</answer>", 1, 2.0, 0.5) == 2.5
    assert reward_parts("<answer>B</answer>", 1) == (1.0, 0.0, 1.0)
    assert reward_parts("<answer>B</answer>", 1, require_reasoning=False) == (1.0, 1.0, 2.0)
