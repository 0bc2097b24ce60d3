"""Organisation administration: units, their departments, people, their roles, and leavers.

Who may do what (checked here, whatever page or API asks):

- a **system administrator** (``system_admin``, above the units) creates units and does everything below
  in every unit;
- a **unit's administrator** (role ``admin`` in the unit) edits the unit (not its code or province, which
  other systems and the province rely on), its departments, and the people whose accounts belong to the
  unit (``User.unit_id``), with their roles in the unit;
- anyone else: a unit they hold no role in does not exist for them (``NotFound``); in their own unit
  without ``admin`` they are refused (``NotAllowed``).

Every function checks the acting account, validates everything before changing anything (a refused
request changes nothing), writes an ``audit`` entry in the same transaction, and commits.

New people get an initial password from the administrator (typed, or generated and shown once) and are
asked to choose their own at their first log-in (``User.must_change_password``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.errors import Conflict, EngineStateError, FieldProblem, InvalidFields, NotAllowed, NotFound, Phrase
from engine.org import audit
from engine.org.login_sessions import MIN_PASSWORD_LENGTH, close_all_sessions
from engine.org.models import Department, RoleAssignment, Unit, User
from engine.org.notices import notify
from engine.org.people import (
    DEPARTMENT_ROLES,
    ROLES,
    SYSTEM_ADMIN,
    department_heads,
    grant_system_role,
    has_system_role,
    hash_password,
    holds,
    is_member,
    roles_in_unit,
    users_with_role,
)
from engine.org.provinces import PROVINCES

ADMIN = "admin"
UNIT_CODE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
ELECTRONIC_CODE = re.compile(r"[A-Z0-9](?:[A-Z0-9.-]{0,38}[A-Z0-9])?")
DEPARTMENT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,78}[a-z0-9]")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105 - letters, not a password; none read as another
GENERATED_PASSWORD_LENGTH = 12
DEACTIVATED = "person_deactivated"  # the notice's kind


def save(session: Session, *, commit: bool = True) -> None:
    """Write the change (commit, or only flush); a code or user name that someone else took at the same moment
    (a unique constraint) is a ``Conflict`` and nothing of the change is kept."""
    try:
        if commit:
            session.commit()
        else:
            session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("Someone else made a change with the same code or user name at the same moment; nothing was "
                       "changed. Reload the page and try again.") from None


# --- rights -----------------------------------------------------------------------------------------------


def is_system_admin(session: Session, actor: User) -> bool:
    return has_system_role(session, actor, SYSTEM_ADMIN)


def may_administer(session: Session, actor: User, unit_id: int) -> bool:
    """A system administrator everywhere; a unit's active ``admin`` in that unit."""
    if not actor.is_active:
        return False
    return is_system_admin(session, actor) or ADMIN in roles_in_unit(session, actor, unit_id)


def administered_units(session: Session, actor: User) -> list[Unit]:
    """The units the actor administers, by name: every unit for a system administrator."""
    if not actor.is_active:
        return []
    stmt = select(Unit)
    if not is_system_admin(session, actor):
        mine = select(RoleAssignment.unit_id).where(holds(actor), RoleAssignment.role == ADMIN)
        stmt = stmt.where(Unit.id.in_(mine))
    return list(session.scalars(stmt.order_by(Unit.name, Unit.id)))


def administered_unit(session: Session, actor: User, unit_id: int) -> Unit:
    """The unit, if the actor administers it; ``NotFound`` for a unit the actor holds no role in (its
    existence does not leak), ``NotAllowed`` for a member without ``admin``."""
    unit = session.get(Unit, unit_id)
    if unit is None or not (is_system_admin(session, actor) or is_member(session, actor, unit_id)):
        raise NotFound("Unit %(id)s does not exist.", id=unit_id)
    if not may_administer(session, actor, unit_id):
        raise NotAllowed("Only the unit's administrators may manage its organisation.")
    return unit


def _require_system_admin(session: Session, actor: User) -> None:
    if not (actor.is_active and is_system_admin(session, actor)):
        raise NotAllowed("Only system administrators may create units or change a unit's code or province.")


def managed_department(session: Session, actor: User, department_id: int) -> Department:
    department = session.get(Department, department_id)
    if department is None:
        raise NotFound("Department %(id)s does not exist.", id=department_id)
    try:
        administered_unit(session, actor, department.unit_id)
    except NotFound:
        raise NotFound("Department %(id)s does not exist.", id=department_id) from None
    return department


