"""Teacher backend on Hugging Face transformers: Qwen2-VL / Qwen2.5-VL family, or the tiny random model.

- ``model_id`` is a local model folder or a hub id (hub loading only works where the hub is reachable),
  loaded in bfloat16 on GPU and float32 on CPU; or ``tiny-random``: a tiny Qwen2.5-VL with RANDOM
  weights (:mod:`sightsound_teacher.tiny`) whose output is noise, for tests and smoke runs.
- Frames are processed as *images* by ``Qwen2VLImageProcessorPil`` (Pillow only): transformers'
  Qwen-VL video processor needs torchvision, which is not installable beside the CPU torch used here.
  The prompt's image placeholders are expanded to each image's number of vision tokens here, which is
  what ``Qwen2_5_VLProcessor`` would do, without needing its video half.
- The K samples come from ONE ``generate`` call (``num_return_sequences=K``). transformers encodes the
  images once and expands the vision features to the K rows, so the vision tower runs once per request.
- Sampling follows the request exactly: ``temperature``, ``top_p`` and ``top_k=0`` (off) override the
  model's generation defaults. Qwen-VL checkpoints ship ``top_k=1``-like defaults that would make the K
  samples identical and self-consistency meaningless. ``temperature=0`` means greedy: one sequence is
  decoded and repeated K times (greedy decoding would give K identical sequences anyway).
- ``seed`` reseeds torch's global RNG under the model lock, so a seeded request is reproducible on the
  same machine and software.
- With ``structured=True`` a :class:`~sightsound_teacher.grammar.GrammarLogitsProcessor` constrains the
  output format; nothing else is suppressed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import torch
from PIL import Image
from transformers import (
    AutoModelForImageTextToText,
    AutoTokenizer,
    LogitsProcessorList,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Qwen2VLImageProcessorPil,
)

from sightsound.contracts.teacher import ReasonRequest
from sightsound_teacher.backends.base import BackendInputError, Generation
from sightsound_teacher.grammar import Grammar, GrammarError, GrammarLogitsProcessor
from sightsound_teacher.prompt import IMAGE_PAD, build_messages, flatten_messages
from sightsound_teacher.tiny import TINY_MAX_PIXELS, TINY_MIN_PIXELS, TINY_MODEL_ID, load_tiny_teacher

log = logging.getLogger("sightsound.teacher")


@dataclass(frozen=True)
class LoadedModel:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    image_processor: Qwen2VLImageProcessorPil
    device: torch.device
    image_token_id: int
    eos_ids: tuple[int, ...]
    #: One generate at a time per model: backends sharing the model share the lock (the model keeps
    #: per-call state, e.g. Qwen-VL's ``rope_deltas``).
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@lru_cache(maxsize=2)
def load_model(model_id: str, device: str = "auto") -> LoadedModel:
    """Load once per process (per model and device): every app in the process shares it."""
    target = resolve_device(device)
    model: PreTrainedModel
    if model_id == TINY_MODEL_ID:
        tiny = load_tiny_teacher()
        model, tokenizer = tiny.model, tiny.tokenizer
        image_processor = Qwen2VLImageProcessorPil(min_pixels=TINY_MIN_PIXELS, max_pixels=TINY_MAX_PIXELS)
        model = model.to(target)  # type: ignore[arg-type]  # transformers types .to() loosely
    else:
        dtype = torch.bfloat16 if target.type == "cuda" else torch.float32
        log.info("loading teacher %s on %s (%s)", model_id, target, dtype)
        tokenizer = AutoTokenizer.from_pretrained(model_id)
        image_processor = Qwen2VLImageProcessorPil.from_pretrained(model_id)
        model = AutoModelForImageTextToText.from_pretrained(model_id, dtype=dtype)
        model = model.to(target)  # type: ignore[arg-type]
    model.eval()  # type: ignore[no-untyped-call]
    image_token_id = getattr(model.config, "image_token_id", None)
    if not isinstance(image_token_id, int):
        raise ValueError(f"{model_id} is not a Qwen-VL style model: its config has no image_token_id")
    eos: set[int] = set()
    for source in (model.generation_config.eos_token_id, tokenizer.eos_token_id):
        if isinstance(source, int):
            eos.add(source)
        elif source is not None:
            eos.update(int(i) for i in source)
    return LoadedModel(model, tokenizer, image_processor, target, image_token_id, tuple(sorted(eos)))


class TransformersBackend:
    """See the module docstring. Thread-safe: one ``generate`` runs at a time per loaded model."""

    name = "transformers"

    def __init__(self, model_id: str, *, device: str = "auto", structured: bool = True) -> None:
        self.model_id = model_id
        self.device = device
        self.structured = structured
        self._loaded: LoadedModel | None = None
        self._grammar: Grammar | None = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self._loaded is not None

    def load(self) -> None:
        with self._lock:
            if self._loaded is not None:
                return
            loaded = load_model(self.model_id, self.device)
            if self.structured:
                self._grammar = _grammar_for(loaded.tokenizer)
            self._loaded = loaded

    def min_new_tokens(self) -> int:
        return self._grammar.tail_tokens() if self._grammar is not None else 1

    # -- inputs -----------------------------------------------------------------------------------

    def build_inputs(self, request: ReasonRequest, frames: Sequence[Image.Image]) -> dict[str, torch.Tensor]:
        """Token ids with one image-pad token per vision token, pixel values, grids, modality types."""
        loaded = self._require()
        vision = loaded.image_processor(images=list(frames), return_tensors="pt")
        grid = vision["image_grid_thw"]
        merge = int(loaded.image_processor.merge_size)
        counts = (grid.prod(-1) // (merge * merge)).tolist()

        messages = flatten_messages(build_messages(request.question, request.choices, len(frames)))
        text = loaded.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        assert isinstance(text, str)
        parts = text.split(IMAGE_PAD)
        if len(parts) != len(frames) + 1:
            raise RuntimeError(f"chat template kept {len(parts) - 1} image placeholders for {len(frames)} frames")
        expanded = parts[0] + "".join(IMAGE_PAD * n + part for n, part in zip(counts, parts[1:], strict=True))
        input_ids = loaded.tokenizer(expanded, add_special_tokens=False, return_tensors="pt")["input_ids"]
        n_pad = int((input_ids == loaded.image_token_id).sum())
        if n_pad != sum(counts):
            raise RuntimeError(f"{n_pad} image tokens in the prompt for {sum(counts)} vision features")
        return {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            # Qwen-VL's 3-D RoPE needs to know which tokens are image tokens (1) and which text (0).
            "mm_token_type_ids": (input_ids == loaded.image_token_id).to(torch.int32),
            "pixel_values": vision["pixel_values"],
            "image_grid_thw": grid,
        }

    # -- generation -------------------------------------------------------------------------------

    def generate(self, request: ReasonRequest, frames: Sequence[Image.Image]) -> list[Generation]:
        loaded = self._require()
        sampling = request.sampling
        if sampling.max_new_tokens < self.min_new_tokens():
            raise BackendInputError(
                f"sampling.max_new_tokens={sampling.max_new_tokens} is too small for structured output; "
                f"use at least {self.min_new_tokens()}"
            )
        inputs = {key: value.to(loaded.device) for key, value in self.build_inputs(request, frames).items()}
        inputs["pixel_values"] = inputs["pixel_values"].to(loaded.model.dtype)
        prompt_len = int(inputs["input_ids"].shape[1])
        greedy = sampling.temperature == 0.0
        rows = 1 if greedy else request.k

        kwargs: dict[str, Any] = {
            "max_new_tokens": sampling.max_new_tokens,
            "num_return_sequences": rows,
            "eos_token_id": list(loaded.eos_ids),
            "pad_token_id": loaded.tokenizer.pad_token_id
            if loaded.tokenizer.pad_token_id is not None
            else loaded.eos_ids[0],
        }
        if greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p, top_k=0)
        if self._grammar is not None:
            # Custom processors run before temperature / top-p, which then renormalise allowed tokens.
            processor = GrammarLogitsProcessor(self._grammar, sampling.max_new_tokens)
            kwargs["logits_processor"] = LogitsProcessorList([processor])

        with loaded.lock:
            if sampling.seed is not None:
                torch.manual_seed(sampling.seed)
                if torch.cuda.is_available():
                    torch.cuda.manual_seed_all(sampling.seed)
            start = time.perf_counter()
            model: Any = loaded.model  # GenerationMixin.generate is not visible to mypy on PreTrainedModel
            with torch.inference_mode():
                output = model.generate(**inputs, **kwargs)
            latency_ms = (time.perf_counter() - start) * 1000.0

        generations = [self._decode(row[prompt_len:], prompt_len, latency_ms) for row in output]
        return generations * request.k if greedy else generations

    def _decode(self, ids: torch.Tensor, prompt_len: int, latency_ms: float) -> Generation:
        loaded = self._require()
        tokens = ids.tolist()
        end = next((i for i, t in enumerate(tokens) if t in loaded.eos_ids), None)
        completion = len(tokens) if end is None else end + 1  # the end-of-sequence token counts
        text = str(loaded.tokenizer.decode(tokens if end is None else tokens[:end], skip_special_tokens=False))
        return Generation(text=text, latency_ms=latency_ms, prompt_tokens=prompt_len, completion_tokens=completion)

    def _require(self) -> LoadedModel:
        if self._loaded is None:
            raise RuntimeError("the teacher model is not loaded yet")
        return self._loaded


@lru_cache(maxsize=4)
def _grammar_for(tokenizer: PreTrainedTokenizerBase) -> Grammar:
    try:
        return Grammar.from_tokenizer(tokenizer)
    except GrammarError:
        log.exception("structured decoding is unavailable for this tokenizer")
        raise
