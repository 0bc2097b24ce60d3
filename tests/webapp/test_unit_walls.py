"""Units are walls, seen from the APIs and pages: the integration account of another unit cannot fetch, read,
complete, fail, throw on, extend or retry the unit's jobs, nor reach its waiting instances by message, nor
change the province's or the unit's calendar; its people open none of the unit's pages. Every refusal
leaves the rows and the history as they were."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine import TaskRow, notices
from engine.org.models import CalendarDay, Unit, User
from engine.org.people import PROVINCE_ADMIN, grant_system_role
from tests.conftest import FIXTURES, Clock, make_unit, make_user, snapshot
from tests.webapp.conftest import basic, login
from webapp.extensions import sa_session

ADMIN = basic("admin")
OUTSIDER = basic("thuky_bmt")  # every role in the other unit, admin included: its integration account
WORKER = "w1"


@pytest.fixture
def outsider(app: Flask) -> None:
    with app.app_context():
        other = make_unit(sa_session())
        roles = ("iso_secretary", "specialist", "unit_leader", "department_head", "admin")
        make_user(sa_session(), "thuky_bmt", other, roles, "vp")
        make_user(sa_session(), "khach", None)


def state(app: Flask) -> dict[str, Any]:
    with app.app_context():
        return snapshot(sa_session())


def _loan(client: FlaskClient) -> int:
    """The demo unit's loan process, waiting for its first job (``creditScoreChecker``)."""
    with open(FIXTURES / "loan-granting-no-script.bpmn", "rb") as fh:
        assert client.post("/api/v1/deployments", headers=ADMIN,
                           data={"files": [(fh, "loan-granting.bpmn")]}).status_code == 201  # fmt: skip
    started = client.post("/api/v1/process-definitions/loan_process/start", headers=ADMIN, json={"business_key": "L-1"})
    assert started.status_code == 201, started.json
    return int(started.json["id"])


def _lock(client: FlaskClient) -> dict[str, Any]:
    """The unit's own worker locks the job."""
    body = {"workerId": WORKER, "topics": ["creditScoreChecker"], "maxJobs": 10, "lockDuration": 60000}
    [job] = client.post("/api/v1/jobs/fetch-and-lock", headers=ADMIN, json=body).json
    return job  # type: ignore[no-any-return]


@pytest.mark.usefixtures("outsider")
def test_another_units_worker_cannot_touch_the_units_jobs_through_the_api(app: Flask, client: FlaskClient) -> None:
    instance_id = _loan(client)
    before = state(app)
    fetch = {"workerId": WORKER, "topics": ["creditScoreChecker"], "maxJobs": 10, "lockDuration": 60000}
    assert client.post("/api/v1/jobs/fetch-and-lock", headers=OUTSIDER, json=fetch).json == []
    assert state(app) == before
    job = _lock(client)
    before = state(app)
    calls = {
        "complete": {"workerId": WORKER, "variables": {"creditScores": [1]}},
        "failure": {"workerId": WORKER, "retries": 0, "errorMessage": "x"},
        "bpmn-error": {"workerId": WORKER, "errorCode": "REJECT"},
        "retry": {"retries": 3},
    }
    for path, body in calls.items():
        refused = client.post(f"/api/v1/jobs/{job['id']}/{path}", headers=OUTSIDER, json=body)
        assert refused.status_code == 404, (path, refused.json)  # as if there were no such job
        assert client.post(f"/api/v1/jobs/{job['id']}/{path}", headers=basic("khach"), json=body).status_code == 403
    assert state(app) == before
    assert client.get(f"/api/v1/instances/{instance_id}", headers=OUTSIDER).status_code == 404  # not there for them


@pytest.mark.usefixtures("outsider")
def test_another_units_worker_cannot_touch_the_units_external_tasks(app: Flask, client: FlaskClient) -> None:
    _loan(client)
    before = state(app)
    fetch = {"workerId": WORKER, "maxTasks": 5, "topics": [{"topicName": "creditScoreChecker", "lockDuration": 1000}]}
    assert client.post("/engine-rest/external-task/fetchAndLock", headers=OUTSIDER, json=fetch).json == []
    assert client.get("/engine-rest/external-task", headers=OUTSIDER).json == []
    assert state(app) == before
    job = _lock(client)
    before = state(app)
    assert client.get(f"/engine-rest/external-task/{job['id']}", headers=OUTSIDER).status_code == 404
    assert client.get(f"/engine-rest/external-task/{job['id']}/errorDetails", headers=OUTSIDER).status_code == 404
    calls = {
        "complete": {"workerId": WORKER},
        "failure": {"workerId": WORKER, "retries": 0, "errorMessage": "x"},
        "bpmnError": {"workerId": WORKER, "errorCode": "REJECT"},
        "extendLock": {"workerId": WORKER, "newDuration": 600000},
    }
    for path, body in calls.items():
        refused = client.post(f"/engine-rest/external-task/{job['id']}/{path}", headers=OUTSIDER, json=body)
        assert refused.status_code == 404, (path, refused.json)
    assert state(app) == before
    assert [t["id"] for t in client.get("/engine-rest/external-task", headers=ADMIN).json] == [job["id"]]


