"""External workers drive a Camunda 7 example (the corpus's loan-granting.bpmn without its JavaScript input
parameter) to the end through the jobs API: fetch and lock, complete, fail, incident, retry. Send tasks,
message throw events and Camunda 7 Java delegates registered on the server are jobs like any other."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import FIXTURES
from tests.webapp.conftest import basic

ADMIN = basic("admin")
DELEGATES = {
    "#{clock.pause(execution)}": "eiso.pause_clock",
    "org.camunda.bpm.example.invoice.service.ArchiveInvoiceService": "archive.store",
    "${recordsClassifier}": "records.classify",
    "${resultPublisher}": "portal.publish",
}


@pytest.fixture
def app_env(tmp_path: Path) -> dict[str, str]:
    """The server's delegate registry, as an operator configures it."""
    registry = tmp_path / "delegates.json"
    registry.write_text(json.dumps(DELEGATES))
    return {"EISO_DELEGATES_FILE": str(registry)}


def _deploy_and_start(client: FlaskClient) -> int:
    with open(FIXTURES / "loan-granting-no-script.bpmn", "rb") as fh:
        deployed = client.post("/api/v1/deployments", headers=ADMIN, data={"files": [(fh, "loan-granting.bpmn")]})
    assert deployed.status_code == 201, deployed.json
    started = client.post("/api/v1/process-definitions/loan_process/start", headers=ADMIN, json={"business_key": "L-1"})
    assert started.status_code == 201, started.json
    return int(started.json["id"])


def _fetch(client: FlaskClient, *topics: str, worker: str = "w1") -> list[dict[str, Any]]:
    body = {"workerId": worker, "topics": list(topics), "maxJobs": 10, "lockDuration": 60000}
    response = client.post("/api/v1/jobs/fetch-and-lock", headers=ADMIN, json=body)
    assert response.status_code == 200, response.json
    return response.json  # type: ignore[no-any-return]


def test_workers_run_the_loan_process_to_the_end(client: FlaskClient) -> None:
    instance_id = _deploy_and_start(client)
    [check] = _fetch(client, "creditScoreChecker")
    assert check["instance_id"] == instance_id and check["business_key"] == "L-1"
    assert _fetch(client, "creditScoreChecker", worker="w2") == []  # locked for w1
    done = client.post(f"/api/v1/jobs/{check['id']}/complete", headers=ADMIN,
                       json={"workerId": "w1", "variables": {"creditScores": [9, 1, 7]}})  # fmt: skip
    assert done.status_code == 200
    granted = _fetch(client, "loanGranter")
    rejected = _fetch(client, "requestRejecter")
    assert sorted(j["variables"]["score"] for j in granted) == [7, 9]
    assert [j["variables"]["score"] for j in rejected] == [1]
    for job in granted + rejected:
        assert client.post(f"/api/v1/jobs/{job['id']}/complete", headers=ADMIN,
                           json={"workerId": "w1", "variables": {}}).status_code == 200  # fmt: skip
    final = client.get(f"/api/v1/instances/{instance_id}", headers=ADMIN).json
    assert final["status"] == "completed"
    assert [e["kind"] for e in final["history"]].count("job_completed") == 4


def test_failures_retry_then_become_an_incident_and_can_be_retried(app: Flask, client: FlaskClient) -> None:
    instance_id = _deploy_and_start(client)
    [job] = _fetch(client, "creditScoreChecker")
    failed = client.post(f"/api/v1/jobs/{job['id']}/failure", headers=ADMIN,
                         json={"workerId": "w1", "errorMessage": "score service down", "retries": 1,
                               "retryTimeout": 0})  # fmt: skip
    assert failed.json == {"id": job["id"], "state": "open", "retries": 1}
    [again] = _fetch(client, "creditScoreChecker")
    last = client.post(f"/api/v1/jobs/{again['id']}/failure", headers=ADMIN,
                       json={"workerId": "w1", "errorMessage": "still down", "retries": 0})  # fmt: skip
    assert last.json["state"] == "incident"
    assert _fetch(client, "creditScoreChecker") == []
    history = client.get(f"/api/v1/instances/{instance_id}", headers=ADMIN).json["history"]
    assert any(e["kind"] == "incident" and e["data"]["error"] == "still down" for e in history)
    assert client.post(f"/api/v1/jobs/{job['id']}/retry", headers=ADMIN, json={"retries": 2}).json["state"] == "open"
    assert len(_fetch(client, "creditScoreChecker")) == 1


def test_wrong_workers_and_people_are_refused(client: FlaskClient) -> None:
    _deploy_and_start(client)
    [job] = _fetch(client, "creditScoreChecker")
    stolen = client.post(f"/api/v1/jobs/{job['id']}/complete", headers={**ADMIN, "Accept-Language": "en"},
                         json={"workerId": "w9", "variables": {}})  # fmt: skip
    assert stolen.status_code == 409 and "not locked by worker 'w9'" in stolen.json["message"]
    assert client.post("/api/v1/jobs/fetch-and-lock", headers=basic("thuky"),
                       json={"workerId": "x", "topics": ["creditScoreChecker"]}).status_code == 403  # fmt: skip
    assert client.post("/api/v1/jobs/nope/complete", headers=ADMIN, json={"workerId": "w1"}).status_code == 404
    assert client.post("/api/v1/jobs/fetch-and-lock", headers=ADMIN, json={"topics": "x"}).status_code == 400


