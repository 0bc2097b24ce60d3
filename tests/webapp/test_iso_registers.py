"""The quality-policy process and register, the yearly follow-up of the objectives and the objectives register,
and the unit's ISO home page: driven over HTTP by the people of the unit, through every return loop, in the
demo unit and in a second unit, with the people of another unit refused."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from engine import Notice, ProcessInstance, QualityPolicy, Unit, User
from engine.iso.objectives import ObjectiveProgress
from tests.conftest import make_unit, make_user
from tests.webapp.conftest import login
from webapp.extensions import db


@dataclass(frozen=True)
class Cast:
    """A unit and who plays each part in it."""

    code: str
    secretary: str
    leader: str
    heads: dict[str, str]  # department code -> its head
    department_names: dict[str, str]


DEMO = Cast("skhcn-daklak", "thuky", "giamdoc", {"qlkh": "truongphong2", "vp": "truongphong"},
            {"qlkh": "Phòng Quản lý Khoa học", "vp": "Văn phòng Sở"})  # fmt: skip


@pytest.fixture
def second(app: Flask) -> Cast:
    """A second unit with its own people (same department codes as the demo unit)."""
    with app.app_context():
        departments = (("vp", "Văn phòng UBND"), ("qlkh", "Phòng Kinh tế"))
        unit = make_unit(db.session, "ubnd-eakar", "UBND xã Ea Kar", departments)
        make_user(db.session, "tk_eakar", unit, ("iso_secretary",), "vp", "Thư ký Ea Kar")
        make_user(db.session, "ct_eakar", unit, ("unit_leader",), None, "Chủ tịch Ea Kar")
        make_user(db.session, "vp_eakar", unit, ("department_head",), "vp", "Chánh VP Ea Kar")
        make_user(db.session, "kt_eakar", unit, ("department_head",), "qlkh", "Trưởng phòng KT Ea Kar")
        make_user(db.session, "cv_eakar", unit, ("specialist",), "vp", "Chuyên viên Ea Kar")
    return Cast("ubnd-eakar", "tk_eakar", "ct_eakar", {"qlkh": "kt_eakar", "vp": "vp_eakar"},
                {"qlkh": "Phòng Kinh tế", "vp": "Văn phòng UBND"})  # fmt: skip


def _as(client: FlaskClient, username: str) -> FlaskClient:
    client.post("/logout")
    return login(client, username)


def _unit_id(app: Flask, code: str) -> int:
    with app.app_context():
        return int(db.session.scalar(select(Unit.id).where(Unit.code == code)))


def _task_link(html: str, name: str) -> str:
    match = re.search(r'href="(/tasks/[^"]+)">' + re.escape(name), html)
    assert match, f"no link to task {name!r} in the page"
    return match.group(1)


def _notices(app: Flask, username: str) -> list[str]:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        return list(db.session.scalars(select(Notice.title).where(Notice.user_id == user.id)))


def _policy(client: FlaskClient, app: Flask, cast: Cast, text: str, number: str, date: str,
            return_first: bool = True) -> None:  # fmt: skip
    _as(client, cast.secretary)
    started = client.post("/processes/quality_policy/start", data={"unit_id": _unit_id(app, cast.code)})
    assert started.status_code == 302
    draft_url = started.headers["Location"]
    assert client.post(draft_url, data={"policyText": "Ngắn"}).status_code == 422  # too short: refused, kept
    assert client.post(draft_url, data={"policyText": text, "changeNote": ""}).status_code == 302
    if return_first:
        _as(client, cast.leader)
        review = _task_link(client.get("/").get_data(as_text=True), "Xem xét, phê duyệt chính sách")
        assert text in client.get(review).get_data(as_text=True)
        returned = client.post(review, data={"decision": "return", "returnReason": "Nêu rõ cam kết đúng hẹn."})
        assert returned.status_code == 302
        assert any("chính sách chất lượng bị trả lại" in t for t in _notices(app, cast.secretary))
        _as(client, cast.secretary)
        redraft = _task_link(client.get("/").get_data(as_text=True), "Soạn thảo chính sách chất lượng")
        page = client.get(redraft).get_data(as_text=True)
        assert "Nêu rõ cam kết đúng hẹn." in page and text in page
        revised = {"policyText": text + " Cam kết đúng hẹn.", "changeNote": ""}
        assert client.post(redraft, data=revised).status_code == 302
        text += " Cam kết đúng hẹn."
    _as(client, cast.leader)
    review = _task_link(client.get("/").get_data(as_text=True), "Xem xét, phê duyệt chính sách")
    assert 'value="return" checked' not in client.get(review).get_data(as_text=True)
    assert client.post(review, data={"decision": "approve"}).status_code == 302
    assert any("chính sách chất lượng đã được phê duyệt" in t for t in _notices(app, cast.secretary))
    _as(client, cast.secretary)
    record = _task_link(client.get("/").get_data(as_text=True), "Ghi nhận quyết định ban hành")
    assert client.post(record, data={"decisionNumber": "sai", "effectiveDate": date}).status_code == 422
    assert client.post(record, data={"decisionNumber": number, "effectiveDate": date}).status_code == 302


@pytest.mark.parametrize("which", ["demo", "second"])
def test_policy_issue_and_revision(client: FlaskClient, app: Flask, second: Cast, which: str) -> None:
    cast = DEMO if which == "demo" else second
    portal = client.get(f"/units/{cast.code}/objectives").get_data(as_text=True)
    if cast is DEMO:  # before any issue through eISO, the text kept on the unit shows
        assert "Sở Khoa học và Công nghệ tỉnh Đắk Lắk cam kết" in portal
    else:
        assert 'id="quality-policy"' not in portal

    _policy(client, app, cast, "Đơn vị cam kết phục vụ người dân công khai, minh bạch.", "15/QĐ-UBND", "2026-11-30")
    portal = client.get(f"/units/{cast.code}/objectives").get_data(as_text=True)
    assert "Đơn vị cam kết phục vụ người dân công khai, minh bạch. Cam kết đúng hẹn." in portal
    assert "Sở Khoa học và Công nghệ tỉnh Đắk Lắk cam kết" not in portal and "15/QĐ-UBND" in portal

    _policy(client, app, cast, "Chính sách sửa đổi: lấy sự hài lòng của người dân làm thước đo.", "02/QĐ-UBND",
            "2027-01-05", return_first=False)  # fmt: skip
    portal = client.get(f"/units/{cast.code}/objectives").get_data(as_text=True)
    assert "Chính sách sửa đổi" in portal and "Cam kết đúng hẹn." not in portal
    with app.app_context():
        rows = db.session.scalars(select(QualityPolicy).join(Unit).where(Unit.code == cast.code)
                                  .order_by(QualityPolicy.issue)).all()  # fmt: skip
        assert [(p.issue, p.status, p.decision_number) for p in rows] == [
            (1, "superseded", "15/QĐ-UBND"), (2, "current", "02/QĐ-UBND")]
        instance_ids = [p.instance_id for p in rows]

    page = client.get("/iso/policies").get_data(as_text=True)  # the secretary's register page
    assert "Chính sách sửa đổi" in page and "Đã bị thay thế" in page and "Đang áp dụng" in page
    for instance_id in instance_ids:
        assert f'href="/instances/{instance_id}"' in page
    current_only = client.get("/iso/policies?status=current").get_data(as_text=True)
    assert "Chính sách sửa đổi" in current_only and "15/QĐ-UBND" not in current_only
    of_2026 = client.get("/iso/policies?year=2026").get_data(as_text=True)
    assert "15/QĐ-UBND" in of_2026 and "02/QĐ-UBND" not in of_2026
    exported = client.get("/iso/policies?format=csv")
    assert exported.status_code == 200
    table = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert table[0][:3] == ["Đơn vị", "Lần ban hành", "Chính sách chất lượng"]
    assert {row[4] for row in table[1:]} == {"15/QĐ-UBND", "02/QĐ-UBND"} and "30/11/2026" in table[1] + table[2]
    workbook = load_workbook(io.BytesIO(client.get("/iso/policies?format=xlsx").data))
    assert workbook.active.max_row == 3
    assert client.get("/iso/policies?year=hai").status_code == 400
    assert client.get("/iso/policies?format=pdf").status_code == 400

    other = "thuky_ngoai"  # a person of another unit reads nothing of it
    with app.app_context():
        elsewhere = make_unit(db.session, "xa-khac", "Xã khác")
        make_user(db.session, other, elsewhere, ("iso_secretary", "unit_leader", "internal_auditor", "admin"))
    _as(client, other)
    assert client.get(f"/iso/policies?unit={_unit_id(app, cast.code)}").status_code == 404
    assert "Chính sách sửa đổi" not in client.get("/iso/policies").get_data(as_text=True)
    assert "Chính sách sửa đổi" not in client.get("/iso/policies?format=csv").get_data(as_text=True)
    assert client.get(f"/instances/{instance_ids[0]}").status_code == 404


def _objectives(client: FlaskClient, app: Flask, cast: Cast, year: int) -> None:
    """Publish the unit's objectives of a year: one for each of two departments."""
    _as(client, cast.secretary)
    draft = client.post("/processes/quality_objectives/start", data={"unit_id": _unit_id(app, cast.code)})
    post = {"year": str(year), "title": f"Mục tiêu chất lượng năm {year}", "_rows:objectives": "2", "plan": "",
            "objectives[0].objective": "Giải quyết hồ sơ đúng hạn", "objectives[0].target": "≥ 98% hồ sơ đúng hạn",
            "objectives[0].department": "qlkh", "objectives[0].deadline": f"{year}-12-31",
            "objectives[1].objective": "Không có khiếu nại", "objectives[1].target": "0 khiếu nại",
            "objectives[1].department": "vp", "objectives[1].deadline": f"{year}-12-31"}  # fmt: skip
    assert client.post(draft.headers["Location"], data=post).status_code == 302
    _as(client, cast.leader)
    review = _task_link(client.get("/").get_data(as_text=True), "Xem xét, phê duyệt mục tiêu")
    assert client.post(review, data={"decision": "approve"}).status_code == 302
    _as(client, cast.secretary)
    record = _task_link(client.get("/").get_data(as_text=True), "Ghi nhận và phổ biến mục tiêu")
    assert client.post(record, data={"decisionNumber": "01/QĐ-UBND", "effectiveDate": f"{year}-01-02",
                                     "disseminationNote": ""}).status_code == 302  # fmt: skip