@pytest.mark.usefixtures("outsider")
def test_another_units_messages_do_not_reach_the_units_waiting_instances(app: Flask, client: FlaskClient) -> None:
    with open(FIXTURES / "supplement_message.bpmn", "rb") as fh:
        assert client.post("/api/v1/deployments", headers=ADMIN,
                           data={"files": [(fh, "supplement_message.bpmn")]}).status_code == 201  # fmt: skip
    with app.app_context():
        unit_id = sa_session().scalars(select(Unit.id).where(Unit.code == "skhcn-daklak")).one()
    started = client.post("/api/v1/messages", headers=ADMIN, json={"name": "dossier_received", "unit_id": unit_id,
                                                                   "variables": {"dossierCode": "HS-7"}})  # fmt: skip
    assert started.status_code == 200
    [check] = client.get("/api/v1/tasks", headers=basic("chuyenvien")).json["claimable"]
    client.post(f"/api/v1/tasks/{check['id']}/complete", headers=basic("chuyenvien"), json={"variables": {}})
    before = state(app)  # the instance waits for the citizen's supplement (key HS-7)
    supplement = {"name": "supplement_received", "correlationKey": "HS-7", "variables": {"forged": True}}
    assert client.post("/api/v1/messages", headers=OUTSIDER, json=supplement).status_code == 404  # nobody waits
    camunda = {"messageName": "supplement_received", "correlationKeys": {"dossierCode": {"value": "HS-7"}}}
    assert client.post("/engine-rest/message", headers=OUTSIDER, json=camunda).status_code == 400
    into_unit = {"name": "dossier_received", "unit_id": unit_id, "variables": {"dossierCode": "HS-8"}}
    assert client.post("/api/v1/messages", headers=OUTSIDER, json=into_unit).status_code == 403
    assert client.post("/engine-rest/message", headers=OUTSIDER,
                       json={"messageName": "dossier_received", "tenantId": "skhcn-daklak"}).status_code == 403
    assert client.post("/api/v1/signals", headers=OUTSIDER,
                       json={"name": "anything", "unit_id": unit_id}).status_code == 403  # fmt: skip
    assert state(app) == before


@pytest.mark.usefixtures("outsider")
def test_another_units_administrator_cannot_change_the_province_or_the_units_calendar(app: Flask,
                                                                                      client: FlaskClient) -> None:
    login(client, "admin")  # a province calendar administrator, and the demo unit's administrator
    assert client.post("/admin/calendar", data={"day": "2027-03-03", "kind": "off", "scope": "province"}).status_code \
        == 302  # fmt: skip
    with app.app_context():
        unit_id = sa_session().scalars(select(Unit.id).where(Unit.code == "skhcn-daklak")).one()
    assert client.post("/admin/calendar", data={"day": "2027-03-06", "kind": "working", "scope": str(unit_id)}) \
        .status_code == 302  # fmt: skip
    with app.app_context():
        entries = {e.unit_id: e.id for e in sa_session().scalars(select(CalendarDay))}
    before = state(app)
    outsider = login(app.test_client(), "thuky_bmt")
    page = outsider.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert 'value="province"' not in page  # the province's rows are shown, not offered for change
    for scope in ("province", str(unit_id)):
        added = outsider.post("/admin/calendar", data={"day": "2027-03-10", "kind": "off", "scope": scope})
        assert added.status_code == 403, scope
    for owner, entry_id in entries.items():  # the province's day: not theirs; the unit's: not there for them
        assert outsider.post(f"/admin/calendar/{entry_id}/delete").status_code == (403 if owner is None else 404)
    assert state(app) == before


@pytest.mark.usefixtures("outsider")
def test_another_units_people_open_none_of_the_units_pages(app: Flask, client: FlaskClient, clock: Clock) -> None:
    login(client, "thuky")
    assert client.post("/processes/quality_objectives/start", data={"unit_id": "1"}).status_code == 302
    with app.app_context():
        row = sa_session().scalars(select(TaskRow)).one()
        task_id, instance_id = row.id, row.instance_id
        thuky = sa_session().scalars(select(User).where(User.username == "thuky")).one()
        [notice] = notices.notify(sa_session(), [thuky], unit_id=row.unit_id, kind="test", title="Thông báo",
                                  now=clock.now)  # fmt: skip
        notice_id = notice.id
        sa_session().commit()
    before = state(app)
    for name in ("thuky_bmt", "khach"):
        stranger = login(app.test_client(), name)
        assert stranger.get(f"/instances/{instance_id}").status_code == 404  # as if it did not exist
        assert stranger.get(f"/tasks/{task_id}").status_code == 404
        assert stranger.post(f"/tasks/{task_id}", data={}).status_code == 404
        assert stranger.post(f"/tasks/{task_id}/claim").status_code == 404
        assert stranger.post(f"/notices/{notice_id}/read").status_code == 404
        assert f"/tasks/{task_id}" not in stranger.get("/").get_data(as_text=True)
        assert f"/instances/{instance_id}" not in stranger.get("/instances").get_data(as_text=True)
        assert stranger.get(f"/api/v1/tasks/{task_id}", headers=basic(name)).status_code == 404
        assert stranger.get(f"/engine-rest/process-instance/{instance_id}", headers=basic(name)).status_code == 404
    assert state(app) == before
    assert client.post(f"/notices/{notice_id}/read").status_code == 302  # its own reader can


def test_a_province_calendar_administrator_keeps_the_province_calendar_only(app: Flask) -> None:
    with app.app_context():
        keeper = make_user(sa_session(), "lich_tinh", None)
        grant_system_role(sa_session(), keeper, PROVINCE_ADMIN)
        sa_session().commit()
        unit_id = sa_session().scalars(select(Unit.id).where(Unit.code == "skhcn-daklak")).one()
    client = login(app.test_client(), "lich_tinh")
    assert 'value="province"' in client.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert client.post("/admin/calendar", data={"day": "2027-04-30", "kind": "off", "scope": "province"}) \
        .status_code == 302  # fmt: skip
    before = state(app)
    assert client.post("/admin/calendar", data={"day": "2027-05-08", "kind": "working", "scope": str(unit_id)}) \
        .status_code == 403  # fmt: skip
    assert state(app) == before
