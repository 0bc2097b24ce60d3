"""The quality-objectives flow in the browser's shoes: pages, form posts, refusals, portal, language."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.webapp.conftest import login

DRAFT_POST = {
    "year": "2027",
    "title": "Mục tiêu chất lượng năm 2027",
    "objectives[0].objective": "100% hồ sơ giải quyết đúng hạn",
    "objectives[0].target": "Tỷ lệ đúng hạn ≥ 100%",
    "objectives[0].department": "qlkh",
    "objectives[0].deadline": "2027-12-31",
    "plan": "",
}


def _task_link(html: str, name: str) -> str:
    match = re.search(r'href="(/tasks/[^"]+)">' + re.escape(name), html)
    assert match, f"no link to task {name!r} in the page"
    return match.group(1)


def _start(client: FlaskClient) -> str:
    catalogue = client.get("/processes").get_data(as_text=True)
    assert "Phê duyệt mục tiêu chất lượng" in catalogue
    unit_id = re.search(r'name="unit_id" value="(\d+)"', catalogue).group(1)  # type: ignore[union-attr]
    response = client.post("/processes/quality_objectives/start", data={"unit_id": unit_id})
    assert response.status_code == 302
    return response.headers["Location"]


def _logout(client: FlaskClient) -> None:
    client.post("/logout")


def test_pages_need_a_login(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    wrong = client.post("/login", data={"username": "thuky", "password": "wrong"})
    assert wrong.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in wrong.get_data(as_text=True)


def test_whole_objectives_flow_with_a_return(client: FlaskClient) -> None:
    login(client, "thuky")
    draft_url = _start(client)
    assert draft_url.startswith("/tasks/")  # the secretary lands straight on her task
    page = client.get(draft_url).get_data(as_text=True)
    assert "Soạn thảo mục tiêu chất lượng" in page and 'name="objectives[0].objective"' in page

    invalid = client.post(draft_url, data={**DRAFT_POST, "title": "", "year": "1999"})
    assert invalid.status_code == 422
    body = invalid.get_data(as_text=True)
    assert "100% hồ sơ giải quyết đúng hạn" in body  # what was typed is still there
    assert 'aria-invalid="true"' in body and "Trường này là bắt buộc" in body

    done = client.post(draft_url, data=DRAFT_POST)
    assert done.status_code == 302
    _logout(client)

    login(client, "giamdoc")
    review_url = _task_link(client.get("/").get_data(as_text=True), "Xem xét, phê duyệt mục tiêu")
    review_page = client.get(review_url).get_data(as_text=True)
    assert "100% hồ sơ giải quyết đúng hạn" in review_page  # the draft is shown to the leader
    no_reason = client.post(review_url, data={"decision": "return", "returnReason": ""})
    assert no_reason.status_code == 422
    returned = client.post(review_url, data={"decision": "return", "returnReason": "Bổ sung chỉ tiêu đo lường."})
    assert returned.status_code == 302
    _logout(client)

    login(client, "thuky")
    redraft_url = _task_link(client.get("/").get_data(as_text=True), "Soạn thảo mục tiêu chất lượng")
    redraft = client.get(redraft_url).get_data(as_text=True)
    assert "Bổ sung chỉ tiêu đo lường." in redraft and "100% hồ sơ giải quyết đúng hạn" in redraft
    assert client.post(redraft_url, data={**DRAFT_POST, "objectives[0].target": "≥ 98% theo quý"}).status_code == 302
    _logout(client)

    login(client, "giamdoc")
    review_url = _task_link(client.get("/").get_data(as_text=True), "Xem xét, phê duyệt mục tiêu")
    assert client.post(review_url, data={"decision": "approve"}).status_code == 302
    _logout(client)

    login(client, "thuky")
    record_url = _task_link(client.get("/").get_data(as_text=True), "Ghi nhận và phổ biến mục tiêu")
    finished = client.post(record_url, data={"decisionNumber": "12/QĐ-SKHCN", "effectiveDate": "2027-01-02",
                                             "disseminationNote": ""})  # fmt: skip
    assert finished.status_code == 302
    draft_view = client.get(draft_url).get_data(as_text=True)  # a completed task shows what was submitted
    assert "100% hồ sơ giải quyết đúng hạn" in draft_view and 'name="title"' not in draft_view
    instance_page = client.get(finished.headers["Location"]).get_data(as_text=True)
    assert "Đã hoàn thành" in instance_page
    for who in ("Lê Thị Mai Anh", "Nguyễn Văn Thành"):
        assert who in instance_page  # the history names who did each step
    _logout(client)

    portal = client.get("/units/skhcn-daklak/objectives").get_data(as_text=True)  # public, no login
    assert "≥ 98% theo quý" in portal and "Phòng Quản lý Khoa học" in portal and "12/QĐ-SKHCN" in portal

    login(client, "truongphong2")  # head of the responsible department gets a notice
    assert "Mục tiêu chất lượng được giao cho phòng" in client.get("/notices").get_data(as_text=True)


def test_wrong_people_are_refused(client: FlaskClient) -> None:
    login(client, "thuky")
    draft_url = _start(client)
    _logout(client)
    login(client, "giamdoc")
    assert client.post(draft_url, data=DRAFT_POST).status_code == 403
    assert client.post(draft_url + "/claim").status_code == 403
    assert client.post("/processes/quality_objectives/start", data={"unit_id": "1"}).status_code == 403
    _logout(client)
    login(client, "chuyenvien")  # a specialist with no part in the process: to them it does not exist
    assert "Soạn thảo" not in client.get("/").get_data(as_text=True)
    assert client.post(draft_url, data=DRAFT_POST).status_code == 404


def test_completed_task_answers_409(client: FlaskClient) -> None:
    login(client, "thuky")
    draft_url = _start(client)
    assert client.post(draft_url, data=DRAFT_POST).status_code == 302
    again = client.post(draft_url, data=DRAFT_POST)
    assert again.status_code == 409
    assert "đã được hoàn thành" in again.get_data(as_text=True) or "already completed" in again.get_data(as_text=True)


def test_missing_things_answer_404(client: FlaskClient) -> None:
    login(client, "thuky")
    assert client.get("/tasks/unknown").status_code == 404
    assert client.get("/instances/12345").status_code == 404
    assert client.get("/units/nowhere/objectives").status_code == 404


def test_language_switch_to_english(client: FlaskClient) -> None:
    login(client, "thuky")
    assert "Hộp công việc" in client.get("/").get_data(as_text=True)
    client.post("/language/en", data={"next": "/"})
    assert "Inbox" in client.get("/").get_data(as_text=True)


def test_working_days_left_count_the_offices_own_day(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two whole office days (7.5 working hours each) are two days left, not one."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from sqlalchemy import select

    import webapp.views
    from engine import Unit
    from webapp.extensions import sa_session

    monday_opening = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # 07:30 in Hà Nội (24 November is a holiday)
    monkeypatch.setattr(webapp.views, "now", lambda: monday_opening)
    with app.test_request_context("/"):
        unit_id = sa_session().scalars(select(Unit.id)).first()
        task = SimpleNamespace(due_at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC), state="open", unit_id=unit_id)
        assert webapp.views.time_left(task)["text"] == "Còn 2 ngày làm việc"  # type: ignore[arg-type,index]
        task.due_at = datetime(2026, 11, 30, 4, 30, tzinfo=UTC)  # 11:30 the same morning: 4 working hours
        assert webapp.views.time_left(task)["text"] == "Còn 4 giờ làm việc"  # type: ignore[arg-type,index]


def test_every_page_names_its_icon_and_the_icon_is_served(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    found = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)"', page)
    assert found
    icon = client.get(found.group(1))
    assert icon.status_code == 200 and icon.get_data(as_text=True).startswith("<svg")


def test_a_conflict_on_completing_keeps_what_was_typed_and_says_what_to_do(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine import Conflict, Engine

    login(client, "thuky")
    task_url = _start(client)

    def changed_meanwhile(*args: object, **kwargs: object) -> None:
        raise Conflict("Someone else changed this process at the same moment; reload the page and try again.")

    monkeypatch.setattr(Engine, "complete", changed_meanwhile)
    answer = client.post(task_url, data={"year": "2027", "title": "Mục tiêu chất lượng năm 2027"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 409
    assert 'value="Mục tiêu chất lượng năm 2027"' in page  # what was typed is still there
    assert "cùng lúc" in page  # and the page says why, in Vietnamese
