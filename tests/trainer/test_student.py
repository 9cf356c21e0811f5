"""The tiny student, its processor (``audio=``), loading by name or folder, and loads that must fail."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from sightsound_student_model.batches import prompt_batch
from sightsound_student_model.loading import load_student
from sightsound_student_model.student import StudentLoadError
from sightsound_student_model.tiny import AUDIO_TOKENS
from sightsound_trainer.rollouts import SamplingOptions, sample_completions


@pytest.fixture(scope="module")
def student():  # type: ignore[no-untyped-def]
    return load_student("tiny-random")


def tone(freq: float, seconds: float) -> np.ndarray:
    t = np.arange(int(16_000 * seconds)) / 16_000
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_tiny_student_is_a_qwen2_audio_with_the_audio_tokens(student) -> None:  # type: ignore[no-untyped-def]
    core = student.core
    assert type(core).__mro__[1].__name__ == "Qwen2AudioForConditionalGeneration"
    assert core.config.audio_config.d_model == 64 and core.config.audio_config.encoder_layers == 2
    assert core.config.audio_config.num_mel_bins == 80
    assert core.config.audio_token_id == student.tokenizer.convert_tokens_to_ids("<|AUDIO|>")
    assert set(student.audio_token_ids) == {student.tokenizer.convert_tokens_to_ids(t) for t in AUDIO_TOKENS}
    assert student.tokenizer.convert_tokens_to_ids("<|im_end|>") in student.stop_token_ids
    assert sum(p.numel() for p in core.parameters()) < 20_000_000


def test_the_processor_takes_each_clip_with_audio_keyword(student) -> None:  # type: ignore[no-untyped-def]
    batch = prompt_batch(student, ["What is heard?"] * 3, [tone(440, 1.0), tone(880, 1.0), tone(440, 0.5)])
    feats = batch.input_features
    assert feats.shape[:2] == (3, 80)
    assert not torch.allclose(feats[0], feats[1])  # different clips, different features (not `audios=`)
    audio_id = student.core.config.audio_token_id
    counts = (batch.input_ids == audio_id).sum(-1).tolist()
    assert counts[0] == counts[1] == 25 and counts[2] == 12  # 1 s -> 25 audio tokens, 0.5 s -> 12
    assert (batch.attention_mask[:, -1] == 1).all()  # left padding: every prompt ends at the same column


def test_logits_to_keep_matches_the_full_forward(student) -> None:  # type: ignore[no-untyped-def]
    batch = prompt_batch(student, ["Is it loud?"], [tone(300, 1.0)])
    inputs = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask,
              "input_features": batch.input_features, "feature_attention_mask": batch.feature_attention_mask}
    with torch.no_grad():
        full = student.core(**inputs).logits
        last = student.core(**inputs, logits_to_keep=1).logits
    assert last.shape[1] == 1 and torch.allclose(full[:, -1:], last, atol=1e-5)


def test_sampling_never_emits_audio_tokens(student) -> None:  # type: ignore[no-untyped-def]
    head = student.core.lm_head.weight
    saved = head.data.clone()
    try:
        hidden = head.shape[1]
        for token in student.audio_token_ids:  # make the audio tokens the model's favourite output
            head.data[token] = 5.0 * torch.ones(hidden)
        batch = prompt_batch(student, ["What is heard?"], [tone(440, 1.0)])
        rollout = sample_completions(student, student.model, batch, 4, SamplingOptions(max_new_tokens=6))
        assert not torch.isin(rollout.completion_ids, torch.tensor(student.audio_token_ids)).any()
    finally:
        head.data.copy_(saved)


def test_a_saved_student_folder_loads_like_a_hub_model(student, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    student.core.save_pretrained(tmp_path)
    student.processor.save_pretrained(tmp_path)
    loaded = load_student(str(tmp_path))
    assert type(loaded.core).__name__ == "AudioStudent"
    for (name, a), (_, b) in zip(student.core.state_dict().items(), loaded.core.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert loaded.audio_token_ids == student.audio_token_ids


def test_a_student_that_does_not_load_fails_fast_with_the_reason(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(StudentLoadError, match="does not exist"):
        load_student(str(tmp_path / "no-such-model"))
    (tmp_path / "llama").mkdir()
    (tmp_path / "llama" / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(StudentLoadError, match="Qwen2-Audio-family"):
        load_student(str(tmp_path / "llama"))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    with pytest.raises(StudentLoadError, match="could not read the config"):
        load_student(str(tmp_path / "broken"))
    with pytest.raises(StudentLoadError):
        load_student("no-such-org/no-such-model-offline")  # HF_HUB_OFFLINE=1: no network wait
    assert time.monotonic() - started < 30


def test_trimming_the_whisper_padding_keeps_the_log_probs(student) -> None:  # type: ignore[no-untyped-def]
    from sightsound_student_model.audio_window import allow_short_audio
    from sightsound_student_model.batches import target_batch
    from sightsound_trainer.scoring import CompletionScorer, score

    prompts = prompt_batch(student, ["What is heard?"] * 2, [tone(440, 1.0), tone(300, 0.6)])
    trimmed = prompts.trimmed()
    assert trimmed.input_features.shape[-1] == 104 < prompts.input_features.shape[-1] == 200
    targets = ["<think>a tone</think><answer>B</answer>"] * 2
    scorer = CompletionScorer(student.model)
    with torch.no_grad():
        full = score(scorer, target_batch(student, prompts, targets, 512))
        allow_short_audio(student.core.model.audio_tower)
        short = score(scorer, target_batch(student, trimmed, targets, 512))
    assert torch.allclose(full, short, atol=2e-2), (full - short).abs().max()
