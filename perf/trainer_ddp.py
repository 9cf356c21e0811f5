"""Trainer under DDP: the trainer's OWN ``sft_step`` and ``grpo_step`` on N processes under ``torchrun``.

The launcher runs ``torch.distributed.run --standalone --nproc_per_node=N`` on this file once per value of
``--processes`` (``1,2`` measures one GPU, then two, in the same session, so the scaling efficiency compares
like with like). Every rank builds the same student (``perf/trainer.py``'s ``build_student``: random
weights, a Qwen2-Audio-7B-sized one with ``--size 7b``), wraps it with the trainer's ``wrap_for_training``
(seeded LoRA r``--lora-rank``), and runs the trainer's step functions with the SAME per-GPU batch as the
single-GPU bench (``perf/trainer.py``): accelerate picks NCCL on GPUs and gloo on CPU, and the steps'
gradients are all-reduced by the DDP wrapper that ``sft_setup`` / ``grpo_setup`` put around the policy.
Each rank takes its own clips (weak scaling: N times the samples per step).

Reported per process count: SFT tokens/s per GPU and in all, MFU per GPU (as ``perf/trainer.py``:
6 x LM parameters x tokens / step time / the bf16 matmul peak measured on that GPU), GRPO seconds per step
split into rollout and update (the slowest rank's), the scaling efficiency against one process
(throughput at N / (N x throughput at 1)), and the replica check: a SHA-256 of every trainable tensor
(LoRA and projector) taken on each rank after the SFT steps (before GRPO's DDP wrapper re-broadcasts rank
0's weights) and after the GRPO steps, gathered to rank 0; the ranks must agree, and the weights must have
changed from the start.

NVLink multicast stays off (``NCCL_NVLS_ENABLE=0`` and friends are forced in the ranks' environment).

    python perf/trainer_ddp.py --device cpu --size tiny --processes 2          # gloo, a smoke run
    python perf/trainer_ddp.py --device cuda --size 7b --processes 1,2 --trim-audio --merge-lora --static-cache
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "services" / "trainer")]

#: Never let NCCL / PyTorch / NVSHMEM use NVLink multicast (it can take a shared host's GPUs down).
NO_MULTICAST = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1", "NVSHMEM_DISABLE_NVLS": "1"}


def _single_gpu_bench() -> Any:
    """``perf/trainer.py`` (student builder, records, peak, memory helpers), loaded by path."""
    spec = importlib.util.spec_from_file_location("perf_trainer", Path(__file__).with_name("trainer.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def adapter_digest(model: torch.nn.Module) -> str:
    """SHA-256 over every trainable tensor's name and exact bytes (equal digests: equal adapters)."""
    sha = hashlib.sha256()
    for name, param in sorted(model.named_parameters(), key=lambda kv: kv[0]):
        if param.requires_grad:
            sha.update(name.encode())
            sha.update(param.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return sha.hexdigest()


def gather(value: Any) -> list[Any]:
    """``value`` from every rank (rank order)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return [value]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, value)
    return out


def barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


# ---------------------------------------------------------------------------------------------- one rank


def rank_main(args: argparse.Namespace) -> int:
    bench = _single_gpu_bench()
    from sightsound.contracts.training import Hyperparameters
    from sightsound_trainer.context import MemoryMonitor, StageContext
    from sightsound_trainer.grpo import grpo_setup, grpo_step
    from sightsound_trainer.setup import make_accelerator, wrap_for_training
    from sightsound_trainer.sft import sft_setup, sft_step

    rank, world, local = (int(os.environ.get(k, d)) for k, d in (("RANK", 0), ("WORLD_SIZE", 1), ("LOCAL_RANK", 0)))
    if args.device == "cuda":
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    hp = Hyperparameters.model_validate({
        "lora": {"rank": args.lora_rank, "alpha": 2 * args.lora_rank},
        "attn_implementation": args.attn, "trim_audio_padding": args.trim_audio,
        # No warm-up: the first step already moves the adapters, so the replica check compares changed weights
        # (and GRPO's KL term to the adapter-free reference then has a gradient even when all rewards tie).
        "sft": {"batch_size": args.sft_batch, "max_length": 65536, "learning_rate": 1e-5, "warmup_ratio": 0.0},
        "grpo": {"prompts_per_step": args.prompts, "num_generations": args.group,
                 "max_new_tokens": args.new_tokens, "min_new_tokens": args.new_tokens, "beta": 0.04,
                 "learning_rate": 1e-6, "micro_batch_size": args.micro_batch,
                 "merge_lora_for_rollouts": args.merge_lora, "static_cache": args.static_cache},
    })
    accelerator = make_accelerator(hp, args.device)  # joins the process group (NCCL on GPU, gloo on CPU)
    assert accelerator.num_processes == world, (accelerator.num_processes, world)
    peak, peak_dtype = bench.measure_peak(device)
    student = wrap_for_training(bench.build_student(args.size, args.text_shape, device, args.attn), hp, accelerator)
    n_body, n_head = bench.lm_parameters(student)
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    backend = torch.distributed.get_backend() if torch.distributed.is_initialized() else "none"
    digests: dict[str, list[str]] = {"initial": gather(adapter_digest(student.model))}
    mine: dict[str, Any] = {"rank": rank, "card": card, "matmul_peak_flops": peak}

    with tempfile.TemporaryDirectory() as tmp:
        per_rank = max(args.sft_batch, args.prompts)
        records = bench.make_records(Path(tmp), per_rank * world, args.seconds, args.target_words)
        ctx = StageContext(accelerator, student, hp, Path(tmp) / "run", MemoryMonitor())

        # SFT: the trainer's step on this rank's own batch; DDP all-reduces the adapters' gradients.
        sft_records = [records[rank * args.sft_batch:(rank + 1) * args.sft_batch]]
        state = sft_setup(ctx, total_steps=10_000)
        for _ in range(args.warmup):
            sft_step(ctx, state, sft_records)
        bench.sync(device)
        bench.reset_peak(device)
        times, metrics = [], {}
        for _ in range(args.steps):
            barrier()
            began = time.perf_counter()
            metrics = sft_step(ctx, state, sft_records)
            bench.sync(device)
            times.append(time.perf_counter() - began)
        step_s = float(np.median(times))
        tokens = metrics["sequence_tokens"]
        mine["sft"] = {"step_s": step_s, "sequence_tokens": tokens, "target_tokens": metrics["target_tokens"],
                       "tokens_per_s": tokens / step_s, "mfu": 6 * (n_body + n_head) * tokens / step_s / peak,
                       "loss": metrics["loss"], "peak_memory_gib": bench.peak_memory_gib(device)}
        # Before grpo_setup: its DDP wrapper would broadcast rank 0's weights and hide a divergence.
        digests["after_sft"] = gather(adapter_digest(student.model))
        del state

        # GRPO: rollout with audio on this rank's prompts, then the update (gradients all-reduced).
        grpo_records = records[rank * args.prompts:(rank + 1) * args.prompts]
        grpo_state = grpo_setup(ctx)
        for _ in range(args.warmup):
            grpo_step(ctx, grpo_state, grpo_records)
        bench.sync(device)
        bench.reset_peak(device)
        rows, walls = [], []
        for _ in range(args.steps):
            barrier()
            began = time.perf_counter()
            rows.append(grpo_step(ctx, grpo_state, grpo_records))
            bench.sync(device)
            walls.append(time.perf_counter() - began)
        mine["grpo"] = {
            "rollout_s": float(np.median([r["rollout_s"] for r in rows])),
            "update_s": float(np.median([r["update_s"] for r in rows])),
            "step_s": float(np.median(walls)),
            "rollout_tokens_per_s": float(np.median([r["rollout_tokens_per_s"] for r in rows])),
            "sequence_tokens": rows[-1]["sequence_tokens"], "generated_tokens": rows[-1]["generated_tokens"],
            "peak_memory_gib": bench.peak_memory_gib(device),
        }
        digests["after_grpo"] = gather(adapter_digest(student.model))

    ranks = gather(mine)
    if rank == 0:
        import accelerate
        import peft
        import transformers

        result = {
            "processes": world, "backend": backend, "card": card, "cards": [r["card"] for r in ranks],
            "lm_params": n_body + n_head, "lm_head_params": n_head,
            "matmul_peak_flops": [r["matmul_peak_flops"] for r in ranks], "matmul_peak_dtype": peak_dtype,
            "torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
            "accelerate": accelerate.__version__, "ranks": ranks,
            "sft": summarize_sft(ranks), "grpo": summarize_grpo(ranks),
            "adapter_digests": digests,
            "adapters_identical": all(len(set(d)) == 1 for d in digests.values()),
            "adapters_changed": digests["after_sft"][0] != digests["initial"][0]
            and digests["after_grpo"][0] != digests["after_sft"][0],
        }
        Path(args.result).write_text(json.dumps(result, indent=2) + "\n")
    barrier()
    return 0


def summarize_sft(ranks: list[dict[str, Any]]) -> dict[str, float]:
    step_s = max(r["sft"]["step_s"] for r in ranks)  # the slowest rank sets the pace
    tokens = sum(r["sft"]["sequence_tokens"] for r in ranks)
    return {"step_s": step_s, "tokens_per_s": tokens / step_s, "tokens_per_s_per_gpu": tokens / step_s / len(ranks),
            "mfu_per_gpu": float(np.mean([r["sft"]["mfu"] for r in ranks])),
            "sequence_tokens_per_gpu": ranks[0]["sft"]["sequence_tokens"],
            "target_tokens_per_gpu": ranks[0]["sft"]["target_tokens"],
            "peak_memory_gib": max(r["sft"]["peak_memory_gib"] for r in ranks)}


def summarize_grpo(ranks: list[dict[str, Any]]) -> dict[str, float]:
    keys = ("rollout_s", "update_s", "step_s", "peak_memory_gib")
    slowest = {key: max(r["grpo"][key] for r in ranks) for key in keys}
    return slowest | {
        "rollout_tokens_per_s_per_gpu": float(np.mean([r["grpo"]["rollout_tokens_per_s"] for r in ranks])),
        "generated_tokens_per_gpu": ranks[0]["grpo"]["generated_tokens"]}


# ---------------------------------------------------------------------------------------------- launcher


def launch(args: argparse.Namespace, forwarded: list[str], processes: int, result: Path) -> dict[str, Any]:
    """One ``torchrun`` of ``processes`` ranks (``forwarded``: this command's options); rank 0's summary."""
    env = {**os.environ, **NO_MULTICAST, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
    if args.device == "cpu":
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // processes))
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
            str(Path(__file__).resolve()), *forwarded, "--rank-worker", "--result", str(result)]
    began = time.perf_counter()
    done = subprocess.run(argv, env=env, check=False, timeout=args.timeout)
    if done.returncode != 0:
        raise SystemExit(f"torchrun with {processes} processes exited with {done.returncode}")
    summary: dict[str, Any] = json.loads(result.read_text())
    summary["wall_s"] = time.perf_counter() - began
    return summary


def print_table(runs: dict[str, dict[str, Any]], scaling: dict[str, dict[str, float]]) -> None:
    print(f"\n{'procs':>5} {'backend':>7} {'SFT s/step':>10} {'tok/s/GPU':>10} {'tok/s all':>10} {'MFU/GPU':>8} "
          f"{'rollout s':>9} {'update s':>9} {'GRPO s':>8} {'GiB':>6} {'scale SFT':>9} {'scale GRPO':>10} "
          f"{'same adapters':>13}")
    for n, run in runs.items():
        sft, grpo, sc = run["sft"], run["grpo"], scaling.get(n, {})
        gib = max(sft["peak_memory_gib"], grpo["peak_memory_gib"])
        print(f"{n:>5} {run['backend']:>7} {sft['step_s']:10.3f} {sft['tokens_per_s_per_gpu']:10.0f} "
              f"{sft['tokens_per_s']:10.0f} {sft['mfu_per_gpu']:8.1%} {grpo['rollout_s']:9.2f} "
              f"{grpo['update_s']:9.2f} {grpo['step_s']:8.2f} {gib:6.1f} "
              f"{sc.get('sft', float('nan')):9.1%} {sc.get('grpo', float('nan')):10.1%} "
              f"{run['adapters_identical']!s:>13}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="2", help="comma list of process counts, measured in order (1,2)")
    parser.add_argument("--size", choices=["tiny", "7b"], default="tiny")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--text-shape", default="qwen-7b")
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length")
    parser.add_argument("--lora-rank", type=int, default=64)
    parser.add_argument("--attn", choices=["sdpa", "eager", "flash_attention_2"], default="sdpa")
    parser.add_argument("--trim-audio", action="store_true", help="run the encoder on the clip, not on 30 s")
    parser.add_argument("--merge-lora", action="store_true", help="merge adapters while sampling")
    parser.add_argument("--static-cache", action="store_true", help="static KV cache for sampling")
    parser.add_argument("--sft-batch", type=int, default=None, help="SFT sequences per GPU per step")
    parser.add_argument("--target-words", type=int, default=None)
    parser.add_argument("--prompts", type=int, default=None, help="GRPO prompts per GPU per step")
    parser.add_argument("--group", type=int, default=None, help="GRPO completions per prompt (G)")
    parser.add_argument("--new-tokens", type=int, default=None)
    parser.add_argument("--micro-batch", type=int, default=None, help="GRPO sequences per forward/backward")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=None, help="seconds allowed for each torchrun")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--rank-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", default=None, help=argparse.SUPPRESS)
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(raw)
    gpu = args.size == "7b"  # the single-GPU bench's per-GPU batch (perf/trainer.py's defaults)
    args.sft_batch = args.sft_batch or (8 if gpu else 4)
    args.target_words = args.target_words or (200 if gpu else 40)
    args.prompts = args.prompts or (8 if gpu else 2)
    args.group = args.group or (8 if gpu else 4)
    args.new_tokens = args.new_tokens or (256 if gpu else 32)
    args.micro_batch = args.micro_batch or (8 if gpu else None)
    if args.rank_worker:
        return rank_main(args)

    counts = [int(n) for n in args.processes.split(",") if n.strip()]
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            print(f"== {n} process{'es' if n > 1 else ''} ({args.device}, {args.size})", flush=True)
            runs[str(n)] = launch(args, raw, n, Path(tmp) / f"result-{n}.json")
    scaling: dict[str, dict[str, float]] = {}
    if "1" in runs:
        one = runs["1"]
        for name, run in runs.items():
            scaling[name] = {"sft": run["sft"]["tokens_per_s"] / (int(name) * one["sft"]["tokens_per_s"]),
                             # the same prompts per GPU: N x the samples in step_s
                             "grpo": one["grpo"]["step_s"] / run["grpo"]["step_s"]}
    first = next(iter(runs.values()))
    result = {
        "what": "the trainer's sft_step and grpo_step under torchrun/DDP, RANDOM weights (speed only)",
        "card": first["card"], "device": args.device, "size": args.size,
        "text_shape": args.text_shape if gpu else "tiny", "random_weights": True,
        "options": {k: v for k, v in vars(args).items() if k not in ("out", "rank_worker", "result")},
        "runs": runs, "scaling_efficiency": scaling,
        "adapters_identical": all(r["adapters_identical"] for r in runs.values()),
        "adapters_changed": all(r["adapters_changed"] for r in runs.values()),
        "pending": [] if any(int(n) > 1 for n in runs) else ["2-process run (needs a 2-GPU machine)"],
    }
    print(f"student {args.size}, RANDOM weights, LM params {first['lm_params'] / 1e6:.1f}M, LoRA r{args.lora_rank}, "
          f"{first['card']}; per GPU: SFT batch {args.sft_batch}, GRPO {args.prompts} prompts x G={args.group} x "
          f"{args.new_tokens} new tokens")
    print_table(runs, scaling)
    out = args.out or ROOT / "perf" / "results" / f"trainer-ddp-{args.device}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nadapters identical on every rank: {result['adapters_identical']}; changed by the steps: "
          f"{result['adapters_changed']}\nwrote {out}")
    return 0 if result["adapters_identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
