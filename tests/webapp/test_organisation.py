"""The organisation pages and API as administrators use them: what a unit's administrator may and may not do,
a leaver switched off, the report of a refused sheet, the errors of wrong fields in both languages, and the
audit log. Every refusal leaves the organisation as it was."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.webapp.conftest import basic, login

OTHER_UNIT = {"name": "Ủy ban nhân dân xã Ea Kao", "code": "ubnd-ea-kao", "province": "dak-lak"}


def read(client: FlaskClient, path: str, user: str = "admin") -> Any:
    response = client.get(f"/api/v1{path}", headers=basic(user))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def organisation(client: FlaskClient) -> dict[str, Any]:
    """Everything of the organisation a system administrator reads: to compare before and after a refusal."""
    units = read(client, "/units")
    return {"units": units, "audit": read(client, "/audit"),
            **{f"{u['code']}": (read(client, f"/units/{u['id']}/departments"), read(client, f"/units/{u['id']}/people"))
               for u in units}}  # fmt: skip


@pytest.fixture
def setup(client: FlaskClient) -> dict[str, Any]:
    """The demo unit gets an administrator of its own (``quantri``) and a second unit exists, with its own."""
    demo = read(client, "/units")[0]
    quantri = client.post(f"/api/v1/units/{demo['id']}/people", headers=basic("admin"), json={
        "username": "quantri", "full_name": "Quản trị Sở", "roles": ["admin"], "password": "demo-demo"})
    assert quantri.status_code == 201, quantri.json
    other = client.post("/api/v1/units", headers=basic("admin"), json=OTHER_UNIT)
    assert other.status_code == 201, other.json
    ea_kao = client.post(f"/api/v1/units/{other.json['id']}/people", headers=basic("admin"), json={
        "username": "quantri_eakao", "full_name": "Quản trị xã", "roles": ["admin"], "password": "eakao-2026"})
    assert ea_kao.status_code == 201
    return {"unit": demo["id"], "other": other.json["id"], "quantri": quantri.json["id"], "eakao": ea_kao.json["id"]}


def quantri(client: FlaskClient) -> dict[str, str]:
    """HTTP Basic of the demo unit's own administrator (made by ``setup`` with the password demo-demo)."""
    return {"Authorization": "Basic " + base64.b64encode(b"quantri:demo-demo").decode()}


def test_a_units_administrator_cannot_create_units_or_touch_another_unit(
        client: FlaskClient, setup: dict[str, Any]) -> None:  # fmt: skip
    before = organisation(client)
    me, other = quantri(client), setup["other"]
    assert client.post("/api/v1/units", headers=me, json={**OTHER_UNIT, "code": "xa-khac"}).status_code == 403
    attempts = [
        ("PATCH", f"/api/v1/units/{other}", {"name": "Chiếm"}),
        ("POST", f"/api/v1/units/{other}/departments", {"code": "x", "name": "X"}),
        ("POST", f"/api/v1/units/{other}/people", {"username": "gian", "full_name": "Gián Điệp"}),
        ("GET", f"/api/v1/units/{other}/people", None),
        ("GET", f"/api/v1/audit?unit_id={other}", None),
    ]
    for method, path, body in attempts:
        response = client.open(path, method=method, headers=me, json=body)
        assert response.status_code == 404, (path, response.json)
    stranger = read(client, f"/units/{other}/people")[0]["id"]
    for method, path in (("PATCH", f"/api/v1/people/{stranger}"), ("POST", f"/api/v1/people/{stranger}/deactivate"),
                         ("PUT", f"/api/v1/people/{stranger}/roles")):  # fmt: skip
        assert client.open(path, method=method, headers=me, json={"roles": []}).status_code == 404
    assert client.patch(f"/api/v1/units/{setup['unit']}", headers=me, json={"code": "doi-ma"}).status_code == 403
    assert organisation(client) == before
    browser = FlaskClient(client.application, use_cookies=True)
    browser.post("/login", data={"username": "quantri", "password": "demo-demo"})
    assert browser.get("/organisation/units/new").status_code == 403
    assert browser.get(f"/organisation/units/{other}").status_code == 404
    assert organisation(client) == before


