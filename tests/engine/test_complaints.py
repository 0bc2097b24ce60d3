"""The register of complaints and feedback and the shipped complaint process: a complaint is numbered and given
to a department with a time limit in working days on the unit's calendar; the approved answer is on time or
late by that limit; the leader's return sends it back; satisfaction is kept; another unit sees none of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Deployer, Engine
from engine.errors import EngineError, NotAllowed, NotFound
from engine.iso import complaints
from engine.iso.complaints import Complaint, ComplaintFilter
from engine.org.calendar_days import set_calendar_day
from engine.org.models import Notice, Unit, User
from engine.runtime.handlers import JobContext
from engine.runtime.models import ProcessInstance
from tests.conftest import Clock, People, library_files, make_user
from tests.iso_flows import (
    UnitPeople,
    answered,
    assignment,
    complaint_record,
    decision,
    open_tasks,
    run_complaint,
)

MONDAY = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # 08:30 in Hà Nội; Tuesday 24/11 is a public holiday from 2026


@pytest.fixture
def demo(session: Session, unit: Unit, users: dict[str, User], clock: Clock) -> UnitPeople:
    Deployer(session).deploy(library_files(), actor=None, now=clock.now, source="library")
    return UnitPeople(unit, users["thuky"], users["giamdoc"],
                      {"vp": users["truongphong"], "qlkh": users["truongphong2"], "qlcn": users["truongphong3"]})


def the_complaint(session: Session) -> Complaint:
    session.expire_all()
    return session.scalars(select(Complaint)).one()


def started(session: Session, demo: UnitPeople, at: datetime, days: int = 10, department: str = "vp") -> int:
    engine = Engine(session)
    instance = engine.start("complaint_handling", actor=demo.secretary, unit_id=demo.unit.id, now=at,
                            post=complaint_record())  # fmt: skip
    [assign] = open_tasks(session, instance.id)
    engine.complete(assign.id, actor=demo.secretary, now=at, post=assignment(department, days))
    return instance.id


def test_a_complaint_is_numbered_and_its_time_limit_counted_in_working_days_on_the_units_calendar(
    session: Session, demo: UnitPeople, users: dict[str, User]
) -> None:
    set_calendar_day(session, demo.unit.id, datetime(2026, 12, 1).date(), "off", "Nghỉ bù", actor=users["admin"])
    session.commit()
    instance_id = started(session, demo, MONDAY, days=5)
    complaint = the_complaint(session)
    assert (complaint.code, complaint.status, complaint.kind, complaint.source) == ("PA-2026-0001", "assigned",
                                                                                   "complaint", "citizen")
    assert (complaint.complainant, complaint.phone, complaint.received_by_id) == ("Nguyễn Thị Hoa", "0912345678",
                                                                                  demo.secretary.id)
    # 5 working days after Monday 23/11: not Tue 24/11 (holiday), Wed 25, Thu 26, Fri 27, Mon 30, not Tue 1/12
    # (the unit's own day off), Wed 2/12 -> due at the close of Wednesday 2 December
    assert complaint.due_at is not None and complaint.due_at.date().isoformat() == "2026-12-02"
    assert complaint.department.code == "vp" and complaint.answer_days == 5
    [answer] = open_tasks(session, instance_id)
    assert answer.element_id == "answer_complaint" and answer.due_at == complaint.due_at
    told = session.scalars(select(User.username).join(Notice, Notice.user_id == User.id)
                           .where(Notice.kind == "complaint_assigned")).all()  # fmt: skip
    assert told == ["truongphong"]


@pytest.mark.parametrize(("answered_after", "on_time"), [(timedelta(days=10, hours=8, minutes=30), True),
                                                         (timedelta(days=10, hours=8, minutes=31), False)])  # fmt: skip
def test_the_answer_is_on_time_up_to_the_close_of_the_last_working_day_and_late_after(
    session: Session, demo: UnitPeople, answered_after: timedelta, on_time: bool
) -> None:
    run_complaint(session, Engine(session), demo, MONDAY, days=7, answer_at=MONDAY + answered_after)
    complaint = the_complaint(session)
    # 7 working days after Monday 23/11 (24/11 off): due Thursday 3/12 17:00 in Hà Nội = 10:00 UTC
    assert complaint.due_at == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    assert (complaint.on_time, complaint.status, complaint.satisfaction) == (on_time, "closed", "satisfied")
    assert complaint.timeliness(MONDAY + timedelta(days=90)) == ("on_time" if on_time else "late")


def test_the_leader_returns_the_answer_to_the_same_department_until_it_is_right(
    session: Session, demo: UnitPeople, users: dict[str, User]
) -> None:
    engine = Engine(session)
    instance_id = started(session, demo, MONDAY, department="qlkh")
    [answer] = open_tasks(session, instance_id)
    with pytest.raises(NotAllowed):  # another department's head
        engine.complete(answer.id, actor=users["truongphong"], now=MONDAY, post=answered())
    engine.complete(answer.id, actor=users["truongphong2"], now=MONDAY, post=answered())
    [approve] = open_tasks(session, instance_id)
    with pytest.raises(NotAllowed):
        engine.complete(approve.id, actor=users["truongphong2"], now=MONDAY, post=decision("approve"))
    engine.complete(approve.id, actor=demo.leader, now=MONDAY, post=decision("return", "Nêu rõ ngày trả kết quả"))
    [again] = open_tasks(session, instance_id)
    assert again.element_id == "answer_complaint"
    assert engine.task_data(again)["returnReason"] == "Nêu rõ ngày trả kết quả"
    assert engine.may_work(again, users["truongphong2"]) and not engine.may_work(again, users["truongphong"])
    assert the_complaint(session).answered_at is None  # not answered until the leader agrees
    engine.complete(again.id, actor=users["truongphong2"], now=MONDAY, post=answered("partly"))
    [approve] = open_tasks(session, instance_id)
    engine.complete(approve.id, actor=demo.leader, now=MONDAY + timedelta(hours=2), post=decision("approve"))
    complaint = the_complaint(session)
    assert (complaint.finding, complaint.answered_at, complaint.on_time) == ("partly", MONDAY + timedelta(hours=2),
                                                                            True)
    [follow] = open_tasks(session, instance_id)
    assert (follow.element_id, follow.assignee_id) == ("follow_up", demo.secretary.id)  # whoever recorded it


def test_a_dissatisfied_complainant_reaches_the_secretaries_and_leaders_and_one_not_reached_is_kept_so(
    session: Session, demo: UnitPeople
) -> None:
    run_complaint(session, Engine(session), demo, MONDAY, satisfaction="dissatisfied")
    told = session.scalars(select(User.username).join(Notice, Notice.user_id == User.id)
                           .where(Notice.kind == "complaint_dissatisfied")).all()  # fmt: skip
    assert sorted(told) == ["giamdoc", "phogiamdoc", "thuky"]
    run_complaint(session, Engine(session), demo, MONDAY, satisfaction=None)
    codes = {c.code: c.satisfaction for c in session.scalars(select(Complaint))}
    assert codes == {"PA-2026-0001": "dissatisfied", "PA-2026-0002": ""}
    instance = session.scalars(select(ProcessInstance).order_by(ProcessInstance.id.desc())).first()
    assert instance is not None and instance.status == "completed"


@pytest.mark.parametrize(("given", "says"), [
    ({"assignedDepartment": "tc"}, "no department 'tc'"), ({"answerDays": 0}, "from 1 to 45"),
    ({"answerDays": 46}, "from 1 to 45"), ({"answerDays": 2.5}, "from 1 to 45"), ({"answerDays": True}, "from 1"),
])  # fmt: skip
def test_an_assignment_the_register_cannot_keep_is_refused_and_changes_nothing(
    session: Session, demo: UnitPeople, given: dict[str, object], says: str
) -> None:
    instance = Engine(session).start("complaint_handling", actor=demo.secretary, unit_id=demo.unit.id, now=MONDAY,
                                     post=complaint_record())  # fmt: skip
    data = {"assignedDepartment": "vp", "answerDays": 10, **given}
    with pytest.raises(EngineError, match=says):
        complaints.assign_complaint(JobContext(session, instance, "record_assignment", data, None, MONDAY))
    session.rollback()
    complaint = the_complaint(session)
    assert (complaint.status, complaint.due_at, complaint.department_id) == ("received", None, None)


def test_a_record_the_register_cannot_keep_is_refused_and_its_number_given_back(
    session: Session, demo: UnitPeople
) -> None:
    instance = Engine(session).start("complaint_handling", actor=demo.secretary, unit_id=demo.unit.id, now=MONDAY,
                                     post=complaint_record())  # fmt: skip
    bad = {"kind": "threat", "source": "citizen", "channel": "phone"}  # say a unit's own form with another kind
    with pytest.raises(EngineError, match="kind must be one of"):
        complaints.register_complaint(JobContext(session, instance, "register_complaint", bad, None, MONDAY))
    session.rollback()
    assert session.scalars(select(Complaint.code)).all() == ["PA-2026-0001"]
    run_complaint(session, Engine(session), demo, MONDAY)
    assert session.scalars(select(Complaint.code).order_by(Complaint.id)).all() == ["PA-2026-0001", "PA-2026-0002"]


# --- reading the register: filters, figures and unit walls ----------------------------------------------------


@pytest.fixture
def other(session: Session, people: People) -> UnitPeople:
    head = make_user(session, "truongphong_bmt", people.other_unit, ("department_head",), "vp")
    return UnitPeople(people.other_unit, people.outsider_member, people.outsider_leader, {"vp": head})


def test_each_unit_reads_only_its_own_complaints_however_it_filters(
    session: Session, demo: UnitPeople, other: UnitPeople, people: People
) -> None:
    run_complaint(session, Engine(session), demo, MONDAY)
    theirs = run_complaint(session, Engine(session), other, MONDAY)
    later = MONDAY + timedelta(days=60)
    mine, total = complaints.find_complaints(session, demo.secretary, ComplaintFilter(), now=later)
    their_rows, their_total = complaints.find_complaints(session, other.leader, ComplaintFilter(), now=later)
    assert (total, their_total) == (1, 1)
    assert mine[0].unit_id == demo.unit.id and their_rows[0].instance_id == theirs.id
    assert their_rows[0].code == "PA-2026-0001"  # numbered in their own series
    with pytest.raises(NotFound):  # another unit, asked for by its id, does not exist for them
        complaints.find_complaints(session, demo.leader, ComplaintFilter(unit_id=other.unit.id), now=later)
    assert complaints.find_complaints(session, people.nobody, ComplaintFilter(), now=later) == ([], 0)
    assert complaints.summary(session, demo.leader, ComplaintFilter(), now=later).total == 1
    with pytest.raises(NotFound):
        complaints.complaint_for(session, demo.secretary, their_rows[0].id)
    assert complaints.complaint_for(session, other.secretary, their_rows[0].id).code == "PA-2026-0001"


def test_the_filters_and_the_figures_follow_the_time_limits(session: Session, demo: UnitPeople) -> None:
    engine = Engine(session)
    run_complaint(session, engine, demo, MONDAY, days=3, answer_at=MONDAY + timedelta(days=1))  # on time
    run_complaint(session, engine, demo, MONDAY, days=1, answer_at=MONDAY + timedelta(days=5),
                  satisfaction="dissatisfied")  # late  # fmt: skip
    started(session, demo, MONDAY, days=2, department="qlkh")  # will be overdue
    started(session, demo, MONDAY + timedelta(days=400), days=10, department="qlkh")  # next year, within its limit
    at = MONDAY + timedelta(days=401)
    qlkh = session.scalar(select(Complaint.department_id).where(Complaint.code == "PA-2026-0003"))

    def codes(**given: object) -> list[str]:
        found, total = complaints.find_complaints(session, demo.leader, ComplaintFilter(**given),  # type: ignore[arg-type]
                                                  now=at)  # fmt: skip
        assert total == len(found)
        return [c.code for c in found]

    assert codes() == ["PA-2027-0001", "PA-2026-0003", "PA-2026-0002", "PA-2026-0001"]
    assert codes(timeliness="on_time") == ["PA-2026-0001"]
    assert codes(timeliness="late") == ["PA-2026-0002"]
    assert codes(timeliness="overdue") == ["PA-2026-0003"]
    assert codes(timeliness="pending") == ["PA-2027-0001"]
    assert codes(year=2026, department_id=qlkh) == ["PA-2026-0003"]
    assert codes(status="closed") == ["PA-2026-0002", "PA-2026-0001"]
    assert codes(kind="praise") == [] and codes(source="citizen", year=2027) == ["PA-2027-0001"]
    figures = complaints.summary(session, demo.leader, ComplaintFilter(), now=at)
    assert (figures.total, figures.answered, figures.on_time, figures.overdue) == (4, 2, 1, 1)
    assert (figures.asked, figures.satisfied, figures.on_time_share) == (2, 1, 0.5)
    assert complaints.summary(session, demo.leader, ComplaintFilter(year=2027), now=at).on_time_share is None
