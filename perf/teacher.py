"""Teacher benchmark: K samples per question as ONE batched call vs K sequential calls, and adaptive savings.

Part 1 (speed) runs the transformers backend's own code path (prompt and vision encoding,
``generate_kwargs``, ``seeded_generate``) on a Qwen2.5-VL with RANDOM weights:

- ``--size tiny`` (alias ``--model tiny``): the test model, float32 on CPU;
- ``--size 7b``: Qwen2.5-VL-7B-Instruct's shapes built from config, bf16 (on CUDA), by default 8 frames
  of 448 px and 256 new tokens.

For each mode, ``batched`` (one ``generate`` with ``num_return_sequences=K``) and ``sequential`` (K calls
of one sample), every shape is first warmed up at full length, then ``--questions`` questions are timed.
End-of-sequence is suppressed (``min_new_tokens``) so every row decodes exactly ``--new-tokens`` tokens.
Reported: questions/s, generated tokens/s, ms per decode step (``(T(N) - T(1)) / (N - 1)`` from a full
call and a one-token call of the same shape, so no hook sits in the decode loop), prefill ms, peak
memory (CUDA: max allocated; CPU: peak RSS, reset per mode through ``/proc/self/clear_refs``), and how
often the vision tower ran per question. ``--decode compiled`` asks ``generate`` for a static KV cache
(``cache_implementation="static"``, compiled by transformers on CUDA); ``eager`` is the dynamic cache.

Part 2 (``--adaptive-clips N``): N generated clips (sightsound_devdata.clipgen: different scenes and sounds),
frames extracted by sightsound.media.ingest, one question each, drawn with adaptive sampling
(:mod:`sightsound_teacher.sampling`) under both vote policies on ``--adaptive-backend`` (tiny or
embedded): average samples used vs K. (Adaptive stopping never changes the keep/drop decision: the
tests prove it exhaustively.)

Part 3 (``--lengths N``, see ``perf/teacher_lengths.py``): output lengths (tokens and characters of
the reasoning and of the claims block) at the default ``teacher_max_new_tokens``, on the tiny model with
RANDOM weights, and the claim kinds the embedded teacher's view gives on the sample set's photos.

    python perf/teacher.py --device cpu --model tiny                 # -> perf/results/teacher-cpu.json
    python perf/teacher.py --device cuda --size 7b --decode compiled # the GPU run (random weights)
    python perf/teacher.py --lengths-only --lengths 4  # -> perf/results/teacher-lengths-cpu.json

Random weights: the numbers are speed, not quality.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from PIL import Image
from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2VLImageProcessorPil

from sightsound.contracts.teacher import ReasonRequest, SamplingParams
from sightsound_teacher.backends.hf_generate import DecodeMode, eos_token_ids, generate_kwargs, seeded_generate
from sightsound_teacher.backends.transformers_backend import LoadedModel, TransformersBackend
from sightsound_teacher.tiny import (
    TINY_MAX_PIXELS,
    TINY_MIN_PIXELS,
    build_tiny_model,
    load_tiny_tokenizer,
    qwen25_vl_7b_config,
)

CHOICES = ["A person speaking", "A dog barking", "Music playing", "Silence"]
QUESTION = "What can be heard in this clip?"


# --- the model ----------------------------------------------------------------------------------------


def build_backend(size: str, device: torch.device, side: int, decode: DecodeMode) -> TransformersBackend:
    """The transformers backend over a RANDOM Qwen2.5-VL of ``size`` (no weights are read)."""
    tokenizer = load_tiny_tokenizer()
    model: Any
    if size == "tiny":
        model = build_tiny_model(tokenizer).to(device)  # type: ignore[arg-type]
        processor = Qwen2VLImageProcessorPil(min_pixels=TINY_MIN_PIXELS, max_pixels=TINY_MAX_PIXELS)
    else:
        config = qwen25_vl_7b_config(tokenizer)
        config._attn_implementation = "sdpa"
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
        previous = torch.get_default_dtype()
        torch.manual_seed(0)
        torch.set_default_dtype(dtype)
        try:
            with device:
                model = Qwen2_5_VLForConditionalGeneration(config)
        finally:
            torch.set_default_dtype(previous)
        processor = Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=side * side)
    model.eval()
    eos = eos_token_ids(model, tokenizer)
    loaded = LoadedModel(model, tokenizer, processor, device, int(model.config.image_token_id), eos)
    return TransformersBackend.from_loaded(f"random-qwen2.5-vl-{size}", loaded, structured=False, decode=decode)


def make_frames(n: int, side: int) -> list[Image.Image]:
    frames = []
    for i in range(n):
        image = Image.new("RGB", (side, side), (30 * i % 255, 90, 160))
        for x in range(0, side, 16):
            image.putpixel((x, (x * (i + 1)) % side), (255, 255, 255))
        frames.append(image)
    return frames


# --- measurements -------------------------------------------------------------------------------------


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    else:
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (peak RSS) on Linux


def peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class VisionCounter:
    """Counts forward calls of the vision tower."""

    def __init__(self, model: Any) -> None:
        self.calls = 0
        self.handle = model.model.visual.register_forward_hook(self._hook)

    def _hook(self, *_: Any) -> None:
        self.calls += 1


def one_call(backend: TransformersBackend, frames: list[Image.Image], rows: int, new_tokens: int, seed: int) -> int:
    """One ``generate`` of ``rows`` samples, every row exactly ``new_tokens`` long; returns tokens generated."""
    loaded = backend._require()
    request = ReasonRequest(
        question=QUESTION,
        choices=CHOICES,
        frame_urls=["file:///bench"] * len(frames),
        k=rows,
        sampling=SamplingParams(temperature=0.8, top_p=0.95, max_new_tokens=max(new_tokens, 8), seed=seed),
    )
    inputs = {key: value.to(loaded.device) for key, value in backend.build_inputs(request, frames).items()}
    inputs["pixel_values"] = inputs["pixel_values"].to(loaded.model.dtype)
    kwargs = generate_kwargs(request.sampling, rows, loaded.eos_ids, loaded.eos_ids[0], None, backend.decode)
    kwargs.update(max_new_tokens=new_tokens, min_new_tokens=new_tokens)  # no early end: equal work per row
    output, _ = seeded_generate(loaded.model, inputs, kwargs, seed, loaded.lock)
    sync(loaded.device)
    return int(output.shape[0] * (output.shape[1] - inputs["input_ids"].shape[1]))


@dataclass
class ModeResult:
    mode: str
    calls_per_question: int
    rows_per_call: int
    questions: int
    wall_s: float
    questions_per_s: float
    generated_tokens_per_s: float
    ms_per_decode_step: float
    prefill_ms: float
    peak_memory_mb: float
    vision_runs_per_question: float


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_mode(
    backend: TransformersBackend, frames: list[Image.Image], k: int, batched: bool, questions: int, new_tokens: int
) -> ModeResult:
    loaded = backend._require()
    device = loaded.device
    rows, calls = (k, 1) if batched else (1, k)
    # Warm-up at full length (and at one token, for the step estimate) for this shape.
    one_call(backend, frames, rows, new_tokens, seed=0)
    one_call(backend, frames, rows, 1, seed=0)
    # Per-step cost of this shape: a full call minus a one-token call, over the extra steps.
    full = statistics.median(timed(lambda: one_call(backend, frames, rows, new_tokens, seed=1)) for _ in range(2))
    first = statistics.median(timed(lambda: one_call(backend, frames, rows, 1, seed=1)) for _ in range(2))
    step_ms = (full - first) / max(new_tokens - 1, 1) * 1000.0

    counter = VisionCounter(loaded.model)
    reset_peak(device)
    tokens = 0
    start = time.perf_counter()
    for q in range(questions):
        for c in range(calls):
            tokens += one_call(backend, frames, rows, new_tokens, seed=100 * q + c)
    wall = time.perf_counter() - start
    counter.handle.remove()
    return ModeResult(
        mode="batched" if batched else "sequential",
        calls_per_question=calls,
        rows_per_call=rows,
        questions=questions,
        wall_s=round(wall, 3),
        questions_per_s=round(questions / wall, 4),
        generated_tokens_per_s=round(tokens / wall, 2),
        ms_per_decode_step=round(step_ms, 2),
        prefill_ms=round(first * 1000.0, 1),
        peak_memory_mb=round(peak_mb(device), 1),
        vision_runs_per_question=counter.calls / questions,
    )


# --- adaptive sampling savings ------------------------------------------------------------------------


def generated_clips(folder: Path, n: int, frames: int, side: int) -> list[list[Image.Image]]:
    """``n`` different generated clips (scene and sound vary), ``frames`` frames of each."""
    from sightsound.media.ingest import extract_frames
    from sightsound_devdata.clipgen import NoiseBursts, Silence, Tone, VideoSpec, make_clip

    scenes = [
        (VideoSpec(width=224, height=160, fps=10, caption="someone talks"), Tone(220.0, 2.0)),
        (VideoSpec(width=224, height=160, fps=10, background=(10, 90, 30), shape="square"), NoiseBursts(3)),
        (VideoSpec(width=224, height=160, fps=10, background=(120, 20, 20), caption="a dog"), Silence(2.0)),
        (VideoSpec(width=224, height=160, fps=10, background=(200, 200, 200), shape="none"), Tone(880.0, 2.0)),
        (VideoSpec(width=224, height=160, fps=10, background=(60, 60, 60), caption="music"), NoiseBursts(5)),
        (VideoSpec(width=224, height=160, fps=10, shape_color=(20, 220, 240)), Silence(2.0)),
    ]
    clips = []
    for i in range(n):
        video, audio = scenes[i % len(scenes)]
        path = make_clip(folder / f"clip{i}.mp4", video=video, audio=audio, duration_s=2.0)
        clips.append(extract_frames(path, frames, side))
    return clips


def adaptive_savings(backend_name: str, clips: int, k: int, first_round: int, new_tokens: int) -> dict[str, Any]:
    from sightsound_teacher.backends import make_backend
    from sightsound_teacher.sampling import draw

    name = "transformers" if backend_name == "tiny" else "embedded"
    teacher = make_backend(name, "tiny-random", device="cpu", structured=True)
    teacher.load()
    max_new = max(new_tokens, teacher.min_new_tokens() + 8)
    report: dict[str, Any] = {"backend": teacher.model_id, "k": k, "first_round": first_round, "clips": clips}
    with tempfile.TemporaryDirectory() as tmp:
        clip_frames = generated_clips(Path(tmp), clips, 4, 224)
    for policy in ("unanimous", "majority"):
        used, rounds, reached = [], [], 0
        start = time.perf_counter()
        for i, frames in enumerate(clip_frames):
            request = ReasonRequest(
                question=QUESTION,
                choices=CHOICES,
                frame_urls=["file:///bench"] * len(frames),
                k=k,
                sampling=SamplingParams(temperature=1.0, top_p=0.95, max_new_tokens=max_new, seed=i),
            )
            drawn = draw(teacher, request, frames, policy=policy, adaptive=True, first_round=first_round)
            used.append(drawn.consensus.traces_used)
            rounds.append(len(drawn.calls))
            reached += drawn.consensus.reached
        report[policy] = {
            "traces_used": used,
            "mean_samples_used": round(statistics.mean(used), 2),
            "saved_fraction": round(1 - statistics.mean(used) / k, 3),
            "mean_rounds": round(statistics.mean(rounds), 2),
            "consensus_reached": reached,
            "wall_s": round(time.perf_counter() - start, 1),
        }
    return report


# --- main ---------------------------------------------------------------------------------------------


def print_table(results: list[ModeResult]) -> None:
    columns = [
        ("mode", "mode", "{}"),
        ("q/s", "questions_per_s", "{:.3f}"),
        ("tok/s", "generated_tokens_per_s", "{:.1f}"),
        ("ms/step", "ms_per_decode_step", "{:.1f}"),
        ("prefill ms", "prefill_ms", "{:.0f}"),
        ("peak MB", "peak_memory_mb", "{:.0f}"),
        ("vision/q", "vision_runs_per_question", "{:g}"),
    ]
    rows = [[fmt.format(getattr(r, key)) for _, key, fmt in columns] for r in results]
    widths = [max(len(title), *(len(row[i]) for row in rows)) for i, (title, _, _) in enumerate(columns)]
    print("  ".join(title.rjust(w) for (title, _, _), w in zip(columns, widths, strict=True)))
    for row in rows:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--size", "--model", dest="size", default="tiny", choices=["tiny", "7b"])
    parser.add_argument("--decode", default="eager", choices=["eager", "compiled"])
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--questions", type=int, default=None, help="timed questions per mode (2 tiny, 4 7b)")
    parser.add_argument("--frames", type=int, default=None, help="frames per question (4 tiny, 8 7b)")
    parser.add_argument("--side", type=int, default=448, help="frame side in pixels")
    parser.add_argument("--new-tokens", type=int, default=None, help="tokens per sample (64 tiny, 256 7b)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--adaptive-clips", type=int, default=4, help="generated clips for adaptive savings (0: skip)")
    parser.add_argument("--adaptive-backend", default="tiny", choices=["tiny", "embedded"])
    parser.add_argument("--adaptive-first-round", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--lengths", type=int, default=0, help="questions for output lengths at the defaults")
    parser.add_argument("--lengths-only", action="store_true", help="only part 3 (lengths, embedded claims)")
    args = parser.parse_args(argv)
    if args.lengths_only:
        return lengths_report(max(1, args.lengths), args.k, args.out)

    torch.set_num_threads(args.threads)
    load_at_start = os.getloadavg()
    device = torch.device(args.device)
    big = args.size == "7b"
    questions = args.questions or (4 if big else 2)
    n_frames = args.frames or (8 if big else 4)
    new_tokens = args.new_tokens or (256 if big else 64)

    backend = build_backend(args.size, device, args.side, args.decode)
    frames = make_frames(n_frames, args.side)
    probe = ReasonRequest(question=QUESTION, choices=CHOICES, frame_urls=["file:///b"] * n_frames, k=1)
    prompt_tokens = int(backend.build_inputs(probe, frames)["input_ids"].shape[1])
    print(
        f"teacher bench: {backend.model_id} on {device}, decode={args.decode}, K={args.k}, {n_frames} frames "
        f"of {args.side}px ({prompt_tokens} prompt tokens), {new_tokens} new tokens, {questions} questions/mode"
    )
    results = [
        run_mode(backend, frames, args.k, batched=True, questions=questions, new_tokens=new_tokens),
        run_mode(backend, frames, args.k, batched=False, questions=questions, new_tokens=new_tokens),
    ]
    print_table(results)
    batched, sequential = results
    ratio = {
        "questions_per_s": round(batched.questions_per_s / sequential.questions_per_s, 2),
        "generated_tokens_per_s": round(batched.generated_tokens_per_s / sequential.generated_tokens_per_s, 2),
    }
    print(f"batched / sequential: {ratio['questions_per_s']}x questions/s")

    adaptive = None
    if args.adaptive_clips > 0:
        del backend
        adaptive = adaptive_savings(args.adaptive_backend, args.adaptive_clips, args.k, args.adaptive_first_round, 64)
        for policy in ("unanimous", "majority"):
            a = adaptive[policy]
            print(
                f"adaptive ({adaptive['backend']}, {policy}): {a['mean_samples_used']} of K={args.k} samples "
                f"on average over {args.adaptive_clips} clips ({a['saved_fraction']:.0%} saved, "
                f"{a['mean_rounds']} rounds)"
            )

    report = {
        "bench": "teacher",
        "device": args.device,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
        "cpu_threads": args.threads,
        "load_average_at_start": [round(x, 2) for x in load_at_start],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "model": backend_id(args.size),
        "decode": args.decode,
        "k": args.k,
        "frames": n_frames,
        "frame_side": args.side,
        "prompt_tokens": prompt_tokens,
        "new_tokens": new_tokens,
        "results": [asdict(r) for r in results],
        "batched_over_sequential": ratio,
        "adaptive": adaptive,
        "note": "random weights: speed, not quality",
    }
    out = args.out or Path(__file__).parent / "results" / f"teacher-{args.device}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def lengths_report(questions: int, k: int, out: Path | None) -> int:
    """Part 3 alone (perf/teacher_lengths.py)."""
    from teacher_lengths import embedded_claim_kinds, tiny_lengths

    torch.set_num_threads(1)
    lengths = tiny_lengths(questions, min(k, 4))
    print(json.dumps(lengths, indent=2))
    kinds = embedded_claim_kinds()
    print(json.dumps(kinds["kinds"]), f"({kinds['distinct_kinds']} kinds)")
    report = {"bench": "teacher-lengths", "lengths": lengths, "embedded_claims": kinds}
    path = out or Path(__file__).parent / "results" / "teacher-lengths-cpu.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


def backend_id(size: str) -> str:
    return f"random-qwen2.5-vl-{size}"


if __name__ == "__main__":
    raise SystemExit(main())
