"""Organisation administration in the engine: who may change units, departments, people and roles, what
is refused and why, and that a refusal changes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine
from engine.errors import Conflict, InvalidFields, NotAllowed, NotFound
from engine.org import admin
from engine.org.audit import COMMAND_LINE, AuditEntry, record
from engine.org.login_sessions import LoginSession, open_session, session_user
from engine.org.models import Department, Notice, RoleAssignment, Unit, User
from engine.org.people import SYSTEM_ADMIN, authenticate, grant_system_role
from engine.runtime.models import HistoryEvent, TaskCandidate, TaskRow
from tests.conftest import Clock, People, make_unit, make_user
from tests.wording import body_vi, title_vi

UNIT = {"code": "ubnd-xa-hoa-phu", "name": "Ủy ban nhân dân xã Hòa Phú", "short_name": "UBND Hòa Phú",
        "electronic_code": "000.00.31.h22", "province": "dak-lak", "quality_policy": "Phục vụ nhân dân."}  # fmt: skip


def org_rows(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the organisation's tables, for "nothing changed" after a refusal."""
    session.expire_all()

    def rows(*columns: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in session.execute(select(*columns).order_by(columns[0]))]

    return {
        "units": rows(Unit.id, Unit.code, Unit.name, Unit.short_name, Unit.electronic_code, Unit.province,
                      Unit.quality_policy),
        "departments": rows(Department.id, Department.unit_id, Department.code, Department.name, Department.is_active),
        "users": rows(User.id, User.username, User.full_name, User.title, User.email, User.is_active, User.unit_id,
                      User.department_id, User.password_hash, User.must_change_password),
        "roles": rows(RoleAssignment.id, RoleAssignment.user_id, RoleAssignment.unit_id, RoleAssignment.role,
                      RoleAssignment.department_id),
        "audit": rows(AuditEntry.id),
        "notices": rows(Notice.id),
        "sessions": rows(LoginSession.id),
        "tasks": rows(TaskRow.id, TaskRow.assignee_id, TaskRow.candidate_roles),
    }  # fmt: skip


@pytest.fixture
def system_admin(session: Session, unit: Unit) -> User:
    """An installation's administrator above the units, with no role in any unit."""
    person = make_user(session, "hethong", None, full_name="Quản trị hệ thống tỉnh")
    grant_system_role(session, person, SYSTEM_ADMIN)
    session.commit()
    return person


@pytest.fixture
def unit_admin(session: Session, unit: Unit) -> User:
    """The demo unit's administrator, nothing above the unit."""
    return make_user(session, "quantri", unit, ("admin",), full_name="Quản trị đơn vị")


def refused(session: Session, error: type[Exception], call: Any) -> Exception:
    """Run a refused call and check that it changed no row."""
    before = org_rows(session)
    with pytest.raises(error) as caught:
        call()
    session.rollback()
    assert org_rows(session) == before
    return caught.value


def last_audit(session: Session) -> AuditEntry:
    found = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert found is not None
    return found


# --- units ------------------------------------------------------------------------------------------------------


def test_a_system_administrator_creates_a_unit_and_the_log_says_who_and_when(
        session: Session, system_admin: User, clock: Clock) -> None:  # fmt: skip
    created = admin.create_unit(session, UNIT, actor=system_admin, now=clock.now)
    assert (created.code, created.electronic_code, created.province) == ("ubnd-xa-hoa-phu", "000.00.31.H22", "dak-lak")
    entry = last_audit(session)
    assert (entry.action, entry.actor_id, entry.at, entry.unit_id) == ("unit.created", system_admin.id, clock.now,
                                                                       created.id)
    assert entry.actor_name == "Quản trị hệ thống tỉnh (hethong)"
    assert entry.changes["electronic_code"] == [None, "000.00.31.H22"]


