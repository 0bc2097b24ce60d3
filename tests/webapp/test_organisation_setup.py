"""An agency sets itself up on an empty installation, as people do it: the operator creates the system
administrator on the command line; everything else goes through the pages and /api/v1 (no demo loader, no
database writes of the test's own). A new unit, its administrator, three departments and twenty people
imported from a sheet then run the shipped quality-objectives process end to end."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import LIBRARY
from webapp import create_app
from webapp.extensions import db
from webapp.settings import Settings

SYSTEM_PASSWORD = "he-thong-2026!"  # noqa: S105 - test accounts
DEPARTMENTS = [("vp", "Văn phòng"), ("kt", "Phòng Kinh tế"), ("vhxh", "Phòng Văn hóa - Xã hội")]
PEOPLE: list[tuple[str, str, str, str, str]] = [  # username, full name, title, department, roles
    ("thuky", "Nguyễn Thị Thu", "Thư ký ISO", "vp", "iso_secretary; specialist"),
    ("chutich", "Trần Văn Chủ", "Chủ tịch UBND xã", "", "Lãnh đạo đơn vị"),
    ("chanhvp", "Lê Văn Chánh", "Chánh Văn phòng", "vp", "department_head"),
    ("truongkt", "Phạm Thị Kinh", "Trưởng phòng Kinh tế", "kt", "department_head"),
    ("truongvh", "Hoàng Văn Hóa", "Trưởng phòng Văn hóa - Xã hội", "vhxh", "department_head"),
    *[(f"cvvp{i}", f"Chuyên viên Văn phòng {i}", "Chuyên viên", "vp", "specialist") for i in range(1, 6)],
    *[(f"cvkt{i}", f"Chuyên viên Kinh tế {i}", "Chuyên viên", "kt", "specialist") for i in range(1, 6)],
    *[(f"cvvh{i}", f"Chuyên viên Văn hóa {i}", "Chuyên viên", "vhxh", "specialist") for i in range(1, 6)],
]
GENERATED = {"cvvp5", "cvvh5"}  # left without a password in the sheet: the import makes one


def password_of(username: str) -> str:
    return f"mk-{username}-2026"


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def log_in(app: Flask, username: str, password: str) -> tuple[FlaskClient, str]:
    browser = app.test_client()
    response = browser.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser, response.headers["Location"]


@pytest.fixture
def empty_app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on a database with the schema and nothing in it."""
    settings = Settings.from_env({}, database_url=db_url, instance_path=tmp_path / "instance", testing=True,
                                 secret_key="setup-test")  # fmt: skip
    application = create_app(settings)
    yield application
    with application.app_context():
        db.session.remove()
        if db_url.startswith("sqlite"):
            db.engine.dispose()


def sheet(template: bytes) -> bytes:
    """The downloaded template, filled in with the twenty people."""
    book = openpyxl.load_workbook(io.BytesIO(template))
    people = book.worksheets[0]
    for username, full_name, title, department, roles in PEOPLE:
        password = "" if username in GENERATED else password_of(username)
        people.append([username, full_name, title, f"{username}@hoaphu.gov.vn", department, roles, password])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def api(client: FlaskClient, method: str, path: str, user: str, body: Any = None) -> Any:
    response = client.open(f"/api/v1{path}", method=method, headers=basic(user, password_of(user)), json=body)
    assert response.status_code < 300, (path, response.status_code, response.get_data(as_text=True))
    return response.json


