"""Single sign-on through a real OpenID provider (oidc-provider under Node) over real HTTP: a `requests`
session is the person's browser, eISO runs on a port of its own, and everything between eISO and the
provider (discovery, JWKS, token, UserInfo, end-session) goes over the wire as in production."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import select

import webapp.auth
from engine import ExternalIdentity, RoleAssignment, Unit, User
from engine.org.login_sessions import LoginSession
from tests.conftest import Clock, make_unit
from tests.webapp.oidc_provider import CLIENT_ID, OidcProvider, eiso_server, sso_env
from webapp.extensions import db
from webapp.extensions import now as real_now

PASSWORD = "pw-provider"  # noqa: S105 - the test provider's accounts


class Eiso:
    def __init__(self, url: str, app: Flask) -> None:
        self.url, self.app = url, app

    def one(self, stmt: Any) -> Any:
        """The first row's value; loaded objects stay readable after the session closed."""
        with self.app.app_context():
            return db.session.scalar(stmt)

    def all(self, stmt: Any) -> list[Any]:
        with self.app.app_context():
            return [tuple(row) for row in db.session.execute(stmt)]

    def user(self, username: str) -> User | None:
        return self.one(select(User).where(User.username == username))  # type: ignore[no-any-return]

    def roles(self, username: str) -> set[tuple[str, str, str | None]]:
        from engine import Department

        rows = self.all(select(Unit.code, RoleAssignment.role, Department.code)
                        .join(Unit, Unit.id == RoleAssignment.unit_id)
                        .join(User, User.id == RoleAssignment.user_id)
                        .outerjoin(Department, Department.id == RoleAssignment.department_id)
                        .where(User.username == username))  # fmt: skip
        return {(u, r, d) for u, r, d in rows}

    def counts(self) -> tuple[int, int, int, int]:
        from sqlalchemy import func

        with self.app.app_context():
            return (db.session.scalar(select(func.count(User.id))) or 0,
                    db.session.scalar(select(func.count(ExternalIdentity.id))) or 0,
                    db.session.scalar(select(func.count(RoleAssignment.id))) or 0,
                    db.session.scalar(select(func.count(LoginSession.id))) or 0)  # fmt: skip


@pytest.fixture
def env() -> dict[str, str]:
    """More EISO_OIDC_* settings for a test (parametrize ``env`` to change them)."""
    return {}


@pytest.fixture
def eiso(provider: OidcProvider, tmp_path: Path, clock: Clock, env: dict[str, str]) -> Iterator[Eiso]:
    for url, app in eiso_server(provider, tmp_path, clock, sso_env(provider, **env)):
        yield Eiso(url, app)


@pytest.fixture
def browser() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["Accept-Language"] = "vi"
        yield session


def who(page: requests.Response) -> str | None:
    found = re.search(r'<a class="who"[^>]*>([^<]+)</a>', page.text)
    return found.group(1) if found else None


def form_action(page: requests.Response, ending: str) -> str:
    found = re.search(rf'action="([^"]*{ending})"', page.text)
    assert found, page.text
    return urljoin(page.url, found.group(1).replace("&amp;", "&"))


