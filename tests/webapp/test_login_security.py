"""What a password guesser, a cookie thief and a phishing link meet at the log-in: limits per account
and per address kept in the database (several server processes count together), answers that take
as long for unknown names, sessions that end at log-out and password change, and no way off-site."""

from __future__ import annotations

import base64
import statistics
import time
from datetime import timedelta
from urllib.parse import quote, unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient

import webapp.auth
from tests.webapp.conftest import basic, login
from webapp import create_app, now

LOCKED_VI = "Đăng nhập sai quá nhiều lần"


def _try(client: FlaskClient, username: str, password: str = "wrong", address: str = "203.0.113.7") -> object:
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})  # fmt: skip


def test_five_wrong_passwords_lock_the_account_for_a_while(client: FlaskClient,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    answers = [_try(client, "thuky") for _ in range(5)]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]  # type: ignore[attr-defined]
    locked = _try(client, "thuky", "demo")  # even the right password, from anywhere
    page = locked.get_data(as_text=True)  # type: ignore[attr-defined]
    assert locked.status_code == 429 and LOCKED_VI in page and "15 phút" in page  # type: ignore[attr-defined]
    assert _try(client, "thuky", "demo", address="198.51.100.9").status_code == 429  # type: ignore[attr-defined]
    assert _try(client, "giamdoc", "demo").status_code == 302  # type: ignore[attr-defined]  # others go on

    later = now() + timedelta(minutes=16)
    monkeypatch.setattr(webapp.auth, "now", lambda: later)
    assert _try(client, "thuky", "demo").status_code == 302  # type: ignore[attr-defined]


def test_one_address_guessing_many_names_is_locked(client: FlaskClient) -> None:
    for n in range(20):
        _try(client, f"nobody{n}")
    assert _try(client, "giamdoc", "demo").status_code == 429  # type: ignore[attr-defined]
    assert _try(client, "giamdoc", "demo", address="198.51.100.9").status_code == 302  # type: ignore[attr-defined]


def test_two_server_processes_count_the_same_failures(app: Flask) -> None:
    other = create_app(app.config["EISO_SETTINGS"])  # a second process on the same database
    for n in range(5):
        _try((app if n % 2 else other).test_client(), "truongphong")
    assert _try(app.test_client(), "truongphong", "demo").status_code == 429  # type: ignore[attr-defined]
    assert _try(other.test_client(), "truongphong", "demo").status_code == 429  # type: ignore[attr-defined]


def test_the_api_answers_429_with_retry_after(client: FlaskClient) -> None:
    wrong = {"Authorization": "Basic " + base64.b64encode(b"admin:wrong").decode(), "Accept-Language": "en"}
    answers = [client.get("/api/v1/tasks", headers=wrong) for _ in range(5)]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    locked = client.get("/api/v1/tasks", headers={**basic("admin"), "Accept-Language": "en"})
    assert locked.status_code == 429 and "Too many failed log-in attempts" in locked.json["message"]
    assert 840 <= int(locked.headers["Retry-After"]) <= 900
    camunda = client.get("/engine-rest/deployment", headers=basic("admin"))
    assert camunda.status_code == 429 and "Retry-After" in camunda.headers


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_unknown_name_takes_as_long_as_a_wrong_password(client: FlaskClient) -> None:
    def timed(username: str, address: str) -> float:
        started = time.perf_counter()
        _try(client, username, address=address)
        return time.perf_counter() - started

    _try(client, "nobody", address="192.0.2.1")  # the first unknown name makes the dummy hash once
    known = [timed(name, "192.0.2.2") for name in ("giamdoc", "phogiamdoc", "truongphong", "chuyenvien")]
    unknown = [timed(f"nobody-{n}", "192.0.2.3") for n in range(4)]
    assert statistics.median(unknown) > 0.5 * statistics.median(known)


def test_a_copied_cookie_is_worthless_after_logout(app: Flask) -> None:
    client = login(app.test_client(), "thuky")
    stolen = client.get_cookie("session")
    assert stolen is not None
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("session", stolen.value)
    response = thief.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_changing_the_password_logs_out_every_other_session(app: Flask) -> None:
    here, elsewhere = login(app.test_client(), "thuky"), login(app.test_client(), "thuky")
    form = {"current_password": "demo", "new_password": "mat-khau-moi", "confirm_password": "mat-khau-moi"}
    wrong = here.post("/account/password", data={**form, "current_password": "nope"})
    assert wrong.status_code == 422 and "Mật khẩu hiện tại không đúng" in wrong.get_data(as_text=True)
    short = here.post("/account/password", data={**form, "new_password": "ngan", "confirm_password": "ngan"})
    assert short.status_code == 422 and "ít nhất 8 ký tự" in short.get_data(as_text=True)

    changed = here.post("/account/password", data=form)
    assert changed.status_code == 302
    assert here.get("/").status_code == 200  # the browser that changed it stays logged in
    assert "/login" in elsewhere.get("/").headers["Location"]
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": "thuky", "password": "demo"}).status_code == 401
    assert fresh.post("/login", data={"username": "thuky", "password": "mat-khau-moi"}).status_code == 302


@pytest.mark.parametrize("target", [
    "/%09/evil.example", "//evil.example", "/\\evil.example", "\\\\evil.example", "https://evil.example/",
    "/%0d%0a/evil.example", "javascript:alert(1)", "evil.example", "/%E2%80%8B/evil.example",
])  # fmt: skip
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_after_login_no_next_address_leads_off_site(client: FlaskClient, target: str) -> None:
    response = client.post(f"/login?next={target}", data={"username": "thuky", "password": "demo"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    back = client.post("/language/en", data={"next": unquote(target)})
    assert back.headers["Location"] == "/"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_local_next_address_is_kept(client: FlaskClient) -> None:
    target = "/processes?sort=" + quote("priority")
    response = client.post(f"/login?next={quote(target)}", data={"username": "thuky", "password": "demo"})
    assert response.headers["Location"] == target
