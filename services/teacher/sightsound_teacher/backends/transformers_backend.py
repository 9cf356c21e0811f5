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
- Sampling, seeding, greedy decoding and structured decoding are shared with the embedded backend:
  see :mod:`sightsound_teacher.backends.hf_generate`. With ``structured=True`` the grammar constrains
  the output format; nothing else is suppressed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import torch
from PIL import Image
from transformers import (
    AutoModelForImageTextToText,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Qwen2VLImageProcessorPil,
)

from sightsound.contracts.teacher import ReasonRequest
from sightsound_teacher.backends.base import BackendInputError, Generation
from sightsound_teacher.backends.hf_generate import (
    DecodeMode,
    decode_rows,
    eos_token_ids,
    generate_kwargs,
    seeded_generate,
)
from sightsound_teacher.backends.static_decode import StaticKDecoder
from sightsound_teacher.grammar import Grammar, GrammarError
from sightsound_teacher.prompt import IMAGE_PAD, Message, build_messages, flatten_messages
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
    return LoadedModel(model, tokenizer, image_processor, target, image_token_id, eos_token_ids(model, tokenizer))


class TransformersBackend:
    """See the module docstring. Thread-safe: one ``generate`` runs at a time per loaded model."""

    name = "transformers"

    def __init__(
        self, model_id: str, *, device: str = "auto", structured: bool = True, decode: DecodeMode = "eager"
    ) -> None:
        self.model_id = model_id
        self.device = device
        self.structured = structured
        self.decode: DecodeMode = decode
        self._static: StaticKDecoder | None = None
        self._loaded: LoadedModel | None = None
        self._grammar: Grammar | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_loaded(
        cls, model_id: str, loaded: LoadedModel, *, structured: bool = False, decode: DecodeMode = "eager"
    ) -> TransformersBackend:
        """A ready backend over a model built elsewhere (benchmarks build large random models from config)."""
        backend = cls(model_id, device=str(loaded.device), structured=structured, decode=decode)
        backend._loaded = loaded
        if structured:
            backend._grammar = _grammar_for(loaded.tokenizer)
        return backend

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
        return self._grammar.min_new_tokens() if self._grammar is not None else 1

    # -- inputs -----------------------------------------------------------------------------------

    def build_inputs(self, request: ReasonRequest, frames: Sequence[Image.Image]) -> dict[str, torch.Tensor]:
        """Token ids with one image-pad token per vision token, pixel values, grids, modality types."""
        return self.encode(build_messages(request.question, request.choices, len(frames)), frames)

    def encode(self, messages: Sequence[Message], frames: Sequence[Image.Image]) -> dict[str, torch.Tensor]:
        """Model inputs for any chat in the prompt's message shape (one ``image`` part per frame; none
        for a text-only chat)."""
        loaded = self._require()
        vision: dict[str, torch.Tensor] = {}
        counts: list[int] = []
        if frames:
            vision = dict(loaded.image_processor(images=list(frames), return_tensors="pt"))
            merge = int(loaded.image_processor.merge_size)
            counts = (vision["image_grid_thw"].prod(-1) // (merge * merge)).tolist()

        flat = flatten_messages(messages)
        text = loaded.tokenizer.apply_chat_template(flat, tokenize=False, add_generation_prompt=True)
        assert isinstance(text, str)
        parts = text.split(IMAGE_PAD)
        if len(parts) != len(frames) + 1:
            raise RuntimeError(f"chat template kept {len(parts) - 1} image placeholders for {len(frames)} frames")
        expanded = parts[0] + "".join(IMAGE_PAD * n + part for n, part in zip(counts, parts[1:], strict=True))
        input_ids = loaded.tokenizer(expanded, add_special_tokens=False, return_tensors="pt")["input_ids"]
        n_pad = int((input_ids == loaded.image_token_id).sum())
        if n_pad != sum(counts):
            raise RuntimeError(f"{n_pad} image tokens in the prompt for {sum(counts)} vision features")
        inputs = {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            # Qwen-VL's 3-D RoPE needs to know which tokens are image tokens (1) and which text (0).
            "mm_token_type_ids": (input_ids == loaded.image_token_id).to(torch.int32),
        }
        if frames:
            inputs |= {"pixel_values": vision["pixel_values"], "image_grid_thw": vision["image_grid_thw"]}
        return inputs

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
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(loaded.model.dtype)
        prompt_len = int(inputs["input_ids"].shape[1])
        if self.decode == "graphs" and self._grammar is None:
            return self._generate_static(request, inputs)
        pad = loaded.tokenizer.pad_token_id
        kwargs = generate_kwargs(
            sampling,
            request.k,
            loaded.eos_ids,
            pad if isinstance(pad, int) else loaded.eos_ids[0],
            self._grammar,
            self.decode,
        )
        output, latency_ms = seeded_generate(loaded.model, inputs, kwargs, sampling.seed, loaded.lock)
        return decode_rows(output, prompt_len, loaded.tokenizer, loaded.eos_ids, latency_ms, request.k)

    def _generate_static(self, request: ReasonRequest, inputs: dict[str, torch.Tensor]) -> list[Generation]:
        """K samples from one prefill with :class:`StaticKDecoder` (CUDA graphs on GPU)."""
        loaded = self._require()
        sampling = request.sampling
        greedy = sampling.temperature == 0.0
        rows = 1 if greedy else request.k
        with loaded.lock:
            if self._static is None:
                self._static = StaticKDecoder(loaded.model, compile=loaded.device.type == "cuda")
            if sampling.seed is not None:
                torch.manual_seed(sampling.seed)
            start = time.perf_counter()
            result = self._static.decode(
                inputs, k=rows, max_new_tokens=sampling.max_new_tokens, temperature=sampling.temperature,
                top_p=sampling.top_p, eos_ids=loaded.eos_ids,
            )  # fmt: skip
            latency_ms = (time.perf_counter() - start) * 1000.0
        prompt = inputs["input_ids"].cpu().expand(rows, -1)
        output = torch.cat([prompt, result.tokens], dim=1)
        return decode_rows(output, prompt.shape[1], loaded.tokenizer, loaded.eos_ids, latency_ms, request.k)

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
