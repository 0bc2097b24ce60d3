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


def deploy(session: Session, clock: Clock, name: str) -> None:
    Deployer(session).deploy([SourceFile(name, (FIXTURES / name).read_bytes())], actor=None, now=clock.now)


def test_an_instance_that_nothing_can_move_is_an_incident_for_the_units_administrators(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    deploy(session, clock, "waits_for_nothing_c8.bpmn")  # a condition no task or message can make true
    instance = Engine(session).start("waits_for_nothing", actor=people.member, unit_id=people.unit.id,
                                     now=clock.now)  # fmt: skip
    assert instance.status == "running"
    (incident,) = incidents(session, instance.id)
    assert "Đã có kết quả thẩm định" in incident.data["error"]
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


@pytest.mark.parametrize("kind", ["task", "manualTask"])
def test_a_plain_or_manual_task_is_passed_straight_through_as_in_camunda(
    session: Session, people: People, clock: Clock, kind: str
) -> None:
    name = "plain_task_c8.bpmn"
    content = (FIXTURES / name).read_bytes().replace(b"bpmn:task ", f"bpmn:{kind} ".encode()) \
        .replace(b"</bpmn:task>", f"</bpmn:{kind}>".encode())  # fmt: skip
    Deployer(session).deploy([SourceFile(name, content)], actor=None, now=clock.now)
    instance = Engine(session).start("plain_task", actor=people.member, unit_id=people.unit.id, now=clock.now)
    session.refresh(instance)
    assert instance.status == "completed" and incidents(session, instance.id) == []


def test_a_camunda7_message_event_without_implementation_passes_as_a_none_event(
    session: Session, people: People, clock: Clock
) -> None:
    deploy(session, clock, "c7_message_none.bpmn")
    engine = Engine(session)
    instance = engine.start("c7_message_none", actor=people.member, unit_id=people.unit.id, now=clock.now)
    task = session.scalars(select(HistoryEvent.task_id).where(HistoryEvent.instance_id == instance.id,
                                                              HistoryEvent.kind == "task_created")).one()  # fmt: skip
    engine.complete(str(task), actor=people.member, now=clock.now, variables={})
    session.refresh(instance)
    assert instance.status == "completed" and incidents(session, instance.id) == []