def test_a_units_administrator_cannot_create_units_or_touch_another_unit(
        session: Session, unit_admin: User, people: People, clock: Clock) -> None:  # fmt: skip
    refused(session, NotAllowed, lambda: admin.create_unit(session, UNIT, actor=unit_admin, now=clock.now))
    other = people.other_unit.id
    refused(session, NotFound, lambda: admin.update_unit(session, other, {"name": "Chiếm"}, actor=unit_admin,
                                                         now=clock.now))
    refused(session, NotFound, lambda: admin.create_department(session, other, {"code": "x", "name": "X"},
                                                               actor=unit_admin, now=clock.now))
    refused(session, NotFound, lambda: admin.people_of(session, other, actor=unit_admin))
    refused(session, NotFound, lambda: admin.audit_log(session, actor=unit_admin, unit_id=other))


def test_the_other_units_administrator_meets_walls_everywhere(
        session: Session, people: People, users: dict[str, User], clock: Clock) -> None:  # fmt: skip
    """``thuky_bmt`` holds admin in the other unit: the demo unit's units, departments, people do not exist."""
    intruder, unit_id = people.outsider_member, people.unit.id
    department = people.unit.departments[0].id
    thuky = users["thuky"].id
    now = clock.now
    calls = [
        lambda: admin.update_unit(session, unit_id, {"name": "x"}, actor=intruder, now=now),
        lambda: admin.update_department(session, department, {"name": "x"}, actor=intruder, now=now),
        lambda: admin.delete_department(session, department, actor=intruder, now=now),
        lambda: admin.create_person(session, unit_id, {"username": "gian", "full_name": "G"}, actor=intruder, now=now),
        lambda: admin.update_person(session, thuky, {"title": "x"}, actor=intruder, now=now),
        lambda: admin.set_roles(session, thuky, ["admin"], actor=intruder, now=now),
        lambda: admin.set_roles(session, thuky, ["admin"], actor=intruder, now=now, unit_id=people.other_unit.id),
        lambda: admin.set_password(session, thuky, "mat-khau-moi", actor=intruder, now=now),
        lambda: admin.deactivate_person(session, thuky, actor=intruder, now=now),
        lambda: admin.reactivate_person(session, thuky, actor=intruder, now=now),
    ]
    for call in calls:
        refused(session, NotFound, call)


def test_a_member_without_admin_is_refused_in_their_own_unit(
        session: Session, users: dict[str, User], clock: Clock) -> None:  # fmt: skip
    leader = users["giamdoc"]
    error = refused(session, NotAllowed, lambda: admin.update_unit(session, leader.roles[0].unit_id, {"name": "x"},
                                                                   actor=leader, now=clock.now))  # fmt: skip
    assert "administrators" in str(error)
    refused(session, NotAllowed, lambda: admin.deactivate_person(session, users["thuky"].id, actor=leader,
                                                                 now=clock.now))


def test_unit_fields_are_checked_all_at_once_and_nothing_is_stored(
        session: Session, system_admin: User, unit: Unit, clock: Clock) -> None:  # fmt: skip
    admin.update_unit(session, unit.id, {"electronic_code": "000.00.24.H22"}, actor=system_admin, now=clock.now)
    bad = {"code": "Sở Tư pháp", "name": " ", "electronic_code": "000.00.24.h22", "province": "sai-gon",
           "short_name": "x" * 41, "colour": "xanh"}  # fmt: skip
    error = refused(session, InvalidFields, lambda: admin.create_unit(session, bad, actor=system_admin, now=clock.now))
    assert isinstance(error, InvalidFields)
    assert set(error.fields) == {"code", "name", "electronic_code", "province", "short_name", "colour"}
    assert "already has the electronic code '000.00.24.H22'" in error.fields["electronic_code"]
    assert error.fields["name"] == "Fill in this field."
    for code in ("-x", "x-", "a b", "ab@c", "..", "x" * 41):
        refused(session, InvalidFields, lambda code=code: admin.create_unit(
            session, {**UNIT, "electronic_code": code}, actor=system_admin, now=clock.now))
    for code in ("X", "0", "A.B-C.1", "x" * 40):
        accepted = admin.create_unit(session, {**UNIT, "code": f"u{len(code)}{code[0]}".lower(),
                                               "electronic_code": code}, actor=system_admin, now=clock.now)
        assert accepted.electronic_code == code.upper()
    taken = refused(session, InvalidFields, lambda: admin.create_unit(session, {**UNIT, "code": unit.code},
                                                                      actor=system_admin, now=clock.now))
    assert isinstance(taken, InvalidFields) and set(taken.fields) == {"code"}


