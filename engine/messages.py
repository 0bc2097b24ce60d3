"""Messages from outside (iGate: a citizen's supplement arrived; the document system: a reply came)
reach the instances waiting for them.

A waiting message catch event, boundary message event or receive task has a row in
``message_subscriptions`` with the message name and its correlation key (Camunda 8
``zeebe:subscription correlationKey``, evaluated when the instance starts waiting). ``correlate``
delivers a message to every instance waiting for that name and key (each at most once), its variables
becoming process data; a process with a message start event of that name starts a new instance. A
message nobody waits for is not kept: the caller is told, and can send it again later.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from .claims import claim
from .errors import NotFound
from .models import MessageSubscription, ProcessDefinition, Unit, User

if TYPE_CHECKING:
    from .runtime import Engine


class NoOneWaiting(NotFound):
    def __init__(self, name: str, key: str | None) -> None:
        super().__init__("No process is waiting for the message '%(name)s' with key '%(key)s'.", name=name,
                         key=key or "")  # fmt: skip


@dataclass
class Correlation:
    correlated: list[int] = field(default_factory=list)
    started: list[int] = field(default_factory=list)


def _deliver(engine: Engine, subscription_id: int, variables: dict[str, Any], now: datetime) -> int | None:
    from .runtime import _Recorder

    with engine._unit_of_work():
        waiting = MessageSubscription.state == "waiting"
        if not claim(engine.session, MessageSubscription, subscription_id, waiting, state="correlated",
                     correlated_at=now):  # fmt: skip
            return None
        row = engine.session.get(MessageSubscription, subscription_id, populate_existing=True)
        assert row is not None
        instance = engine._lock_instance(row.instance_id)
        workflow = engine._load(instance)
        task = workflow.get_task_from_id(uuid.UUID(row.task_id))
        if task.state != TaskState.WAITING:
            row.state = "cancelled"
            return None
        task.internal_data[task.task_spec.event_definition.name] = dict(variables)  # the payload, merged on run
        task._set_internal_data(event_fired=True)
        task.task_spec._update(task)
        recorder = _Recorder(instance, None, now)
        recorder.add("message_correlated", element=(row.element_id, engine._name(instance, row.element_id)),
                     data={"message": row.message_name, "correlation_key": row.correlation_key,
                           "variables": variables})  # fmt: skip
        engine._advance(workflow, instance, recorder)
        engine._finish(workflow, instance, recorder)
        return instance.id


def _start_by_message(engine: Engine, name: str, variables: dict[str, Any], actor: User, unit: Unit,
                      now: datetime) -> list[int]:  # fmt: skip
    started = []
    for definition in engine.session.scalars(select(ProcessDefinition)):
        if not definition.is_active:
            continue
        starts = [n for n in definition.elements["nodes"].values()
                  if n["type"] == "startEvent" and (n.get("message") or {}).get("name") == name]  # fmt: skip
        if starts and engine.may_start(actor, definition, unit.id):
            instance = engine.start(definition.key, actor=actor, unit_id=unit.id, now=now, variables=variables)
            started.append(instance.id)
    return started


def correlate(engine: Engine, name: str, key: str | None, variables: dict[str, Any], *, actor: User,
              unit: Unit | None, now: datetime) -> Correlation:  # fmt: skip
    """Deliver a message; raises NoOneWaiting when no instance waits for it and nothing starts with it."""
    stmt = select(MessageSubscription.id).where(
        MessageSubscription.message_name == name, MessageSubscription.state == "waiting",
        MessageSubscription.correlation_key.is_(None) if key is None else MessageSubscription.correlation_key == key,
    )  # fmt: skip
    result = Correlation()
    for subscription_id in list(engine.session.scalars(stmt.order_by(MessageSubscription.id))):
        instance_id = _deliver(engine, subscription_id, variables, now)
        if instance_id is not None:
            result.correlated.append(instance_id)
    if unit is not None:
        result.started = _start_by_message(engine, name, variables, actor, unit, now)
    if not result.correlated and not result.started:
        raise NoOneWaiting(name, key)
    return result
