"""pycamunda (a Camunda 7 REST client from PyPI) deploys, lists, starts with typed variables, works the
external task and correlates a message by business key, over real HTTP."""

from __future__ import annotations

import json

import pycamunda
import pycamunda.deployment
import pycamunda.externaltask
import pycamunda.message
import pycamunda.processdef
import pytest
import requests
from requests.auth import HTTPBasicAuth

from tests.webapp.camunda_rest.conftest import CAMUNDA_FIXTURES, Server

AUTH = HTTPBasicAuth("admin", "demo")


def _authed(request):  # type: ignore[no-untyped-def]
    request.auth = AUTH
    return request


def _deploy(eiso: Server) -> pycamunda.processdef.ProcessDefinition:
    create = _authed(pycamunda.deployment.Create(eiso.url, name="score check", source="pycamunda"))
    create.add_resource(("score_check.bpmn", (CAMUNDA_FIXTURES / "score_check.bpmn").read_bytes()))
    deployment = create()
    assert deployment.source == "pycamunda" and deployment.tenant_id is None
    [definition] = deployment.deployed_process_definitions.values()
    return definition


def _start(eiso: Server, business_key: str) -> pycamunda.processinst.ProcessInstance:
    start = _authed(pycamunda.processdef.StartInstance(eiso.url, key="score_check", business_key=business_key))
    start.add_variable("applicant", "Nguyễn Văn An", "String")
    start.add_variable("amount", 25_000_000_000, "Long")
    start.add_variable("rate", 0.07, "Double")
    start.add_variable("urgent", True, "Boolean")
    start.add_variable("documents", json.dumps(["CCCD", "Sổ hộ khẩu"]), "Json")
    start.add_variable("submitted", "2026-11-23T08:30:00.000+0700", "Date")
    start.add_variable("note", None, "Null")
    start.add_variable("attempt", 1)  # untyped: taken by its JSON type
    return start()


def test_pycamunda_deploys_starts_works_and_correlates(eiso: Server) -> None:
    definition = _deploy(eiso)
    assert definition.key == "score_check" and definition.version == 1 and not definition.suspended
    listed = _authed(pycamunda.processdef.GetList(eiso.url, key="score_check", latest_version=True))()
    assert [d.id_ for d in listed] == [definition.id_]
    assert _authed(pycamunda.processdef.Get(eiso.url, id_=definition.id_))().name == "Score check"

    first, second = _start(eiso, "HS-001"), _start(eiso, "HS-002")
    assert first.definition_id == definition.id_ and first.business_key == "HS-001" and not first.suspended

    fetch = _authed(pycamunda.externaltask.FetchAndLock(eiso.url, worker_id="bureau", max_tasks=5))
    fetch.add_topic("scoreCheck", lock_duration=60_000, variables=["applicant", "amount", "rate", "urgent",
                                                                   "documents", "submitted", "note", "attempt"])
    tasks = fetch()
    assert sorted(t.business_key for t in tasks) == ["HS-001", "HS-002"]
    task = next(t for t in tasks if t.business_key == "HS-001")
    assert task.topic_name == "scoreCheck" and task.worker_id == "bureau" and task.lock_expiration_time is not None
    assert {name: (v.type_, v.value) for name, v in task.variables.items()} == {
        "applicant": ("String", "Nguyễn Văn An"), "amount": ("Long", 25_000_000_000), "rate": ("Double", 0.07),
        "urgent": ("Boolean", True), "documents": ("Json", '["CCCD", "Sổ hộ khẩu"]'),
        "submitted": ("String", "2026-11-23T08:30:00+07:00"), "note": ("Null", None), "attempt": ("Integer", 1),
    }  # fmt: skip
    listed_tasks = _authed(pycamunda.externaltask.GetList(eiso.url, topic_name="scoreCheck"))()
    assert {t.id_ for t in listed_tasks} == {t.id_ for t in tasks}
    for done in tasks:
        complete = _authed(pycamunda.externaltask.Complete(eiso.url, id_=done.id_, worker_id="bureau"))
        complete.add_variable("score", 7, "Integer")
        complete()

    correlate = _authed(pycamunda.message.CorrelateSingle(eiso.url, "documentsReceived", business_key="HS-002",
                                                          result_enabled=True))  # fmt: skip
    correlate.add_process_variable("received", True, "Boolean")
    [result] = correlate()
    assert result.result_type.value == "Execution" and result.execution.process_instance_id == second.id_
    assert _ended(eiso, second.id_) and not _ended(eiso, first.id_)  # only the instance with that business key

    nobody = _authed(pycamunda.message.CorrelateSingle(eiso.url, "documentsReceived", business_key="HS-002"))
    with pytest.raises(pycamunda.BadRequest):  # Camunda answers 400 when nothing waits for the message
        nobody()


def _ended(eiso: Server, instance_id: str) -> bool:
    return bool(eiso.get(f"/process-instance/{instance_id}").json()["ended"])


def test_unknown_variable_types_are_refused_with_the_variables_name(eiso: Server) -> None:
    _deploy(eiso)
    refused = eiso.post("/process-definition/key/score_check/start",
                        json={"variables": {"scan": {"value": "AAEC", "type": "Bytes"}}})  # fmt: skip
    assert refused.status_code == 400 and refused.json()["type"] == "InvalidRequestException"
    assert "'scan'" in refused.json()["message"] and "Bytes" in refused.json()["message"]
    wrong = eiso.post("/process-definition/key/score_check/start",
                      json={"variables": {"amount": {"value": "many", "type": "Integer"}}})  # fmt: skip
    assert wrong.status_code == 400 and "'amount'" in wrong.json()["message"]
    assert requests.get(f"{eiso.api}/tasks", auth=("admin", "demo"), timeout=10).ok  # nothing half-started
