"""API tokens and HTTP Basic as other systems meet them: an administrator makes a token on the page (shown
once), a worker uses it as ``Authorization: Bearer`` or as the Basic password of ``__token__`` without any
password hash, its scope and its unit limit what it reaches, its last use shows on the page, and revoking
it refuses the very next call. Every wrong credential gets one and the same answer. HTTP Basic with a
password costs one password hash a minute, not one per call, and a changed password ends that at once."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import engine.org.people
from engine import Deployer, Engine, ExternalJob, SourceFile, User, tokens
from tests.conftest import FIXTURES, make_unit, make_user
from tests.webapp.conftest import basic, login
from webapp import now
from webapp.api_auth import ROUTE_SCOPES, TOKEN_USERNAME
from webapp.blueprints.tokens import SCOPE_LABELS
from webapp.extensions import db
from webapp.views import local_time

FETCH_V1 = {"workerId": "w1", "topics": ["scoreCheck"], "lockDuration": 60000}
FETCH_CAMUNDA = {"workerId": "w1", "maxTasks": 5, "topics": [{"topicName": "scoreCheck", "lockDuration": 60000}]}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def token_as_basic(secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{TOKEN_USERNAME}:{secret}".encode()).decode()}


def in_app(app: Flask, work: Callable[[Any], Any]) -> Any:
    with app.app_context():
        try:
            result = work(db.session)
            db.session.commit()
            return result
        finally:
            db.session.remove()


def person(session: Any, username: str) -> User:
    found = session.scalar(select(User).where(User.username == username))
    assert found is not None
    return found


def make_token(app: Flask, holder: str = "admin", scopes: tuple[str, ...] = ("jobs",), unit: str = "skhcn-daklak",
               name: str = "Worker") -> tuple[int, str]:  # fmt: skip
    """A token made by the system administrator: its id and the token."""
    def work(session: Any) -> tuple[int, str]:
        from engine import Unit

        unit_id = session.scalar(select(Unit.id).where(Unit.code == unit))
        issued = tokens.issue(session, person(session, "admin"), unit_id=unit_id, name=name, scopes=scopes,
                              holder=holder, now=now())  # fmt: skip
        return issued.token.id, issued.secret

    made: tuple[int, str] = in_app(app, work)
    return made


def waiting_job(app: Flask, unit: str = "skhcn-daklak", starter: str = "admin") -> tuple[int, str]:
    """A new instance waiting for the worker topic ``scoreCheck``: its id and its job's id."""
    def work(session: Any) -> tuple[int, str]:
        from engine import Unit

        source = FIXTURES / "camunda_rest" / "score_check.bpmn"
        Deployer(session).deploy([SourceFile(source.name, source.read_bytes())], actor=None, now=now())
        unit_id = session.scalar(select(Unit.id).where(Unit.code == unit))
        instance = Engine(session).start("score_check", actor=person(session, starter), unit_id=unit_id, now=now(),
                                         variables={"amount": 1})  # fmt: skip
        job = session.scalar(select(ExternalJob.id).where(ExternalJob.instance_id == instance.id))
        return instance.id, str(job)

    made: tuple[int, str] = in_app(app, work)
    return made


def locked_by(app: Flask, job_id: str) -> str | None:
    return in_app(app, lambda s: s.scalar(select(ExternalJob.locked_by).where(ExternalJob.id == job_id)))  # type: ignore[no-any-return]


