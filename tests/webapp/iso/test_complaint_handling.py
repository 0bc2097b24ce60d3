"""Complaints and feedback in the browser: an officer records what a citizen raised, the ISO secretary gives it to
a department with a time limit in working days, the department head answers with the letter attached, the leader
returns it once and then agrees, the officer asks how satisfied the citizen is. The register shows the on-time
result and the figures, filters and exports them, and a second unit sees nothing of the first."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from engine import ProcessInstance
from engine.iso.complaints import Complaint
from tests.iso_flows import PDF, answered, assignment, complaint_record, decision, followed_up, open_tasks
from tests.webapp.iso.conftest import Office
from webapp.extensions import sa_session


def only(office: Office, instance_id: int, element_id: str) -> str:
    with office.app.app_context():
        [task] = open_tasks(sa_session(), instance_id)
    assert task.element_id == element_id
    return task.id


def submit(browser: FlaskClient, task_id: str, post: dict[str, Any], status: int = 302) -> str:
    response = browser.post(f"/tasks/{task_id}", data=post, content_type="multipart/form-data")
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def record(office: Office, officer: str, **changes: str) -> int:
    response = office.browser(officer).post("/processes/complaint_handling/start",
                                            data={"unit_id": office.unit_id, **complaint_record(**changes)})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with office.app.app_context():
        return sa_session().scalars(select(ProcessInstance.id).order_by(ProcessInstance.id.desc())).first()  # type: ignore[return-value]


def export(browser: FlaskClient, query: str = "") -> list[dict[str, str]]:
    response = browser.get(f"/iso/complaints?format=csv{query}")
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    return [dict(zip(table[0], row, strict=True)) for row in table[1:]]


def handle(office: Office, instance_id: int, department: str = "vp", satisfaction: str | None = "satisfied",
           officer: str | None = None) -> None:  # fmt: skip
    submit(office.browser(office.secretary), only(office, instance_id, "assign_complaint"), assignment(department))
    head = office.browser(office.heads[department])
    submit(head, only(office, instance_id, "answer_complaint"), answered())
    submit(office.browser(office.leader), only(office, instance_id, "approve_answer"), decision("approve"))
    follow = only(office, instance_id, "follow_up")  # by whoever recorded the complaint
    submit(office.browser(officer or office.secretary), follow, followed_up(satisfaction))


def test_a_citizens_complaint_is_recorded_assigned_answered_returned_approved_and_followed_up(demo: Office) -> None:
    officer, secretary = demo.browser("chuyenvien"), demo.browser("thuky")
    form = officer.get(f"/processes/complaint_handling/start?unit_id={demo.unit_id}").get_data(as_text=True)
    assert "Tiếp nhận phản ánh, kiến nghị" in form and 'name="complainantName"' in form
    refused = officer.post("/processes/complaint_handling/start",
                           data={"unit_id": demo.unit_id, **complaint_record(email="không phải thư")})
    assert refused.status_code == 422
    instance_id = record(demo, "chuyenvien")
    [row] = export(secretary)
    assert row["Mã"].startswith("PA-") and row["Mã"].endswith("-0001")  # numbered in the year of receipt
    assert (row["Trạng thái"], row["Người phản ánh"], row["Người gửi"]) == ("Mới tiếp nhận", "Nguyễn Thị Hoa",
                                                                           "Người dân")
    assign = only(demo, instance_id, "assign_complaint")
    assert "Nguyễn Thị Hoa" in secretary.get(f"/tasks/{assign}").get_data(as_text=True)
    assert "Số ngày" not in submit(secretary, assign, {**assignment("qlkh"), "answerDays": ["60"]}, status=422)
    submit(secretary, assign, assignment("qlkh", days=7))
    [row] = export(secretary)
    assert (row["Phòng ban"], row["Thời hạn (ngày làm việc)"], row["Đúng hạn / trễ hạn"]) == (
        "Phòng Quản lý Khoa học", "7", "Trong hạn")
    answer = only(demo, instance_id, "answer_complaint")
    submit(demo.browser("truongphong"), answer, answered(), status=403)  # another department's head
    head = demo.browser("truongphong2")
    submit(head, answer, {**answered(), "answerFiles": (io.BytesIO(PDF), "tra-loi.pdf")})
    leader = demo.browser("giamdoc")
    approve = only(demo, instance_id, "approve_answer")
    assert "tra-loi.pdf" in leader.get(f"/tasks/{approve}").get_data(as_text=True)
    submit(leader, approve, decision("return", "Nêu rõ ngày trả kết quả cho bà Hoa"))
    again = only(demo, instance_id, "answer_complaint")
    assert "Lý do: Nêu rõ ngày trả kết quả cho bà Hoa" in head.get(f"/tasks/{again}").get_data(as_text=True)
    assert export(secretary)[0]["Ngày trả lời"] == ""  # not answered until the leader agrees
    submit(head, again, answered("partly"))
    submit(leader, only(demo, instance_id, "approve_answer"), decision("approve"))
    follow = only(demo, instance_id, "follow_up")
    submit(secretary, follow, followed_up(), status=403)  # the officer who recorded it follows it up
    assert "Mức độ hài lòng" in submit(officer, follow, {"contacted": ["yes"]}, status=422)
    submit(officer, follow, followed_up("very_satisfied"))
    [row] = export(secretary)
    assert (row["Đúng hạn / trễ hạn"], row["Kết quả xác minh"], row["Mức độ hài lòng"], row["Trạng thái"]) == (
        "Trả lời đúng hạn", "Đúng một phần", "Rất hài lòng", "Đã kết thúc")
    assert row["Quy trình"] == str(instance_id)
    with demo.app.app_context():
        complaint = sa_session().scalars(select(Complaint)).one()
        assert complaint.on_time is True and complaint.received_by.username == "chuyenvien"  # type: ignore[union-attr]
    page = secretary.get(f"/iso/complaints/{complaint.id}").get_data(as_text=True)
    assert "Nêu rõ" not in page and "Đúng một phần" in page and f"/instances/{instance_id}" in page


def test_the_register_sums_up_and_filters_what_it_holds(demo: Office) -> None:
    first = record(demo, "chuyenvien")
    handle(demo, first, "vp", satisfaction="dissatisfied", officer="chuyenvien")
    second_one = record(demo, "thuky", kind="praise", source="staff")
    handle(demo, second_one, "qlcn")
    waiting = record(demo, "chuyenvien")
    leader = demo.browser("giamdoc")
    page = leader.get("/iso/complaints").get_data(as_text=True)
    assert "Đã trả lời: 2" in page and "đúng hạn: 2 (100%)" in page and "hài lòng: 1/2 người liên hệ được" in page
    assert [r["Mã"][-4:] for r in export(leader, "&status=closed")] == ["0002", "0001"]
    assert [r["Người gửi"] for r in export(leader, "&source=staff")] == ["Cán bộ, công chức"]
    assert len(export(leader, "&kind=praise")) == 1 and len(export(leader, "&timeliness=pending")) == 1
    assert export(leader, "&timeliness=overdue") == []
    with demo.app.app_context():
        assert sa_session().scalars(select(Complaint.instance_id).where(Complaint.status == "received")).all() == [
            waiting]
    assert "Không hài lòng" in leader.get("/iso/complaints?status=closed").get_data(as_text=True)
    assert leader.get("/iso/complaints?timeliness=soon").status_code == 400
    xlsx = leader.get("/iso/complaints?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")


def test_a_second_unit_keeps_its_own_complaints_apart(demo: Office, second: Office) -> None:  # noqa: F811
    ours = record(demo, "thuky")
    handle(demo, ours)
    theirs = record(second, "thuky_bmt")
    handle(second, theirs)
    their_browser, our_browser = second.browser("thuky_bmt"), demo.browser("thuky")
    assert [r["Quy trình"] for r in export(their_browser)] == [str(theirs)]
    assert [r["Quy trình"] for r in export(our_browser)] == [str(ours)]
    with demo.app.app_context():
        their_id = sa_session().scalar(select(Complaint.id).where(Complaint.instance_id == theirs))
    assert our_browser.get(f"/iso/complaints/{their_id}").status_code == 404
    assert their_browser.get(f"/iso/complaints/{their_id}").status_code == 200
    assert "Đã trả lời: 1" in our_browser.get("/iso/complaints").get_data(as_text=True)
    started = our_browser.post("/processes/complaint_handling/start",
                               data={"unit_id": second.unit_id, **complaint_record()})
    assert started.status_code == 403  # nobody records a complaint in a unit not theirs
    assert [r["Quy trình"] for r in export(their_browser)] == [str(theirs)]