def managed_person(session: Session, actor: User, person_id: int) -> User:
    """The person, if the actor manages the account: a system administrator any account, a unit's
    administrator the accounts of the unit. Another unit's person does not exist for the actor."""
    person = session.get(User, person_id)
    if person is None:
        raise NotFound("Person %(id)s does not exist.", id=person_id)
    if is_system_admin(session, actor) and actor.is_active:
        return person
    if person.unit_id is None:
        raise NotFound("Person %(id)s does not exist.", id=person_id)
    try:
        administered_unit(session, actor, person.unit_id)
    except NotFound:
        raise NotFound("Person %(id)s does not exist.", id=person_id) from None
    return person


# --- reading the fields of a request ------------------------------------------------------------------------


class Fields:
    """The fields of a request (a form or a JSON object), read one by one; what is wrong is collected, so
    the answer names every field to correct at once."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        self.problems: list[FieldProblem] = []

    def given(self, name: str) -> bool:
        return name in self.values

    def wrong(self, name: str, template: str, **params: Any) -> None:
        self.problems.append(FieldProblem(name, template, **params))

    def text(self, name: str, limit: int, *, required: bool = False, lines: bool = False) -> str:
        raw = self.values.get(name)
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            self.wrong(name, "Send this field as text.")
            return ""
        value = raw.strip() if lines else " ".join(raw.split())
        if required and not value:
            self.wrong(name, "Fill in this field.")
        elif len(value) > limit:
            self.wrong(name, "Write at most %(n)s characters (now %(length)s).", n=limit, length=len(value))
        return value

    def flag(self, name: str) -> bool | None:
        raw = self.values.get(name)
        if isinstance(raw, bool):
            return raw
        if raw in ("1", "true", "on", "yes"):
            return True
        if raw in ("0", "false", "off", "no", ""):
            return False
        self.wrong(name, "Send true or false.")
        return None

    def check(self) -> None:
        if self.problems:
            raise InvalidFields(self.problems)


def _unknown_fields(fields: Fields, known: Iterable[str]) -> None:
    for name in sorted(set(fields.values) - set(known) - {"csrf_token"}):
        fields.wrong(name, "This field is not known here; leave it out.")


# --- units -------------------------------------------------------------------------------------------------

UNIT_FIELDS = ("code", "name", "short_name", "electronic_code", "province", "quality_policy")


def _unit_values(session: Session, fields: Fields, unit: Unit | None) -> dict[str, Any]:
    """The unit's fields that the request gives, validated (all of them when creating)."""
    creating = unit is None
    out: dict[str, Any] = {}
    if creating or fields.given("code"):
        code = fields.text("code", 40, required=True).lower()
        if code and not UNIT_CODE.fullmatch(code):
            fields.wrong("code", "Use lower-case letters without accents, digits and hyphens, e.g. so-tu-phap.")
        elif code and session.scalar(select(Unit.id).where(Unit.code == code, Unit.id != (unit.id if unit else -1))):
            fields.wrong("code", "Another unit already has the code '%(value)s'; choose another.", value=code)
        out["code"] = code
    if creating or fields.given("name"):
        out["name"] = fields.text("name", 300, required=True)
    if creating or fields.given("short_name"):
        out["short_name"] = fields.text("short_name", 40)
    if creating or fields.given("electronic_code"):
        raw = fields.text("electronic_code", 40).upper()
        if raw and not ELECTRONIC_CODE.fullmatch(raw):
            fields.wrong("electronic_code", "Use letters, digits, dots and hyphens only, starting and ending with "
                                              "a letter or digit, e.g. 000.00.24.H22.")  # fmt: skip
        elif raw and session.scalar(select(Unit.id).where(func.upper(Unit.electronic_code) == raw,
                                                          Unit.id != (unit.id if unit else -1))):  # fmt: skip
            fields.wrong("electronic_code", "Another unit already has the electronic code '%(value)s'.", value=raw)
        out["electronic_code"] = raw or None
    if creating or fields.given("province"):
        province = fields.text("province", 40)
        if province not in PROVINCES:
            fields.wrong("province", "Choose the province from the list (a code such as %(example)s).",
                           example="dak-lak")  # fmt: skip
        out["province"] = province
    if creating or fields.given("quality_policy"):
        out["quality_policy"] = fields.text("quality_policy", 5000, lines=True)
    return out


def _unit_state(unit: Unit) -> dict[str, Any]:
    return {name: getattr(unit, name) for name in UNIT_FIELDS}


