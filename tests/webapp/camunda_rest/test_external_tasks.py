"""Camunda's Python external task client (camunda-external-task-client-python3 from PyPI) works against
eISO over real HTTP: a worker completes one task, fails another, reports a BPMN error on a third; the
client's engine client starts processes and correlates a message. Then the protocol's edges with plain
requests: long polling, locks held by other workers, extend lock, incidents, refusals."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests
from camunda.client.engine_client import EngineClient
from camunda.external_task.external_task import ExternalTask, TaskResult
from camunda.external_task.external_task_worker import ExternalTaskWorker

from tests.webapp.camunda_rest.conftest import Server

AUTH = {"auth_basic": {"username": "admin", "password": "demo"}}


def _history(eiso: Server, instance_id: str) -> dict[str, Any]:
    found = requests.get(f"{eiso.api}/instances/{instance_id}", auth=("admin", "demo"), timeout=10)
    return found.json()  # type: ignore[no-any-return]


def _start(eiso: Server, business_key: str) -> str:
    engine = EngineClient(eiso.url, config=AUTH)
    return str(engine.start_process("score_check", {"amount": 1_000_000}, business_key=business_key)["id"])


def _fetch(eiso: Server, worker: str = "w1", **extra: Any) -> requests.Response:
    topic = {"topicName": "scoreCheck", "lockDuration": 60_000, **extra.pop("topic", {})}
    return eiso.post("/external-task/fetchAndLock", json={"workerId": worker, "maxTasks": 10, "topics": [topic],
                                                         **extra})  # fmt: skip


def test_the_python_worker_completes_fails_and_reports_a_bpmn_error(eiso: Server) -> None:
    assert eiso.deploy("score_check.bpmn").status_code == 200
    completed, failed, errored = _start(eiso, "HS-A"), _start(eiso, "HS-B"), _start(eiso, "HS-C")

    def work(task: ExternalTask) -> TaskResult:
        assert task.get_variable("amount") == 1_000_000 and task.get_topic_name() == "scoreCheck"
        if task.get_business_key() == "HS-A":
            return task.complete({"score": 9, "bureau": task.get_extension_property("bureau")})
        if task.get_business_key() == "HS-B":
            return task.failure("bureau unreachable", "ConnectionError: timed out", max_retries=3, retry_timeout=60_000)
        return task.bpmn_error("NO_SCORE", "the bureau has no record", {"reason": "unknown applicant"})

    worker = ExternalTaskWorker("bureau-worker", eiso.url, config={**AUTH, "maxTasks": 1, "lockDuration": 10_000,
                                                                   "asyncResponseTimeout": 1_000})  # fmt: skip
    for _ in range(3):
        worker.fetch_and_execute("scoreCheck", work)

    done = _history(eiso, completed)
    [finished] = [e for e in done["history"] if e["kind"] == "job_completed"]
    assert finished["data"]["output"] == {"score": 9, "bureau": "national"}
    assert done["status"] == "running"  # now waiting for the documents

    [retrying] = eiso.get("/external-task", params={"processInstanceId": failed}).json()
    assert retrying["retries"] == 2 and retrying["errorMessage"] == "bureau unreachable"
    assert retrying["errorDetails"] == "ConnectionError: timed out" and retrying["workerId"] is None
    assert eiso.get(f"/external-task/{retrying['id']}/errorDetails").text == "ConnectionError: timed out"

    caught = _history(eiso, errored)
    assert [t["element_id"] for t in caught["tasks"] if t["state"] == "open"] == ["check_by_hand"]
    assert eiso.get("/external-task", params={"processInstanceId": errored}).json() == []

    results = EngineClient(eiso.url, config=AUTH).correlate_message("documentsReceived", business_key="HS-A")
    assert [r["execution"]["processInstanceId"] for r in results] == [completed]
    assert _history(eiso, completed)["status"] == "completed"


def test_fetch_and_lock_long_polls_until_a_task_arrives(eiso: Server) -> None:
    assert eiso.deploy("score_check.bpmn").status_code == 200
    began = time.monotonic()
    assert _fetch(eiso, asyncResponseTimeout=800).json() == []
    assert time.monotonic() - began >= 0.7  # it held the request instead of answering at once

    starter = threading.Timer(0.6, _start, args=(eiso, "HS-LATE"))
    starter.start()
    began = time.monotonic()
    arrived = _fetch(eiso, asyncResponseTimeout=20_000).json()
    waited = time.monotonic() - began
    starter.join()
    assert [t["businessKey"] for t in arrived] == ["HS-LATE"]
    assert 0.5 <= waited < 10  # answered as soon as the task was there, not at the timeout


def test_locks_belong_to_one_worker_and_a_task_out_of_retries_is_an_incident(eiso: Server) -> None:
    assert eiso.deploy("score_check.bpmn").status_code == 200
    instance_id = _start(eiso, "HS-LOCK")
    [task] = _fetch(eiso, topic={"includeExtensionProperties": True, "variables": ["amount"]}).json()
    assert task["extensionProperties"] == {"bureau": "national"} and list(task["variables"]) == ["amount"]
    assert task["processInstanceId"] == instance_id and task["tenantId"] == "skhcn-daklak"
    assert _fetch(eiso, worker="w2").json() == []  # locked for w1

    stolen = eiso.post(f"/external-task/{task['id']}/complete", json={"workerId": "w2", "variables": {}})
    assert stolen.status_code == 400 and stolen.json()["type"] == "BadUserRequestException"
    assert "w2" in stolen.json()["message"]
    assert eiso.post(f"/external-task/{task['id']}/extendLock", json={"workerId": "w2", "newDuration": 1}).status_code \
        == 400  # fmt: skip
    before = eiso.get(f"/external-task/{task['id']}").json()["lockExpirationTime"]
    assert eiso.post(f"/external-task/{task['id']}/extendLock",
                     json={"workerId": "w1", "newDuration": 3_600_000}).status_code == 204  # fmt: skip
    assert eiso.get(f"/external-task/{task['id']}").json()["lockExpirationTime"] > before

    gave_up = eiso.post(f"/external-task/{task['id']}/failure",
                        json={"workerId": "w1", "errorMessage": "bureau gone", "retries": 0, "retryTimeout": 0})
    assert gave_up.status_code == 204
    assert eiso.get(f"/external-task/{task['id']}").json()["retries"] == 0
    assert _fetch(eiso).json() == []  # an incident waits for an administrator
    assert any(e["kind"] == "incident" for e in _history(eiso, instance_id)["history"])


def test_workers_and_requests_eiso_cannot_honour_are_refused(eiso: Server) -> None:
    assert eiso.deploy("score_check.bpmn").status_code == 200
    _start(eiso, "HS-NO")
    refused = eiso.post("/external-task/fetchAndLock", auth=("thuky", "demo"),
                        json={"workerId": "x", "topics": [{"topicName": "scoreCheck", "lockDuration": 1000}]})
    assert refused.status_code == 403 and refused.json()["type"] == "AuthorizationException"
    unknown = eiso.post("/external-task/no-such-task/complete", json={"workerId": "w1"})
    assert unknown.status_code == 404 and unknown.json()["type"] == "InvalidRequestException"
    filtered = _fetch(eiso, topic={"tenantIdIn": ["skhcn-daklak"]})
    assert filtered.status_code == 400 and "tenantIdIn" in filtered.json()["message"]
    assert _fetch(eiso, topic={"lockDuration": None}).status_code == 400


def test_unlock_negative_retries_an_expired_lock_and_wrong_methods_behave_as_in_camunda(eiso: Server) -> None:
    assert eiso.deploy("score_check.bpmn").status_code == 200
    instance_id = _start(eiso, "HS-UNLOCK")
    [task] = _fetch(eiso).json()
    assert _fetch(eiso, worker="w2").json() == []
    assert eiso.get("/external-task/count?topicName=scoreCheck").json() == {"count": 1}
    assert eiso.get("/external-task/count?topicName=other").json() == {"count": 0}
    assert eiso.post(f"/external-task/{task['id']}/unlock").status_code == 204
    [again] = _fetch(eiso, worker="w2").json()  # free again at once, for any worker of the unit
    assert again["id"] == task["id"] and again["workerId"] == "w2"

    negative = eiso.post(f"/external-task/{task['id']}/failure",
                         json={"workerId": "w2", "errorMessage": "x", "retries": -1, "retryTimeout": 0},
                         headers={"Accept-Language": "en"})
    assert negative.status_code == 400 and "negative" in negative.json()["message"]
    assert eiso.get(f"/external-task/{task['id']}").json()["retries"] != -1  # nothing changed

    # the lock runs out and nobody else takes the task: its worker may still report it (as in Camunda 7)
    assert eiso.post(f"/external-task/{task['id']}/unlock").status_code == 204
    [short] = _fetch(eiso, worker="w3", topic={"lockDuration": 1}).json()
    assert short["id"] == task["id"]
    time.sleep(0.05)
    assert eiso.post(f"/external-task/{task['id']}/extendLock",
                     json={"workerId": "w3", "newDuration": 1000}).status_code == 400  # an expired lock is not extended
    done = eiso.post(f"/external-task/{task['id']}/complete", json={"workerId": "w3", "variables": {}})
    assert done.status_code == 204
    assert any(e["kind"] == "job_completed" for e in _history(eiso, instance_id)["history"])

    wrong = requests.get(f"{eiso.url}/external-task/{task['id']}/complete", auth=("admin", "demo"), timeout=10)
    assert wrong.status_code == 405 and "POST" in wrong.headers.get("Allow", "")


def test_a_worker_that_only_knows_basic_works_with_a_token_as_the_password(eiso: Server) -> None:
    assert eiso.deploy("score_check.bpmn").status_code == 200
    instance = _start(eiso, "HS-TOKEN")
    made = requests.post(f"{eiso.api}/tokens", auth=("admin", "demo"), timeout=10,
                         json={"name": "bureau worker", "unit_id": 1, "scopes": ["jobs"]})  # the demo unit  # fmt: skip
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    config = {"auth_basic": {"username": "__token__", "password": token}, "maxTasks": 1, "lockDuration": 10_000,
              "asyncResponseTimeout": 1_000}  # fmt: skip
    worker = ExternalTaskWorker("token-worker", eiso.url, config=config)
    worker.fetch_and_execute("scoreCheck", lambda task: task.complete({"score": 7}))
    [finished] = [e for e in _history(eiso, instance)["history"] if e["kind"] == "job_completed"]
    assert finished["data"]["output"] == {"score": 7}
    listed = requests.get(f"{eiso.api}/tokens", auth=("admin", "demo"), timeout=10).json()
    assert listed[0]["last_used_at"] is not None
