"""API tokens: what other systems and workers send instead of a password (``Authorization: Bearer …``).

A token is a long random secret shown once, when it is made; only its SHA-256 is stored, so reading the
table gives nobody a token, and checking one costs a hash and an indexed look-up instead of a password
hash (scrypt, ~0.1 s of CPU on purpose).

Whose identity a token acts as: its **holder**, a person of the token's unit, chosen when it is made (the
administrator who makes it, or an integration account of the unit). A request with the token acts as the
holder **within the token's unit only** (``people.act_within_unit``): the holder's roles in other units and
roles above the units (system administrator…) count for nothing, and what the holder may do in the unit is
what the holder's roles there allow today, no more. On top of that the token's **scopes** say which kinds
of calls it may make at all (``SCOPES``; the web layer names the scope of each route). The token stops
working at once when it is revoked, when its holder is deactivated, or when the holder no longer holds any
role in the unit; taking a role away takes it away from the holder's tokens too.

Who manages tokens: a unit's administrators (role ``admin``) for their unit, and system administrators
for every unit. An administrator gives a token to themselves or to a person of the unit whose roles there
they hold too (an integration account), never to someone who could do more than they can; a system
administrator to any person of the unit. A token never manages tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, bindparam, exists, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engine.db import Base
from engine.errors import Conflict, EngineError, NotAllowed, NotFound
from engine.org import audit
from engine.org.models import RoleAssignment, Unit, User
from engine.org.people import SYSTEM_ADMIN, act_within_unit, has_system_role, holds, roles_in_unit, unit_limit

PREFIX = "eiso_"
"""Every token starts with it, so people, logs and secret scanners recognise one."""
SECRET_BYTES = 32
SHOWN_LENGTH = 12
"""The first characters of a token, kept to tell tokens apart in the list (not enough to guess the rest)."""
NAME_LENGTH = 100
TOUCH_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token, so a busy worker costs no write per call."""

START, TASKS, DEPLOY, JOBS = "start", "tasks", "deploy", "jobs"
SCOPES: dict[str, str] = {
    START: "Start processes, and send messages and signals to the unit's processes",
    TASKS: "Read, claim and complete tasks",
    DEPLOY: "Deploy processes (Camunda Modeler)",
    JOBS: "Worker jobs: fetch and lock, complete and fail external tasks",
}
"""What a token may be used for; each API route belongs to one or more of these (``webapp/api_auth.py``)."""


class ApiToken(Base):
    """A token for other systems and workers, acting as its holder within one unit, for some scopes."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    """The holder: the person the token acts as."""
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    scopes: Mapped[str] = mapped_column(String(100))
    """Space-separated scope names (``SCOPES``)."""
    shown: Mapped[str] = mapped_column(String(SHOWN_LENGTH))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 (hex) of the whole token."""
    created_at: Mapped[datetime]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None]
    last_used_from: Mapped[str | None] = mapped_column(String(45))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unit: Mapped[Unit] = relationship()
    holder: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    @property
    def scope_names(self) -> list[str]:
        return [s for s in SCOPES if s in self.scopes.split()]

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str
    """The whole token: shown to its maker once, never stored."""


@dataclass(frozen=True)
class TokenGrant:
    """What a request with a valid token may do: act as ``user`` within ``unit_id``, for ``scopes``."""

    token_id: int
    name: str
    unit_id: int
    scopes: frozenset[str]
    user: User

    def allows(self, any_of: Iterable[str]) -> bool:
        return bool(self.scopes & set(any_of))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


# --- who manages tokens ------------------------------------------------------------------------------


def may_manage(session: Session, user: User | None, unit_id: int) -> bool:
    """A unit's tokens are managed by its administrators and by system administrators; never with a token."""
    if user is None or not user.is_active or unit_limit(user) is not None:
        return False
    return "admin" in roles_in_unit(session, user, unit_id) or has_system_role(session, user, SYSTEM_ADMIN)


