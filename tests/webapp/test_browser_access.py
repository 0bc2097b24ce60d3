"""In a real Chromium, in Vietnamese: the pages pass axe-core's accessibility rules, a task form is walked
with the Tab key in the order it is read, and a form sent after its code or its session ran out keeps
what the person typed."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from engine import Deployer
from engine.org.demo import load_demo
from tests.conftest import Clock, deploy_fixture, library_files
from webapp import create_app
from webapp.extensions import db
from webapp.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
TITLE = "Mục tiêu chất lượng năm 2027 của Sở"
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@dataclass
class Site:
    app: Flask
    url: str


@pytest.fixture
def site(tmp_path: Path, clock: Clock, db_url: str) -> Iterator[Site]:
    settings = Settings.from_env({}, instance_path=tmp_path, secret_key="browser-access")  # CSRF on
    app = create_app(settings)
    with app.app_context():
        from engine.db import Base

        Base.metadata.create_all(db.engine)
        load_demo(db.session)
        Deployer(db.session).deploy(library_files(), actor=None, now=clock.now)
        deploy_fixture(db.session, clock.now, "evidence.bpmn", "evidence-start.form", "evidence-attach.form")
        db.session.remove()
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield Site(app, f"http://127.0.0.1:{httpd.server_port}")
    httpd.shutdown()


@pytest.fixture
def browser(site: Site) -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("EISO_REQUIRE_BROWSER") == "1":
            pytest.fail("/usr/bin/chromium is required (apt-get install chromium)")
        pytest.skip("no /usr/bin/chromium on this machine")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )  # fmt: skip
        context = chromium.new_context(base_url=site.url, locale="vi-VN")
        yield context
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Any:
    return browser.new_page()


def log_in(page: Any, user: str) -> None:
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(user)
    page.get_by_label("Mật khẩu").fill("demo")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/")


def open_task_form(page: Any) -> str:
    """The secretary starts the quality-objectives process; its first task form is open. Its address."""
    page.get_by_role("link", name="Khởi tạo quy trình").click()
    page.locator("[data-start=quality_objectives]").click()
    page.wait_for_url("**/tasks/*")
    return str(page.url)


# --- axe-core ----------------------------------------------------------------------------------------------


def violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.1 A/AA and best practice)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(" ") + " :: " + n.failureSummary).slice(0, 5)}));
    }""")
    return [v for v in found if v["impact"] in SERIOUS]


def test_pages_pass_axe_in_vietnamese(site: Site, page: Any) -> None:
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run scripts/setup --dev")
    found: dict[str, list[dict[str, Any]]] = {}

    def check(name: str, path: str | None = None) -> None:
        if path is not None:
            page.goto(path)
        assert page.evaluate("document.documentElement.lang") == "vi"
        if bad := violations(page):
            found[name] = bad

    check("login", "/login")
    check("portal: units", "/units")
    check("portal: processes", "/units/skhcn-daklak/processes")
    check("portal: procedure", "/units/skhcn-daklak/processes/quality_objectives")
    log_in(page, "thuky")
    check("inbox", "/")
    page.get_by_role("link", name="Khởi tạo quy trình").click()
    check("start catalogue")
    page.locator("form[action$='/processes/evidence/start'] button").click()
    page.wait_for_url("**/processes/evidence/start**")
    check("start form")
    page.goto("/")
    open_task_form(page)
    check("task form")
    page.get_by_role("button", name="Hoàn thành công việc").click()  # empty: the form answers with its errors
    check("task form with errors")
    page.goto("/")
    page.get_by_role("link", name="Hệ thống ISO").click()  # the one entry of the ISO system in the top bar
    check("ISO home")
    registers = page.locator("#iso-registers a")
    addresses = [registers.nth(i).get_attribute("href") for i in range(registers.count())]
    assert len(addresses) == 11, addresses  # the secretary reads every register
    for address in addresses:
        check(f"register {address}", address)
    check("library", "/definitions")
    check("upload", "/definitions/upload")
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)


# --- the keyboard --------------------------------------------------------------------------------------------


