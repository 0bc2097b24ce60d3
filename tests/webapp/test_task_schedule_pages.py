"""Priority, follow-up date and version tag where people and other systems see them: the inbox (order
and filter), the task page, the process library, and the JSON API."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import FIXTURES
from tests.webapp.conftest import basic, login

KEY = "task_schedule_c8"
# 30 Nov 2026, 15:00 in Hà Nội: after every follow-up date of the fixture (25 Nov; 30 Nov 14:00).
LATER = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture
def deployed(client: FlaskClient) -> None:
    with (FIXTURES / f"{KEY}.bpmn").open("rb") as fh:
        response = client.post("/api/v1/deployments", headers=basic("admin"), data={"files": [(fh, f"{KEY}.bpmn")]})
    assert response.status_code == 201, response.json


def _start(client: FlaskClient, **handle: Any) -> dict[str, Any]:
    """An instance whose first task (priority 80, follow-up 25 Nov) is open, or, given the data for it,
    whose second task (priority = urgency × 10, follow-up and due date from the data) is open."""
    started = client.post(f"/api/v1/process-definitions/{KEY}/start", headers=basic("thuky"), json={})
    assert started.status_code == 201, started.json
    task = started.json["tasks"][0]  # type: ignore[index]
    if handle:
        done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=basic("thuky"), json={"variables": handle})
        assert done.status_code == 200, done.json
        task = client.get(f"/api/v1/instances/{started.json['id']}", headers=basic("thuky")).json["tasks"][1]  # type: ignore[index]
    return task


def _set_now(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    for module in ("webapp.blueprints.inbox", "webapp.views"):
        monkeypatch.setattr(f"{module}.now", lambda: moment)


def _rows(html: str) -> list[tuple[str, int]]:
    return [(t, int(p)) for t, p in re.findall(r'data-task="([^"]+)" data-priority="(\d+)"', html)]


@pytest.mark.usefixtures("deployed")
def test_api_tasks_carry_priority_and_follow_up_and_sort_and_filter(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    low = _start(client, urgency=2, followUpOn="2026-12-15", answerBy="P1D")
    high_late = _start(client, urgency=9, followUpOn="2026-11-30T14:00:00", answerBy="P5D")
    high_soon = _start(client, urgency=9, followUpOn="2026-12-15", answerBy="P2D")
    first = _start(client)
    assert (first["priority"], first["follow_up_at"]) == (80, "2026-11-25T02:00:00+00:00")
    assert (low["priority"], low["follow_up_at"]) == (20, "2026-12-14T17:00:00+00:00")

    received = client.get("/api/v1/tasks", headers=basic("thuky")).json["claimable"]  # type: ignore[index]
    assert [t["id"] for t in received] == [low["id"], high_late["id"], high_soon["id"], first["id"]]
    by_priority = client.get("/api/v1/tasks?sort=priority", headers=basic("thuky")).json["claimable"]  # type: ignore[index]
    assert [t["id"] for t in by_priority] == [high_soon["id"], high_late["id"], first["id"], low["id"]]

    _set_now(monkeypatch, LATER)
    due = client.get("/api/v1/tasks?follow_up=1", headers=basic("thuky")).json["claimable"]  # type: ignore[index]
    assert {t["id"] for t in due} == {high_late["id"], first["id"]}

    spec = client.get("/api/v1/openapi.json").json
    assert {"priority", "follow_up_at"} <= set(spec["components"]["schemas"]["Task"]["properties"])  # type: ignore[index]
    assert "version_tag" in spec["components"]["schemas"]["Definition"]["properties"]  # type: ignore[index]


@pytest.mark.usefixtures("deployed")
def test_inbox_orders_by_priority_marks_it_and_filters_tasks_to_follow_up(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    low = _start(client, urgency=2, followUpOn="2026-12-15", answerBy="P1D")
    first = _start(client)
    login(client, "thuky")

    page = client.get("/").get_data(as_text=True)
    assert _rows(page) == [(low["id"], 20), (first["id"], 80)]  # oldest first by default
    assert "Ưu tiên cao" in page and "Ưu tiên thấp" in page and "Độ ưu tiên 80/100" in page
    assert "25/11/2026 09:00" in page  # the follow-up date, in Hà Nội time

    by_priority = client.get("/?sort=priority").get_data(as_text=True)
    assert _rows(by_priority) == [(first["id"], 80), (low["id"], 20)]
    assert '<option value="priority" selected>' in by_priority

    _set_now(monkeypatch, LATER)
    lines = re.finditer(r'<tr data-task="([^"]+)".*?</tr>', client.get("/").get_data(as_text=True), re.S)
    marked = {line.group(1): '<span class="follow-up">cần theo dõi</span>' in line.group() for line in lines}
    assert marked == {first["id"]: True, low["id"]: False}  # its 25 November has come, 15 December not yet
    to_follow_up = client.get("/?follow_up=1").get_data(as_text=True)
    assert _rows(to_follow_up) == [(first["id"], 80)]  # the other one follows up on 15 Dec
    assert 'name="follow_up" value="1" checked' in to_follow_up and "cần theo dõi" in to_follow_up
    _set_now(monkeypatch, datetime(2026, 11, 24, tzinfo=UTC))
    assert "Không có công việc chung nào cần theo dõi" in client.get("/?follow_up=1").get_data(as_text=True)


@pytest.mark.usefixtures("deployed")
def test_task_page_shows_priority_and_follow_up_date(client: FlaskClient) -> None:
    first = _start(client)
    page = login(client, "thuky").get(f"/tasks/{first['id']}").get_data(as_text=True)
    assert "Độ ưu tiên 80/100" in page and "Ưu tiên cao" in page
    assert "Ngày theo dõi 25/11/2026 09:00" in page
    client.post("/language/en", data={"next": "/"})
    english = client.get(f"/tasks/{first['id']}").get_data(as_text=True)
    assert "Priority 80 of 100" in english and "High priority" in english
    assert "Follow-up date 25/11/2026 09:00" in english


@pytest.mark.usefixtures("deployed")
def test_version_tag_is_shown_next_to_the_version(client: FlaskClient) -> None:
    definitions = client.get("/api/v1/process-definitions", headers=basic("thuky")).json
    assert [d["version_tag"] for d in definitions if d["key"] == KEY] == ["2.1"]  # type: ignore[union-attr]
    login(client, "admin")
    library = client.get("/definitions").get_data(as_text=True)
    assert re.search(rf'data-key="{KEY}".*?v1 <span class="version-tag"[^>]*>\(2\.1\)</span>', library, re.S)
    process = client.get(f"/definitions/{KEY}").get_data(as_text=True)
    assert re.search(r'<h1>[^<]*<small>v1 <span class="version-tag"[^>]*>\(2\.1\)</span></small></h1>', process)
