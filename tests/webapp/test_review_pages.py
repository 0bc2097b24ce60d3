"""The management review and ad hoc work as people do them over HTTP: each person logged in with their own
roles, every return loop, then the registers' pages, filters, exports and the action updates; a second unit
runs both processes too and sees nothing of the first."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from engine import ProcessInstance, TaskRow, assignments, reviews
from tests.conftest import make_unit, make_user
from tests.webapp.conftest import login
from webapp.extensions import db, sa_session

TOPICS = ["objectives", "customer_feedback", "improvement"]
SOON = date.today() + timedelta(days=30)  # the forms refuse past meeting dates and deadlines: tests run any day


@dataclass
class Cast:
    """Who plays each part in one unit, by user name."""

    unit: str  # the unit's code
    secretary: str
    leader: str
    heads: dict[str, str]  # department code -> head
    specialist: tuple[str, str]  # (department code, a specialist of it)


DEMO = Cast(
    "skhcn-daklak",
    "thuky",
    "giamdoc",
    {"vp": "truongphong", "qlkh": "truongphong2", "qlcn": "truongphong3"},
    ("qlkh", "chuyenvien3"),
)


@pytest.fixture
def second(app: Flask) -> Cast:
    """Another unit with its own secretary, leader, two departments with heads and a specialist."""
    with app.app_context():
        other = make_unit(sa_session(), "ubnd-eakar", "UBND xã Ea Kar", (("vp", "Văn phòng"), ("kt", "Phòng Kinh tế")))
        make_user(sa_session(), "thuky_eakar", other, ("iso_secretary",), "vp", "Y Blang Niê")
        make_user(sa_session(), "chutich_eakar", other, ("unit_leader",), full_name="H'Hen Êban")
        make_user(sa_session(), "cvp_eakar", other, ("department_head",), "vp", "Lê Văn Tâm")
        make_user(sa_session(), "tpkt_eakar", other, ("department_head",), "kt", "Trần Thị Kim")
        make_user(sa_session(), "cvkt_eakar", other, ("specialist",), "kt", "Võ Minh Khoa")
        db.session.remove()
    return Cast(
        "ubnd-eakar", "thuky_eakar", "chutich_eakar", {"vp": "cvp_eakar", "kt": "tpkt_eakar"}, ("kt", "cvkt_eakar")
    )


class People:
    """One logged-in browser per person."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.clients: dict[str, FlaskClient] = {}

    def __getitem__(self, username: str) -> FlaskClient:
        if username not in self.clients:
            self.clients[username] = login(self.app.test_client(), username)
        return self.clients[username]


@pytest.fixture
def people(app: Flask) -> Iterator[People]:
    yield People(app)


def read(app: Flask, query: Any) -> Any:
    with app.app_context():
        try:
            return sa_session().scalars(query).all()
        finally:
            db.session.remove()


def task_ids(app: Flask, instance_id: int, element: str) -> list[str]:
    return list(
        read(
            app,
            select(TaskRow.id)
            .where(TaskRow.instance_id == instance_id, TaskRow.element_id == element, TaskRow.state == "open")
            .order_by(TaskRow.id),
        )
    )


def one_task(app: Flask, instance_id: int, element: str) -> str:
    found = task_ids(app, instance_id, element)
    assert len(found) == 1, (element, found)
    return found[0]


def post_task(client: FlaskClient, task_id: str, data: dict[str, Any]) -> None:
    response = client.post(f"/tasks/{task_id}", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]


def unit_id(client: FlaskClient, key: str) -> str:
    page = client.get("/processes").get_data(as_text=True)
    found = re.search(rf'action="/processes/{key}/start".*?name="unit_id" value="(\d+)"', page, re.S)
    assert found, page
    return found.group(1)


def start(app: Flask, client: FlaskClient, key: str, data: dict[str, Any]) -> int:
    response = client.post(f"/processes/{key}/start", data={"unit_id": unit_id(client, key), **data})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    [instance] = read(app, select(ProcessInstance.id).order_by(ProcessInstance.id.desc()).limit(1))
    return int(instance)


