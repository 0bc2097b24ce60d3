"""Roles that mean something: who sees an instance (its tasks, data, files and history) by their role in
its unit. Leaders, ISO secretaries, internal auditors and administrators see the unit's whole picture;
department heads their department's work; specialists their own; nobody anything of another unit."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Deployer, Engine, NotFound, ProcessInstance, TaskNotFound, TaskRow, queries
from engine.org.models import Unit, User
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
