"""A worker that lost the answer repeats its request with the same Idempotency-Key and gets the first
answer again, not a second start, completion or message; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import webapp.idempotency
from engine.runtime.models import HistoryEvent, ProcessInstance
from tests.conftest import FIXTURES
from tests.webapp.conftest import basic
from webapp import now
from webapp.extensions import db

ADMIN = basic("admin")


def _key(value: str, who: dict[str, str] = ADMIN) -> dict[str, str]:
    return {**who, "Idempotency-Key": value, "Accept-Language": "en"}


def _instances(app: Flask, key: str = "loan_process") -> int:
    with app.app_context():
        stmt = select(func.count()).select_from(ProcessInstance).join(ProcessInstance.definition)
        return int(db.session.scalar(stmt.where(ProcessInstance.definition.has(key=key))) or 0)


def _deploy_loan(client: FlaskClient) -> None:
    with open(FIXTURES / "loan-granting-no-script.bpmn", "rb") as fh:
        deployed = client.post("/api/v1/deployments", headers=ADMIN, data={"files": [(fh, "loan-granting.bpmn")]})
    assert deployed.status_code == 201, deployed.json


def _start(client: FlaskClient, key: str, body: dict[str, Any] | None = None, who: dict[str, str] = ADMIN) -> Any:
    return client.post("/api/v1/process-definitions/loan_process/start", headers=_key(key, who),
                       json=body or {"business_key": "L-1", "unit_id": 1})  # fmt: skip


def test_a_retried_start_gets_the_first_answer_and_starts_one_instance(app: Flask, client: FlaskClient) -> None:
    _deploy_loan(client)
    first = _start(client, "start-L-1")
    again = _start(client, "start-L-1")
    assert first.status_code == again.status_code == 201
    assert again.get_data() == first.get_data() and again.headers["Idempotent-Replayed"] == "true"
    assert _instances(app) == 1

    other = _start(client, "start-L-1", {"business_key": "L-2", "unit_id": 1})
    assert other.status_code == 422 and "different request" in other.json["message"]
    assert _start(client, "start-L-2", {"business_key": "L-2", "unit_id": 1}).status_code == 201
    assert client.post("/api/v1/process-definitions/loan_process/start", headers=ADMIN,
                       json={"business_key": "L-3", "unit_id": 1}).status_code == 201  # no key: as before
    assert _instances(app) == 3


def test_keys_belong_to_one_account_and_expire_after_a_day(app: Flask, client: FlaskClient,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    _deploy_loan(client)
    assert _start(client, "k1").status_code == 201
    assert _start(client, "k1", who=basic("chuyenvien")).status_code == 201  # another account's own key
    assert _instances(app) == 2
    later = now() + timedelta(hours=25)
    monkeypatch.setattr(webapp.idempotency, "now", lambda: later)
    again = _start(client, "k1")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert _instances(app) == 3


def test_a_refused_request_changes_nothing_and_its_retry_runs_again(app: Flask, client: FlaskClient) -> None:
    _deploy_loan(client)
    refused = _start(client, "k2", {"business_key": "L-1", "unit_id": 999})
    assert refused.status_code in (400, 403, 404)
    assert _start(client, "k2", {"business_key": "L-1", "unit_id": 999}).status_code == refused.status_code
    assert _instances(app) == 0
    assert client.post("/api/v1/process-definitions/loan_process/start", headers={**ADMIN, "Idempotency-Key": ""},
                       json={"unit_id": 1}).status_code == 400  # fmt: skip


def test_two_requests_racing_with_one_key_start_one_instance(app: Flask) -> None:
    clients = [app.test_client(), app.test_client()]
    _deploy_loan(clients[0])
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def send(c: FlaskClient) -> None:
        barrier.wait()
        answers.append(_start(c, "race").status_code)

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert 201 in answers and set(answers) <= {201, 409}
    assert _instances(app) == 1


def _locked_job(client: FlaskClient) -> str:
    _deploy_loan(client)
    assert _start(client, "start").status_code == 201
    body = {"workerId": "w1", "topics": ["creditScoreChecker"], "maxJobs": 1, "lockDuration": 60000}
    [job] = client.post("/api/v1/jobs/fetch-and-lock", headers=ADMIN, json=body).json
    return str(job["id"])


def _completions(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).where(HistoryEvent.kind == "job_completed")) or 0)


def test_a_retried_job_completion_gets_the_first_answer(app: Flask, client: FlaskClient) -> None:
    job_id = _locked_job(client)
    body = {"workerId": "w1", "variables": {"creditScores": [9, 1, 7]}}
    first = client.post(f"/api/v1/jobs/{job_id}/complete", headers=_key("done-1"), json=body)
    again = client.post(f"/api/v1/jobs/{job_id}/complete", headers=_key("done-1"), json=body)
    assert first.status_code == again.status_code == 200 and again.json == first.json
    assert client.post(f"/api/v1/jobs/{job_id}/complete", headers=ADMIN, json=body).status_code >= 400  # no key
    assert _completions(app) == 1


def test_a_retried_camunda_external_task_completion_answers_204_again(app: Flask, client: FlaskClient) -> None:
    _deploy_loan(client)
    assert _start(client, "start").status_code == 201
    fetched = client.post("/engine-rest/external-task/fetchAndLock", headers=ADMIN, json={
        "workerId": "w1", "maxTasks": 1, "topics": [{"topicName": "creditScoreChecker", "lockDuration": 60000}]})
    task_id = fetched.json[0]["id"]
    body = {"workerId": "w1", "variables": {"creditScores": {"value": "[9, 1, 7]", "type": "Json"}}}
    first = client.post(f"/engine-rest/external-task/{task_id}/complete", headers=_key("c7-done"), json=body)
    again = client.post(f"/engine-rest/external-task/{task_id}/complete", headers=_key("c7-done"), json=body)
    assert first.status_code == again.status_code == 204, first.json
    assert _completions(app) == 1
    preflight = client.options(f"/engine-rest/external-task/{task_id}/complete", headers={"Origin": "null"})
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]


def test_a_retried_message_starts_and_reaches_once(app: Flask, client: FlaskClient) -> None:
    with open(FIXTURES / "supplement_message.bpmn", "rb") as fh:
        client.post("/api/v1/deployments", headers=ADMIN, data={"files": [(fh, "supplement_message.bpmn")]})
    body = {"name": "dossier_received", "unit_id": 1, "variables": {"dossierCode": "H15-0007"}}
    first = client.post("/api/v1/messages", headers=_key("msg-1"), json=body)
    again = client.post("/api/v1/messages", headers=_key("msg-1"), json=body)
    assert first.status_code == again.status_code == 200 and again.json == first.json
    assert len(first.json["started"]) == 1
    camunda = {"messageName": "dossier_received", "tenantId": "skhcn-daklak", "resultEnabled": True,
               "processVariables": {"dossierCode": {"value": "H15-0008", "type": "String"}}}  # fmt: skip
    c7_first = client.post("/engine-rest/message", headers=_key("msg-2"), json=camunda)
    c7_again = client.post("/engine-rest/message", headers=_key("msg-2"), json=camunda)
    assert c7_first.status_code == c7_again.status_code == 200 and c7_again.json == c7_first.json
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 2
