"""A server process keeps the workflows it last saved, and never serves one that another process has
changed since: two apps on one database stand for two server processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from SpiffWorkflow.util.task import TaskState

from engine import WorkflowCache
from tests.engine.test_runtime import DRAFT
from tests.webapp.conftest import basic
from webapp import create_app
from webapp.extensions import db
from webapp.settings import Settings, SettingsError


@pytest.fixture
def other_app(db_url: str, tmp_path: Path, app: Flask) -> Iterator[Flask]:
    """A second server process on the same database (the demo and library are already there)."""
    settings = Settings.from_env({}, database_url=db_url, instance_path=tmp_path / "other", testing=True,
                                 secret_key="test-secret")  # fmt: skip
    application = create_app(settings)
    yield application
    with application.app_context():
        db.session.remove()
        if db_url.startswith("sqlite"):
            db.engine.dispose()


def _cache(app: Flask) -> WorkflowCache:
    cache = app.extensions["eiso_workflow_cache"]
    assert isinstance(cache, WorkflowCache)
    return cache


def _complete(client: FlaskClient, user: str, task_id: str, variables: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/tasks/{task_id}/complete", headers=basic(user), json={"variables": variables})


def test_a_step_taken_by_another_process_is_seen_by_the_next(app: Flask, other_app: Flask) -> None:
    here, there = app.test_client(), other_app.test_client()
    started = here.post("/api/v1/process-definitions/quality_objectives/start", headers=basic("thuky"),
                        json={"business_key": "MT-2027"})  # fmt: skip
    assert started.status_code == 201, started.json
    instance = started.json["id"]
    revision = here.get(f"/api/v1/instances/{instance}", headers=basic("thuky")).json["revision"]
    kept = _cache(app).take(instance, revision)  # this process keeps the workflow it saved, as saved
    assert kept is not None and [t.task_spec.bpmn_id for t in kept.get_tasks(state=TaskState.READY)] == [
        started.json["tasks"][0]["element_id"]]
    _cache(app).put(instance, revision, kept)

    draft = started.json["tasks"][0]
    assert _complete(there, "thuky", draft["id"], DRAFT).status_code == 200  # the other process moves it on
    assert len(_cache(other_app)) == 1

    review = here.get("/api/v1/tasks", headers=basic("giamdoc")).json["claimable"][0]
    assert here.post(f"/api/v1/tasks/{review['id']}/claim", headers=basic("giamdoc")).status_code == 200
    done = _complete(here, "giamdoc", review["id"], {"decision": "approve"})
    assert done.status_code == 200, done.json  # not the workflow this process kept from before the draft

    record = here.get("/api/v1/tasks", headers=basic("thuky")).json["mine"][0]
    detail = here.get(f"/api/v1/tasks/{record['id']}", headers=basic("thuky")).json
    assert detail["data"]["title"] == DRAFT["title"]  # what the other process was given is there
    assert _complete(there, "thuky", record["id"], {"decisionNumber": "05/QĐ-SKHCN",
                                                    "effectiveDate": "2027-01-04"}).status_code == 200  # fmt: skip
    final = here.get(f"/api/v1/instances/{instance}", headers=basic("giamdoc")).json
    assert final["status"] == "completed"
    assert [e["kind"] for e in final["history"]].count("task_completed") == 3


def test_the_cache_size_is_a_setting() -> None:
    assert Settings.from_env({}).workflow_cache_size == 256
    assert Settings.from_env({"EISO_WORKFLOW_CACHE_SIZE": "0"}).workflow_cache_size == 0
    with pytest.raises(SettingsError, match="EISO_WORKFLOW_CACHE_SIZE"):
        Settings.from_env({"EISO_WORKFLOW_CACHE_SIZE": "many"})


def test_a_cache_of_size_zero_keeps_nothing() -> None:
    cache = WorkflowCache(0)
    cache.put(1, 1, object())  # type: ignore[arg-type]
    assert len(cache) == 0 and cache.take(1, 1) is None
