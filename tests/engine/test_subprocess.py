"""A user task inside an embedded subprocess reaches the inbox, and the process goes on after it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine
from engine.org.models import Unit, User
from engine.runtime.engine import WorkflowCache
from engine.runtime.models import ProcessInstance, TaskRow
from tests.conftest import Clock, deploy_fixture

pytestmark = pytest.mark.usefixtures("library")


@pytest.mark.parametrize("mode", ["straight", "reload"])
def test_task_inside_an_embedded_subprocess(session: Session, users: dict[str, User], unit: Unit, clock: Clock,
                                            mode: str) -> None:  # fmt: skip
    deploy_fixture(session, clock.now, "embedded_subprocess.bpmn")
    engine = Engine(session, cache=WorkflowCache() if mode == "straight" else None)
    instance = engine.start("embedded_subprocess", actor=users["thuky"], unit_id=unit.id, now=clock.now)

    def open_row() -> TaskRow:
        return session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id, TaskRow.state == "open")).one()

    findings = open_row()
    assert (findings.element_id, findings.name) == ("record_findings", "Ghi nhận phát hiện")
    engine.complete(findings.id, actor=users["danhgiavien"], now=clock.now, variables={"findings": 2})
    conclude = open_row()
    assert conclude.element_id == "conclude" and engine.task_data(conclude)["findings"] == 2
    engine.complete(conclude.id, actor=users["giamdoc"], now=clock.now, variables={})
    session.expire_all()
    assert session.get(ProcessInstance, instance.id).status == "completed"  # type: ignore[union-attr]