def test_a_units_administrator_edits_the_unit_but_not_its_code_or_province(
        session: Session, unit_admin: User, unit: Unit, clock: Clock) -> None:  # fmt: skip
    admin.update_unit(session, unit.id, {"electronic_code": "000.00.24.H22"}, actor=unit_admin, now=clock.now)
    admin.update_unit(session, unit.id, {"name": "Sở KH&CN Đắk Lắk", "quality_policy": "Mới", "code": unit.code,
                                         "province": "dak-lak", "electronic_code": "000.00.24.h22"},
                      actor=unit_admin, now=clock.now)  # its own code and electronic code are not "another's"
    entry = last_audit(session)
    assert entry.action == "unit.updated" and set(entry.changes) == {"name", "quality_policy"}
    assert entry.changes["name"][1] == "Sở KH&CN Đắk Lắk"
    refused(session, NotAllowed, lambda: admin.update_unit(session, unit.id, {"code": "so-moi"}, actor=unit_admin,
                                                           now=clock.now))
    refused(session, NotAllowed, lambda: admin.update_unit(session, unit.id, {"province": "ha-noi"},
                                                           actor=unit_admin, now=clock.now))


# --- departments --------------------------------------------------------------------------------------------------


def test_departments_are_created_renamed_closed_only_when_empty_and_deleted_only_when_never_used(
        session: Session, unit_admin: User, unit: Unit, users: dict[str, User], clock: Clock) -> None:  # fmt: skip
    now = clock.now
    created = admin.create_department(session, unit.id, {"code": "tccb", "name": "Phòng Tổ chức"}, actor=unit_admin,
                                      now=now)  # fmt: skip
    duplicate = refused(session, InvalidFields, lambda: admin.create_department(
        session, unit.id, {"code": "VP", "name": "Văn phòng 2"}, actor=unit_admin, now=now))
    assert isinstance(duplicate, InvalidFields) and "already has a department with the code 'VP'" in str(duplicate)
    admin.update_department(session, created.id, {"name": "Phòng Tổ chức cán bộ"}, actor=unit_admin, now=now)
    assert last_audit(session).changes == {"name": ["Phòng Tổ chức", "Phòng Tổ chức cán bộ"]}
    refused(session, InvalidFields, lambda: admin.update_department(session, created.id, {"code": "tc"},
                                                                    actor=unit_admin, now=now))
    vp = next(d for d in unit.departments if d.code == "vp")
    busy = refused(session, Conflict, lambda: admin.update_department(session, vp.id, {"active": False},
                                                                      actor=unit_admin, now=now))
    assert "4 active people" in str(busy)  # thuky, truongphong, chuyenvien, chuyenvien2
    admin.update_department(session, created.id, {"active": False}, actor=unit_admin, now=now)
    assert created.code not in [d["value"] for d in unit.department_choices()]  # no process offers it any more
    refused(session, InvalidFields, lambda: admin.create_person(
        session, unit.id, {"username": "moi", "full_name": "Mới", "department": "tccb"}, actor=unit_admin, now=now))
    admin.delete_department(session, created.id, actor=unit_admin, now=now)
    assert session.get(Department, created.id) is None
    assert last_audit(session).action == "department.deleted"
    used = refused(session, Conflict, lambda: admin.delete_department(session, vp.id, actor=unit_admin, now=now))
    assert "close it instead" in str(used)