def create_unit(session: Session, values: Mapping[str, Any], *, actor: User, now: datetime) -> Unit:
    """A new unit (system administrators only); its people and departments are added next."""
    _require_system_admin(session, actor)
    fields = Fields(values)
    _unknown_fields(fields, UNIT_FIELDS)
    checked = _unit_values(session, fields, None)
    fields.check()
    unit = Unit(**checked)
    session.add(unit)
    save(session, commit=False)
    audit.record(session, "unit.created", actor=actor, now=now, unit_id=unit.id, subject_kind="unit",
                 subject_id=unit.id, subject_name=unit.name,
                 changes={k: (None, v) for k, v in checked.items() if v})  # fmt: skip
    save(session)
    return unit


def update_unit(session: Session, unit_id: int, values: Mapping[str, Any], *, actor: User, now: datetime) -> Unit:
    """Change the fields the request gives; the code and the province only by a system administrator."""
    unit = administered_unit(session, actor, unit_id)
    fields = Fields(values)
    _unknown_fields(fields, UNIT_FIELDS)
    checked = _unit_values(session, fields, unit)
    fields.check()
    before = _unit_state(unit)
    if any(checked.get(name, before[name]) != before[name] for name in ("code", "province")):
        _require_system_admin(session, actor)
    for name, value in checked.items():
        setattr(unit, name, value)
    after = _unit_state(unit)
    if after != before:
        audit.record(session, "unit.updated", actor=actor, now=now, unit_id=unit.id, subject_kind="unit",
                     subject_id=unit.id, subject_name=unit.name,
                     changes={k: (before[k], after[k]) for k in UNIT_FIELDS})  # fmt: skip
    save(session)
    return unit


# --- departments -------------------------------------------------------------------------------------------


def departments_of(session: Session, unit_id: int, *, actor: User) -> list[Department]:
    administered_unit(session, actor, unit_id)
    return list(session.scalars(select(Department).where(Department.unit_id == unit_id).order_by(Department.id)))


def department_by_code(session: Session, unit_id: int, code: str) -> Department | None:
    """The unit's department with this code, in any letter case."""
    stmt = select(Department).where(Department.unit_id == unit_id, func.lower(Department.code) == code.lower())
    return session.scalar(stmt.limit(1))


def create_department(session: Session, unit_id: int, values: Mapping[str, Any], *, actor: User,
                      now: datetime) -> Department:  # fmt: skip
    unit = administered_unit(session, actor, unit_id)
    fields = Fields(values)
    _unknown_fields(fields, ("code", "name"))
    code = fields.text("code", 40, required=True)
    if code and not DEPARTMENT_CODE.fullmatch(code):
        fields.wrong("code", "Use letters without accents, digits, hyphens and underscores, e.g. vp or qlkh.")
    elif code and department_by_code(session, unit.id, code) is not None:
        fields.wrong("code", "The unit already has a department with the code '%(value)s'.", value=code)
    name = fields.text("name", 300, required=True)
    fields.check()
    department = Department(unit_id=unit.id, code=code, name=name, is_active=True)
    session.add(department)
    save(session, commit=False)
    audit.record(session, "department.created", actor=actor, now=now, unit_id=unit.id, subject_kind="department",
                 subject_id=department.id, subject_name=f"{name} ({code})",
                 changes={"code": (None, code), "name": (None, name)})  # fmt: skip
    save(session)
    return department


def _department_staff(session: Session, department_id: int, *, active_only: bool) -> int:
    """How many people belong to the department or hold a role for it."""
    scoped = select(RoleAssignment.user_id).where(RoleAssignment.department_id == department_id)
    stmt = select(func.count(User.id)).where((User.department_id == department_id) | User.id.in_(scoped))
    if active_only:
        stmt = stmt.where(User.is_active.is_(True))
    return int(session.scalar(stmt) or 0)


def update_department(session: Session, department_id: int, values: Mapping[str, Any], *, actor: User,
                      now: datetime) -> Department:  # fmt: skip
    """Rename a department, or close it (``active`` false: only when nobody active works in it) or open it
    again. Its code stays: processes name departments by code (``department_head:vp``)."""
    department = managed_department(session, actor, department_id)
    fields = Fields(values)
    _unknown_fields(fields, ("code", "name", "active"))
    if fields.given("code") and fields.text("code", 40) != department.code:
        fields.wrong("code", "A department's code cannot change, because processes name it "
                               "(department_head:%(code)s); create a new department instead.",
                       code=department.code)  # fmt: skip
    name = fields.text("name", 300, required=True) if fields.given("name") else department.name
    active = fields.flag("active") if fields.given("active") else department.is_active
    fields.check()
    if department.is_active and active is False:
        staff = _department_staff(session, department.id, active_only=True)
        if staff:
            raise Conflict("%(count)s active people still work in or for this department; move them to another "
                           "department first.", count=staff)  # fmt: skip
    before = {"name": department.name, "active": department.is_active}
    department.name = name
    department.is_active = bool(active)
    after = {"name": department.name, "active": department.is_active}
    if after != before:
        audit.record(session, "department.updated", actor=actor, now=now, unit_id=department.unit_id,
                     subject_kind="department", subject_id=department.id,
                     subject_name=f"{department.name} ({department.code})",
                     changes={k: (before[k], after[k]) for k in before})  # fmt: skip
    save(session)
    return department


