"""Student training speed on a GPU: SFT (LoRA) throughput and MFU, GRPO rollout and update times.

Builds a Qwen2-Audio-7B-sized ``Qwen2AudioForConditionalGeneration`` from config with RANDOM weights
(bf16; Whisper-large-v3-sized audio tower, Qwen2-7B language model), LoRA rank 64 on every linear
layer of the language model (peft), 10 s clips (250 audio tokens after pooling) and 300 text tokens.

SFT variants, measured side by side:
- ``baseline``: the straightforward step: the audio tower runs all 1,500 positions of Whisper's 30 s
  padding through the model's own forward, gradient checkpointing on, batch 4;
- ``tuned``: the audio tower runs only the clip's positions (10 s: 500 before pooling) under
  ``no_grad`` (it is frozen), no gradient checkpointing, logits only at the text positions, batch B.

MFU = 6 x language-model parameters (without the input embedding) x tokens per step / step time /
the card's bf16 matmul peak, measured here with a 8192^3 product. With LoRA the backward pass skips
the base weights' gradients, so real FLOPs are about 4/6 of that count: the 6x figure is the
conventional one the issue asks for.

GRPO: rollouts of 16 x 256 tokens with the LoRA adapter merged (eager ``generate`` and static cache +
torch.compile), and one full step of 8 prompts x G=8 (rollout + policy/reference forward-backward),
with the reference being the same model with the adapter disabled.

    python perf/student_gpu.py --out perf/results/trainer-h100.json
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from transformers import Qwen2AudioConfig, Qwen2AudioForConditionalGeneration

AUDIO_TOKENS_10S = 250
MEL_FRAMES_10S = 1000


def config_7b(size: str) -> Qwen2AudioConfig:
    if size == "tiny":
        audio = {"d_model": 64, "encoder_layers": 2, "encoder_attention_heads": 2, "encoder_ffn_dim": 128,
                 "num_mel_bins": 128, "max_source_positions": 1500}
        text = {"model_type": "qwen2", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 4096}
    else:
        audio = {"d_model": 1280, "encoder_layers": 32, "encoder_attention_heads": 20, "encoder_ffn_dim": 5120,
                 "num_mel_bins": 128, "max_source_positions": 1500}
        text = {"model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
                "num_attention_heads": 28, "num_key_value_heads": 4, "vocab_size": 156032,
                "max_position_embeddings": 8192, "rope_theta": 10000.0}
    audio_token = 151646 if size == "7b" else 4093
    return Qwen2AudioConfig(audio_config=audio, text_config=text, audio_token_index=audio_token)


def build(size: str, device: torch.device) -> Any:
    from peft import LoraConfig, get_peft_model

    cfg = config_7b(size)
    cfg._attn_implementation = "sdpa"
    torch.manual_seed(0)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with device:
            model = Qwen2AudioForConditionalGeneration(cfg)
    finally:
        torch.set_default_dtype(previous)
    lora = LoraConfig(
        r=64, lora_alpha=128, lora_dropout=0.0,
        target_modules=r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)",
    )  # fmt: skip
    return get_peft_model(model, lora)


def lm_params(model: Any) -> int:
    base = model.base_model.model
    lm = base.model.language_model
    n = sum(p.numel() for n_, p in lm.named_parameters() if "lora_" not in n_ and "embed_tokens" not in n_)
    return n + base.lm_head.weight.numel()


def measure_peak(device: torch.device) -> float:
    if device.type != "cuda":
        return float("nan")
    a = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(10):
        a @ b
    torch.cuda.synchronize()
    return 10 * 2 * 8192**3 / (time.perf_counter() - start)


def encode_audio(model: Any, features: torch.Tensor, mel_frames: int) -> torch.Tensor:
    """The frozen audio tower + projector over the first ``mel_frames`` frames only (no 30 s padding)."""
    base = model.base_model.model
    tower = base.model.audio_tower
    x = F.gelu(tower.conv1(features[..., :mel_frames].to(tower.conv1.weight.dtype)))
    x = F.gelu(tower.conv2(x)).permute(0, 2, 1)
    x = x + tower.embed_positions.weight[: x.shape[1]]
    for layer in tower.layers:
        x = layer(x, None)
    x = tower.avg_pooler(x.permute(0, 2, 1)).permute(0, 2, 1)
    return base.model.multi_modal_projector(tower.layer_norm(x))


@dataclass
class SftRow:
    variant: str
    batch: int
    grad_checkpointing: bool
    encoder_positions: int
    step_s: float
    tokens_per_s: float
    mfu: float
    peak_memory_gib: float


def sft_step_tuned(model: Any, features: torch.Tensor, ids: torch.Tensor, mel: int) -> torch.Tensor:
    base = model.base_model.model
    with torch.no_grad():
        audio = encode_audio(model, features, mel)
    text = base.model.language_model.embed_tokens(ids)
    embeds = torch.cat([audio, text], dim=1)
    hidden = base.model.language_model(inputs_embeds=embeds, use_cache=False).last_hidden_state
    logits = base.lm_head(hidden[:, audio.shape[1] : -1])
    return F.cross_entropy(logits.float().flatten(0, 1), ids[:, 1:].flatten())


def sft_step_baseline(model: Any, features: torch.Tensor, ids: torch.Tensor, audio_id: int) -> torch.Tensor:
    """The model's own forward: all 1,500 encoder positions (the 30 s padding), the audio tokens spliced in."""
    b = ids.shape[0]
    audio_ids = torch.full((b, AUDIO_TOKENS_10S), audio_id, device=ids.device, dtype=ids.dtype)
    input_ids = torch.cat([audio_ids, ids], dim=1)
    mask = torch.zeros((b, features.shape[-1]), device=ids.device, dtype=torch.long)
    mask[:, :MEL_FRAMES_10S] = 1
    labels = torch.cat([torch.full_like(audio_ids, -100), ids], dim=1)
    out = model(input_ids=input_ids, input_features=features, feature_attention_mask=mask, labels=labels)
    return out.loss  # type: ignore[no-any-return]


