"""Fixtures of the teacher tests: small JPEG frames on disk and the tiny RANDOM Qwen2.5-VL backend."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from PIL import Image

from sightsound.contracts.teacher import ReasonRequest, SamplingParams
from sightsound_teacher.backends.transformers_backend import TransformersBackend

# The tiny model gains nothing from threads, and on a shared 2-core machine torch's thread pool
# oversubscribes the cores: one thread made the teacher suite about 6x faster there.
# (Nothing here touches the Hugging Face hub: the tiny model is built from config.)
torch.set_num_threads(1)

CHOICES = ["A person speaking", "A dog barking", "Music playing", "Silence"]


def make_jpeg(path: Path, size: tuple[int, int], color: tuple[int, int, int]) -> Path:
    image = Image.new("RGB", size, color)
    for x in range(0, size[0], 8):  # some structure, so frames differ beyond a flat colour
        for y in range(0, size[1], 8):
            image.putpixel((x, y), (255 - color[0], x % 256, y % 256))
    image.save(path, format="JPEG", quality=85)
    return path


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The teacher's media root in these tests: frames are only read from under it."""
    return tmp_path_factory.mktemp("teacher-media")


@pytest.fixture
def media_tmp(media_dir: Path) -> Path:
    """A fresh folder inside the media root, for one test's files."""
    folder = media_dir / uuid.uuid4().hex[:12]
    folder.mkdir()
    return folder


@pytest.fixture
def frame_urls(media_tmp: Path) -> list[str]:
    """Three small JPEG frames as file:// URLs inside the media root."""
    colors = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]
    return [make_jpeg(media_tmp / f"{i:03d}.jpg", (96, 64), c).as_uri() for i, c in enumerate(colors)]


@pytest.fixture(scope="session")
def tiny_backend() -> TransformersBackend:
    """The tiny random model with structured decoding (loaded once per test session)."""
    backend = TransformersBackend("tiny-random", device="cpu", structured=True)
    backend.load()
    return backend


def reason_request(urls: list[str], k: int = 3, **sampling: object) -> ReasonRequest:
    params = {"temperature": 1.0, "max_new_tokens": 72, "seed": 0} | sampling
    return ReasonRequest(
        question="What can be heard in this clip?",
        choices=CHOICES,
        frame_urls=urls,
        k=k,
        sampling=SamplingParams.model_validate(params),
    )


@pytest.fixture
def make_request() -> Callable[..., ReasonRequest]:
    """``make_request(urls, k=3, **sampling)``: a ReasonRequest over CHOICES (test modules cannot import
    conftest under ``--import-mode=importlib``, so helpers travel as fixtures)."""
    return reason_request


@pytest.fixture
def choices() -> list[str]:
    return list(CHOICES)
