"""Opaque cursors for keyset pagination."""

from __future__ import annotations

import base64
import binascii

from sightsound.web import ProblemError


def encode_cursor(last_id: int) -> str:
    """An opaque, URL-safe cursor pointing after ``last_id``.

    >>> decode_cursor(encode_cursor(42))
    42
    """
    return base64.urlsafe_b64encode(f"after:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        if prefix != "after":
            raise ValueError(prefix)
        return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ProblemError(400, "cursor is not valid: pass the next_cursor of a previous page unchanged",
                           kind="invalid-cursor") from exc
