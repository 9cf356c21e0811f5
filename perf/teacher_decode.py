"""Teacher decode benchmark: K samples per question as one call vs K sequential calls, two decoders.

Builds a Qwen2.5-VL model from config with RANDOM weights (``--size 7b``: Qwen2.5-VL-7B's shapes,
bf16 on CUDA; ``--size tiny``: the test model on CPU), feeds it ``--frames`` frames of ``--side`` px
and a question, and times ``--new-tokens`` decoded tokens (EOS ignored, so every run decodes the
same length) with:

- ``generate``: transformers' ``generate`` with ``num_return_sequences=K`` (eager, dynamic cache);
- ``static``: :class:`sightsound_teacher.backends.static_decode.StaticKDecoder` (one batch-1 prefill
  shared by the K rows, static KV cache, one CUDA graph per decode step on GPU).

Every shape is warmed up at full length before it is timed. Prints a table and writes JSON.
Random weights: the numbers are speed, not quality.

    python perf/teacher_decode.py --size 7b --device cuda --out perf/results/teacher-decode-h100.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from transformers import Qwen2_5_VLForConditionalGeneration
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from sightsound_teacher.backends.static_decode import StaticKDecoder
from sightsound_teacher.prompt import build_messages, flatten_messages
from sightsound_teacher.tiny import IMAGE_PAD, load_tiny_tokenizer, qwen25_vl_7b_config, tiny_config

CHOICES = ["A person speaking", "A dog barking", "Music playing", "Silence"]


def build_model(size: str, device: torch.device, tokenizer: Any) -> Qwen2_5_VLForConditionalGeneration:
    config = qwen25_vl_7b_config(tokenizer) if size == "7b" else tiny_config(tokenizer)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with device:
            model = Qwen2_5_VLForConditionalGeneration(config)
    finally:
        torch.set_default_dtype(previous)
    return model.eval()


def build_inputs(tokenizer: Any, n_frames: int, side: int, size: str) -> dict[str, torch.Tensor]:
    pixels = side * side
    processor = Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=pixels if size == "7b" else 56 * 56)
    frames = [Image.new("RGB", (side, side), (20 * i % 255, 80, 160)) for i in range(n_frames)]
    vision = processor(images=frames, return_tensors="pt")
    grid = vision["image_grid_thw"]
    counts = (grid.prod(-1) // 4).tolist()
    messages = flatten_messages(build_messages("What can be heard in this clip?", CHOICES, n_frames))
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    parts = text.split(IMAGE_PAD)
    expanded = parts[0] + "".join(IMAGE_PAD * n + part for n, part in zip(counts, parts[1:], strict=True))
    input_ids = tokenizer(expanded, add_special_tokens=False, return_tensors="pt")["input_ids"]
    image_id = tokenizer.convert_tokens_to_ids(IMAGE_PAD)
    return {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        "mm_token_type_ids": (input_ids == image_id).to(torch.int32),
        "pixel_values": vision["pixel_values"],
        "image_grid_thw": grid,
    }


@dataclass
class Row:
    decoder: str
    mode: str  # "K=8 one call" or "8 x K=1"
    calls: int
    seconds_per_question: float
    questions_per_s: float
    generated_tokens_per_s: float
    ms_per_decode_step: float
    prefill_ms: float
    vision_tower_runs_per_question: float
    peak_memory_gib: float


class Timer:
    def __init__(self, device: torch.device) -> None:
        self.device = device

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def __call__(self, fn: Any) -> tuple[float, Any]:
        self.sync()
        start = time.perf_counter()
        result = fn()
        self.sync()
        return time.perf_counter() - start, result


def run_generate(model: Any, inputs: dict[str, torch.Tensor], k: int, new_tokens: int) -> Any:
    with torch.inference_mode():
        return model.generate(
            **inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, num_return_sequences=k,
            do_sample=True, temperature=0.7, top_p=1.0, top_k=0, eos_token_id=None,
        )  # fmt: skip


def measure(model: Any, inputs: dict[str, torch.Tensor], decoder: str, k: int, calls: int, new_tokens: int,
            timer: Timer, vision_calls: list[int]) -> Row:
    static = StaticKDecoder(model, compile=decoder == "static-compiled") if decoder.startswith("static") else None

    def one_call(tokens: int) -> tuple[float, float]:
        """(seconds, prefill seconds) of one call of batch k."""
        if static is not None:
            res = static.decode(inputs, k=k, max_new_tokens=tokens, temperature=0.7, top_p=1.0, eos_ids=())
            return res.prefill_s + res.decode_s, res.prefill_s
        seconds, _ = timer(lambda: run_generate(model, inputs, k, tokens))
        return seconds, float("nan")

    # Warm up at full length for this shape (first generate of a shape is 2.5-3x slower), and prefill-only.
    one_call(new_tokens)
    one_call(new_tokens)
    prefill_only, _ = one_call(1) if static is None else (0.0, None)
    vision_calls.clear()
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    total = 0.0
    prefill_total = 0.0
    for _ in range(calls):
        seconds, prefill = one_call(new_tokens)
        total += seconds
        prefill_total += prefill if static is not None else prefill_only
    per_question = total
    steps_time = total - prefill_total
    ms_step = steps_time / calls / max(1, new_tokens - 1) * 1000
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else float("nan")
    return Row(
        decoder=decoder,
        mode=f"K={k} one call" if calls == 1 else f"{calls} x K={k}",
        calls=calls,
        seconds_per_question=per_question,
        questions_per_s=1.0 / per_question,
        generated_tokens_per_s=k * calls * new_tokens / per_question,
        ms_per_decode_step=ms_step,
        prefill_ms=prefill_total / calls * 1000,
        vision_tower_runs_per_question=len(vision_calls),
        peak_memory_gib=peak,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=["tiny", "7b"], default="tiny")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--side", type=int, default=448)
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--decoders", default="generate,static,static-compiled")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    device = torch.device(args.device)
    tokenizer = load_tiny_tokenizer()
    model = build_model(args.size, device, tokenizer)
    inputs = {k: v.to(device) for k, v in build_inputs(tokenizer, args.frames, args.side, args.size).items()}
    inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
    vision_calls: list[int] = []
    model.model.visual.register_forward_hook(lambda *_: vision_calls.append(1))
    timer = Timer(device)
    rows: list[Row] = []
    for decoder in args.decoders.split(","):
        rows.append(measure(model, inputs, decoder, args.k, 1, args.new_tokens, timer, vision_calls))
        rows.append(measure(model, inputs, decoder, 1, args.k, args.new_tokens, timer, vision_calls))

    card = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    n_params = sum(p.numel() for p in model.parameters())
    print(f"\nteacher decode, {args.size} Qwen2.5-VL (RANDOM weights, {n_params / 1e9:.2f}B params), {card}")
    print(f"prompt {inputs['input_ids'].shape[1]} tokens ({args.frames} frames of {args.side}px), "
          f"{args.new_tokens} new tokens, K={args.k}")
    header = f"{'decoder':15} {'mode':14} {'s/question':>10} {'q/s':>7} {'tok/s':>8} {'ms/step':>8} " \
             f"{'prefill ms':>10} {'vision/q':>8} {'peak GiB':>8}"
    print(header)  # static = static KV cache + CUDA graph per step; -compiled = torch.compile inside the graph
    for r in rows:
        print(f"{r.decoder:15} {r.mode:14} {r.seconds_per_question:10.3f} {r.questions_per_s:7.3f} "
              f"{r.generated_tokens_per_s:8.1f} {r.ms_per_decode_step:8.2f} {r.prefill_ms:10.1f} "
              f"{r.vision_tower_runs_per_question:8.0f} {r.peak_memory_gib:8.2f}")
    ratios = {}
    for decoder in args.decoders.split(","):
        one, seq = [r for r in rows if r.decoder == decoder]
        ratios[decoder] = seq.seconds_per_question / one.seconds_per_question
        print(f"{decoder}: {args.k} sequential calls / one K={args.k} call = {ratios[decoder]:.2f}x")
    g = next((r for r in rows if r.decoder == "generate" and r.calls == 1), None)
    for s in (r for r in rows if r.decoder != "generate" and r.calls == 1):
        if g is not None:
            speedup = g.seconds_per_question / s.seconds_per_question
            print(f"{s.decoder} vs generate at K={args.k}: {speedup:.2f}x faster")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "card": card, "size": args.size, "random_weights": True, "params": n_params,
            "prompt_tokens": int(inputs["input_ids"].shape[1]), "frames": args.frames, "side": args.side,
            "new_tokens": args.new_tokens, "k": args.k, "torch": torch.__version__,
            "rows": [asdict(r) for r in rows], "sequential_over_batched": ratios,
        }, indent=2))  # fmt: skip
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
