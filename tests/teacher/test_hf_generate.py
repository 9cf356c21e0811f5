"""The shared Hugging Face generate helpers: one prefill for K rows gives the very samples of K prefills."""

from __future__ import annotations

import threading

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from sightsound.contracts.teacher import SamplingParams
from sightsound_teacher.backends.hf_generate import generate_kwargs, seeded_generate


@pytest.fixture(scope="module")
def tiny_llama() -> LlamaForCausalLM:
    config = LlamaConfig(
        vocab_size=300,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        eos_token_id=2,
        pad_token_id=2,
    )
    torch.manual_seed(0)
    return LlamaForCausalLM(config).eval()


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_shared_prefill_matches_k_prefills(tiny_llama: LlamaForCausalLM, temperature: float) -> None:
    input_ids = torch.randint(3, 300, (1, 40), generator=torch.Generator().manual_seed(1))
    inputs = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
    sampling = SamplingParams(temperature=temperature, top_p=0.9, max_new_tokens=12, seed=3)
    kwargs = generate_kwargs(sampling, 4, [2], 2, None)
    lock = threading.Lock()
    plain, _ = seeded_generate(tiny_llama, inputs, kwargs, 3, lock)
    shared, _ = seeded_generate(tiny_llama, inputs, kwargs, 3, lock, shared_prefill=True)
    assert torch.equal(plain, shared)
    assert plain.shape[0] == (1 if temperature == 0.0 else 4)


def test_kwargs() -> None:
    sampled = generate_kwargs(SamplingParams(temperature=0.7, top_p=0.8), 5, [2, 7], 0, None, "compiled")
    assert (sampled["num_return_sequences"], sampled["top_k"], sampled["cache_implementation"]) == (5, 0, "static")
    assert sampled["eos_token_id"] == [2, 7] and "logits_processor" not in sampled
    greedy = generate_kwargs(SamplingParams(temperature=0.0), 5, [2], 0, None)
    assert greedy["num_return_sequences"] == 1 and greedy["do_sample"] is False