REPORT = "Báo cáo kết quả thực hiện mục tiêu của phòng"
CONSOLIDATE = "Tổng hợp kết quả thực hiện mục tiêu"
EVALUATE = "Đánh giá kết quả thực hiện mục tiêu"


@pytest.mark.parametrize("which", ["demo", "second"])
def test_yearly_follow_up_records_progress(client: FlaskClient, app: Flask, second: Cast, which: str) -> None:
    cast = DEMO if which == "demo" else second
    _objectives(client, app, cast, 2026)
    _as(client, cast.secretary)
    unit_id = _unit_id(app, cast.code)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(ProcessInstance))
    nothing = client.post("/processes/quality_objectives_followup/start", data={"unit_id": unit_id, "year": "2031"})
    assert nothing.status_code in (400, 409, 422) and "2031" in nothing.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == before  # nothing started
    started = client.post("/processes/quality_objectives_followup/start", data={"unit_id": unit_id, "year": "2026"})
    assert started.status_code == 302
    instance_url = started.headers["Location"]

    results = {"qlkh": ("achieved", "99,2% hồ sơ đúng hạn"), "vp": ("at_risk", "Có 1 khiếu nại đang xử lý")}
    for department, head in cast.heads.items():
        _as(client, head)
        inbox = client.get("/").get_data(as_text=True)
        assert inbox.count(REPORT) == 1  # only his own department's report
        report = _task_link(inbox, REPORT)
        page = client.get(report).get_data(as_text=True)
        assert cast.department_names[department] in page
        mine = "Giải quyết hồ sơ đúng hạn" if department == "qlkh" else "Không có khiếu nại"
        assert mine in page
        status, result = results[department]
        refused = client.post(report, data={"_rows:progress": "1", "progress[0].status": "", "progress[0].result": ""})
        assert refused.status_code == 422
        done = client.post(report, data={"_rows:progress": "1", "progress[0].status": status,
                                         "progress[0].result": result, "note": f"Ý kiến của {department}"})  # fmt: skip
        assert done.status_code == 302, done.get_data(as_text=True)[:2000]

    _as(client, cast.secretary)
    consolidate = _task_link(client.get("/").get_data(as_text=True), CONSOLIDATE)
    page = client.get(consolidate).get_data(as_text=True)
    assert "99,2% hồ sơ đúng hạn" in page and "Có nguy cơ không đạt" in page and cast.department_names["vp"] in page
    assert client.post(consolidate, data={"summary": "Đạt 1/2 mục tiêu, 1 mục tiêu có nguy cơ."}).status_code == 302

    _as(client, cast.leader)
    evaluate = _task_link(client.get("/").get_data(as_text=True), EVALUATE)
    assert client.post(evaluate, data={"decision": "accept", "evaluation": ""}).status_code == 422
    returned = client.post(evaluate, data={"decision": "return", "returnReason": "Nêu biện pháp khắc phục."})
    assert returned.status_code == 302
    assert any("bị trả lại" in t for t in _notices(app, cast.secretary))
    _as(client, cast.secretary)
    consolidate = _task_link(client.get("/").get_data(as_text=True), CONSOLIDATE)
    assert "Nêu biện pháp khắc phục." in client.get(consolidate).get_data(as_text=True)
    assert client.post(consolidate, data={"summary": "Đạt 1/2; khắc phục khiếu nại trong quý I."}).status_code == 302
    _as(client, cast.leader)
    evaluate = _task_link(client.get("/").get_data(as_text=True), EVALUATE)
    page = client.get(evaluate).get_data(as_text=True)
    assert "Nêu biện pháp khắc phục." not in page and 'value="return" checked' not in page
    accepted = {"decision": "accept", "evaluation": "Chấp nhận, theo dõi khiếu nại."}
    assert client.post(evaluate, data=accepted).status_code == 302
    assert any("đã được lãnh đạo chấp nhận" in t for t in _notices(app, cast.secretary))
    assert "Đã hoàn thành" in client.get(instance_url).get_data(as_text=True)

    with app.app_context():
        progress = db.session.scalars(select(ObjectiveProgress).where(ObjectiveProgress.unit_id == unit_id)).all()
        assert sorted((p.status, p.result) for p in progress) == sorted(results.values())
        assert {p.evaluation for p in progress} == {"Chấp nhận, theo dõi khiếu nại."}

    _as(client, cast.secretary)
    register = client.get(f"/iso/objectives?unit={unit_id}&year=2026").get_data(as_text=True)
    assert "Đã đạt" in register and "Có nguy cơ" in register and "99,2% hồ sơ đúng hạn" in register
    assert "≥ 98% hồ sơ đúng hạn" in register and cast.department_names["qlkh"] in register
    assert "Chưa đánh giá" not in register
    other_year = client.get(f"/iso/objectives?unit={unit_id}&year=2025").get_data(as_text=True)
    assert "Giải quyết hồ sơ đúng hạn" not in other_year
    exported = client.get(f"/iso/objectives?unit={unit_id}&format=csv").get_data(as_text=True)
    assert "99,2% hồ sơ đúng hạn" in exported and "31/12/2026" in exported

    home = client.get(f"/iso?unit={unit_id}").get_data(as_text=True)
    calendar = home.split('id="iso-calendar"', 1)[1].split("</section>", 1)[0]
    followup = calendar.split('id="calendar-quality_objectives_followup"', 1)[1].split("</tr>", 1)[0]
    assert "Đã thực hiện" in followup  # done this year
    policy_line = calendar.split('id="calendar-quality_policy"', 1)[1].split("</tr>", 1)[0]
    assert "Khi cần" in policy_line
    for register_link in ("/iso/policies", "/iso/objectives"):
        assert f'href="{register_link}?unit={unit_id}"' in home
    assert "Mục tiêu chất lượng năm 2026" in home