def csrf(page: requests.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def provider_sign_in(browser: requests.Session, page: requests.Response, login: str,
                     password: str = PASSWORD) -> requests.Response:  # fmt: skip
    assert "Sign in to the provider" in page.text, page.text
    return browser.post(form_action(page, "/login"), data={"login": login, "password": password})


def consent(browser: requests.Session, page: requests.Response, allow: bool = True) -> requests.Response:
    assert "Allow access" in page.text, page.text
    return browser.post(form_action(page, "/confirm" if allow else "/abort"))


def sso_login(browser: requests.Session, eiso: Eiso, login: str, next_path: str = "") -> requests.Response:
    """The whole log-in as a person does it: eISO's button, the provider's form, consent when asked."""
    page = browser.get(f"{eiso.url}/login/oidc" + (f"?{urlencode({'next': next_path})}" if next_path else ""))
    if "Sign in to the provider" in page.text:
        page = provider_sign_in(browser, page, login)
    if "Allow access" in page.text:
        page = consent(browser, page)
    return page


def up_to_callback(browser: requests.Session, eiso: Eiso, login: str) -> str:
    """Sign in at the provider, but stop where it sends the browser back to eISO: the callback address."""
    page = browser.get(f"{eiso.url}/login/oidc")
    page = provider_sign_in(browser, page, login)
    if "Allow access" in page.text:
        page = browser.post(form_action(page, "/confirm"), allow_redirects=False)
    while not page.headers.get("Location", "").startswith(f"{eiso.url}/login/oidc/callback"):
        assert page.is_redirect, page.text
        page = browser.get(urljoin(page.url, page.headers["Location"]), allow_redirects=False)
    return page.headers["Location"]


def thuky_at_provider(provider: OidcProvider, **claims: Any) -> None:
    profile = {"preferred_username": "thuky", "name": "Lê Thị Mai Anh", "email": "thuky@skhcn.example.vn",
               "email_verified": True}  # fmt: skip
    provider.add("kc-0001", PASSWORD, **{**profile, **claims})


# --- logging in ------------------------------------------------------------------------------------------------


def test_the_log_in_page_offers_the_provider_and_the_password(eiso: Eiso, browser: requests.Session) -> None:
    page = browser.get(f"{eiso.url}/login?next=/instances")
    assert "Đăng nhập bằng Keycloak tỉnh" in page.text
    assert 'href="/login/oidc?next=/instances"' in page.text
    assert 'name="password"' in page.text  # local accounts stay unless switched off


def test_a_person_logs_in_through_the_provider_with_pkce_state_and_nonce(eiso: Eiso, provider: OidcProvider,
                                                                       browser: requests.Session) -> None:  # fmt: skip
    thuky_at_provider(provider)
    started = browser.get(f"{eiso.url}/login/oidc?next=/instances", allow_redirects=False)
    assert started.status_code == 302
    asked = urlsplit(started.headers["Location"])
    query = parse_qs(asked.query)
    assert f"{asked.scheme}://{asked.netloc}" == provider.issuer and asked.path == "/auth"
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert query["redirect_uri"] == [f"{eiso.url}/login/oidc/callback"]
    assert query["scope"] == ["openid profile email groups"]

    page = browser.get(started.headers["Location"])
    page = consent(browser, provider_sign_in(browser, page, "thuky"))
    assert page.status_code == 200 and page.url == f"{eiso.url}/instances"  # where the person was going
    assert who(page) == "Lê Thị Mai Anh"

    thuky = eiso.user("thuky")
    assert thuky is not None
    link = eiso.one(select(ExternalIdentity).where(ExternalIdentity.user_id == thuky.id))
    assert (link.issuer, link.subject) == (provider.issuer, "kc-0001")
    opened = eiso.one(select(LoginSession).where(LoginSession.user_id == thuky.id))
    assert opened.id_token and opened.id_token.count(".") == 2  # kept for signing out at the provider
    assert timedelta(hours=9, minutes=59) < opened.ends_at - opened.created_at <= timedelta(hours=10)


def test_a_changed_user_name_at_the_provider_is_still_the_same_person(eiso: Eiso, provider: OidcProvider,
                                                                      browser: requests.Session) -> None:  # fmt: skip
    thuky_at_provider(provider)
    assert who(sso_login(browser, eiso, "thuky")) == "Lê Thị Mai Anh"
    before = eiso.counts()
    thuky_at_provider(provider, preferred_username="mai.anh", name="Lê Thị Mai Anh (Văn phòng)")
    with requests.Session() as other_browser:
        page = sso_login(other_browser, eiso, "mai.anh")
    assert who(page) == "Lê Thị Mai Anh (Văn phòng)"  # the name follows the provider
    assert eiso.user("mai.anh") is None
    users, links, roles, _ = eiso.counts()
    assert (users, links, roles) == before[:3]


def test_a_person_already_known_by_name_to_another_provider_account_is_refused(
        eiso: Eiso, provider: OidcProvider, browser: requests.Session) -> None:  # fmt: skip
    thuky_at_provider(provider)
    sso_login(browser, eiso, "thuky")
    provider.add("kc-0002", PASSWORD, preferred_username="thuky2", name="Người khác")
    provider.accounts["kc-0002"].claims["preferred_username"] = "thuky"  # the name given again at the provider
    provider.accounts["kc-0001"].claims["preferred_username"] = "thuky.old"
    provider.save()
    before = eiso.counts()
    with requests.Session() as other_browser:
        page = sso_login(other_browser, eiso, "kc-0002")
    assert page.status_code == 403 and "thuky thuộc về một tài khoản khác" in page.text
    assert who(page) is None and eiso.counts() == before


@pytest.mark.parametrize("env", [{"EISO_OIDC_CREATE_USERS": "on", "EISO_OIDC_NEW_USER_UNIT": "skhcn-daklak",
                                  "EISO_OIDC_NEW_USER_DEPARTMENT": "qlkh"}])  # fmt: skip
def test_a_new_person_is_created_in_the_configured_unit_when_allowed(eiso: Eiso, provider: OidcProvider,
                                                                     browser: requests.Session) -> None:  # fmt: skip
    provider.add("kc-0100", PASSWORD, preferred_username="nguyen.van.binh", name="Nguyễn Văn Bình",
                 email="binh@skhcn.example.vn", email_verified=True)  # fmt: skip
    page = sso_login(browser, eiso, "nguyen.van.binh")
    assert page.url == f"{eiso.url}/" and who(page) == "Nguyễn Văn Bình"
    binh = eiso.user("nguyen.van.binh")
    assert binh is not None and binh.email == "binh@skhcn.example.vn" and binh.is_active
    assert eiso.roles("nguyen.van.binh") == {("skhcn-daklak", "specialist", "qlkh")}
    with requests.Session() as other_browser:  # no password anybody knows: the provider is the way in
        form = other_browser.get(f"{eiso.url}/login")
        password = other_browser.post(f"{eiso.url}/login", data={"username": "nguyen.van.binh", "password": "",
                                                                 "csrf_token": csrf(form)})  # fmt: skip
    assert password.status_code == 401


def test_an_unknown_person_is_refused_when_creation_is_not_allowed(eiso: Eiso, provider: OidcProvider,
                                                                   browser: requests.Session) -> None:  # fmt: skip
    provider.add("kc-0101", PASSWORD, preferred_username="tran.thi.c", name="Trần Thị C")
    before = eiso.counts()
    page = sso_login(browser, eiso, "tran.thi.c")
    assert page.status_code == 403
    assert "Chưa có tài khoản eISO cho tran.thi.c" in page.text and "quản trị" in page.text
    assert who(page) is None and eiso.counts() == before
    assert browser.get(f"{eiso.url}/instances", allow_redirects=False).status_code == 302  # not logged in


def test_a_person_switched_off_in_eiso_cannot_come_in_through_the_provider(
        eiso: Eiso, provider: OidcProvider, browser: requests.Session) -> None:  # fmt: skip
    thuky_at_provider(provider)
    with eiso.app.app_context():
        db.session.scalar(select(User).where(User.username == "thuky")).is_active = False  # type: ignore[union-attr]
        db.session.commit()
    before = eiso.counts()
    page = sso_login(browser, eiso, "thuky")
    assert page.status_code == 403 and "Tài khoản eISO thuky đang bị khóa" in page.text
    assert eiso.counts() == before


@pytest.mark.parametrize("env", [{"EISO_OIDC_MATCH_CLAIM": "email"}])
def test_people_are_matched_by_the_configured_claim(eiso: Eiso, provider: OidcProvider,
                                                    browser: requests.Session) -> None:  # fmt: skip
    provider.add("kc-0200", PASSWORD, preferred_username="lan.ht", name="Hoàng Thị Lan",
                 email="CHUYENVIEN@skhcn.example.vn", email_verified=True)  # fmt: skip
    provider.add("kc-0201", PASSWORD, preferred_username="giamdoc", name="Not the director",
                 email="someone.else@example.vn", email_verified=True)  # fmt: skip
    assert who(sso_login(browser, eiso, "lan.ht")) == "Hoàng Thị Lan"
    assert eiso.user("lan.ht") is None
    with requests.Session() as other_browser:
        page = sso_login(other_browser, eiso, "giamdoc")  # the same user name as eISO's director, another e-mail
    assert page.status_code == 403 and who(page) is None


@pytest.mark.parametrize("env", [{"EISO_OIDC_MATCH_CLAIM": "email"}])
def test_an_unverified_e_mail_finds_nobody(eiso: Eiso, provider: OidcProvider, browser: requests.Session) -> None:
    provider.add("kc-0202", PASSWORD, preferred_username="x", email="giamdoc@skhcn.example.vn", email_verified=False)
    page = sso_login(browser, eiso, "x")
    assert page.status_code == 403 and "chưa xác minh địa chỉ e-mail" in page.text and who(page) is None


# --- roles from the provider --------------------------------------------------------------------------------


@pytest.fixture
def role_map(tmp_path: Path) -> str:
    path = tmp_path / "roles.json"
    path.write_text(json.dumps({
        "/eiso/skhcn/thu-ky": {"unit": "skhcn-daklak", "role": "iso_secretary"},
        "/eiso/skhcn/qlkh": [{"unit": "skhcn-daklak", "role": "department_head", "department": "qlkh"}],
        "/eiso/bmt/lanh-dao": {"unit": "ubnd-buonmathuot", "role": "unit_leader"},
        "/eiso/khong-co": {"unit": "khong-co-don-vi", "role": "specialist"},
    }))  # fmt: skip
    return str(path)


def test_roles_from_the_claim_are_synchronised_per_unit_at_each_log_in(
        provider: OidcProvider, tmp_path: Path, clock: Clock, role_map: str) -> None:  # fmt: skip
    env = sso_env(provider, EISO_OIDC_ROLE_MAP_FILE=role_map)
    for url, app in eiso_server(provider, tmp_path, clock, env):
        eiso = Eiso(url, app)
        with app.app_context():
            make_unit(db.session)
        provider.add("kc-0300", PASSWORD, preferred_username="chuyenvien", name="Hoàng Thị Lan",
                     groups=["/eiso/skhcn/thu-ky", "/eiso/khong-co", "/other/app"])  # fmt: skip
        local = ("skhcn-daklak", "specialist", "vp")  # granted in eISO
        assert eiso.roles("chuyenvien") == {local}
        with requests.Session() as browser:
            assert who(sso_login(browser, eiso, "chuyenvien")) == "Hoàng Thị Lan"
        assert eiso.roles("chuyenvien") == {local, ("skhcn-daklak", "iso_secretary", None)}

        provider.accounts["kc-0300"].claims["groups"] = ["/eiso/bmt/lanh-dao", "/eiso/skhcn/qlkh"]
        provider.save()
        with requests.Session() as browser:
            page = sso_login(browser, eiso, "chuyenvien")
            assert who(page) == "Hoàng Thị Lan"
        assert eiso.roles("chuyenvien") == {local, ("ubnd-buonmathuot", "unit_leader", None),
                                            ("skhcn-daklak", "department_head", "qlkh")}  # fmt: skip

        provider.accounts["kc-0300"].claims.pop("groups")  # in no group any more
        provider.save()
        with requests.Session() as browser:
            sso_login(browser, eiso, "chuyenvien")
        assert eiso.roles("chuyenvien") == {local}  # what eISO granted stays


# --- what goes wrong ---------------------------------------------------------------------------------------------


def test_a_tampered_state_is_refused_and_logs_nobody_in(eiso: Eiso, provider: OidcProvider,
                                                        browser: requests.Session) -> None:  # fmt: skip
    thuky_at_provider(provider)
    callback = up_to_callback(browser, eiso, "thuky")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    before = eiso.counts()
    tampered = browser.get(callback.replace(f"state={state}", f"state={state[:-2]}xx"))
    assert tampered.status_code == 400 and "Hãy đăng nhập lại" in tampered.text and who(tampered) is None
    with requests.Session() as another_browser:  # the same answer in another browser (a stolen link)
        stolen = another_browser.get(callback)
    assert stolen.status_code == 400 and who(stolen) is None
    assert eiso.counts() == before
    assert who(browser.get(callback)) == "Lê Thị Mai Anh"  # the untouched answer, in its own browser
    replayed = browser.get(callback)  # once only
    assert replayed.status_code == 400


def test_a_forged_code_and_an_answer_of_another_server_are_refused(eiso: Eiso, provider: OidcProvider,
                                                                   browser: requests.Session) -> None:  # fmt: skip
    thuky_at_provider(provider)
    callback = up_to_callback(browser, eiso, "thuky")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    wrong_iss = callback.replace("iss=", "iss=x") if "iss=" in callback else callback + "&iss=http%3A%2F%2Fevil"
    other = browser.get(wrong_iss)
    assert other.status_code == 400 and "máy chủ đăng nhập khác" in other.text
    forged = browser.get(callback.replace(code, code[:-4] + "AAAA"))
    assert forged.status_code == 400 and "không chấp nhận" in forged.text and who(forged) is None


def test_refused_consent_gives_a_clear_page(eiso: Eiso, provider: OidcProvider, browser: requests.Session) -> None:
    thuky_at_provider(provider)
    page = browser.get(f"{eiso.url}/login/oidc")
    page = consent(browser, provider_sign_in(browser, page, "thuky"), allow=False)
    assert page.status_code == 403 and page.url.startswith(f"{eiso.url}/login/oidc/callback")
    assert "Bạn đã không cho phép eISO" in page.text and who(page) is None
    assert "Đăng nhập bằng Keycloak tỉnh" in page.text  # the way to start again


def test_an_unreachable_provider_gives_a_clear_page(provider: OidcProvider, tmp_path: Path, clock: Clock) -> None:
    closed = provider.issuer.rsplit(":", 1)[0] + ":9"  # the discard port: nothing listens
    env = {**sso_env(provider), "EISO_OIDC_ISSUER": closed, "EISO_OIDC_TIMEOUT_SECONDS": "2"}
    for url, _app in eiso_server(provider, tmp_path, clock, env):
        with requests.Session() as browser:
            page = browser.get(f"{url}/login/oidc", headers={"Accept-Language": "vi"})
            assert page.status_code == 503
            assert "không kết nối được với máy chủ đăng nhập" in page.text
            assert "mật khẩu eISO" in page.text  # the other way in, while local log-in is on
            assert browser.get(f"{url}/login").status_code == 200  # the log-in page itself still works


def test_a_provider_that_names_another_issuer_is_not_trusted(provider: OidcProvider, tmp_path: Path,
                                                             clock: Clock) -> None:  # fmt: skip
    env = {**sso_env(provider), "EISO_OIDC_ISSUER": provider.issuer.replace("127.0.0.1", "localhost")}
    for url, _app in eiso_server(provider, tmp_path, clock, env):
        page = requests.get(f"{url}/login/oidc", allow_redirects=False)
        assert page.status_code == 502 and "issuer" in page.text
        assert "Location" not in page.headers


@pytest.mark.parametrize("env", [{"EISO_OIDC_LOCAL_LOGIN": "off"}])
def test_password_log_in_can_be_switched_off(eiso: Eiso, browser: requests.Session) -> None:
    page = browser.get(f"{eiso.url}/login")
    assert "Đăng nhập bằng Keycloak tỉnh" in page.text and 'name="password"' not in page.text
    refused = browser.post(f"{eiso.url}/login",
                           data={"username": "thuky", "password": "demo", "csrf_token": csrf(page)})
    assert refused.status_code == 403 and "đã tắt" in refused.text and who(refused) is None
    api = browser.get(f"{eiso.url}/api/v1/tasks", auth=("admin", "demo"))
    assert api.status_code == 200  # programs keep HTTP Basic


# --- leaving ----------------------------------------------------------------------------------------------------


def test_log_out_ends_the_session_at_the_provider_too(eiso: Eiso, provider: OidcProvider,
                                                      browser: requests.Session) -> None:  # fmt: skip
    thuky_at_provider(provider)
    inbox = sso_login(browser, eiso, "thuky")
    assert f"form-action 'self' {provider.issuer}" in inbox.headers["Content-Security-Policy"]
    thuky = eiso.user("thuky")
    assert thuky is not None
    id_token = eiso.one(select(LoginSession.id_token).where(LoginSession.user_id == thuky.id))

    out = browser.post(f"{eiso.url}/logout", data={"csrf_token": csrf(inbox)}, allow_redirects=False)
    goodbye = urlsplit(out.headers["Location"])
    assert out.status_code == 302 and f"{goodbye.scheme}://{goodbye.netloc}{goodbye.path}" == \
        f"{provider.issuer}/session/end"
    query = parse_qs(goodbye.query)
    assert query["id_token_hint"] == [id_token] and query["client_id"] == [CLIENT_ID]
    assert query["post_logout_redirect_uri"] == [f"{eiso.url}/login"]
    assert eiso.one(select(LoginSession.id).where(LoginSession.user_id == thuky.id)) is None  # eISO's ended

    confirm = browser.get(out.headers["Location"])
    assert "Sign out of the provider?" in confirm.text
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', confirm.text)
    assert xsrf is not None
    back = browser.post(form_action(confirm, "/session/end/confirm"), data={"xsrf": xsrf.group(1), "logout": "yes"})
    assert back.url.startswith(f"{eiso.url}/login") and who(back) is None
    again = browser.get(f"{eiso.url}/login/oidc")
    assert "Sign in to the provider" in again.text  # the provider's session ended: it asks again


def test_a_person_removed_at_the_provider_cannot_get_in_again(eiso: Eiso, provider: OidcProvider,
                                                              browser: requests.Session,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    thuky_at_provider(provider)
    assert who(sso_login(browser, eiso, "thuky")) == "Lê Thị Mai Anh"
    provider.remove("kc-0001")

    with requests.Session() as other_browser:  # a new log-in: the provider does not know the person any more
        page = other_browser.get(f"{eiso.url}/login/oidc")
        refused = provider_sign_in(other_browser, page, "thuky")
        assert refused.status_code == 401 and who(other_browser.get(f"{eiso.url}/")) is None
    again = browser.get(f"{eiso.url}/login/oidc")  # the provider's own session no longer counts either
    assert "Sign in to the provider" in again.text

    # The open eISO session lasts its working day (EISO_OIDC_SESSION_HOURS), then ends.
    assert who(browser.get(f"{eiso.url}/")) == "Lê Thị Mai Anh"
    later = real_now() + timedelta(hours=10, minutes=1)
    monkeypatch.setattr(webapp.auth, "now", lambda: later)
    assert browser.get(f"{eiso.url}/instances", allow_redirects=False).status_code == 302


def test_a_person_disabled_at_the_provider_cannot_get_in(eiso: Eiso, provider: OidcProvider,
                                                         browser: requests.Session) -> None:  # fmt: skip
    thuky_at_provider(provider)
    provider.disable("kc-0001")
    page = browser.get(f"{eiso.url}/login/oidc")
    assert provider_sign_in(browser, page, "thuky").status_code == 401
    assert who(browser.get(f"{eiso.url}/")) is None


def test_a_password_log_in_logs_out_of_eiso_only(eiso: Eiso, browser: requests.Session) -> None:
    page = browser.get(f"{eiso.url}/login")
    inbox = browser.post(f"{eiso.url}/login", data={"username": "thuky", "password": "demo", "csrf_token": csrf(page)})
    assert who(inbox) == "Lê Thị Mai Anh"
    out = browser.post(f"{eiso.url}/logout", data={"csrf_token": csrf(inbox)}, allow_redirects=False)
    assert out.status_code == 302 and out.headers["Location"] == "/login"


def test_an_error_the_provider_sends_back_is_shown(eiso: Eiso, browser: requests.Session) -> None:
    answer = urlencode({"error": "temporarily_unavailable", "error_description": "bảo trì"})
    page = browser.get(f"{eiso.url}/login/oidc/callback?{answer}")
    assert page.status_code == 400 and "bảo trì" in page.text and who(page) is None


# --- the operator's check -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", [{"EISO_OIDC_CREATE_USERS": "on", "EISO_OIDC_NEW_USER_UNIT": "skhcn-daklak"}])
def test_the_operators_check_reads_the_provider(eiso: Eiso, provider: OidcProvider) -> None:
    result = eiso.app.test_cli_runner().invoke(args=["sso", "check"])
    assert result.exit_code == 0, result.output
    assert f"redirect URI {eiso.url}/login/oidc/callback" in result.output
    assert f"sign-out at the provider: {provider.issuer}/session/end" in result.output
    assert "new people join skhcn-daklak" in result.output and "all good" in result.output


def test_the_operators_check_names_what_does_not_fit(provider: OidcProvider, tmp_path: Path, clock: Clock,
                                                     role_map: str) -> None:  # fmt: skip
    env = sso_env(provider, EISO_OIDC_ROLE_MAP_FILE=role_map, EISO_OIDC_CREATE_USERS="on",
                  EISO_OIDC_NEW_USER_UNIT="skhcn-daklak", EISO_OIDC_NEW_USER_DEPARTMENT="khong-co",
                  EISO_OIDC_SCOPES="openid profile roles")  # fmt: skip
    for _url, app in eiso_server(provider, tmp_path, clock, env):
        result = app.test_cli_runner().invoke(args=["sso", "check"])
        assert result.exit_code != 0
        for problem in ("the role map names khong-co-don-vi, which eISO does not have",
                        "the role map names ubnd-buonmathuot, which eISO does not have",
                        "new people join skhcn-daklak/khong-co, which eISO does not have",
                        "the provider does not list the scope 'roles'", "4 problem(s)"):
            assert problem in result.output, result.output


@pytest.mark.parametrize("provider_state", ["no end-session endpoint", "unreachable"])
def test_log_out_when_the_provider_cannot_be_told_says_to_close_the_browser(
        eiso: Eiso, provider: OidcProvider, browser: requests.Session, provider_state: str) -> None:  # fmt: skip
    thuky_at_provider(provider)
    inbox = sso_login(browser, eiso, "thuky")
    client = eiso.app.extensions["eiso_oidc"]
    if provider_state == "unreachable":  # the provider went away after the log-in
        client.server_metadata.clear()
        client._server_metadata_url = provider.issuer.rsplit(":", 1)[0] + ":9/.well-known/openid-configuration"
    else:  # a provider without RP-initiated logout
        client.server_metadata.pop("end_session_endpoint")
    out = browser.post(f"{eiso.url}/logout", data={"csrf_token": csrf(inbox)})
    assert out.url == f"{eiso.url}/login" and who(out) is None
    assert "Bạn đã đăng xuất khỏi eISO" in out.text and "đóng trình duyệt" in out.text
