"""External workers drive a Camunda 7 example (the corpus's loan-granting.bpmn without its JavaScript input
parameter) to the end through the jobs API: fetch and lock, complete, fail, incident, retry."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import FIXTURES
from tests.webapp.conftest import basic

ADMIN = basic("admin")


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
