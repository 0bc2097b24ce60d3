"""Nothing stops silently: an instance that nothing can move on gets an incident its unit's
administrators see, instead of staying "running" with nothing to do."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Deployer, Engine, HistoryEvent, Notice, SourceFile, User
from tests.conftest import FIXTURES, Clock, People
from tests.engine.test_runtime import DRAFT

pytestmark = pytest.mark.usefixtures("library")


def incidents(session: Session, instance_id: int) -> list[HistoryEvent]:
    stmt = select(HistoryEvent).where(HistoryEvent.instance_id == instance_id, HistoryEvent.kind == "incident")
    return list(session.scalars(stmt))


def test_an_instance_that_nothing_can_move_is_an_incident_for_the_units_administrators(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    content = (FIXTURES / "plain_task_c8.bpmn").read_bytes()
    Deployer(session).deploy([SourceFile("plain_task_c8.bpmn", content)], actor=None, now=clock.now)
    instance = Engine(session).start("plain_task", actor=people.member, unit_id=people.unit.id, now=clock.now)
    assert instance.status == "running"
    (incident,) = incidents(session, instance.id)
    assert "Lưu hồ sơ giấy vào tủ" in incident.data["error"]
    notified = {n.user_id for n in session.scalars(select(Notice).where(Notice.kind == "incident",
                                                                        Notice.instance_id == instance.id))}
    assert notified == {users["admin"].id}  # the demo unit's administrator, not another unit's


def test_an_instance_waiting_for_people_is_no_incident(session: Session, people: People, clock: Clock) -> None:
    engine = Engine(session)
    instance = engine.start("quality_objectives", actor=people.member, unit_id=people.unit.id, now=clock.now)
    task = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance.id,
                                                      HistoryEvent.kind == "task_created")).one()  # fmt: skip
    engine.complete(str(task.task_id), actor=people.member, now=clock.now, variables=DRAFT)
    assert incidents(session, instance.id) == []
