"""Trainer benchmark: the trainer's OWN step functions (``sft_step``, ``grpo_step``, ``sample_completions``)
on a student with RANDOM weights, so what is tuned here is what training runs.

- ``--size 7b``: a Qwen2-Audio-7B-sized ``AudioStudent`` built from config (bf16 on CUDA): Whisper-large
  audio tower (1280 x 32 layers, 128 mel bins) and the language model of ``--text-shape`` (``qwen-7b``:
  4096 x 32 layers, 32 KV heads, FFN 11008, which Qwen2-Audio-7B's config declares; ``qwen2-7b``: 3584 x 28,
  4 KV heads, FFN 18944, as in ``perf/student_gpu.py``), vocabulary 156,032. The token ids come from the
  SmolLM2 tokenizer (offline), which is all the speed measurement needs.
- ``--size tiny``: the test student (float32), with Whisper's real 30 s window.

LoRA rank ``--lora-rank`` (64) on every linear layer of the language model, the projector trained; clips
of ``--seconds`` (10 s) of noise and tones. Every shape is warmed up at full length before timing; GRPO
samples exactly ``--new-tokens`` per completion (end-of-sequence suppressed), so steps are comparable.

Reported: SFT tokens/s (every attended position: audio, prompt and target) and MFU = 6 x LM parameters
(language model without its input embedding, with the output head) x tokens / step time / the bf16
matmul peak measured here (fp32 on CPU) -- with LoRA the backward skips the base weights' gradients, so
real FLOPs are about 4/6 of that conventional count, and the trainer applies the output head to target
tokens only (``MFU*`` counts it there: on the tiny student the head is most of the "LM" parameters, so
its MFU is not comparable to a 7B one; the audio encoder is not counted); the data preparation share of
a step (audio features + tokenization, on the CPU); GRPO seconds per step split into rollout and
update; rollout tokens/s for ``--rollout-sequences`` x ``--new-tokens``; peak memory (CUDA: max allocated;
CPU: peak RSS of the process).

Options to tune (all map to training-run hyperparameters): ``--trim-audio`` (encoder on the clip's length,
not 30 s), ``--attn sdpa|eager|flash_attention_2``, ``--gradient-checkpointing``, ``--merge-lora``
(merged adapters while sampling), ``--static-cache``, ``--micro-batch`` (GRPO sequences per pass).

    python perf/trainer.py --size tiny --device cpu              # writes perf/results/trainer-cpu.json
    python perf/trainer.py --size 7b --device cuda --trim-audio --merge-lora --static-cache
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "services" / "trainer")]

from sightsound.contracts.training import DatasetRecord, Hyperparameters  # noqa: E402
from sightsound.snapshot.targets import student_prompt, student_target  # noqa: E402
from sightsound_student_model import tiny  # noqa: E402
from sightsound_student_model.batches import prompt_batch, record_waveforms  # noqa: E402
from sightsound_student_model.student import AudioStudent, Student, student_from_parts  # noqa: E402
from sightsound_trainer.context import MemoryMonitor, StageContext  # noqa: E402
from sightsound_trainer.grpo import grpo_setup, grpo_step  # noqa: E402
from sightsound_trainer.rollouts import SamplingOptions, sample_completions  # noqa: E402
from sightsound_trainer.setup import make_accelerator, wrap_for_training  # noqa: E402
from sightsound_trainer.sft import sft_batch, sft_setup, sft_step  # noqa: E402

TEXT_SHAPES: dict[str, dict[str, Any]] = {
    "qwen-7b": {"hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
                "num_attention_heads": 32, "num_key_value_heads": 32},
    "qwen2-7b": {"hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
                 "num_attention_heads": 28, "num_key_value_heads": 4},
}
AUDIO_7B: dict[str, Any] = {"d_model": 1280, "encoder_layers": 32, "encoder_attention_heads": 20,
                             "encoder_ffn_dim": 5120, "num_mel_bins": 128, "max_source_positions": 1500}
CHOICES = ["A person speaking", "A steady tone", "A dog barking", "Music"]


def build_student(size: str, text_shape: str, device: torch.device, attn: str) -> Student:
    tokenizer = tiny.tiny_tokenizer()
    if size == "tiny":
        model = tiny.build_tiny_student(tokenizer, window_s=30, attn_implementation=attn, model_class=AudioStudent)
        return student_from_parts(model.to(device), tiny.tiny_processor(tokenizer, window_s=30), "tiny-random")
    from transformers import Qwen2AudioConfig, Qwen2AudioProcessor, WhisperFeatureExtractor

    audio = {"model_type": "qwen2_audio_encoder", **AUDIO_7B}
    text = {"model_type": "qwen2", "vocab_size": 156032, "max_position_embeddings": 8192, "rms_norm_eps": 1e-5,
            "tie_word_embeddings": False, **TEXT_SHAPES[text_shape],
            "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id}
    config = Qwen2AudioConfig(audio_config=audio, text_config=text,
                              audio_token_index=tokenizer.convert_tokens_to_ids(tiny.AUDIO_PAD))
    config._attn_implementation = attn
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        torch.manual_seed(0)
        with device:
            model = AudioStudent(config)
    finally:
        torch.set_default_dtype(previous)
    features = WhisperFeatureExtractor(feature_size=128, sampling_rate=16_000, chunk_length=30)
    processor = Qwen2AudioProcessor(features, tokenizer, chat_template=tiny.CHAT_TEMPLATE)
    return student_from_parts(model, processor, f"random-{size}")


def lm_parameters(student: Student) -> tuple[int, int]:
    """(language-model parameters without the input embedding and without adapters, output-head parameters)."""
    core = student.core
    lm = core.model.language_model
    n = sum(p.numel() for name, p in lm.named_parameters() if "lora_" not in name and "embed_tokens" not in name)
    head = core.lm_head.weight.numel() if hasattr(core.lm_head, "weight") else 0
    return n, head


def measure_peak(device: torch.device) -> tuple[float, str]:
    """FLOP/s of a large matmul: bf16 8192^3 on CUDA, fp32 1024^3 on CPU."""
    n, dtype = (8192, torch.bfloat16) if device.type == "cuda" else (1024, torch.float32)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    reps = 10 if device.type == "cuda" else 5
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return reps * 2 * n**3 / (time.perf_counter() - start), str(dtype).removeprefix("torch.")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def peak_memory_gib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()


def make_records(folder: Path, n: int, seconds: float, target_words: int) -> list[DatasetRecord]:
    """``n`` clips of noise plus a tone, and records whose target has about ``target_words`` words of reasoning."""
    rng = np.random.default_rng(0)
    reasoning = " ".join(["the sound is steady and a voice can be heard"] * max(1, target_words // 10))
    question = "What can be heard in this clip?"
    records = []
    for i in range(n):
        t = np.arange(int(16_000 * seconds)) / 16_000
        wave = (0.1 * rng.standard_normal(t.size) + 0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t)).astype(np.float32)
        path = folder / f"clip-{i}.wav"
        soundfile.write(path, wave, 16_000)
        records.append(DatasetRecord(
            id=str(i), question_id=f"00000000-0000-0000-0000-{i:012d}", clip_id=f"00000000-0000-0000-0000-{i:012d}",
            audio_url=path.as_uri(), audio_path=str(path), question=question, choices=CHOICES,
            prompt=student_prompt(question, CHOICES, "cot"), target=student_target(i % 4, reasoning),
            answer_index=i % 4, answer_source="gold",
        ))
    return records


def bench_sft(ctx: StageContext, records: list[DatasetRecord], batch: int, steps: int, warmup: int,
              peak: float, n_body: int, n_head: int) -> dict[str, float]:
    state = sft_setup(ctx, total_steps=10_000)
    chosen = [records[: batch]]
    for _ in range(warmup):  # every step has the same full shape
        sft_step(ctx, state, chosen)
    sync(ctx.device)
    reset_peak(ctx.device)
    times, tokens = [], 0.0
    for _ in range(steps):
        began = time.perf_counter()
        metrics = sft_step(ctx, state, chosen)
        sync(ctx.device)
        times.append(time.perf_counter() - began)
        tokens = metrics["sequence_tokens"]
    began = time.perf_counter()
    for _ in range(steps):
        sft_batch(ctx, chosen[0])
    data_s = (time.perf_counter() - began) / steps
    step_s = float(np.median(times))
    targets = metrics["target_tokens"]
    # The MFU counts the output head on every token; the trainer applies it to the target tokens only.
    scored = 6 * (n_body * tokens + n_head * targets)
    return {"batch": batch, "sequence_tokens": tokens, "target_tokens": targets, "step_s": step_s,
            "tokens_per_s": tokens / step_s, "mfu": 6 * (n_body + n_head) * tokens / step_s / peak,
            "mfu_head_on_targets": scored / step_s / peak, "data_s": data_s, "data_share": data_s / step_s,
            "peak_memory_gib": peak_memory_gib(ctx.device)}


def bench_rollout(ctx: StageContext, records: list[DatasetRecord], sequences: int, group: int,
                  options: SamplingOptions) -> dict[str, float]:
    prompts_n = max(1, sequences // group)
    chosen = records[:prompts_n]
    prompts = prompt_batch(ctx.student, [r.prompt for r in chosen], record_waveforms(chosen))
    if ctx.hp.trim_audio_padding:
        prompts = prompts.trimmed()
    prompts = prompts.to(ctx.device)
    sample_completions(ctx.student, ctx.student.model, prompts, group, options)  # warm-up, full length
    sync(ctx.device)
    reset_peak(ctx.device)
    began = time.perf_counter()
    out = sample_completions(ctx.student, ctx.student.model, prompts, group, options)
    sync(ctx.device)
    seconds = time.perf_counter() - began
    generated = float(out.completion_mask.sum())
    return {"sequences": float(out.size), "new_tokens": float(options.max_new_tokens), "seconds": seconds,
            "tokens_per_s": generated / seconds, "peak_memory_gib": peak_memory_gib(ctx.device)}


def bench_grpo(ctx: StageContext, records: list[DatasetRecord], prompts: int, steps: int,
               warmup: int) -> dict[str, float]:
    state = grpo_setup(ctx)
    chosen = records[:prompts]
    for _ in range(warmup):
        grpo_step(ctx, state, chosen)
    sync(ctx.device)
    reset_peak(ctx.device)
    rows = []
    for _ in range(steps):
        rows.append(grpo_step(ctx, state, chosen))
        sync(ctx.device)
    rollout_s = float(np.median([r["rollout_s"] for r in rows]))
    update_s = float(np.median([r["update_s"] for r in rows]))
    return {"prompts": prompts, "group": ctx.hp.grpo.num_generations, "new_tokens": ctx.hp.grpo.max_new_tokens,
            "rollout_s": rollout_s, "update_s": update_s, "step_s": rollout_s + update_s,
            "rollout_tokens_per_s": float(np.median([r["rollout_tokens_per_s"] for r in rows])),
            "sequence_tokens": rows[-1]["sequence_tokens"], "peak_memory_gib": peak_memory_gib(ctx.device)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["tiny", "7b"], default="tiny")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--text-shape", choices=sorted(TEXT_SHAPES), default="qwen-7b")
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length")
    parser.add_argument("--lora-rank", type=int, default=64)
    parser.add_argument("--attn", choices=["sdpa", "eager", "flash_attention_2"], default="sdpa")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--trim-audio", action="store_true", help="run the encoder on the clip, not on 30 s")
    parser.add_argument("--merge-lora", action="store_true", help="merge adapters while sampling")
    parser.add_argument("--static-cache", action="store_true", help="static KV cache for sampling")
    parser.add_argument("--sft-batch", type=int, default=None)
    parser.add_argument("--target-words", type=int, default=None, help="reasoning words per SFT target")
    parser.add_argument("--prompts", type=int, default=None, help="GRPO prompts per step")
    parser.add_argument("--group", type=int, default=None, help="GRPO completions per prompt (G)")
    parser.add_argument("--new-tokens", type=int, default=None)
    parser.add_argument("--rollout-sequences", type=int, default=16)
    parser.add_argument("--micro-batch", type=int, default=None, help="GRPO sequences per forward/backward")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--skip", default="", help="comma list of parts to skip: sft,rollout,grpo")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    gpu = args.size == "7b"
    sft_batch_n = args.sft_batch or (8 if gpu else 4)
    target_words = args.target_words or (200 if gpu else 40)
    prompts_n = args.prompts or (8 if gpu else 2)
    group = args.group or (8 if gpu else 4)
    new_tokens = args.new_tokens or (256 if gpu else 32)
    micro_batch = args.micro_batch or (8 if gpu else None)
    skip = set(filter(None, args.skip.split(",")))
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(max(1, torch.get_num_threads()))

    hp = Hyperparameters.model_validate({
        "lora": {"rank": args.lora_rank, "alpha": 2 * args.lora_rank},
        "attn_implementation": args.attn, "gradient_checkpointing": args.gradient_checkpointing,
        "trim_audio_padding": args.trim_audio,
        "sft": {"batch_size": sft_batch_n, "max_length": 65536, "learning_rate": 1e-5},
        "grpo": {"prompts_per_step": prompts_n, "num_generations": group, "max_new_tokens": new_tokens,
                 "min_new_tokens": new_tokens, "beta": 0.04, "learning_rate": 1e-6,
                 "micro_batch_size": micro_batch, "merge_lora_for_rollouts": args.merge_lora,
                 "static_cache": args.static_cache},
    })
    peak, peak_dtype = measure_peak(device)
    accelerator = make_accelerator(hp, args.device)
    student = wrap_for_training(build_student(args.size, args.text_shape, device, args.attn), hp, accelerator)
    n_body, n_head = lm_parameters(student)
    n_lm = n_body + n_head
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    print(f"student {args.size} ({args.text_shape if gpu else 'tiny'}), RANDOM weights, LM params {n_lm / 1e6:.1f}M, "
          f"LoRA r{args.lora_rank}, {card}, {peak_dtype} matmul peak {peak / 1e12:.2f} TFLOP/s")
    result: dict[str, Any] = {
        "card": card, "size": args.size, "text_shape": args.text_shape if gpu else "tiny", "random_weights": True,
        "lm_params": n_lm, "lm_head_params": n_head, "matmul_peak_flops": peak, "matmul_peak_dtype": peak_dtype,
        "torch": torch.__version__,
        "options": {k: v for k, v in vars(args).items() if k != "out"} | {
            "sft_batch": sft_batch_n, "target_words": target_words, "prompts": prompts_n, "group": group,
            "new_tokens": new_tokens, "micro_batch": micro_batch},
    }
    with tempfile.TemporaryDirectory() as tmp:
        records = make_records(Path(tmp), max(sft_batch_n, prompts_n, args.rollout_sequences), args.seconds,
                               target_words)
        ctx = StageContext(accelerator, student, hp, Path(tmp) / "run", MemoryMonitor())
        if "sft" not in skip:
            sft = bench_sft(ctx, records, sft_batch_n, args.steps, args.warmup, peak, n_body, n_head)
            result["sft"] = sft
            print(f"\nSFT  batch {sft_batch_n} x {sft['sequence_tokens'] / sft_batch_n:.0f} tokens "
                  f"({sft['target_tokens'] / sft_batch_n:.0f} target), {args.seconds:g} s clips")
            print(f"  {'s/step':>8} {'tok/s':>9} {'MFU':>7} {'MFU*':>7} {'data':>6} {'GiB':>6}   "
                  "(MFU*: the output head counted on target tokens only)")
            print(f"  {sft['step_s']:8.3f} {sft['tokens_per_s']:9.0f} {sft['mfu']:7.1%} "
                  f"{sft['mfu_head_on_targets']:7.1%} {sft['data_share']:6.0%} {sft['peak_memory_gib']:6.1f}")
        if "rollout" not in skip:
            options = SamplingOptions(new_tokens, static_cache=args.static_cache, merge_lora=args.merge_lora,
                                      min_new_tokens=new_tokens)
            roll = bench_rollout(ctx, records, args.rollout_sequences, group, options)
            result["rollout"] = roll
            print(f"\nrollout {roll['sequences']:.0f} x {new_tokens} new tokens (LoRA"
                  f"{' merged' if args.merge_lora else ''}{', static cache' if args.static_cache else ''}): "
                  f"{roll['seconds']:.2f} s, {roll['tokens_per_s']:.0f} tok/s, {roll['peak_memory_gib']:.1f} GiB")
        if "grpo" not in skip:
            grpo = bench_grpo(ctx, records, prompts_n, args.steps, args.warmup)
            result["grpo"] = grpo
            print(f"\nGRPO {prompts_n} prompts x G={group}, {new_tokens} new tokens: rollout {grpo['rollout_s']:.2f} s"
                  f" + update {grpo['update_s']:.2f} s = {grpo['step_s']:.2f} s/step "
                  f"({grpo['rollout_tokens_per_s']:.0f} rollout tok/s, {grpo['peak_memory_gib']:.1f} GiB)")
    out = args.out or ROOT / "bench" / "results" / f"trainer-{args.device}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
