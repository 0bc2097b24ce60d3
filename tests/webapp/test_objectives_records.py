"""Records people can trust, on the shipped quality-objectives process: a second review starts without the
first review's decision, a completed task shows what was approved, the history reads as the form does,
the author hears of her draft and gets it back, and the public page keeps every year's objectives."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine import Notice, TaskRow, Unit, User
from tests.conftest import make_user
from tests.webapp.conftest import basic, login
from webapp.extensions import db

DRAFT_POST = {
    "year": "2027",
    "title": "Mục tiêu chất lượng năm 2027",
    "objectives[0].objective": "100% hồ sơ giải quyết đúng hạn",
    "objectives[0].target": "Tỷ lệ đúng hạn ≥ 100%",
    "objectives[0].department": "qlkh",
    "objectives[0].deadline": "2027-12-31",
    "plan": "",
}
REVIEW = "Xem xét, phê duyệt mục tiêu"
DRAFT = "Soạn thảo mục tiêu chất lượng"
RECORD = "Ghi nhận và phổ biến mục tiêu"


def _task_link(html: str, name: str) -> str:
    match = re.search(r'href="(/tasks/[^"]+)">' + re.escape(name), html)
    assert match, f"no link to task {name!r} in the page"
    return match.group(1)


def _logout(client: FlaskClient) -> None:
    client.post("/logout")


def _start(client: FlaskClient, app: Flask) -> str:
    with app.app_context():
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "skhcn-daklak"))
    response = client.post("/processes/quality_objectives/start", data={"unit_id": str(unit_id)})
    assert response.status_code == 302
    return response.headers["Location"]


def _as(client: FlaskClient, username: str) -> FlaskClient:
    _logout(client)
    return login(client, username)


def _draft_and_return(client: FlaskClient, app: Flask, reason: str = "Bổ sung chỉ tiêu đo lường.") -> str:
    """Secretary drafts, leader returns; the instance page's address."""
    login(client, "thuky")
    draft_url = _start(client, app)
    assert client.post(draft_url, data=DRAFT_POST).status_code == 302
    _as(client, "giamdoc")
    review_url = _task_link(client.get("/").get_data(as_text=True), REVIEW)
    returned = client.post(review_url, data={"decision": "return", "returnReason": reason})
    assert returned.status_code == 302
    return returned.headers["Location"]


def _notices(app: Flask, username: str) -> list[str]:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        return list(db.session.scalars(select(Notice.title).where(Notice.user_id == user.id).order_by(Notice.id)))


def test_second_review_starts_without_the_first_decision(client: FlaskClient, app: Flask) -> None:
    _draft_and_return(client, app, "Bổ sung chỉ tiêu đo lường.")
    _as(client, "thuky")
    redraft_url = _task_link(client.get("/").get_data(as_text=True), DRAFT)
    redraft = client.get(redraft_url).get_data(as_text=True)
    # the returned draft still opens with the draft to edit and the leader's reason
    assert "100% hồ sơ giải quyết đúng hạn" in redraft and "Bổ sung chỉ tiêu đo lường." in redraft
    assert client.post(redraft_url, data=DRAFT_POST).status_code == 302

    for leader in ("giamdoc", "phogiamdoc"):  # the one who returned it, and another leader looking on
        _as(client, leader)
        review_url = _task_link(client.get("/").get_data(as_text=True), REVIEW)
        page = client.get(review_url).get_data(as_text=True)
        assert "100% hồ sơ giải quyết đúng hạn" in page  # the new draft is shown
        assert not re.search(r'<input[^>]*value="return"[^>]*checked', page), "a stale decision is pre-filled"
        assert not re.search(r'<input[^>]*checked[^>]*value="return"', page)
        assert "Bổ sung chỉ tiêu đo lường." not in page, "the first round's reason is pre-filled"

    # one click without choosing is refused, it does not return the draft again
    _as(client, "giamdoc")
    review_url = _task_link(client.get("/").get_data(as_text=True), REVIEW)
    refused = client.post(review_url, data={})
    assert refused.status_code == 422 and "Trường này là bắt buộc" in refused.get_data(as_text=True)
    task_id = review_url.rsplit("/", 1)[1]
    api = client.post(f"/api/v1/tasks/{task_id}/complete", json={"variables": {}}, headers=basic("giamdoc"))
    assert api.status_code == 422, api.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(TaskRow, task_id).state == "open"  # nothing changed


def test_completed_approval_shows_what_was_approved(client: FlaskClient, app: Flask) -> None:
    login(client, "thuky")
    draft_url = _start(client, app)
    assert client.post(draft_url, data=DRAFT_POST).status_code == 302
    _as(client, "giamdoc")
    review_url = _task_link(client.get("/").get_data(as_text=True), REVIEW)
    assert client.post(review_url, data={"decision": "approve"}).status_code == 302
    _as(client, "thuky")
    record_url = _task_link(client.get("/").get_data(as_text=True), RECORD)
    assert client.post(record_url, data={"decisionNumber": "12/QĐ-SKHCN", "effectiveDate": "2027-01-02",
                                         "disseminationNote": ""}).status_code == 302  # fmt: skip

    for url in (review_url, record_url):
        page = client.get(url).get_data(as_text=True)
        assert "Mục tiêu chất lượng năm 2027" in page and "năm 2027" in page, "the heading lost its title/year"
        assert "100% hồ sơ giải quyết đúng hạn" in page, "the approved objectives are missing"
        assert "Phòng Quản lý Khoa học" in page and "31/12/2027" in page  # names and dates as the form shows
        assert ">qlkh<" not in page and "2027-12-31" not in page
    review = client.get(review_url).get_data(as_text=True)
    assert "Phê duyệt" in review and 'name="decision"' not in review or "disabled" in review


