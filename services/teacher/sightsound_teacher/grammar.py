"""Structured decoding for the local backends: the regex of :mod:`sightsound_teacher.regex_format`, compiled
by llguidance (the engine vLLM uses), applied to a Hugging Face ``generate`` as a logits processor.

The texts allowed are exactly those of :func:`~sightsound_teacher.regex_format.format_regex`, the same
regex the ``openai`` backend sends to vLLM: ``<think>`` free text, a claims block of open claim-language
lines, one answer letter. The grammar only *masks* logits; wherever there is a choice (every word of
the reasoning, every key and value of a claim, the letter) the model's own logits choose, so samples
are genuine model output.

What is added here is a *token* budget, so a sample always ends with its answer inside
``max_new_tokens`` (a server gets ``max_tokens`` instead):

- the reasoning may run until ``think_until`` generated tokens; after that the row is steered onto
  ``</think>`` (the first token of the closing text, as long as the matcher accepts that text whole);
- the claims block may run until ``claims_until``; after that the row is steered onto the shortest text
  that ends the line in progress and closes the block (:data:`CLAIMS_ENDINGS`: nothing to add, a closing
  quote, a value, ``=`` and a value, or a whole ``k=x`` pair, then ``</claims>``);
- wherever a single continuation is forced (the closing tags, a row's fixed parts) the canonical tokens
  are taken (llguidance's fast-forward tokens), so the fixed tail costs its normal token count.

The budgets leave room for the tail (:meth:`Grammar.fixed_tokens`); they narrow *when* the model must
stop, never *what* it may write. The model's wish to end the sequence inside the reasoning is moved
onto the first token of ``</think>`` (ending means "close the reasoning").

Per row of the batch a :class:`~sightsound_teacher.regex_format.RowFormat` may fix the start of the
reasoning, the claim lines and the letter (the embedded teacher fixes all three): the row's regex is
then the open regex with those parts fixed, a subset of the open language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import llguidance
import llguidance.hf
import numpy as np
import torch
from transformers import LogitsProcessor, PreTrainedTokenizerBase

from sightsound.contracts.common import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    CLAIMS_CLOSE,
    CLAIMS_OPEN,
    THINK_CLOSE,
    THINK_OPEN,
)
from sightsound_teacher.regex_format import OPEN, RowFormat, format_regex

#: Tokens the claims block may overrun its budget by while the line in progress ends (``=``, ``"``, newline).
OVERRUN_TOKENS = 4
#: Smallest budget of an open claims block (about one short line).
MIN_CLAIM_TOKENS = 12
#: Share of the free tokens reserved for an open claims block (the reasoning gets the rest, and the
#: block may use whatever the reasoning left).
CLAIMS_SHARE = 0.25
#: Once the reasoning's budget is spent: the text that closes it.
THINK_ENDINGS = (f"{THINK_CLOSE}\n{CLAIMS_OPEN}\n",)
#: Once the claims block's budget is spent: the shortest texts that end the line in progress (if any) and
#: close the block, tried in order (the block may be at a line start, after a value, inside a quoted
#: value, after an operator, after a key, after a ``;``).
CLAIMS_ENDINGS = (
    f"{CLAIMS_CLOSE}\n{ANSWER_OPEN}",
    *(f"{head}\n{CLAIMS_CLOSE}\n{ANSWER_OPEN}" for head in ("", '"', "x", "=x", "k=x")),
)


class GrammarError(RuntimeError):
    """The tokenizer cannot express the format, or a row left the grammar (a bug, never bad input)."""


@dataclass(frozen=True)
class Grammar:
    """The format for one tokenizer: llguidance's view of the tokenizer plus what the budgets need.
    Build once per tokenizer (about a second), reuse for every request."""

    lltokenizer: Any  # llguidance.LLTokenizer
    tokenizer: PreTrainedTokenizerBase
    vocab_size: int
    eos_id: int
    think_close_id: int  # the first token of "</think>": the end-of-sequence wish goes there
    open_tokens: int  # "<think>"
    close_tokens: int  # "</think>\n<claims>\n"
    tail_tokens: int  # "</claims>\n<answer>A</answer>" + end of sequence

    @classmethod
    def from_tokenizer(cls, tokenizer: PreTrainedTokenizerBase) -> Grammar:
        eos = tokenizer.eos_token_id
        if not isinstance(eos, int):
            raise GrammarError("the tokenizer has no single eos_token_id")
        try:
            lltok = llguidance.hf.from_tokenizer(tokenizer)  # type: ignore[arg-type]
        except ValueError as exc:
            raise GrammarError(f"structured decoding needs a fast tokenizer: {exc}") from exc

        def count(text: str) -> int:
            ids = [int(i) for i in tokenizer.encode(text, add_special_tokens=False)]
            if not ids or tokenizer.decode(ids) != text:
                raise GrammarError(f"tokenizer does not round-trip {text!r}: structured decoding unavailable")
            return len(ids)

        return cls(
            lltokenizer=lltok,
            tokenizer=tokenizer,
            vocab_size=len(tokenizer),
            eos_id=eos,
            think_close_id=int(tokenizer.encode(THINK_CLOSE, add_special_tokens=False)[0]),
            open_tokens=count(THINK_OPEN),
            close_tokens=count(f"{THINK_CLOSE}\n{CLAIMS_OPEN}\n"),
            tail_tokens=count(f"{CLAIMS_CLOSE}\n{ANSWER_OPEN}A{ANSWER_CLOSE}") + 1,
        )

    # -- sizes ------------------------------------------------------------------------------------

    def fixed_tokens(self) -> int:
        """Tokens of the envelope itself, with the claims block's overrun."""
        return self.open_tokens + self.close_tokens + self.tail_tokens + OVERRUN_TOKENS

    def min_new_tokens(self) -> int:
        """Smallest ``max_new_tokens`` for an open sample (no reasoning, one short claim line)."""
        return self.fixed_tokens() + MIN_CLAIM_TOKENS

    def token_count(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False)) if text else 0

    def budgets(self, max_new_tokens: int, row: RowFormat = OPEN) -> tuple[int, int]:
        """``(think_until, claims_until)``: generated-token positions after which the reasoning, then the
        claims block, are closed. Raises ``ValueError`` when ``max_new_tokens`` cannot hold the row."""
        free = max_new_tokens - self.fixed_tokens()
        if row.claims is not None:
            claims_reserve = sum(self.token_count(line + "\n") for line in row.claims)
        else:
            claims_reserve = max(MIN_CLAIM_TOKENS, int(free * CLAIMS_SHARE))
        think_until = max_new_tokens - self.close_tokens - self.tail_tokens - OVERRUN_TOKENS - claims_reserve
        needed = self.open_tokens + self.token_count(row.think_prefix)
        if think_until < needed:
            shortfall = needed - think_until
            raise ValueError(
                f"max_new_tokens={max_new_tokens} is too small for structured output: "
                f"this sample's format needs at least {max_new_tokens + shortfall} tokens"
            )
        return think_until, max_new_tokens - self.tail_tokens - OVERRUN_TOKENS

    def matcher(self, row: RowFormat = OPEN) -> Any:
        """A fresh llguidance matcher of the row's regex."""
        matcher = llguidance.LLMatcher(self.lltokenizer, llguidance.LLMatcher.grammar_from_regex(format_regex(row)))
        if matcher.is_error():
            raise GrammarError(f"llguidance refused the format: {matcher.get_error()}")
        return matcher

    def only(self, token: int) -> torch.Tensor:
        mask = torch.zeros(self.vocab_size, dtype=torch.bool)
        mask[token] = True
        return mask

    def closing_token(self, matcher: Any, endings: Sequence[str]) -> int | None:
        """The first token of the first of ``endings`` the matcher accepts whole from where it is (``None``
        when none does: the budget then gives way to the grammar, which is never violated)."""
        for ending in endings:
            ids = self.lltokenizer.tokenize_str(ending)
            if ids and matcher.validate_tokens(ids) == len(ids):
                return int(ids[0])
        return None

    def allowed_mask(self, matcher: Any) -> torch.Tensor:
        """Bool mask over the tokenizer's vocabulary of the tokens the matcher allows next."""
        bits = np.unpackbits(np.frombuffer(matcher.compute_bitmask(), dtype=np.uint8), bitorder="little")
        return torch.from_numpy(bits[: self.vocab_size].astype(bool))