def test_a_new_unit_is_set_up_and_runs_its_quality_objectives_end_to_end(empty_app: Flask) -> None:
    app = empty_app
    # the operator creates the installation's system administrator
    created = app.test_cli_runner().invoke(args=["user", "create", "hethong", "--full-name", "Quản trị hệ thống tỉnh"],
                                           input=f"{SYSTEM_PASSWORD}\n{SYSTEM_PASSWORD}\n")  # fmt: skip
    assert created.exit_code == 0, created.output
    client = app.test_client()
    system = basic("hethong", SYSTEM_PASSWORD)

    # the system administrator deploys the shipped library and creates the unit
    files = [(io.BytesIO(p.read_bytes()), p.name) for p in sorted(LIBRARY.iterdir())
             if p.suffix in (".bpmn", ".form", ".dmn")]  # fmt: skip
    deployed = client.post("/api/v1/deployments", headers=system, data={"files": files},
                           content_type="multipart/form-data")  # fmt: skip
    assert deployed.status_code == 201, deployed.get_data(as_text=True)
    browser, landed = log_in(app, "hethong", SYSTEM_PASSWORD)
    assert landed == "/"
    new_unit = browser.post("/organisation/units/new", data={
        "name": "Ủy ban nhân dân xã Hòa Phú", "short_name": "UBND xã Hòa Phú", "code": "ubnd-hoa-phu",
        "electronic_code": "000.00.31.H22", "province": "dak-lak", "quality_policy": "Phục vụ nhân dân tận tình."})
    assert new_unit.status_code == 302, new_unit.get_data(as_text=True)
    unit_page = new_unit.headers["Location"]
    unit_id = int(unit_page.rsplit("/", 1)[1])
    unit_admin = browser.post(f"/organisation/units/{unit_id}/people/new", data={
        "full_name": "Đỗ Quản Trị", "username": "quantri", "title": "Công chức Văn phòng - Thống kê",
        "email": "quantri@hoaphu.gov.vn", "roles": "admin", "password": "mat-khau-ban-dau"})
    assert unit_admin.status_code == 302, unit_admin.get_data(as_text=True)

    # the unit's administrator logs in, chooses a password, adds three departments and imports twenty people
    admin_browser, landed = log_in(app, "quantri", "mat-khau-ban-dau")
    assert landed == "/account/password"  # asked to choose their own at once
    assert "Mật khẩu của bạn do quản trị viên đặt." in admin_browser.get("/").get_data(as_text=True)
    changed = admin_browser.post("/account/password", data={"current_password": "mat-khau-ban-dau",
                                                           "new_password": password_of("quantri"),
                                                           "confirm_password": password_of("quantri")})
    assert changed.status_code == 302
    assert "Mật khẩu của bạn do quản trị viên đặt." not in admin_browser.get("/").get_data(as_text=True)
    for code, name in DEPARTMENTS:
        added = admin_browser.post(f"/organisation/units/{unit_id}/departments", data={"code": code, "name": name})
        assert added.status_code == 302, added.get_data(as_text=True)
    template = admin_browser.get(f"/organisation/units/{unit_id}/import/template.xlsx")
    assert template.status_code == 200 and "attachment" in template.headers["Content-Disposition"]
    filled = sheet(template.data)
    checked = admin_browser.post(f"/organisation/units/{unit_id}/import", content_type="multipart/form-data",
                                 data={"action": "check", "file": (io.BytesIO(filled), "nhan-su-hoa-phu.xlsx")})
    assert "Mọi dòng đều đúng: có thể nhập 20 người" in checked.get_data(as_text=True)
    assert len(api(client, "GET", f"/units/{unit_id}/people", "quantri")) == 1  # the check imported nobody
    imported = admin_browser.post(f"/organisation/units/{unit_id}/import", content_type="multipart/form-data",
                                  data={"action": "import", "file": (io.BytesIO(filled), "nhan-su-hoa-phu.xlsx")})
    page = imported.get_data(as_text=True)
    assert imported.status_code == 200 and "Đã nhập 20 người" in page
    assert imported.headers["Cache-Control"] == "no-store"  # the page shows generated passwords
    generated = dict(re.findall(r"<td>(cvvp5|cvvh5)</td>.*?<span class=\"secret\">([^<]+)</span>", page, re.S))
    assert set(generated) == GENERATED
    people = api(client, "GET", f"/units/{unit_id}/people", "quantri")
    assert len(people) == 21 and {p["department"] for p in people} == {None, "vp", "kt", "vhxh"}
    departments = api(client, "GET", f"/units/{unit_id}/departments", "quantri")
    assert [(d["code"], d["people"]) for d in departments] == [("vp", 7), ("kt", 6), ("vhxh", 6)]
    assert client.get("/api/v1/tasks", headers=basic("cvvp5", generated["cvvp5"])).status_code == 200

    # the quality-objectives process, end to end, by the imported people
    started = api(client, "POST", "/process-definitions/quality_objectives/start", "thuky",
                  {"unit_id": unit_id, "business_key": "MT-2027"})
    draft = started["tasks"][0]
    detail = api(client, "GET", f"/tasks/{draft['id']}", "thuky")
    assert detail["data"]["departments"] == [{"label": name, "value": code} for code, name in DEPARTMENTS]
    objectives = [{"objective": f"Mục tiêu của {name}", "target": "100% đúng hạn", "department": code,
                   "deadline": "2027-12-31"} for code, name in DEPARTMENTS]  # fmt: skip
    api(client, "POST", f"/tasks/{draft['id']}/claim", "thuky")
    api(client, "POST", f"/tasks/{draft['id']}/complete", "thuky",
        {"variables": {"year": 2027, "title": "Mục tiêu chất lượng năm 2027", "objectives": objectives}})
    review = api(client, "GET", "/tasks", "chutich")["claimable"]
    assert [t["name"] for t in review] == ["Xem xét, phê duyệt mục tiêu"]
    api(client, "POST", f"/tasks/{review[0]['id']}/claim", "chutich")
    api(client, "POST", f"/tasks/{review[0]['id']}/complete", "chutich", {"variables": {"decision": "approve"}})
    [record] = api(client, "GET", "/tasks", "thuky")["mine"]  # the author of the draft records it
    api(client, "POST", f"/tasks/{record['id']}/complete", "thuky",
        {"variables": {"decisionNumber": "05/QĐ-UBND", "effectiveDate": "2027-01-04"}})
    final = api(client, "GET", f"/instances/{started['id']}", "chutich")
    assert final["status"] == "completed" and final["history"][-1]["kind"] == "instance_completed"

    published = client.get("/units/ubnd-hoa-phu/objectives").get_data(as_text=True)
    assert all(f"Mục tiêu của {name}" in published for _, name in DEPARTMENTS)
    specialist, _ = log_in(app, "cvkt3", password_of("cvkt3"))
    notices = specialist.get("/notices").get_data(as_text=True)
    assert "Mục tiêu chất lượng được giao cho phòng: Mục tiêu chất lượng năm 2027" in notices

    # the audit log tells who did all this
    log = api(client, "GET", f"/audit?unit_id={unit_id}", "quantri")
    actions = [(e["action"], e["actor"]) for e in reversed(log)]
    assert actions[:5] == [("unit.created", "hethong"), ("person.created", "hethong"),
                           ("department.created", "quantri"), ("department.created", "quantri"),
                           ("department.created", "quantri")]  # fmt: skip
    assert actions[5:] == [("person.created", "quantri")] * 20 + [("people.imported", "quantri")]
    secretary = basic("thuky", password_of("thuky"))  # a member of the unit, not its administrator
    assert client.get(f"/api/v1/audit?unit_id={unit_id}", headers=secretary).status_code == 403
