"""Clear answers to bad input on /api/v1 and /engine-rest: 400 for bodies that are not a JSON object,
422 naming the field for values process data cannot hold, 404 for ids that name nothing; and nothing
changes after a refusal."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.webapp.conftest import basic
from tests.webapp.test_api import _start

ENGLISH = {"Accept-Language": "en"}


def _open_task(client: FlaskClient) -> dict[str, Any]:
    return _start(client)["tasks"][0]  # type: ignore[no-any-return]


def _still_open(client: FlaskClient, task_id: str) -> bool:
    return client.get(f"/api/v1/tasks/{task_id}", headers=basic("thuky")).json["state"] == "open"  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b'{"variables": {"title": "x"', "not valid JSON"),
        (b"not json at all", "not valid JSON"),
        (b'["variables"]', "must be a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400_and_completes_nothing(
    client: FlaskClient, body: bytes, said: str
) -> None:
    task = _open_task(client)
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers={**basic("thuky"), **ENGLISH},
                           data=body, content_type="application/json")  # fmt: skip
    assert response.status_code == 400
    assert set(response.json) >= {"status", "error", "message"}  # type: ignore[arg-type]
    assert said in response.json["message"]  # type: ignore[index]
    assert _still_open(client, task["id"])


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"variables": {"score": NaN}}', "score"),
        (b'{"variables": {"score": -Infinity}}', "score"),
        (b'{"variables": {"rows": [{"id": 123456789012345678901234567890}]}}', "rows[0].id"),
        (b'{"variables": {"deep": ' + b"[" * 50 + b"]" * 50 + b"}}", "deep"),
    ],
)
def test_values_json_workers_cannot_read_are_a_422_naming_the_field(
    client: FlaskClient, raw: bytes, field: str
) -> None:
    task = _open_task(client)
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=basic("thuky"), data=raw,
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 422, response.json
    assert field in response.json["message"]  # type: ignore[index]
    assert _still_open(client, task["id"])
    assert b"NaN" not in client.get(f"/api/v1/tasks/{task['id']}", headers=basic("thuky")).data


def test_a_business_key_that_is_not_text_is_a_422(client: FlaskClient) -> None:
    response = client.post("/api/v1/process-definitions/quality_objectives/start", headers=basic("thuky"),
                           json={"business_key": {"a": 1}})  # fmt: skip
    assert response.status_code == 422
    assert "business_key" in response.json["message"]  # type: ignore[index]


@pytest.mark.parametrize("path", ["/api/v1/instances/١", "/api/v1/instances/²", "/api/v1/instances/" + "9" * 30])
def test_ids_that_are_not_ascii_digits_or_too_long_are_not_found(client: FlaskClient, path: str) -> None:
    assert client.get(path, headers=basic("thuky")).status_code == 404


@pytest.mark.parametrize("instance_id", ["²", "١", "9" * 30])
def test_camunda_ids_that_name_nothing_are_404(client: FlaskClient, instance_id: str) -> None:
    response = client.get(f"/engine-rest/process-instance/{instance_id}", headers=basic("admin"))
    assert response.status_code == 404


def test_camunda_rest_refuses_a_malformed_body_and_nan_in_json_variables(client: FlaskClient) -> None:
    url = "/engine-rest/process-definition/key/quality_objectives/start"
    malformed = client.post(url, headers=basic("thuky"), data=b"{", content_type="application/json")
    assert malformed.status_code == 400
    assert malformed.json["type"] == "InvalidRequestException"  # type: ignore[index]
    nan = client.post(url, headers={**basic("thuky"), **ENGLISH},
                      json={"variables": {"x": {"value": "[NaN]", "type": "Json"}}})  # fmt: skip
    assert nan.status_code == 400
    assert "x" in nan.json["message"]  # type: ignore[index]
    instances = client.get("/api/v1/tasks", headers=basic("thuky")).json
    assert (instances["mine"], instances["claimable"], instances["counts"]) == ([], [], {"mine": 0, "claimable": 0})


def test_a_worker_asking_for_an_endless_lock_gets_a_400(client: FlaskClient) -> None:
    response = client.post("/api/v1/jobs/fetch-and-lock", headers={**basic("admin"), **ENGLISH},
                           json={"workerId": "w", "topics": ["x"], "lockDuration": 10**30})  # fmt: skip
    assert response.status_code == 400
    assert "lockDuration" in response.json["message"]  # type: ignore[index]
    empty = client.post("/api/v1/jobs/fetch-and-lock", headers=basic("admin"), data=b"")
    assert empty.status_code == 400
