"""How the media store reaches object storage: fsspec storage options from settings, for every reader and writer.

``SIGHTSOUND_MEDIA_ROOT=s3://bucket/prefix`` puts originals, frames and audio in an S3-compatible store (AWS S3,
MinIO, Ceph); every service then reads them through :func:`sightsound.media.store.open_url`, which takes its
options from here: the endpoint, the credentials, and the timeouts and retries that turn a stalled or refused
endpoint into an error naming the URL instead of a hang. Local paths and ``file://`` URLs need no options.
"""

from __future__ import annotations

from typing import Any

from sightsound.config import Settings, get_settings, secret_value

S3_PROTOCOLS = frozenset({"s3", "s3a"})


class MediaUnavailableError(OSError):
    """A stored media object could not be read or written; the message names the URL and the cause."""


def protocol_of(url: str) -> str:
    """``s3://b/k`` -> ``s3``; a path or ``file://`` URL -> ``file``.

    >>> protocol_of("s3://bucket/media/a.wav"), protocol_of("/var/media/a.wav"), protocol_of("file:///x")
    ('s3', 'file', 'file')
    """
    head, sep, _ = url.partition("://")
    return head.lower() if sep else "file"


def storage_options(url: str, settings: Settings | None = None) -> dict[str, Any]:
    """fsspec options for ``url`` (empty for local files)."""
    if protocol_of(url) not in S3_PROTOCOLS:
        return {}
    s = settings or get_settings()
    client: dict[str, Any] = {}
    if s.media_s3_endpoint_url:
        client["endpoint_url"] = s.media_s3_endpoint_url
    if s.media_s3_region:
        client["region_name"] = s.media_s3_region
    options: dict[str, Any] = {
        "client_kwargs": client,
        "config_kwargs": {
            "connect_timeout": s.media_connect_timeout_s,
            "read_timeout": s.media_read_timeout_s,
            "retries": {"max_attempts": s.media_max_retries + 1, "mode": "standard"},
        },
        # Each call gets a fresh event-loop-bound client per process; no listing cache (objects never change, but
        # a missing object must be seen as soon as it is written).
        "use_listings_cache": False,
    }
    key, secret = s.media_s3_access_key_id, secret_value(s.media_s3_secret_access_key)
    if key and secret:
        options["key"], options["secret"] = key, secret
    return options


def filesystem(url: str, settings: Settings | None = None) -> tuple[Any, str]:
    """The fsspec filesystem of ``url`` with its options, and the path within it. s3fs's own retry loop (5 tries
    by default, on top of botocore's) follows ``media_max_retries`` too, so a stalled endpoint fails in about
    (retries + 1) x the read timeout."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(url, **storage_options(url, settings))
    if protocol_of(url) in S3_PROTOCOLS:
        fs.retries = (settings or get_settings()).media_max_retries + 1
    return fs, path
