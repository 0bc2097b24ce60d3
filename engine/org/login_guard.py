"""Failed log-ins are counted in the database, per account and per client address, so that every
server process on one database refuses the same guesser: after ``failures`` failed attempts within
``window`` the account (or the address) is refused until ``lockout`` has passed.

Counting is one conditional UPDATE per key (the database serialises concurrent failures); the row
is created on the first failure. A successful log-in clears the account's count, never the
address's, so that one valid account does not reset a guesser's address.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, UniqueConstraint, case, delete, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base

KEY_LENGTH = 200


@dataclass(frozen=True)
class Limit:
    kind: str
    """What is counted: ``account`` (the user name typed) or ``address`` (the client's IP address)."""
    failures: int
    """Failed attempts within ``window`` that lock."""
    window: timedelta
    """How far back failures count."""
    lockout: timedelta
    """How long a lock lasts."""


ACCOUNT = Limit("account", failures=5, window=timedelta(minutes=15), lockout=timedelta(minutes=15))
ADDRESS = Limit("address", failures=20, window=timedelta(minutes=15), lockout=timedelta(minutes=15))
LOOKUP = Limit("lookup", failures=10, window=timedelta(minutes=15), lockout=timedelta(minutes=15))
"""The public dossier lookup: wrong code-and-phone pairs from one address, counted like failed log-ins so
that dossier codes cannot be tried one after another."""
STALE_AFTER = timedelta(days=1)


class LoginThrottle(Base):
    """Recent failed log-ins of one account name or one client address, and the lock they caused."""

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("kind", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(KEY_LENGTH))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(index=True)
    locked_until: Mapped[datetime | None]


def _keys(username: str | None, address: str) -> list[tuple[Limit, str]]:
    """What one attempt counts against; an API token names no account, so only its address counts."""
    account = [] if username is None else [(ACCOUNT, username.strip().casefold()[:KEY_LENGTH])]
    return [*account, (ADDRESS, address[:KEY_LENGTH])]


def locked_until(session: Session, username: str | None, address: str, now: datetime) -> datetime | None:
    """When the lock on this account name (None: an API token, no name) or this address ends (the later
    of both), or None."""
    pairs = [(limit.kind, key) for limit, key in _keys(username, address)]
    stmt = select(func.max(LoginThrottle.locked_until)).where(
        tuple_(LoginThrottle.kind, LoginThrottle.key).in_(pairs), LoginThrottle.locked_until > now
    )
    return session.scalar(stmt)


def record_failure(session: Session, username: str | None, address: str, now: datetime) -> datetime | None:
    """Count a failed attempt for the account name (None: an API token) and the address; return when a lock
    it caused ends."""
    until = [_count(session, limit, key, now) for limit, key in _keys(username, address)]
    session.commit()
    ends = [u for u in until if u is not None]
    return max(ends) if ends else None


def lookup_locked_until(session: Session, address: str, now: datetime) -> datetime | None:
    """When this address may look dossiers up again, or None while it is not locked."""
    stmt = select(LoginThrottle.locked_until).where(LoginThrottle.kind == LOOKUP.kind,
                                                   LoginThrottle.key == address[:KEY_LENGTH],
                                                   LoginThrottle.locked_until > now)  # fmt: skip
    return session.scalar(stmt)


def record_lookup_failure(session: Session, address: str, now: datetime) -> datetime | None:
    """Count a lookup that found nothing from this address; return when a lock it caused ends."""
    until = _count(session, LOOKUP, address[:KEY_LENGTH], now)
    session.commit()
    return until


def record_success(session: Session, username: str) -> None:
    """The account's failures are forgotten once its password was given."""
    limit, key = _keys(username, "")[0]
    found = delete(LoginThrottle).where(LoginThrottle.kind == limit.kind, LoginThrottle.key == key)
    if session.execute(found).rowcount:  # type: ignore[attr-defined]
        session.commit()


def _count(session: Session, limit: Limit, key: str, now: datetime) -> datetime | None:
    if not _increment(session, limit, key, now):
        _create(session, limit, key, now)
        _increment(session, limit, key, now)
    row = session.scalars(select(LoginThrottle).where(LoginThrottle.kind == limit.kind, LoginThrottle.key == key)
                          .execution_options(populate_existing=True)).one()  # fmt: skip
    if row.failures < limit.failures:
        return None
    row.locked_until, row.failures, row.window_started_at = now + limit.lockout, 0, now
    return row.locked_until


def _increment(session: Session, limit: Limit, key: str, now: datetime) -> bool:
    """One more failure, in one statement; a window that has passed starts again at this failure."""
    expired = LoginThrottle.window_started_at <= now - limit.window
    stmt = (
        update(LoginThrottle)
        .where(LoginThrottle.kind == limit.kind, LoginThrottle.key == key)
        .values(failures=case((expired, 1), else_=LoginThrottle.failures + 1),
                window_started_at=case((expired, now), else_=LoginThrottle.window_started_at))  # fmt: skip
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def _create(session: Session, limit: Limit, key: str, now: datetime) -> None:
    """The first failure of this key; another process may create the same row at the same moment."""
    unlocked = LoginThrottle.locked_until.is_(None) | (LoginThrottle.locked_until < now)
    session.execute(delete(LoginThrottle).where(LoginThrottle.window_started_at < now - STALE_AFTER, unlocked))
    with suppress(IntegrityError), session.begin_nested():  # a concurrent failure's row: counting goes on in it
        session.add(LoginThrottle(kind=limit.kind, key=key, failures=0, window_started_at=now))
