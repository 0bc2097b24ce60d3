"""The process library as people use it: the list with counts, a process page with versions, files and
diagram, downloads, uploads by administrators (files and zips), refusals with a problems table."""

from __future__ import annotations

import html
import io
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from engine.org.models import User
from engine.runtime.models import DeployedFile, ProcessDefinition, ProcessInstance
from tests.conftest import FIXTURES, LIBRARY
from tests.webapp.conftest import basic, login
from tests.webapp.test_browser import page, server  # noqa: F401 - the browser test's fixtures
from webapp.extensions import db

QUALITY = (LIBRARY / "quality-objectives.bpmn").read_bytes()
FORMS = {p.name: p.read_bytes() for p in sorted(LIBRARY.glob("*.form"))}
VENDOR = Path(__file__).resolve().parents[2] / "webapp/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js"


def _cell(body: str, key: str, column: str) -> str:
    row = re.search(rf'<tr data-key="{key}">(.*?)</tr>', body, re.S)
    assert row, f"no row for {key}"
    cell = re.search(rf'data-col="{column}">([^<]*)<', row.group(1))
    assert cell, f"no {column} cell"
    return cell.group(1).strip()


def _start(client: FlaskClient) -> int:
    catalogue = client.get("/processes").get_data(as_text=True)
    unit_id = re.search(r'name="unit_id" value="(\d+)"', catalogue).group(1)  # type: ignore[union-attr]
    client.post("/processes/quality_objectives/start", data={"unit_id": unit_id})
    return int(db.session.scalar(select(ProcessInstance.id).order_by(ProcessInstance.id.desc()).limit(1)) or 0)


def _upload(client: FlaskClient, *files: tuple[str, bytes]) -> Any:
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post("/definitions/upload", data=data, content_type="multipart/form-data")


def _second_version() -> bytes:
    return QUALITY.replace("Phê duyệt mục tiêu chất lượng".encode(), "Phê duyệt mục tiêu chất lượng (sửa đổi)".encode())


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_library_lists_each_process_with_versions_and_instance_counts(app: Flask, client: FlaskClient) -> None:
    login(client, "thuky")
    with app.app_context():
        _start(client)
        finished = _start(client)
        db.session.execute(update(ProcessInstance).where(ProcessInstance.id == finished).values(status="completed"))
        db.session.commit()
    login(client, "admin")
    assert (
        _upload(
            client,
            ("quality-objectives.bpmn", _second_version()),
            ("rework_loop.bpmn", (FIXTURES / "rework_loop.bpmn").read_bytes()),
        ).status_code
        == 302
    )

    body = client.get("/definitions").get_data(as_text=True)
    assert "Thư viện quy trình" in body
    assert _cell(body, "quality_objectives", "version") == "v2"
    assert _cell(body, "quality_objectives", "versions") == "2"
    assert (_cell(body, "quality_objectives", "running"), _cell(body, "quality_objectives", "completed")) == ("1", "1")
    assert [_cell(body, "rework_loop", c) for c in ("version", "versions", "running", "completed")] == [
        "v1",
        "1",
        "0",
        "0",
    ]