def test_a_department_a_leaver_belonged_to_is_closed_but_not_deleted(
        session: Session, unit_admin: User, unit: Unit, clock: Clock) -> None:  # fmt: skip
    dept = admin.create_department(session, unit.id, {"code": "kt", "name": "Phòng Kế toán"}, actor=unit_admin,
                                   now=clock.now)  # fmt: skip
    person, _ = admin.create_person(session, unit.id, {"username": "ketoan", "full_name": "Kế Toán",
                                                       "department": "kt", "password": "mat-khau-kt"},
                                    actor=unit_admin, now=clock.now)  # fmt: skip
    refused(session, Conflict, lambda: admin.update_department(session, dept.id, {"active": "0"}, actor=unit_admin,
                                                               now=clock.now))
    admin.deactivate_person(session, person.id, actor=unit_admin, now=clock.now)
    admin.update_department(session, dept.id, {"active": "0"}, actor=unit_admin, now=clock.now)
    refused(session, Conflict, lambda: admin.delete_department(session, dept.id, actor=unit_admin, now=clock.now))
    admin.update_department(session, dept.id, {"active": True}, actor=unit_admin, now=clock.now)
    assert session.get(Department, dept.id).is_active is True  # type: ignore[union-attr]


# --- people and roles ------------------------------------------------------------------------------------------------


def test_a_person_is_created_with_roles_of_their_department_and_a_generated_password(
        session: Session, unit_admin: User, unit: Unit, clock: Clock) -> None:  # fmt: skip
    values = {"username": "NguyenVanA", "full_name": "  Nguyễn  Văn A ", "title": "Chuyên viên",
              "email": "a@skhcn.gov.vn", "department": "qlkh", "roles": "Chuyên viên; iso_secretary"}
    person, password = admin.create_person(session, unit.id, values, actor=unit_admin, now=clock.now)
    assert (person.username, person.full_name, person.unit_id) == ("nguyenvana", "Nguyễn Văn A", unit.id)
    assert person.must_change_password and password is not None and len(password) == 12
    assert authenticate(session, "nguyenvana", password) is not None
    assert admin.role_codes(session, unit.id, [person.id])[person.id] == ["iso_secretary", "specialist:qlkh"]
    entry = last_audit(session)
    assert entry.action == "person.created" and entry.changes["roles"] == [None, ["iso_secretary", "specialist:qlkh"]]
    assert "password" not in str(entry.changes) and password not in str(entry.details)
    typed, shown = admin.create_person(session, unit.id, {"username": "b2", "full_name": "B", "password": "12345678"},
                                       actor=unit_admin, now=clock.now)  # fmt: skip
    assert shown is None and authenticate(session, "b2", "12345678") is not None  # a typed password is not shown


def test_every_wrong_field_of_a_person_is_named_and_nothing_is_stored(
        session: Session, unit_admin: User, unit: Unit, clock: Clock) -> None:  # fmt: skip
    values = {"username": "thuky", "full_name": "", "email": "khong-phai-email", "department": "khong-co",
              "roles": ["specialist", "thu_ky"], "password": "ngan"}
    error = refused(session, InvalidFields, lambda: admin.create_person(session, unit.id, values, actor=unit_admin,
                                                                        now=clock.now))  # fmt: skip
    assert isinstance(error, InvalidFields)
    assert error.fields == {
        "username": "The user name 'thuky' is already taken; choose another (e.g. add a digit).",
        "full_name": "Fill in this field.",
        "email": "'khong-phai-email' is not an e-mail address; write it as name@agency.gov.vn.",
        "department": "The unit has no open department with the code 'khong-co'; create it first or check the code.",
        "roles": "'thu_ky' is not a role; use one of: iso_secretary, unit_leader, department_head, specialist, "
                 "internal_auditor, admin.",
        "password": "A password needs at least 8 characters.",
    }
    same = refused(session, InvalidFields, lambda: admin.create_person(
        session, unit.id, {"username": "minh", "full_name": "Minh", "password": "MINH"}, actor=unit_admin,
        now=clock.now))
    assert isinstance(same, InvalidFields) and set(same.fields) == {"password"}
    for name in ("a", "-ab", "ab-", "Có dấu", "a b", "x" * 81):
        refused(session, InvalidFields, lambda name=name: admin.create_person(
            session, unit.id, {"username": name, "full_name": "X"}, actor=unit_admin, now=clock.now))


