"""Fetch the frames of a reason request by URL and check them. I/O at the edge.

Frames travel as media-store URLs (``file://``, ``s3://``, ...; see ``sightsound.media.store``). Each
frame must be readable, decode as an image, and have no side longer than the server's limit. The size
is checked from the image header *before* the pixels are decoded, so an oversized (or decompression
bomb) frame costs no memory. Only storage schemes are fetched: an ``http://`` URL would let a caller
make the teacher request arbitrary hosts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from sightsound.media.store import open_url

#: URL schemes the teacher fetches frames from (local folder, object storage, in-memory for tests).
ALLOWED_SCHEMES = frozenset({"file", "s3", "s3a", "gs", "gcs", "az", "abfs", "memory"})


@dataclass
class FrameError(Exception):
    """A frame of the request cannot be used; ``kind`` names the problem type."""

    index: int
    url: str
    kind: str  # frame-unsupported-url | frame-unreadable | frame-not-an-image | frame-too-large
    reason: str

    def __str__(self) -> str:
        return f"frame {self.index} ({self.url}) {self.reason}"


def check_url(index: int, url: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        allowed = ", ".join(sorted(ALLOWED_SCHEMES))
        raise FrameError(
            index, url, "frame-unsupported-url", f"has scheme {scheme or '(none)'!r}; use one of: {allowed}"
        )


def load_frame(index: int, url: str, max_side: int) -> Image.Image:
    """One frame as an RGB image, fully decoded."""
    check_url(index, url)
    try:
        handle = open_url(url)
    except (OSError, ValueError, ImportError) as exc:
        raise FrameError(index, url, "frame-unreadable", f"cannot be read: {type(exc).__name__}") from exc
    with handle:
        try:
            image = Image.open(handle)
            width, height = image.size
            if max(width, height) > max_side:
                raise FrameError(
                    index,
                    url,
                    "frame-too-large",
                    f"is {width}x{height} pixels; the longest side may be at most {max_side}",
                )
            image.load()
            return image.convert("RGB")
        except FrameError:
            raise
        except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
            raise FrameError(index, url, "frame-not-an-image", "cannot be decoded as an image") from exc
        except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt image data
            raise FrameError(
                index, url, "frame-not-an-image", f"cannot be decoded as an image: {type(exc).__name__}"
            ) from exc


def load_frames(urls: Sequence[str], max_side: int) -> list[Image.Image]:
    """All frames in order; raises :class:`FrameError` naming the first bad frame."""
    for index, url in enumerate(urls):  # cheap checks first: refuse before fetching anything
        check_url(index, url)
    return [load_frame(index, url, max_side) for index, url in enumerate(urls)]