NOTICE = {
    "year": "2026",
    "title": "Xem xét của lãnh đạo năm 2026",
    "noticeNumber": "15/TB-SKHCN",
    "meetingDate": SOON.isoformat(),
    "topics": TOPICS,
    "noticeText": "Họp ngày 15/12 tại phòng họp số 2.",
}


def meeting(cast: Cast, conclusion: str) -> dict[str, Any]:
    department, person = cast.specialist
    return {
        "heldOn": "2026-12-15",
        "participants": "Lãnh đạo đơn vị, lãnh đạo các phòng",
        "meetingConclusion": conclusion,
        "_rows:decisions": "1",
        "decisions[0].decision": "Duy trì mục tiêu năm 2027",
        "_rows:actions": "2",
        "actions[0].action": "Rà soát quy trình",
        "actions[0].ownerKind": "department",
        "actions[0].ownerDepartment": department,
        "actions[0].dueDate": "2027-03-31",
        "actions[1].action": "Cập nhật sổ tay chất lượng",
        "actions[1].ownerKind": "person",
        "actions[1].ownerPerson": person,
        "actions[1].dueDate": "2027-01-31",
    }


def _chosen(page: str, name: str) -> list[str]:
    """The values of the radio ``name`` the page shows chosen."""
    radios = re.findall(r'<input type="radio"[^>]*name="' + name + r'"[^>]*>', page)
    assert len(radios) == 2, radios
    return [re.search(r'value="([^"]*)"', r).group(1) for r in radios if " checked" in r]  # type: ignore[union-attr]


def run_review(app: Flask, people: People, cast: Cast, title: str) -> int:
    """The whole review over HTTP, with the leader returning the notice once and the report once."""
    secretary, leader = people[cast.secretary], people[cast.leader]
    instance = start(app, secretary, "management_review", {})
    draft = one_task(app, instance, "draft_notice")
    post_task(secretary, draft, {**NOTICE, "title": title})
    approval = one_task(app, instance, "approve_notice")
    assert (
        people[next(iter(cast.heads.values()))]
        .post(f"/tasks/{approval}", data={"noticeDecision": "approve"})
        .status_code
        == 403
    )  # a department head does not approve the notice
    post_task(leader, approval, {"noticeDecision": "return", "noticeReturnReason": "Bổ sung địa điểm họp"})
    page = secretary.get(f"/tasks/{one_task(app, instance, 'draft_notice')}").get_data(as_text=True)
    assert "Lãnh đạo trả lại dự thảo thông báo" in page and "Bổ sung địa điểm họp" in page
    post_task(secretary, one_task(app, instance, "draft_notice"), {**NOTICE, "title": title})
    again = leader.get(f"/tasks/{one_task(app, instance, 'approve_notice')}").get_data(as_text=True)
    assert _chosen(again, "noticeDecision") == [] and "Bổ sung địa điểm họp" not in again  # the second round: empty
    post_task(leader, one_task(app, instance, "approve_notice"), {"noticeDecision": "approve"})

    reports = task_ids(app, instance, "department_report")
    assert len(reports) == len(cast.heads)
    for department, head in cast.heads.items():
        mine = [t for t in reports if people[head].post(f"/tasks/{t}", data={"_draft": "1"}).status_code == 302]
        assert len(mine) == 1, head  # each head works on their own department's report only
        post_task(
            people[head],
            mine[0],
            {f"report.{topic}": f"{department}: {topic} ổn định" for topic in TOPICS}
            | {"report.proposals": f"{department} đề nghị tập huấn"},
        )
    consolidate = one_task(app, instance, "consolidate")
    assert f"{cast.heads and next(iter(cast.heads))}: objectives ổn định" in secretary.get(
        f"/tasks/{consolidate}"
    ).get_data(as_text=True)  # the reports are in front of the secretary
    post_task(secretary, consolidate, {f"consolidated.{topic}": f"Tổng hợp {topic}" for topic in TOPICS})
    post_task(secretary, one_task(app, instance, "record_meeting"), meeting(cast, "Cần tăng tỷ lệ đúng hạn"))
    post_task(
        leader,
        one_task(app, instance, "final_approval"),
        {"finalDecision": "return", "finalReturnReason": "Ghi rõ nguồn lực"},
    )
    again = one_task(app, instance, "record_meeting")
    assert "Ghi rõ nguồn lực" in secretary.get(f"/tasks/{again}").get_data(as_text=True)
    post_task(secretary, again, meeting(cast, "Cần tăng tỷ lệ đúng hạn; bổ sung một chuyên viên"))
    final = leader.get(f"/tasks/{one_task(app, instance, 'final_approval')}").get_data(as_text=True)
    assert _chosen(final, "finalDecision") == [] and "Ghi rõ nguồn lực" not in final
    post_task(
        leader,
        one_task(app, instance, "final_approval"),
        {"finalDecision": "approve", "finalConclusion": "Phê duyệt báo cáo xem xét"},
    )
    return instance


