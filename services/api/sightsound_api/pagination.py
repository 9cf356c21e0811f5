"""Opaque cursors for keyset pagination."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

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


def encode_position(created_at: datetime, row_id: uuid.UUID) -> str:
    """An opaque cursor after the row (``created_at``, ``row_id``) of a newest-first list.

    >>> from datetime import UTC
    >>> when = datetime(2026, 11, 26, 10, 0, tzinfo=UTC); rid = uuid.UUID(int=7)
    >>> decode_position(encode_position(when, rid)) == (when, rid)
    True
    """
    raw = f"at:{created_at.isoformat()}|{row_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_position(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        if prefix != "at":
            raise ValueError(prefix)
        when, _, row_id = value.partition("|")
        return datetime.fromisoformat(when), uuid.UUID(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ProblemError(400, "cursor is not valid: pass the next_cursor of a previous page unchanged",
                           kind="invalid-cursor") from exc
