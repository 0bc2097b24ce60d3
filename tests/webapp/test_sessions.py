"""A page session ends when it is not used for a while and, however busy, some hours after the log-in
(settings); its cookie is HttpOnly, SameSite=Lax, ends with the browser, and is Secure over HTTPS or when
eISO's public address is https."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

import webapp.auth
from tests.webapp.conftest import login
from webapp import now


@pytest.mark.parametrize("app_env", [{"EISO_SESSION_IDLE_MINUTES": "30", "EISO_SESSION_MAX_HOURS": "2"}])
def test_a_page_session_ends_when_idle_and_at_its_maximum_age(app_env: dict[str, str], app: Flask,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    start = now()
    browser = login(app.test_client(), "thuky")
    for minutes in (29, 58, 87, 116):  # busy: a click every 29 minutes keeps it, until two hours after log-in
        monkeypatch.setattr(webapp.auth, "now", lambda m=minutes: start + timedelta(minutes=m))
        assert browser.get("/").status_code == 200, minutes
    monkeypatch.setattr(webapp.auth, "now", lambda: start + timedelta(minutes=121))
    assert browser.get("/").headers["Location"].startswith("/login")

    monkeypatch.setattr(webapp.auth, "now", lambda: start)
    idle = login(app.test_client(), "thuky")
    monkeypatch.setattr(webapp.auth, "now", lambda: start + timedelta(minutes=31))
    assert idle.get("/").headers["Location"].startswith("/login")


def _cookie(response: object) -> str:
    return str(response.headers["Set-Cookie"])  # type: ignore[attr-defined]


def test_the_session_cookie_is_for_this_browser_session_and_no_script(client: FlaskClient) -> None:
    cookie = _cookie(client.post("/login", data={"username": "thuky", "password": "demo"}))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Expires=" not in cookie and "Max-Age=" not in cookie  # gone when the browser closes
    assert "Secure" not in cookie  # plain http (a development machine)


@pytest.mark.parametrize("app_env", [{"EISO_PUBLIC_URL": "https://eiso.daklak.gov.vn"}])
def test_the_cookie_is_secure_whenever_the_public_address_is_https(app_env: dict[str, str],
                                                                   client: FlaskClient) -> None:  # fmt: skip
    cookie = _cookie(client.post("/login", data={"username": "thuky", "password": "demo"}))
    assert "; Secure" in cookie and "HttpOnly" in cookie  # even when the proxy in front speaks http to eISO
