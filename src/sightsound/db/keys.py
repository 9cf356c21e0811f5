"""API keys in PostgreSQL: create (the secret is returned once, only its hash is kept), list, revoke, and look
one up for a request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sightsound.auth import Principal, display_prefix, hash_secret, new_secret, parse_scopes
from sightsound.db.models import ApiKey

#: ``last_used_at`` is written at most this often per key (not on every request).
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str  # shown once; never stored


def create_key(session: Session, name: str, scopes: str | list[str]) -> CreatedKey:
    """A new key with ``scopes`` (``"read,submit"`` or a list; ``ValueError`` on an unknown one), committed."""
    if not name.strip():
        raise ValueError("name the key (who or what uses it)")
    secret = new_secret()
    key = ApiKey(name=name.strip()[:255], prefix=display_prefix(secret), key_hash=hash_secret(secret),
                 scopes=list(parse_scopes(scopes)))
    session.add(key)
    session.commit()
    return CreatedKey(key, secret)


def list_keys(session: Session, include_revoked: bool = True) -> list[ApiKey]:
    stmt = select(ApiKey).order_by(ApiKey.created_at)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(stmt))


def revoke_key(session: Session, key_id: uuid.UUID | str) -> ApiKey | None:
    """Revoke a key (by id, or by its display prefix); ``None`` if there is no such key. Revoking twice keeps the
    first time."""
    key = _find(session, key_id)
    if key is not None and key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        session.commit()
    return key


def _find(session: Session, key_id: uuid.UUID | str) -> ApiKey | None:
    try:
        return session.get(ApiKey, uuid.UUID(str(key_id)))
    except ValueError:
        matches = list(session.scalars(select(ApiKey).where(ApiKey.prefix == str(key_id))))
        return matches[0] if len(matches) == 1 else None


def authenticate_key(session: Session, secret: str) -> Principal | None:
    """The principal of an active key with this secret, or ``None`` (unknown or revoked)."""
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(secret)))
    if key is None or key.revoked_at is not None:
        return None
    now = datetime.now(UTC)
    if key.last_used_at is None or now - key.last_used_at > TOUCH_EVERY:
        key.last_used_at = now
        session.commit()
    return Principal(f"API key {key.prefix}… ({key.name})", frozenset(key.scopes), key_id=str(key.id))
