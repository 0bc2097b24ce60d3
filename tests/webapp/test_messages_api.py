"""Another system sends messages: one starts a dossier's process, another (with the dossier's code as
correlation key) tells the waiting instance that the citizen's supplement arrived."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import FIXTURES
from tests.webapp.conftest import basic

ADMIN = basic("admin")


def _send(client: FlaskClient, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/messages", headers={**ADMIN, "Accept-Language": "en"}, json=body)


def _open(client: FlaskClient, instance_id: int) -> list[str]:
    instance = client.get(f"/api/v1/instances/{instance_id}", headers=ADMIN).json
    return [t["element_id"] for t in instance["tasks"] if t["state"] == "open"]


def test_a_message_starts_the_process_and_another_reaches_it(client: FlaskClient) -> None:
    with open(FIXTURES / "supplement_message.bpmn", "rb") as fh:
        assert client.post("/api/v1/deployments", headers=ADMIN,
                           data={"files": [(fh, "supplement_message.bpmn")]}).status_code == 201  # fmt: skip
    code = "000.00.12.H15-261123-0007"
    started = _send(client, {"name": "dossier_received", "unit_id": 1, "variables": {"dossierCode": code}})
    assert started.status_code == 200 and len(started.json["started"]) == 1
    instance_id = started.json["started"][0]
    [check] = [t for t in client.get("/api/v1/tasks", headers=basic("chuyenvien")).json["claimable"]
               if t["instance_id"] == instance_id]  # fmt: skip
    client.post(f"/api/v1/tasks/{check['id']}/complete", headers=basic("chuyenvien"), json={"variables": {}})
    assert _open(client, instance_id) == []  # waiting for the citizen

    wrong = _send(client, {"name": "supplement_received", "correlationKey": "another-dossier", "variables": {}})
    assert wrong.status_code == 404 and "another-dossier" in wrong.json["message"]
    right = _send(client, {"name": "supplement_received", "correlationKey": code,
                           "variables": {"supplement": ["Bản sao CCCD"]}})  # fmt: skip
    assert right.json == {"correlated": [instance_id], "started": []}
    assert _open(client, instance_id) == ["decide"]
    task = client.get("/api/v1/tasks", headers=basic("chuyenvien")).json["claimable"][0]
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=ADMIN).json["data"]["supplement"] == ["Bản sao CCCD"]
    assert _send(client, {"name": "supplement_received", "correlationKey": code}).status_code == 404  # once


def test_only_integration_accounts_send_messages(client: FlaskClient) -> None:
    assert client.post("/api/v1/messages", headers=basic("thuky"), json={"name": "x"}).status_code == 403
    assert _send(client, {"correlationKey": "x"}).status_code == 400


def test_the_corpus_message_start_example_runs_to_the_end(client: FlaskClient) -> None:
    from tests.conftest import CORPUS

    with open(CORPUS / "camunda7-examples" / "message_start_process.bpmn", "rb") as fh:
        deployed = client.post("/api/v1/deployments", headers=ADMIN, data={"files": [(fh, "message_start.bpmn")]})
    assert "chỉ quản trị viên đơn vị nhìn thấy" in deployed.json["warnings"][0]["message"]
    started = _send(client, {"name": "instantiationMessage", "unit_id": 1})
    [instance_id] = started.json["started"]
    claimable = client.get("/api/v1/tasks", headers=ADMIN).json["claimable"]
    [task] = [t for t in claimable if t["instance_id"] == instance_id]
    assert client.post(f"/api/v1/tasks/{task['id']}/complete", headers=ADMIN, json={"variables": {}}).status_code == 200
    assert client.get(f"/api/v1/instances/{instance_id}", headers=ADMIN).json["status"] == "completed"


def test_a_signal_reaches_the_units_waiting_processes_and_starts_others(client: FlaskClient) -> None:
    with open(FIXTURES / "events" / "policy_signals_c7.bpmn", "rb") as fh:
        assert client.post("/api/v1/deployments", headers=ADMIN,
                           data={"files": [(fh, "policy_signals_c7.bpmn")]}).status_code == 201  # fmt: skip
    started = client.post("/api/v1/process-definitions/document_review_c7/start", headers=basic("thuky"),
                          json={"unit_id": 1, "variables": {}})  # fmt: skip
    instance_id = started.json["id"]
    sent = client.post("/api/v1/signals", headers=ADMIN, json={"name": "policy-changed", "unit_id": 1,
                                                                "variables": {"policy_version": "2027"}})  # fmt: skip
    assert sent.status_code == 200 and sent.json["delivered"] == [instance_id] and len(sent.json["started"]) == 1
    assert sorted(_open(client, instance_id)) == ["reread_policy", "revise"]
    refused = client.post("/api/v1/signals", headers=basic("thuky"), json={"name": "policy-changed", "unit_id": 1})
    assert refused.status_code == 403
    assert client.post("/api/v1/signals", headers=ADMIN, json={"name": "x"}).status_code == 400


def test_the_instance_page_links_caller_and_called_instances(client: FlaskClient) -> None:
    for name in ("call_child_c8.bpmn", "call_parent_c8.bpmn"):
        with open(FIXTURES / "events" / name, "rb") as fh:
            assert client.post("/api/v1/deployments", headers=ADMIN, data={"files": [(fh, name)]}).status_code == 201
    parent = client.post("/api/v1/process-definitions/dossier_main_c8/start", headers=ADMIN,
                         json={"variables": {"dossier": "HS-5"}}).json["id"]  # fmt: skip
    client.post("/login", data={"username": "admin", "password": "demo"})
    page = client.get(f"/instances/{parent}").get_data(as_text=True)
    assert "Quy trình được gọi" in page and "Thẩm định (quy trình con)" in page
    child = int(page.split("Thẩm định (quy trình con) #")[1].split("<")[0])
    child_page = client.get(f"/instances/{child}").get_data(as_text=True)
    assert f'href="/instances/{parent}"' in child_page and "Được gọi từ" in child_page
