"""K samples from one prefill, decoded with a static KV cache and (on CUDA) one CUDA graph per step.

Why not plain ``generate``: at K=8 a 7B teacher's decode step is bound by Python and kernel-launch
overhead (about 19 ms a step measured on an H200, the GPU 15-20% busy), while the memory-bandwidth
floor for 16 GB of weights is about 3-5 ms. Here:

- the prompt (with the frames) is prefilled ONCE at batch 1, so the vision tower and the prefill run
  once per question; the resulting KV cache is copied into K rows of a static cache;
- attention groups the query heads onto their KV head (:func:`gqa_decode_attention`), so the cache
  is read once per step instead of once per query head;
- every decode step (embedding, 28 layers, LM head, sampling, writing the token) is one captured CUDA
  graph replayed with no host synchronisation; the attention mask and the multimodal RoPE positions
  are computed on the GPU from a position counter that lives in the graph;
- sampling is done in the graph: temperature with the Gumbel-max trick, nucleus (top-p) by a sort.

On CPU (tests) the same step runs eagerly; a test checks its greedy tokens equal ``generate``'s.
Structured decoding (the grammar) needs the host at every step and is not available here: the backend
uses ``generate`` when the grammar is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from transformers import AttentionInterface, StaticCache

DECODE_ATTENTION = "sightsound_gqa_decode"


def gqa_decode_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **_: Any,
) -> tuple[torch.Tensor, None]:
    """Grouped-query attention over the static cache without copying K/V per query head.

    transformers' SDPA path repeats K and V for every query head whenever a mask is given (CUDA's
    fused kernels take no mask with GQA): at K=8 over a 3k-token cache that is ~10 GB of extra memory
    traffic per decode step for a 7B model. Grouping the query heads onto their KV head reads the
    cache once. Shapes: query (B, H, Q, D), key/value (B, KV, L, D), mask (B, 1, Q, L) bool or float.
    """
    b, h, q, d = query.shape
    kv = key.shape[1]
    groups = h // kv
    scale = scaling if scaling is not None else d**-0.5
    grouped = query.reshape(b, kv, groups * q, d)
    scores = torch.matmul(grouped, key.transpose(-1, -2)).float() * scale
    if attention_mask is not None:
        mask = attention_mask[:, :, :, : key.shape[-2]]
        if groups > 1 and mask.shape[2] > 1:
            mask = mask.repeat(1, 1, groups, 1)
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    probs = scores.softmax(dim=-1).to(value.dtype)
    out = torch.matmul(probs, value).reshape(b, h, q, d)
    return out.transpose(1, 2).contiguous(), None


AttentionInterface.register(DECODE_ATTENTION, gqa_decode_attention)


@dataclass
class DecodeResult:
    tokens: torch.Tensor  # (K, steps) on CPU; rows continue past their EOS (the caller cuts there)
    steps: int
    prefill_s: float
    decode_s: float


class StaticKDecoder:
    """Decoder for one Qwen2-VL / Qwen2.5-VL model; reusable across requests of the same shape."""

    def __init__(self, model: Any, *, use_graphs: bool | None = None, compile: bool = False) -> None:
        self.model = model
        self.text_model = model.model.language_model
        self.lm_head = model.lm_head
        self.text_config = model.config.get_text_config(decoder=True)
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        self.use_graphs = self.device.type == "cuda" if use_graphs is None else use_graphs
        #: torch.compile the step body (fuses the many small norm/rope/activation kernels) before the
        #: CUDA graph is captured; costs a compilation per (K, cache length, sampling) shape.
        self.compile = compile
        self._graphs: dict[tuple[int, int, float, float], _StepGraph] = {}

    def decode(
        self,
        inputs: dict[str, torch.Tensor],
        *,
        k: int,
        max_new_tokens: int,
        temperature: float,
        top_p: float,
        eos_ids: tuple[int, ...],
        stop_check_every: int = 32,
    ) -> DecodeResult:
        import time

        def sync() -> None:
            if self.device.type == "cuda":
                torch.cuda.synchronize()

        start = time.perf_counter()
        with torch.inference_mode():
            out = self.model(**inputs, use_cache=True, logits_to_keep=1)
        prompt_len = int(inputs["input_ids"].shape[1])
        rope_delta = self.model.model.rope_deltas
        delta = int(rope_delta.view(-1)[0].item()) if rope_delta is not None else 0
        first_logits = out.logits[:, -1].float()
        sync()
        prefill_s = time.perf_counter() - start

        max_len = _bucket(prompt_len + max_new_tokens)
        key = (k, max_len, float(temperature), float(top_p))
        step = self._graphs.get(key)
        if step is None:
            step = _StepGraph(self, k, max_len, temperature, top_p)
            self._graphs[key] = step
        start = time.perf_counter()
        with torch.inference_mode():
            step.load_prefill(out.past_key_values, prompt_len, delta, first_logits)
            eos = torch.tensor(eos_ids, device=self.device)
            done_steps = 1
            for i in range(1, max_new_tokens):
                step.run()
                done_steps = i + 1
                if eos_ids and (i % stop_check_every == 0):
                    produced = step.output[:, :done_steps]
                    if bool(torch.isin(produced, eos).any(dim=1).all()):
                        break
            sync()
        decode_s = time.perf_counter() - start
        return DecodeResult(step.output[:, :done_steps].cpu(), done_steps, prefill_s, decode_s)


def _bucket(length: int, quantum: int = 256) -> int:
    """Static shapes: round the cache length up so nearby prompt lengths share one captured graph."""
    return ((length + quantum - 1) // quantum) * quantum


class _StepGraph:
    """Static buffers + the step function, captured as a CUDA graph when the decoder uses graphs."""

    def __init__(self, decoder: StaticKDecoder, k: int, max_len: int, temperature: float, top_p: float) -> None:
        self.d = decoder
        self.k, self.max_len = k, max_len
        self.temperature, self.top_p = temperature, top_p
        dev = decoder.device
        cfg = decoder.text_config
        # Any: transformers types cache layers as a union that hides StaticLayer's tensors.
        self.cache: Any = StaticCache(config=decoder.model.config, max_cache_len=max_len)
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        self.cache.early_initialization(
            batch_size=k, num_heads=cfg.num_key_value_heads, head_dim=head_dim, dtype=decoder.dtype, device=dev
        )
        self.tokens = torch.zeros((k, 1), dtype=torch.long, device=dev)
        self.pos = torch.zeros((), dtype=torch.long, device=dev)  # cache index of the token being fed
        self.delta = torch.zeros((), dtype=torch.long, device=dev)  # mRoPE offset of text after the images
        self.step_idx = torch.zeros((), dtype=torch.long, device=dev)
        self.output = torch.zeros((k, max_len), dtype=torch.long, device=dev)
        self.arange = torch.arange(max_len, device=dev)
        self.graph: torch.cuda.CUDAGraph | None = None
        self._body = torch.compile(self._step_body, dynamic=False) if decoder.compile else self._step_body

    # -- one decode step (graph body) -------------------------------------------------------------
    def _sample(self, logits: torch.Tensor) -> torch.Tensor:
        if self.temperature == 0.0:
            return logits.argmax(dim=-1)
        logits = logits / self.temperature
        if self.top_p < 1.0:
            sorted_logits, order = logits.sort(dim=-1, descending=True)
            cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
            drop_sorted = cumulative - sorted_logits.softmax(dim=-1) > self.top_p
            drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
            logits = logits.masked_fill(drop, float("-inf"))
        gumbel = -torch.log(-torch.log(torch.rand_like(logits).clamp_(1e-10, 1.0)))
        return (logits + gumbel).argmax(dim=-1)

    def _step(self) -> None:
        config = self.d.text_config
        previous = config._attn_implementation
        config._attn_implementation = DECODE_ATTENTION
        try:
            self._body()
        finally:
            config._attn_implementation = previous

    def _step_body(self) -> None:
        k = self.k
        mask = (self.arange <= self.pos).view(1, 1, 1, -1).expand(k, 1, 1, -1)
        position_ids = (self.pos + self.delta).view(1, 1, 1).expand(3, k, 1)
        hidden = self.d.text_model(
            input_ids=self.tokens,
            position_ids=position_ids,
            attention_mask={"full_attention": mask},
            past_key_values=self.cache,
            use_cache=True,
        ).last_hidden_state
        logits = self.d.lm_head(hidden[:, -1]).float()
        nxt = self._sample(logits)
        self.tokens.copy_(nxt.view(k, 1))
        self.output.index_copy_(1, self.step_idx.view(1), nxt.view(k, 1))
        self.pos.add_(1)
        self.step_idx.add_(1)

    # -- per request --------------------------------------------------------------------------------
    def load_prefill(self, prefill_cache: Any, prompt_len: int, delta: int, first_logits: torch.Tensor) -> None:
        """Copy the batch-1 prefill cache into the K rows and sample each row's first token."""
        for static_layer, layer in zip(self.cache.layers, prefill_cache.layers, strict=True):
            static_layer.keys.zero_()
            static_layer.values.zero_()
            static_layer.keys[:, :, :prompt_len].copy_(layer.keys.expand(self.k, -1, -1, -1))
            static_layer.values[:, :, :prompt_len].copy_(layer.values.expand(self.k, -1, -1, -1))
            static_layer.cumulative_length.fill_(prompt_len)
        first = self._sample(first_logits.expand(self.k, -1).contiguous())
        self.tokens.copy_(first.view(self.k, 1))
        self.output.zero_()
        self.output[:, 0].copy_(first)
        self.pos.fill_(prompt_len)
        self.delta.fill_(delta)
        self.step_idx.fill_(1)
        if self.d.use_graphs and self.graph is None:
            self._capture(prompt_len)

    def _capture(self, prompt_len: int) -> None:
        # Warm up on a side stream (kernel selection, lazy init), then restore the state and capture.
        saved = [(layer.cumulative_length.clone()) for layer in self.cache.layers]
        snapshot = (self.tokens.clone(), self.pos.clone(), self.step_idx.clone(), self.output.clone())
        stream = torch.cuda.Stream()  # type: ignore[no-untyped-call]
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                self._step()
        torch.cuda.current_stream().wait_stream(stream)
        self._restore(saved, snapshot)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self._step()
        self._restore(saved, snapshot)

    def _restore(self, saved: list[torch.Tensor], snapshot: tuple[torch.Tensor, ...]) -> None:
        for layer, length in zip(self.cache.layers, saved, strict=True):
            layer.cumulative_length.copy_(length)
        for buf, value in zip((self.tokens, self.pos, self.step_idx, self.output), snapshot, strict=True):
            buf.copy_(value)

    def run(self) -> None:
        if self.graph is not None:
            self.graph.replay()
        else:
            self._step()
