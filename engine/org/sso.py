"""People who sign in through an OpenID Connect provider (single sign-on): who they are in eISO, whether
they may come in, and the roles the provider's claim gives them.

The protocol (discovery, PKCE, state, nonce, the ID token's signature and claims) is the web layer's
business; this module receives the verified claims and decides:

1. **Who.** A person is linked to the provider's account by ``(issuer, sub)`` (table
   ``external_identities``), so a changed user name or e-mail at the provider keeps the same eISO person.
   The first time, the person is matched by one claim (``preferred_username``, ``email`` or ``sub``) to an
   eISO account, and the link is stored. An eISO account is linked to at most one account of a provider:
   a provider account that matches an account already linked to another is refused, so a name given
   again at the provider does not open someone else's eISO account.
2. **Whether.** An eISO account switched off (``is_active`` false) is refused. Nobody matched: created
   in the configured unit (and department) when the administrator allows it, else refused.
3. **Roles.** With a role map (claim value -> unit, role, department), every (unit, role, department)
   the map names is the provider's to decide: at each sign-in the person gets those the claim's values
   give and loses those it no longer gives. Roles the map does not name are granted in eISO and stay.

Refusals raise ``SsoRefused`` before anything is written.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base
from engine.errors import NotAllowed
from engine.org import audit
from engine.org.models import Department, RoleAssignment, Unit, User
from engine.org.people import hash_password

log = logging.getLogger(__name__)

MATCH_CLAIMS = ("preferred_username", "email", "sub")
DEPARTMENT_ROLES = ("department_head", "specialist")
"""Roles held for a department (as the demo organisation and the people pages give them)."""
USERNAME_LENGTH = 80


class ExternalIdentity(Base):
    """The link of an eISO person to an account at an OpenID provider: issuer and subject (``sub``)."""

    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"), UniqueConstraint("user_id", "issuer"))
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime]


@dataclass(frozen=True)
class RoleGrant:
    """A role in a unit (by code), optionally for one of its departments (by code)."""

    unit: str
    role: str
    department: str | None = None


@dataclass(frozen=True)
class SsoPolicy:
    """What the administrator decided about people coming through the provider."""

    match_claim: str = "preferred_username"
    create_users: bool = False
    new_user_unit: str = ""
    new_user_department: str = ""
    new_user_role: str = "specialist"
    roles_claim: str = "groups"
    role_map: Mapping[str, tuple[RoleGrant, ...]] = field(default_factory=dict)

    def managed(self) -> set[RoleGrant]:
        """Every role the map names: these the provider decides."""
        return {grant for grants in self.role_map.values() for grant in grants}

    def granted_by(self, claims: Mapping[str, Any]) -> set[RoleGrant]:
        return {grant for value in claim_values(claims, self.roles_claim) for grant in self.role_map.get(value, ())}


class SsoRefused(NotAllowed):
    """The provider vouched for the person, but eISO does not let them in; ``reason`` names why."""

    def __init__(self, reason: str, template: str, **params: Any) -> None:
        super().__init__(template, **params)
        self.reason = reason


@dataclass
class SsoSignIn:
    user: User
    created: bool = False
    linked: bool = False
    added: list[RoleGrant] = field(default_factory=list)
    removed: list[RoleGrant] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Roles of the map that name a unit or department eISO does not have (skipped; also logged)."""


def claim_values(claims: Mapping[str, Any], path: str) -> list[str]:
    """The string values of a claim; ``path`` may reach into objects with dots (``realm_access.roles``)."""
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def sign_in(session: Session, issuer: str, claims: Mapping[str, Any], policy: SsoPolicy,
            now: datetime) -> SsoSignIn:  # fmt: skip
    """The eISO person these verified claims are, linked, created and given their mapped roles as the
    policy says; commits. Raises ``SsoRefused`` (nothing written) when the person may not come in."""
    try:
        return _sign_in(session, issuer, claims, policy, now)
    except IntegrityError:  # the same person's first sign-in in two tabs at once: the other one won
        session.rollback()
        return _sign_in(session, issuer, claims, policy, now)