def time_sft(model: Any, device: torch.device, variant: str, batch: int, text_len: int, steps: int,
             checkpointing: bool, peak: float, n_lm: int, audio_id: int) -> SftRow:
    vocab = model.base_model.model.config.text_config.vocab_size
    features = torch.randn(batch, 128, 3000, device=device)
    ids = torch.randint(0, min(vocab - 3, 150000), (batch, text_len), device=device)
    base = model.base_model.model
    if checkpointing:
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    else:
        base.gradient_checkpointing_disable()
    model.train()
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5,
                              fused=device.type == "cuda")

    def step() -> None:
        if variant == "tuned":
            loss = sft_step_tuned(model, features, ids, MEL_FRAMES_10S)
        else:
            loss = sft_step_baseline(model, features, ids, audio_id)
        loss.backward()
        optim.step()
        optim.zero_grad(set_to_none=True)

    for _ in range(3):  # warm-up at full shape
        step()
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    step_s = (time.perf_counter() - start) / steps
    tokens = batch * (AUDIO_TOKENS_10S + text_len)
    peak_mem = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
    return SftRow(variant, batch, checkpointing, 1500 if variant == "baseline" else MEL_FRAMES_10S // 2, step_s,
                  tokens / step_s, 6 * n_lm * tokens / step_s / peak, peak_mem)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@dataclass
class RolloutRow:
    decoder: str
    sequences: int
    new_tokens: int
    seconds: float
    tokens_per_s: float
    ms_per_step: float


def rollout(model: Any, device: torch.device, sequences: int, new_tokens: int, prompt_text: int,
            decoder: str, audio_special: list[int]) -> RolloutRow:
    base = model.base_model.model
    vocab = base.config.text_config.vocab_size
    features = torch.randn(sequences, 128, 3000, device=device)
    ids = torch.randint(0, min(vocab - 3, 150000), (sequences, prompt_text), device=device)
    model.eval()
    model.merge_adapter()
    try:
        with torch.inference_mode():
            embeds = torch.cat([encode_audio(model, features, MEL_FRAMES_10S),
                                base.model.language_model.embed_tokens(ids)], dim=1)
            kwargs: dict[str, Any] = {
                "inputs_embeds": embeds,
                "attention_mask": torch.ones(embeds.shape[:2], device=device, dtype=torch.long),
                "max_new_tokens": new_tokens, "min_new_tokens": new_tokens, "do_sample": True, "temperature": 1.0,
                "top_p": 1.0, "top_k": 0, "bad_words_ids": [[t] for t in audio_special], "eos_token_id": None,
                "pad_token_id": 0,
            }  # fmt: skip
            if decoder == "static-compiled":
                kwargs["cache_implementation"] = "static"

            def run(n: int) -> None:
                base.generate(**{**kwargs, "max_new_tokens": n, "min_new_tokens": n})

            run(new_tokens)  # warm-up at full length (and compilation)
            run(new_tokens)
            sync(device)
            start = time.perf_counter()
            run(1)
            sync(device)
            prefill = time.perf_counter() - start
            start = time.perf_counter()
            run(new_tokens)
            sync(device)
            seconds = time.perf_counter() - start
    finally:
        model.unmerge_adapter()
    return RolloutRow(decoder, sequences, new_tokens, seconds, sequences * new_tokens / seconds,
                      (seconds - prefill) / (new_tokens - 1) * 1000)