def test_a_leaver_is_switched_off_on_the_page_and_loses_their_sessions_and_their_tasks(
        app: Flask, client: FlaskClient, setup: dict[str, Any]) -> None:  # fmt: skip
    """chuyenvien4 holds a task; the unit's administrator deactivates them: the task goes back to the pool of
    its role, the head of their department is told which, and they can no longer log in or call the API."""
    started = client.post("/api/v1/process-definitions/quality_objectives/start", headers=basic("thuky"), json={})
    draft = started.json["tasks"][0]["id"]
    assert client.post(f"/api/v1/tasks/{draft}/claim", headers=basic("thuky")).status_code == 200
    thuky_id = next(p["id"] for p in read(client, f"/units/{setup['unit']}/people") if p["username"] == "thuky")
    leaver = login(app.test_client(), "thuky")
    assert leaver.get("/").status_code == 200
    admin = app.test_client()
    admin.post("/login", data={"username": "quantri", "password": "demo-demo"})

    page = admin.post(f"/organisation/people/{thuky_id}/deactivate", follow_redirects=True).get_data(as_text=True)

    assert "Đã khóa tài khoản của Lê Thị Mai Anh" in page and "Soạn thảo mục tiêu chất lượng" in page
    assert leaver.get("/").headers["Location"].startswith("/login")  # the open session ended
    assert app.test_client().post("/login", data={"username": "thuky", "password": "demo"}).status_code == 401
    assert client.get("/api/v1/tasks", headers=basic("thuky")).status_code == 401
    task = read(client, f"/tasks/{draft}", "admin")  # the only ISO secretary left: it falls to the administrators
    assert task["assignee"] is None and task["candidate_roles"] == ["iso_secretary", "admin"]
    head = login(app.test_client(), "truongphong")  # the head of the office, thuky's department
    notices = head.get("/notices").get_data(as_text=True)
    assert "Lê Thị Mai Anh đã thôi làm việc: 1 công việc trở về nhóm xử lý" in notices
    history = read(client, f"/instances/{started.json['id']}", "giamdoc")["history"]
    assert [(e["kind"], e["actor"]) for e in history if e["task_id"] == draft][-2:] == [
        ("task_claimed", "thuky"), ("task_returned", "quantri")]  # the leaver's name stays in the history
    assert admin.post(f"/organisation/people/{thuky_id}/reactivate").status_code == 302
    assert app.test_client().post("/login", data={"username": "thuky", "password": "demo"}).status_code == 302


def test_the_report_of_a_refused_sheet_names_each_row_on_the_page_and_in_the_api(
        app: Flask, client: FlaskClient, setup: dict[str, Any]) -> None:  # fmt: skip
    sheet = ("username;full_name;email;department;roles\n"
             "hoa;Nguyễn Thị Hoa;hoa@skhcn.gov.vn;vp;specialist\n"
             "thuky;Trùng Tên;;;\n"
             "binh;Trần Bình;binh@;kho;thu ky\n").encode()  # fmt: skip
    before = organisation(client)
    browser = app.test_client()
    browser.post("/login", data={"username": "quantri", "password": "demo-demo"})
    page = browser.post(f"/organisation/units/{setup['unit']}/import", content_type="multipart/form-data",
                        data={"action": "import", "file": (io.BytesIO(sheet), "nhan-su.csv")})  # fmt: skip
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "2 dòng bị từ chối: chưa nhập ai" in text
    assert "<td class=\"num\">3</td><td>Tên đăng nhập (username)</td>" in text
    assert "Tên đăng nhập 'thuky' đã có người dùng; hãy chọn tên khác (ví dụ thêm một chữ số)." in text
    api = client.post(f"/api/v1/units/{setup['unit']}/people/import", headers={**quantri(client),
                      "Accept-Language": "en"}, data={"file": (io.BytesIO(sheet), "nhan-su.csv")},
                      content_type="multipart/form-data")  # fmt: skip
    assert api.status_code == 422
    assert api.json["report"]["problems"] == [
        {"row": 3, "column": "username", "message": "The user name 'thuky' is already taken; choose another (e.g. add "
                                                    "a digit)."},
        {"row": 4, "column": "email", "message": "'binh@' is not an e-mail address; write it as name@agency.gov.vn."},
        {"row": 4, "column": "department", "message": "The unit has no open department with the code 'kho'; create it "
                                                      "first or check the code."},
        {"row": 4, "column": "roles", "message": "'thu ky' is not a role; use one of: iso_secretary, unit_leader, "
                                                 "department_head, specialist, internal_auditor, admin."},
    ]  # fmt: skip
    assert api.json["report"]["refused_rows"] == [3, 4] and api.json["report"]["imported"] is False
    assert organisation(client) == before
    dry = client.post(f"/api/v1/units/{setup['unit']}/people/import?dry_run=1", headers=quantri(client),
                      data=sheet.split(b"\nthuky")[0] + b"\n", content_type="text/csv")  # fmt: skip
    assert dry.status_code == 200 and dry.json["rows"][0]["username"] == "hoa" and not dry.json["imported"]
    assert organisation(client) == before