def _sign_in(session: Session, issuer: str, claims: Mapping[str, Any], policy: SsoPolicy,
             now: datetime) -> SsoSignIn:  # fmt: skip
    subject = str(claims.get("sub") or "")
    if not subject:
        raise SsoRefused("no_subject", "The sign-in server did not say who you are (no 'sub'). Try again.")
    link = session.scalar(select(ExternalIdentity).where(ExternalIdentity.issuer == issuer,
                                                         ExternalIdentity.subject == subject))  # fmt: skip
    result: SsoSignIn
    if link is not None:
        user = session.get(User, link.user_id)
        assert user is not None  # a foreign key
        _require_active(user)
        result = SsoSignIn(user)
    else:
        user = _match(session, issuer, claims, policy)
        if user is not None:
            _require_active(user)
            result = SsoSignIn(user, linked=True)
        else:
            result = SsoSignIn(_create(session, claims, policy, now), created=True, linked=True)
        link = ExternalIdentity(user_id=result.user.id, issuer=issuer, subject=subject, created_at=now,
                                last_login_at=now)  # fmt: skip
        session.add(link)
    link.last_login_at = now
    _update_profile(result.user, claims)
    if policy.role_map:
        _sync_roles(session, result, claims, policy)
    session.commit()
    return result


def policy_problems(session: Session, policy: SsoPolicy) -> list[str]:
    """What in the policy names a unit or department eISO does not have (for the operator's check)."""
    problems: list[str] = []
    _resolve(session, policy.managed(), problems)
    if policy.create_users:
        unit = session.scalar(select(Unit).where(Unit.code == policy.new_user_unit))
        if unit is None or (policy.new_user_department and _department(session, unit, policy.new_user_department)
                            is None):  # fmt: skip
            where = "/".join(filter(None, (policy.new_user_unit, policy.new_user_department)))
            problems.append(f"new people join {where}, which eISO does not have")
    return sorted(set(problems))


def _require_active(user: User) -> None:
    if not user.is_active:
        raise SsoRefused("inactive", "Your eISO account %(username)s is switched off. Ask your unit's administrator "
                         "to switch it on again.", username=user.username)  # fmt: skip


