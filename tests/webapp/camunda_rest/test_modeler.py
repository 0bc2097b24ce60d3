"""Camunda Modeler's Deploy button, request by request (its CamundaAPI: connection check, version,
deployment/create with the diagram and its form, start instance), cross-origin as from the desktop app."""

from __future__ import annotations

import requests

from tests.webapp.camunda_rest.conftest import CAMUNDA_FIXTURES, Server, fixture_text

ORIGIN = {"Origin": "null"}  # the Electron app's pages are file:// documents


def _preflight(eiso: Server, path: str, method: str, headers: str) -> requests.Response:
    return requests.options(eiso.url + path, timeout=10, headers={
        **ORIGIN, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers,
    })  # fmt: skip


def test_modeler_checks_the_connection_deploys_a_diagram_with_its_form_and_starts_it(eiso: Server) -> None:
    preflight = _preflight(eiso, "/deployment?maxResults=0", "GET", "accept,authorization")
    assert preflight.status_code == 200 and preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert {"Authorization", "Accept"} <= set(preflight.headers["Access-Control-Allow-Headers"].split(", "))

    anonymous = requests.get(f"{eiso.url}/deployment?maxResults=0", headers={**ORIGIN, "accept": "application/json"})
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic ")
    assert anonymous.headers["Access-Control-Allow-Origin"] == "*"  # so that Modeler can read the 401
    assert eiso.get("/deployment?maxResults=0", auth=("admin", "wrong")).status_code == 401
    checked = eiso.get("/deployment?maxResults=0", headers=ORIGIN)
    assert checked.status_code == 200 and checked.json() == []
    assert eiso.get("/version").json()["version"].startswith("7.")

    assert _preflight(eiso, "/deployment/create", "POST", "accept,authorization").status_code == 200
    deployed = eiso.deploy("leave_request.bpmn", "leave_approval.form", headers=ORIGIN)
    assert deployed.status_code == 200, deployed.text
    assert deployed.headers["Access-Control-Allow-Origin"] == "*"
    body = deployed.json()
    [definition] = body["deployedProcessDefinitions"].values()
    assert definition["id"] in body["deployedProcessDefinitions"]
    assert {k: definition[k] for k in ("key", "version", "versionTag", "deploymentId", "suspended", "tenantId",
                                       "resource")} == {  # fmt: skip
        "key": "leave_request", "version": 1, "versionTag": "1.0", "deploymentId": body["id"], "suspended": False,
        "tenantId": None, "resource": "leave_request.bpmn",
    }  # fmt: skip
    assert body["source"] == "Camunda Modeler" and body["deploymentTime"]

    assert _preflight(eiso, f"/process-definition/{definition['id']}/start", "POST",
                      "accept,authorization,content-type").status_code == 200  # fmt: skip
    started = eiso.post(f"/process-definition/{definition['id']}/start", headers=ORIGIN,
                        json={"businessKey": "NP-2026-01", "variables": {"days": {"value": 3, "type": "Integer"}}})
    assert started.status_code == 200, started.text
    instance = started.json()
    assert {k: instance[k] for k in ("definitionId", "businessKey", "ended", "suspended")} == {
        "definitionId": definition["id"], "businessKey": "NP-2026-01", "ended": False, "suspended": False}
    assert instance["links"][0]["href"].endswith(f"/engine-rest/process-instance/{instance['id']}")
    assert eiso.get(f"/process-instance/{instance['id']}").json()["businessKey"] == "NP-2026-01"

    # The leader finds the step in the inbox with the form deployed next to the diagram.
    claimable = requests.get(f"{eiso.api}/tasks", auth=("giamdoc", "demo"), timeout=10).json()["claimable"]
    [step] = [t for t in claimable if t["instance_id"] == int(instance["id"])]
    assert step["element_id"] == "approve" and step["form_key"] == "leave-approval"

    # Pressing Deploy again creates no new version and still names the definition to start.
    again = eiso.deploy("leave_request.bpmn", "leave_approval.form").json()
    assert list(again["deployedProcessDefinitions"]) == [definition["id"]]


