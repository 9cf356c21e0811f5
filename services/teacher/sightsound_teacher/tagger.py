"""Frame tagger: EfficientNet-Lite0 (ImageNet weights) turns each frame into its top class names.

The embedded teacher (and the ``openai`` backend in ``tags`` mode, for text-only servers) cannot show
pixels to its language model, so each frame is described by the classifier's most probable ImageNet
classes: ``espresso (94%), cup (2%)``. Preprocessing is TensorFlow's for the Lite models: resize the
shorter side to 224, center-crop 224x224, scale pixels to [-1, 1] with ``(x - 127) / 128``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from PIL import Image

from sightsound_teacher.efficientnet_lite import IMAGE_SIZE, EfficientNetLite, load_lite0
from sightsound_teacher.imagenet_labels import imagenet_labels

TAGGER_ID = "efficientnet-lite0-imagenet"


@dataclass(frozen=True)
class Tag:
    label: str
    probability: float

    def __str__(self) -> str:
        return f"{self.label} ({self.probability:.0%})"


def preprocess(image: Image.Image, size: int = IMAGE_SIZE) -> torch.Tensor:
    """``(3, size, size)`` float tensor in [-1, 1]: shorter side resized to ``size``, then center-cropped."""
    image = image.convert("RGB")
    width, height = image.size
    scale = size / min(width, height)
    resized = image.resize(
        (max(size, round(width * scale)), max(size, round(height * scale))), Image.Resampling.BICUBIC
    )
    left = (resized.width - size) // 2
    top = (resized.height - size) // 2
    crop = resized.crop((left, top, left + size, top + size))
    pixels = torch.from_numpy(np.asarray(crop, dtype=np.float32).copy()).permute(2, 0, 1)
    return (pixels - 127.0) / 128.0


def top_tags(probabilities: torch.Tensor, labels: Sequence[str], k: int) -> list[list[Tag]]:
    """The ``k`` most probable labels of each row of ``(N, classes)`` probabilities, most probable first."""
    top = probabilities.topk(k, dim=-1)
    return [
        [Tag(labels[int(i)], float(p)) for p, i in zip(values, indices, strict=True)]
        for values, indices in zip(top.values, top.indices, strict=True)
    ]


class FrameTagger:
    """Loaded once per process (:func:`load_tagger`); thread-safe."""

    def __init__(self, model: EfficientNetLite, labels: Sequence[str]) -> None:
        self.model = model
        self.labels = tuple(labels)
        self._lock = threading.Lock()

    def tag(self, frames: Sequence[Image.Image], k: int = 3) -> list[list[Tag]]:
        """Top ``k`` tags of each frame, in frame order (one batched forward pass)."""
        if not frames:
            return []
        batch = torch.stack([preprocess(frame) for frame in frames])
        with self._lock, torch.inference_mode():
            probabilities = self.model(batch).softmax(dim=-1)
        return top_tags(probabilities, self.labels, k)


@lru_cache(maxsize=1)
def load_tagger() -> FrameTagger:
    """EfficientNet-Lite0 with the shipped ImageNet weights and timm's class names (offline)."""
    return FrameTagger(load_lite0(), imagenet_labels())