def review_row(app: Flask, instance: int) -> reviews.ManagementReview:
    review = reviews.ManagementReview
    [found] = read(
        app,
        select(review)
        .where(review.instance_id == instance)
        .options(selectinload(review.actions), selectinload(review.reports), selectinload(review.decisions)),
    )
    return found  # type: ignore[no-any-return]


def test_the_review_over_http_and_its_register_pages(app: Flask, people: People) -> None:
    instance = run_review(app, people, DEMO, "Xem xét của lãnh đạo năm 2026")
    review = review_row(app, instance)
    assert (review.status, review.conclusion, review.meeting_conclusion) == (
        "concluded",
        "Phê duyệt báo cáo xem xét",
        "Cần tăng tỷ lệ đúng hạn; bổ sung một chuyên viên",
    )
    assert review.inputs == {topic: f"Tổng hợp {topic}" for topic in TOPICS}

    reader = people["chuyenvien"]  # any member of the unit reads the register
    listing = reader.get("/iso/reviews").get_data(as_text=True)
    assert "Xem xét của lãnh đạo năm 2026" in listing and f'href="/instances/{instance}"' in listing
    assert "Xem xét của lãnh đạo năm 2026" not in reader.get("/iso/reviews?status=reporting").get_data(as_text=True)
    assert "Xem xét của lãnh đạo năm 2026" not in reader.get("/iso/reviews?year=2025").get_data(as_text=True)
    detail = reader.get(f"/iso/reviews/{review.id}").get_data(as_text=True)
    for text in (
        "Phê duyệt báo cáo xem xét",
        "Duy trì mục tiêu năm 2027",
        "Rà soát quy trình",
        "Phòng Quản lý Khoa học",
        "Bùi Thị Thu Hà",
        "31/03/2027",
        "qlkh: objectives ổn định",
        "Tổng hợp improvement",
    ):
        assert text in detail, text
    assert 'name="status"' not in detail  # a specialist who owns none of the actions cannot change them

    rows = list(
        csv.reader(io.StringIO(reader.get("/iso/reviews/export?format=csv").get_data(as_text=True).lstrip("\ufeff")))
    )
    assert rows[1][:5] == [
        str(review.id),
        "2026",
        "Xem xét của lãnh đạo năm 2026",
        "15/TB-SKHCN",
        "15/12/2026",
    ]  # the day it was held
    assert rows[1][-1].endswith(f"/instances/{instance}")
    book = load_workbook(io.BytesIO(reader.get("/iso/reviews/actions/export?format=xlsx").get_data())).active
    actions = [[c.value for c in row] for row in book.iter_rows(min_row=2)]
    assert [(r[2], r[3], r[4], r[5]) for r in actions] == [
        ("Cập nhật sổ tay chất lượng", "Bùi Thị Thu Hà", "31/01/2027", "Chưa bắt đầu"),
        ("Rà soát quy trình", "Phòng Quản lý Khoa học", "31/03/2027", "Chưa bắt đầu"),
    ]
    assert reader.get("/iso/reviews/export?format=pdf").status_code == 400
    assert reader.get("/iso/reviews?year=hai-nghin").status_code == 400
    assert reader.get("/iso/reviews?status=xong").status_code == 400

    [by_department, by_person] = sorted(review_row(app, instance).actions, key=lambda a: a.position)
    refused = people["truongphong"].post(f"/iso/reviews/actions/{by_department.id}", data={"status": "done"})
    assert refused.status_code == 403  # the head of another department
    done = people["truongphong2"].post(
        f"/iso/reviews/actions/{by_department.id}", data={"status": "in_progress", "note": "Đã giao chuyên viên"}
    )
    assert done.status_code == 302
    bad = people["chuyenvien3"].post(
        f"/iso/reviews/actions/{by_person.id}", data={"status": "done", "done_on": "31/02/2026"}
    )
    assert bad.status_code == 400
    assert (
        people["chuyenvien3"]
        .post(f"/iso/reviews/actions/{by_person.id}", data={"status": "done", "done_on": "2026-11-20"})
        .status_code
        == 302
    )
    states = {a.id: (a.status, a.note) for a in review_row(app, instance).actions}
    assert states == {by_department.id: ("in_progress", "Đã giao chuyên viên"), by_person.id: ("done", "")}
    overdue = reader.get("/iso/reviews/actions?status=in_progress&department=qlkh").get_data(as_text=True)
    assert "Rà soát quy trình" in overdue and "Cập nhật sổ tay chất lượng" not in overdue


