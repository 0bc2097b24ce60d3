"""Roles that mean something: who sees an instance (its tasks, data, files and history) by their role in
its unit. Leaders, ISO secretaries, internal auditors and administrators see the unit's whole picture;
department heads their department's work; specialists their own; nobody anything of another unit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import delete, event, insert, select, update
from sqlalchemy.orm import Session

from engine import Deployer, Engine, NotFound, ProcessInstance, TaskNotFound, TaskRow, queries
from engine.org import people as people_roles
from engine.org.models import RoleAssignment, Unit, User
from engine.runtime.models import TaskCandidate
from tests.conftest import Clock, People, make_user, snapshot
from tests.webapp.permission_world import process, user_task

pytestmark = pytest.mark.usefixtures("library")

WORK = process(
    "ho_so_cong_viec", "Hồ sơ công việc",
    user_task(1, "Chuyên viên xử lý", 'candidateGroups="specialist"'),
    user_task(2, "Lãnh đạo phòng kiểm tra", 'candidateGroups="department_head:qlkh"'),
).content  # fmt: skip


def _deploy(session: Session, now: datetime) -> None:
    from engine import SourceFile

    Deployer(session).deploy([SourceFile("ho_so_cong_viec.bpmn", WORK)], actor=None, now=now)


def _start(session: Session, actor: User, unit: Unit, clock: Clock) -> ProcessInstance:
    return Engine(session).start("ho_so_cong_viec", actor=actor, unit_id=unit.id, now=clock.now)


def _open(session: Session, instance: ProcessInstance) -> TaskRow:
    return session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id, TaskRow.state == "open")).one()


def sees(session: Session, user: User, instance: ProcessInstance) -> bool:
    listed = instance.id in [i.id for i in queries.instances_for(session, user)]
    single = queries.may_view_instance(session, user, instance)
    assert listed == single, "the list and the single instance follow one rule"
    return single


def test_the_whole_unit_roles_see_every_instance_of_their_unit_only(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    ours = Engine(session).start("quality_objectives", actor=people.member, unit_id=people.unit.id, now=clock.now)
    theirs = Engine(session).start("quality_objectives", actor=people.outsider_member,
                                   unit_id=people.other_unit.id, now=clock.now)  # fmt: skip
    auditor_elsewhere = make_user(session, "dgv_bmt", people.other_unit, ("internal_auditor",))
    for name in ("giamdoc", "phogiamdoc", "thuky", "danhgiavien", "admin"):
        assert sees(session, users[name], ours), name
        assert not sees(session, users[name], theirs), name
    assert sees(session, auditor_elsewhere, theirs) and not sees(session, auditor_elsewhere, ours)
    for name in ("chuyenvien", "chuyenvien3", "truongphong2", "truongphong3"):
        assert not sees(session, users[name], ours), name  # none of them or their departments took part
    assert sees(session, users["truongphong"], ours)  # head of the secretary's department (vp): its work
    assert not sees(session, people.nobody, ours)
    users["danhgiavien"].is_active = False
    session.commit()
    assert not sees(session, users["danhgiavien"], ours)  # an account switched off sees nothing


def test_specialists_see_their_own_work_and_heads_their_departments(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    _deploy(session, clock.now)
    engine = Engine(session)
    instance = _start(session, users["chuyenvien3"], people.unit, clock)  # a specialist of qlkh starts it
    other = _start(session, users["chuyenvien5"], people.unit, clock)  # one of qlcn
    task = _open(session, instance)
    # offered to every specialist of the unit while open: each of them sees it
    assert sees(session, users["chuyenvien"], instance) and sees(session, users["chuyenvien5"], instance)
    assert sees(session, users["chuyenvien3"], instance)  # the starter
    assert sees(session, users["truongphong2"], instance)  # head of qlkh: his department's work
    assert not sees(session, users["truongphong3"], instance)  # head of qlcn: not hers
    assert sees(session, users["truongphong3"], other) and not sees(session, users["truongphong2"], other)

    engine.complete(task.id, actor=users["chuyenvien4"], now=clock.now)  # another qlkh specialist does the step
    session.expire_all()
    assert sees(session, users["chuyenvien4"], instance)  # completed a task: hers
    assert not sees(session, users["chuyenvien"], instance)  # no longer offered to him, never worked on it
    assert not sees(session, users["chuyenvien5"], instance)
    assert sees(session, users["truongphong2"], instance)  # offered to him by department now
    with pytest.raises(TaskNotFound):
        engine.visible_task(_open(session, instance).id, users["chuyenvien"])
    assert engine.visible_task(_open(session, instance).id, users["truongphong2"])


def test_the_instance_lists_of_someone_who_sees_their_own_work_follow_the_rule_from_that_work_or_the_walk(
    session: Session, people: People, users: dict[str, User], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person without a whole-unit role has their instance lists read from their own work (``OWN_WORK``):
    the instances they or their department's people started, the tasks held, handed on or completed, the open
    tasks offered to them. Read so, read by walking the unit, and asked one by one, the answer is the same;
    a row of another unit that names them shows nowhere."""
    _deploy(session, clock.now)
    engine = Engine(session)
    v = users
    offered = _start(session, v["chuyenvien3"], people.unit, clock)  # open, offered to every specialist
    held = _start(session, v["chuyenvien5"], people.unit, clock)
    engine.claim(_open(session, held).id, actor=v["chuyenvien4"], now=clock.now)  # open, held by someone else
    done = _start(session, v["chuyenvien3"], people.unit, clock)
    engine.complete(_open(session, done).id, actor=v["chuyenvien4"], now=clock.now)  # now with the heads of qlkh
    handed = _start(session, v["chuyenvien3"], people.unit, clock)
    first = _open(session, handed)
    engine.complete(first.id, actor=v["chuyenvien4"], now=clock.now)
    engine.complete(_open(session, handed).id, actor=v["truongphong2"], now=clock.now)  # completed
    session.execute(update(TaskRow).where(TaskRow.id == first.id).values(owner_id=v["chuyenvien5"].id,
                                                                         completed_by_id=v["chuyenvien6"].id))
    theirs = Engine(session).start("ho_so_cong_viec", actor=people.outsider_member, unit_id=people.other_unit.id,
                                   now=clock.now)  # fmt: skip
    session.execute(update(TaskRow).where(TaskRow.instance_id == theirs.id).values(assignee_id=v["chuyenvien"].id))
    # a head of the unit who is a specialist elsewhere: his role there offers him nothing here
    v["truongphong3"].roles.append(RoleAssignment(unit=people.other_unit, role="specialist"))
    session.commit()
    instances = [offered, held, done, handed, theirs]
    expected = {
        "chuyenvien": {offered.id, held.id},  # offered while open (held by another or not)
        "chuyenvien4": {offered.id, held.id, done.id, handed.id},  # holds one, completed two
        "chuyenvien5": {offered.id, held.id, handed.id},  # offered, started, handed on (the owner)
        "truongphong2": {offered.id, held.id, done.id, handed.id},  # his department's people's work
        "truongphong3": {held.id, handed.id, theirs.id},  # chuyenvien5's and 6's; a specialist's of the other unit
        "chuyenvien6": {offered.id, held.id, handed.id},  # offered; completed a step (the holder another)
    }
    running = {offered.id, held.id, done.id, theirs.id}
    for cap in (1000, 2, 0):  # from the work; from it until the cap is passed, then the walk; the walk
        monkeypatch.setattr(queries, "OWN_WORK", cap)
        for name, seen in expected.items():
            user = v[name]
            session.expire_all()
            listed = [i.id for i in queries.instances_for(session, user)]
            assert set(listed) == seen, (cap, name)
            assert listed == sorted(listed, key=lambda i: (session.get(ProcessInstance, i).started_at, i),  # type: ignore[union-attr]
                                    reverse=True), (cap, name)  # newest first, as the walk gives them
            assert {i.id for i in instances if queries.may_view_instance(session, user, i)} == seen, (cap, name)
            found = session.scalars(queries.running_instances_query(session, user)).all()
            assert {i.id for i in found} == seen & running, (cap, name)
            page, _ = queries.instance_page(session, user, None, 2)
            assert [i.id for i in page] == listed[:2], (cap, name)
    # the work is read part by part and given up as soon as it passes the cap
    monkeypatch.setattr(queries, "OWN_WORK", 3)
    assert queries._own_work(session, v["chuyenvien4"]) is None  # four instances
    assert queries._own_work(session, v["chuyenvien5"]) == sorted([offered.id, held.id, handed.id])
    assert queries._own_work(session, v["thuky"]) is None  # a whole-unit role: the walk


