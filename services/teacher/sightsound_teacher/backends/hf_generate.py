"""What the Hugging Face backends (``transformers``, ``embedded``) share: one ``generate`` call for K samples.

- Sampling follows the request exactly: ``temperature``, ``top_p`` and ``top_k=0`` (off) override the
  model's generation defaults (Qwen-VL checkpoints ship ``top_k=1``-like defaults that would make the K
  samples identical). ``temperature=0`` is greedy: one row is decoded and repeated K times.
- Structured decoding: a :class:`~sightsound_teacher.grammar.GrammarLogitsProcessor` runs before the
  temperature / top-p warpers, which then renormalise over the allowed tokens.
- ``seed`` reseeds torch's global RNG under the model's lock, so a seeded request is reproducible on
  the same machine and software.
- ``decode="compiled"`` asks for a static KV cache (``cache_implementation="static"``), which
  transformers compiles on CUDA; ``"eager"`` is the dynamic cache.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any, Literal

import torch
from transformers import LogitsProcessorList, PreTrainedModel, PreTrainedTokenizerBase

from sightsound.contracts.teacher import SamplingParams
from sightsound_teacher.backends.base import Generation
from sightsound_teacher.grammar import Grammar, GrammarLogitsProcessor
from sightsound_teacher.regex_format import RowFormat

DecodeMode = Literal["eager", "compiled", "graphs"]


def generate_kwargs(
    sampling: SamplingParams,
    k: int,
    eos_ids: Sequence[int],
    pad_id: int,
    grammar: Grammar | None,
    decode: DecodeMode = "eager",
    rows: Sequence[RowFormat] | None = None,
) -> dict[str, Any]:
    """Keyword arguments of ``model.generate`` for ``k`` samples (one row when greedy). ``rows``: what each
    generated row must contain besides the open format (structured decoding only; one per row generated)."""
    greedy = sampling.temperature == 0.0
    kwargs: dict[str, Any] = {
        "max_new_tokens": sampling.max_new_tokens,
        "num_return_sequences": 1 if greedy else k,
        "eos_token_id": list(eos_ids),
        "pad_token_id": pad_id,
    }
    if greedy:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    else:
        kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p, top_k=0)
    if grammar is not None:
        processor = GrammarLogitsProcessor(grammar, sampling.max_new_tokens, rows)
        kwargs["logits_processor"] = LogitsProcessorList([processor])
    elif rows is not None:
        raise ValueError("fixed parts of a row (letter, claims) need structured decoding (a grammar)")
    if decode == "compiled":
        kwargs["cache_implementation"] = "static"
    return kwargs


def seeded_generate(
    model: PreTrainedModel,
    inputs: dict[str, torch.Tensor],
    kwargs: dict[str, Any],
    seed: int | None,
    lock: threading.Lock,
    *,
    shared_prefill: bool = False,
) -> tuple[torch.Tensor, float]:
    """``model.generate`` under ``lock`` (after seeding); returns the output ids and the wall time in ms.

    ``shared_prefill`` (text-only decoder models): the prompt is prefilled once for all rows, see
    :func:`prefill_once`.
    """
    with lock:
        if seed is not None:
            torch.manual_seed(seed)
            if torch.cuda.is_available():
                torch.cuda.manual_seed_all(seed)
        start = time.perf_counter()
        runner: Any = model  # GenerationMixin.generate is not visible to mypy on PreTrainedModel
        rows = int(kwargs.get("num_return_sequences", 1))
        if shared_prefill and rows > 1:
            input_ids = inputs["input_ids"]
            cache = prefill_once(model, input_ids, rows)
            inputs = {
                "input_ids": input_ids.repeat(rows, 1),
                "attention_mask": inputs["attention_mask"].repeat(rows, 1),
                "past_key_values": cache,
            }
            kwargs = {**kwargs, "num_return_sequences": 1}
        with torch.inference_mode():
            output: torch.Tensor = runner.generate(**inputs, **kwargs)
        return output, (time.perf_counter() - start) * 1000.0


def seeded_generate_rows(
    model: PreTrainedModel,
    prefix_ids: torch.Tensor,
    suffixes: Sequence[Sequence[int]],
    kwargs: dict[str, Any],
    seed: int | None,
    lock: threading.Lock,
    pad_id: int,
) -> tuple[torch.Tensor, float]:
    """Like :func:`seeded_generate` with ``shared_prefill``, for rows whose prompts differ only at the end:
    row ``i`` is ``prefix_ids`` (shape ``(1, P)``) + ``suffixes[i]``. The prefix is prefilled once and its
    KV cache repeated; the suffixes are left-padded to one length with masked ``pad_id`` tokens, so the
    padding sits between prefix and suffix (positions follow the mask, so each row computes as if unpadded)
    and every row's completion starts at the same column. Decoder-only text models.
    """
    if not suffixes or any(len(suffix) == 0 for suffix in suffixes):
        raise ValueError("every row needs a non-empty suffix")
    rows, width = len(suffixes), max(len(suffix) for suffix in suffixes)
    tail = torch.full((rows, width), pad_id, dtype=torch.long)
    tail_mask = torch.zeros((rows, width), dtype=torch.long)
    for i, suffix in enumerate(suffixes):
        tail[i, width - len(suffix) :] = torch.tensor(list(suffix), dtype=torch.long)
        tail_mask[i, width - len(suffix) :] = 1
    input_ids = torch.cat([prefix_ids.expand(rows, -1), tail], dim=1)
    attention_mask = torch.cat([torch.ones((rows, prefix_ids.shape[1]), dtype=torch.long), tail_mask], dim=1)
    runner: Any = model
    with lock:
        if seed is not None:
            torch.manual_seed(seed)
            if torch.cuda.is_available():
                torch.cuda.manual_seed_all(seed)
        start = time.perf_counter()
        with torch.inference_mode():
            cache = runner(input_ids=prefix_ids, use_cache=True).past_key_values
            if rows > 1:
                cache.batch_repeat_interleave(rows)
            output: torch.Tensor = runner.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                past_key_values=cache,
                **{**kwargs, "num_return_sequences": 1},
            )
        return output, (time.perf_counter() - start) * 1000.0


def prefill_once(model: PreTrainedModel, input_ids: torch.Tensor, rows: int) -> Any:
    """Run the prompt (all but its last token) through a decoder-only model ONCE and copy the KV cache
    to ``rows`` rows, so ``generate(input_ids.repeat(rows, 1), past_key_values=cache)`` decodes K samples
    without prefilling the prompt K times (same samples as ``num_return_sequences``; about K times less
    prefill). Call under the model's lock."""
    runner: Any = model
    with torch.inference_mode():
        cache = runner(input_ids=input_ids[:, :-1], use_cache=True).past_key_values
    if rows > 1:
        cache.batch_repeat_interleave(rows)
    return cache


def decode_rows(
    output: torch.Tensor,
    prompt_len: int,
    tokenizer: PreTrainedTokenizerBase,
    eos_ids: Sequence[int],
    latency_ms: float,
    k: int,
) -> list[Generation]:
    """One :class:`Generation` per row (text up to the first end-of-sequence; greedy rows repeated to ``k``)."""
    generations = []
    for row in output:
        tokens = row[prompt_len:].tolist()
        end = next((i for i, t in enumerate(tokens) if t in eos_ids), None)
        completion = len(tokens) if end is None else end + 1  # the end-of-sequence token counts
        text = str(tokenizer.decode(tokens if end is None else tokens[:end], skip_special_tokens=False))
        generations.append(Generation(text, latency_ms, prompt_len, completion))
    return generations * k if len(generations) == 1 and k > 1 else generations


def eos_token_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> tuple[int, ...]:
    """End-of-sequence ids from the generation config and the tokenizer, sorted."""
    eos: set[int] = set()
    for source in (model.generation_config.eos_token_id, tokenizer.eos_token_id):
        if isinstance(source, int):
            eos.add(source)
        elif source is not None:
            eos.update(int(i) for i in source)
    return tuple(sorted(eos))
