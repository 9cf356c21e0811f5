"""The durable-task lock: one PostgreSQL advisory lock per task row (job, training run, evaluation).

A worker holds a session-level advisory lock on the row for as long as it works on it. A redelivered
message (Redis gives back an unacknowledged task after the visibility timeout) finds the lock taken and
leaves the row alone; a row whose worker died has a free lock (PostgreSQL releases it with the dead
connection), so recovery may take it again. One key scheme for every kind of task: the two-key form
``(space, first 32 bits of the row's UUID)``, one space per kind.

Releasing never raises: if PostgreSQL went away after the work committed, the lock went with the
connection, and the work that was done must not be reported as failed.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterable, Iterator
from enum import IntEnum

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from sightsound.db.session import get_engine

log = logging.getLogger(__name__)


class LockSpace(IntEnum):
    """The first key of a task kind's advisory locks."""

    job = 0x4A42  # "JB": pipeline jobs (ingest, reason, verify)
    training_run = 0x5452  # "TR"
    evaluation = 0x4556  # "EV"


class TaskBusy(Exception):
    """Another worker holds the task's lock."""


def lock_key(task_id: uuid.UUID) -> int:
    """The second key: the UUID's first 32 bits, signed (what ``pg_try_advisory_lock(int, int)`` takes).

    >>> lock_key(uuid.UUID("ffffffff-0000-0000-0000-000000000000"))
    -1
    """
    return int.from_bytes(task_id.bytes[:4], "big", signed=True)


@contextlib.contextmanager
def task_lock(database_url: str, space: LockSpace, task_id: uuid.UUID) -> Iterator[Connection]:
    """Hold the task's advisory lock for the duration, or raise :class:`TaskBusy` at once."""
    key = lock_key(task_id)
    with get_engine(database_url).connect() as conn:
        got = conn.execute(select(func.pg_try_advisory_lock(int(space), key))).scalar()
        conn.commit()
        if not got:
            raise TaskBusy(f"{space.name} {task_id} is being worked on by another worker")
        try:
            yield conn
        finally:
            try:
                conn.execute(select(func.pg_advisory_unlock(int(space), key)))
                conn.commit()
            except Exception:  # the connection is gone, and the session-level lock with it
                log.warning("could not release the lock of %s %s; it ended with its connection", space.name, task_id)


def lock_is_free(database_url: str, space: LockSpace, task_id: uuid.UUID) -> bool:
    """Whether no worker holds the task's lock right now."""
    try:
        with task_lock(database_url, space, task_id):
            return True
    except TaskBusy:
        return False


def unlocked(database_url: str, space: LockSpace, task_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """The tasks among ``task_ids`` that no worker holds: orphans, when their rows say they are running."""
    return [task_id for task_id in task_ids if lock_is_free(database_url, space, task_id)]
