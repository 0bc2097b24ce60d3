"""Dossiers of administrative procedures worked over HTTP through the shipped procedure processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.dossiers.dossiers import Dossier
from tests.webapp.conftest import basic
from webapp.extensions import db

KEY = "procedure_xray_declaration"  # 5 working days
MONDAY = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)  # Monday 08:30 in Hà Nội


class Now:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    @property
    def now(self) -> datetime:
        return self.moment

    def advance(self, **kwargs: float) -> None:
        self.moment += timedelta(**kwargs)


@pytest.fixture
def web_clock(monkeypatch: pytest.MonkeyPatch) -> Now:
    now = Now(MONDAY)
    for module in ("webapp.blueprints.api", "webapp.blueprints.inbox", "webapp.views"):
        monkeypatch.setattr(f"{module}.now", now, raising=False)
    return now


APPLICANT = {"applicantName": "Phòng khám Đa khoa Hòa Bình", "applicantPhone": "0912345678",
             "applicantAddress": "12 Lê Duẩn, Buôn Ma Thuột", "channel": "1", "documents": ["doc1"]}  # fmt: skip


def receive(client: FlaskClient, key: str = KEY, desk: str = "chuyenvien", **extra: Any) -> dict[str, Any]:
    started = client.post(f"/api/v1/process-definitions/{key}/start", headers=basic(desk),
                          json={"variables": {**APPLICANT, **extra}})  # fmt: skip
    assert started.status_code == 201, started.json
    return started.json  # type: ignore[no-any-return]


def open_task(client: FlaskClient, instance_id: int, username: str, element: str) -> str:
    instance = client.get(f"/api/v1/instances/{instance_id}", headers=basic(username)).json
    found = [t for t in instance["tasks"] if t["state"] == "open" and t["element_id"] == element]  # type: ignore[index]
    assert found, (element, instance["tasks"])  # type: ignore[index]
    return str(found[0]["id"])


def work(client: FlaskClient, instance_id: int, username: str, element: str, **variables: Any) -> None:
    task_id = open_task(client, instance_id, username, element)
    done = client.post(f"/api/v1/tasks/{task_id}/complete", headers=basic(username), json={"variables": variables})
    assert done.status_code == 200, done.json


def dossier_of(app: Flask, instance_id: int) -> Dossier:
    with app.app_context():
        found = db.session.scalar(select(Dossier).where(Dossier.instance_id == instance_id))
        assert found is not None
        db.session.expunge(found)
        return found


def test_a_dossier_on_time(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    started = receive(client)
    iid = started["id"]
    web_clock.advance(hours=1)
    work(client, iid, "chuyenvien", "check", checkDecision="accept")
    web_clock.advance(hours=1)
    work(client, iid, "truongphong3", "assign", specialist="chuyenvien5")
    web_clock.advance(hours=2)
    work(client, iid, "chuyenvien5", "appraise", appraisalDecision="propose", appraisalResult="Đủ điều kiện cấp.")
    work(client, iid, "truongphong3", "review", reviewDecision="approve")
    work(client, iid, "giamdoc", "approve", approvalDecision="approve", resultNumber="15/GXN-SKHCN")
    dossier = dossier_of(app, iid)
    assert dossier.status == 9
    assert dossier.timing == "early"
    work(client, iid, "chuyenvien", "return_result", receivedBy="Nguyễn Văn A")
    dossier = dossier_of(app, iid)
    assert dossier.status == 10
    assert dossier.code.endswith("-261207-0001")
