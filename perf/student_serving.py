"""Student serving speed: the inference path the student service and evaluations use
(:func:`sightsound_student_model.inference.answer`: batched greedy answers with the audio, audio tokens
suppressed), on a student with RANDOM weights.

- ``--size 7b``: a Qwen2-Audio-7B-sized ``AudioStudent`` built from config (bf16 on CUDA; the shapes of
  ``perf/trainer.py``: Whisper-large audio tower, Qwen-7B language model), clips padded to Whisper's 30 s
  window (750 audio tokens), as Qwen2-Audio serves them;
- ``--size tiny``: the test student (float32).

Measured side by side in one process: ``--batch`` answers one at a time versus in batches of 1, 8, 32
(throughput in generated tokens/s and mean latency per answer), each shape warmed up first. A random model
rarely emits its stop token, so nearly every answer runs to ``--new-tokens``; the table reports the tokens
actually generated.

    python perf/student_serving.py --size tiny --device cpu --out perf/results/student-serving-cpu.json
    python perf/student_serving.py --size 7b --device cuda --out perf/results/student-serving-h100.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "services" / "trainer"), str(ROOT / "bench")]

from trainer import build_student, peak_memory_gib, reset_peak, sync  # noqa: E402

from sightsound_student_model.inference import LoadedStudent, Query, answer  # noqa: E402

CHOICES = ["A person speaking", "A steady tone", "A dog barking", "Music"]


def clips(n: int, seconds: float) -> list[Query]:
    rng = np.random.default_rng(0)
    t = np.arange(int(16_000 * seconds)) / 16_000
    out = []
    for i in range(n):
        wave = 0.3 * np.sin(2 * np.pi * (220 + 40 * i) * t) + 0.05 * rng.standard_normal(t.size)
        out.append(Query(wave.astype(np.float32), "What can be heard in this clip?", CHOICES))
    return out


def run(loaded: LoadedStudent, queries: list[Query], batch: int, new_tokens: int,
        device: torch.device) -> dict[str, Any]:
    answer(loaded, queries[:batch], max_new_tokens=new_tokens, batch_size=batch)  # warm-up at full shape
    sync(device)
    reset_peak(device)
    started = time.perf_counter()
    results = answer(loaded, queries, max_new_tokens=new_tokens, batch_size=batch)
    sync(device)
    wall = time.perf_counter() - started
    generated = sum(r.completion_tokens for r in results)
    return {
        "batch": batch,
        "answers": len(results),
        "wall_s": round(wall, 3),
        "generated_tokens": generated,
        "tokens_per_s": round(generated / wall, 1),
        "answers_per_s": round(len(results) / wall, 3),
        "mean_latency_s": round(wall / len(results) * batch, 3),
        "prompt_tokens": results[0].prompt_tokens,
        "peak_memory_gib": round(peak_memory_gib(device), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["tiny", "7b"], default="tiny")
    parser.add_argument("--text-shape", default="qwen-7b")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--answers", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    device = torch.device(args.device)
    student = build_student(args.size, args.text_shape, device, "sdpa")
    student.model.eval()
    loaded = LoadedStudent(student, f"random-{args.size}", "cot")
    queries = clips(args.answers, args.seconds)
    rows = [run(loaded, queries, int(b), args.new_tokens, device) for b in args.batches.split(",")]
    base = rows[0]["tokens_per_s"]
    for row in rows:
        row["speedup_vs_first"] = round(row["tokens_per_s"] / base, 2)
    result = {
        "bench": "student-serving", "size": args.size, "text_shape": args.text_shape, "device": str(device),
        "device_name": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
        "torch": torch.__version__, "weights": "random", "clip_seconds": args.seconds,
        "new_tokens": args.new_tokens, "rows": rows,
        "mean_latency_s": "wall time of one batch: how long a request waits when its batch arrives together",
    }
    print(f"{'batch':>5} {'answers':>7} {'wall s':>8} {'tok/s':>8} {'latency s':>9} {'speedup':>7} {'GiB':>6}")
    for r in rows:
        print(f"{r['batch']:>5} {r['answers']:>7} {r['wall_s']:>8} {r['tokens_per_s']:>8} {r['mean_latency_s']:>9} "
              f"{r['speedup_vs_first']:>7} {r['peak_memory_gib']:>6}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
