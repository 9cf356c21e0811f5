"""Top-level box structure of ISO base media files (MP4, MOV, M4A, 3GP).

Decoding alone misses one kind of truncation: when the muxer wrote the ``moov`` index at the end and
the cut falls inside it after the sample tables, FFmpeg still opens the file and every packet decodes.
Every top-level box declares its size, so a box that claims to extend past the end of the file is a
reliable sign that the file was cut. Reading the box headers costs a few small reads, not the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Box:
    name: str
    offset: int
    size: int  # declared size in bytes, header included; 0 means "to the end of the file"

    @property
    def end(self) -> int:
        return self.offset + self.size


def parse_box_header(header: bytes, offset: int, file_size: int) -> Box | None:
    """The box whose header starts ``header`` (at least 8 bytes, 16 for a 64-bit size), or None if malformed.

    >>> parse_box_header(b"\\x00\\x00\\x00\\x18ftypisom", 0, 100)
    Box(name='ftyp', offset=0, size=24)
    >>> parse_box_header(b"\\x00\\x00\\x00\\x00mdat", 40, 100)  # size 0: runs to the end of the file
    Box(name='mdat', offset=40, size=60)
    """
    if len(header) < 8:
        return None
    size = int.from_bytes(header[:4], "big")
    raw_name = header[4:8]
    if not all(32 <= c < 127 for c in raw_name):
        return None
    if size == 1:
        if len(header) < 16:
            return None
        size = int.from_bytes(header[8:16], "big")
        if size < 16:
            return None
    elif size == 0:
        size = file_size - offset
    elif size < 8:
        return None
    return Box(raw_name.decode("ascii"), offset, size)


def top_level_boxes(path: str | Path, limit: int = 100_000) -> list[Box]:
    """Top-level boxes in file order; stops at the first malformed header, the end of the file, or ``limit``.

    The limit bounds the work on a hostile file made of millions of tiny boxes; real files have a few
    (or a few thousand when fragmented).
    """
    p = Path(path)
    file_size = p.stat().st_size
    boxes: list[Box] = []
    with p.open("rb") as handle:
        offset = 0
        while offset < file_size and len(boxes) < limit:
            handle.seek(offset)
            box = parse_box_header(handle.read(16), offset, file_size)
            if box is None:
                break
            boxes.append(box)
            offset = box.end
    return boxes


def looks_like_isobmff(boxes: list[Box]) -> bool:
    """True when the file starts with an ``ftyp`` box (or a bare QuickTime ``moov``/``mdat``/``wide``)."""
    return bool(boxes) and boxes[0].name in ("ftyp", "moov", "mdat", "wide", "free")


def truncation_problem(boxes: list[Box], file_size: int) -> str | None:
    """Why an ISO BMFF file looks cut short, or None if its box structure is whole.

    A missing ``moov`` is only reported when the walk reached the end of the file (not when it stopped
    at a malformed header or at the box limit): then decoding has the last word.

    >>> truncation_problem([Box("ftyp", 0, 24), Box("mdat", 24, 1000)], 500)
    "the file ends inside its 'mdat' box (500 of 1024 bytes present)"
    >>> truncation_problem([Box("ftyp", 0, 24), Box("mdat", 24, 76)], 100)
    "the file has no 'moov' index"
    >>> truncation_problem([Box("ftyp", 0, 24), Box("moov", 24, 76)], 100) is None
    True
    >>> truncation_problem([Box("ftyp", 0, 24), Box("mdat", 24, 50)], 100) is None  # walk stopped early
    True
    """
    for box in boxes:
        if box.end > file_size:
            return f"the file ends inside its '{box.name}' box ({file_size} of {box.end} bytes present)"
    walked_to_end = bool(boxes) and boxes[-1].end == file_size
    if walked_to_end and not any(box.name == "moov" for box in boxes):
        return "the file has no 'moov' index"
    return None