def test_iso_home_shows_due_processes_and_open_tasks_by_role(client: FlaskClient, app: Flask) -> None:
    login(client, "thuky")
    started = client.post("/processes/quality_objectives/start", data={"unit_id": _unit_id(app, DEMO.code)})
    assert started.status_code == 302
    home = client.get("/iso").get_data(as_text=True)
    objectives = home.split('id="calendar-quality_objectives"', 1)[1].split("</tr>", 1)[0]
    assert "Đến hạn: chưa thực hiện trong năm" in objectives and "<td>1</td>" in objectives
    tasks = home.split('id="iso-tasks"', 1)[1].split("</section>", 1)[0]
    assert "Soạn thảo mục tiêu chất lượng" in tasks
    _as(client, "danhgiavien")  # the internal auditor sees the unit's whole picture
    assert "Soạn thảo mục tiêu chất lượng" in client.get("/iso").get_data(as_text=True).split('id="iso-tasks"')[1]
    _as(client, "chuyenvien")  # a specialist sees the home page, not the secretary's task
    page = client.get("/iso").get_data(as_text=True)
    assert "Soạn thảo mục tiêu chất lượng" not in page.split('id="iso-tasks"')[1]
    with app.app_context():
        elsewhere = make_unit(db.session, "xa-khac", "Xã khác")
        make_user(db.session, "ngoai", elsewhere, ("iso_secretary", "unit_leader", "admin"))
        make_user(db.session, "khong_don_vi", None)
    _as(client, "ngoai")
    assert client.get(f"/iso?unit={_unit_id(app, DEMO.code)}").status_code == 404
    own = client.get("/iso").get_data(as_text=True)
    assert "Xã khác" in own and "Sở Khoa học và Công nghệ" not in own and "Soạn thảo mục tiêu" not in own
    _as(client, "khong_don_vi")
    assert "không giữ vai trò" in client.get("/iso").get_data(as_text=True)
    assert client.get("/iso").status_code == 200
    client.post("/logout")
    assert client.get("/iso").status_code == 302  # a login is needed
