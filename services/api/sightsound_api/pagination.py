"""Opaque cursors for keyset pagination."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import Session

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



def newest_first_page(
    session: Session, stmt: Select[Any], model: Any, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """One page of ``model`` rows (it has ``created_at`` and ``id``), newest first, keyed by both.

    Returns the page's rows and the cursor of the next page (``None`` on the last page).
    """
    stmt = stmt.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)
    if cursor is not None:
        when, last_id = decode_position(cursor)
        stmt = stmt.where(tuple_(model.created_at, model.id) < tuple_(when, last_id))
    rows = list(session.scalars(stmt))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_position(last.created_at, last.id)
