"""The management-review process (bpmn/management-review.bpmn) run through the engine with its forms, and the
register it leaves (engine.iso.reviews): every return loop, a report from each department head, the
conclusion with its decisions and actions, the actions' status afterwards, and unit walls."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Engine, reviews
from engine.errors import EngineError, FormInvalid, NotAllowed, NotFound
from engine.org.models import Notice, Unit, User
from engine.runtime.models import ProcessInstance, TaskRow
from engine.runtime.queries import claimable_tasks
from tests.conftest import Clock, People, make_unit, make_user

pytestmark = pytest.mark.usefixtures("library")

TOPICS = ["previous_actions", "objectives", "customer_feedback", "improvement"]
NOTICE = {
    "year": 2026,
    "title": "Xem xét của lãnh đạo năm 2026",
    "noticeNumber": "15/TB-SKHCN",
    "meetingDate": "2026-12-15",
    "topics": TOPICS,
    "noticeText": "Họp tại phòng họp tầng 2; các phòng gửi báo cáo trước ngày 08/12.",
}
MEETING = {
    "heldOn": "2026-12-15",
    "participants": "Ban Giám đốc, lãnh đạo các phòng, thư ký ISO",
    "meetingConclusion": "Hệ thống vận hành phù hợp; cần cải thiện tỷ lệ hồ sơ đúng hạn.",
    "decisions": [
        {"decision": "Duy trì mục tiêu chất lượng năm 2027"},
        {"decision": "Bổ sung một chuyên viên cho bộ phận một cửa"},
    ],
    "actions": [
        {
            "action": "Rà soát quy trình cấp phép",
            "ownerKind": "department",
            "ownerDepartment": "qlkh",
            "dueDate": "2027-03-31",
        },
        {
            "action": "Cập nhật sổ tay chất lượng",
            "ownerKind": "person",
            "ownerPerson": "chuyenvien",
            "dueDate": "2027-01-31",
        },
    ],
}


def report_of(department: str) -> dict[str, Any]:
    return {
        "report": {topic: f"{department}: {topic} đạt yêu cầu" for topic in TOPICS}
        | {"proposals": f"{department} đề nghị tập huấn"}
    }


def only_task(session: Session, instance_id: int, element: str, user: User | None = None) -> TaskRow:
    session.expire_all()
    rows = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == "open")).all()
    assert {r.element_id for r in rows} == {element}, [r.element_id for r in rows]
    if user is not None:
        rows = [t for t in claimable_tasks(session, user) if t.instance_id == instance_id]
        assert len(rows) == 1, f"{user.username} should see exactly one {element} task"
    return rows[0]


def complete(
    engine: Engine, session: Session, instance_id: int, element: str, user: User, clock: Clock, **variables: Any
) -> TaskRow:
    row = only_task(session, instance_id, element, user)
    return engine.complete(row.id, actor=user, now=clock.now, variables=variables)


def review_of(session: Session, instance_id: int) -> reviews.ManagementReview | None:
    session.expire_all()
    return session.scalar(select(reviews.ManagementReview).where(reviews.ManagementReview.instance_id == instance_id))


def run_to_reports(
    engine: Engine, session: Session, unit: Unit, secretary: User, leader: User, clock: Clock
) -> ProcessInstance:
    instance = engine.start("management_review", actor=secretary, unit_id=unit.id, now=clock.now)
    complete(engine, session, instance.id, "draft_notice", secretary, clock, **NOTICE)
    complete(engine, session, instance.id, "approve_notice", leader, clock, noticeDecision="approve")
    return instance


def test_the_whole_review_with_both_returns_leaves_its_register_rows(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    engine = Engine(session)
    thuky, giamdoc = users["thuky"], users["giamdoc"]
    instance = engine.start("management_review", actor=thuky, unit_id=unit.id, now=clock.now)
    draft = only_task(session, instance.id, "draft_notice", thuky)
    assert draft.due_at is not None and reviews.local_date(draft.due_at) == date(
        2026, 12, 1
    )  # 5 working days, 24/11 a holiday

    complete(engine, session, instance.id, "draft_notice", thuky, clock, **{**NOTICE, "title": "Xem xét 2026"})
    approval = only_task(session, instance.id, "approve_notice", giamdoc)
    assert approval.due_at is not None and reviews.local_date(approval.due_at) == date(2026, 11, 26)  # 2 working days
    with pytest.raises(FormInvalid) as refused:
        engine.complete(approval.id, actor=giamdoc, now=clock.now, variables={"noticeDecision": "return"})
    assert set(refused.value.errors) == {"noticeReturnReason"}
    engine.complete(
        approval.id,
        actor=giamdoc,
        now=clock.now,
        variables={"noticeDecision": "return", "noticeReturnReason": "Ghi rõ tên cuộc xem xét"},
    )
    redraft = only_task(session, instance.id, "draft_notice", thuky)
    assert engine.task_data(redraft)["noticeReturnReason"] == "Ghi rõ tên cuộc xem xét"
    assert review_of(session, instance.id) is None  # nothing is in the register before the notice is approved
    engine.complete(redraft.id, actor=thuky, now=clock.now, variables=NOTICE)
    complete(engine, session, instance.id, "approve_notice", giamdoc, clock, noticeDecision="approve")

    review = review_of(session, instance.id)
    assert review is not None
    assert (review.status, review.year, review.title, review.notice_number, review.meeting_date, review.topics) == (
        "reporting",
        2026,
        NOTICE["title"],
        "15/TB-SKHCN",
        date(2026, 12, 15),
        TOPICS,
    )
    heads = {"truongphong": "vp", "truongphong2": "qlkh", "truongphong3": "qlcn"}
    for head in heads:
        notices = session.scalars(
            select(Notice).where(Notice.user_id == users[head].id, Notice.kind == "review_notice")
        ).all()
        assert len(notices) == 1 and NOTICE["title"] in notices[0].title
    assert (
        session.scalar(
            select(func.count()).select_from(Notice).where(Notice.user_id == giamdoc.id, Notice.kind == "review_notice")
        )
        == 1
    )  # the leaders are told too

    assert (
        len(session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id, TaskRow.state == "open")).all())
        == 3
    )
    for head, department in heads.items():
        mine = [t for t in claimable_tasks(session, users[head]) if t.instance_id == instance.id]
        assert len(mine) == 1, head  # only their own department's report
        assert engine.task_data(mine[0])["department"]["value"] == department
        assert mine[0].due_at is not None and reviews.local_date(mine[0].due_at) == date(2026, 12, 1)
        clock.advance(hours=1)
        engine.complete(mine[0].id, actor=users[head], now=clock.now, variables=report_of(department))

    review = review_of(session, instance.id)
    assert review is not None and review.status == "consolidating"
    reported = {r.department_name: r for r in review.reports}
    assert set(reported) == {"Văn phòng Sở", "Phòng Quản lý Khoa học", "Phòng Quản lý Công nghệ và Chuyên ngành"}
    qlkh = reported["Phòng Quản lý Khoa học"]
    assert qlkh.items == {topic: f"qlkh: {topic} đạt yêu cầu" for topic in TOPICS}
    assert qlkh.proposals == "qlkh đề nghị tập huấn"
    assert qlkh.reported_by_id == users["truongphong2"].id and qlkh.reported_at is not None

    consolidate = only_task(session, instance.id, "consolidate", thuky)
    data = engine.task_data(consolidate)
    assert {
        "department": "Phòng Quản lý Khoa học",
        "topic": "c2) Mức độ đạt mục tiêu chất lượng",
        "text": "qlkh: objectives đạt yêu cầu",
        "reporter": "Đặng Quốc Bảo",
    } in data["reportRows"]
    assert {"label": "Hoàng Thị Lan — Chuyên viên Văn phòng", "value": "chuyenvien"} in data["staff"]
    consolidated = {topic: f"Tổng hợp: {topic}" for topic in TOPICS}
    engine.complete(consolidate.id, actor=thuky, now=clock.now, variables={"consolidated": consolidated})

    complete(engine, session, instance.id, "record_meeting", thuky, clock, **MEETING)
    final = only_task(session, instance.id, "final_approval", giamdoc)
    engine.complete(
        final.id,
        actor=giamdoc,
        now=clock.now,
        variables={"finalDecision": "return", "finalReturnReason": "Nêu rõ nguồn lực cần bổ sung"},
    )
    again = only_task(session, instance.id, "record_meeting", thuky)
    assert engine.task_data(again)["finalReturnReason"] == "Nêu rõ nguồn lực cần bổ sung"
    review = review_of(session, instance.id)
    assert review is not None and review.status == "consolidating" and review.actions == []
    changed = {**MEETING, "meetingConclusion": "Cần bổ sung một chuyên viên một cửa trong quý I/2027."}
    engine.complete(again.id, actor=thuky, now=clock.now, variables=changed)
    complete(
        engine,
        session,
        instance.id,
        "final_approval",
        giamdoc,
        clock,
        finalDecision="approve",
        finalConclusion="Phê duyệt báo cáo xem xét; giao các phòng thực hiện đúng hạn.",
    )

    session.expire_all()
    assert session.get(ProcessInstance, instance.id).status == "completed"  # type: ignore[union-attr]
    review = review_of(session, instance.id)
    assert review is not None
    assert (review.status, review.meeting_conclusion, review.conclusion, review.approved_by_id) == (
        "concluded",
        changed["meetingConclusion"],
        "Phê duyệt báo cáo xem xét; giao các phòng thực hiện đúng hạn.",
        giamdoc.id,
    )
    assert review.inputs == consolidated and review.meeting_date == date(2026, 12, 15)
    assert [d.text for d in review.decisions] == [
        "Duy trì mục tiêu chất lượng năm 2027",
        "Bổ sung một chuyên viên cho bộ phận một cửa",
    ]
    [by_department, by_person] = review.actions
    assert (
        by_department.text,
        by_department.owner_department.code,
        by_department.owner_user_id,  # type: ignore[union-attr]
        by_department.due_date,
        by_department.status,
    ) == ("Rà soát quy trình cấp phép", "qlkh", None, date(2027, 3, 31), "open")
    assert (by_person.owner_user_id, by_person.owner_department_id, by_person.due_date) == (
        users["chuyenvien"].id,
        None,
        date(2027, 1, 31),
    )
    told = {n.user_id for n in session.scalars(select(Notice).where(Notice.kind == "review_action"))}
    assert told == {users["truongphong2"].id, users["chuyenvien"].id}


def concluded_review(
    engine: Engine, session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> reviews.ManagementReview:
    thuky, giamdoc = users["thuky"], users["giamdoc"]
    instance = run_to_reports(engine, session, unit, thuky, giamdoc, clock)
    for head, department in {"truongphong": "vp", "truongphong2": "qlkh", "truongphong3": "qlcn"}.items():
        complete(engine, session, instance.id, "department_report", users[head], clock, **report_of(department))
    complete(
        engine, session, instance.id, "consolidate", thuky, clock, consolidated={topic: "Tổng hợp" for topic in TOPICS}
    )
    complete(engine, session, instance.id, "record_meeting", thuky, clock, **MEETING)
    complete(
        engine,
        session,
        instance.id,
        "final_approval",
        giamdoc,
        clock,
        finalDecision="approve",
        finalConclusion="Phê duyệt",
    )
    review = review_of(session, instance.id)
    assert review is not None and review.status == "concluded"
    return review


def _state(session: Session, action_id: int) -> tuple[Any, ...]:
    session.expire_all()
    action = session.get(reviews.ReviewAction, action_id)
    assert action is not None
    return action.status, action.done_on, action.note, action.updated_by_id


def test_who_may_mark_an_action_and_what_is_refused(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, people: People
) -> None:
    engine = Engine(session)
    review = concluded_review(engine, session, users, unit, clock)
    by_department, by_person = review.actions[0].id, review.actions[1].id

    reviews.set_action_status(
        session, users["truongphong2"], by_department, "in_progress", note="Đang rà soát", now=clock.now
    )
    assert _state(session, by_department) == ("in_progress", None, "Đang rà soát", users["truongphong2"].id)
    reviews.set_action_status(
        session, users["chuyenvien"], by_person, "done", done_on=date(2026, 11, 20), now=clock.now
    )
    assert _state(session, by_person) == ("done", date(2026, 11, 20), "", users["chuyenvien"].id)

    before = _state(session, by_department)
    with pytest.raises(NotAllowed):  # the head of another department
        reviews.set_action_status(session, users["truongphong"], by_department, "done", now=clock.now)
    with pytest.raises(NotAllowed):  # a specialist who does not own it
        reviews.set_action_status(session, users["chuyenvien2"], by_person, "open", now=clock.now)
    with pytest.raises(NotFound):  # another unit's people do not even find it
        reviews.set_action_status(session, people.outsider_member, by_department, "done", now=clock.now)
    with pytest.raises(NotFound):
        reviews.set_action_status(session, people.nobody, by_department, "done", now=clock.now)
    with pytest.raises(EngineError, match="Unknown status"):
        reviews.set_action_status(session, users["thuky"], by_department, "finished", now=clock.now)
    with pytest.raises(EngineError, match="in the future"):
        reviews.set_action_status(
            session, users["thuky"], by_department, "done", done_on=date(2026, 11, 24), now=clock.now
        )
    session.rollback()
    assert _state(session, by_department) == before
    reviews.set_action_status(session, users["giamdoc"], by_department, "done", now=clock.now)  # a leader may
    assert _state(session, by_department)[:2] == ("done", date(2026, 11, 23))


def test_lists_filter_by_year_and_status_and_overdue_actions(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    engine = Engine(session)
    concluded = concluded_review(engine, session, users, unit, clock)
    running = run_to_reports(engine, session, unit, users["thuky"], users["giamdoc"], clock)
    thuky = users["thuky"]

    def titles(**filters: Any) -> list[int]:
        return [r.id for r in reviews.list_reviews(session, thuky, unit.id, reviews.ReviewFilter(**filters))]

    assert titles() == [review_of(session, running.id).id, concluded.id]  # type: ignore[union-attr]
    assert titles(status="concluded") == [concluded.id]
    assert titles(year=2026, status="reporting") == [review_of(session, running.id).id]  # type: ignore[union-attr]
    assert titles(year=2025) == []
    assert reviews.review_years(session, thuky, unit.id) == [2026]

    late = date(2027, 2, 1)  # after the person's action (31/01/2027), before the department's (31/03/2027)
    overdue = reviews.list_actions(session, thuky, unit.id, reviews.ActionFilter(status="overdue"), today=late)
    assert [a.text for a in overdue] == ["Cập nhật sổ tay chất lượng"]
    qlkh = next(d for d in unit.departments if d.code == "qlkh")
    mine = reviews.list_actions(session, thuky, unit.id, reviews.ActionFilter(department_id=qlkh.id), today=late)
    assert [a.text for a in mine] == ["Rà soát quy trình cấp phép"]
    reviews.set_action_status(session, users["chuyenvien"], overdue[0].id, "done", now=clock.now)
    assert reviews.list_actions(session, thuky, unit.id, reviews.ActionFilter(status="overdue"), today=late) == []


def test_a_second_unit_runs_its_own_review_and_neither_sees_the_other(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    engine = Engine(session)
    other = make_unit(session, "ubnd-eakar", "UBND xã Ea Kar", (("vp", "Văn phòng"), ("kt", "Phòng Kinh tế")))
    secretary = make_user(session, "thuky_eakar", other, ("iso_secretary",), "vp")
    leader = make_user(session, "chutich_eakar", other, ("unit_leader",))
    heads = {
        "vp": make_user(session, "cvp_eakar", other, ("department_head",), "vp"),
        "kt": make_user(session, "tpkt_eakar", other, ("department_head",), "kt"),
    }
    ours = concluded_review(engine, session, users, unit, clock)

    instance = run_to_reports(engine, session, other, secretary, leader, clock)
    for code, head in heads.items():
        assert [t.instance_id for t in claimable_tasks(session, head)] == [instance.id]
        complete(engine, session, instance.id, "department_report", head, clock, **report_of(code))
    theirs = review_of(session, instance.id)
    assert theirs is not None and theirs.unit_id == other.id
    assert sorted(r.department_name for r in theirs.reports) == ["Phòng Kinh tế", "Văn phòng"]
    data = engine.task_data(only_task(session, instance.id, "consolidate", secretary))
    assert {s["value"] for s in data["staff"]} == {"thuky_eakar", "chutich_eakar", "cvp_eakar", "tpkt_eakar"}

    assert [r.id for r in reviews.list_reviews(session, secretary, other.id)] == [theirs.id]
    assert [r.id for r in reviews.list_reviews(session, users["thuky"], unit.id)] == [ours.id]
    with pytest.raises(NotFound):
        reviews.list_reviews(session, secretary, unit.id)
    with pytest.raises(NotFound):
        reviews.get_review(session, secretary, ours.id)
    with pytest.raises(NotFound):
        reviews.get_review(session, users["giamdoc"], theirs.id)
    with pytest.raises(NotFound):
        reviews.list_actions(session, leader, unit.id, reviews.ActionFilter(), today=date(2027, 1, 1))
    assert reviews.get_review(session, leader, theirs.id).id == theirs.id
    # no one of the demo unit was told anything about the other unit's review
    assert (
        session.scalar(
            select(func.count())
            .select_from(Notice)
            .where(Notice.instance_id == instance.id, Notice.user_id.in_([u.id for u in users.values()]))
        )
        == 0
    )
