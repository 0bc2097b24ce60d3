"""Roles, membership and the questions "who is this person in this unit?"."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine.errors import NotFound
from engine.org.models import RoleAssignment, SystemRole, User


@dataclass(frozen=True)
class Role:
    code: str
    name_vi: str
    name_en: str


ROLES: dict[str, Role] = {
    r.code: r
    for r in (
        Role("iso_secretary", "Thư ký ISO", "ISO secretary"),
        Role("unit_leader", "Lãnh đạo đơn vị", "Unit leader"),
        Role("department_head", "Lãnh đạo phòng", "Department head"),
        Role("specialist", "Chuyên viên", "Specialist"),
        Role("internal_auditor", "Đánh giá viên nội bộ", "Internal auditor"),
        Role("admin", "Quản trị hệ thống", "Administrator"),
    )
}


DEPARTMENT_ROLES = ("department_head", "specialist")
"""Roles held for one department: given without a department, they are held for the person's own."""

SYSTEM_ADMIN = "system_admin"
PROVINCE_ADMIN = "province_admin"
SYSTEM_ROLES: dict[str, Role] = {
    r.code: r
    for r in (
        Role(SYSTEM_ADMIN, "Quản trị thư viện quy trình dùng chung", "Shared library administrator"),
        Role(PROVINCE_ADMIN, "Quản trị lịch làm việc của tỉnh", "Province calendar administrator"),
    )
}
"""Roles above the units (table ``system_roles``); a unit's ``admin`` holds none of them."""


_UNIT_LIMIT = "eiso.unit_limit"
_checks = [0]
_checks_lock = threading.Lock()


def act_within_unit(user: User, unit_id: int) -> User:
    """Let this account act, for as long as this object lives (one request), within one unit only: its roles
    in other units and its roles above the units count for nothing. An API token acts as its holder this way
    (``engine.org.tokens``). Every question about the acting account's roles goes through ``holds``."""
    inspect(user).info[_UNIT_LIMIT] = unit_id
    return user


def unit_limit(user: User) -> int | None:
    """The one unit this account acts within (see ``act_within_unit``), or None: all of its units."""
    limit = inspect(user).info.get(_UNIT_LIMIT)
    return limit if isinstance(limit, int) else None


def holds(user: User) -> ColumnElement[bool]:
    """The role assignments that count for this account now: its own, only those of its one unit while it
    acts within a unit. Every query of the acting account's roles uses this clause, never ``user_id`` alone
    (``tests/engine/test_tokens.py`` fails on one that does), or ``holds_named`` in a statement built once."""
    own = RoleAssignment.user_id == user.id
    limit = unit_limit(user)
    return own if limit is None else own & (RoleAssignment.unit_id == limit)


def holds_named(in_one_unit: bool) -> ColumnElement[bool]:
    """``holds`` with its values named, for a statement built once and run for anyone: ``in_one_unit`` for an
    account acting within a unit (``unit_limit`` not None); ``holder_values`` gives the values."""
    own = RoleAssignment.user_id == bindparam("holder")
    return own & (RoleAssignment.unit_id == bindparam("holder_unit")) if in_one_unit else own


def holder_values(user: User) -> dict[str, int | None]:
    """The values of ``holds_named`` for this account now."""
    return {"holder": user.id, "holder_unit": unit_limit(user)}


def password_checks() -> int:
    """How many password hashes this process has checked so far (each costs ~0.1 s of CPU, on purpose);
    ``eiso bench auth`` reads it to show which requests cost one."""
    with _checks_lock:
        return _checks[0]


def _check_password_hash(stored: str, password: str) -> bool:
    with _checks_lock:
        _checks[0] += 1
    return check_password_hash(stored, password)


def hash_password(password: str) -> str:
    # scrypt: a deliberately slow, memory-hard hash.
    return generate_password_hash(password, method="scrypt")


@cache
def _unknown_user_hash() -> str:
    return hash_password(secrets.token_hex(16))


def verify_password(user: User, password: str) -> bool:
    # The hash is checked first, so an inactive account answers as slowly as an active one.
    return _check_password_hash(user.password_hash, password) and user.is_active


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        _check_password_hash(_unknown_user_hash(), password)  # as slow as a known name: names do not leak by timing
        return None
    return user if verify_password(user, password) else None


def grants(session: Session, user: User) -> dict[int, list[str]]:
    """The roles that count for the account now (``holds``), by unit, each unit's sorted. Read once per session
    until it writes or its transaction ends: a request asks several times (may the caller see the task? may
    they work it? the two lists of a page and their counts), and each answer is the same one query."""
    known: dict[tuple[int, int | None], dict[int, list[str]]] = session.info.setdefault(_GRANTS, {})
    key = (user.id, unit_limit(user))
    found = known.get(key)
    if found is None:
        by_unit: dict[int, set[str]] = {}
        held = _HELD if unit_limit(user) is None else _HELD_IN_UNIT
        for unit_id, role in session.execute(held, holder_values(user)):
            by_unit.setdefault(unit_id, set()).add(role)
        found = known[key] = {unit_id: sorted(roles) for unit_id, roles in by_unit.items()}
    return found