def grpo_step(model: Any, device: torch.device, prompts: int, group: int, new_tokens: int, prompt_text: int,
              micro: int, audio_special: list[int]) -> dict[str, float]:
    """One GRPO step's cost: rollout of prompts x group, then reference + policy forward/backward."""
    row = rollout(model, device, prompts * group, new_tokens, prompt_text, "eager", audio_special)
    base = model.base_model.model
    vocab = base.config.text_config.vocab_size
    seqs = prompts * group
    features = torch.randn(seqs, 128, 3000, device=device)
    ids = torch.randint(0, min(vocab - 3, 150000), (seqs, prompt_text + new_tokens), device=device)
    advantages = torch.randn(seqs, device=device)
    model.train()
    base.gradient_checkpointing_disable()
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6,
                              fused=device.type == "cuda")

    def logprobs(batch_ids: torch.Tensor, batch_features: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            audio = encode_audio(model, batch_features, MEL_FRAMES_10S)
        text = base.model.language_model.embed_tokens(batch_ids)
        hidden = base.model.language_model(inputs_embeds=torch.cat([audio, text], 1), use_cache=False)
        h = hidden.last_hidden_state[:, audio.shape[1] + prompt_text - 1 : -1]
        logits = base.lm_head(h).float()
        return torch.gather(logits.log_softmax(-1), -1, batch_ids[:, prompt_text:, None]).squeeze(-1)

    def update() -> None:
        for start in range(0, seqs, micro):
            sl = slice(start, start + micro)
            with torch.no_grad(), model.disable_adapter():
                ref = logprobs(ids[sl], features[sl])  # the audio reaches the reference pass too
            new = logprobs(ids[sl], features[sl])
            old = new.detach()
            ratio = torch.exp(new - old)
            adv = advantages[sl, None]
            loss = -torch.min(ratio * adv, ratio.clamp(0.8, 1.2) * adv)
            kl = torch.exp(ref - new) - (ref - new) - 1
            ((loss + 0.04 * kl).mean() * micro / seqs).backward()
        optim.step()
        optim.zero_grad(set_to_none=True)

    update()  # warm-up
    sync(device)
    start = time.perf_counter()
    update()
    sync(device)
    update_s = time.perf_counter() - start
    return {"rollout_s": row.seconds, "update_s": update_s, "step_s": row.seconds + update_s,
            "rollout_tokens_per_s": row.tokens_per_s, "sequences": seqs, "new_tokens": new_tokens}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=["tiny", "7b"], default="7b")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batches", default="8,16")
    parser.add_argument("--text-tokens", type=int, default=300)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--skip", default="", help="comma list of parts to skip: sft,rollout,grpo")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    device = torch.device(args.device)
    skip = set(filter(None, args.skip.split(",")))

    peak = measure_peak(device)
    model = build(args.size, device)
    n_lm = lm_params(model)
    audio_id = model.base_model.model.config.audio_token_index
    audio_special = [audio_id, audio_id + 1, audio_id + 2]
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"student {args.size} Qwen2-Audio (RANDOM weights), LM params {n_lm / 1e9:.2f}B, LoRA r64, {card}, "
          f"bf16 peak {peak / 1e12:.0f} TFLOP/s")
    result: dict[str, Any] = {"card": card, "size": args.size, "random_weights": True, "lm_params": n_lm,
                              "bf16_peak_flops": peak, "torch": torch.__version__}
    if "sft" not in skip:
        rows = [time_sft(model, device, "baseline", 4, args.text_tokens, args.steps, True, peak, n_lm, audio_id)]
        for b in (int(x) for x in args.batches.split(",")):
            rows.append(time_sft(model, device, "tuned", b, args.text_tokens, args.steps, False, peak, n_lm,
                                 audio_id))
        print(f"\nSFT, 10 s clips ({AUDIO_TOKENS_10S} audio + {args.text_tokens} text tokens)")
        print(f"{'variant':9} {'batch':>5} {'ckpt':>5} {'enc pos':>7} {'s/step':>7} {'tok/s':>8} {'MFU':>6} {'GiB':>6}")
        for r in rows:
            print(f"{r.variant:9} {r.batch:5d} {r.grad_checkpointing!s:>5} {r.encoder_positions:7d} {r.step_s:7.3f} "
                  f"{r.tokens_per_s:8.0f} {r.mfu:6.1%} {r.peak_memory_gib:6.1f}")
        best = max(rows[1:], key=lambda r: r.mfu)
        print(f"tuned (batch {best.batch}) vs baseline: {best.tokens_per_s / rows[0].tokens_per_s:.2f}x tokens/s")
        result["sft"] = [asdict(r) for r in rows]
    if "rollout" not in skip:
        rrows = [rollout(model, device, 16, 256, 50, d, audio_special) for d in ("eager", "static-compiled")]
        print("\nGRPO rollouts, LoRA merged, 16 sequences x 256 new tokens")
        for rr in rrows:
            print(f"{rr.decoder:16} {rr.seconds:7.2f} s {rr.tokens_per_s:8.0f} tok/s {rr.ms_per_step:7.2f} ms/step")
        result["rollouts"] = [asdict(r) for r in rrows]
    if "grpo" not in skip:
        g = grpo_step(model, device, 8, 8, 256, 50, 8, audio_special)
        print(f"\nGRPO step, 8 prompts x G=8, 256 new tokens: rollout {g['rollout_s']:.2f} s + update "
              f"{g['update_s']:.2f} s = {g['step_s']:.2f} s")
        result["grpo_step"] = g
    if device.type == "cuda":
        result["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