def _deploy(client: FlaskClient, name: str) -> Any:
    with open(FIXTURES / name, "rb") as fh:
        return client.post("/api/v1/deployments", headers={**ADMIN, "Accept-Language": "en"},
                           data={"files": [(fh, name)]})  # fmt: skip


def _complete(client: FlaskClient, job: dict[str, Any], variables: dict[str, Any] | None = None) -> None:
    done = client.post(f"/api/v1/jobs/{job['id']}/complete", headers=ADMIN,
                       json={"workerId": "w1", "variables": variables or {}})  # fmt: skip
    assert done.status_code == 200, done.json


def test_a_send_task_is_done_by_a_worker_whose_variables_reach_the_process(client: FlaskClient) -> None:
    assert _deploy(client, "send_result_c8.bpmn").status_code == 201
    started = client.post("/api/v1/process-definitions/send_result_c8/start", headers=ADMIN,
                          json={"variables": {"dossier": {"code": "H15-0011"}}})  # fmt: skip
    [notify] = _fetch(client, "igate.notify")
    assert notify["variables"]["code"] == "H15-0011" and notify["headers"] == {"channel": "sms"}
    _complete(client, notify, {"receipt": "SMS-0011", "provider": "viettel"})
    [publish] = _fetch(client, "portal.publish")  # the message throw event
    assert publish["variables"]["notificationReceipt"] == "SMS-0011" and "provider" not in publish["variables"]
    _complete(client, publish)
    [end] = _fetch(client, "igate.return")  # the message end event
    _complete(client, end)
    final = client.get(f"/api/v1/instances/{started.json['id']}", headers=ADMIN).json
    assert final["status"] == "completed"
    outputs = [e["data"]["output"] for e in final["history"] if e["kind"] == "job_completed"]
    assert outputs[0] == {"receipt": "SMS-0011", "provider": "viettel"}


def test_java_delegates_registered_on_the_server_run_through_the_jobs_api(client: FlaskClient) -> None:
    deployed = _deploy(client, "send_result_c7.bpmn")
    assert deployed.status_code == 201, deployed.json
    started = client.post("/api/v1/process-definitions/send_result_c7/start", headers=ADMIN,
                          json={"variables": {"dossier": {"code": "H15-0012"}}})  # fmt: skip
    instance_id = started.json["id"]
    for topic in ("igate.notify", "archive.store", "records.classify", "portal.publish", "igate.return"):
        [job] = _fetch(client, topic)
        _complete(client, job, {"receipt": "SMS-0012"})
    final = client.get(f"/api/v1/instances/{instance_id}", headers=ADMIN).json
    assert final["status"] == "completed" and final["paused_since"] is not None  # eiso.pause_clock ran


def test_an_unregistered_java_class_is_refused_with_how_to_register_it(client: FlaskClient, tmp_path: Path) -> None:
    text = (FIXTURES / "send_result_c7.bpmn").read_text().replace("ArchiveInvoiceService", "ShredInvoiceService")
    with open(tmp_path / "shred.bpmn", "w") as fh:
        fh.write(text)
    with open(tmp_path / "shred.bpmn", "rb") as fh:
        refused = client.post("/api/v1/deployments", headers={**ADMIN, "Accept-Language": "en"},
                              data={"files": [(fh, "shred.bpmn")]})  # fmt: skip
    assert refused.status_code == 422, refused.json
    [problem] = refused.json["problems"]
    assert problem["element_id"] == "archive" and problem["line"] == 17
    assert "org.camunda.bpm.example.invoice.service.ShredInvoiceService" in problem["message"]
    assert "EISO_DELEGATES_FILE" in problem["message"]


def test_a_worker_reports_a_business_error_that_the_diagram_catches(client: FlaskClient) -> None:
    with open(FIXTURES / "events" / "dossier_events_c8.bpmn", "rb") as fh:
        assert client.post("/api/v1/deployments", headers=ADMIN,
                           data={"files": [(fh, "dossier_events_c8.bpmn")]}).status_code == 201  # fmt: skip
    started = client.post("/api/v1/process-definitions/dossier_events_c8/start", headers=ADMIN,
                          json={"variables": {"dossier": "HS-9"}})  # fmt: skip
    instance_id = started.json["id"]
    [job] = _fetch(client, "igate-verify")
    missing = client.post(f"/api/v1/jobs/{job['id']}/bpmn-error", headers=ADMIN, json={"workerId": "w1"})
    assert missing.status_code == 400 and "errorCode" in missing.json["message"]
    thrown = client.post(f"/api/v1/jobs/{job['id']}/bpmn-error", headers=ADMIN,
                         json={"workerId": "w1", "errorCode": "DOSSIER_INVALID", "errorMessage": "Thiếu CCCD",
                               "variables": {"reason": "Thiếu CCCD"}})  # fmt: skip
    assert thrown.status_code == 200 and thrown.json["caught"] is True
    instance = client.get(f"/api/v1/instances/{instance_id}", headers=ADMIN).json
    assert [t["element_id"] for t in instance["tasks"] if t["state"] == "open"] == ["return_dossier"]
    again = client.post(f"/api/v1/jobs/{job['id']}/bpmn-error", headers=ADMIN,
                        json={"workerId": "w1", "errorCode": "DOSSIER_INVALID"})  # fmt: skip
    assert again.status_code == 409
