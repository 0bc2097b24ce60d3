"""Versions as people meet them in the pages: an upload for the unit becomes a draft, the leader reviews it
from the inbox with a link to the diff, approves or returns it; administrators move running instances;
documentation diagrams are shown to their owner with the reasons they cannot run and published on the
unit's public page; the API and the eiso command do the same."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine import Engine
from engine.org.models import Unit, User
from engine.runtime.models import ProcessInstance, TaskRow
from tests.conftest import CORPUS, FIXTURES
from tests.webapp.conftest import basic, login
from tests.webapp.test_browser import page, server  # noqa: F401 - the browser test's fixtures
from webapp import now
from webapp.extensions import db

CHANGED = {p.name: p.read_bytes() for p in sorted((FIXTURES / "versions").iterdir())}
MIWG = CORPUS / "miwg-reference" / "A.1.0.bpmn"
SUMMARY = "Thêm bước kiểm tra thể thức văn bản trước khi ban hành."
DRAFT = {"year": 2027, "title": "Mục tiêu 2027", "objectives": [
    {"objective": "Đúng hạn", "target": "100%", "department": "vp", "deadline": "2027-12-31"}]}  # fmt: skip
needs_corpus = pytest.mark.skipif(not MIWG.exists(), reason="no shared corpus")


def _unit_id(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(Unit.id).where(Unit.code == "skhcn-daklak")) or 0)


def _upload(client: FlaskClient, files: dict[str, bytes], **fields: Any) -> Any:
    data: dict[str, Any] = {"files": [(io.BytesIO(content), name) for name, content in files.items()], **fields}
    return client.post("/definitions/upload", data=data, content_type="multipart/form-data")


def _task_link(body: str, name: str) -> str:
    found = re.search(r'href="(/tasks/[^"]+)">' + re.escape(name), body)
    assert found, f"no link to {name!r}"
    return found.group(1)


def _group(body: str, unit_code: str) -> str:
    found = re.search(rf'<section class="card library-group" data-unit="{unit_code}">(.*?)</section>', body, re.S)
    assert found, f"no group for {unit_code!r}"
    return found.group(1)


def _submit_change(app: Flask, client: FlaskClient) -> None:
    login(client, "admin")
    response = _upload(client, CHANGED, unit_id=str(_unit_id(app)), change_summary=SUMMARY)
    assert response.status_code == 302 and response.headers["Location"] == "/definitions/quality_objectives?version=2"


def test_an_upload_for_the_unit_is_reviewed_by_the_leader_and_goes_live(app: Flask, client: FlaskClient) -> None:
    _submit_change(app, client)
    page_v2 = client.get("/definitions/quality_objectives?version=2").get_data(as_text=True)
    assert "Đã gửi bản dự thảo để lãnh đạo đơn vị phê duyệt: Phê duyệt mục tiêu chất lượng (v2)." in page_v2
    assert 'data-status="draft"' in page_v2 and "Đang chờ lãnh đạo đơn vị phê duyệt." in page_v2 and SUMMARY in page_v2
    library = client.get("/definitions").get_data(as_text=True)
    shared = _group(library, "")  # version 1 stays the shared library's active version, for every other unit
    assert re.search(r'<tr data-key="quality_objectives">.*?data-col="version">v1<', shared, re.S)
    ours = _group(library, "skhcn-daklak")  # the unit's own line of the process, with its draft
    assert 'href="/definitions/quality_objectives?version=2">v2' in ours

    login(client, "giamdoc")
    review_url = _task_link(client.get("/").get_data(as_text=True), "Xem xét, phê duyệt thay đổi quy trình")
    review = client.get(review_url).get_data(as_text=True)
    assert 'href="/definitions/quality_objectives/versions/2/diff"' in review and SUMMARY in review
    assert "Kiểm tra thể thức văn bản trước khi ban hành" in review  # the changes, listed for the leader
    assert "Căn cứ xây dựng mục tiêu (legalBasis)" in review

    assert client.post(review_url, data={"decision": "approve"}).status_code == 302
    approved = client.get("/definitions/quality_objectives").get_data(as_text=True)
    assert 'data-status="active"' in approved and "Nguyễn Văn Thành đã phê duyệt" in approved
    unit_group = _group(client.get("/definitions").get_data(as_text=True), "skhcn-daklak")
    assert re.search(r'<tr data-key="quality_objectives">.*?data-col="version">v2<', unit_group, re.S)

    login(client, "thuky")
    notices = client.get("/notices").get_data(as_text=True)
    assert "Quy trình được cập nhật: Phê duyệt mục tiêu chất lượng (phiên bản 2)" in notices


def test_the_diff_page_marks_what_changed_on_both_diagrams(app: Flask, client: FlaskClient) -> None:
    _submit_change(app, client)
    login(client, "chuyenvien")
    body = client.get("/definitions/quality_objectives/versions/2/diff").get_data(as_text=True)
    added = re.search(r'<ul class="diff-list diff-added">(.*?)</ul>', body, re.S)
    assert added and 'data-element="check_format"' in added.group(1)
    assert "Lãnh đạo xem xét, phê duyệt mục tiêu chất lượng" in body and "legalBasis" in body
    markers = {m.group(1): json.loads(html.unescape(m.group(2)))
               for m in re.finditer(r'id="(diagram-\w+)"[^>]*?data-markers=\'([^\']*)\'', body, re.S)}  # fmt: skip
    assert markers["diagram-new"] == {"check_format": "added", "flow_checked": "added",
                                      "review_objectives": "changed", "flow_approved": "changed"}  # fmt: skip
    assert markers["diagram-old"] == {}
    assert 'data-diagram-url="/definitions/quality_objectives/versions/1/files/' in body
    assert client.get("/definitions/quality_objectives/versions/1/diff").status_code == 404  # nothing before v1
    assert client.get("/definitions/quality_objectives/versions/7/diff").status_code == 404


def test_the_leader_returns_a_draft_with_a_reason(app: Flask, client: FlaskClient) -> None:
    _submit_change(app, client)
    login(client, "phogiamdoc")
    review_url = _task_link(client.get("/").get_data(as_text=True), "Xem xét, phê duyệt thay đổi quy trình")
    assert client.post(review_url, data={"decision": "return", "returnReason": ""}).status_code == 422
    reason = "Bước mới cần có thời hạn hai ngày."
    assert client.post(review_url, data={"decision": "return", "returnReason": reason}).status_code == 302
    body = client.get("/definitions/quality_objectives?version=2").get_data(as_text=True)
    assert 'data-status="returned"' in body and reason in body
    login(client, "admin")  # the uploader is told
    assert reason in client.get("/notices").get_data(as_text=True)


def _instances_on_version_one(app: Flask) -> tuple[int, int]:
    """One instance waiting at the review step (can move), one at the record step (cannot)."""
    with app.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}
        engine, unit_id = Engine(db.session), _unit_id(app)
        ids = []
        for reviewed in (False, True):
            instance = engine.start("quality_objectives", actor=users["thuky"], unit_id=unit_id, now=now())
            engine.complete(_open(instance.id).id, actor=users["thuky"], now=now(), variables=DRAFT)
            if reviewed:
                engine.complete(_open(instance.id).id, actor=users["giamdoc"], now=now(),
                                variables={"decision": "approve"})  # fmt: skip
            ids.append(instance.id)
        db.session.remove()
    return ids[0], ids[1]


def _open(instance_id: int) -> TaskRow:
    stmt = select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == "open")
    return db.session.scalars(stmt).one()


def test_administrators_move_running_instances_and_back(app: Flask, client: FlaskClient) -> None:
    at_review, at_record = _instances_on_version_one(app)
    _submit_change(app, client)
    login(client, "giamdoc")
    review_url = _task_link(client.get("/").get_data(as_text=True), "Xem xét, phê duyệt thay đổi quy trình")
    client.post(review_url, data={"decision": "approve"})

    login(client, "thuky")
    assert client.get("/definitions/quality_objectives/migrations").status_code == 403
    login(client, "admin")
    assert 'href="/definitions/quality_objectives/migrations"' in client.get("/definitions/quality_objectives").text
    page_text = client.get("/definitions/quality_objectives/migrations").get_data(as_text=True)
    assert f'<tr data-instance="{at_review}" data-possible="yes">' in page_text
    assert f'<tr data-instance="{at_record}" data-possible="no">' in page_text
    assert "Bước &#39;Lãnh đạo phê duyệt?&#39; đã bắt đầu hoặc đã hoàn thành và bị sửa trong phiên bản 2." in page_text

    moved = client.post("/definitions/quality_objectives/migrations", data={"instance": [str(at_review)]})
    assert moved.status_code == 302
    after = client.get(moved.headers["Location"]).get_data(as_text=True)
    assert f"Hồ sơ quy trình #{at_review} nay chạy trên phiên bản đang áp dụng." in after
    history = client.get(f"/instances/{at_review}").get_data(as_text=True)
    assert "chuyển sang phiên bản khác" in history and "v1 → v2" in history
    with app.app_context():
        row = _open(at_review)
        assert row.name == "Lãnh đạo xem xét, phê duyệt mục tiêu chất lượng"
        migration_id = int(re.search(r'data-migration="(\d+)"', after).group(1))  # type: ignore[union-attr]
        db.session.remove()

    back = client.post(f"/definitions/quality_objectives/migrations/{migration_id}/revert")
    assert back.status_code == 302
    assert f"Hồ sơ quy trình #{at_review} đã trở lại phiên bản trước." in client.get(back.headers["Location"]).text
    with app.app_context():
        assert db.session.get(ProcessInstance, at_review).definition.version == 1  # type: ignore[union-attr]
    again = client.post(f"/definitions/quality_objectives/migrations/{migration_id}/revert")
    assert again.status_code == 409


@needs_corpus
def test_a_documentation_diagram_is_shown_to_its_owner_and_published(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        db.session.scalars(select(Unit)).one().allow_direct_deploy = True
        db.session.commit()
    login(client, "admin")
    form = client.get("/definitions/upload").get_data(as_text=True)
    assert 'name="as_documentation" value="1"' in form and "Thư viện dùng chung (không thuộc đơn vị nào)" in form
    response = _upload(client, {MIWG.name: MIWG.read_bytes()}, unit_id=str(_unit_id(app)), as_documentation="1")
    assert response.status_code == 302 and response.headers["Location"] == "/definitions/WFP-6-?version=1"
    owner_view = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Sơ đồ tài liệu" in owner_view and "Lý do không chạy được" in owner_view
    assert "Không có quy trình thực thi được" in owner_view
    assert 'data-diagram-url="/definitions/WFP-6-/versions/1/files/' in owner_view
    login(client, "chuyenvien")
    staff_view = client.get("/definitions/WFP-6-").get_data(as_text=True)
    assert "Sơ đồ tài liệu" in staff_view and "Lý do không chạy được" not in staff_view
    assert "WFP-6-" not in client.get("/processes").get_data(as_text=True)  # nobody starts it
    client.post("/logout")

    listing = client.get("/units/skhcn-daklak/processes").get_data(as_text=True)  # public
    assert re.search(r'<tr data-key="WFP-6-">.*?A\.1\.0.*?quy trình mô tả bằng tài liệu', listing, re.S)
    assert re.search(r'<tr data-key="quality_objectives">.*?chạy trên eISO', listing, re.S)
    shown = client.get("/units/skhcn-daklak/processes/WFP-6-").get_data(as_text=True)
    assert 'data-diagram-url="/units/skhcn-daklak/processes/WFP-6-/diagram"' in shown
    assert client.get("/units/skhcn-daklak/processes/WFP-6-/diagram").data == MIWG.read_bytes()
    assert client.get("/units/skhcn-daklak/processes/nothing").status_code == 404
    assert client.get("/units/nowhere/processes").status_code == 404


def test_drafts_are_not_published(app: Flask, client: FlaskClient) -> None:
    _submit_change(app, client)
    listing = client.get("/units/skhcn-daklak/processes").get_data(as_text=True)
    assert re.search(r'<tr data-key="quality_objectives">\s*<td>.*?</td>\s*<td>v1</td>', listing, re.S)


@needs_corpus
def test_the_api_deploys_documentation_and_drafts(app: Flask, client: FlaskClient) -> None:
    other = CORPUS / "miwg-reference" / "A.2.0.bpmn"
    form = CORPUS / "camunda7-examples" / "task-form.form"
    files = [(io.BytesIO(other.read_bytes()), other.name), (io.BytesIO(form.read_bytes()), form.name)]
    docs = client.post("/api/v1/deployments", headers=basic("admin"), data={"files": files, "as_documentation": "1"})
    assert docs.status_code == 201, docs.json  # a folder with its forms: the form is kept as a file, not used
    assert [w["file"] for w in docs.json["warnings"]] == [form.name]
    assert (docs.json["definitions"][0]["executable"], docs.json["definitions"][0]["status"]) == (False, "active")
    unit_id = str(_unit_id(app))

    def changed() -> list[tuple[io.BytesIO, str]]:
        return [(io.BytesIO(content), name) for name, content in CHANGED.items()]

    refused = client.post("/api/v1/deployments", headers=basic("thuky"), data={"files": changed()})
    assert refused.status_code == 403  # the shared library is for administrators
    draft = client.post("/api/v1/deployments", headers=basic("thuky"),
                        data={"files": changed(), "unit_id": unit_id, "change_summary": SUMMARY})  # fmt: skip
    assert draft.status_code == 201 and draft.json["definitions"][0]["status"] == "draft"


@needs_corpus
def test_eiso_deploy_documentation(app: Flask) -> None:
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["deploy", str(MIWG)])
    assert refused.exit_code != 0 and "No executable process" in refused.output
    result = runner.invoke(args=["deploy", "--documentation", str(MIWG)])
    assert result.exit_code == 0, result.output
    assert "deployed WFP-6- version 1 (A.1.0; active, documentation)" in result.output
    draft = runner.invoke(args=["deploy", "--unit", "skhcn-daklak", "--summary", SUMMARY,
                                *(str(FIXTURES / "versions" / n) for n in CHANGED)])  # fmt: skip
    assert draft.exit_code == 0 and "deployed quality_objectives version 2" in draft.output and "draft" in draft.output
    assert runner.invoke(args=["deploy", "--unit", "nowhere", str(MIWG)]).exit_code != 0


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_diff_is_drawn_with_markers(page, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from tests.webapp.test_definitions import VENDOR

    if not VENDOR.exists():
        pytest.skip("bpmn-js is not in webapp/static/vendor/")
    _browser_login(page, "admin")
    page.goto("/definitions/upload")
    page.get_by_label("Đơn vị sở hữu").select_option(label="Sở Khoa học và Công nghệ tỉnh Đắk Lắk")
    for name, content in CHANGED.items():
        (tmp_path / name).write_bytes(content)
    page.locator("#upload-files").set_input_files([str(tmp_path / n) for n in CHANGED])
    page.get_by_role("button", name="Kiểm tra và triển khai").click()
    page.wait_for_url("**/definitions/quality_objectives?version=2")

    page.goto("/definitions/quality_objectives/versions/2/diff")
    page.wait_for_selector('#diagram-new[data-state="ready"]', timeout=15_000)
    page.wait_for_selector('#diagram-old[data-state="ready"]', timeout=15_000)
    assert page.locator('#diagram-new g.eiso-diff-added[data-element-id="check_format"]').count() == 1
    assert page.locator('#diagram-new g.eiso-diff-changed[data-element-id="review_objectives"]').count() == 1
    assert page.locator('#diagram-old [data-element-id="check_format"]').count() == 0


@needs_corpus
@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_approved_documentation_diagram_is_drawn_on_the_public_portal(page, db_url: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from tests.webapp.test_definitions import VENDOR

    if not VENDOR.exists():
        pytest.skip("bpmn-js is not in webapp/static/vendor/")
    _browser_login(page, "admin")
    page.goto("/definitions/upload")
    page.get_by_label("Đơn vị sở hữu").select_option(label="Sở Khoa học và Công nghệ tỉnh Đắk Lắk")
    page.get_by_label("Chỉ triển khai làm tài liệu").check()
    page.locator("#upload-files").set_input_files(str(MIWG))
    page.get_by_role("button", name="Kiểm tra và triển khai").click()
    page.wait_for_url("**/definitions/WFP-6-?version=1")
    assert page.get_by_text("Đang chờ lãnh đạo đơn vị phê duyệt.").is_visible()

    _browser_login(page, "giamdoc")
    page.get_by_role("link", name="Xem xét, phê duyệt thay đổi quy trình").first.click()
    page.get_by_label("Phê duyệt, ban hành phiên bản mới").check()
    page.get_by_role("button", name="Hoàn thành công việc").click()
    page.wait_for_url("**/instances/*")

    page.goto("/units/skhcn-daklak/processes")
    page.get_by_role("link", name="A.1.0").click()
    page.wait_for_selector('#diagram[data-state="ready"]', timeout=15_000)
    assert page.locator('#diagram [data-element-id="_ec59e164-68b4-4f94-98de-ffb1c58a84af"]').count() == 1  # Task 1


def _browser_login(browser_page, username: str) -> None:  # type: ignore[no-untyped-def]
    browser_page.goto("/login")
    browser_page.get_by_label("Tên đăng nhập").fill(username)
    browser_page.get_by_label("Mật khẩu").fill("demo")
    browser_page.get_by_role("button", name="Đăng nhập").click()


def test_eiso_unit_direct_deploy_switches_the_approval_off_and_on(app: Flask) -> None:
    runner = app.test_cli_runner()
    on = runner.invoke(args=["unit", "direct-deploy", "skhcn-daklak", "on"])
    assert on.exit_code == 0 and "go live at once" in on.output
    deployed = runner.invoke(args=["deploy", "--unit", "skhcn-daklak", str(FIXTURES / "rework_loop.bpmn")])
    assert "deployed rework_loop version 1 (Rework loop; active)" in deployed.output
    assert runner.invoke(args=["unit", "direct-deploy", "skhcn-daklak", "off"]).exit_code == 0
    with app.app_context():
        assert db.session.scalars(select(Unit)).one().allow_direct_deploy is False
