"""The JSON API: the objectives flow, refusals and conflicts, as another system would use it."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.engine.test_runtime import DRAFT
from tests.webapp.conftest import basic


def _start(client: FlaskClient) -> dict[str, Any]:
    response = client.post("/api/v1/process-definitions/quality_objectives/start", headers=basic("thuky"),
                           json={"business_key": "MT-2027"})  # fmt: skip
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[return-value]


def _complete(client: FlaskClient, user: str, task_id: str, variables: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/tasks/{task_id}/complete", headers=basic(user), json={"variables": variables})


def test_openapi_description_lists_the_api(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert {"/tasks/{task_id}/complete", "/deployments", "/process-definitions/{key}/start"} <= set(spec["paths"])


def test_requests_without_credentials_get_401(client: FlaskClient) -> None:
    response = client.get("/api/v1/tasks")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert client.get("/api/v1/tasks", headers={"Authorization": "Basic dGh1a3k6d3Jvbmc="}).status_code == 401


def test_objectives_flow_over_the_api(client: FlaskClient) -> None:
    definitions = client.get("/api/v1/process-definitions", headers=basic("giamdoc")).json
    assert "quality_objectives" in [d["key"] for d in definitions]
    instance = _start(client)
    draft = instance["tasks"][0]
    assert client.get("/api/v1/tasks", headers=basic("thuky")).json["claimable"][0]["id"] == draft["id"]
    assert client.get("/api/v1/tasks", headers=basic("giamdoc")).json["claimable"] == []

    detail = client.get(f"/api/v1/tasks/{draft['id']}", headers=basic("thuky")).json
    assert detail["form"]["id"] == "quality-objectives-draft"
    assert {"label": "Văn phòng Sở", "value": "vp"} in detail["data"]["departments"]

    assert _complete(client, "thuky", draft["id"], DRAFT).status_code == 200
    review = client.get("/api/v1/tasks", headers=basic("giamdoc")).json["claimable"][0]
    assert client.post(f"/api/v1/tasks/{review['id']}/claim", headers=basic("giamdoc")).json["assignee"] == "giamdoc"
    assert _complete(client, "giamdoc", review["id"], {"decision": "approve"}).status_code == 200
    record = client.get("/api/v1/tasks", headers=basic("thuky")).json["mine"][0]  # back to the draft's author
    ok = _complete(client, "thuky", record["id"], {"decisionNumber": "05/QĐ-SKHCN", "effectiveDate": "2027-01-04"})
    assert ok.status_code == 200

    final = client.get(f"/api/v1/instances/{instance['id']}", headers=basic("giamdoc")).json
    assert final["status"] == "completed"
    assert [e["kind"] for e in final["history"]][-1] == "instance_completed"


def test_invalid_variables_get_422_with_field_errors(client: FlaskClient) -> None:
    draft = _start(client)["tasks"][0]
    response = _complete(client, "thuky", draft["id"], {**DRAFT, "objectives": [{"objective": ""}]})
    assert response.status_code == 422
    assert response.json["field_errors"]
    assert "objectives[0].objective" in response.json["field_errors"] or any(
        "objective" in key for key in response.json["field_errors"]
    )


def test_second_completion_gets_409(client: FlaskClient) -> None:
    draft = _start(client)["tasks"][0]
    assert _complete(client, "thuky", draft["id"], DRAFT).status_code == 200
    again = client.post(f"/api/v1/tasks/{draft['id']}/complete", json={"variables": DRAFT},
                        headers={**basic("thuky"), "Accept-Language": "en"})  # fmt: skip
    assert again.status_code == 409
    assert "already completed by Lê Thị Mai Anh" in again.json["message"]


def test_wrong_people_get_403_and_nothing_changes(client: FlaskClient) -> None:
    started = _start(client)
    draft = started["tasks"][0]

    def state() -> tuple[Any, ...]:
        task = client.get(f"/api/v1/tasks/{draft['id']}", headers=basic("thuky")).json
        instance = client.get(f"/api/v1/instances/{started['id']}", headers=basic("thuky")).json
        return task["state"], task["assignee"], task["data"], instance["revision"], instance["history"]

    before = state()
    assert before[:2] == ("open", None)
    assert _complete(client, "giamdoc", draft["id"], DRAFT).status_code == 403
    # a specialist with no part in the process: to them it does not exist
    assert client.post(f"/api/v1/tasks/{draft['id']}/claim", headers=basic("chuyenvien")).status_code == 404
    refused = client.post("/api/v1/process-definitions/quality_objectives/start", headers=basic("chuyenvien"), json={})
    assert refused.status_code == 403
    assert client.post("/api/v1/deployments", headers=basic("thuky")).status_code == 403
    assert state() == before
    assert client.get(f"/api/v1/instances/{started['id'] + 1}", headers=basic("thuky")).status_code == 404


def test_unknown_things_get_404(client: FlaskClient) -> None:
    assert client.get("/api/v1/tasks/nope", headers=basic("thuky")).status_code == 404
    assert client.get("/api/v1/instances/999", headers=basic("thuky")).status_code == 404
    assert client.post("/api/v1/process-definitions/nope/start", headers=basic("thuky"), json={}).status_code == 404


def test_deploy_files_and_refusals(client: FlaskClient) -> None:
    from tests.conftest import FIXTURES

    with open(FIXTURES / "rework_loop.bpmn", "rb") as fh:
        ok = client.post("/api/v1/deployments", headers=basic("admin"), data={"files": [(fh, "rework_loop.bpmn")]})
    assert ok.status_code == 201 and ok.json["definitions"][0]["key"] == "rework_loop"
    for language, words in (("en", "not well-formed"), ("vi", "không phải XML hợp lệ")):  # as Accept-Language asks
        bad = client.post("/api/v1/deployments", headers={**basic("admin"), "Accept-Language": language},
                          data={"files": [(__import__("io").BytesIO(b"<not-bpmn"), "broken.bpmn")]})  # fmt: skip
        assert bad.status_code == 422
        assert bad.json["problems"][0]["file"] == "broken.bpmn"
        assert words in bad.json["problems"][0]["message"]
