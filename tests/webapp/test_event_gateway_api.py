"""A dossier waits at an event-based gateway for the citizen's supplement, the reply time or a suspension;
another system's message reaches it through eISO's API and through Camunda 7's REST ``/message``, and the
instance's history says which way won and which were given up."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import FIXTURES
from tests.webapp.conftest import basic, login

ADMIN = basic("admin")
DOSSIER = "H15-261123-0007"


def _waiting_instance(client: FlaskClient, dialect: str) -> int:
    name = f"supplement_gateway_{dialect}.bpmn"
    with open(FIXTURES / "events" / name, "rb") as fh:
        assert client.post("/api/v1/deployments", headers=ADMIN, data={"files": [(fh, name)]}).status_code == 201
    started = client.post(f"/api/v1/process-definitions/supplement_gateway_{dialect}/start", headers=basic("thuky"),
                          json={"business_key": DOSSIER, "variables": {"dossier": DOSSIER, "reminderAfter": "P3D"}})
    assert started.status_code == 201, started.json
    instance_id = int(started.json["id"])
    [request] = [t for t in client.get("/api/v1/tasks", headers=basic("chuyenvien")).json["claimable"]
                 if t["instance_id"] == instance_id]  # fmt: skip
    done = client.post(f"/api/v1/tasks/{request['id']}/complete", headers=basic("chuyenvien"), json={"variables": {}})
    assert done.status_code == 200, done.json
    assert _open(client, instance_id) == []
    return instance_id


def _open(client: FlaskClient, instance_id: int) -> list[str]:
    instance: dict[str, Any] = client.get(f"/api/v1/instances/{instance_id}", headers=ADMIN).json
    return [t["element_id"] for t in instance["tasks"] if t["state"] == "open"]


def _history_says_the_supplement_won(client: FlaskClient, instance_id: int) -> None:
    page = login(client, "admin").get(f"/instances/{instance_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "→ Công dân đã bổ sung (đến trước; bỏ qua: Quá hạn trả lời, Thủ tục bị tạm dừng)" in text


def test_a_message_through_the_api_reaches_the_waiting_gateway(client: FlaskClient) -> None:
    instance_id = _waiting_instance(client, "c8")
    wrong = client.post("/api/v1/messages", headers=ADMIN,
                        json={"name": "dossier-supplemented", "correlationKey": "H15-other"})  # fmt: skip
    assert wrong.status_code == 404 and _open(client, instance_id) == []
    sent = client.post("/api/v1/messages", headers=ADMIN, json={
        "name": "dossier-supplemented", "correlationKey": DOSSIER, "variables": {"supplement": ["Bản sao CCCD"]}})
    assert sent.json == {"correlated": [instance_id], "started": []}
    assert _open(client, instance_id) == ["check_supplement"]
    again = client.post("/api/v1/messages", headers=ADMIN, json={"name": "dossier-supplemented",
                                                                  "correlationKey": DOSSIER})  # fmt: skip
    assert again.status_code == 404  # the gateway has moved on: nothing waits for a second one
    _history_says_the_supplement_won(client, instance_id)


def test_a_camunda7_message_by_business_key_reaches_the_waiting_gateway(client: FlaskClient) -> None:
    instance_id = _waiting_instance(client, "c7")
    sent = client.post("/engine-rest/message", headers=ADMIN, json={
        "messageName": "dossier-supplemented", "businessKey": DOSSIER, "resultEnabled": True,
        "processVariables": {"supplement": {"value": "Bản sao CCCD", "type": "String"}}})
    assert sent.status_code == 200, sent.json
    assert [(r["resultType"], r["execution"]["processInstanceId"]) for r in sent.json] == [
        ("Execution", str(instance_id))]
    assert _open(client, instance_id) == ["check_supplement"]
    again = client.post("/engine-rest/message", headers=ADMIN, json={"messageName": "dossier-supplemented",
                                                                      "businessKey": DOSSIER})  # fmt: skip
    assert again.status_code == 400 and "Cannot correlate message" in again.json["message"]
    _history_says_the_supplement_won(client, instance_id)