def test_pages_need_a_login(client: FlaskClient) -> None:
    for url in ("/definitions", "/definitions/quality_objectives", "/definitions/upload"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_process_page_shows_versions_forms_and_download_links(client: FlaskClient) -> None:
    login(client, "admin")
    _upload(client, ("quality-objectives.bpmn", _second_version()))
    login(client, "chuyenvien")

    body = client.get("/definitions/quality_objectives").get_data(as_text=True)
    assert "Phê duyệt mục tiêu chất lượng (sửa đổi)" in body and "Camunda 8" in body
    assert re.findall(r'data-version="(\d+)"', body) == ["2", "1"]
    assert "Quản trị hệ thống" in body  # who deployed version 2
    assert re.search(r"<code title=\"[0-9a-f]{64}\">[0-9a-f]{12}</code>", body)
    assert "quality-objectives-draft" in body and "quality-objectives-review.form" in body
    assert 'data-diagram-url="/definitions/quality_objectives/versions/2/files/' in body
    links = set(re.findall(r'href="(/definitions/quality_objectives/versions/\d+/files/\d+)"', body))
    assert len(links) == 8  # each version: its .bpmn and three forms

    older = client.get("/definitions/quality_objectives?version=1").get_data(as_text=True)
    assert 'data-diagram-url="/definitions/quality_objectives/versions/1/files/' in older
    assert client.get("/definitions/quality_objectives?version=9").status_code == 404
    assert client.get("/definitions/nope").status_code == 404


def test_without_the_viewer_the_page_says_so_and_still_offers_the_file(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("webapp.blueprints.definitions.VIEWER_SCRIPT", "vendor/missing.js")
    login(client, "thuky")
    body = client.get("/definitions/quality_objectives").get_data(as_text=True)
    assert "Máy chủ chưa cài đặt trình xem sơ đồ" in body
    assert "eiso-diagram.js" not in body and ">quality-objectives.bpmn</a>" in body


def test_download_returns_the_exact_uploaded_bytes(app: Flask, client: FlaskClient) -> None:
    login(client, "thuky")
    body = client.get("/definitions/quality_objectives").get_data(as_text=True)
    bpmn_url = html.unescape(re.search(r'data-diagram-url="([^"]+)"', body).group(1))  # type: ignore[union-attr]
    response = client.get(bpmn_url)
    assert response.status_code == 200 and response.data == QUALITY
    assert response.mimetype == "application/xml"
    assert response.headers["Content-Disposition"] == "attachment; filename=quality-objectives.bpmn"
    assert response.headers["X-Content-Type-Options"] == "nosniff"

    form_url = re.search(r'href="([^"]+)"[^>]*>quality-objectives-draft.form<', body).group(1)  # type: ignore[union-attr]
    form = client.get(form_url)
    assert form.data == FORMS["quality-objectives-draft.form"] and form.mimetype == "application/json"

    with app.app_context():
        db.session.add(DeployedFile(deployment_id=1, filename="x.bpmn", kind="bpmn", content_hash="0", content=b"x"))
        db.session.commit()
        unrelated = db.session.scalar(select(DeployedFile.id).where(DeployedFile.filename == "x.bpmn"))
    assert client.get(f"/definitions/quality_objectives/versions/1/files/{unrelated}").status_code == 404
    assert client.get(bpmn_url.replace("/versions/1/", "/versions/2/")).status_code == 404


def test_instance_overlay_marks_open_and_completed_tasks(app: Flask, client: FlaskClient) -> None:
    login(client, "thuky")
    with app.app_context():
        instance_id = _start(client)
    body = client.get(f"/definitions/quality_objectives?instance={instance_id}").get_data(as_text=True)
    states = json.loads(html.unescape(re.search(r"data-element-states='([^']*)'", body).group(1)))  # type: ignore[union-attr]
    assert states == {"draft_objectives": "open"}
    assert f'href="/instances/{instance_id}"' in body

    with app.app_context():
        db.session.add(
            User(
                username="nguoingoai",
                full_name="Người ngoài",
                password_hash=db.session.scalar(select(User.password_hash).where(User.username == "thuky")),
            )
        )
        db.session.commit()
    login(client, "nguoingoai")
    assert client.get(f"/definitions/quality_objectives?instance={instance_id}").status_code == 403
    assert client.get("/definitions/quality_objectives?instance=999").status_code == 404


def test_admin_uploads_several_files_and_sees_what_was_deployed(client: FlaskClient) -> None:
    login(client, "admin")
    form = client.get("/definitions/upload").get_data(as_text=True)
    assert 'type="file" name="files" multiple accept=".bpmn,.form,.dmn,.zip"' in form

    response = _upload(
        client,
        ("rework_loop.bpmn", (FIXTURES / "rework_loop.bpmn").read_bytes()),
        ("quality-objectives.bpmn", QUALITY),
        *FORMS.items(),
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/definitions/rework_loop?version=1"
    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã triển khai: Rework loop (v1)." in body
    assert "Không thay đổi, đã triển khai trước đó: Phê duyệt mục tiêu chất lượng (v1)." in body


def test_admin_uploads_a_zipped_modeler_project(app: Flask, client: FlaskClient) -> None:
    login(client, "admin")
    project = {
        "qms/quality-objectives.bpmn": _second_version(),
        "qms/.camunda/settings.json": b"{}",
        **{f"qms/forms/{n}": c for n, c in FORMS.items()},
    }
    response = _upload(client, ("qms.zip", _zip(project)))
    assert response.status_code == 302
    assert response.headers["Location"] == "/definitions/quality_objectives?version=2"
    with app.app_context():
        v2 = db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.version == 2))
        assert v2 is not None and v2.bpmn_file.filename == "quality-objectives.bpmn"


def test_api_deployments_accept_a_zip(client: FlaskClient) -> None:
    archive = _zip({"nested/rework_loop.bpmn": (FIXTURES / "rework_loop.bpmn").read_bytes()})
    response = client.post(
        "/api/v1/deployments", headers=basic("admin"), data={"files": [(io.BytesIO(archive), "rework.zip")]}
    )
    assert response.status_code == 201 and response.json["definitions"][0]["key"] == "rework_loop"
    bomb = _zip({"bomb.bpmn": b"\0" * (60 * 1024 * 1024)})
    refused = client.post(
        "/api/v1/deployments", headers=basic("admin"), data={"files": [(io.BytesIO(bomb), "bomb.zip")]}
    )
    assert refused.status_code == 422 and "bom zip" in refused.json["problems"][0]["message"]


def test_only_administrators_and_iso_secretaries_may_upload(client: FlaskClient) -> None:
    rework = ("rework_loop.bpmn", (FIXTURES / "rework_loop.bpmn").read_bytes())
    login(client, "chuyenvien")
    assert client.get("/definitions/upload").status_code == 403
    assert _upload(client, rework).status_code == 403
    assert 'href="/definitions/upload"' not in client.get("/definitions").get_data(as_text=True)
    login(client, "thuky")  # the ISO secretary submits drafts for her unit, never to the shared library
    form = client.get("/definitions/upload").get_data(as_text=True)
    assert "Sở Khoa học và Công nghệ tỉnh Đắk Lắk" in form and "Thư viện dùng chung" not in form
    assert _upload(client, rework).status_code == 403
    assert client.get("/definitions/rework_loop").status_code == 404  # nothing was deployed


def test_refused_upload_shows_the_problems_table_with_422(client: FlaskClient) -> None:
    login(client, "admin")
    start_flow = b'<bpmn:sequenceFlow id="flow_start" sourceRef="StartEvent_1" targetRef="draft_objectives" />'
    broken = QUALITY.replace(start_flow, b"")
    response = _upload(client, ("quality-objectives.bpmn", broken), *FORMS.items())
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Chưa triển khai tệp nào" in body
    rows = re.findall(r'<tr class="problem-error">(.*?)</tr>', body, re.S)
    cells = [re.findall(r"<td>(.*?)</td>", row, re.S) for row in rows]
    line = str(broken[: broken.index(b'id="draft_objectives"')].count(b"\n") + 1)
    assert ["quality-objectives.bpmn", line, "draft_objectives", "Soạn thảo mục tiêu chất lượng"] in [
        c[:4] for c in cells
    ]
    assert any("Không có nhánh nào dẫn đến phần tử này" in c[4] for c in cells)
    assert client.get("/definitions/quality_objectives").get_data(as_text=True).count('data-version="') == 1


def test_zip_bomb_upload_is_refused(client: FlaskClient) -> None:
    login(client, "admin")
    response = _upload(client, ("bomb.zip", _zip({"bomb.bpmn": b"\0" * (60 * 1024 * 1024)})))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "bomb.zip" in body and "có thể là bom zip" in body


def test_empty_upload_is_refused(client: FlaskClient) -> None:
    login(client, "admin")
    response = client.post("/definitions/upload", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Chưa có tệp nào" in response.get_data(as_text=True)


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_diagram_is_drawn_by_bpmn_js(page, db_url: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    if not VENDOR.exists():
        missing = "bpmn-js is not in webapp/static/vendor/: run scripts/setup on a machine with npm"
        if os.environ.get("EISO_REQUIRE_BROWSER") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill("thuky")
    page.get_by_label("Mật khẩu").fill("demo")
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Thư viện quy trình").click()
    page.get_by_role("link", name="Phê duyệt mục tiêu chất lượng").click()

    page.wait_for_selector('#diagram[data-state="ready"]', timeout=15_000)
    assert page.locator('#diagram svg [data-element-id="draft_objectives"]').count() == 1
    before = page.locator("#diagram .viewport").get_attribute("transform")
    page.get_by_role("button", name="Phóng to").click()
    assert page.locator("#diagram .viewport").get_attribute("transform") != before