def test_a_second_unit_runs_the_review_and_neither_unit_sees_the_other(
    app: Flask, people: People, second: Cast
) -> None:
    ours = review_row(app, run_review(app, people, DEMO, "Xem xét của Sở"))
    theirs = review_row(app, run_review(app, people, second, "Xem xét của xã"))
    assert theirs.unit_id != ours.unit_id and {r.department_name for r in theirs.reports} == {
        "Văn phòng",
        "Phòng Kinh tế",
    }
    outsider, member = people[second.secretary], people["thuky"]
    listing = outsider.get("/iso/reviews").get_data(as_text=True)
    assert "Xem xét của xã" in listing and "Xem xét của Sở" not in listing
    assert "Xem xét của xã" not in member.get("/iso/reviews").get_data(as_text=True)
    assert outsider.get(f"/iso/reviews/{ours.id}").status_code == 404
    assert member.get(f"/iso/reviews/{theirs.id}").status_code == 404
    assert outsider.get("/iso/reviews?unit=skhcn-daklak").status_code == 404
    assert outsider.get("/iso/reviews/export?format=csv&unit=skhcn-daklak").status_code == 404
    assert outsider.get("/iso/reviews/actions?unit=skhcn-daklak").status_code == 404
    action = ours.actions[0]
    assert outsider.post(f"/iso/reviews/actions/{action.id}", data={"status": "done"}).status_code == 404
    assert people[second.leader].post(f"/iso/reviews/actions/{action.id}", data={"status": "done"}).status_code == 404
    assert review_row(app, ours.instance_id).actions[0].status == "open"  # refused, nothing changed
    exported = outsider.get("/iso/reviews/actions/export?format=csv").get_data(as_text=True)
    assert "Võ Minh Khoa" in exported and "Bùi Thị Thu Hà" not in exported


# --- ad hoc work -------------------------------------------------------------------------------------------


def run_assignment(app: Flask, people: People, cast: Cast, title: str) -> int:
    """The leader assigns to every department; the first head reports, the specialist's head hands over;
    the leader returns each report once, then accepts."""
    leader = people[cast.leader]
    instance = start(
        app,
        leader,
        "adhoc_assignment",
        {
            "title": title,
            "content": "Báo cáo số liệu quý IV",
            "deadline": SOON.isoformat(),
            "assignedDepartments": list(cast.heads),
        },
    )
    department, specialist = cast.specialist
    reporters = {}
    for code, head in cast.heads.items():
        mine = [
            t
            for t in task_ids(app, instance, "handle_job")
            if people[head].post(f"/tasks/{t}", data={"_draft": "1"}).status_code == 302
        ]
        assert len(mine) == 1
        if code == department:
            post_task(
                people[head], mine[0], {"handling": "handover", "specialist": specialist, "handoverNote": "Làm gấp"}
            )
            post_task(people[specialist], one_task(app, instance, "specialist_report"), {"report": f"Báo cáo {code}"})
            reporters[code] = specialist
        else:
            post_task(people[head], mine[0], {"handling": "report", "report": f"Báo cáo {code}"})
            reporters[code] = head
    for _ in cast.heads:
        post_task(
            leader,
            task_ids(app, instance, "review_report")[0],
            {"decision": "return", "returnReason": "Bổ sung số liệu"},
        )
    for code, reporter in reporters.items():
        element = "specialist_report" if reporter == specialist else "handle_job"
        mine = [
            t
            for t in task_ids(app, instance, element)
            if people[reporter].post(f"/tasks/{t}", data={"_draft": "1"}).status_code == 302
        ]
        assert len(mine) == 1, (reporter, element)
        assert "Bổ sung số liệu" in people[reporter].get(f"/tasks/{mine[0]}").get_data(as_text=True)
        fields = {"report": f"Báo cáo {code}, đủ số liệu"}
        post_task(
            people[reporter], mine[0], fields if element == "specialist_report" else {"handling": "report", **fields}
        )
    for _ in cast.heads:
        post_task(leader, task_ids(app, instance, "review_report")[0], {"decision": "accept"})
    return instance


