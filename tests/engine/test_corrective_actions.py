"""Corrective action (bpmn/corrective-action.bpmn) started by hand for a nonconformity found outside an audit:
its start form, the department head's correction, cause, plan and implementation, the verification and the
reopen loop, the register it keeps, and who reads that register."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import EngineError, FormInvalid, NotAllowed, ProcessInstance, corrective_actions
from engine.iso.corrective_actions import ActionFilter, CorrectiveAction
from engine.org.models import Unit, User
from tests.conftest import Clock, make_unit, make_user
from tests.engine.audit_steps import Steps

COMPLAINT = {"source": "complaint", "department": "qlkh", "requirement": "Quy trình cấp phép, bước 3",
             "description": "Công dân phản ánh hồ sơ được trả kết quả trễ hạn 5 ngày",
             "detectedOn": "2026-11-20"}  # fmt: skip


@pytest.fixture
def steps(session: Session, clock: Clock, users: dict[str, User], library: None) -> Steps:
    return Steps(session, clock, users)


def report(steps: Steps, who: str = "thuky", **changes: str) -> ProcessInstance:
    person = steps.people[who]
    unit_id = next(iter(r.unit_id for r in person.roles))
    return steps.engine.start("corrective_action", actor=person, unit_id=unit_id, now=steps.clock.now,
                              variables={**COMPLAINT, **changes})  # fmt: skip


def row(session: Session, action: ProcessInstance) -> CorrectiveAction:
    session.expire_all()
    return session.scalars(select(CorrectiveAction).where(CorrectiveAction.instance_id == action.id)).one()


def test_a_complaint_is_numbered_corrected_and_closed(session: Session, steps: Steps, users: dict[str, User]) -> None:
    action = report(steps, "truongphong2")
    opened = row(session, action)
    assert (opened.code, opened.year, opened.source, opened.department.code, opened.status) == (
        "KPH-2026-001", 2026, "complaint", "qlkh", "open")
    assert opened.detected_on == date(2026, 11, 20) and opened.reported_by_id == users["truongphong2"].id
    assert steps.one(action, "record_correction").candidate_roles == ["department_head:qlkh"]

    steps.do(action, "record_correction", "truongphong2", correction="Gọi điện xin lỗi và trả kết quả ngay",
             correctionDate="2026-11-23")
    steps.cause_and_plan(action, "truongphong2", due="2026-12-18")
    planned = row(session, action)
    assert (planned.status, planned.due_on) == ("in_progress", date(2026, 12, 18))
    assert planned.owner_id == users["truongphong2"].id
    assert planned.correction.startswith("Gọi điện") and planned.cause_method == "five_whys"
    implement = steps.one(action, "implement_actions")
    assert implement.due_at == datetime(2026, 12, 18, 10, 0, tzinfo=UTC)  # the close of business of the due date

    steps.implement(action, "truongphong2")
    assert row(session, action).status == "awaiting_verification"
    verify = steps.one(action, "verify_effectiveness")
    assert sorted(verify.candidate_roles) == ["internal_auditor", "iso_secretary"]
    assert not steps.engine.is_candidate(verify, users["truongphong2"])  # who acted does not verify
    steps.verify(action, "danhgiavien", effective=True)

    closed = row(session, action)
    assert (closed.status, closed.verification) == ("closed", "effective")
    assert closed.verified_by_id == users["danhgiavien"].id
    assert closed.actions[0]["result"] == "Đã ban hành quy trình sửa đổi" and closed.actions[0]["done"] is True
    assert session.get(ProcessInstance, action.id).status == "completed"


def test_an_action_found_not_effective_is_reopened_and_planned_again(session: Session, steps: Steps) -> None:
    action = report(steps)
    steps.correct(action, "truongphong2", verifier="thuky", effective=False)

    reopened = row(session, action)
    assert (reopened.status, reopened.reopened, reopened.verification) == ("reopened", 1, "not_effective")
    cause = steps.one(action, "analyse_cause")
    data = steps.engine.task_data(cause)
    assert data["verificationNote"] == "Vẫn còn 3 hồ sơ thiếu chữ ký" and data["rootCause"].startswith("Quy trình")

    steps.cause_and_plan(action, "truongphong2", due="2027-01-29")
    replanned = row(session, action)
    assert (replanned.status, replanned.due_on) == ("in_progress", date(2027, 1, 29))
    assert steps.engine.task_data(steps.one(action, "implement_actions")).get("verification") is None
    steps.implement(action, "truongphong2")
    steps.verify(action, "thuky", effective=True)
    assert (row(session, action).status, row(session, action).reopened) == ("closed", 1)


def test_only_the_department_s_head_works_on_its_nonconformity(session: Session, steps: Steps,
                                                                users: dict[str, User]) -> None:  # fmt: skip
    action = report(steps)
    correction = steps.one(action, "record_correction")
    with pytest.raises(NotAllowed):
        steps.do_task(correction, "truongphong", correction="Không phải phòng tôi", correctionDate="2026-11-23")
    session.rollback()
    assert steps.one(action, "record_correction").state == "open" and row(session, action).correction == ""


@pytest.mark.parametrize(("changes", "field"), [
    ({"source": "audit"}, "source"),  # an audit's nonconformities come from the audit, not by hand
    ({"department": ""}, "department"),
    ({"department": "khong-co"}, "department"),
    ({"description": "ngắn"}, "description"),
])  # fmt: skip
def test_the_start_form_refuses_what_names_nothing(session: Session, steps: Steps, changes: dict[str, str],
                                                   field: str) -> None:  # fmt: skip
    with pytest.raises(FormInvalid) as refused:
        report(steps, **changes)
    assert field in refused.value.errors
    assert session.scalars(select(CorrectiveAction)).all() == []


def test_a_specialist_may_not_report_by_hand(session: Session, steps: Steps) -> None:
    with pytest.raises(NotAllowed):
        report(steps, "chuyenvien")
    assert session.scalars(select(ProcessInstance)).all() == []


def test_who_reads_the_register_and_its_filters(session: Session, steps: Steps, users: dict[str, User],
                                                clock: Clock) -> None:  # fmt: skip
    first = report(steps)  # qlkh, due 2026-12-18 once planned
    report(steps, department="vp", source="management_review")
    steps.do(first, "record_correction", "truongphong2", correction="Trả kết quả ngay", correctionDate="2026-11-23")
    steps.cause_and_plan(first, "truongphong2", due="2026-12-18")
    other = make_unit(session)
    outsider = make_user(session, "thuky_bmt", other, ("iso_secretary", "unit_leader", "internal_auditor"), "vp")

    def codes(who: str | User, today: date = date(2026, 12, 1), **given: str) -> list[str]:
        person = users[who] if isinstance(who, str) else who
        found = corrective_actions.actions(session, person, ActionFilter.parse(given), today=today)
        return [a.code for a in found]

    both = ["KPH-2026-002", "KPH-2026-001"]
    assert codes("thuky") == both and codes("giamdoc") == both and codes("danhgiavien") == both
    assert codes("truongphong") == ["KPH-2026-002"] and codes("truongphong2") == ["KPH-2026-001"]
    assert codes("chuyenvien") == [] and codes(outsider) == []
    assert codes("thuky", source="management_review") == ["KPH-2026-002"]
    assert codes("thuky", status="in_progress") == ["KPH-2026-001"]
    assert codes("thuky", department="vp") == ["KPH-2026-002"]
    assert codes("thuky", overdue="1") == [] and codes("thuky", date(2026, 12, 19), overdue="1") == ["KPH-2026-001"]
    assert codes("thuky", year="2027") == []
    assert row(session, first).overdue(date(2026, 12, 19)) and not row(session, first).overdue(date(2026, 12, 18))


@pytest.mark.parametrize("given", [{"source": "rumour"}, {"status": "late"}, {"overdue": "yes"}, {"year": "1999"}])
def test_a_register_filter_naming_nothing_is_refused(given: dict[str, str]) -> None:
    with pytest.raises(EngineError) as refused:
        ActionFilter.parse(given)
    assert next(iter(given.values())) in str(refused.value.params)


def test_each_unit_numbers_its_own_nonconformities(session: Session, clock: Clock, steps: Steps, unit: Unit) -> None:
    report(steps)
    other = make_unit(session, "ubnd-phuong-tan-an", "UBND phường Tân An", (("qlkh", "Tư pháp"),))
    theirs = make_user(session, "thuky_ta", other, ("iso_secretary",), "qlkh")
    action = Steps(session, clock, {"thuky_ta": theirs}).engine.start(
        "corrective_action", actor=theirs, unit_id=other.id, now=clock.now, variables=COMPLAINT)
    assert row(session, action).code == "KPH-2026-001" and row(session, action).unit_id == other.id
    assert corrective_actions.actions(session, theirs, ActionFilter(), today=date(2026, 12, 1))[0].unit_id == other.id


def test_the_iso_home_counts_the_rows_each_reader_reads(session: Session, steps: Steps,
                                                        users: dict[str, User]) -> None:  # fmt: skip
    report(steps)  # qlkh
    report(steps, department="vp")
    unit_id = steps.people["thuky"].roles[0].unit_id
    other = make_unit(session)
    outsider = make_user(session, "thuky_bmt", other, ("iso_secretary",), "vp")

    def count(who: str | User, unit: int = unit_id) -> int | None:
        return corrective_actions.count_rows(session, users[who] if isinstance(who, str) else who, unit)

    assert count("thuky") == 2 and count("giamdoc") == 2 and count("danhgiavien") == 2
    assert count("truongphong") == 1 and count("truongphong2") == 1  # a head: their department's
    assert count("chuyenvien") is None  # a specialist does not read the register: it is not listed
    assert count(outsider) is None and count(outsider, other.id) == 0  # the wall, both ways
