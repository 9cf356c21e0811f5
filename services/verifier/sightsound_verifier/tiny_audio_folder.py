"""A tiny Qwen2-Audio with RANDOM weights saved as a model folder, for serving it with vLLM's CPU server.

vLLM loads models from folders (config, safetensors weights, tokenizer, processor), and its CPU attention
backend needs a head dimension of at least 64, so this is not :mod:`sightsound_verifier.tiny_audio_llm`'s
model (head_dim 16) but the same recipe at serving shape: SmolLM2's tokenizer with Qwen2-Audio's audio
tokens, Qwen2-Audio's processor over Whisper's 80-bin features, a one-layer audio encoder and a one-layer
Qwen2 language model with 2 heads of 64. About 7M parameters, almost all of them the embeddings. Its
answers are noise: it exists to exercise the audio-LLM protocol (``audio_url`` parts) end to end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import Qwen2AudioConfig, Qwen2AudioForConditionalGeneration

from sightsound.weights.tokenizers import single_token_id
from sightsound_verifier.tiny_audio_llm import tiny_processor, tiny_tokenizer

#: vLLM's CPU attention refuses smaller heads.
HEAD_DIM = 64


def serving_config(tokenizer: Any) -> Qwen2AudioConfig:
    """Tiny Qwen2-Audio config whose text heads are :data:`HEAD_DIM` wide."""
    audio: dict[str, Any] = {
        "model_type": "qwen2_audio_encoder",
        "num_mel_bins": 80,
        "d_model": 2 * HEAD_DIM,
        "encoder_layers": 1,
        "encoder_attention_heads": 2,
        "encoder_ffn_dim": 4 * HEAD_DIM,
        "max_source_positions": 1500,
    }
    text: dict[str, Any] = {
        "model_type": "qwen2",
        "vocab_size": len(tokenizer),
        "hidden_size": 2 * HEAD_DIM,
        "intermediate_size": 4 * HEAD_DIM,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
        "head_dim": HEAD_DIM,
        "max_position_embeddings": 4096,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "tie_word_embeddings": True,
    }
    return Qwen2AudioConfig(
        audio_config=audio, text_config=text, audio_token_index=single_token_id(tokenizer, "<|AUDIO|>")
    )


def save_tiny_audio_llm_folder(folder: Path, seed: int = 0) -> Path:
    """Write config, RANDOM weights (seeded), tokenizer and processor to ``folder``; returns it."""
    tokenizer = tiny_tokenizer()
    config = serving_config(tokenizer)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2AudioForConditionalGeneration(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    tiny_processor(tokenizer).save_pretrained(folder)
    return folder