def test_an_offer_by_name_of_a_task_moved_to_another_unit_shows_its_instance_to_nobody_it_names(
    session: Session, people: People, users: dict[str, User], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task's offer counts only in a unit the person holds a role in: a row of the task moved to another unit
    (a repair in SQL) that names someone shows them its instance neither in their lists nor one by one."""
    _deploy(session, clock.now)
    instance = _start(session, users["chuyenvien3"], people.unit, clock)
    task = _open(session, instance)
    reader = users["truongphong3"]  # a head of another department: no role the task is offered to
    assert not sees(session, reader, instance)
    session.execute(insert(TaskCandidate).values(task_id=task.id, user_id=reader.id))
    session.commit()
    for cap in (1000, 0):
        monkeypatch.setattr(queries, "OWN_WORK", cap)
        session.expire_all()
        assert sees(session, reader, instance), cap  # offered to her by name
    session.execute(update(TaskRow).where(TaskRow.id == task.id).values(unit_id=people.other_unit.id))
    session.commit()
    for cap in (1000, 0):  # from her work, and by the walk
        monkeypatch.setattr(queries, "OWN_WORK", cap)
        session.expire_all()
        assert not sees(session, reader, instance), cap
    assert sees(session, users["truongphong2"], instance)  # his department's specialist started it


def test_another_unit_sees_nothing_and_changes_nothing(session: Session, people: People, users: dict[str, User],
                                                       clock: Clock) -> None:  # fmt: skip
    _deploy(session, clock.now)
    instance = _start(session, users["chuyenvien3"], people.unit, clock)
    task = _open(session, instance)
    before = snapshot(session)
    engine = Engine(session)
    for outsider in (people.outsider_member, people.outsider_leader, people.nobody):
        assert not sees(session, outsider, instance)
        with pytest.raises(TaskNotFound):
            engine.visible_task(task.id, outsider)
        with pytest.raises(NotFound):
            queries.visible_instance(session, outsider, instance.id)
    assert snapshot(session) == before


def test_registers_are_read_by_the_units_people(session: Session, people: People, users: dict[str, User]) -> None:
    for name in ("danhgiavien", "chuyenvien", "giamdoc", "thuky"):
        assert queries.may_read_registers(session, users[name], people.unit.id)
        assert not queries.may_read_registers(session, users[name], people.other_unit.id)
    assert not queries.may_read_registers(session, people.outsider_member, people.unit.id)
    assert not queries.may_read_registers(session, people.nobody, people.unit.id)
    assert queries.register_units(session, users["danhgiavien"]) == {people.unit.id}


# --- a person's roles, read once per session until it writes ------------------------------------------------


def test_roles_are_read_once_until_the_session_writes_and_every_kind_of_write_is_seen(
    session: Session, people: People
) -> None:
    """A request asks for the caller's roles several times (may they see the task? may they work it?): one
    query answers them all, until anything is written or the transaction ends. A role given or taken away in
    the same session, by the unit of work or by a statement, counts at once."""
    member, unit_id = people.member, people.unit.id
    roles_before = people_roles.roles_in_unit(session, member, unit_id)
    assert "iso_secretary" in roles_before
    asked: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if "role_assignments" in statement:
            asked.append(statement)

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", count)
    try:
        session.commit()  # a new transaction: the roles are read again, once
        for _ in range(3):
            assert people_roles.roles_in_unit(session, member, unit_id) == roles_before
            assert people_roles.is_member(session, member, unit_id)
            assert people_roles.unit_ids_of(session, member) == {unit_id}
        assert len(asked) == 1
        session.add(RoleAssignment(user_id=member.id, unit_id=unit_id, role="internal_auditor"))
        session.flush()
        assert "internal_auditor" in people_roles.roles_in_unit(session, member, unit_id)
        session.execute(delete(RoleAssignment).where(RoleAssignment.user_id == people.member.id,
                                                     RoleAssignment.role == "internal_auditor"))  # fmt: skip
        assert people_roles.roles_in_unit(session, member, unit_id) == roles_before
        session.execute(update(RoleAssignment).where(RoleAssignment.user_id == people.member.id)
                        .values(unit_id=people.other_unit.id))  # fmt: skip
        assert people_roles.roles_in_unit(session, member, unit_id) == set()
        assert people_roles.unit_ids_of(session, member) == {people.other_unit.id}
        session.rollback()  # nothing of that was kept: the roles are read again
        assert people_roles.roles_in_unit(session, member, unit_id) == roles_before
        assert people_roles.administered_unit_ids(session, member) == set()
        session.execute(insert(RoleAssignment), [{"user_id": member.id, "unit_id": people.other_unit.id,
                                                  "role": "admin"}])  # fmt: skip
        assert people_roles.administered_unit_ids(session, member) == {people.other_unit.id}
    finally:
        event.remove(bind, "before_cursor_execute", count)


def test_an_account_acting_within_one_unit_has_no_roles_elsewhere_after_its_unlimited_roles_were_read(
    session: Session, people: People, users: dict[str, User]
) -> None:
    """The roles read for a person are kept per unit limit: once their account acts within one unit (an API
    token), the roles read a moment before for all of their units do not answer for it."""
    both = users["giamdoc"]
    session.add(RoleAssignment(user_id=both.id, unit_id=people.other_unit.id, role="unit_leader"))
    session.flush()
    assert people_roles.unit_ids_of(session, both) == {people.unit.id, people.other_unit.id}
    people_roles.act_within_unit(both, people.unit.id)
    assert people_roles.unit_ids_of(session, both) == {people.unit.id}
    assert people_roles.roles_in_unit(session, both, people.other_unit.id) == set()
    assert not queries.may_read_registers(session, both, people.other_unit.id)


def test_a_register_shows_a_person_their_own_units_and_none_to_a_closed_account(session: Session,
                                                                             people: People) -> None:
    """The units a register lists for the reader: all of theirs, or the one asked for; another unit "does not
    exist" for them, named in the answer; a closed account reads no unit at all."""
    member = people.member
    assert people_roles.units_in_view(session, member, None) == {people.unit.id}
    assert people_roles.units_in_view(session, member, people.unit.id) == {people.unit.id}
    with pytest.raises(NotFound) as refused:
        people_roles.units_in_view(session, member, people.other_unit.id)
    assert str(refused.value) == f"Unit {people.other_unit.id} does not exist."
    member.is_active = False
    session.flush()
    assert people_roles.units_in_view(session, member, None) == set()
    with pytest.raises(NotFound):
        people_roles.units_in_view(session, member, people.unit.id)
