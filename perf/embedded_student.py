"""Embedded-student benchmark on the CPU: the PRETRAINED Whisper tiny.en encoder + SmolLM2-135M-Instruct with
a NEW (untrained) projector, as ``load_student("embedded")`` gives it, driven by the trainer's own code.

Measured:
- assemble: the cached model folder written from the packages. ``from scratch`` starts from an empty cache
  root (SmolLM2 GGUF dequantized to safetensors, tokenizer from the GGUF, CT2 encoder, assembly); ``SmolLM2
  cached`` only assembles; ``cached`` finds the folder;
- load: ``load_student("embedded")`` of the cached folder (model and processor);
- parameters by part;
- prefill: one forward (audio features already computed) of ``--clips`` prompts with a ``--window``-second
  speech clip each, last position's logits only (what ``generate`` does); features: the processor's time;
- decode: the trainer's sampler (``sample_completions``) with exactly ``--new-tokens`` tokens per row
  (stop tokens ignored); ms per step = (sampling time - prefill) / new tokens, batch 1 and ``--batch``;
- SFT step: ``sft_step`` with LoRA r``--lora-rank`` on every LM linear layer and the projector trained,
  batch 2, median of ``--steps`` after one warm-up.

Each time is the median of ``--repeats`` runs. One torch thread by default: on a 2-core machine shared
with other work, 2 threads made the prefill 5-15x SLOWER than 1 (0.43 s vs 2.4-6.7 s for 158 tokens,
measured side by side), because OpenMP's threads wait on each other whenever one loses its core. The
numbers are an upper bound on what a quiet machine gives.

    python perf/embedded_student.py            # writes perf/results/embedded-student-cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "services" / "trainer")]

from sightsound.contracts.training import DatasetRecord, Hyperparameters  # noqa: E402
from sightsound.snapshot.targets import student_prompt, student_target  # noqa: E402
from sightsound_devdata.clipgen import Speech, fit_length  # noqa: E402
from sightsound_student_model.batches import PromptBatch, prompt_batch  # noqa: E402
from sightsound_student_model.embedded import embedded_student_folder  # noqa: E402
from sightsound_student_model.loading import load_student  # noqa: E402
from sightsound_student_model.student import EMBEDDED_MODEL_ID, Student  # noqa: E402
from sightsound_trainer.context import MemoryMonitor, StageContext  # noqa: E402
from sightsound_trainer.rollouts import SamplingOptions, sample_completions  # noqa: E402
from sightsound_trainer.setup import make_accelerator, wrap_for_training  # noqa: E402
from sightsound_trainer.sft import sft_setup, sft_step  # noqa: E402

RATE = 16_000
SENTENCES = ["The quick brown fox jumps over the lazy dog.", "Please open the window, it is warm in here.",
             "Seven ducks swam across the quiet pond.", "The train to the city leaves at nine.",
             "A dog is barking outside the house.", "She plays the piano every morning.",
             "Turn left at the next corner, then stop.", "Thank you very much for coming today."]
CHOICES = ["A person speaking", "A steady tone", "A dog barking", "Music"]
QUESTION = "What can be heard in this clip?"


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - began)
    return float(np.median(times)), out


def assemble_times(window: int) -> dict[str, float]:
    saved = os.environ.get("SIGHTSOUND_CACHE_DIR")
    with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as models:
        os.environ["SIGHTSOUND_CACHE_DIR"] = empty
        try:
            scratch, _ = timed(lambda: embedded_student_folder(window), 1)
        finally:
            if saved is None:
                os.environ.pop("SIGHTSOUND_CACHE_DIR")
            else:
                os.environ["SIGHTSOUND_CACHE_DIR"] = saved
        embedded_student_folder(window)  # the real cache: SmolLM2 folder and student folder exist afterwards
        assembly, _ = timed(lambda: embedded_student_folder(window, Path(models)), 1)
    cached, _ = timed(lambda: embedded_student_folder(window), 5)
    return {"from_scratch_s": scratch, "smollm2_cached_s": assembly, "cached_s": cached}


def parameter_counts(student: Student) -> dict[str, int]:
    core = student.core

    def count(module: torch.nn.Module) -> int:
        return sum(p.numel() for p in module.parameters())

    return {"total": count(core), "audio_encoder": count(core.model.audio_tower),
            "projector": count(core.model.multi_modal_projector),
            "language_model": count(core.model.language_model), "lm_head": count(core.lm_head)}


def clips(n: int, window: int) -> list[np.ndarray]:
    return [fit_length(Speech(SENTENCES[i % len(SENTENCES)]).render(RATE), window * RATE) for i in range(n)]


def inputs(batch: PromptBatch) -> dict[str, torch.Tensor]:
    return {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask,
            "input_features": batch.input_features, "feature_attention_mask": batch.feature_attention_mask}


def prefill_and_decode(student: Student, waves: list[np.ndarray], new_tokens: int, repeats: int) -> dict[str, float]:
    prompt = student_prompt(QUESTION, CHOICES, "cot")
    features_s, batch = timed(lambda: prompt_batch(student, [prompt] * len(waves), waves), repeats)
    with torch.no_grad():
        student.core(**inputs(batch), logits_to_keep=1)  # warm-up
        prefill_s, _ = timed(lambda: student.core(**inputs(batch), logits_to_keep=1), repeats)
    options = SamplingOptions(max_new_tokens=new_tokens, min_new_tokens=new_tokens)
    sample_completions(student, student.model, batch, 1, SamplingOptions(max_new_tokens=2))  # warm-up
    sampling_s, out = timed(lambda: sample_completions(student, student.model, batch, 1, options), repeats)
    step_s = (sampling_s - prefill_s) / new_tokens
    return {"batch": len(waves), "prompt_tokens": batch.length, "features_s": features_s, "prefill_s": prefill_s,
            "sampling_s": sampling_s, "new_tokens": float(out.completion_ids.shape[1]), "ms_per_step": 1e3 * step_s,
            "tokens_per_s": len(waves) / step_s}


def sft_times(waves: list[np.ndarray], window: int, rank: int, steps: int, folder: Path) -> dict[str, float]:
    records = []
    for i, wave in enumerate(waves[:2]):
        path = folder / f"clip-{i}.wav"
        soundfile.write(path, wave, RATE)
        reasoning = "I hear a person speaking clearly, so the answer is the speech option."
        records.append(DatasetRecord(
            id=str(i), question_id=f"00000000-0000-0000-0000-{i:012d}", clip_id=f"00000000-0000-0000-0000-{i:012d}",
            audio_url=path.as_uri(), audio_path=str(path), question=QUESTION, choices=CHOICES,
            prompt=student_prompt(QUESTION, CHOICES, "cot"), target=student_target(0, reasoning),
            answer_index=0, answer_source="gold",
        ))
    hp = Hyperparameters.model_validate({"lora": {"rank": rank, "alpha": 2 * rank},
                                         "sft": {"batch_size": 2, "learning_rate": 1e-4, "warmup_ratio": 0.0}})
    accelerator = make_accelerator(hp, "cpu")
    student = wrap_for_training(load_student(EMBEDDED_MODEL_ID, audio_window_s=window), hp, accelerator)
    ctx = StageContext(accelerator, student, hp, folder / "run", MemoryMonitor())
    state = sft_setup(ctx, total_steps=100)
    sft_step(ctx, state, [records])  # warm-up
    rows = [sft_step(ctx, state, [records]) for _ in range(steps)]
    trainable = sum(p.numel() for p in student.model.parameters() if p.requires_grad)
    return {"batch": 2, "lora_rank": rank, "trainable_params": trainable,
            "sequence_tokens": rows[-1]["sequence_tokens"], "target_tokens": rows[-1]["target_tokens"],
            "step_s": float(np.median([r["step_s"] for r in rows])), "loss_first": rows[0]["loss"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, default=5, help="audio window in seconds (clips fill it)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--lora-rank", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (see the module docstring)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "embedded-student-cpu.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cpu = platform.processor() or platform.machine()
    machine = f"cpu ({os.cpu_count()} cores, {args.threads} torch threads, {cpu})"
    print(f"embedded student: PRETRAINED encoder and LM, UNTRAINED projector; {machine}; window {args.window} s")

    assemble = assemble_times(args.window)
    load_s, student = timed(lambda: load_student(EMBEDDED_MODEL_ID, audio_window_s=args.window), args.repeats)
    params = parameter_counts(student)
    waves = clips(args.batch, args.window)
    one = prefill_and_decode(student, waves[:1], args.new_tokens, args.repeats)
    many = prefill_and_decode(student, waves, args.new_tokens, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        sft = sft_times(waves, args.window, args.lora_rank, args.steps, Path(tmp))

    rows = [
        ("assemble from scratch (GGUF + CT2 -> folder)", f"{assemble['from_scratch_s']:.1f} s"),
        ("assemble, SmolLM2 folder cached", f"{assemble['smollm2_cached_s']:.1f} s"),
        ("assemble, cached (folder found)", f"{1e3 * assemble['cached_s']:.2f} ms"),
        ("load_student('embedded')", f"{load_s:.2f} s"),
        ("parameters (encoder / projector / LM / head)",
         f"{params['total'] / 1e6:.1f}M ({params['audio_encoder'] / 1e6:.1f} / {params['projector'] / 1e6:.2f} / "
         f"{params['language_model'] / 1e6:.1f} / {params['lm_head'] / 1e6:.1f})"),
        (f"features, 1 clip of {args.window} s", f"{1e3 * one['features_s']:.0f} ms"),
        (f"prefill, 1 prompt ({one['prompt_tokens']} tokens)", f"{1e3 * one['prefill_s']:.0f} ms"),
        ("decode, batch 1", f"{one['ms_per_step']:.0f} ms/token ({one['tokens_per_s']:.1f} tok/s)"),
        (f"prefill, batch {args.batch}", f"{many['prefill_s']:.2f} s"),
        (f"decode, batch {args.batch}", f"{many['ms_per_step']:.0f} ms/step ({many['tokens_per_s']:.1f} tok/s)"),
        (f"SFT step, batch 2, LoRA r{args.lora_rank} ({sft['sequence_tokens'] / 2:.0f} tokens/row)",
         f"{sft['step_s']:.2f} s"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    result = {"machine": machine, "torch": torch.__version__, "window_s": args.window, "pretrained": True,
              "projector_trained": False, "assemble": assemble, "load_s": load_s, "parameters": params,
              "batch_1": one, f"batch_{args.batch}": many, "sft": sft,
              "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