def test_history_reads_as_the_form(client: FlaskClient, app: Flask) -> None:
    instance_url = _draft_and_return(client, app, "Thiếu chỉ tiêu “đúng hạn”.")
    page = client.get(instance_url).get_data(as_text=True)
    assert "\\u" not in page and "&#34;" not in page  # no raw JSON
    assert re.search(r"<dt>Quyết định</dt><dd>Trả lại để chỉnh sửa</dd>", page)
    assert re.search(r"<dt>Lý do trả lại</dt><dd>Thiếu chỉ tiêu “đúng hạn”.</dd>", page)
    assert re.search(r"<dt>Phòng chịu trách nhiệm</dt><dd>Phòng Quản lý Khoa học</dd>", page)
    assert re.search(r"<dt>Thời hạn hoàn thành</dt><dd>31/12/2027</dd>", page)
    assert re.search(r"<dt>Năm áp dụng</dt><dd>2027</dd>", page)


def test_author_is_told_and_gets_her_draft_back(client: FlaskClient, app: Flask) -> None:
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "skhcn-daklak"))
        make_user(db.session, "thuky2", unit, ("iso_secretary",), "vp", "Đinh Thị Thư")
    _draft_and_return(client, app, "Bổ sung chỉ tiêu đo lường.")
    assert any("bị trả lại" in t for t in _notices(app, "thuky"))
    assert not any("bị trả lại" in t for t in _notices(app, "thuky2"))

    _as(client, "thuky2")  # the other secretary of the unit neither holds nor may take the returned draft
    inbox = client.get("/").get_data(as_text=True)
    assert DRAFT not in inbox
    _as(client, "thuky")
    inbox = client.get("/").get_data(as_text=True)
    redraft_url = _task_link(inbox, DRAFT)
    with app.app_context():
        row = db.session.get(TaskRow, redraft_url.rsplit("/", 1)[1])
        assert row.assignee is not None and row.assignee.username == "thuky"
    assert client.post(redraft_url, data=DRAFT_POST).status_code == 302
    _as(client, "giamdoc")
    review_url = _task_link(client.get("/").get_data(as_text=True), REVIEW)
    assert client.post(review_url, data={"decision": "approve"}).status_code == 302
    titles = _notices(app, "thuky")
    assert any("đã được phê duyệt" in t for t in titles)
    assert not any("đã được phê duyệt" in t for t in _notices(app, "thuky2"))
    _as(client, "thuky")
    assert "Dự thảo mục tiêu chất lượng đã được phê duyệt" in client.get("/notices").get_data(as_text=True)
    assert RECORD in client.get("/").get_data(as_text=True)  # the recording step is hers too


def _publish(client: FlaskClient, app: Flask, year: int, objective: str) -> None:
    login(client, "thuky")
    draft_url = _start(client, app)
    post: dict[str, Any] = {**DRAFT_POST, "year": str(year), "title": f"Mục tiêu chất lượng năm {year}",
                            "objectives[0].objective": objective,
                            "objectives[0].deadline": f"{year}-12-31"}  # fmt: skip
    assert client.post(draft_url, data=post).status_code == 302
    _as(client, "giamdoc")
    review_url = _task_link(client.get("/").get_data(as_text=True), REVIEW)
    assert client.post(review_url, data={"decision": "approve"}).status_code == 302
    _as(client, "thuky")
    record_url = _task_link(client.get("/").get_data(as_text=True), RECORD)
    assert client.post(record_url, data={"decisionNumber": f"{year % 100}/QĐ-SKHCN", "effectiveDate": f"{year}-01-02",
                                         "disseminationNote": ""}).status_code == 302  # fmt: skip
    _logout(client)


def test_public_page_keeps_every_year(client: FlaskClient, app: Flask) -> None:
    _publish(client, app, 2026, "Mục tiêu của năm nay")  # the test clock is in November 2026
    _publish(client, app, 2025, "Mục tiêu của năm ngoái")
    _publish(client, app, 2027, "Mục tiêu của năm sau")
    _publish(client, app, 2026, "Mục tiêu năm nay, bản sửa")  # a new set of one year replaces that year's only

    page = client.get("/units/skhcn-daklak/objectives").get_data(as_text=True)
    current = page.split('id="objectives"', 1)[1].split("</table>", 1)[0]
    assert "Mục tiêu năm nay, bản sửa" in current  # this year's first
    assert "Mục tiêu của năm nay" not in page  # superseded within its year
    assert "Mục tiêu của năm ngoái" in page and "Mục tiêu của năm sau" in page
    assert page.index('id="objectives"') < page.index('id="other-years"')