def delete_department(session: Session, department_id: int, *, actor: User, now: datetime) -> None:
    """Delete a department nobody ever belonged to and no record names; otherwise close it instead."""
    department = managed_department(session, actor, department_id)
    staff = _department_staff(session, department.id, active_only=False)
    if staff:
        raise Conflict("%(count)s people (former staff included, whose history names it) belong to this "
                       "department; close it instead of deleting it.", count=staff)  # fmt: skip
    unit_id, label = department.unit_id, f"{department.name} ({department.code})"
    try:
        with session.begin_nested():
            session.delete(department)
            session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("The unit's records (such as quality objectives) name this department; close it instead "
                       "of deleting it.") from None  # fmt: skip
    audit.record(session, "department.deleted", actor=actor, now=now, unit_id=unit_id, subject_kind="department",
                 subject_id=department_id, subject_name=label)  # fmt: skip
    save(session)


# --- people ---------------------------------------------------------------------------------------------------

PERSON_FIELDS = ("username", "full_name", "title", "email", "department", "password", "roles")


def people_of(session: Session, unit_id: int, *, actor: User) -> list[User]:
    """The accounts of the unit, active ones first, by name."""
    administered_unit(session, actor, unit_id)
    stmt = select(User).where(User.unit_id == unit_id).order_by(User.is_active.desc(), User.full_name, User.id)
    return list(session.scalars(stmt))


def role_codes(session: Session, unit_id: int, user_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each person's roles in the unit as processes name them: ``specialist`` or ``specialist:vp``."""
    stmt = (
        select(RoleAssignment.user_id, RoleAssignment.role, Department.code)
        .outerjoin(Department, Department.id == RoleAssignment.department_id)
        .where(RoleAssignment.unit_id == unit_id, RoleAssignment.user_id.in_(list(user_ids)))
    )
    found: dict[int, list[str]] = {}
    for user_id, role, code in session.execute(stmt):
        found.setdefault(user_id, []).append(f"{role}:{code}" if code else role)
    return {user_id: sorted(codes) for user_id, codes in found.items()}


def person_label(person: User) -> str:
    return f"{person.full_name} ({person.username})"


def generate_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(GENERATED_PASSWORD_LENGTH))


def check_username(session: Session, fields: Fields) -> str:
    username = fields.text("username", 80, required=True).lower()
    if username and not USERNAME.fullmatch(username):
        fields.wrong("username", "Use 2–80 lower-case letters without accents, digits, dots, hyphens, underscores "
                                   "or @, starting and ending with a letter or digit, e.g. nguyenvana.")  # fmt: skip
    elif username and session.scalar(select(User.id).where(func.lower(User.username) == username)) is not None:
        fields.wrong("username", "The user name '%(value)s' is already taken; choose another (e.g. add a digit).",
                       value=username)  # fmt: skip
    return username


def check_email(fields: Fields) -> str:
    email = fields.text("email", 200)
    if email and not EMAIL.fullmatch(email):
        fields.wrong("email", "'%(value)s' is not an e-mail address; write it as name@agency.gov.vn.", value=email)
    return email


