"""``Idempotency-Key`` on every ``POST`` that creates something: one helper, one rule.

The rule: a key names one request. Sent again with the same request, the stored resource is returned
(``Idempotent-Replayed: true``, its ``Location``) and nothing new is created; sent with a different
request, ``409 idempotency-key-reused``. What "the same request" means is the resource's request
fingerprint (the JSON body as stored with the row; for clip uploads, the question's fingerprint). Two
concurrent first requests race on the key's unique index: the loser gets ``409 idempotency-conflict``
and a retry replays the winner.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

from fastapi import Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sightsound.web import ProblemError


class KeyedRow(Protocol):
    id: Any  # a UUID, or an identity number (review overrides)
    idempotency_key: str | None


Row = TypeVar("Row", bound=KeyedRow)


def replay(session: Session, model: type[Row], key: str | None, same_request: Callable[[Row], bool],
           response: Response, location: str) -> Row | None:
    """The row an earlier request with ``key`` created (headers set for the replay), or None if there is none."""
    if not key:
        return None
    column: Any = model.idempotency_key
    existing = session.scalar(select(model).where(column == key))
    if existing is None:
        return None
    if not same_request(existing):
        raise ProblemError(409, "this Idempotency-Key was used for a different request; use a new key for a new "
                                "request", kind="idempotency-key-reused")
    response.headers["Location"] = f"{location}/{existing.id}"
    response.headers["Idempotent-Replayed"] = "true"
    return existing


@contextlib.contextmanager
def first_of_key(session: Session, what: str) -> Iterator[None]:
    """Commit the new row; a concurrent request that won the key's unique index turns into a 409."""
    try:
        yield
    except IntegrityError as exc:
        session.rollback()
        raise ProblemError(409, f"a concurrent request with the same Idempotency-Key created this {what}; "
                                "retry to get it", kind="idempotency-conflict") from exc