def other_unit(app: Flask) -> None:
    """Another unit with its administrator ``quantri_bmt`` (admin there only)."""
    def work(session: Any) -> None:
        unit = make_unit(session)
        make_user(session, "quantri_bmt", unit, ("admin", "iso_secretary", "specialist"))

    in_app(app, work)


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password hash checked from now on (the costly step: scrypt)."""
    checked: list[str] = []
    real = engine.org.people.check_password_hash

    def counting(stored: str, password: str) -> bool:
        checked.append(password)
        return real(stored, password)

    monkeypatch.setattr(engine.org.people, "check_password_hash", counting)
    return checked


# --- the page ---------------------------------------------------------------------------------------------


def test_an_administrator_makes_a_token_sees_it_once_and_revokes_it(app: Flask) -> None:
    in_app(app, lambda s: make_user(s, "quantri", s.scalar(select(User).where(User.username == "admin")).roles[0].unit,
                                    ("admin",), full_name="Quản trị đơn vị"))  # fmt: skip
    page = login(app.test_client(), "quantri")
    listed = page.get("/admin/tokens")
    assert listed.status_code == 200 and "Chưa có token nào" in listed.get_data(as_text=True)
    unit_id = in_app(app, lambda s: person(s, "quantri").roles[0].unit_id)
    made = page.post("/admin/tokens", data={"name": "Máy chủ iGate", "holder": f"{unit_id}:quantri",
                                            "scopes": ["jobs", "start"]})  # fmt: skip
    html = made.get_data(as_text=True)
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    secret = html.split('id="secret" class="secret" readonly value="')[1].split('"')[0]
    assert secret.startswith("eiso_") and "chỉ hiện một lần" in html

    again = page.get("/admin/tokens").get_data(as_text=True)
    assert secret not in again and secret[:12] in again and "Máy chủ iGate" in again and "Chưa dùng" in again

    api = app.test_client()
    assert api.post("/api/v1/jobs/fetch-and-lock", headers=bearer(secret), json=FETCH_V1).status_code == 200
    used = page.get("/admin/tokens").get_data(as_text=True)
    row = used.split('<tr id="token-')[1].split("</tr>")[0]
    assert "Chưa dùng" not in row and "từ 127.0.0.1" in row and local_time(now(), "%d/%m/%Y") in row

    token_id = in_app(app, lambda s: s.scalar(select(tokens.ApiToken.id)))
    assert page.post(f"/admin/tokens/{token_id}/revoke").status_code == 302
    assert api.post("/api/v1/jobs/fetch-and-lock", headers=bearer(secret), json=FETCH_V1).status_code == 401
    assert "Đã thu hồi" in page.get("/admin/tokens").get_data(as_text=True)


def test_a_refused_token_form_says_why_and_keeps_what_was_typed(app: Flask) -> None:
    page = login(app.test_client(), "admin")
    unit_id = in_app(app, lambda s: person(s, "admin").roles[0].unit_id)
    answer = page.post("/admin/tokens", data={"name": "Máy chủ iGate", "holder": f"{unit_id}:admin"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "Chọn ít nhất một phạm vi" in html and 'value="Máy chủ iGate"' in html
    no_holder = page.post("/admin/tokens", data={"name": "X", "scopes": "jobs", "holder": "abc"})
    assert no_holder.status_code == 422
    assert in_app(app, lambda s: s.scalars(select(tokens.ApiToken)).all()) == []


def test_people_who_administer_nothing_have_no_token_page(app: Flask) -> None:
    thuky = login(app.test_client(), "thuky")
    assert thuky.get("/admin/tokens").status_code == 403
    unit_id = in_app(app, lambda s: person(s, "thuky").roles[0].unit_id)
    refused = thuky.post("/admin/tokens", data={"name": "X", "holder": f"{unit_id}:thuky", "scopes": "tasks"})
    assert refused.status_code == 403
    assert in_app(app, lambda s: s.scalars(select(tokens.ApiToken)).all()) == []


# --- using a token ---------------------------------------------------------------------------------------------


def test_a_token_works_as_bearer_and_as_the_basic_password_of_token(app: Flask, client: FlaskClient,
                                                                     hashes: list[str]) -> None:  # fmt: skip
    _, job_id = waiting_job(app)
    _, secret = make_token(app, scopes=("jobs",))
    fetched = client.post("/engine-rest/external-task/fetchAndLock", headers=token_as_basic(secret), json=FETCH_CAMUNDA)
    assert fetched.status_code == 200 and [t["id"] for t in fetched.json] == [job_id]
    done = client.post(f"/api/v1/jobs/{job_id}/complete", headers=bearer(secret), json={"workerId": "w1"})
    assert done.status_code == 200 and done.json["state"] == "completed"
    for _ in range(10):
        assert client.get("/engine-rest/external-task/count", headers=bearer(secret)).status_code == 200
        assert client.get("/engine-rest/external-task", headers=token_as_basic(secret)).status_code == 200
    assert hashes == []  # not one password hash for any of these calls


def test_a_token_without_the_jobs_scope_cannot_fetch_and_lock(app: Flask, client: FlaskClient) -> None:
    _, job_id = waiting_job(app)
    _, secret = make_token(app, scopes=("start", "tasks"))
    for path, body in (("/api/v1/jobs/fetch-and-lock", FETCH_V1),
                       ("/engine-rest/external-task/fetchAndLock", FETCH_CAMUNDA)):  # fmt: skip
        refused = client.post(path, headers={**bearer(secret), "Accept-Language": "en"}, json=body)
        assert refused.status_code == 403, refused.get_data(as_text=True)
        assert "needs the scope jobs, and the token has start, tasks" in refused.json["message"]
    vi = client.post("/api/v1/jobs/fetch-and-lock", headers=bearer(secret), json=FETCH_V1)
    assert vi.status_code == 403 and "phạm vi jobs" in vi.json["message"]
    assert locked_by(app, job_id) is None
    assert client.get("/api/v1/tasks", headers=bearer(secret)).status_code == 200  # what it may do, it does


def test_a_token_of_another_unit_finds_none_of_this_units_objects(app: Flask, client: FlaskClient) -> None:
    other_unit(app)
    instance_id, job_id = waiting_job(app)
    _, secret = make_token(app, holder="quantri_bmt", unit="ubnd-buonmathuot", scopes=tuple(tokens.SCOPES))
    theirs = bearer(secret)
    assert client.get(f"/api/v1/instances/{instance_id}", headers=theirs).status_code == 404
    assert client.get(f"/engine-rest/process-instance/{instance_id}", headers=theirs).status_code == 404
    assert client.get(f"/engine-rest/external-task/{job_id}", headers=theirs).status_code == 404
    fetched = client.post("/engine-rest/external-task/fetchAndLock", headers=theirs, json=FETCH_CAMUNDA)
    assert fetched.status_code == 200 and fetched.json == []
    assert client.post(f"/api/v1/jobs/{job_id}/complete", headers=theirs, json={"workerId": "w1"}).status_code == 404
    assert locked_by(app, job_id) is None
    started = client.post("/api/v1/process-definitions/quality_objectives/start", headers=theirs,
                          json={"unit_id": in_app(app, lambda s: person(s, "admin").roles[0].unit_id)})  # fmt: skip
    assert started.status_code == 403


def test_tokens_do_not_manage_tokens(app: Flask, client: FlaskClient) -> None:
    _, secret = make_token(app, scopes=tuple(tokens.SCOPES))
    for method, path in (("GET", "/api/v1/tokens"), ("POST", "/api/v1/tokens"), ("DELETE", "/api/v1/tokens/1")):
        answer = client.open(path, method=method, headers={**bearer(secret), "Accept-Language": "en"},
                             json={"name": "x", "unit_id": 1, "scopes": ["jobs"]})  # fmt: skip
        assert answer.status_code == 403 and "password" in answer.json["message"], path
    assert len(in_app(app, lambda s: s.scalars(select(tokens.ApiToken)).all())) == 1


def test_the_token_api_makes_lists_and_revokes(app: Flask, client: FlaskClient) -> None:
    unit_id = in_app(app, lambda s: person(s, "admin").roles[0].unit_id)
    made = client.post("/api/v1/tokens", headers=basic("admin"), json={"name": "iGate", "unit_id": unit_id,
                                                                       "scopes": ["jobs"]})  # fmt: skip
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    secret, token_id = made.json["token"], made.json["id"]
    assert made.json["holder"] == "admin" and made.json["scopes"] == ["jobs"] and made.json["active"]
    listed = client.get("/api/v1/tokens", headers=basic("admin")).json
    assert [t["id"] for t in listed] == [token_id] and "token" not in listed[0]
    assert listed[0]["starts_with"] == secret[:12] and listed[0]["last_used_at"] is None
    assert client.get("/engine-rest/external-task/count", headers=bearer(secret)).status_code == 200
    assert client.get("/api/v1/tokens", headers=basic("admin")).json[0]["last_used_at"] is not None
    for body in ({"name": "x", "scopes": ["jobs"]}, {"name": "x", "unit_id": unit_id, "scopes": "jobs"},
                 {"name": "x", "unit_id": unit_id, "scopes": ["jobs"], "holder": 7}):  # fmt: skip
        assert client.post("/api/v1/tokens", headers=basic("admin"), json=body).status_code == 400
    unknown = client.post("/api/v1/tokens", headers=basic("admin"), json={"name": "y", "unit_id": unit_id,
                                                                          "scopes": ["admin"]})  # fmt: skip
    assert unknown.status_code == 400 and "admin" in unknown.json["message"]
    assert client.post("/api/v1/tokens", headers=basic("thuky"), json={"name": "y", "unit_id": unit_id,
                                                                       "scopes": ["tasks"]}).status_code == 403
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=basic("thuky")).status_code == 404
    revoked = client.delete(f"/api/v1/tokens/{token_id}", headers=basic("admin"))
    assert revoked.status_code == 200 and revoked.json["active"] is False and revoked.json["revoked_by"] == "admin"
    assert client.get("/engine-rest/external-task/count", headers=bearer(secret)).status_code == 401


def test_every_api_route_that_takes_credentials_names_its_token_scope(app: Flask) -> None:
    """A route added without a scope would refuse every token; one listed but gone is a stale line."""
    protected = {name for name, view in app.view_functions.items() if getattr(view, "takes_credentials", False)}
    assert protected == set(ROUTE_SCOPES)
    assert all(scopes <= set(tokens.SCOPES) for scopes in ROUTE_SCOPES.values())
    assert set(SCOPE_LABELS) == set(tokens.SCOPES)


# --- one answer for every wrong credential ------------------------------------------------------------------------


def test_every_wrong_credential_gets_the_same_answer(app: Flask, hashes: list[str]) -> None:
    in_app(app, lambda s: make_user(s, "nghiviec", s.scalar(select(User).where(User.username == "admin")).roles[0]
                                    .unit, ("admin",)))  # fmt: skip
    revoked_id, revoked = make_token(app, name="Đã thu hồi")
    _, left = make_token(app, holder="nghiviec", name="Người đã nghỉ")
    in_app(app, lambda s: tokens.revoke(s, person(s, "admin"), revoked_id, now()))
    in_app(app, lambda s: setattr(person(s, "nghiviec"), "is_active", False))
    _, good = make_token(app, name="Đúng")
    wrong_tokens = {"unknown": "eiso_" + "x" * 43, "malformed": "abc", "empty": "", "revoked": revoked,
                    "holder deactivated": left, "almost": good[:-1] + ("A" if good[-1] != "A" else "B")}
    credentials = {
        "unknown account": basic("khong-co-ai"),
        "wrong password": {"Authorization": "Basic " + base64.b64encode(b"thuky:sai").decode()},
        **{f"bearer {k}": bearer(v) for k, v in wrong_tokens.items()},
        **{f"basic token {k}": token_as_basic(v) for k, v in wrong_tokens.items()},
    }
    for path in ("/api/v1/tasks", "/engine-rest/deployment"):
        answers = {}
        for n, (what, headers) in enumerate(credentials.items()):
            client = app.test_client()
            response = client.get(path, headers=headers, environ_base={"REMOTE_ADDR": f"192.0.2.{n + 1}"})
            answers[what] = (response.status_code, response.get_data(as_text=True),
                             response.headers.get("WWW-Authenticate"))  # fmt: skip
        assert len(set(answers.values())) == 1, f"{path}: {answers}"
        assert next(iter(answers.values()))[0] == 401
    assert len(hashes) == 4  # unknown account and wrong password: one hash each, on each path; tokens: none

    def log_in(username: str) -> tuple[int, str]:  # the page, but for the name typed, which it keeps
        answer = app.test_client().post("/login", data={"username": username, "password": "sai"})
        page = answer.get_data(as_text=True).replace(f'value="{username}"', 'value="…"')
        return answer.status_code, re.sub(r'name="csrf_token" value="[^"]*"', "", page)  # each browser its own

    assert log_in("khong-co-ai") == log_in("thuky")
    assert log_in("khong-co-ai")[0] == 401 and len(hashes) == 4 + 3


def test_failed_tokens_lock_the_address_not_an_account(app: Flask, client: FlaskClient) -> None:
    _, good = make_token(app)
    guesser = {"REMOTE_ADDR": "203.0.113.66"}
    answers = [client.get("/api/v1/tasks", headers=bearer(f"eiso_{n:043d}"), environ_base=guesser).status_code
               for n in range(20)]  # fmt: skip
    assert answers == [401] * 19 + [429]
    locked = client.get("/engine-rest/external-task/count", headers=bearer("eiso_guess"), environ_base=guesser)
    assert locked.status_code == 429 and "Retry-After" in locked.headers
    assert client.get("/api/v1/tasks", headers=basic("admin"), environ_base=guesser).status_code == 429
    # a valid token is not guessed: the worker next to the guesser goes on
    assert client.get("/engine-rest/external-task/count", headers=bearer(good), environ_base=guesser).status_code == 200
    assert client.get("/api/v1/tasks", headers=basic("admin")).status_code == 200  # no account was locked
    assert client.get("/engine-rest/external-task", headers=token_as_basic(good)).status_code == 200  # nor __token__


# --- HTTP Basic remembered for a minute ----------------------------------------------------------------------------


def test_basic_credentials_cost_one_password_hash_a_minute(app: Flask, client: FlaskClient, hashes: list[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    for _ in range(10):
        assert client.get("/engine-rest/external-task/count", headers=basic("admin")).status_code == 200
    assert len(hashes) == 1
    wrong = {"Authorization": "Basic " + base64.b64encode(b"admin:sai").decode()}
    for _ in range(3):  # a wrong password is never remembered: each costs its hash and counts
        assert client.get("/engine-rest/external-task/count", headers=wrong).status_code == 401
    assert len(hashes) == 4
    memory = app.extensions["eiso_credentials"]
    monkeypatch.setattr(memory, "_clock", lambda: 10**9)  # a minute and more later
    assert client.get("/engine-rest/external-task/count", headers=basic("admin")).status_code == 200
    assert len(hashes) == 5


@pytest.mark.parametrize("app_env", [{"EISO_BASIC_AUTH_CACHE_SECONDS": "0"}])
def test_with_the_memory_off_every_basic_call_costs_a_hash(app_env: dict[str, str], client: FlaskClient,
                                                            hashes: list[str]) -> None:  # fmt: skip
    for _ in range(3):
        assert client.get("/engine-rest/external-task/count", headers=basic("admin")).status_code == 200
    assert len(hashes) == 3


def test_a_remembered_password_stops_working_when_changed_or_the_account_deactivated(app: Flask) -> None:
    api = app.test_client()
    assert api.get("/api/v1/tasks", headers=basic("thuky")).status_code == 200  # now remembered
    page = login(app.test_client(), "thuky")
    changed = page.post("/account/password", data={"current_password": "demo", "new_password": "mat-khau-moi",
                                                   "confirm_password": "mat-khau-moi"})  # fmt: skip
    assert changed.status_code == 302
    assert api.get("/api/v1/tasks", headers=basic("thuky")).status_code == 401
    renewed = {"Authorization": "Basic " + base64.b64encode(b"thuky:mat-khau-moi").decode()}
    assert api.get("/api/v1/tasks", headers=renewed).status_code == 200
    in_app(app, lambda s: setattr(person(s, "thuky"), "is_active", False))
    assert api.get("/api/v1/tasks", headers=renewed).status_code == 401


def test_a_role_taken_away_is_gone_at_the_next_call(app: Flask, client: FlaskClient) -> None:
    from engine import RoleAssignment

    _, secret = make_token(app, scopes=("jobs",))
    assert client.get("/engine-rest/external-task/count", headers=basic("admin")).status_code == 200  # remembered
    assert client.get("/engine-rest/external-task/count", headers=bearer(secret)).status_code == 200
    in_app(app, lambda s: s.execute(RoleAssignment.__table__.delete().where(
        RoleAssignment.user_id == person(s, "admin").id, RoleAssignment.role == "admin")))  # fmt: skip
    assert client.get("/engine-rest/external-task/count", headers=basic("admin")).status_code == 403
    assert client.get("/engine-rest/external-task/count", headers=bearer(secret)).status_code == 401