def check_password(fields: Fields, username: str, *, field: str = "password") -> str | None:
    """The password given, or None when the field is empty (one will be generated)."""
    raw = fields.values.get(field) or ""
    if not isinstance(raw, str):
        fields.wrong(field, "Send this field as text.")
        return None
    if not raw:
        return None
    if len(raw) < MIN_PASSWORD_LENGTH:
        fields.wrong(field, "A password needs at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
    elif len(raw) > 200:
        fields.wrong(field, "Write at most %(n)s characters (now %(length)s).", n=200, length=len(raw))
    elif raw.casefold() == username.casefold():
        fields.wrong(field, "The password must differ from the user name.")
    return raw


def check_department(session: Session, fields: Fields, unit_id: int, *, field: str = "department") -> Department | None:
    code = fields.text(field, 40)
    if not code:
        return None
    department = department_by_code(session, unit_id, code)
    if department is None or not department.is_active:
        fields.wrong(field, "The unit has no open department with the code '%(value)s'; create it first or check "
                              "the code.", value=code)  # fmt: skip
        return None
    return department


@dataclass(frozen=True)
class RoleSpec:
    """A role in a unit, for the whole unit or for one department."""

    role: str
    department: Department | None

    @property
    def code(self) -> str:
        return f"{self.role}:{self.department.code}" if self.department else self.role


def parse_roles(session: Session, fields: Fields, unit_id: int, given: Any, home: Department | None,
                *, field: str = "roles") -> list[RoleSpec]:  # fmt: skip
    """Roles as processes name them (``iso_secretary``, ``department_head:vp``), a list or text separated by
    commas or semicolons; a role of a department given without one is held for the person's own."""
    if given is None or given == "":
        return []
    if isinstance(given, str):
        items: list[Any] = [part for part in re.split(r"[;,\n]", given)]
    elif isinstance(given, list):
        items = given
    else:
        fields.wrong(field, "Send the roles as a list of role codes.")
        return []
    found: dict[tuple[str, int | None], RoleSpec] = {}
    for item in items:
        if not isinstance(item, str):
            fields.wrong(field, "Send the roles as a list of role codes.")
            continue
        text = item.strip()
        if not text:
            continue
        written, _, code = (part.strip() for part in text.partition(":"))
        role = _role_code(written)
        if role is None:
            fields.wrong(field, "'%(value)s' is not a role; use one of: %(roles)s.", value=text,
                           roles=", ".join(ROLES))  # fmt: skip
            continue
        department = home if not code and role in DEPARTMENT_ROLES else None
        if code:
            department = department_by_code(session, unit_id, code)
            if department is None or not department.is_active:
                fields.wrong(field, "The unit has no open department with the code '%(value)s'; create it first "
                                      "or check the code.", value=code)  # fmt: skip
                continue
        found[(role, department.id if department else None)] = RoleSpec(role, department)
    return sorted(found.values(), key=lambda spec: spec.code)


def _role_code(text: str) -> str | None:
    """A role's code from its code or its name in either language, in any letter case."""
    wanted = " ".join(text.split()).casefold()
    for code, role in ROLES.items():
        if wanted in (code, role.name_vi.casefold(), role.name_en.casefold()):
            return code
    return None


def _other_active_admins(session: Session, unit_id: int, person_id: int) -> int:
    stmt = (
        select(func.count(func.distinct(User.id)))
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.unit_id == unit_id, RoleAssignment.role == ADMIN, User.is_active.is_(True),
               User.id != person_id)
    )  # fmt: skip
    return int(session.scalar(stmt) or 0)


def _require_another_admin(session: Session, unit_id: int, person: User) -> None:
    if _other_active_admins(session, unit_id, person.id) == 0:
        raise Conflict("%(name)s is the unit's last administrator; make someone else an administrator first.",
                       name=person.full_name)  # fmt: skip


def new_person(session: Session, unit: Unit, fields: Fields) -> tuple[User, list[RoleSpec], str, bool]:
    """A person of the unit from the request's fields (not added to the session): the account, its roles,
    the initial password and whether it was generated. What is wrong is collected in ``fields``."""
    username = check_username(session, fields)
    full_name = fields.text("full_name", 200, required=True)
    title = fields.text("title", 200)
    email = check_email(fields)
    department = check_department(session, fields, unit.id)
    roles = parse_roles(session, fields, unit.id, fields.values.get("roles"), department)
    password = check_password(fields, username)
    person = User(username=username, full_name=full_name, title=title, email=email, unit_id=unit.id,
                  department_id=department.id if department else None, is_active=True, must_change_password=True,
                  password_hash="")  # fmt: skip
    return person, roles, password or generate_password(), password is None


def add_person(session: Session, person: User, roles: Sequence[RoleSpec], password: str, *, actor: User,
               now: datetime, via: str = "form") -> None:  # fmt: skip
    """Store a checked new person with their roles and the audit entry (the caller commits)."""
    person.password_hash = hash_password(password)
    session.add(person)
    save(session, commit=False)
    for spec in roles:
        session.add(RoleAssignment(user_id=person.id, unit_id=person.unit_id, role=spec.role,
                                   department_id=spec.department.id if spec.department else None))  # fmt: skip
    department = session.get(Department, person.department_id) if person.department_id else None
    audit.record(session, "person.created", actor=actor, now=now, unit_id=person.unit_id, subject_kind="person",
                 subject_id=person.id, subject_name=person_label(person),
                 changes={"username": (None, person.username), "full_name": (None, person.full_name),
                          "title": (None, person.title or None), "email": (None, person.email or None),
                          "department": (None, department.code if department else None),
                          "roles": (None, [spec.code for spec in roles] or None)},
                 details={"via": via})  # fmt: skip


