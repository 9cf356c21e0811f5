"""Reading a CTranslate2 ``model.bin`` into numpy arrays, without CTranslate2.

faster-whisper ships Whisper as a CTranslate2 model; its weights are plain arrays in one binary file, so
any other runtime (here: the embedded student's audio encoder in PyTorch) can reuse them. The layout is
that of ``ctranslate2/specs/model_spec.py`` (``_serialize``), all little-endian:

- header: ``u32 version``, ``str spec name``, ``u32 spec revision``, ``u32 variable count``;
- each variable: ``str name``, ``u8 ndim``, ``u32 dims[ndim]``, ``u8 dtype``, ``u32 nbytes``, raw bytes;
- then ``u32 alias count`` and each alias as ``str alias``, ``str target``.

A ``str`` is ``u16 n`` (length + 1) then ``n`` bytes of UTF-8 ending in NUL. Dtype codes: 0 float32,
1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16 (numpy has no bfloat16: those are widened to float32).
Only binary versions 4 to 6 (CTranslate2 2.x to 4.x) carry the dtype byte this reader relies on.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

SUPPORTED_VERSIONS = range(4, 7)
_DTYPES: dict[int, np.dtype[np.generic]] = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
    5: np.dtype("<u2"),  # bfloat16: read as its raw 16 bits, widened below
}
BFLOAT16 = 5


class CT2FormatError(ValueError):
    """The bytes are not a CTranslate2 model.bin this reader understands; the message says where."""


@dataclass(frozen=True)
class CT2Model:
    """The contents of one ``model.bin``: spec name and revision, variables by name, and aliases."""

    spec: str
    version: int
    revision: int
    variables: Mapping[str, npt.NDArray[np.generic]]
    aliases: Mapping[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> npt.NDArray[np.generic]:
        """A variable by name, following an alias (e.g. Whisper's tied ``decoder/projection/weight``)."""
        return self.variables[self.aliases.get(name, name)]

    def under(self, prefix: str) -> dict[str, npt.NDArray[np.generic]]:
        """The variables whose name starts with ``prefix``, with the prefix removed."""
        return {name[len(prefix):]: value for name, value in self.variables.items() if name.startswith(prefix)}


class _Cursor:
    def __init__(self, data: bytes | memoryview) -> None:
        self.data = memoryview(data)
        self.offset = 0

    def take(self, n: int, what: str) -> memoryview:
        if self.offset + n > len(self.data):
            raise CT2FormatError(
                f"file ends at byte {len(self.data)} while reading {what} ({n} bytes at offset {self.offset})"
            )
        chunk = self.data[self.offset : self.offset + n]
        self.offset += n
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple[int, ...]:
        return struct.unpack_from("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def u8(self, what: str) -> int:
        return self.unpack("B", what)[0]

    def u32(self, what: str) -> int:
        return self.unpack("I", what)[0]

    def string(self, what: str) -> str:
        size = self.unpack("H", f"the length of {what}")[0]
        raw = bytes(self.take(size, what))
        if size == 0 or raw[-1] != 0:
            raise CT2FormatError(f"{what} at offset {self.offset - size} is not NUL-terminated")
        return raw[:-1].decode("utf-8")


def _bfloat16_to_float32(bits: npt.NDArray[np.uint16]) -> npt.NDArray[np.float32]:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def parse_model_bin(data: bytes | memoryview) -> CT2Model:
    """Parse the bytes of a ``model.bin``. Arrays share memory with ``data`` (read-only) except bfloat16."""
    cur = _Cursor(data)
    version = cur.u32("the binary version")
    if version not in SUPPORTED_VERSIONS:
        raise CT2FormatError(
            f"binary version {version} is not supported (this reader knows versions "
            f"{SUPPORTED_VERSIONS.start}-{SUPPORTED_VERSIONS.stop - 1})"
        )
    spec = cur.string("the spec name")
    revision = cur.u32("the spec revision")
    variables: dict[str, npt.NDArray[np.generic]] = {}
    for index in range(cur.u32("the variable count")):
        name = cur.string(f"the name of variable {index}")
        dims = cur.unpack("I" * cur.u8(f"the rank of {name}"), f"the shape of {name}")
        code = cur.u8(f"the dtype of {name}")
        if code not in _DTYPES:
            raise CT2FormatError(f"variable {name} has unknown dtype code {code}")
        dtype = _DTYPES[code]
        nbytes = cur.u32(f"the size of {name}")
        expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
        if nbytes != expected:
            raise CT2FormatError(f"variable {name} of shape {dims} holds {nbytes} bytes, expected {expected}")
        array = np.frombuffer(cur.take(nbytes, f"the data of {name}"), dtype=dtype).reshape(dims)
        variables[name] = _bfloat16_to_float32(array) if code == BFLOAT16 else array
    aliases: dict[str, str] = {}
    if cur.offset < len(cur.data):  # the alias table (written since binary version 3)
        for index in range(cur.u32("the alias count")):
            alias = cur.string(f"alias {index}")
            aliases[alias] = cur.string(f"the target of alias {alias}")
    return CT2Model(spec=spec, version=version, revision=revision, variables=variables, aliases=aliases)


def read_model_bin(path: str | Path) -> CT2Model:
    """Read and parse a ``model.bin`` file (the whole file is read into memory: ~75 MB for tiny.en)."""
    return parse_model_bin(Path(path).read_bytes())
