"""Structured decoding: every path of the grammar, random logits, and the tiny RANDOM model."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import torch
from transformers import LogitsProcessorList, PreTrainedTokenizerBase

from sightsound.contracts.common import CHOICE_LETTERS
from sightsound_teacher.grammar import (
    CLAIM_MENU,
    Choice,
    Done,
    Free,
    Grammar,
    GrammarError,
    GrammarLogitsProcessor,
    Row,
    compatible,
)
from sightsound_teacher.parsing import parse_answer
from sightsound_teacher.tiny import load_tiny_teacher

CHOICES = ["a", "b", "c", "d"]
ScoresFn = Callable[[int, torch.Generator], torch.Tensor]
CLAIMS_RE = re.compile(r"<claims>\n(.*?)</claims>", re.DOTALL)


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerBase:
    return load_tiny_teacher().tokenizer


@pytest.fixture(scope="module")
def grammar(tokenizer: PreTrainedTokenizerBase) -> Grammar:
    return Grammar.from_tokenizer(tokenizer)


def claim_lines(text: str) -> list[str]:
    match = CLAIMS_RE.search(text)
    assert match, text
    return match.group(1).splitlines()


def feed(grammar: Grammar, row: Row, ids: tuple[int, ...] | list[int]) -> Row:
    """Advance through ``ids``, checking each one is allowed where it is fed."""
    for token in ids:
        allowed = grammar.allowed(row)
        if allowed is None:
            assert token not in grammar.free_banned or token == grammar.think_close[0]
        else:
            assert token in allowed, (token, allowed)
        row = grammar.advance(row, token)
    return row


def all_paths(grammar: Grammar) -> list[tuple[tuple[int, ...], str]]:
    """Every (claims, letter) path the grammar allows, as (claim indices, letter)."""
    paths = []
    for first, option in enumerate(CLAIM_MENU):
        seconds: list[tuple[int, ...]] = [(first,)]
        seconds += [(first, j) for j, other in enumerate(CLAIM_MENU) if compatible(option, other)]
        for claims in seconds:
            paths += [(claims, letter) for letter in CHOICE_LETTERS]
    return paths


class TestPaths:
    def test_every_path_is_accepted_and_parses(self, grammar: Grammar, tokenizer: PreTrainedTokenizerBase) -> None:
        free_text = tokenizer.encode(" I see a man talking.", add_special_tokens=False)
        paths = all_paths(grammar)
        assert len(paths) > 50
        for claims, letter in paths:
            row = grammar.start(budget=len(free_text))
            ids: list[int] = [*grammar.think_open, *free_text, *grammar.think_close]
            for index in claims:
                ids += grammar.claim_lines[index]
            ids += [*grammar.claims_close, *grammar.letters[CHOICE_LETTERS.index(letter)], *grammar.answer_close]
            row = feed(grammar, row, ids)
            assert isinstance(row.state, Choice) and grammar.allowed(row) == {grammar.eos_id}
            row = feed(grammar, row, [grammar.eos_id])
            assert isinstance(row.state, Done) and row.claims == claims
            text = str(tokenizer.decode(ids))
            assert parse_answer(text, CHOICES) == (CHOICE_LETTERS.index(letter), None)
            assert claim_lines(text) == [CLAIM_MENU[i].text for i in claims]

    def test_incompatible_second_claims_are_not_offered(self, grammar: Grammar) -> None:
        row = feed(grammar, grammar.start(0), [*grammar.think_open, *grammar.think_close, *grammar.claim_lines[0]])
        assert isinstance(row.state, Choice)
        labels = {label for label, _ in row.state.candidates}
        assert "claim:1" not in labels and "claim:2" not in labels  # speech=no, silence
        assert {"claims_close", "claim:3", "claim:4", "claim:5"} <= labels

    def test_at_most_two_claim_lines(self, grammar: Grammar) -> None:
        ids = [*grammar.think_open, *grammar.think_close, *grammar.claim_lines[1], *grammar.claim_lines[3]]
        row = feed(grammar, grammar.start(0), ids)
        assert isinstance(row.state, Choice)
        assert [label for label, _ in row.state.candidates] == ["claims_close"]

    def test_free_budget_forces_the_close(self, grammar: Grammar) -> None:
        row = feed(grammar, grammar.start(budget=2), grammar.think_open)
        assert isinstance(row.state, Free) and grammar.allowed(row) is None
        row = feed(grammar, row, [300, 301])
        assert grammar.allowed(row) == {grammar.think_close[0]}
        with pytest.raises(GrammarError):
            grammar.advance(row, 302)

    def test_tags_and_eos_are_banned_in_free_text(self, grammar: Grammar, tokenizer: PreTrainedTokenizerBase) -> None:
        row = feed(grammar, grammar.start(budget=10), grammar.think_open)
        lt = tokenizer.encode("<", add_special_tokens=False)[0]
        for banned in (lt, grammar.eos_id, grammar.think_open[0]):
            with pytest.raises(GrammarError):
                grammar.advance(row, banned)

    def test_budget(self, grammar: Grammar) -> None:
        tail = grammar.tail_tokens()
        assert grammar.free_budget(tail) == 0 and grammar.free_budget(tail + 5) == 5
        with pytest.raises(ValueError, match="too small"):
            grammar.free_budget(tail - 1)

    def test_decoding_the_concatenation_gives_the_exact_text(
        self, grammar: Grammar, tokenizer: PreTrainedTokenizerBase
    ) -> None:
        ids = [*grammar.think_open, *grammar.think_close, *grammar.claim_lines[0], *grammar.claims_close]
        expected = "<think></think>\n<claims>\n" + CLAIM_MENU[0].text + "\n</claims>\n<answer>"
        assert tokenizer.decode(ids) == expected


class TestProcessor:
    def _run(self, grammar: Grammar, scores_fn: ScoresFn, rows: int, max_new_tokens: int, seed: int) -> list[list[int]]:
        """Sample ``rows`` sequences from ``scores_fn`` through the processor, like generate() does."""
        gen = torch.Generator().manual_seed(seed)
        prompt = torch.full((rows, 5), 7, dtype=torch.long)
        processor = GrammarLogitsProcessor(grammar, max_new_tokens)
        ids = prompt
        done = torch.zeros(rows, dtype=torch.bool)
        for _ in range(max_new_tokens):
            scores = scores_fn(rows, gen)
            probs = torch.softmax(processor(ids, scores), dim=-1)  # type: ignore[arg-type]
            nxt = torch.multinomial(probs, 1, generator=gen).squeeze(1)
            nxt = torch.where(done, torch.full_like(nxt, grammar.eos_id), nxt)
            ids = torch.cat([ids, nxt[:, None]], dim=1)
            done |= nxt == grammar.eos_id
            if bool(done.all()):
                break
        assert bool(done.all()), "every row must end within max_new_tokens"
        return [row[5:].tolist() for row in ids]

    @pytest.mark.parametrize("extra", [0, 17])
    def test_random_logits_always_parse(self, grammar: Grammar, tokenizer: PreTrainedTokenizerBase, extra: int) -> None:
        vocab = grammar.vocab_size + 64  # a padded lm_head, as real checkpoints have

        def scores(rows: int, gen: torch.Generator) -> torch.Tensor:
            return torch.randn(rows, vocab, generator=gen) * 3

        for sequence in self._run(grammar, scores, 12, grammar.tail_tokens() + extra, seed=extra):
            end = sequence.index(grammar.eos_id)
            assert all(t < grammar.vocab_size for t in sequence)
            text = str(tokenizer.decode(sequence[:end]))
            answer, error = parse_answer(text, CHOICES)
            assert error is None and answer is not None
            assert 1 <= len(claim_lines(text)) <= 2
            assert text.startswith("<think>") and text.count("<") == 6  # only the format's six tags

    def test_eos_wish_closes_the_reasoning(self, grammar: Grammar) -> None:
        def eos_loving(rows: int, gen: torch.Generator) -> torch.Tensor:
            scores = torch.randn(rows, grammar.vocab_size, generator=gen)
            scores[:, grammar.eos_id] = 50.0
            return scores

        for sequence in self._run(grammar, eos_loving, 4, 200, seed=1):
            # <think> then straight to </think>: the EOS mass went to the close token.
            assert sequence[len(grammar.think_open)] == grammar.think_close[0]

    def test_all_allowed_removed_falls_back_to_uniform(self, grammar: Grammar) -> None:
        processor = GrammarLogitsProcessor(grammar, 100)
        scores = torch.full((1, grammar.vocab_size), float("-inf"))
        out = processor(torch.zeros((1, 3), dtype=torch.long), scores)  # type: ignore[arg-type]
        assert out[0, grammar.think_open[0]] == 0.0 and torch.isfinite(out).sum() == 1


@pytest.mark.parametrize("extra", [0, 40])
def test_tiny_model_output_always_parses(grammar: Grammar, extra: int) -> None:
    """The real model path: generate() on the tiny RANDOM model, K rows, several seeds."""
    tiny = load_tiny_teacher()
    model: Any = tiny.model  # GenerationMixin.generate is loosely typed
    ids = tiny.tokenizer("<|im_start|>user\nWhat is heard?<|im_end|>\n<|im_start|>assistant\n", return_tensors="pt")[
        "input_ids"
    ]
    max_new = grammar.tail_tokens() + extra
    for seed in range(2):
        torch.manual_seed(seed)
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            do_sample=True,
            top_k=0,
            num_return_sequences=6,
            max_new_tokens=max_new,
            logits_processor=LogitsProcessorList([GrammarLogitsProcessor(grammar, max_new)]),
            pad_token_id=tiny.tokenizer.pad_token_id,
        )
        for row in out[:, ids.shape[1] :].tolist():
            assert grammar.eos_id in row
            text = str(tiny.tokenizer.decode(row[: row.index(grammar.eos_id)]))
            answer, error = parse_answer(text, CHOICES)
            assert error is None and answer in range(4), text
            assert 1 <= len(claim_lines(text)) <= 2
            assert all(line in {o.text for o in CLAIM_MENU} for line in claim_lines(text))