def create_person(session: Session, unit_id: int, values: Mapping[str, Any], *, actor: User,
                  now: datetime) -> tuple[User, str | None]:  # fmt: skip
    """A new account of the unit with its roles. Returns the person and, when the administrator left the
    password empty, the generated initial password (shown once; the person changes it at first log-in)."""
    unit = administered_unit(session, actor, unit_id)
    fields = Fields(values)
    _unknown_fields(fields, PERSON_FIELDS)
    person, roles, password, generated = new_person(session, unit, fields)
    fields.check()
    add_person(session, person, roles, password, actor=actor, now=now)
    save(session)
    return person, password if generated else None


def update_person(session: Session, person_id: int, values: Mapping[str, Any], *, actor: User,
                  now: datetime) -> User:  # fmt: skip
    """Change a person's name, title, e-mail, or department (moving them within their unit: their roles held
    for the old department move with them)."""
    person = managed_person(session, actor, person_id)
    fields = Fields(values)
    _unknown_fields(fields, ("username", "full_name", "title", "email", "department"))
    if fields.given("username") and fields.text("username", 80).lower() != person.username:
        fields.wrong("username", "A user name cannot change: the history names people by it. Create a new "
                                   "account if needed.")  # fmt: skip
    full_name = fields.text("full_name", 200, required=True) if fields.given("full_name") else person.full_name
    title = fields.text("title", 200) if fields.given("title") else person.title
    email = check_email(fields) if fields.given("email") else person.email
    moving = fields.given("department")
    department = person.department
    if moving:
        if person.unit_id is None:
            fields.wrong("department", "This account belongs to no unit, so it has no department.")
        else:
            department = check_department(session, fields, person.unit_id)
    fields.check()
    before = {"full_name": person.full_name, "title": person.title, "email": person.email}
    person.full_name, person.title, person.email = full_name, title, email
    after = {"full_name": person.full_name, "title": person.title, "email": person.email}
    if after != before:
        audit.record(session, "person.updated", actor=actor, now=now, unit_id=person.unit_id, subject_kind="person",
                     subject_id=person.id, subject_name=person_label(person),
                     changes={k: (before[k], after[k]) for k in before})  # fmt: skip
    old = person.department
    if moving and (department.id if department else None) != person.department_id:
        assert person.unit_id is not None
        roles_before = role_codes(session, person.unit_id, [person.id]).get(person.id, [])
        if old is not None and department is not None:
            _move_scoped_roles(session, person, old, department)
        person.department_id = department.id if department else None
        save(session, commit=False)
        roles_after = role_codes(session, person.unit_id, [person.id]).get(person.id, [])
        audit.record(session, "person.moved", actor=actor, now=now, unit_id=person.unit_id, subject_kind="person",
                     subject_id=person.id, subject_name=person_label(person),
                     changes={"department": (old.code if old else None, department.code if department else None),
                              "roles": (roles_before, roles_after)})  # fmt: skip
    save(session)
    return person


def _move_scoped_roles(session: Session, person: User, old: Department, new: Department) -> None:
    held = session.scalars(select(RoleAssignment).where(RoleAssignment.user_id == person.id,
                                                        RoleAssignment.department_id == old.id)).all()  # fmt: skip
    for assignment in held:
        duplicate = session.scalar(select(RoleAssignment.id).where(
            RoleAssignment.user_id == person.id, RoleAssignment.unit_id == assignment.unit_id,
            RoleAssignment.role == assignment.role, RoleAssignment.department_id == new.id))  # fmt: skip
        if duplicate is not None:
            session.delete(assignment)
        else:
            assignment.department_id = new.id


