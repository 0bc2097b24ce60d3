"""A form sent after its security code ran out, or after the session ended, keeps what the person typed,
says what happened in their language and sends it again at one click; a 413 says the limits.

CSRF protection is on here, as in production (the other web tests switch it off)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from lxml import html
from sqlalchemy import func, select

from engine import CalendarDay
from webapp.extensions import db

NOTE = "Nghỉ bù ngày Giỗ Tổ — ghi chú rất dài mà người dùng đã gõ"


@pytest.fixture
def protected(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def token(client: FlaskClient, path: str) -> str:
    page = html.fromstring(client.get(path).get_data(as_text=True))
    return str(page.xpath("//input[@name='csrf_token']/@value")[0])


def login(client: FlaskClient, username: str) -> FlaskClient:
    response = client.post("/login", data={"csrf_token": token(client, "/login"), "username": username,
                                           "password": "demo"})  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def days(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(CalendarDay)) or 0)


def form_of(page: str) -> tuple[str, dict[str, str]]:
    """The page's form that sends the kept values: its action and its fields."""
    [form] = html.fromstring(page).xpath("//form[contains(@class, 'resend-form')]")
    return str(form.get("action")), {i.get("name"): i.get("value") or "" for i in form.xpath(".//input")}


def later(hours: float) -> time_machine.travel:
    return time_machine.travel(datetime.now() + timedelta(hours=hours), tick=True)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_expired_form_keeps_what_was_typed_and_sends_it_again(protected: Flask, client: FlaskClient) -> None:
    login(client, "admin")
    code = token(client, "/admin/calendar")
    before = days(protected)
    sent = {"csrf_token": code, "day": "2031-04-18", "scope": "province", "kind": "off", "note": NOTE}
    with later(1.5):  # the code is good for an hour; the session, unused for two hours
        refused = client.post("/admin/calendar", data=sent, headers={"Sec-Fetch-Site": "same-origin"})
        assert refused.status_code == 400 and days(protected) == before  # nothing saved
        page = refused.get_data(as_text=True)
        assert "Biểu mẫu của bạn chưa được gửi" in page and "chưa có gì được lưu" in page
        assert NOTE in page  # shown to the person, not only hidden
        action, fields = form_of(page)
        assert action == "/admin/calendar" and fields["note"] == NOTE and fields["day"] == "2031-04-18"
        assert fields["csrf_token"] and fields["csrf_token"] != code  # a fresh code
        resent = client.post(action, data=fields)
    assert resent.status_code == 302 and days(protected) == before + 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_after_the_session_ended_the_page_logs_in_again_and_keeps_the_form(protected: Flask, app: Flask) -> None:
    first = login(app.test_client(), "admin")
    code = token(first, "/admin/calendar")
    before = days(protected)
    browser = app.test_client()  # the session is gone: logged out elsewhere, browser restarted
    sent = {"csrf_token": code, "day": "2031-05-02", "scope": "province", "kind": "off", "note": NOTE}
    refused = browser.post("/admin/calendar", data=sent, headers={"Sec-Fetch-Site": "same-origin"})
    assert refused.status_code == 400 and days(protected) == before
    page = refused.get_data(as_text=True)
    assert "Bạn không còn đăng nhập" in page and NOTE in page
    action, fields = form_of(page)
    assert action == "/login/resume" and fields["_resend_to"] == "/admin/calendar" and fields["note"] == NOTE
    wrong = browser.post(action, data={**fields, "_resume_username": "admin", "_resume_password": "sai"})
    assert wrong.status_code == 401 and NOTE in wrong.get_data(as_text=True)  # still kept
    action, fields = form_of(wrong.get_data(as_text=True))
    logged_in = browser.post(action, data={**fields, "_resume_username": "admin", "_resume_password": "demo"})
    assert logged_in.status_code == 200 and "Bạn đã đăng nhập lại" in logged_in.get_data(as_text=True)
    assert days(protected) == before
    action, fields = form_of(logged_in.get_data(as_text=True))
    assert action == "/admin/calendar" and fields["note"] == NOTE
    assert browser.post(action, data=fields).status_code == 302 and days(protected) == before + 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_passwords_are_typed_again_never_written_into_the_page(protected: Flask, client: FlaskClient) -> None:
    login(client, "thuky")
    code = token(client, "/account/password")
    sent = {"csrf_token": code, "current_password": "demo", "new_password": "mat-khau-moi-26",
            "confirm_password": "mat-khau-moi-26"}  # fmt: skip
    with later(1.5):
        refused = client.post("/account/password", data=sent, headers={"Sec-Fetch-Site": "same-origin"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "demo" not in page and "mat-khau-moi-26" not in page
    _action, fields = form_of(page)
    assert {"current_password", "new_password", "confirm_password"} <= set(fields)  # empty inputs to fill
    assert html.fromstring(page).xpath("//input[@name='new_password']/@type") == ["password"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_form_from_another_site_is_not_offered_again(protected: Flask, client: FlaskClient) -> None:
    login(client, "admin")
    before = days(protected)
    sent = {"day": "2031-06-06", "scope": "province", "kind": "off", "note": "từ trang khác"}
    refused = client.post("/admin/calendar", data=sent, headers={"Sec-Fetch-Site": "cross-site"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and days(protected) == before
    assert "không được gửi từ một trang của eISO" in page and "resend-form" not in page


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_english_reader_reads_it_in_english(protected: Flask, client: FlaskClient) -> None:
    login(client, "admin")
    client.post("/language/en", data={"csrf_token": token(client, "/"), "next": "/"})
    code = token(client, "/admin/calendar")
    with later(1.5):
        refused = client.post("/admin/calendar", data={"csrf_token": code, "note": NOTE},
                              headers={"Sec-Fetch-Site": "same-origin"})  # fmt: skip
    assert "Your form was not sent" in refused.get_data(as_text=True)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_too_large_says_the_limits_and_what_to_do(app: Flask, client: FlaskClient) -> None:
    login(client, "admin")
    limit = app.config["EISO_SETTINGS"].max_upload_mb
    huge = b"0" * ((limit + 6) * 1024 * 1024)
    response = client.post("/definitions/upload", data=huge, content_type="application/octet-stream")
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert f"mỗi tệp tối đa {limit} MB" in page and f"tối đa {limit + 5} MB" in page
    assert "Chưa có gì được lưu" in page and "Hãy quay lại trang trước" in page
