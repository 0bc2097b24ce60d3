"""A real Chromium, driven by Playwright, logs in and completes a task on a real server."""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from engine import Deployer
from engine.org.demo import load_demo
from tests.conftest import Clock, deploy_fixture, library_files
from webapp import create_app
from webapp.extensions import db
from webapp.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path, clock: Clock) -> Iterator[str]:
    settings = Settings.from_env({}, instance_path=tmp_path, secret_key="browser-test")  # CSRF on, as in production
    app = create_app(settings)
    with app.app_context():
        from engine.db import Base

        Base.metadata.create_all(db.engine)
        load_demo(db.session)
        Deployer(db.session).deploy(library_files(), actor=None, now=clock.now)
        deploy_fixture(db.session, clock.now, "evidence.bpmn", "evidence-start.form", "evidence-attach.form")
        db.session.remove()
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture
def page(server: str) -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("EISO_REQUIRE_BROWSER") == "1":
            pytest.fail("/usr/bin/chromium is required (apt-get install chromium)")
        pytest.skip("no /usr/bin/chromium on this machine")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )  # fmt: skip
        context = browser.new_context(base_url=server, locale="vi-VN")
        yield context.new_page()
        browser.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_secretary_logs_in_and_submits_the_draft(page, db_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    page.get_by_label("Tên đăng nhập").fill("thuky")
    page.get_by_label("Mật khẩu").fill("demo")
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Khởi tạo quy trình").click()
    page.locator("[data-start=quality_objectives]").click()

    assert not page.get_by_text("Lãnh đạo trả lại dự thảo").is_visible()  # only shown after a return
    page.get_by_label("Năm áp dụng").fill("2027")
    page.evaluate("window.stillHere = true")
    page.get_by_label("Năm áp dụng").press("Enter")  # Enter in a one-line field does not send the form
    page.wait_for_timeout(300)
    assert page.evaluate("window.stillHere === true")  # the page was not sent and reloaded
    page.get_by_label("Tên bộ mục tiêu").fill("Mục tiêu chất lượng năm 2027")
    page.get_by_label("Mục tiêu*", exact=True).fill("100% hồ sơ giải quyết đúng hạn")
    page.get_by_label("Chỉ tiêu và cách đo lường").fill("Tỷ lệ đúng hạn ≥ 100%")
    page.get_by_label("Phòng chịu trách nhiệm").select_option("vp")
    page.get_by_label("Thời hạn hoàn thành").fill("2027-12-31")
    page.get_by_role("button", name="Hoàn thành công việc").click()

    page.wait_for_url("**/instances/*")
    assert page.get_by_text("Đã hoàn thành công việc").is_visible()
    assert page.locator("tr.task-open").get_by_text("Xem xét, phê duyệt mục tiêu").is_visible()


def _basic(user: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:demo".encode()).decode()}


def _login(page, user: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(user)
    page.get_by_label("Mật khẩu").fill("demo")
    page.get_by_role("button", name="Đăng nhập").click()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_conditional_field_dynamic_list_error_and_fix(page, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _login(page, "thuky")
    page.goto("/processes")
    page.locator("form[action$='/processes/evidence/start'] button").click()

    reason = page.get_by_label("Lý do khẩn*")
    assert not reason.is_visible()
    page.get_by_role("checkbox", name="Khẩn").check()
    reason.wait_for(state="visible")  # shown while typing, by the server's FEEL evaluation
    reason.fill("Đoàn đánh giá đến vào thứ Hai")
    page.get_by_label("Nội dung*").fill("Biên bản họp xem xét của lãnh đạo")
    page.get_by_label("Loại minh chứng*").select_option("other")
    page.get_by_role("button", name="Khởi tạo").click()

    page.wait_for_url("**/tasks/*")
    assert page.get_by_label("Giải thích*").is_visible()  # kind is "other"
    page.get_by_role("button", name="Thêm dòng").click()
    page.get_by_label("Tên tài liệu*").first.fill("Biên bản số 3")
    evidence = tmp_path / "bien-ban.pdf"
    evidence.write_bytes(b"%PDF-1.4\n%%EOF\n")
    page.get_by_label("Tệp minh chứng*").set_input_files(str(evidence))
    page.get_by_label("Giải thích*").fill("Bản scan có chữ ký")
    page.get_by_role("button", name="Hoàn thành công việc").click()

    error = page.locator(".field-error")
    assert error.count() == 1 and "bắt buộc" in error.inner_text()  # the empty second row
    assert page.get_by_label("Tên tài liệu*").first.input_value() == "Biên bản số 3"  # input kept
    assert page.get_by_text("bien-ban.pdf").is_visible()  # and the file too
    page.get_by_label("Tên tài liệu*").nth(1).fill("Danh sách tham dự")
    page.get_by_role("button", name="Hoàn thành công việc").click()

    page.wait_for_url("**/instances/*")
    assert page.get_by_text("Đã hoàn thành công việc").is_visible()
    assert page.get_by_role("link", name="bien-ban.pdf").first.is_visible()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_diagram_and_upload_page_scripts_run_under_the_content_security_policy(page, db_url: str) -> None:  # type: ignore[no-untyped-def]
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    _login(page, "thuky")
    response = page.goto("/definitions/quality_objectives")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.locator(".diagram-canvas svg .djs-element").first.wait_for()  # bpmn-js drew the diagram
    page.locator("[data-zoom=in]").first.click()

    started = page.request.post("/api/v1/process-definitions/quality_objectives/start", headers=_basic("thuky"),
                                data={"variables": {}})
    assert started.status == 201, started.text()
    page.goto(f"/instances/{started.json()['id']}")
    page.get_by_role("link", name="Xem trên sơ đồ").click()
    page.locator(".diagram-canvas .diagram-badge").first.wait_for()  # the open task's overlay
    page.locator("[data-zoom=fit]").first.click()

    page.goto("/definitions/upload")
    page.locator("#upload-files").set_input_files([{"name": "a.bpmn", "mimeType": "text/xml", "buffer": b"<x/>"}])
    assert page.locator(".dropzone-files").inner_text() == "a.bpmn"  # the page's script ran
    assert refused == []


def test_pages_fit_a_phone(page) -> None:  # type: ignore[no-untyped-def]
    """At 390 px wide nothing makes the page scroll sideways: tables scroll inside their own box."""
    page.set_viewport_size({"width": 390, "height": 844})
    wide: dict[str, int] = {}

    def check(path: str) -> None:
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide[path] = width

    check("/units")
    check("/units/skhcn-daklak/objectives")
    check("/units/skhcn-daklak/processes")
    _login(page, "thuky")
    page.get_by_role("link", name="Khởi tạo quy trình").click()
    page.locator("[data-start=quality_objectives]").click()
    check(page.url)  # the task form
    heading = page.locator(".print-heading")
    assert not heading.is_visible()
    page.emulate_media(media="print")  # printed, it carries the national heading and the agency's name
    assert heading.is_visible() and "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in heading.inner_text()
    assert "SỞ KHOA HỌC VÀ CÔNG NGHỆ TỈNH ĐẮK LẮK" in heading.inner_text()
    page.emulate_media(media="screen")
    check("/")
    check("/instances")
    check("/definitions")
    check("/iso")  # the ISO home page and its list of registers
    for register in ("/iso/policies", "/iso/objectives", "/iso/reviews", "/iso/reviews/actions", "/iso/audits",
                     "/iso/audits/findings", "/iso/corrective-actions", "/iso/risks", "/iso/documents",
                     "/iso/complaints", "/iso/assignments"):  # their filters wrap, their tables scroll  # fmt: skip
        check(register)
    assert wide == {}


def test_the_organisation_pages_fit_a_phone_and_the_import_works_from_the_page(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An administrator on a 390 px phone: no organisation page scrolls sideways; a sheet chosen in the file
    input is checked and its report shown; a leaver is switched off with the page's button."""
    page.set_viewport_size({"width": 390, "height": 844})
    _login(page, "admin")
    page.get_by_role("link", name="Tổ chức").click()
    page.get_by_role("link", name="Sở Khoa học và Công nghệ tỉnh Đắk Lắk").first.click()
    unit_page = page.url
    wide: dict[str, int] = {}

    def check(path: str) -> None:
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide[path] = width

    for path in (unit_page, f"{unit_page}/people", f"{unit_page}/people/new", f"{unit_page}/import",
                 "/organisation", "/organisation/units/new", "/organisation/audit"):
        check(path)
    assert wide == {}
    sheet = tmp_path / "nhan-su.csv"
    sheet.write_text("username,full_name,department,roles\nmaihoa,Mai Hoa,vp,specialist\nthuky,Trùng,,\n",
                     encoding="utf-8")
    page.goto(f"{unit_page}/import")
    page.locator("#import-file").set_input_files(str(sheet))
    page.get_by_role("button", name="Chỉ kiểm tra").click()
    report = page.locator("#refused-rows").inner_text()
    assert "Tên đăng nhập 'thuky' đã có người dùng" in report
    page.goto(f"{unit_page}/people")
    page.get_by_role("link", name="Vũ Minh Tuấn").click()
    page.get_by_role("button", name="Khóa tài khoản").click()
    assert "Đã khóa tài khoản của Vũ Minh Tuấn" in page.locator("main").inner_text()
