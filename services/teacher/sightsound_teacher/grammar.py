"""Structured decoding: constrain a sample to the teacher's output format, token by token.

The format (see ``sightsound.contracts.common``)::

    <think>free text, at most F tokens</think>
    <claims>
    one or two lines from CLAIM_MENU
    </claims>
    <answer>A|B|C|D</answer><eos>

Why: a tiny random model (tests, smoke runs) never writes the format by itself, and a real one
sometimes drifts. The grammar only *masks* logits; wherever there is a choice (which claim line, a
second line or not, which letter, when to stop thinking) the model's own logits choose among the
allowed tokens, so samples stay genuine model output, not canned text.

How:
- Each fixed piece of text is encoded on its own and the ids concatenated, so the decoded sample is
  exactly the concatenated text (checked at build time: the tokenizer must round-trip each piece).
- A choice point is a list of candidate token sequences; the allowed next tokens are the union of the
  next tokens of the candidates still matching what was generated (a token trie). Candidates at one
  choice point must be prefix-free, so a completed candidate is unambiguous.
- Free text may use any token except special tokens and tokens containing ``<`` (so no tag can appear
  inside the reasoning), plus the first token of ``</think>``: choosing it closes the reasoning. The
  model's end-of-sequence probability is moved onto that token, so "I am done" means "close <think>".
  After F free tokens the close is forced.
- State is kept per row of the batch: each of the K sequences of one ``generate`` call has its own.
- The answer letter may be fixed per row (``letters``): the backend chose it beforehand (the embedded
  teacher scores the choices, see :mod:`sightsound_teacher.choice_scoring`), and the grammar then offers
  only that letter inside ``<answer>``, so what the row says is the chosen answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import torch
from transformers import LogitsProcessor, PreTrainedTokenizerBase

from sightsound.contracts.common import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    CHOICE_LETTERS,
    CLAIMS_CLOSE,
    CLAIMS_OPEN,
    THINK_CLOSE,
    THINK_OPEN,
)

MAX_CLAIM_LINES = 2


class GrammarError(RuntimeError):
    """The tokenizer cannot express the format, or a row left the grammar (a bug, never bad input)."""


@dataclass(frozen=True)
class ClaimOption:
    """One line of the claim menu. ``group``: at most one line per group; ``silence``/``sound`` conflict."""

    text: str
    group: str
    asserts_sound: bool = False
    asserts_silence: bool = False


#: The finite claim menu of structured decoding: claims the verifier's analyzers can check.
CLAIM_MENU: tuple[ClaimOption, ...] = (
    ClaimOption("source=person; event=speech; present=yes", "speech", asserts_sound=True),
    ClaimOption("source=person; event=speech; present=no", "speech"),
    ClaimOption("source=scene; event=silence; present=yes", "silence", asserts_silence=True),
    ClaimOption("source=scene; event=sound; loudness=rising", "loudness", asserts_sound=True),
    ClaimOption("source=scene; event=sound; loudness=falling", "loudness", asserts_sound=True),
    ClaimOption("source=scene; event=sound; loudness=steady", "loudness", asserts_sound=True),
)


def compatible(first: ClaimOption, second: ClaimOption) -> bool:
    """Whether ``second`` may follow ``first`` in one claims block (no repeats, no contradictions).

    >>> speech_yes, _, silence, rising = CLAIM_MENU[:4]
    >>> compatible(speech_yes, rising), compatible(speech_yes, silence), compatible(rising, CLAIM_MENU[4])
    (True, False, False)
    """
    if first.group == second.group:
        return False
    return not ((first.asserts_silence and second.asserts_sound) or (first.asserts_sound and second.asserts_silence))


# --- the grammar as data --------------------------------------------------------------------------

Ids = tuple[int, ...]


@dataclass(frozen=True)
class Choice:
    """A choice point: candidates ``(label, token ids)`` and the ids consumed since it started."""

    candidates: tuple[tuple[str, Ids], ...]
    consumed: Ids = ()

    def matching(self) -> list[tuple[str, Ids]]:
        n = len(self.consumed)
        return [(label, ids) for label, ids in self.candidates if ids[:n] == self.consumed]

    def allowed(self) -> set[int]:
        n = len(self.consumed)
        return {ids[n] for _, ids in self.matching() if len(ids) > n}


@dataclass(frozen=True)
class Free:
    """Free text: ``used`` tokens so far, at most ``budget``."""

    used: int
    budget: int


@dataclass(frozen=True)
class Done:
    """End of sequence was produced; later tokens (padding) are ignored."""


State = Choice | Free | Done


@dataclass(frozen=True)
class Row:
    """Where one sequence is in the grammar, the claim lines it chose so far, its free budget F, and the
    answer letter it must give (``None``: any letter, the model's logits choose)."""

    state: State
    claims: tuple[int, ...] = ()
    budget: int = 0
    letter: int | None = None


@dataclass(frozen=True)
class Grammar:
    """Tokenized pieces of the format for one tokenizer; build once, reuse for every request."""

    think_open: Ids
    think_close: Ids  # "</think>\n<claims>\n"
    claim_lines: tuple[Ids, ...]  # each menu line + "\n"
    claims_close: Ids  # "</claims>\n<answer>"
    letters: tuple[Ids, ...]
    answer_close: Ids
    eos_id: int
    vocab_size: int
    free_banned: frozenset[int] = field(default_factory=frozenset)
    menu: tuple[ClaimOption, ...] = CLAIM_MENU

    @classmethod
    def from_tokenizer(cls, tokenizer: PreTrainedTokenizerBase, menu: Sequence[ClaimOption] = CLAIM_MENU) -> Grammar:
        eos = tokenizer.eos_token_id
        if not isinstance(eos, int):
            raise GrammarError("the tokenizer has no single eos_token_id")

        def enc(text: str) -> Ids:
            ids = tuple(int(i) for i in tokenizer.encode(text, add_special_tokens=False))
            if not ids or tokenizer.decode(list(ids)) != text:
                raise GrammarError(f"tokenizer does not round-trip {text!r}: structured decoding unavailable")
            return ids

        vocab = len(tokenizer)
        pieces = tokenizer.batch_decode([[i] for i in range(vocab)])
        special = {int(i) for i in tokenizer.all_special_ids}
        banned = frozenset(i for i, piece in enumerate(pieces) if "<" in piece or i in special)
        grammar = cls(
            think_open=enc(THINK_OPEN),
            think_close=enc(f"{THINK_CLOSE}\n{CLAIMS_OPEN}\n"),
            claim_lines=tuple(enc(option.text + "\n") for option in menu),
            claims_close=enc(f"{CLAIMS_CLOSE}\n{ANSWER_OPEN}"),
            letters=tuple(enc(letter) for letter in CHOICE_LETTERS),
            answer_close=enc(ANSWER_CLOSE),
            eos_id=eos,
            vocab_size=vocab,
            free_banned=banned | {eos},
            menu=tuple(menu),
        )
        grammar._check_prefix_free()
        return grammar

    # -- sizes ------------------------------------------------------------------------------------

    def tail_tokens(self) -> int:
        """Most tokens the format needs besides free text."""
        longest_line = max(len(line) for line in self.claim_lines)
        return (
            len(self.think_open)
            + len(self.think_close)
            + MAX_CLAIM_LINES * longest_line
            + len(self.claims_close)
            + max(len(letter) for letter in self.letters)
            + len(self.answer_close)
            + 1
        )

    def free_budget(self, max_new_tokens: int) -> int:
        """Free-text tokens that fit in ``max_new_tokens`` with the longest tail (F)."""
        budget = max_new_tokens - self.tail_tokens()
        if budget < 0:
            raise ValueError(
                f"max_new_tokens={max_new_tokens} is too small for structured output: "
                f"the format alone needs up to {self.tail_tokens()} tokens"
            )
        return budget

    # -- transitions (pure) -----------------------------------------------------------------------

    def start(self, budget: int, letter: int | None = None) -> Row:
        """A row at the start of the completion, allowed ``budget`` free-text tokens; ``letter`` (an index
        into the choice letters) forces the answer."""
        if letter is not None and not 0 <= letter < len(self.letters):
            raise ValueError(f"letter index {letter} is not one of 0..{len(self.letters) - 1}")
        return Row(Choice((("think_open", self.think_open),)), budget=budget, letter=letter)

    def allowed(self, row: Row) -> set[int] | None:
        """Allowed next ids, or ``None`` for free text (everything not in ``free_banned``)."""
        state = row.state
        if isinstance(state, Free):
            return None if state.used < state.budget else {self.think_close[0]}
        if isinstance(state, Done):
            return {self.eos_id}
        return state.allowed()

    def advance(self, row: Row, token: int) -> Row:
        """The row after ``token``. Raises ``GrammarError`` when the token was not allowed."""
        state = row.state
        if isinstance(state, Done):
            return row
        if isinstance(state, Free):
            if token == self.think_close[0]:  # closing the reasoning, by choice or forced
                return self._after_consumed(row, Choice((("think_close", self.think_close),), (token,)))
            if state.used >= state.budget or token in self.free_banned:
                raise GrammarError(f"token {token} is not allowed in free text")
            return replace(row, state=Free(state.used + 1, state.budget))
        if token not in state.allowed():
            raise GrammarError(f"token {token} is not allowed here (allowed: {sorted(state.allowed())[:8]})")
        return self._after_consumed(row, Choice(state.candidates, (*state.consumed, token)))

    def _after_consumed(self, row: Row, choice: Choice) -> Row:
        complete = [label for label, ids in choice.matching() if ids == choice.consumed]
        if not complete:
            return replace(row, state=choice)
        return self._next(row, complete[0])

    def _next(self, row: Row, label: str) -> Row:
        """The row that follows a completed candidate ``label``."""
        if label == "think_open":
            return replace(row, state=Free(0, row.budget))
        if label == "think_close":
            lines = tuple((f"claim:{i}", ids) for i, ids in enumerate(self.claim_lines))
            return replace(row, state=Choice(lines))
        if label.startswith("claim:"):
            claims = (*row.claims, int(label.split(":")[1]))
            options: list[tuple[str, Ids]] = [("claims_close", self.claims_close)]
            if len(claims) < MAX_CLAIM_LINES:
                chosen = [self.menu[i] for i in claims]
                options += [
                    (f"claim:{i}", ids)
                    for i, ids in enumerate(self.claim_lines)
                    if all(compatible(c, self.menu[i]) for c in chosen)
                ]
            return replace(row, state=Choice(tuple(options)), claims=claims)
        if label == "claims_close":
            letters = tuple((f"letter:{i}", ids) for i, ids in enumerate(self.letters) if row.letter in (None, i))
            return replace(row, state=Choice(letters))
        if label.startswith("letter:"):
            return replace(row, state=Choice((("answer_close", self.answer_close),)))
        if label == "answer_close":
            return replace(row, state=Choice((("eos", (self.eos_id,)),)))
        if label == "eos":
            return replace(row, state=Done())
        raise GrammarError(f"unknown label {label!r}")

    def _check_prefix_free(self) -> None:
        groups: list[Sequence[Ids]] = [
            [*self.claim_lines, self.claims_close],
            self.letters,
        ]
        for group in groups:
            for a in group:
                for b in group:
                    if a is not b and b[: len(a)] == a:
                        raise GrammarError("choice candidates are not prefix-free for this tokenizer")


class GrammarLogitsProcessor(LogitsProcessor):
    """Masks logits so that every row of the batch follows :class:`Grammar`.

    Single use: create one per ``generate`` call. The prompt length is taken from the first call
    (all rows have the same prompt length). Put it *before* temperature / top-p warpers, so they
    renormalise over allowed tokens only. ``letters``: the answer letter index each row must give,
    one per row of the batch (``None``: the model chooses).
    """

    def __init__(self, grammar: Grammar, max_new_tokens: int, letters: Sequence[int] | None = None) -> None:
        self.grammar = grammar
        self.budget = grammar.free_budget(max_new_tokens)
        self.letters = None if letters is None else tuple(letters)
        self.rows: list[Row] = []
        self.prompt_len: int | None = None
        self.fed = 0
        self._free_mask: torch.Tensor | None = None

    def _mask_for(self, scores: torch.Tensor) -> torch.Tensor:
        if self._free_mask is None or self._free_mask.shape[0] != scores.shape[-1]:
            mask = torch.zeros(scores.shape[-1], dtype=torch.bool)
            mask[: self.grammar.vocab_size] = True  # ids past the tokenizer (padded lm_head) are banned
            banned = torch.tensor(sorted(self.grammar.free_banned), dtype=torch.long)
            mask[banned[banned < scores.shape[-1]]] = False
            self._free_mask = mask.to(scores.device)
        return self._free_mask

    def _sync(self, input_ids: torch.Tensor) -> None:
        if self.prompt_len is None:
            self.prompt_len = input_ids.shape[1]
            if self.letters is not None and len(self.letters) != input_ids.shape[0]:
                raise GrammarError(f"{len(self.letters)} forced letters for a batch of {input_ids.shape[0]} rows")
            letters = self.letters or (None,) * input_ids.shape[0]
            self.rows = [self.grammar.start(self.budget, letter) for letter in letters]
            self.fed = 0
        if len(self.rows) != input_ids.shape[0]:
            raise GrammarError("batch size changed during generation")
        generated = input_ids.shape[1] - self.prompt_len
        for step in range(self.fed, generated):
            tokens = input_ids[:, self.prompt_len + step].tolist()
            self.rows = [self.grammar.advance(row, int(t)) for row, t in zip(self.rows, tokens, strict=True)]
        self.fed = generated

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        self._sync(input_ids)
        out = torch.full_like(scores, float("-inf"))
        for b, row in enumerate(self.rows):
            allowed = self.grammar.allowed(row)
            if allowed is None:  # free text
                mask = self._mask_for(scores)
                out[b] = scores[b].masked_fill(~mask, float("-inf"))
                close = self.grammar.think_close[0]
                # The model's wish to stop becomes a wish to close the reasoning.
                out[b, close] = torch.logaddexp(scores[b, close], scores[b, self.grammar.eos_id])
            else:
                index = torch.tensor(sorted(allowed), dtype=torch.long, device=scores.device)
                out[b, index] = scores[b, index]
                if not torch.isfinite(out[b, index]).any():  # an earlier processor removed them all
                    out[b, index] = 0.0
        return out  # type: ignore[return-value]