def test_wrong_fields_are_named_in_the_readers_language_and_nothing_changes(
        client: FlaskClient, setup: dict[str, Any]) -> None:  # fmt: skip
    before = organisation(client)
    body = {"username": "Có Dấu", "full_name": "", "email": "x", "colour": "đỏ"}
    vi = client.post(f"/api/v1/units/{setup['unit']}/people", headers={**quantri(client), "Accept-Language": "vi"},
                     json=body)  # fmt: skip
    en = client.post(f"/api/v1/units/{setup['unit']}/people", headers={**quantri(client), "Accept-Language": "en"},
                     json=body)  # fmt: skip
    assert vi.status_code == en.status_code == 422
    assert set(vi.json["field_errors"]) == {"username", "full_name", "email", "colour"}
    assert vi.json["field_errors"]["full_name"] == "Hãy điền trường này."
    assert en.json["field_errors"]["full_name"] == "Fill in this field."
    assert vi.json["field_errors"]["colour"] == "Trường này không dùng ở đây; hãy bỏ đi."
    assert "4 trường cần sửa; chưa có gì thay đổi" in vi.json["message"]
    not_json = client.post(f"/api/v1/units/{setup['unit']}/people", headers=quantri(client), data="[1]",
                           content_type="application/json")  # fmt: skip
    assert not_json.status_code == 400
    last = client.put(f"/api/v1/people/{setup['eakao']}/roles", headers=basic("admin"), json={"roles": ["specialist"]})
    assert last.status_code == 409 and "quản trị viên cuối cùng" in last.json["message"]  # Ea Kao's only one
    assert organisation(client) == before


def test_the_page_marks_each_wrong_field_and_keeps_what_was_typed(
        app: Flask, client: FlaskClient, setup: dict[str, Any]) -> None:  # fmt: skip
    browser = app.test_client()
    browser.post("/login", data={"username": "quantri", "password": "demo-demo"})
    before = organisation(client)
    page = browser.post(f"/organisation/units/{setup['unit']}/people/new", data={
        "full_name": "Đặng Văn Mới", "username": "thuky", "email": "khong-dung", "roles": ["specialist"],
        "department": "<i>kho</i>"})
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'id="person-username" name="username" type="text" value="thuky"' in text
    assert 'aria-invalid="true" aria-describedby="person-username-error"' in text
    assert "&#39;khong-dung&#39; không phải là địa chỉ thư điện tử" in text
    assert "mã &#39;&lt;i&gt;kho&lt;/i&gt;&#39;" in text and "<i>kho" not in text  # what was typed is escaped
    assert 'value="Đặng Văn Mới"' in text
    assert organisation(client) == before


def test_the_audit_log_says_who_changed_what_and_when(
        app: Flask, client: FlaskClient, setup: dict[str, Any]) -> None:  # fmt: skip
    browser = app.test_client()
    browser.post("/login", data={"username": "quantri", "password": "demo-demo"})
    person = next(p for p in read(client, f"/units/{setup['unit']}/people") if p["username"] == "chuyenvien")
    moved = browser.post(f"/organisation/people/{person['id']}", data={"full_name": person["full_name"],
                                                                      "title": "Chuyên viên chính",
                                                                      "email": person["email"], "department": "qlkh"})
    assert moved.status_code == 302
    log = client.get(f"/api/v1/audit?unit_id={setup['unit']}&limit=2", headers=quantri(client)).json
    assert [(e["action"], e["actor"], e["changes"]) for e in log] == [
        ("person.moved", "quantri", {"department": ["vp", "qlkh"], "roles": [["specialist:vp"], ["specialist:qlkh"]]}),
        ("person.updated", "quantri", {"title": ["Chuyên viên Văn phòng", "Chuyên viên chính"]}),
    ]
    at = datetime.fromisoformat(log[0]["at"])
    assert abs(datetime.now(UTC) - at) < timedelta(minutes=1)
    page = browser.get(f"/organisation/audit?unit={setup['unit']}").get_data(as_text=True)
    assert "Chuyển người sang phòng ban khác" in page and "Quản trị Sở (quantri)" in page
    assert "vp → qlkh" in page and (at + timedelta(hours=7)).strftime("%d/%m/%Y %H:%M") in page  # Hà Nội time
    other = app.test_client()
    other.post("/login", data={"username": "quantri_eakao", "password": "eakao-2026"})
    assert "Chuyển người sang phòng ban khác" not in other.get("/organisation/audit").get_data(as_text=True)
    assert other.get(f"/organisation/audit?unit={setup['unit']}").status_code == 404


def test_a_department_with_people_is_neither_closed_nor_deleted_and_the_unit_page_says_why(
        app: Flask, client: FlaskClient, setup: dict[str, Any]) -> None:  # fmt: skip
    browser = app.test_client()
    browser.post("/login", data={"username": "quantri", "password": "demo-demo"})
    vp = next(d for d in read(client, f"/units/{setup['unit']}/departments") if d["code"] == "vp")
    before = organisation(client)
    closed = browser.post(f"/organisation/departments/{vp['id']}", data={"active": "0"})
    assert closed.status_code == 409
    assert "Còn 4 người đang làm việc ở hoặc giữ vai trò của phòng ban này" in closed.get_data(as_text=True)
    assert 'id="department-list"' in closed.get_data(as_text=True)  # still on the unit's page
    deleted = browser.post(f"/organisation/departments/{vp['id']}/delete")
    assert deleted.status_code == 409 and "hãy đóng phòng ban thay vì xóa" in deleted.get_data(as_text=True)
    assert organisation(client) == before