def test_a_secretary_deploys_for_her_unit_and_the_leader_approves_first(eiso: Server) -> None:
    thuky = ("thuky", "demo")
    shared = eiso.deploy("leave_request.bpmn", "leave_approval.form", auth=thuky)
    assert shared.status_code == 403 and shared.json()["type"] == "AuthorizationException"
    assert "Tenant ID" in shared.json()["message"] and "skhcn-daklak" in shared.json()["message"]

    deployed = eiso.deploy("leave_request.bpmn", "leave_approval.form", auth=thuky, **{"tenant-id": "skhcn-daklak"})
    assert deployed.status_code == 200, deployed.text
    [draft] = deployed.json()["deployedProcessDefinitions"].values()
    assert draft["tenantId"] == "skhcn-daklak" and draft["suspended"] is True and draft["eisoStatus"] == "draft"
    assert deployed.json()["tenantId"] == "skhcn-daklak"

    assert [d["id"] for d in eiso.get("/process-definition?key=leave_request&suspended=true").json()] == [draft["id"]]
    assert eiso.get("/process-definition?key=leave_request&active=true").json() == []
    assert eiso.get("/process-definition/count?tenantIdIn=skhcn-daklak&latestVersion=true").json() == {"count": 1}
    assert eiso.get("/process-definition/key/leave_request").status_code == 404  # no active version yet
    refused = eiso.post(f"/process-definition/{draft['id']}/start", auth=thuky, json={})
    assert refused.status_code == 400 and "draft" in refused.json()["message"]
    reviews = requests.get(f"{eiso.api}/tasks", auth=("giamdoc", "demo"), timeout=10).json()["claimable"]
    assert any(t["process_key"] == "change_control" for t in reviews)

    specialist = eiso.deploy("leave_request.bpmn", auth=("chuyenvien", "demo"), **{"tenant-id": "skhcn-daklak"})
    assert specialist.status_code == 403 and "skhcn-daklak" in specialist.json()["message"]
    unknown = eiso.deploy("leave_request.bpmn", auth=thuky, **{"tenant-id": "no-such-unit"})
    assert unknown.status_code == 400 and unknown.json()["type"] == "InvalidRequestException"


def test_a_refused_diagram_names_file_line_element_and_reason(eiso: Server) -> None:
    text = fixture_text("leave_request.bpmn").replace('camunda:candidateGroups="unit_leader"',
                                                      'camunda:candidateGroups="chief_wizard"')  # fmt: skip
    line = next(n for n, row in enumerate(text.splitlines(), 1) if 'id="approve"' in row)
    form = (CAMUNDA_FIXTURES / "leave_approval.form").read_bytes()
    refused = eiso.post("/deployment/create", data={"deployment-name": "leave", "deployment-source": "Camunda Modeler"},
                        files=[("leave_request.bpmn", ("leave_request.bpmn", text.encode())),
                               ("leave_approval.form", ("leave_approval.form", form))])  # fmt: skip
    assert refused.status_code == 400
    body = refused.json()
    assert body["type"] == "ParseException"
    assert body["message"].startswith("ENGINE-09005 Could not parse BPMN process.")  # Modeler's parse-error case
    assert f"resource leave_request.bpmn | line {line} | element approve 'Approve the leave'" in body["message"]
    assert "chief_wizard" in body["message"]
    [problem] = body["details"]["leave_request.bpmn"]["errors"]
    assert problem["line"] == line and problem["mainElementId"] == "approve" and problem["elementIds"] == ["approve"]
    assert eiso.get("/process-definition?key=leave_request").json() == []  # nothing was stored


def test_unknown_endpoints_and_ids_answer_in_camundas_shape(eiso: Server) -> None:
    missing = eiso.get("/process-definition/leave_request:1:999")
    assert missing.status_code == 404 and missing.json()["type"] == "InvalidRequestException"
    assert eiso.get("/deployment/999").status_code == 404
    assert eiso.post("/process-definition/key/nothing/start", json={}).status_code == 404
    elsewhere = eiso.get("/history/process-instance")
    assert elsewhere.status_code == 404 and "does not offer GET /engine-rest/history" in elsewhere.json()["message"]
    assert elsewhere.headers["Access-Control-Allow-Origin"] == "*"
    broken = eiso.post("/process-definition/key/quality_objectives/start", data="{", headers={
        "Content-Type": "application/json"})  # fmt: skip
    assert broken.status_code == 400 and broken.json()["type"] == "InvalidRequestException"