def test_moving_a_person_takes_their_department_roles_along(
        session: Session, unit_admin: User, unit: Unit, users: dict[str, User], clock: Clock) -> None:  # fmt: skip
    chuyenvien = users["chuyenvien"]
    admin.update_person(session, chuyenvien.id, {"department": "qlcn", "title": "Chuyên viên chính"},
                        actor=unit_admin, now=clock.now)  # fmt: skip
    assert admin.role_codes(session, unit.id, [chuyenvien.id])[chuyenvien.id] == ["specialist:qlcn"]
    updated, moved = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(2)).all()[::-1]
    assert updated.action == "person.updated" and updated.changes == {"title": ["Chuyên viên Văn phòng",
                                                                                "Chuyên viên chính"]}
    assert moved.action == "person.moved"
    assert moved.changes == {"department": ["vp", "qlcn"], "roles": [["specialist:vp"], ["specialist:qlcn"]]}
    refused(session, InvalidFields, lambda: admin.update_person(session, chuyenvien.id, {"username": "khac"},
                                                                actor=unit_admin, now=clock.now))


def test_roles_are_replaced_and_the_last_administrator_is_kept(
        session: Session, unit_admin: User, unit: Unit, users: dict[str, User], people: People,
        system_admin: User, clock: Clock) -> None:  # fmt: skip
    thuky = users["thuky"]
    assert admin.set_roles(session, thuky.id, ["iso_secretary", "department_head:qlkh", "specialist"],
                           actor=unit_admin, now=clock.now) == ["department_head:qlkh", "iso_secretary",
                                                                "specialist:vp"]  # fmt: skip
    assert last_audit(session).changes == {"roles": [["iso_secretary", "specialist:vp"],
                                                     ["department_head:qlkh", "iso_secretary", "specialist:vp"]]}
    demo_admin = users["admin"]  # the demo's other administrator
    admin.set_roles(session, demo_admin.id, [], actor=unit_admin, now=clock.now)
    last = refused(session, Conflict, lambda: admin.set_roles(session, unit_admin.id, ["specialist"],
                                                              actor=unit_admin, now=clock.now))
    assert "last administrator" in str(last)
    refused(session, Conflict, lambda: admin.deactivate_person(session, unit_admin.id, actor=system_admin,
                                                               now=clock.now))
    other = people.other_unit.id
    refused(session, NotFound, lambda: admin.set_roles(session, thuky.id, ["specialist"], actor=unit_admin,
                                                       now=clock.now, unit_id=other))
    admin.set_roles(session, unit_admin.id, ["admin"], actor=system_admin, now=clock.now, unit_id=other)
    both = refused(session, NotAllowed, lambda: admin.set_roles(session, thuky.id, ["specialist"], actor=unit_admin,
                                                                now=clock.now, unit_id=other))
    assert "another unit" in str(both)  # administering both units is not enough: thuky is the demo unit's
    admin.set_roles(session, thuky.id, ["internal_auditor"], actor=system_admin, now=clock.now, unit_id=other)
    assert admin.role_codes(session, other, [thuky.id])[thuky.id] == ["internal_auditor"]


# --- leavers ----------------------------------------------------------------------------------------------------------


def _draft_task(session: Session, engine: Engine, starter: User, unit: Unit, clock: Clock) -> str:
    instance = engine.start("quality_objectives", actor=starter, unit_id=unit.id, now=clock.now)
    task_id = session.scalar(select(TaskRow.id).where(TaskRow.instance_id == instance.id))
    assert task_id is not None
    return task_id


