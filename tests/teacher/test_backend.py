"""The transformers backend on the tiny RANDOM Qwen2.5-VL, with real JPEG frames."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from sightsound.answers.tagged import parse_answer
from sightsound.contracts.teacher import ReasonRequest
from sightsound_teacher.backends import BackendInputError, TeacherBackend
from sightsound_teacher.backends.transformers_backend import TransformersBackend
from sightsound_teacher.frames import load_frames

MakeRequest = Callable[..., ReasonRequest]


def frames_of(urls: list[str]) -> list[Image.Image]:
    """Frames read with no media-root restriction (the backend, not the URL policy, is tested here)."""
    return load_frames(urls, 1024, "/")


def test_is_a_teacher_backend(tiny_backend: TransformersBackend) -> None:
    assert isinstance(tiny_backend, TeacherBackend)
    assert tiny_backend.ready and tiny_backend.name == "transformers" and tiny_backend.model_id == "tiny-random"


def test_prompt_holds_one_pad_token_per_vision_token(
    tiny_backend: TransformersBackend, frame_urls: list[str], make_request: MakeRequest
) -> None:
    frames = frames_of(frame_urls)
    inputs = tiny_backend.build_inputs(make_request(frame_urls), frames)
    loaded = tiny_backend._require()
    n_pad = int((inputs["input_ids"] == loaded.image_token_id).sum())
    merge = loaded.image_processor.merge_size
    assert n_pad == int(inputs["image_grid_thw"].prod(-1).sum()) // merge**2 > 0
    assert inputs["image_grid_thw"].shape[0] == len(frame_urls)
    assert int(inputs["mm_token_type_ids"].sum()) == n_pad
    text = loaded.tokenizer.decode(inputs["input_ids"][0])
    assert "C. Music playing" in text and text.count("<|vision_start|>") == len(frame_urls)


def test_k_samples_parse_and_report_costs(
    tiny_backend: TransformersBackend, frame_urls: list[str], make_request: MakeRequest, choices: list[str]
) -> None:
    request = make_request(frame_urls, k=4)
    calls: list[int] = []
    visual = tiny_backend._require().model.model.visual
    hook = visual.register_forward_hook(lambda *_: calls.append(1))
    try:
        generations = tiny_backend.generate(request, frames_of(frame_urls))
    finally:
        hook.remove()
    assert len(calls) == 1, "the vision tower runs once for all K samples"
    assert len(generations) == 4
    assert len({g.prompt_tokens for g in generations}) == 1 and generations[0].prompt_tokens > 100
    for g in generations:
        answer, error = parse_answer(g.text, choices)
        assert error is None and answer is not None, g.text
        assert "<claims>\n" in g.text and g.text.endswith("</answer>")
        assert 0 < g.completion_tokens <= request.sampling.max_new_tokens
        assert g.latency_ms > 0


def test_seed_reproduces_samples(
    tiny_backend: TransformersBackend, frame_urls: list[str], make_request: MakeRequest
) -> None:
    frames = frames_of(frame_urls)
    first = [g.text for g in tiny_backend.generate(make_request(frame_urls, k=3, seed=7), frames)]
    again = [g.text for g in tiny_backend.generate(make_request(frame_urls, k=3, seed=7), frames)]
    other = [g.text for g in tiny_backend.generate(make_request(frame_urls, k=3, seed=8), frames)]
    assert first == again
    assert first != other


def test_greedy_gives_k_identical_samples(
    tiny_backend: TransformersBackend, frame_urls: list[str], make_request: MakeRequest
) -> None:
    generations = tiny_backend.generate(make_request(frame_urls, k=3, temperature=0.0), frames_of(frame_urls))
    assert len(generations) == 3 and len({g.text for g in generations}) == 1


def test_too_few_new_tokens_for_the_format(
    tiny_backend: TransformersBackend, frame_urls: list[str], make_request: MakeRequest
) -> None:
    request = make_request(frame_urls, max_new_tokens=tiny_backend.min_new_tokens() - 1)
    with pytest.raises(BackendInputError, match="at least"):
        tiny_backend.generate(request, frames_of(frame_urls))


def test_unstructured_path_runs_and_is_not_forced(frame_urls: list[str], make_request: MakeRequest) -> None:
    backend = TransformersBackend("tiny-random", device="cpu", structured=False)
    backend.load()  # shares the process-wide model with the structured backend
    assert backend.min_new_tokens() == 1
    generations = backend.generate(make_request(frame_urls, k=2, max_new_tokens=8), frames_of(frame_urls))
    assert len(generations) == 2
    assert all(g.completion_tokens <= 8 and not g.text.startswith("<think>") for g in generations)


def test_not_loaded_backend_refuses() -> None:
    backend = TransformersBackend("tiny-random", device="cpu")
    assert not backend.ready
    with pytest.raises(RuntimeError, match="not loaded"):
        backend._require()


def test_local_model_folder_path(
    tiny_backend: TransformersBackend, frame_urls: list[str], make_request: MakeRequest, tmp_path: Path
) -> None:
    """The code path for real checkpoints (a local folder), exercised with the tiny model saved to disk."""
    loaded = tiny_backend._require()
    folder = tmp_path / "teacher"
    loaded.model.save_pretrained(folder)
    loaded.tokenizer.save_pretrained(folder)
    loaded.image_processor.save_pretrained(folder)
    backend = TransformersBackend(str(folder), device="cpu", structured=True)
    backend.load()
    assert backend._require().model is not loaded.model
    request = make_request(frame_urls, k=2)
    generations = backend.generate(request, frames_of(frame_urls))
    assert [parse_answer(g.text, request.choices)[1] for g in generations] == [None, None]