def _claim_text(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    return value.strip() if isinstance(value, str) else ""


def _match(session: Session, issuer: str, claims: Mapping[str, Any], policy: SsoPolicy) -> User | None:
    """The eISO account the match claim names, not yet linked to another account of this provider."""
    claim = policy.match_claim
    value = str(claims.get("sub")) if claim == "sub" else _claim_text(claims, claim)
    if not value:
        raise SsoRefused("missing_claim", "The sign-in server did not send '%(claim)s', by which eISO finds your "
                         "account. Ask your administrator to have it sent (the scopes of eISO at the sign-in "
                         "server).", claim=claim)  # fmt: skip
    if claim == "email" and claims.get("email_verified") is False:
        raise SsoRefused("unverified_email", "The sign-in server has not verified your e-mail address %(email)s, by "
                         "which eISO finds your account. Verify it there first, then sign in again.",
                         email=value)  # fmt: skip
    if claim == "sub":
        stmt = select(User).where(User.username == value)
    elif claim == "email":
        stmt = select(User).where(func.lower(User.email) == value.lower())
    else:
        stmt = select(User).where(func.lower(User.username) == value.lower())
    found = list(session.scalars(stmt.limit(2)))
    if len(found) > 1:
        raise SsoRefused("ambiguous", "Several eISO accounts have %(value)s; eISO cannot tell which one is yours. "
                         "Ask your administrator to keep it on one account only.", value=value)  # fmt: skip
    if not found:
        return None
    user = found[0]
    taken = session.scalar(select(ExternalIdentity.id).where(ExternalIdentity.user_id == user.id,
                                                             ExternalIdentity.issuer == issuer))  # fmt: skip
    if taken is not None:
        raise SsoRefused("linked_elsewhere", "The eISO account %(username)s belongs to another account of the sign-in "
                         "server. Ask your administrator to check the accounts.", username=user.username)  # fmt: skip
    return user


def _create(session: Session, claims: Mapping[str, Any], policy: SsoPolicy, now: datetime) -> User:
    wanted = _claim_text(claims, "preferred_username") or _claim_text(claims, "email") or str(claims["sub"])
    if not policy.create_users:
        raise SsoRefused("unknown", "There is no eISO account for %(name)s yet. Ask your unit's administrator to "
                         "create it (or to let the sign-in create accounts), then sign in again.",
                         name=wanted)  # fmt: skip
    unit = session.scalar(select(Unit).where(Unit.code == policy.new_user_unit))
    department = None
    if unit is not None and policy.new_user_department:
        department = _department(session, unit, policy.new_user_department)
    if unit is None or (policy.new_user_department and department is None):
        where = "/".join(filter(None, (policy.new_user_unit, policy.new_user_department)))
        raise SsoRefused("no_unit", "eISO cannot create your account: the unit %(unit)s set for new people does not "
                         "exist. Ask your administrator to correct the setting.", unit=where)  # fmt: skip
    user = User(username=_free_username(session, wanted), full_name=_claim_text(claims, "name") or wanted,
                email="", password_hash=hash_password(secrets.token_urlsafe(32)), department=department,
                unit_id=unit.id)  # fmt: skip
    session.add(user)
    scoped = department.id if department is not None and policy.new_user_role in DEPARTMENT_ROLES else None
    user.roles.append(RoleAssignment(unit=unit, role=policy.new_user_role, department_id=scoped))
    session.flush()
    audit.record(session, "person.created_by_sign_on", actor=user, now=now, unit_id=unit.id, subject_kind="person",
                 subject_id=user.id, subject_name=f"{user.full_name} ({user.username})",
                 details={"role": policy.new_user_role, "department": policy.new_user_department or None})  # fmt: skip
    return user


def _free_username(session: Session, wanted: str) -> str:
    base = wanted[:USERNAME_LENGTH]
    candidate, n = base, 1
    while session.scalar(select(User.id).where(func.lower(User.username) == candidate.lower())) is not None:
        n += 1
        suffix = f"-{n}"
        candidate = base[: USERNAME_LENGTH - len(suffix)] + suffix
    return candidate


def _update_profile(user: User, claims: Mapping[str, Any]) -> None:
    """Name and e-mail follow the provider, where it sends them (a verified e-mail only)."""
    name = _claim_text(claims, "name")
    if name:
        user.full_name = name[:200]
    email = _claim_text(claims, "email")
    if email and claims.get("email_verified") is not False:
        user.email = email[:200]


def _department(session: Session, unit: Unit, code: str) -> Department | None:
    return session.scalar(select(Department).where(Department.unit_id == unit.id, Department.code == code))


Triple = tuple[int, str, int | None]


def _resolve(session: Session, grants: set[RoleGrant], problems: list[str]) -> dict[Triple, RoleGrant]:
    resolved: dict[Triple, RoleGrant] = {}
    for grant in sorted(grants, key=lambda g: (g.unit, g.role, g.department or "")):
        unit = session.scalar(select(Unit).where(Unit.code == grant.unit))
        department = _department(session, unit, grant.department) if unit is not None and grant.department else None
        if unit is None or (grant.department and department is None):
            problems.append(f"the role map names {grant.unit}{'/' + grant.department if grant.department else ''}, "
                            "which eISO does not have")  # fmt: skip
            continue
        resolved[(unit.id, grant.role, department.id if department else None)] = grant
    return resolved


def _sync_roles(session: Session, result: SsoSignIn, claims: Mapping[str, Any], policy: SsoPolicy) -> None:
    user = result.user
    problems: list[str] = []
    managed = _resolve(session, policy.managed(), problems)
    wanted = {triple for triple, grant in managed.items() if grant in policy.granted_by(claims)}
    held = {(r.unit_id, r.role, r.department_id): r for r in user.roles}
    for triple, assignment in held.items():
        if triple in managed and triple not in wanted:
            user.roles.remove(assignment)
            result.removed.append(managed[triple])
    for triple in sorted(wanted - held.keys(), key=str):
        unit_id, role, department_id = triple
        user.roles.append(RoleAssignment(unit_id=unit_id, role=role, department_id=department_id))
        result.added.append(managed[triple])
        if user.department_id is None and department_id is not None:
            user.department_id = department_id
    result.problems = sorted(set(problems))
    for problem in result.problems:
        log.warning("single sign-on of %s: %s", user.username, problem)
