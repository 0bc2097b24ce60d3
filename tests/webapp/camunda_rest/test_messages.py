"""Messages through POST /engine-rest/message: Camunda's Python engine client starts a dossier's process
by its message start event (with a business key); a correlation key then reaches the waiting instance."""

from __future__ import annotations

import requests
from camunda.client.engine_client import EngineClient

from tests.conftest import FIXTURES
from tests.webapp.camunda_rest.conftest import Server

CODE = "000.00.12.H15-261123-0007"


def test_a_message_starts_a_process_and_a_correlation_key_reaches_it(eiso: Server) -> None:
    diagram = (FIXTURES / "supplement_message.bpmn").read_bytes()
    deployed = eiso.post("/deployment/create", data={"deployment-name": "supplement"},
                         files=[("supplement_message.bpmn", ("supplement_message.bpmn", diagram))])  # fmt: skip
    assert deployed.status_code == 200, deployed.text

    client = EngineClient(eiso.url, config={"auth_basic": {"username": "admin", "password": "demo"}})
    [started] = client.correlate_message("dossier_received", business_key=CODE, process_variables={"dossierCode": CODE})
    assert started["resultType"] == "ProcessDefinition" and started["execution"] is None
    instance = started["processInstance"]
    assert instance["businessKey"] == CODE and instance["tenantId"] == "skhcn-daklak" and not instance["ended"]

    specialist = ("chuyenvien", "demo")
    [check] = [t for t in requests.get(f"{eiso.api}/tasks", auth=specialist, timeout=10).json()["claimable"]
               if t["instance_id"] == int(instance["id"])]  # fmt: skip
    assert requests.post(f"{eiso.api}/tasks/{check['id']}/complete", auth=specialist, json={"variables": {}},
                         timeout=10).ok  # fmt: skip

    two_keys = eiso.post("/message", json={"messageName": "supplement_received", "correlationKeys": {
        "dossierCode": {"value": CODE}, "other": {"value": 1}}})  # fmt: skip
    assert two_keys.status_code == 400 and "one key" in two_keys.json()["message"]
    wrong = eiso.post("/message", json={"messageName": "supplement_received",
                                        "correlationKeys": {"dossierCode": {"value": "another", "type": "String"}}})
    assert wrong.status_code == 400 and wrong.json()["message"].startswith("Cannot correlate message")
    reached = eiso.post("/message", json={
        "messageName": "supplement_received", "correlationKeys": {"dossierCode": {"value": CODE, "type": "String"}},
        "processVariables": {"supplement": {"value": '["Bản sao CCCD"]', "type": "Json"}},
    })  # fmt: skip
    assert reached.status_code == 204 and reached.text == ""
    found = requests.get(f"{eiso.api}/instances/{instance['id']}", auth=("admin", "demo"), timeout=10).json()
    assert [t["element_id"] for t in found["tasks"] if t["state"] == "open"] == ["decide"]
    [event] = [e for e in found["history"] if e["kind"] == "message_correlated"]
    assert event["data"]["variables"] == {"supplement": ["Bản sao CCCD"]}


def test_only_integration_accounts_send_messages(eiso: Server) -> None:
    refused = eiso.post("/message", auth=("thuky", "demo"), json={"messageName": "dossier_received"})
    assert refused.status_code == 403 and refused.json()["type"] == "AuthorizationException"
    unsupported = eiso.post("/message", json={"messageName": "x", "processInstanceId": "1"})
    assert unsupported.status_code == 400 and "processInstanceId" in unsupported.json()["message"]


def test_a_signal_reaches_the_tenants_waiting_instances(eiso: Server) -> None:
    diagram = (FIXTURES / "events" / "policy_signals_c7.bpmn").read_bytes()
    deployed = eiso.post("/deployment/create", data={"deployment-name": "policy"},
                         files=[("policy_signals_c7.bpmn", ("policy_signals_c7.bpmn", diagram))])  # fmt: skip
    assert deployed.status_code == 200, deployed.text
    started = eiso.post("/process-definition/key/document_review_c7/tenant-id/skhcn-daklak/start", json={})
    assert started.status_code == 200, started.text
    variables = {"policy_version": {"value": "2027", "type": "String"}}
    sent = eiso.post("/signal", json={"name": "policy-changed", "tenantId": "skhcn-daklak", "variables": variables})
    assert sent.status_code == 204
    found = requests.get(f"{eiso.api}/instances/{started.json()['id']}", auth=("admin", "demo"), timeout=10).json()
    assert sorted(t["element_id"] for t in found["tasks"] if t["state"] == "open") == ["reread_policy", "revise"]
    body = {"name": "policy-changed", "tenantId": "skhcn-daklak"}
    refused = eiso.post("/signal", auth=("thuky", "demo"), json=body)
    assert refused.status_code == 403
    assert eiso.post("/signal", json={"name": ""}).status_code == 400
