"""Content-addressed media store behind URLs.

Originals and derived artifacts (frames, 16 kHz audio) live under a root that fsspec can reach: a
local folder by default (``file://`` URLs), or object storage such as MinIO/S3 (``s3://bucket/prefix``)
when the services run on several hosts. Contracts carry the URLs, never the bytes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from sightsound.media.access import remote_root
from sightsound.media.remote import MediaUnavailableError, filesystem, protocol_of

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sharded(digest: str) -> str:
    """``abcdef…`` -> ``ab/abcdef…``: keeps folders small."""
    return f"{digest[:2]}/{digest}"


def original_key(content_hash: str) -> str:
    """Where an uploaded or imported original lives in the store (one copy per content hash)."""
    return f"originals/{sharded(content_hash)}"


class MediaStore:
    """Writes objects under ``root`` with atomic renames and hands out their URLs."""

    def __init__(self, root: str | Path) -> None:
        root_str = remote_root(root) or str(root)  # ``Path("s3://b")`` reads back as ``s3:/b``
        if "://" not in root_str:
            root_str = Path(root_str).resolve().as_uri()
        self.root_url = root_str.rstrip("/")
        self.fs, self._root_path = filesystem(self.root_url)

    def url(self, key: str) -> str:
        return f"{self.root_url}/{key}"

    def _path(self, key: str) -> str:
        return f"{self._root_path}/{key}"

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._path(key)))

    def put_file(self, key: str, source: Path) -> str:
        """Copy ``source`` to ``key`` unless it is there already (content-addressed keys never change)."""
        target = self._path(key)
        if not self.fs.exists(target):
            self.fs.makedirs(os.path.dirname(target), exist_ok=True)
            if self.fs.protocol in ("file", ("file", "local")) or "file" in self.fs.protocol:
                # Write next to the target then rename, so readers never see a partial file.
                fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".part-")
                os.close(fd)
                self.fs.put_file(str(source), tmp)
                os.replace(tmp, target)
            else:
                self.fs.put_file(str(source), target)
        return self.url(key)

    def put_bytes(self, key: str, data: bytes) -> str:
        with tempfile.NamedTemporaryFile(delete=False) as handle:
            handle.write(data)
            tmp = Path(handle.name)
        try:
            return self.put_file(key, tmp)
        finally:
            tmp.unlink(missing_ok=True)


def open_url(url: str) -> BinaryIO:
    """Open a media URL for reading (any fsspec protocol; object storage with the options of
    :mod:`sightsound.media.remote`). A missing object is :class:`FileNotFoundError`; an unreachable, stalled or
    refusing store is :class:`MediaUnavailableError` naming the URL (after the settings' timeouts and retries)."""
    try:
        fs, path = filesystem(url)
        handle: BinaryIO = fs.open(path, "rb")
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"no stored object at {url}") from exc
    except Exception as exc:  # botocore's errors (timeouts, refused connections) are not all OSErrors
        if protocol_of(url) == "file":
            raise
        raise MediaUnavailableError(f"could not read {url}: {type(exc).__name__}: {exc}") from exc
    return handle


def read_url(url: str) -> bytes:
    with open_url(url) as handle:
        return handle.read()