@pytest.mark.usefixtures("library")
def test_a_leaver_cannot_log_in_their_tasks_go_back_to_the_pool_and_the_head_is_told(
        session: Session, unit_admin: User, unit: Unit, users: dict[str, User], clock: Clock) -> None:  # fmt: skip
    engine = Engine(session)
    thuky = users["thuky"]
    second = make_user(session, "thuky2", unit, ("iso_secretary",), "vp", full_name="Đỗ Văn Hai")
    task_id = _draft_task(session, engine, thuky, unit, clock)
    engine.claim(task_id, actor=thuky, now=clock.now)
    token = open_session(session, thuky, clock.now)
    clock.advance(hours=1)

    result = admin.deactivate_person(session, thuky.id, actor=unit_admin, now=clock.now)

    assert [(t.id, t.fell_to_admins) for t in result.returned] == [(task_id, False)]
    assert authenticate(session, "thuky", "demo") is None
    assert session_user(session, token, clock.now) is None
    assert session.scalars(select(LoginSession).where(LoginSession.user_id == thuky.id)).all() == []
    row = session.get(TaskRow, task_id)
    assert row is not None and row.assignee_id is None and row.candidate_roles == ["iso_secretary"]
    assert engine.claim(task_id, actor=second, now=clock.now).assignee_id == second.id  # the pool takes it
    [notice] = session.scalars(select(Notice).where(Notice.kind == admin.DEACTIVATED)).all()
    assert notice.user_id == users["truongphong"].id  # the head of thuky's department
    assert title_vi(notice) == "Lê Thị Mai Anh đã thôi làm việc: 1 công việc trở về nhóm xử lý"
    assert f"Soạn thảo mục tiêu chất lượng (Phê duyệt mục tiêu chất lượng): /tasks/{task_id}" in body_vi(notice)
    assert notice.title == "Lê Thị Mai Anh has left; tasks back to the pool: 1"  # what an English reader gets
    assert result.notified == ["truongphong"]
    events = session.scalars(select(HistoryEvent).where(HistoryEvent.task_id == task_id)
                             .order_by(HistoryEvent.id)).all()  # fmt: skip
    claimed = next(e for e in events if e.kind == "task_claimed")
    assert claimed.actor is not None and claimed.actor.full_name == "Lê Thị Mai Anh"  # the history keeps the name
    returned = next(e for e in events if e.kind == "task_returned")
    assert returned.actor_id == unit_admin.id and returned.data["from"] == "thuky"
    entry = last_audit(session)
    assert (entry.action, entry.actor_id, entry.at) == ("person.deactivated", unit_admin.id, clock.now)
    assert entry.details["tasks_returned"][0]["id"] == task_id and entry.changes == {"active": [True, False]}


@pytest.mark.usefixtures("library", "people")  # the other unit has an ISO secretary: not one who can take it
def test_a_task_only_the_leaver_could_take_falls_to_the_administrators(
        session: Session, unit_admin: User, unit: Unit, users: dict[str, User], clock: Clock) -> None:  # fmt: skip
    engine = Engine(session)
    thuky = users["thuky"]  # the unit's only ISO secretary
    held = _draft_task(session, engine, thuky, unit, clock)
    engine.claim(held, actor=thuky, now=clock.now)
    waiting = _draft_task(session, engine, thuky, unit, clock)  # nobody holds it, and only thuky could take it

    result = admin.deactivate_person(session, thuky.id, actor=unit_admin, now=clock.now)

    assert sorted((t.id, t.fell_to_admins) for t in result.returned) == sorted([(held, True), (waiting, True)])
    for task_id in (held, waiting):
        row = session.get(TaskRow, task_id)
        assert row is not None and row.assignee_id is None and row.candidate_roles == ["iso_secretary", "admin"]
        assert session.scalar(select(TaskCandidate.id).where(TaskCandidate.task_id == task_id,
                                                             TaskCandidate.role == "admin")) is not None
    assert engine.claim(held, actor=unit_admin, now=clock.now).assignee_id == unit_admin.id
    told = {n.user_id for n in session.scalars(select(Notice).where(Notice.kind == admin.DEACTIVATED))}
    assert told == {users["truongphong"].id, users["admin"].id, unit_admin.id}
    assert set(result.notified) == {"truongphong", "admin", "quantri"}


