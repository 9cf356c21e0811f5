"""The embedded teacher's answer as a pure function of the choices' log-probabilities, and the grammar's
forced answer slot (no model loaded here; the model side is in test_embedded.py)."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import torch
from transformers import PreTrainedTokenizerBase

from sightsound.answers.tagged import parse_answer
from sightsound_teacher.choice_scoring import (
    ChoiceScores,
    calibrated_scores,
    choice_distribution,
    draw_choices,
    evidence_labels,
    scoring_context,
)
from sightsound_teacher.grammar import Grammar, GrammarError, GrammarLogitsProcessor
from sightsound_teacher.regex_format import RowFormat
from sightsound_teacher.tagger import Tag
from sightsound_teacher.tiny import load_tiny_teacher


class TestDistribution:
    def test_probabilities_follow_the_scores(self) -> None:
        probs = choice_distribution([-1.0, 0.5, -3.0, 0.0], temperature=0.7)
        assert sum(probs) == pytest.approx(1.0)
        assert sorted(range(4), key=lambda i: -probs[i]) == [1, 3, 0, 2]
        assert probs[1] / probs[3] == pytest.approx(np.exp(0.5 / 0.7))

    def test_temperature_sharpens_and_flattens(self) -> None:
        scores = [0.2, 0.0, -0.1, 0.1]
        cold, warm, hot = (choice_distribution(scores, t)[0] for t in (0.05, 0.7, 50.0))
        assert cold > 0.85 and cold > warm > hot and hot == pytest.approx(0.25, abs=0.01)

    def test_greedy_puts_all_mass_on_the_best_score(self) -> None:
        assert choice_distribution([0.1, 2.0, -1.0, 1.9], temperature=0.0) == [0.0, 1.0, 0.0, 0.0]

    def test_top_p_keeps_the_nucleus(self) -> None:
        probs = choice_distribution([3.0, 2.0, 0.0, -5.0], temperature=1.0, top_p=0.8)
        assert probs[2] == probs[3] == 0.0 and probs[0] > probs[1] > 0 and sum(probs) == pytest.approx(1.0)
        # The most probable choice is always kept, even when it alone exceeds top_p.
        assert choice_distribution([9.0, 0.0, 0.0, 0.0], 1.0, top_p=0.1) == [1.0, 0.0, 0.0, 0.0]

    @pytest.mark.parametrize(
        ("scores", "temperature", "top_p"),
        [([], 1.0, 1.0), ([0.0, float("nan")], 1.0, 1.0), ([0.0], -1.0, 1.0), ([0.0], 1.0, 0.0)],
    )
    def test_bad_input_is_refused(self, scores: list[float], temperature: float, top_p: float) -> None:
        with pytest.raises(ValueError):
            choice_distribution(scores, temperature, top_p)


class TestDraws:
    def test_same_seed_same_letters_other_seed_other_letters(self) -> None:
        probs = [0.25, 0.25, 0.25, 0.25]
        assert draw_choices(probs, 16, seed=3) == draw_choices(probs, 16, seed=3)
        assert draw_choices(probs, 16, seed=3) != draw_choices(probs, 16, seed=4)

    def test_the_salt_decorrelates_requests_that_share_a_seed(self) -> None:
        """The pipeline sends one seed with every request: two requests (salts) must not draw the same
        random numbers, or flat distributions would give the same letters everywhere."""
        probs = [0.25, 0.25, 0.25, 0.25]
        by_salt = {salt: draw_choices(probs, 2, seed=0, salt=salt) for salt in map(str, range(40))}
        assert by_salt["7"] == draw_choices(probs, 2, seed=0, salt="7")
        assert len(set(map(tuple, by_salt.values()))) >= 8
        firsts = collections.Counter(letters[0] for letters in by_salt.values())
        assert len(firsts) == 4 and max(firsts.values()) <= 20

    def test_draws_follow_the_distribution(self) -> None:
        probs = [0.1, 0.6, 0.0, 0.3]
        counts = collections.Counter(draw_choices(probs, 6000, seed=0))
        assert counts[2] == 0
        for index, p in enumerate(probs):
            assert counts[index] / 6000 == pytest.approx(p, abs=0.02)

    def test_clear_evidence_agrees_weak_evidence_disagrees(self) -> None:
        """K=8 rows: one clearly best choice gives (almost) one letter; equal scores spread the letters."""
        clear = draw_choices(choice_distribution([4.0, 0.0, 0.0, 0.0], 0.7), 8, seed=1)
        weak = draw_choices(choice_distribution([0.05, 0.0, 0.02, 0.01], 0.7), 8, seed=1)
        assert clear == [0] * 8
        assert len(set(weak)) >= 3

    @pytest.mark.parametrize("probs", [[0.5, 0.6], [-0.1, 1.1], [[0.5, 0.5]]])
    def test_not_a_distribution(self, probs: list[float]) -> None:
        with pytest.raises(ValueError):
            draw_choices(probs, 2, seed=0)


class TestScores:
    def test_the_letter_follows_what_the_labels_add(self) -> None:
        """Choice 0 is the most likely after the labels, but just as likely with no labels at all (a
        frequent phrase); choice 2 is what the labels make likely: the calibrated scores pick 2."""
        scores = ChoiceScores(("tabby",), with_labels=(-1.0, -2.5, -1.4, -3.0), content_free=(-1.0, -2.6, -2.9, -3.1))
        assert scores.scores == pytest.approx([0.0, 0.1, 1.5, 0.1])
        probs = choice_distribution(scores.scores, temperature=0.7)
        assert max(range(4), key=lambda i: probs[i]) == 2
        assert draw_choices(choice_distribution(scores.scores, 0.0), 3, seed=0) == [2, 2, 2]

    def test_calibration_needs_matching_lengths(self) -> None:
        assert calibrated_scores([-1.0, -2.0], [-2.0, -2.0]) == [1.0, 0.0]
        with pytest.raises(ValueError):
            calibrated_scores([-1.0], [-1.0, -2.0])

    def test_evidence_labels_rank_by_mean_probability_over_frames(self) -> None:
        frames = [
            [Tag("wall clock", 0.5), Tag("bubble", 0.3)],
            [Tag("bubble", 0.6), Tag("spotlight", 0.1)],
            [Tag("wall clock", 0.4), Tag("spotlight", 0.3)],
        ]
        assert evidence_labels(frames, 2) == ["wall clock", "bubble"]  # 0.9 and 0.9: ties by name
        assert evidence_labels(frames, 5) == ["wall clock", "bubble", "spotlight"]

    def test_contexts_differ_only_by_the_labels(self) -> None:
        with_labels = scoring_context(["tabby", "tiger cat"], " What is heard? ")
        content_free = scoring_context([], "What is heard?")
        assert with_labels.startswith("The frames show: tabby, tiger cat.\n")
        assert content_free.startswith("The frames show: nothing.\n")
        assert with_labels.split("\n")[1:] == content_free.split("\n")[1:]


# --- the grammar's answer slot ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerBase:
    return load_tiny_teacher().tokenizer


@pytest.fixture(scope="module")
def grammar(tokenizer: PreTrainedTokenizerBase) -> Grammar:
    return Grammar.from_tokenizer(tokenizer)


class TestForcedLetter:
    def test_the_answer_slot_admits_only_the_forced_letter(
        self, grammar: Grammar, tokenizer: PreTrainedTokenizerBase
    ) -> None:
        head = "<think>x</think>\n<claims>\nsource=dog; event=bark\n</claims>\n<answer>"
        for letter in "ABCD":
            for said in "ABCD":
                matcher = grammar.matcher(RowFormat(letter=letter))
                ids = tokenizer.encode(head + said + "</answer>", add_special_tokens=False)
                assert (matcher.consume_tokens(ids) and matcher.is_accepting()) == (said == letter)

    def test_a_letter_out_of_range_is_refused(self) -> None:
        with pytest.raises(ValueError, match="answer letter"):
            RowFormat(letter="E")

    def test_processor_forces_each_rows_letter_whatever_the_logits(
        self, grammar: Grammar, tokenizer: PreTrainedTokenizerBase
    ) -> None:
        letters = [3, 0, 2, 2, 1, 3]
        max_new = grammar.min_new_tokens() + 6
        processor = GrammarLogitsProcessor(grammar, max_new, [RowFormat(letter="ABCD"[i]) for i in letters])
        letter_a = int(tokenizer.encode("A", add_special_tokens=False)[0])
        gen = torch.Generator().manual_seed(0)
        ids = torch.full((len(letters), 4), 7, dtype=torch.long)
        for _ in range(max_new):
            scores = torch.randn(len(letters), grammar.vocab_size, generator=gen) * 3
            # The model would rather say A everywhere: the mask must still win.
            scores[:, letter_a] = 100.0
            probs = torch.softmax(processor(ids, scores), dim=-1)  # type: ignore[arg-type]
            ids = torch.cat([ids, torch.multinomial(probs, 1, generator=gen)], dim=1)
        answers = []
        for row in ids[:, 4:].tolist():
            text = str(tokenizer.decode(row[: row.index(grammar.eos_id)]))
            answers.append(parse_answer(text, ["a", "b", "c", "d"]))
        assert answers == [(letter, None) for letter in letters]

    def test_one_format_per_row(self, grammar: Grammar) -> None:
        processor = GrammarLogitsProcessor(grammar, grammar.min_new_tokens(), [RowFormat(), RowFormat()])
        with pytest.raises(GrammarError, match="2 row formats for a batch of 3"):
            processor(torch.zeros((3, 2), dtype=torch.long), torch.zeros((3, grammar.vocab_size)))  # type: ignore[arg-type]
