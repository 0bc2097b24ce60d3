"""Roles, membership and the questions "who is this person in this unit?"."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

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


def hash_password(password: str) -> str:
    # scrypt: a deliberately slow, memory-hard hash.
    return generate_password_hash(password, method="scrypt")


@cache
def _unknown_user_hash() -> str:
    return hash_password(secrets.token_hex(16))


def verify_password(user: User, password: str) -> bool:
    # The hash is checked first, so an inactive account answers as slowly as an active one.
    return check_password_hash(user.password_hash, password) and user.is_active


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        check_password_hash(_unknown_user_hash(), password)  # as slow as a known name: names do not leak by timing
        return None
    return user if verify_password(user, password) else None


def roles_in_unit(session: Session, user: User, unit_id: int) -> set[str]:
    stmt = select(RoleAssignment.role).where(RoleAssignment.user_id == user.id, RoleAssignment.unit_id == unit_id)
    return set(session.scalars(stmt))


def unit_ids_of(session: Session, user: User) -> set[int]:
    return set(session.scalars(select(RoleAssignment.unit_id).where(RoleAssignment.user_id == user.id)))


def is_member(session: Session, user: User, unit_id: int) -> bool:
    return bool(roles_in_unit(session, user, unit_id))


def administered_unit_ids(session: Session, user: User) -> set[int]:
    """The units an account covers: those where it holds ``admin`` (workers and integration accounts act
    only on these units' work)."""
    if not user.is_active:
        return set()
    stmt = select(RoleAssignment.unit_id).where(RoleAssignment.user_id == user.id, RoleAssignment.role == "admin")
    return set(session.scalars(stmt))


def member_in(session: Session, unit_id: int, username: str) -> User | None:
    """The active person with this user name who holds a role in the unit; None for anyone else (a name
    from another unit included: a diagram never reaches past its instance's unit)."""
    stmt = (
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(User.username == username, RoleAssignment.unit_id == unit_id, User.is_active.is_(True))
    )
    return session.scalar(stmt.limit(1))


def users_with_role(session: Session, unit_id: int, role: str) -> list[User]:
    stmt = (
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.unit_id == unit_id, RoleAssignment.role == role, User.is_active.is_(True))
        .distinct()
    )
    return list(session.scalars(stmt))


def has_system_role(session: Session, user: User | None, role: str) -> bool:
    """Whether the user holds a role above the units (``system_admin``, ``province_admin``)."""
    if user is None or not user.is_active:
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