def managed_units(session: Session, user: User | None) -> list[Unit]:
    """The units whose tokens the user manages, by name."""
    if user is None or not user.is_active or unit_limit(user) is not None:
        return []
    stmt = select(Unit).order_by(Unit.name)
    if not has_system_role(session, user, SYSTEM_ADMIN):
        admin_of = select(RoleAssignment.unit_id).where(holds(user), RoleAssignment.role == "admin")
        stmt = stmt.where(Unit.id.in_(admin_of))
    return list(session.scalars(stmt))


def possible_holders(session: Session, actor: User, unit_id: int) -> list[User]:
    """The people of the unit the actor may give a token to: active, holding a role in the unit, and (unless
    the actor is a system administrator) holding there no role the actor does not hold."""
    if not may_manage(session, actor, unit_id):
        return []
    members = select(RoleAssignment.user_id).where(RoleAssignment.unit_id == unit_id)
    people = session.scalars(select(User).where(User.id.in_(members), User.is_active.is_(True))
                             .order_by(User.full_name, User.username))  # fmt: skip
    return [p for p in people if _may_give_to(session, actor, p, unit_id)]


def _may_give_to(session: Session, actor: User, holder: User, unit_id: int) -> bool:
    if not holder.is_active:
        return False
    theirs = roles_in_unit(session, holder, unit_id)
    if not theirs:
        return False
    return holder.id == actor.id or has_system_role(session, actor, SYSTEM_ADMIN) or \
        theirs <= roles_in_unit(session, actor, unit_id)


def _require_manager(session: Session, actor: User, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("There is no unit with id %(id)s.", id=unit_id)
    if not may_manage(session, actor, unit_id):
        raise NotAllowed("Only the unit's administrators (and system administrators) manage its API tokens.")
    return unit


# --- making, listing and revoking --------------------------------------------------------------------


def issue(session: Session, actor: User, *, unit_id: int, name: str, scopes: Iterable[str], now: datetime,
          holder: str | None = None) -> IssuedToken:  # fmt: skip
    """Make a token for the unit acting as ``holder`` (a user name; None: the actor). The secret is in the
    result only; the caller shows it once."""
    _require_manager(session, actor, unit_id)
    name = " ".join(name.split())
    if not name or len(name) > NAME_LENGTH:
        raise EngineError("Give the token a name of 1 to %(n)s characters that says who uses it (e.g. the "
                          "worker or system).", n=NAME_LENGTH)  # fmt: skip
    wanted = {s.strip() for s in scopes if s.strip()}
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise EngineError("Unknown token scope %(scope)s; choose among %(known)s.", scope=", ".join(unknown),
                          known=", ".join(SCOPES))  # fmt: skip
    if not wanted:
        raise EngineError("Choose at least one scope: what the token may be used for (%(known)s).",
                          known=", ".join(SCOPES))  # fmt: skip
    person = actor if holder is None or holder == actor.username else session.scalar(
        select(User).where(User.username == holder))  # fmt: skip
    if person is None or not person.is_active or not roles_in_unit(session, person, unit_id):
        raise EngineError("%(holder)s is not an active person of this unit; a token acts as a person who holds a "
                          "role in its unit.", holder=holder or actor.username)  # fmt: skip
    if not _may_give_to(session, actor, person, unit_id):
        raise NotAllowed("You may give a token only to yourself or to a person of the unit whose roles there you "
                         "hold too: a token never lets you do more than you may.")  # fmt: skip
    taken = select(ApiToken.id).where(ApiToken.unit_id == unit_id, ApiToken.name == name,
                                      ApiToken.revoked_at.is_(None))  # fmt: skip
    if session.scalar(taken) is not None:
        raise Conflict("The unit already has a token named %(name)s; choose another name, or revoke that one "
                       "first.", name=name)  # fmt: skip
    secret = PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    token = ApiToken(unit_id=unit_id, user_id=person.id, name=name, scopes=" ".join(s for s in SCOPES if s in wanted),
                     shown=secret[:SHOWN_LENGTH], digest=digest(secret), created_at=now, created_by_id=actor.id)
    session.add(token)
    session.flush()
    audit.record(session, "token.issued", actor=actor, now=now, unit_id=unit_id, subject_kind="token",
                 subject_id=token.id, subject_name=name,
                 details={"holder": person.username, "scopes": token.scopes, "starts_with": token.shown})  # fmt: skip
    session.commit()
    return IssuedToken(token, secret)


def tokens_for(session: Session, actor: User) -> list[ApiToken]:
    """The tokens of the units the actor manages, those in use first, newest first."""
    units = [u.id for u in managed_units(session, actor)]
    if not units:
        return []
    stmt = select(ApiToken).where(ApiToken.unit_id.in_(units))
    return list(session.scalars(stmt.order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(),
                                              ApiToken.id.desc())))  # fmt: skip