def set_roles(session: Session, person_id: int, roles: Any, *, actor: User, now: datetime,
              unit_id: int | None = None) -> list[str]:  # fmt: skip
    """Make the person's roles in the unit (their own unit unless ``unit_id`` names another) exactly
    ``roles``; returns them as processes name them. Roles in a unit other than the person's own are given
    by system administrators only."""
    person = managed_person(session, actor, person_id)
    target = unit_id if unit_id is not None else person.unit_id
    if target is None:
        raise InvalidFields([FieldProblem("unit_id", "Name the unit the roles are for.")])
    administered_unit(session, actor, target)
    if target != person.unit_id and not is_system_admin(session, actor):
        raise NotAllowed("Only system administrators give roles in another unit than the person's own.")
    fields = Fields({"roles": roles})
    home = person.department if person.department and person.department.unit_id == target else None
    specs = parse_roles(session, fields, target, roles, home)
    if roles is None or not isinstance(roles, (list, str)):
        fields.wrong("roles", "Send the roles as a list of role codes.")
    fields.check()
    before = role_codes(session, target, [person.id]).get(person.id, [])
    after = [spec.code for spec in specs]
    if ADMIN in {c.partition(":")[0] for c in before} and ADMIN not in {s.role for s in specs} and person.is_active:
        _require_another_admin(session, target, person)
    if before == after:
        return after
    session.execute(delete(RoleAssignment).where(RoleAssignment.user_id == person.id, RoleAssignment.unit_id == target))
    for spec in specs:
        session.add(RoleAssignment(user_id=person.id, unit_id=target, role=spec.role,
                                   department_id=spec.department.id if spec.department else None))  # fmt: skip
    audit.record(session, "person.roles", actor=actor, now=now, unit_id=target, subject_kind="person",
                 subject_id=person.id, subject_name=person_label(person), changes={"roles": (before, after)})
    save(session)
    return after


def set_password(session: Session, person_id: int, password: str, *, actor: User, now: datetime) -> str | None:
    """Give a person a new initial password (empty: generated, and returned to be handed over); every
    session of theirs ends and they choose their own at the next log-in."""
    person = managed_person(session, actor, person_id)
    fields = Fields({"password": password})
    given = check_password(fields, person.username)
    fields.check()
    chosen = given or generate_password()
    person.password_hash = hash_password(chosen)
    person.must_change_password = True
    close_all_sessions(session, person)
    audit.record(session, "person.password_set", actor=actor, now=now, unit_id=person.unit_id,
                 subject_kind="person", subject_id=person.id, subject_name=person_label(person))  # fmt: skip
    save(session)
    return None if given else chosen