def test_a_deactivated_administrator_can_do_nothing_any_more(
        session: Session, unit_admin: User, unit: Unit, users: dict[str, User], clock: Clock) -> None:  # fmt: skip
    admin.deactivate_person(session, unit_admin.id, actor=users["admin"], now=clock.now)
    assert admin.administered_units(session, unit_admin) == []
    refused(session, NotAllowed, lambda: admin.update_unit(session, unit.id, {"name": "x"}, actor=unit_admin,
                                                           now=clock.now))
    refused(session, NotAllowed, lambda: admin.create_person(session, unit.id, {"username": "x1", "full_name": "X"},
                                                             actor=unit_admin, now=clock.now))
    system = users["admin"]  # also a system administrator: switched off, above the units too
    admin.set_roles(session, unit_admin.id, ["admin"], actor=system, now=clock.now)
    admin.reactivate_person(session, unit_admin.id, actor=system, now=clock.now)
    admin.deactivate_person(session, system.id, actor=unit_admin, now=clock.now)
    refused(session, NotAllowed, lambda: admin.create_unit(session, UNIT, actor=system, now=clock.now))


@pytest.mark.usefixtures("library")
def test_a_leaver_without_open_tasks_is_switched_off_and_back_on(
        session: Session, unit_admin: User, users: dict[str, User], clock: Clock) -> None:  # fmt: skip
    person = users["chuyenvien3"]
    result = admin.deactivate_person(session, person.id, actor=unit_admin, now=clock.now)
    assert result.returned == [] and result.notified == []
    assert session.scalars(select(Notice)).all() == []
    refused(session, Conflict, lambda: admin.deactivate_person(session, person.id, actor=unit_admin, now=clock.now))
    refused(session, NotAllowed, lambda: admin.deactivate_person(session, unit_admin.id, actor=unit_admin,
                                                                 now=clock.now))
    admin.reactivate_person(session, person.id, actor=unit_admin, now=clock.now)
    assert authenticate(session, "chuyenvien3", "demo") is not None
    assert [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))] == [
        "person.deactivated", "person.reactivated"]
    refused(session, Conflict, lambda: admin.reactivate_person(session, person.id, actor=unit_admin, now=clock.now))


def test_an_administrator_sets_a_new_password_and_every_session_ends(
        session: Session, unit_admin: User, users: dict[str, User], clock: Clock) -> None:  # fmt: skip
    person = users["chuyenvien"]
    token = open_session(session, person, clock.now)
    generated = admin.set_password(session, person.id, "", actor=unit_admin, now=clock.now)
    assert generated is not None and authenticate(session, "chuyenvien", generated) is not None
    assert session_user(session, token, clock.now) is None and person.must_change_password
    assert admin.set_password(session, person.id, "mat-khau-tam-1", actor=unit_admin, now=clock.now) is None
    assert [e.action for e in session.scalars(select(AuditEntry))] == ["person.password_set"] * 2


# --- the audit log ----------------------------------------------------------------------------------------------------