def revoke(session: Session, actor: User, token_id: int, now: datetime) -> ApiToken:
    """End a token at once, on every server process; revoking a revoked token changes nothing. Another
    unit's token does not exist for the actor."""
    token = session.get(ApiToken, token_id)
    if token is None or not may_manage(session, actor, token.unit_id):
        raise NotFound("This API token does not exist.")
    if token.revoked_at is None:
        token.revoked_at, token.revoked_by_id = now, actor.id
        audit.record(session, "token.revoked", actor=actor, now=now, unit_id=token.unit_id, subject_kind="token",
                     subject_id=token.id, subject_name=token.name)  # fmt: skip
        session.commit()
    return token


# --- using a token -----------------------------------------------------------------------------------


# Built once, not on every API call that brings a token (building a statement costs about as much as running it).
_GRANTED = (
    select(ApiToken.id, ApiToken.name, ApiToken.unit_id, ApiToken.scopes, ApiToken.last_used_at, User)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.digest == bindparam("digest"), ApiToken.revoked_at.is_(None), User.is_active.is_(True),
           exists().where(RoleAssignment.user_id == ApiToken.user_id, RoleAssignment.unit_id == ApiToken.unit_id))
)  # fmt: skip


def authenticate_token(session: Session, secret: str, now: datetime, address: str = "") -> TokenGrant | None:
    """What a request with this token may do, or None (unknown, revoked, malformed, a holder deactivated or
    gone from the unit: all alike). One indexed query, no password hash. The holder comes back limited to the
    token's unit (``people.act_within_unit``)."""
    found = session.execute(_GRANTED, {"digest": digest(secret)}).first()
    if found is None:
        return None
    token_id, name, unit_id, scopes, last_used_at, holder = found  # the token's columns, not a mapped row
    grant = TokenGrant(token_id, name, unit_id, frozenset(scopes.split()), act_within_unit(holder, unit_id))
    if last_used_at is None or last_used_at <= now - TOUCH_EVERY:
        _touch(session, token_id, now, address)
    return grant


def _touch(session: Session, token_id: int, now: datetime, address: str) -> None:
    """Note when (and from where) the token was last used, at most once per ``TOUCH_EVERY``: the caller
    looked first, and the conditional UPDATE makes concurrent requests write it once."""
    stale = or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOUCH_EVERY)
    stmt = (update(ApiToken).where(ApiToken.id == token_id, stale)
            .values(last_used_at=now, last_used_from=address[:45] or None)
            .execution_options(synchronize_session=False))  # fmt: skip
    session.execute(stmt)
    session.commit()


def require_scope(grant: TokenGrant, any_of: Iterable[str]) -> None:
    """Refuse (403) a call the token's scopes do not cover; ``any_of`` empty: no token may make it."""
    needed = [s for s in SCOPES if s in set(any_of)]
    if not needed:
        raise NotAllowed("An API token cannot be used for this call; use the account's password (HTTP Basic).")
    if not grant.allows(needed):
        raise NotAllowed("This API token may not be used for this call: it needs the scope %(needed)s, and the "
                         "token has %(has)s. Ask the unit's administrator for a token with that scope.",
                         needed=" or ".join(needed), has=", ".join(sorted(grant.scopes)) or "none")  # fmt: skip
