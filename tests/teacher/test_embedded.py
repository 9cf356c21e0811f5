"""The embedded teacher with its real shipped weights, offline: a generated clip's frames -> EfficientNet-Lite0
tags -> SmolLM2-135M-Instruct -> K structured chains of thought that parse. Few tokens keep it quick."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sightsound.config import Settings
from sightsound.contracts.teacher import ReasonRequest, ReasonResponse
from sightsound.demoset import DEMO_CHOICES, DEMO_QUESTION, demo_clip
from sightsound.media.ingest import extract_frames
from sightsound_teacher.app import create_app
from sightsound_teacher.backends.embedded_backend import EMBEDDED_MODEL_ID, EmbeddedBackend
from sightsound_teacher.frames import load_frames
from sightsound_teacher.parsing import parse_answer
from sightsound_teacher.prompt import PROMPT_VERSION_TAGS

pytestmark = pytest.mark.slow
MakeRequest = Callable[..., ReasonRequest]


@pytest.fixture(scope="module")
def embedded() -> EmbeddedBackend:
    backend = EmbeddedBackend(device="cpu", structured=True)
    backend.load()
    return backend


@pytest.fixture(scope="module")
def clip_frame_urls(media_dir: Path) -> list[str]:
    """Three frames of the README demo clip (a drawn scene, espeak-ng speech), as media-root JPEGs."""
    folder = media_dir / "demo-clip"
    folder.mkdir()
    clip = demo_clip(folder / "demo.mp4")
    urls = []
    for i, frame in enumerate(extract_frames(clip, 3, 224)):
        path = folder / f"{i:03d}.jpg"
        frame.save(path, format="JPEG", quality=90)
        urls.append(path.as_uri())
    return urls


def request_for(urls: list[str], k: int, max_new_tokens: int, seed: int = 0) -> ReasonRequest:
    return ReasonRequest.model_validate(
        {
            "question": DEMO_QUESTION,
            "choices": list(DEMO_CHOICES),
            "frame_urls": urls,
            "k": k,
            "sampling": {"temperature": 0.8, "top_p": 0.95, "max_new_tokens": max_new_tokens, "seed": seed},
        }
    )


def test_k_parseable_samples_from_a_real_clip(
    embedded: EmbeddedBackend, clip_frame_urls: list[str], media_dir: Path
) -> None:
    frames = load_frames(clip_frame_urls, 1024, media_dir)
    tags = embedded.frame_tags(frames)
    assert len(tags) == 3 and all(len(row) == 3 and row[0].endswith("%)") for row in tags)
    max_new = embedded.min_new_tokens() + 12
    request = request_for(clip_frame_urls, k=2, max_new_tokens=max_new)
    prompt = embedded.build_inputs(request, frames)["input_ids"]
    text = embedded._tokenizer.decode(prompt[0])
    assert "Frame 1: " + ", ".join(tags[0]) in text and "A. A person speaking" in text
    generations = embedded.generate(request, frames)
    assert len(generations) == 2
    for g in generations:
        answer, error = parse_answer(g.text, request.choices)
        assert error is None and answer is not None, g.text
        assert g.text.startswith("<think>") and "<claims>\n" in g.text and g.text.endswith("</answer>")
        assert g.prompt_tokens == prompt.shape[1] and 0 < g.completion_tokens <= max_new


def test_embedded_teacher_through_the_app(
    embedded: EmbeddedBackend, clip_frame_urls: list[str], media_dir: Path
) -> None:
    settings = Settings(environment="test", media_root=media_dir, teacher_backend="embedded")
    with TestClient(create_app(settings, backend=embedded)) as client:
        ready = client.get("/readyz").json()
        body = request_for(clip_frame_urls, k=2, max_new_tokens=embedded.min_new_tokens() + 4).model_dump()
        response = client.post("/v1/reason", json=body)
    assert ready == {"status": "ready", "model": EMBEDDED_MODEL_ID, "backend": "embedded"}
    assert response.status_code == 200, response.text
    result = ReasonResponse.model_validate(response.json())
    assert result.prompt_version == PROMPT_VERSION_TAGS and result.consensus.samples_parsed == 2


def test_backend_from_settings_builds_the_embedded_teacher() -> None:
    from sightsound_teacher.backends import backend_from_settings

    teacher = backend_from_settings(Settings(environment="test", teacher_backend="embedded", teacher_embedded_tags=5))
    assert isinstance(teacher, EmbeddedBackend) and teacher.tags_per_frame == 5 and not teacher.ready
