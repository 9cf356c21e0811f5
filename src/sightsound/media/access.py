"""Which audio URLs a service may read: only the media store's (no file system or network at large).

The verifier and the student service read the audio a request names by URL; both go through
:func:`allowed_audio_url`, so neither can be made to read an arbitrary file or host.

- A local media root (``SIGHTSOUND_MEDIA_ROOT=/var/lib/sightsound/media``): only ``file://`` URLs whose
  path, after resolving symlinks and ``..``, lies inside the resolved root. The URL handed back points
  at the resolved path, so what is read is what was checked.
- A remote media root (``s3://bucket/media``, any fsspec scheme): only URLs that start with the root
  URL followed by ``/``, with no ``.`` or ``..`` path segment.
- Anything else (``http://``, another folder, a bare path, query strings) is refused.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: A root written as a URL. ``Path`` collapses ``s3://b`` to ``s3:/b``, so one or more slashes are accepted.
_URL_ROOT = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*):/+(?P<rest>.*)$", re.IGNORECASE)


class AudioURLRefusedError(ValueError):
    """The URL is outside the media store; the message says what is allowed."""


def remote_root(media_root: str | Path) -> str | None:
    """The root as a URL when it is remote (not ``file``), else ``None``.

    >>> remote_root("s3:/bucket/media/"), remote_root("/var/media"), remote_root("file:///var/media")
    ('s3://bucket/media', None, None)
    """
    match = _URL_ROOT.match(str(media_root))
    if match is None or match.group("scheme").lower() == "file":
        return None
    return f"{match.group('scheme').lower()}://{match.group('rest').rstrip('/')}"


def local_root(media_root: str | Path) -> Path:
    text = str(media_root)
    match = _URL_ROOT.match(text)
    if match is not None and match.group("scheme").lower() == "file":
        text = unquote(urlsplit("file:///" + match.group("rest").lstrip("/")).path)
    return Path(text).resolve()


def allowed_audio_url(url: str, media_root: str | Path) -> str:
    """The URL to read for ``url``, or :class:`AudioURLRefusedError`."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if parts.query or parts.fragment:
        raise AudioURLRefusedError("audio_url must not carry a query string or fragment")
    remote = remote_root(media_root)
    if remote is not None:
        if not url.startswith(remote + "/"):
            raise AudioURLRefusedError(f"audio_url must be an object of the media store ({remote}/...)")
        segments = unquote(url[len(remote) + 1 :]).split("/")
        if any(segment in {"", ".", ".."} for segment in segments):
            raise AudioURLRefusedError("audio_url must not contain empty, '.' or '..' path segments")
        return url
    if scheme != "file":
        raise AudioURLRefusedError("audio_url must be a file:// URL inside the media root")
    if parts.netloc not in {"", "localhost"}:
        raise AudioURLRefusedError(f"audio_url names a remote host ({parts.netloc!r}); only local files are read")
    root = local_root(media_root)
    path = Path(unquote(parts.path)).resolve()
    if path == root or not path.is_relative_to(root):
        raise AudioURLRefusedError("audio_url must point inside the media root (after resolving links and '..')")
    return path.as_uri()