def create_system_account(session: Session, values: Mapping[str, Any], *, now: datetime,
                          system_roles: Sequence[str] = (SYSTEM_ADMIN,)) -> User:  # fmt: skip
    """An account above the units made by the operator on the server's command line (``eiso user create``):
    how an installation gets its first system administrator. The operator typed the password, so it is
    not to be changed at the first log-in. Not offered to any page or API."""
    fields = Fields(values)
    _unknown_fields(fields, ("username", "full_name", "email", "password"))
    username = check_username(session, fields)
    full_name = fields.text("full_name", 200, required=True)
    email = check_email(fields)
    password = check_password(fields, username)
    if password is None:
        fields.wrong("password", "A password needs at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
    fields.check()
    assert password is not None
    person = User(username=username, full_name=full_name, email=email, title="", unit_id=None, is_active=True,
                  must_change_password=False, password_hash=hash_password(password))  # fmt: skip
    session.add(person)
    save(session, commit=False)
    for role in system_roles:
        grant_system_role(session, person, role)
    audit.record(session, "person.created", actor=None, now=now, unit_id=None, subject_kind="person",
                 subject_id=person.id, subject_name=person_label(person),
                 changes={"username": (None, username), "full_name": (None, full_name),
                          "system_roles": (None, sorted(system_roles) or None)},
                 details={"via": "command line"})  # fmt: skip
    save(session)
    return person


# --- leavers ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnedTask:
    """An open task a deactivated person held or alone could take, now back in its pool."""

    id: str
    name: str
    unit_id: int
    instance_id: int
    process_name: str
    fell_to_admins: bool  # nobody active could take it any more: the unit's administrators now may


TaskReturner = Callable[[Session, User, User, datetime], list[ReturnedTask]]
_returners: list[TaskReturner] = []


def install(returner: TaskReturner) -> None:
    """Set how a leaver's tasks go back to their pool (the runtime's, given by the engine's face)."""
    _returners[:] = [returner]


@dataclass(frozen=True)
class Deactivation:
    person: User
    returned: list[ReturnedTask]
    notified: list[str]  # user names of the people told


def deactivate_person(session: Session, person_id: int, *, actor: User, now: datetime) -> Deactivation:
    """Switch off a leaver's account: they can no longer log in and their sessions end; the open tasks they
    held go back to the pool of their candidate roles or department (to the unit's administrators when
    nobody else could take one), and their department's head is told which; their history stays."""
    person = managed_person(session, actor, person_id)
    if person.id == actor.id:
        raise NotAllowed("You cannot deactivate your own account; ask another administrator.")
    if not person.is_active:
        raise Conflict("%(name)s's account is already deactivated.", name=person.full_name)
    if not _returners:
        raise EngineStateError("Tasks cannot be returned to their pool: the engine is not set up.")
    admin_of = session.scalars(select(RoleAssignment.unit_id).where(RoleAssignment.user_id == person.id,
                                                                    RoleAssignment.role == ADMIN)).all()  # fmt: skip
    for unit_id in sorted(set(admin_of)):
        _require_another_admin(session, unit_id, person)
    person.is_active = False
    close_all_sessions(session, person)
    save(session, commit=False)
    returned = _returners[0](session, person, actor, now)
    notified = _tell_about_returned(session, person, returned, now)
    touched = {t.unit_id for t in returned} | ({person.unit_id} if person.unit_id is not None else set())
    for unit_id in sorted(touched):
        tasks = [t for t in returned if t.unit_id == unit_id]
        audit.record(session, "person.deactivated", actor=actor, now=now, unit_id=unit_id, subject_kind="person",
                     subject_id=person.id, subject_name=person_label(person), changes={"active": (True, False)},
                     details={"tasks_returned": [{"id": t.id, "name": t.name, "instance_id": t.instance_id,
                                                  "fell_to_admins": t.fell_to_admins} for t in tasks],
                              "notified": notified})  # fmt: skip
    if person.unit_id is None and not returned:
        audit.record(session, "person.deactivated", actor=actor, now=now, unit_id=None, subject_kind="person",
                     subject_id=person.id, subject_name=person_label(person), changes={"active": (True, False)})
    save(session)
    return Deactivation(person, returned, notified)


def _tell_about_returned(session: Session, person: User, returned: list[ReturnedTask], now: datetime) -> list[str]:
    """One notice per unit naming the tasks: to the head of the person's department in their own unit (the
    unit's administrators when it has none), and to the administrators wherever a task fell to them."""
    told: list[str] = []
    for unit_id in sorted({t.unit_id for t in returned}):
        tasks = [t for t in returned if t.unit_id == unit_id]
        heads = _department_heads(session, person) if unit_id == person.unit_id else []
        people = [h for h in heads if h.id != person.id]
        if not people or any(t.fell_to_admins for t in tasks):
            people += users_with_role(session, unit_id, ADMIN)
        lines = [Phrase("- %(task)s (%(process)s): /tasks/%(id)s — given to the unit's administrators, as no one "
                        "else can take it", task=t.name, process=t.process_name, id=t.id) if t.fell_to_admins
                 else Phrase("- %(task)s (%(process)s): /tasks/%(id)s", task=t.name, process=t.process_name, id=t.id)
                 for t in tasks]  # fmt: skip
        title = Phrase("%(name)s has left; tasks back to the pool: %(count)s", name=person.full_name, count=len(tasks))
        by_id = {u.id: u for u in people}
        notices = notify(session, by_id.values(), unit_id=unit_id, kind=DEACTIVATED, title=title,
                         body=lines, link=f"/tasks/{tasks[0].id}", now=now)  # fmt: skip
        told += [by_id[n.user_id].username for n in notices]
    return sorted(set(told))


def _department_heads(session: Session, person: User) -> list[User]:
    if person.department is None:
        return []
    return department_heads(session, person.department.unit_id, person.department_id)


def reactivate_person(session: Session, person_id: int, *, actor: User, now: datetime) -> User:
    """Switch a deactivated account on again (its roles are as they were; returned tasks stay returned)."""
    person = managed_person(session, actor, person_id)
    if person.is_active:
        raise Conflict("%(name)s's account is already active.", name=person.full_name)
    person.is_active = True
    audit.record(session, "person.reactivated", actor=actor, now=now, unit_id=person.unit_id, subject_kind="person",
                 subject_id=person.id, subject_name=person_label(person), changes={"active": (False, True)})
    save(session)
    return person


# --- the audit log ----------------------------------------------------------------------------------------------


def audit_log(session: Session, *, actor: User, unit_id: int | None = None, limit: int = 100,
              before_id: int | None = None) -> list[audit.AuditEntry]:  # fmt: skip
    """The organisation's changes, newest first: a unit's (``unit_id``) for its administrators; all of them,
    changes above the units included, for a system administrator."""
    limit = max(1, min(limit, 500))
    if unit_id is not None:
        administered_unit(session, actor, unit_id)
        return audit.entries(session, [unit_id], limit=limit, before_id=before_id)
    if actor.is_active and is_system_admin(session, actor):
        return audit.entries(session, None, limit=limit, before_id=before_id)
    units = [u.id for u in administered_units(session, actor)]
    if not units:
        raise NotAllowed("Only administrators read the organisation's audit log.")
    return audit.entries(session, units, limit=limit, before_id=before_id)
