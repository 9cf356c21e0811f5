"""Engine and session factories (one engine per process and URL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from sightsound.config import get_settings


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    # pool_pre_ping: a worker that survives a PostgreSQL restart reconnects instead of failing a job.
    size = get_settings().database_pool_size  # SIGHTSOUND_DATABASE_POOL_SIZE (threads-pool workers: README)
    return create_engine(url, pool_pre_ping=True, pool_size=size, max_overflow=size)


@lru_cache(maxsize=8)
def get_sessionmaker(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A transaction: commit on success, roll back on any error."""
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