def test_tab_walks_a_task_form_in_reading_order_to_the_submit_button(page: Any) -> None:
    log_in(page, "thuky")
    open_task_form(page)
    form = page.locator("#task-form")
    first = form.locator("input:not([type=hidden]), select, textarea").first
    first.focus()
    visited: list[dict[str, Any]] = []
    for _ in range(60):
        now = page.evaluate("""() => { const e = document.activeElement, r = e.getBoundingClientRect();
            return {tag: e.tagName, name: e.tagName === "BUTTON" ? e.textContent.trim() : e.name,
                    top: r.top + scrollY, left: r.left, bottom: r.bottom + scrollY,
                    inForm: !!e.closest("#task-form")}; }""")
        visited.append(now)
        if now["tag"] == "BUTTON" and now["name"] == "Hoàn thành công việc":
            break
        page.keyboard.press("Tab")
    names = [v["name"] for v in visited]
    assert names[-1] == "Hoàn thành công việc", names  # the submit button is reached
    assert all(v["inForm"] for v in visited), names  # nothing outside the form in between
    for before, after in zip(visited, visited[1:], strict=False):  # never back up the page, nor left on a row
        same_row = after["top"] < before["bottom"] and before["top"] < after["bottom"]
        assert after["top"] >= before["top"] - 1 if not same_row else after["left"] >= before["left"] - 1, (
            before, after)
    fields = [n for v, n in zip(visited, names, strict=True) if v["tag"] in ("INPUT", "SELECT", "TEXTAREA")]
    assert fields[:2] == ["year", "title"], fields  # the first fields of the form, in order


# --- a form sent too late keeps what was typed -----------------------------------------------------------------


def fill_draft(page: Any) -> None:
    page.get_by_label("Năm áp dụng").fill("2027")
    page.get_by_label("Tên bộ mục tiêu").fill(TITLE)
    page.get_by_label("Mục tiêu*", exact=True).fill("100% hồ sơ giải quyết đúng hạn")
    page.get_by_label("Chỉ tiêu và cách đo lường").fill("Tỷ lệ đúng hạn ≥ 100%")
    page.get_by_label("Phòng chịu trách nhiệm").select_option("vp")
    page.get_by_label("Thời hạn hoàn thành").fill("2027-12-31")


def sent_title(site: Site) -> Any:
    """The title the completed draft task wrote into the process."""
    from sqlalchemy import select

    from engine import HistoryEvent

    with site.app.app_context():
        changed = db.session.scalar(select(HistoryEvent.data).where(HistoryEvent.kind == "task_completed"))
        db.session.remove()
    return (changed or {}).get("changed", {}).get("title", {}).get("to")


def test_a_task_form_sent_after_its_code_expired_keeps_the_typed_text(site: Site, page: Any) -> None:
    # An hour in production. The code carries whole seconds, so a code is surely expired only when
    # more than limit + 1 seconds have passed since the page was made.
    log_in(page, "thuky")  # first: on a busy machine the log-in form itself could outlive a second
    site.app.config["WTF_CSRF_TIME_LIMIT"] = 1
    open_task_form(page)
    fill_draft(page)
    page.wait_for_timeout(3000)
    page.get_by_role("button", name="Hoàn thành công việc").click()
    page.get_by_role("heading", name="Biểu mẫu của bạn chưa được gửi").wait_for()
    site.app.config["WTF_CSRF_TIME_LIMIT"] = 3600  # the new code must not expire before the click below
    assert page.get_by_text(TITLE).is_visible()  # what was typed is still there, on screen
    if AXE.exists():
        assert violations(page) == []
    page.get_by_role("button", name="Gửi lại").click()
    page.wait_for_url("**/instances/*")
    assert page.get_by_text("Đã hoàn thành công việc").is_visible() and sent_title(site) == TITLE
    assert sent_title(site) == TITLE  # the typed text reached the process


def test_a_task_form_sent_after_the_session_ended_logs_in_again_and_keeps_the_typed_text(
    site: Site, browser: Any, page: Any
) -> None:
    log_in(page, "thuky")
    open_task_form(page)
    fill_draft(page)
    browser.clear_cookies()  # the session is gone (logged out elsewhere, the browser forgot it)
    page.get_by_role("button", name="Hoàn thành công việc").click()
    page.get_by_role("heading", name="Biểu mẫu của bạn chưa được gửi").wait_for()
    assert page.get_by_text(TITLE).is_visible()
    page.get_by_label("Tên đăng nhập").fill("thuky")
    page.get_by_label("Mật khẩu").fill("demo")
    page.get_by_role("button", name="Đăng nhập và giữ biểu mẫu của tôi").click()
    page.get_by_text("Bạn đã đăng nhập lại").wait_for()
    assert page.get_by_text(TITLE).is_visible()
    page.get_by_role("button", name="Gửi lại").click()
    page.wait_for_url("**/instances/*")
    assert page.get_by_text("Đã hoàn thành công việc").is_visible() and sent_title(site) == TITLE