def test_the_audit_log_is_read_unit_by_unit(
        session: Session, unit_admin: User, unit: Unit, people: People, system_admin: User,
        clock: Clock) -> None:  # fmt: skip
    admin.create_department(session, unit.id, {"code": "tc", "name": "Tổ chức"}, actor=unit_admin, now=clock.now)
    other_admin = people.outsider_member
    admin.create_department(session, people.other_unit.id, {"code": "tc", "name": "Tổ chức"}, actor=other_admin,
                            now=clock.now)  # fmt: skip
    record(session, "token.created", actor=None, now=clock.now, unit_id=None, subject_kind="token",
           subject_name="máy chủ iGate")  # a later kind of change, above the units, from the command line
    session.commit()
    mine = admin.audit_log(session, actor=unit_admin)
    assert [(e.unit_id, e.action) for e in mine] == [(unit.id, "department.created")]
    assert admin.audit_log(session, actor=unit_admin, unit_id=unit.id) == mine
    everything = admin.audit_log(session, actor=system_admin)
    assert [e.action for e in everything] == ["token.created", "department.created", "department.created"]
    assert everything[0].actor_name == COMMAND_LINE and everything[0].actor_id is None
    assert [e.unit_id for e in admin.audit_log(session, actor=system_admin, unit_id=people.other_unit.id)] == [
        people.other_unit.id]
    refused(session, NotAllowed, lambda: admin.audit_log(session, actor=people.leader))
    refused(session, NotFound, lambda: admin.audit_log(session, actor=unit_admin, unit_id=people.other_unit.id))
    paged = admin.audit_log(session, actor=system_admin, limit=1, before_id=everything[0].id)
    assert paged == [everything[1]]


def test_a_user_name_taken_at_the_same_moment_is_a_conflict_and_nothing_is_kept(
        session: Session, unit_admin: User, unit: Unit, clock: Clock,
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Two administrators add the same user name at once: both checks pass, the database's unique user name
    refuses the second, which is answered as a conflict with nothing of it kept (not a server error)."""
    monkeypatch.setattr(admin, "check_username", lambda session, fields: fields.text("username", 80).lower())
    error = refused(session, Conflict, lambda: admin.create_person(
        session, unit.id, {"username": "thuky", "full_name": "Trùng Tên", "roles": ["specialist"]}, actor=unit_admin,
        now=clock.now))
    assert "at the same moment" in str(error)


def test_an_administrator_switched_off_does_not_count_as_another_one(
        session: Session, unit_admin: User, users: dict[str, User], system_admin: User,
        clock: Clock) -> None:  # fmt: skip
    admin.deactivate_person(session, users["admin"].id, actor=unit_admin, now=clock.now)  # the demo's other one
    refused(session, Conflict, lambda: admin.set_roles(session, unit_admin.id, ["specialist"], actor=unit_admin,
                                                       now=clock.now))
    refused(session, NotFound, lambda: admin.managed_person(session, unit_admin, system_admin.id))  # above the units


@pytest.mark.usefixtures("library")
def test_a_leaver_changes_nothing_in_another_units_tasks(
        session: Session, unit_admin: User, unit: Unit, users: dict[str, User], system_admin: User,
        clock: Clock) -> None:  # fmt: skip
    """Another unit's draft waits for its ISO secretaries, and that unit has none left; the demo unit's
    secretary leaving is no reason to hand that task to anyone."""
    other = make_unit(session, "ubnd-ea-kao", "UBND xã Ea Kao")
    secretary = make_user(session, "thuky_eakao", other, ("iso_secretary", "admin"))
    engine = Engine(session)
    theirs = _draft_task(session, engine, secretary, other, clock)
    admin.set_roles(session, secretary.id, ["admin"], actor=system_admin, now=clock.now)
    ours = _draft_task(session, engine, users["thuky"], unit, clock)

    result = admin.deactivate_person(session, users["thuky"].id, actor=unit_admin, now=clock.now)

    assert [t.id for t in result.returned] == [ours]
    row = session.get(TaskRow, theirs)
    assert row is not None and row.candidate_roles == ["iso_secretary"]
    assert session.scalar(select(HistoryEvent.id).where(HistoryEvent.task_id == theirs,
                                                        HistoryEvent.kind == "task_returned")) is None
