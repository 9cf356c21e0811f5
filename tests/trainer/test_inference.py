"""Student inference: a checkpoint rebuilt from its folder answers exactly as the trained model did, batching
does not change greedy answers, and the audio decides the answer (the tiny student has RANDOM weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sightsound.contracts.training import LoRASettings
from sightsound_student_model.batches import prompt_batch
from sightsound_student_model.checkpoints import CheckpointInfo, save_checkpoint
from sightsound_student_model.inference import Query, answer, load_base, load_checkpoint, user_text
from sightsound_student_model.loading import load_student
from sightsound_student_model.student import add_lora


def tone(freq: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(16_000 * seconds)) / 16_000
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noise(seed: int, seconds: float = 1.0) -> np.ndarray:
    return (0.3 * np.random.default_rng(seed).standard_normal(int(16_000 * seconds))).astype(np.float32)


QUESTION = "What is heard?"
CHOICES = ["A tone", "Noise", "Speech", "Silence"]


@pytest.fixture(scope="module")
def trained_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    """A LoRA student whose adapters and projector copy were moved away from their initial values."""
    student = load_student("tiny-random")
    torch.manual_seed(3)
    student.model = add_lora(student.model, LoRASettings(rank=4, alpha=8, dropout=0.0))
    with torch.no_grad():
        for param in student.model.parameters():
            if param.requires_grad:
                param.add_(0.05 * torch.randn_like(param))
    folder = tmp_path_factory.mktemp("ckpt") / "sft" / "step-0000001"
    info = CheckpointInfo(stage="sft", step=1, total_steps=1, complete=True, base_model="tiny-random")
    save_checkpoint(folder, student, info, None, None)
    student.model.eval()
    return folder, student.model


def test_a_checkpoint_loads_back_to_the_same_logits(trained_checkpoint) -> None:  # type: ignore[no-untyped-def]
    folder, trained = trained_checkpoint
    loaded = load_checkpoint(folder, ref="checkpoint:test")
    base = load_base("tiny-random")
    batch = prompt_batch(loaded.student, [user_text(Query(tone(440), QUESTION, CHOICES), "cot")], [tone(440)])
    inputs = dict(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                  input_features=batch.input_features, feature_attention_mask=batch.feature_attention_mask)
    with torch.no_grad():
        want = trained(**inputs).logits
        got = loaded.student.model(**inputs).logits
        untrained = base.student.model(**inputs).logits
    assert torch.allclose(got, want, atol=1e-4), float((got - want).abs().max())
    # The adapters matter: the base model's logits are far from the trained ones.
    assert float((untrained - want).abs().max()) > 1e-2


def test_batched_greedy_answers_equal_one_at_a_time() -> None:
    loaded = load_base("tiny-random")
    queries = [Query(tone(300 + 200 * i, 0.5 + 0.3 * i), QUESTION, CHOICES) for i in range(3)]
    together = answer(loaded, queries, max_new_tokens=8, batch_size=3)
    alone = [answer(loaded, [q], max_new_tokens=8)[0] for q in queries]
    assert [a.text for a in together] == [a.text for a in alone]
    for a in together:
        assert 1 <= a.completion_tokens <= 8
        assert a.prompt_tokens > 25  # the audio placeholder expanded to the clip's audio tokens
        assert a.latency_ms > 0


def test_the_audio_changes_what_the_student_says() -> None:
    loaded = load_base("tiny-random")
    texts = {answer(loaded, [Query(w, QUESTION, CHOICES)], max_new_tokens=12)[0].text
             for w in (tone(220), noise(1), np.zeros(16_000, dtype=np.float32))}
    assert len(texts) > 1


def test_a_free_question_has_no_choice_to_parse() -> None:
    loaded = load_base("tiny-random")
    result = answer(loaded, [Query(tone(440), "Describe the sound.")], max_new_tokens=6)[0]
    assert result.parsed.index is None and result.parsed.error is None
    assert "A. " not in user_text(Query(tone(440), "Describe the sound."), "cot")
