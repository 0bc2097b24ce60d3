"""Log-in sessions kept in the database, so that logging out and changing a password end them on
every server process: the browser's signed cookie carries a random token, and a request is logged
in only while the token's row exists. Only the token's SHA-256 is stored, so reading the table gives
nobody a session.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, delete
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base
from engine.errors import EngineError
from engine.org.models import User
from engine.org.people import hash_password, verify_password

MAX_AGE = timedelta(days=30)
"""A session older than this is ended: it must be started again with the password."""
MIN_PASSWORD_LENGTH = 8


class LoginSession(Base):
    __tablename__ = "login_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 (hex) of the token in the browser's cookie."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, user: User, now: datetime) -> str:
    """Start a session for a user who gave the password; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    too_old = LoginSession.created_at < now - MAX_AGE
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id, too_old))
    session.add(LoginSession(id=_digest(token), user_id=user.id, created_at=now))
    session.commit()
    return token


def session_user(session: Session, token: str, now: datetime) -> User | None:
    """The active user this token logs in, or None when the session was ended or is too old."""
    found = session.get(LoginSession, _digest(token))
    if found is None or found.created_at < now - MAX_AGE:
        return None
    user = session.get(User, found.user_id)
    return user if user is not None and user.is_active else None


def close_session(session: Session, token: str) -> None:
    """Log out: the token logs nobody in any more, whoever kept a copy of the cookie."""
    session.execute(delete(LoginSession).where(LoginSession.id == _digest(token)))
    session.commit()


def close_all_sessions(session: Session, user: User) -> None:
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


def change_password(session: Session, user: User, new: str, now: datetime) -> str:
    """Set a new password (the caller has checked the current one), end every session of the user
    (other browsers, stolen cookies) and return a fresh session token for the browser that changed it."""
    if len(new) < MIN_PASSWORD_LENGTH:
        raise EngineError("The new password must have at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
    if new.casefold() == user.username.casefold() or verify_password(user, new):
        raise EngineError("Choose a new password that differs from your user name and your current password.")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    close_all_sessions(session, user)
    return open_session(session, user, now)
