"""Log-in sessions kept in the database, so that logging out and changing a password end them on
every server process: the browser's signed cookie carries a random token, and a request is logged
in only while the token's row exists. Only the token's SHA-256 is stored, so reading the table gives
nobody a session. A session ends when it has not been used for a while, and however busy some hours
after the log-in (``Lifetime``; the web layer passes the settings), or earlier when it was opened with
an end of its own (a single sign-on session, which also keeps the provider's ID token for signing out).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, ForeignKey, String, Text, delete, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base
from engine.errors import EngineError
from engine.org.models import User
from engine.org.people import hash_password, verify_password

MAX_AGE = timedelta(hours=12)
"""A session older than this is ended, however busy: it must be started again with the password."""
IDLE = timedelta(minutes=120)
"""A session not used for this long is ended."""
SEEN_EVERY = timedelta(minutes=1)
"""``last_seen_at`` is written at most this often per session (not on every request)."""
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class Lifetime:
    """How long a log-in lasts (settings ``EISO_SESSION_IDLE_MINUTES``, ``EISO_SESSION_MAX_HOURS``)."""

    idle: timedelta = IDLE
    max_age: timedelta = MAX_AGE


class LoginSession(Base):
    __tablename__ = "login_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 (hex) of the token in the browser's cookie."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    """The last request of the session (to within ``SEEN_EVERY``)."""
    ends_at: Mapped[datetime | None]
    """An end of its own, earlier than the lifetime's (single sign-on sessions end after a working day)."""
    id_token: Mapped[str | None] = mapped_column(Text)
    """The OpenID provider's ID token of a single sign-on, the hint for signing out there too."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _ended(lifetime: Lifetime, now: datetime) -> ColumnElement[bool]:
    return ((LoginSession.created_at < now - lifetime.max_age) | (LoginSession.last_seen_at < now - lifetime.idle)
            | (LoginSession.ends_at <= now))  # fmt: skip


def open_session(session: Session, user: User, now: datetime, lifetime: Lifetime = Lifetime(), *,
                 ends_after: timedelta | None = None, id_token: str | None = None) -> str:  # fmt: skip
    """Start a session for a user who gave the password (or came through the OpenID provider, with its
    ID token and an end ``ends_after`` the log-in); returns the token for the cookie. The person's ended
    sessions are deleted, their ID tokens with them."""
    token = secrets.token_urlsafe(32)
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id, _ended(lifetime, now)))
    ends_at = now + ends_after if ends_after is not None and ends_after < lifetime.max_age else None
    session.add(LoginSession(id=_digest(token), user_id=user.id, created_at=now, last_seen_at=now, ends_at=ends_at,
                             id_token=id_token))  # fmt: skip
    session.commit()
    return token


def session_user(session: Session, token: str, now: datetime, lifetime: Lifetime = Lifetime()) -> User | None:
    """The active user this token logs in, or None when the session was ended, has not been used for
    ``lifetime.idle`` or began more than ``lifetime.max_age`` ago (an ended session's row is deleted)."""
    found = session.get(LoginSession, _digest(token))
    if found is None:
        return None
    if found.created_at < now - lifetime.max_age or found.last_seen_at < now - lifetime.idle \
            or (found.ends_at is not None and found.ends_at <= now):
        session.delete(found)
        session.commit()
        return None
    user = session.get(User, found.user_id)
    if user is None or not user.is_active:
        return None
    if found.last_seen_at <= now - SEEN_EVERY:  # one conditional write a minute, whatever the request rate
        seen = (update(LoginSession).where(LoginSession.id == found.id, LoginSession.last_seen_at < now)
                .values(last_seen_at=now).execution_options(synchronize_session=False))  # fmt: skip
        session.execute(seen)
        session.commit()
    return user


def id_token_of(session: Session, token: str) -> str | None:
    """The provider's ID token of a single sign-on session (None for a password log-in)."""
    found = session.get(LoginSession, _digest(token))
    return found.id_token if found is not None else None


def close_session(session: Session, token: str) -> None:
    """Log out: the token logs nobody in any more, whoever kept a copy of the cookie."""
    session.execute(delete(LoginSession).where(LoginSession.id == _digest(token)))
    session.commit()


def close_all_sessions(session: Session, user: User) -> None:
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


def change_password(session: Session, user: User, new: str, now: datetime, lifetime: Lifetime = Lifetime()) -> str:
    """Set a new password (the caller has checked the current one), end every session of the user
    (other browsers, stolen cookies) and return a fresh session token for the browser that changed it."""
    if len(new) < MIN_PASSWORD_LENGTH:
        raise EngineError("The new password must have at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
    if new.casefold() == user.username.casefold() or verify_password(user, new):
        raise EngineError("Choose a new password that differs from your user name and your current password.")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    close_all_sessions(session, user)
    return open_session(session, user, now, lifetime)