@dataclass
class RowState:
    """Where one sequence of the batch is: its matcher, its text so far, its budgets."""

    matcher: Any
    think_until: int
    claims_until: int
    text: str = ""
    generated: int = 0
    done: bool = False

    @property
    def phase(self) -> str:
        if THINK_CLOSE not in self.text:
            return "think"
        return "claims" if CLAIMS_CLOSE not in self.text else "answer"


class GrammarLogitsProcessor(LogitsProcessor):
    """Masks logits so that every row of the batch follows its format (see the module docstring).

    Single use: create one per ``generate`` call. The prompt length is taken from the first call (all
    rows have the same prompt length). Put it *before* temperature / top-p warpers, so they renormalise
    over allowed tokens only. ``rows``: each row's :class:`RowFormat` (``None``: all open).
    """

    def __init__(self, grammar: Grammar, max_new_tokens: int, rows: Sequence[RowFormat] | None = None) -> None:
        self.grammar = grammar
        self.max_new_tokens = max_new_tokens
        self.formats = None if rows is None else tuple(rows)
        for row in self.formats or (OPEN,):
            grammar.budgets(max_new_tokens, row)  # refuse before generating
        self.rows: list[RowState] = []
        self.prompt_len: int | None = None
        self.fed = 0

    def _start(self, batch: int) -> None:
        if self.formats is not None and len(self.formats) != batch:
            raise GrammarError(f"{len(self.formats)} row formats for a batch of {batch} rows")
        formats = self.formats or (OPEN,) * batch
        self.rows = []
        for row in formats:
            think_until, claims_until = self.grammar.budgets(self.max_new_tokens, row)
            self.rows.append(RowState(self.grammar.matcher(row), think_until, claims_until))

    def _advance(self, row: RowState, token: int) -> None:
        row.generated += 1
        if row.done:
            return
        if token == self.grammar.eos_id and row.matcher.is_accepting():
            row.done = True
            return
        if not row.matcher.consume_token(token):
            raise GrammarError(f"token {token} left the grammar: {row.matcher.get_error()}")
        row.text += self.grammar.lltokenizer.decode_str([token])

    def _sync(self, input_ids: torch.Tensor) -> None:
        if self.prompt_len is None:
            self.prompt_len = input_ids.shape[1]
            self._start(input_ids.shape[0])
            self.fed = 0
        if len(self.rows) != input_ids.shape[0]:
            raise GrammarError("batch size changed during generation")
        generated = input_ids.shape[1] - self.prompt_len
        for step in range(self.fed, generated):
            tokens = input_ids[:, self.prompt_len + step].tolist()
            for row, token in zip(self.rows, tokens, strict=True):
                self._advance(row, int(token))
        self.fed = generated

    def allowed(self, row: RowState) -> torch.Tensor:
        """The row's allowed next tokens (bool mask over the vocabulary), budgets applied."""
        grammar = self.grammar
        if row.done:
            return grammar.only(grammar.eos_id)
        forced = row.matcher.compute_ff_tokens()
        if forced:  # one continuation only (a closing tag, a fixed part): take its canonical tokens
            return grammar.only(int(forced[0]))
        phase = row.phase
        if phase == "think" and row.generated >= row.think_until:
            closing = grammar.closing_token(row.matcher, THINK_ENDINGS)
        elif phase == "claims" and row.generated >= row.claims_until:
            closing = grammar.closing_token(row.matcher, CLAIMS_ENDINGS)
        else:
            closing = None
        return grammar.only(closing) if closing is not None else grammar.allowed_mask(row.matcher)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        self._sync(input_ids)
        out = torch.full_like(scores, float("-inf"))
        vocab = min(self.grammar.vocab_size, scores.shape[-1])  # ids past the tokenizer (padded lm_head): banned
        for b, row in enumerate(self.rows):
            mask = self.allowed(row)[:vocab].to(scores.device)
            index = mask.nonzero().squeeze(-1)
            out[b, index] = scores[b, index]
            close, eos = self.grammar.think_close_id, self.grammar.eos_id
            if not row.done and row.phase == "think" and bool(mask[close]) and not bool(mask[eos]):
                # The model's wish to stop becomes a wish to close the reasoning.
                out[b, close] = torch.logaddexp(scores[b, close], scores[b, eos])
            if not torch.isfinite(out[b, index]).any():  # an earlier processor removed them all
                out[b, index] = 0.0
        return out  # type: ignore[return-value]
