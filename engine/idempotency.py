"""Idempotency keys: a worker that retries a request after losing the answer gets the first answer
again instead of a second effect.

A key belongs to one account. It is reserved (its row written) before the effect, in the same
transaction, so the effect and the key commit together or not at all: two requests racing with the
same key cannot both take effect (the second one's insert waits for the first and then fails on the
unique constraint). The answer is stored right after the effect. A key lives ``LIFETIME``; the
fingerprint (method, path and body) tells a retry from a different request that reuses the key.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base

LIFETIME = timedelta(hours=24)
KEY_LENGTH = 200


class IdempotencyKey(Base):
    """A request that took effect under a key, and its answer (none yet while it is being handled)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(KEY_LENGTH))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class KeyTaken(Exception):
    """Another request holds this key (it reserved the key first)."""


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def find(session: Session, user_id: int, key: str, now: datetime) -> IdempotencyKey | None:
    stmt = select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
                                        IdempotencyKey.expires_at > now)  # fmt: skip
    return session.scalars(stmt.execution_options(populate_existing=True)).first()


def reserve(session: Session, user_id: int, key: str, request_fingerprint: str, now: datetime) -> IdempotencyKey:
    """Write the key into the current transaction, before the effect; the effect's commit commits it.
    Raises ``KeyTaken`` (after rolling the transaction back) when another request has the key."""
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    row = IdempotencyKey(user_id=user_id, key=key, fingerprint=request_fingerprint, created_at=now,
                         expires_at=now + LIFETIME)  # fmt: skip
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise KeyTaken(key)
    return row


def record(session: Session, row: IdempotencyKey, status: int, content_type: str, body: bytes) -> None:
    """Keep the answer of the request that took effect, for its retries."""
    row.status, row.content_type, row.body = status, content_type, body
    session.commit()