def assignment_row(app: Flask, instance: int) -> assignments.Assignment:
    job = assignments.Assignment
    [found] = read(
        app,
        select(job)
        .where(job.instance_id == instance)
        .options(selectinload(job.parts).selectinload(assignments.AssignmentPart.department)),
    )
    return found  # type: ignore[no-any-return]


def test_ad_hoc_work_over_http_and_its_register(app: Flask, people: People, second: Cast) -> None:
    instance = run_assignment(app, people, DEMO, "Số liệu quý IV")
    job = assignment_row(app, instance)
    assert (job.status, job.on_time) == ("done", True)
    parts = {p.department.code: (p.status, p.returns, p.on_time) for p in job.parts}
    assert parts == {"vp": ("accepted", 1, True), "qlkh": ("accepted", 1, True), "qlcn": ("accepted", 1, True)}

    reader = people["chuyenvien5"]
    listing = reader.get("/iso/assignments").get_data(as_text=True)
    assert "Số liệu quý IV" in listing and f'href="/instances/{instance}"' in listing and "Đúng hạn" in listing
    assert "Số liệu quý IV" not in reader.get("/iso/assignments?status=in_progress").get_data(as_text=True)
    assert "Số liệu quý IV" not in reader.get("/iso/assignments?on_time=no").get_data(as_text=True)
    assert "Số liệu quý IV" in reader.get("/iso/assignments?department=qlkh&on_time=yes").get_data(as_text=True)
    assert reader.get("/iso/assignments?department=khong-co").status_code == 400
    assert reader.get("/iso/assignments?on_time=co").status_code == 400
    detail = reader.get(f"/iso/assignments/{job.id}").get_data(as_text=True)
    assert "Bùi Thị Thu Hà" in detail and "Báo cáo qlkh, đủ số liệu" in detail
    rows = list(
        csv.reader(
            io.StringIO(reader.get("/iso/assignments/export?format=csv").get_data(as_text=True).lstrip("\ufeff"))
        )
    )
    assert rows[1][1] == "Số liệu quý IV" and rows[1][4] == SOON.strftime("%d/%m/%Y") and rows[1][8] == "Đúng hạn"
    assert rows[1][9] == "3"  # reports returned
    sheet = load_workbook(io.BytesIO(reader.get("/iso/assignments/export?format=xlsx").get_data())).active
    assert sheet.cell(row=2, column=2).value == "Số liệu quý IV"

    theirs = assignment_row(app, run_assignment(app, people, second, "Việc của xã"))
    outsider = people[second.leader]
    assert "Số liệu quý IV" not in outsider.get("/iso/assignments").get_data(as_text=True)
    assert "Việc của xã" in outsider.get("/iso/assignments").get_data(as_text=True)
    assert "Việc của xã" not in reader.get("/iso/assignments").get_data(as_text=True)
    assert outsider.get(f"/iso/assignments/{job.id}").status_code == 404
    assert reader.get(f"/iso/assignments/{theirs.id}").status_code == 404
    assert outsider.get("/iso/assignments/export?format=csv&unit=skhcn-daklak").status_code == 404
