"""What another site can make a browser do to eISO, and what a browser is told about eISO's pages:
security headers, cross-site requests to the API refused, no Basic-auth prompt for pages, Secure
cookies over HTTPS, and download names that carry no path or header of their own."""

from __future__ import annotations

import base64
import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.runtime.models import ProcessInstance
from tests.webapp.conftest import basic, login
from webapp.extensions import db

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # nothing here depends on the database
START = "/api/v1/process-definitions/quality_objectives/start"
CACHED = basic("thuky")  # what a browser adds by itself once the user typed the password into its dialog


def _instances(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(ProcessInstance)) or 0)


def test_pages_forbid_framing_sniffing_and_foreign_scripts(client: FlaskClient) -> None:
    for page in (client.get("/login"), login(client, "thuky").get("/"), client.get("/api/v1/openapi.json")):
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Referrer-Policy"] == "same-origin"
    assert "<script>" not in client.get("/definitions/upload").get_data(as_text=True)  # inline script is refused


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},  # <form> post
    {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},
    {"Origin": "https://evil.example"},  # a browser without Sec-Fetch-*
    {"Origin": "null"},  # a sandboxed frame
])  # fmt: skip
def test_another_sites_form_cannot_use_cached_credentials(app: Flask, client: FlaskClient,
                                                          headers: dict[str, str]) -> None:  # fmt: skip
    response = client.post(START, headers={**CACHED, **headers, "Accept-Language": "en"},
                           data={"unit_id": "1"}, content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert response.status_code == 403 and ("JSON" in response.json["message"])
    text_plain = client.post("/engine-rest/message", headers={**CACHED, **headers}, content_type="text/plain",
                             data='{"messageName": "x"}')  # fmt: skip
    assert text_plain.status_code == 403 and text_plain.json["type"] == "AuthorizationException"
    assert _instances(app) == 0


def test_programs_and_preflighted_scripts_still_reach_the_api(app: Flask, client: FlaskClient) -> None:
    assert client.post(START, headers=CACHED, json={"unit_id": 1}).status_code == 201  # curl, a worker
    assert client.post("/api/v1/tasks/none/claim", headers=CACHED).status_code == 404  # no body at all
    cors = {"Origin": "https://portal.example", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}
    assert client.post(START, headers={**CACHED, **cors}, json={"unit_id": 1}).status_code == 201  # JSON: preflighted
    assert _instances(app) == 2


def test_a_browser_is_never_asked_for_api_credentials(client: FlaskClient) -> None:
    program = client.get("/api/v1/tasks")
    assert program.status_code == 401 and program.headers["WWW-Authenticate"].startswith("Basic")
    typed_in_address_bar = client.get("/api/v1/tasks", headers={"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "none"})
    assert typed_in_address_bar.status_code == 401 and "WWW-Authenticate" not in typed_in_address_bar.headers
    from_own_page = client.get("/engine-rest/deployment", headers={"Sec-Fetch-Site": "same-origin",
                                                                   "Sec-Fetch-Mode": "cors"})  # fmt: skip
    assert from_own_page.status_code == 401 and "WWW-Authenticate" not in from_own_page.headers


def test_session_cookie_is_secure_over_https_only(client: FlaskClient) -> None:
    form = {"username": "thuky", "password": "demo"}
    plain = client.post("/login", data=form)
    assert "Secure" not in plain.headers["Set-Cookie"] and "HttpOnly" in plain.headers["Set-Cookie"]
    https = client.post("/login", data=form, base_url="https://eiso.example")
    assert "; Secure" in https.headers["Set-Cookie"] and "SameSite=Lax" in https.headers["Set-Cookie"]
    assert https.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("app_env", [{"EISO_PROXY_COUNT": "1"}])
def test_behind_a_proxy_its_forwarded_https_and_address_count(app_env: dict[str, str], client: FlaskClient) -> None:
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.50"}
    https = client.post("/login", data={"username": "thuky", "password": "demo"}, headers=proxied)
    assert "; Secure" in https.headers["Set-Cookie"]
    for _ in range(5):
        client.post("/login", data={"username": "giamdoc", "password": "x"}, headers=proxied)
    assert client.post("/login", data={"username": "giamdoc", "password": "demo"},
                       headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 429  # fmt: skip
    for n in range(20):
        client.post("/login", data={"username": f"n{n}", "password": "x"}, headers=proxied)
    assert client.post("/login", data={"username": "phogiamdoc", "password": "demo"},
                       headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 302  # another client  # fmt: skip


def test_a_downloaded_upload_keeps_its_vietnamese_name_and_loses_its_path(app: Flask, client: FlaskClient) -> None:
    with open("tests/fixtures/rework_loop.bpmn", "rb") as fh:
        content = fh.read()
    admin = {"Authorization": "Basic " + base64.b64encode(b"admin:demo").decode()}
    deployed = client.post("/api/v1/deployments", headers=admin, data={
        "files": [(io.BytesIO(content.replace(b'id="rework_loop"', b'id="muc_tieu"')),
                   "../Mục tiêu\x07.bpmn")]})  # fmt: skip
    assert deployed.status_code == 201, deployed.json
    login(client, "admin")
    page = client.get("/definitions/muc_tieu").get_data(as_text=True)
    url = re.search(r'href="(/definitions/muc_tieu/versions/1/files/\d+)"[^>]*>[^<]*bpmn<', page).group(1)  # type: ignore[union-attr]
    header = client.get(url).headers["Content-Disposition"]
    assert "/" not in header.split("filename*=")[0] and "\x07" not in header
    assert header.endswith("filename*=UTF-8''M%E1%BB%A5c%20ti%C3%AAu.bpmn")
