"""The static-cache K decoder (one prefill, CUDA graphs on GPU) against transformers' own generate."""

from __future__ import annotations

import torch

from sightsound.contracts.teacher import ReasonRequest, SamplingParams
from sightsound_teacher.backends.static_decode import StaticKDecoder
from sightsound_teacher.backends.transformers_backend import TransformersBackend
from sightsound_teacher.frames import load_frames

CHOICES = ["A person speaking", "A dog barking", "Music playing", "Silence"]


def prepared(backend: TransformersBackend, frame_urls: list[str]) -> tuple[dict[str, torch.Tensor], object]:
    request = ReasonRequest(
        question="What is heard?",
        choices=CHOICES,
        frame_urls=frame_urls,
        k=3,
        sampling=SamplingParams(temperature=0.0, max_new_tokens=24),
    )
    frames = load_frames(frame_urls, 1024, "/")
    return backend.build_inputs(request, frames), backend._require()


def test_greedy_tokens_equal_generate(tiny_backend: TransformersBackend, frame_urls: list[str]) -> None:
    inputs, loaded = prepared(tiny_backend, frame_urls)
    model = loaded.model  # type: ignore[attr-defined]
    with torch.inference_mode():
        reference = model.generate(
            **inputs,
            max_new_tokens=24,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            eos_token_id=None,
            min_new_tokens=24,
        )
    expected = reference[0, inputs["input_ids"].shape[1] :]
    result = StaticKDecoder(model, use_graphs=False).decode(
        inputs, k=3, max_new_tokens=24, temperature=0.0, top_p=1.0, eos_ids=()
    )
    assert result.steps == 24 and result.tokens.shape == (3, 24)
    for row in result.tokens:
        assert row.tolist() == expected.tolist()


def test_sampling_gives_k_different_rows_and_runs_vision_once(
    tiny_backend: TransformersBackend, frame_urls: list[str]
) -> None:
    inputs, loaded = prepared(tiny_backend, frame_urls)
    model = loaded.model  # type: ignore[attr-defined]
    calls = []
    hook = model.model.visual.register_forward_hook(lambda *_: calls.append(1))
    try:
        torch.manual_seed(0)
        result = StaticKDecoder(model, use_graphs=False).decode(
            inputs, k=4, max_new_tokens=16, temperature=1.0, top_p=0.9, eos_ids=()
        )
    finally:
        hook.remove()
    assert len(calls) == 1
    rows = {tuple(r.tolist()) for r in result.tokens}
    assert len(rows) > 1  # a random model sampled at temperature 1 does not repeat itself 4 times
    assert int(result.tokens.max()) < model.config.get_text_config().vocab_size


def test_backend_graphs_mode_uses_the_static_decoder(frame_urls: list[str], media_tmp) -> None:  # type: ignore[no-untyped-def]
    backend = TransformersBackend("tiny-random", device="cpu", structured=False, decode="graphs")
    backend.load()
    request = ReasonRequest(question="What is heard?", choices=CHOICES, frame_urls=frame_urls, k=3,
                            sampling=SamplingParams(temperature=0.0, max_new_tokens=12))
    frames = load_frames(frame_urls, 1024, media_tmp)
    greedy = backend.generate(request, frames)
    eager = TransformersBackend("tiny-random", device="cpu", structured=False)
    eager.load()
    assert backend._static is not None
    assert [g.text for g in greedy] == [g.text for g in eager.generate(request, frames)]
    assert len(greedy) == 3 and all(g.prompt_tokens > 0 and g.completion_tokens > 0 for g in greedy)
