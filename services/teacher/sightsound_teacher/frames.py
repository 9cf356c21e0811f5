"""Fetch the frames of a reason request by URL and check them. I/O at the edge.

Frames travel as media-store URLs (``file://``, ``s3://``, ...; see ``sightsound.media.store``). Each
frame must be readable, decode as an image, and have no side longer than the server's limit. The size
is checked from the image header *before* the pixels are decoded, so an oversized (or decompression
bomb) frame costs no memory.

Only the media store is read. Storage schemes only (an ``http://`` URL would let a caller make the
teacher request arbitrary hosts), and only under the media root (``settings.media_root``): a
``file://`` URL must resolve (symlinks and ``..`` followed) to a path inside the resolved root, and any
other URL must start with the root's URL and hold no ``.`` or ``..`` segment. Everything else is
refused before anything is opened, so a caller cannot read ``/etc/passwd`` through the teacher.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from PIL import Image, UnidentifiedImageError

from sightsound.media.store import open_url

#: URL schemes the teacher fetches frames from (local folder, object storage, in-memory for tests).
ALLOWED_SCHEMES = frozenset({"file", "s3", "s3a", "gs", "gcs", "az", "abfs", "memory"})


@dataclass
class FrameError(Exception):
    """A frame of the request cannot be used; ``kind`` names the problem type."""

    index: int
    url: str
    kind: str  # frame-unsupported-url | frame-outside-media-root | frame-unreadable | frame-not-an-image | ...
    reason: str

    def __str__(self) -> str:
        return f"frame {self.index} ({self.url}) {self.reason}"


@dataclass(frozen=True)
class MediaRoot:
    """Where frames may be read from: a local folder (resolved) or an object-store URL prefix."""

    url: str  # no trailing slash
    path: Path | None  # the resolved folder, for a local root

    @classmethod
    def of(cls, root: str | Path) -> MediaRoot:
        """``./var/media`` or ``/srv/media`` (a folder) or ``s3://bucket/prefix`` (a URL)."""
        text = str(root)
        if "://" in text and not text.startswith("file://"):
            return cls(text.rstrip("/"), None)
        folder = Path(unquote(urlsplit(text).path) if text.startswith("file://") else text).resolve()
        return cls(folder.as_uri().rstrip("/"), folder)

    def locate(self, url: str) -> Path | str | None:
        """What to open for ``url``: the resolved local path, the object-store URL, or ``None`` when
        ``url`` is not inside this root. Opening the resolved path (not the URL again) leaves no gap
        between the check and the read."""
        parts = urlsplit(url)
        if parts.scheme.lower() == "file":
            if self.path is None or parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
                return None
            path = Path(unquote(parts.path)).resolve()
            return path if path.is_relative_to(self.path) and path != self.path else None
        if not url.startswith(self.url + "/") or parts.query or parts.fragment:
            return None
        segments = unquote(url[len(self.url) + 1 :]).split("/")
        return url if all(segment not in ("", ".", "..") for segment in segments) else None


def check_url(index: int, url: str, root: MediaRoot) -> Path | str:
    """The local path or URL to read for frame ``index``; raises :class:`FrameError` if it is not allowed."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        allowed = ", ".join(sorted(ALLOWED_SCHEMES))
        raise FrameError(
            index, url, "frame-unsupported-url", f"has scheme {scheme or '(none)'!r}; use one of: {allowed}"
        )
    target = root.locate(url)
    if target is None:
        raise FrameError(index, url, "frame-outside-media-root", f"is not inside this server's media root {root.url}/")
    return target


def load_frame(index: int, url: str, max_side: int, root: MediaRoot) -> Image.Image:
    """One frame as an RGB image, fully decoded."""
    target = check_url(index, url, root)
    try:
        handle = target.open("rb") if isinstance(target, Path) else open_url(target)
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


def load_frames(urls: Sequence[str], max_side: int, media_root: str | Path) -> list[Image.Image]:
    """All frames in order, each under ``media_root``; raises :class:`FrameError` naming the first bad frame."""
    root = MediaRoot.of(media_root)
    for index, url in enumerate(urls):  # cheap checks first: refuse before fetching anything
        check_url(index, url, root)
    return [load_frame(index, url, max_side, root) for index, url in enumerate(urls)]