_GRANTS = "eiso.grants"
# built once: every request asks ``grants``, and building the statement cost as much as running it
_HELD = select(RoleAssignment.unit_id, RoleAssignment.role).where(holds_named(in_one_unit=False))
_HELD_IN_UNIT = select(RoleAssignment.unit_id, RoleAssignment.role).where(holds_named(in_one_unit=True))


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_grants(session: Session, *_: Any) -> None:
    """Any write (a role granted or taken away) and any new transaction reads the roles again."""
    session.info.pop(_GRANTS, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_grants_on_write(state: ORMExecuteState) -> None:
    """... and so does a write that is no flush (``session.execute(delete(RoleAssignment)…)``)."""
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info.pop(_GRANTS, None)


def roles_in_unit(session: Session, user: User, unit_id: int) -> set[str]:
    return set(grants(session, user).get(unit_id, ()))


def unit_ids_of(session: Session, user: User) -> set[int]:
    return set(grants(session, user))


def units_in_view(session: Session, viewer: User, unit_id: int | None) -> set[int]:
    """The units a register shows the viewer: all of theirs, or the one asked for. A unit they do not belong to
    does not exist for them (NotFound), so a stale link is not read as an empty register."""
    units = unit_ids_of(session, viewer) if viewer.is_active else set()
    if unit_id is None:
        return units
    if unit_id not in units:
        raise NotFound("Unit %(id)s does not exist.", id=unit_id)
    return {unit_id}


def is_member(session: Session, user: User, unit_id: int) -> bool:
    return bool(roles_in_unit(session, user, unit_id))


def administered_unit_ids(session: Session, user: User) -> set[int]:
    """The units an account covers: those where it holds ``admin`` (workers and integration accounts act
    only on these units' work)."""
    if not user.is_active:
        return set()
    return {unit_id for unit_id, roles in grants(session, user).items() if "admin" in roles}


# Built once: every user task a diagram gives to a named person asks it (building costs as much as running).
_MEMBER_IN = (
    select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
    .where(User.username == bindparam("username"), RoleAssignment.unit_id == bindparam("unit_id"),
           User.is_active.is_(True))
    .limit(1)
)  # fmt: skip


def member_in(session: Session, unit_id: int, username: str) -> User | None:
    """The active person with this user name who holds a role in the unit; None for anyone else (a name
    from another unit included: a diagram never reaches past its instance's unit)."""
    return session.scalar(_MEMBER_IN, {"username": username, "unit_id": unit_id})


def users_with_role(session: Session, unit_id: int, role: str) -> list[User]:
    stmt = (
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.unit_id == unit_id, RoleAssignment.role == role, User.is_active.is_(True))
        .distinct()
    )
    return list(session.scalars(stmt))


def department_heads(session: Session, unit_id: int, *department_ids: int | None) -> list[User]:
    """The active heads of these departments of the unit (the registers' notices go to them)."""
    wanted = {d for d in department_ids if d is not None}
    stmt = (
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.unit_id == unit_id, RoleAssignment.role == "department_head",
               RoleAssignment.department_id.in_(wanted), User.is_active.is_(True))
        .distinct()
        .order_by(User.id)
    )  # fmt: skip
    return list(session.scalars(stmt))


def has_system_role(session: Session, user: User | None, role: str) -> bool:
    """Whether the user holds a role above the units (``system_admin``, ``province_admin``); never while the
    account acts within one unit (an API token)."""
    if user is None or not user.is_active or unit_limit(user) is not None:
        return False
    stmt = select(SystemRole.id).where(SystemRole.user_id == user.id, SystemRole.role == role)
    return session.scalar(stmt.limit(1)) is not None


def grant_system_role(session: Session, user: User, role: str) -> None:
    """Give a user a role above the units (the caller commits)."""
    if role not in SYSTEM_ROLES:
        raise ValueError(f"unknown system role {role!r}")
    if not has_system_role(session, user, role):
        session.add(SystemRole(user_id=user.id, role=role))
        session.flush()


def revoke_system_role(session: Session, user: User, role: str) -> None:
    """Take a role above the units away (the caller commits)."""
    session.execute(delete(SystemRole).where(SystemRole.user_id == user.id, SystemRole.role == role))


LANGUAGES = ("vi", "en")


def set_language(session: Session, user: User, language: str) -> None:
    """Remember the language a person chose, for what eISO writes to them when they are not looking at a page
    (the mail copies of notices). Only the languages eISO speaks are kept."""
    if language in LANGUAGES and user.locale != language:
        user.locale = language
        session.commit()
