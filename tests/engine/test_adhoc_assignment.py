"""Ad hoc work (bpmn/adhoc-assignment.bpmn) through the engine with its forms: a leader assigns a job to
departments, one head reports, another hands it to a specialist, the leader returns and accepts each report;
the register (engine.iso.assignments) keeps status, deadline and whether each report came on time."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine, assignments
from engine.errors import FormInvalid, NotFound
from engine.org.models import Notice, Unit, User
from engine.runtime.models import ProcessInstance, TaskRow
from engine.runtime.queries import claimable_tasks, my_tasks
from tests.conftest import Clock, make_unit, make_user
from tests.wording import title_vi

pytestmark = pytest.mark.usefixtures("library")

JOB = {
    "title": "Báo cáo tình hình giải quyết hồ sơ quý IV",
    "content": "Số hồ sơ tiếp nhận, đúng hạn, trễ hạn.",
    "deadline": "2026-11-27",
}


def open_tasks(session: Session, instance_id: int) -> list[TaskRow]:
    session.expire_all()
    return list(session.scalars(select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == "open")))


def task_for(session: Session, instance_id: int, user: User, element: str) -> TaskRow:
    """The one task of the instance this person may work on now (offered to them or given to them)."""
    session.expire_all()
    found = [
        t
        for t in [*claimable_tasks(session, user), *my_tasks(session, user)]
        if t.instance_id == instance_id and t.element_id == element
    ]
    assert len(found) == 1, f"{user.username}: {[t.element_id for t in found]}"
    return found[0]


def review_task(engine: Engine, session: Session, instance_id: int, department: str) -> TaskRow:
    rows = [
        t
        for t in open_tasks(session, instance_id)
        if t.element_id == "review_report" and engine.task_data(t)["department"] == department
    ]
    assert len(rows) == 1
    return rows[0]


def assignment_of(session: Session, instance_id: int) -> assignments.Assignment:
    session.expire_all()
    found = session.scalar(select(assignments.Assignment).where(assignments.Assignment.instance_id == instance_id))
    assert found is not None
    return found


def parts(session: Session, instance_id: int) -> dict[str, tuple[Any, ...]]:
    found = assignment_of(session, instance_id)
    return {p.department.code: (p.status, p.returns, p.on_time) for p in found.parts}


def test_report_handover_returns_and_the_on_time_result(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    engine = Engine(session)
    giamdoc = users["giamdoc"]
    with pytest.raises(FormInvalid) as refused:
        engine.start(
            "adhoc_assignment",
            actor=giamdoc,
            unit_id=unit.id,
            now=clock.now,
            variables={**JOB, "assignedDepartments": []},
        )
    assert set(refused.value.errors) == {"assignedDepartments"}
    assert session.scalar(select(assignments.Assignment)) is None
    instance = engine.start(
        "adhoc_assignment",
        actor=giamdoc,
        unit_id=unit.id,
        now=clock.now,
        variables={**JOB, "assignedDepartments": ["vp", "qlkh"]},
    )

    job = assignment_of(session, instance.id)
    assert (job.title, job.deadline, job.status, job.assigned_by_id, job.year) == (
        JOB["title"],
        date(2026, 11, 27),
        "in_progress",
        giamdoc.id,
        2026,
    )
    assert parts(session, instance.id) == {"vp": ("assigned", 0, None), "qlkh": ("assigned", 0, None)}
    told = session.scalars(select(Notice).where(Notice.instance_id == instance.id, Notice.kind == "assignment")).all()
    assert {n.user_id for n in told} == {users["truongphong"].id, users["truongphong2"].id}
    assert users["truongphong3"].id not in {n.user_id for n in told}  # qlcn was not given the job

    vp = task_for(session, instance.id, users["truongphong"], "handle_job")
    assert vp.due_at is not None and assignments.local_date(vp.due_at) == date(2026, 11, 27)  # the leader's deadline
    qlkh = task_for(session, instance.id, users["truongphong2"], "handle_job")
    assert engine.task_data(qlkh)["specialists"] == [
        {"label": "Bùi Thị Thu Hà", "value": "chuyenvien3"},
        {"label": "Ngô Đức Long", "value": "chuyenvien4"},
    ]
    with pytest.raises(FormInvalid):  # someone of another department is not among the choices
        engine.complete(
            qlkh.id,
            actor=users["truongphong2"],
            now=clock.now,
            variables={"handling": "handover", "specialist": "chuyenvien"},
        )

    engine.complete(
        vp.id,
        actor=users["truongphong"],
        now=clock.now,
        variables={"handling": "report", "report": "VP: 120 hồ sơ, 118 đúng hạn"},
    )
    engine.complete(
        qlkh.id,
        actor=users["truongphong2"],
        now=clock.now,
        variables={"handling": "handover", "specialist": "chuyenvien3", "handoverNote": "Tổng hợp gấp"},
    )
    assert parts(session, instance.id) == {"vp": ("reported", 0, None), "qlkh": ("handed_over", 0, None)}
    specialist = task_for(session, instance.id, users["chuyenvien3"], "specialist_report")
    assert specialist.assignee_id == users["chuyenvien3"].id
    engine.complete(specialist.id, actor=users["chuyenvien3"], now=clock.now, variables={"report": "QLKH: 40 hồ sơ"})

    # the leader returns both reports: each goes back to whoever wrote it
    for department in ("vp", "qlkh"):
        row = review_task(engine, session, instance.id, department)
        engine.complete(
            row.id,
            actor=giamdoc,
            now=clock.now,
            variables={"decision": "return", "returnReason": f"Bổ sung số liệu {department}"},
        )
    assert parts(session, instance.id) == {"vp": ("returned", 1, None), "qlkh": ("returned", 1, None)}
    again = task_for(session, instance.id, users["truongphong"], "handle_job")
    assert engine.task_data(again)["returnReason"] == "Bổ sung số liệu vp"
    redo = task_for(session, instance.id, users["chuyenvien3"], "specialist_report")
    assert engine.task_data(redo)["returnReason"] == "Bổ sung số liệu qlkh"

    engine.complete(
        again.id,
        actor=users["truongphong"],
        now=clock.now,
        variables={"handling": "report", "report": "VP: 120 hồ sơ, 118 đúng hạn, 2 trễ"},
    )
    clock.advance(days=7)  # the specialist's new report comes after the deadline
    engine.complete(redo.id, actor=users["chuyenvien3"], now=clock.now, variables={"report": "QLKH: 40 hồ sơ, 1 trễ"})
    for department in ("vp", "qlkh"):
        row = review_task(engine, session, instance.id, department)
        assert engine.task_data(row).get("decision") is None  # the leader decides afresh
        engine.complete(row.id, actor=giamdoc, now=clock.now, variables={"decision": "accept"})

    session.expire_all()
    assert session.get(ProcessInstance, instance.id).status == "completed"  # type: ignore[union-attr]
    job = assignment_of(session, instance.id)
    assert (job.status, job.on_time) == ("done", False)
    assert parts(session, instance.id) == {"vp": ("accepted", 1, True), "qlkh": ("accepted", 1, False)}
    by_code = {p.department.code: p for p in job.parts}
    assert (by_code["qlkh"].handler_id, by_code["qlkh"].reported_by_id) == (
        users["chuyenvien3"].id,
        users["chuyenvien3"].id,
    )
    assert by_code["qlkh"].report == "QLKH: 40 hồ sơ, 1 trễ" and by_code["vp"].reported_by_id == users["truongphong"].id
    done = session.scalars(select(Notice).where(Notice.instance_id == instance.id, Notice.user_id == giamdoc.id)).all()
    assert [title_vi(n) for n in done] == [f"Công việc đã hoàn thành (Trễ hạn): {JOB['title']}"]
    assert [n.title for n in done] == [f"Work done (Late): {JOB['title']}"]  # the same notice read in English


def run_simple(
    engine: Engine, session: Session, unit: Unit, leader: User, head: User, department: str, clock: Clock, title: str,
    deadline: str = JOB["deadline"],
) -> ProcessInstance:
    instance = engine.start(
        "adhoc_assignment",
        actor=leader,
        unit_id=unit.id,
        now=clock.now,
        variables={**JOB, "title": title, "deadline": deadline, "assignedDepartments": [department]},
    )
    row = task_for(session, instance.id, head, "handle_job")
    engine.complete(row.id, actor=head, now=clock.now, variables={"handling": "report", "report": "Xong"})
    row = task_for(session, instance.id, leader, "review_report")
    engine.complete(row.id, actor=leader, now=clock.now, variables={"decision": "accept"})
    return instance


def test_filters_and_a_second_unit_that_sees_nothing_of_the_first(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    engine = Engine(session)
    giamdoc = users["giamdoc"]
    done = run_simple(engine, session, unit, giamdoc, users["truongphong"], "vp", clock, "Việc đã xong")
    running = engine.start(
        "adhoc_assignment",
        actor=giamdoc,
        unit_id=unit.id,
        now=clock.now,
        variables={**JOB, "title": "Việc đang làm", "assignedDepartments": ["qlcn"]},
    )
    other = make_unit(session, "ubnd-eakar", "UBND xã Ea Kar", (("vp", "Văn phòng"),))
    leader = make_user(session, "chutich_eakar", other, ("unit_leader",))
    head = make_user(session, "cvp_eakar", other, ("department_head",), "vp")
    theirs = run_simple(engine, session, other, leader, head, "vp", clock, "Việc của xã")
    assert [t.instance_id for t in claimable_tasks(session, users["truongphong"])] == []  # the other unit's vp

    def titles(viewer: User, unit_id: int, today: date = date(2026, 11, 23), **filters: Any) -> list[str]:
        found = assignments.list_assignments(session, viewer, unit_id, assignments.AssignmentFilter(**filters), today)
        return [a.title for a in found]

    assert titles(giamdoc, unit.id) == ["Việc đang làm", "Việc đã xong"]
    assert titles(giamdoc, unit.id, status="done") == ["Việc đã xong"]
    assert titles(giamdoc, unit.id, on_time=True) == ["Việc đã xong"]
    assert titles(giamdoc, unit.id, status="overdue") == []
    assert titles(giamdoc, unit.id, today=date(2026, 11, 28), status="overdue") == ["Việc đang làm"]
    qlcn = next(d for d in unit.departments if d.code == "qlcn")
    assert titles(users["chuyenvien"], unit.id, department_id=qlcn.id) == ["Việc đang làm"]
    assert titles(giamdoc, unit.id, year=2025) == []
    assert titles(leader, other.id) == ["Việc của xã"]
    with pytest.raises(NotFound):
        titles(leader, unit.id)
    with pytest.raises(NotFound):
        assignments.get_assignment(session, leader, assignment_of(session, done.id).id)
    with pytest.raises(NotFound):
        assignments.get_assignment(session, giamdoc, assignment_of(session, theirs.id).id)
    assert assignments.get_assignment(session, users["chuyenvien"], assignment_of(session, running.id).id).title == (
        "Việc đang làm"
    )


def test_a_report_accepted_on_the_deadline_day_is_on_time_and_one_the_day_after_is_late(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    engine = Engine(session)
    giamdoc, head = users["giamdoc"], users["truongphong"]
    today = run_simple(engine, session, unit, giamdoc, head, "vp", clock, "Việc hôm nay", deadline="2026-11-23")
    clock.advance(hours=9)  # 17:30 in Hà Nội, still the deadline day
    tomorrow = engine.start("adhoc_assignment", actor=giamdoc, unit_id=unit.id, now=clock.now,
                            variables={**JOB, "deadline": "2026-11-23", "assignedDepartments": ["vp"]})
    clock.advance(hours=7)  # 00:30 the next day
    row = task_for(session, tomorrow.id, head, "handle_job")
    engine.complete(row.id, actor=head, now=clock.now, variables={"handling": "report", "report": "Muộn"})
    row = task_for(session, tomorrow.id, giamdoc, "review_report")
    engine.complete(row.id, actor=giamdoc, now=clock.now, variables={"decision": "accept"})
    assert (assignment_of(session, today.id).on_time, assignment_of(session, tomorrow.id).on_time) == (True, False)
