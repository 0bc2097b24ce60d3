"""Messages from outside (iGate: a citizen's supplement arrived; the document system: a reply came)
reach the instances waiting for them.

A waiting message catch event, boundary message event or receive task has a row in
``message_subscriptions`` with the message name and its correlation key (Camunda 8
``zeebe:subscription correlationKey``, evaluated when the instance starts waiting). ``correlate``
delivers a message to every instance waiting for that name and key (each at most once), its variables
becoming process data; a process with a message start event of that name starts a new instance. A
message nobody waits for is not kept: the caller is told, and can send it again later.

A message comes from an account (another system's integration account) and reaches only the units that
account covers, those where it holds ``admin``: it is delivered to their instances only, and starts
processes only in one of them. Another unit's waiting instances are out of its reach, as if nothing
waited there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.data_check import check_variables
from engine.db import claim
from engine.errors import NotAllowed, NotFound
from engine.org.models import Unit, User
from engine.org.people import administered_unit_ids
from engine.runtime.command import Command
from engine.runtime.events import start_event_subprocess, start_scoped_event_subprocess
from engine.runtime.models import MessageSubscription, ProcessDefinition, ProcessInstance
from engine.runtime.tasks import find_task


class Engine(Protocol):
    """What correlating a message needs of the engine."""

    session: Session

    def command(self, *, now: datetime, actor: User | None = None) -> Command: ...

    def may_start(self, actor: User, definition: ProcessDefinition, unit_id: int) -> bool: ...

    def start(self, key: str, *, actor: User, unit_id: int, now: datetime, business_key: str | None = None,
              variables: dict[str, Any] | None = None) -> ProcessInstance: ...  # fmt: skip


class NoOneWaiting(NotFound):
    def __init__(self, name: str, key: str | None) -> None:
        super().__init__("No process is waiting for the message '%(name)s' with key '%(key)s'.", name=name,
                         key=key or "")  # fmt: skip


@dataclass
class Correlation:
    correlated: list[int] = field(default_factory=list)
    started: list[int] = field(default_factory=list)


def _deliver(engine: Engine, subscription_id: int, variables: dict[str, Any], now: datetime) -> int | None:
    with engine.command(now=now) as command:
        return deliver_subscription(command, subscription_id, variables)


def deliver_subscription(command: Command, subscription_id: int, variables: dict[str, Any]) -> int | None:
    """Claim a waiting subscription (message or signal) and move its instance on, inside the command.
    Returns the instance's id, or None when another delivery took it or nothing waits any more."""
    session = command.session
    waiting = MessageSubscription.state == "waiting"
    if not claim(session, MessageSubscription, subscription_id, waiting, state="correlated",
                 correlated_at=command.now):  # fmt: skip
        return None
    row = session.get(MessageSubscription, subscription_id, populate_existing=True)
    assert row is not None
    step = command.open(row.instance_id)
    if not trigger(step.workflow, row, variables):
        row.state = "cancelled"
        command.saved(step.instance, step.workflow)
        return None
    name = str(step.instance.definition.elements["nodes"].get(row.element_id, {}).get("name", ""))
    step.recorder.add(f"{row.kind}_correlated", element=(row.element_id, name),
                      data={row.kind: row.message_name, "correlation_key": row.correlation_key,
                            "variables": variables})  # fmt: skip
    command.proceed(step)
    return step.instance.id


def trigger(workflow: BpmnWorkflow, row: MessageSubscription, variables: dict[str, Any]) -> bool:
    """Let the message or signal of a subscription through; False when nothing waits for it any more."""
    definition = (SignalEventDefinition if row.kind == "signal" else MessageEventDefinition)(row.message_name)
    if not row.task_id:  # the start event of an event subprocess of the process
        return start_event_subprocess(workflow, BpmnEvent(definition, payload=dict(variables))) is not None
    task = find_task(workflow, row.task_id)
    if task is not None and task.task_spec.bpmn_id != row.element_id:  # an event subprocess of this subprocess
        scope = workflow.subprocesses.get(task.id)
        if scope is None or task.state != TaskState.STARTED or scope.is_completed():
            return False  # the subprocess has ended: its event subprocesses listen no more
        event = BpmnEvent(definition, payload=dict(variables))
        return start_scoped_event_subprocess(scope, event) is not None
    if task is None or task.state != TaskState.WAITING:
        return False
    task.internal_data[task.task_spec.event_definition.name] = dict(variables)  # the payload, merged on run
    task._set_internal_data(event_fired=True)
    task.task_spec._update(task)
    return True


def _start_by_message(engine: Engine, name: str, variables: dict[str, Any], actor: User, unit: Unit,
                      now: datetime, business_key: str | None = None) -> list[int]:  # fmt: skip
    started = []
    for definition in engine.session.scalars(select(ProcessDefinition)):
        if not definition.is_active:
            continue
        starts = [n for n in definition.elements["nodes"].values()
                  if n["type"] == "startEvent" and not n.get("in_event_subprocess")
                  and (n.get("message") or {}).get("name") == name]  # fmt: skip
        if starts and engine.may_start(actor, definition, unit.id):
            instance = engine.start(definition.key, actor=actor, unit_id=unit.id, now=now, variables=variables,
                                    business_key=business_key)  # fmt: skip
            started.append(instance.id)
    return started


def correlate(engine: Engine, name: str, key: str | None, variables: dict[str, Any], *, actor: User,
              unit: Unit | None, now: datetime, business_key: str | None = None) -> Correlation:  # fmt: skip
    """Deliver a message from ``actor`` to the instances of the units it covers that wait for it, and start
    the processes that begin with it in ``unit`` (one of those units); raises NoOneWaiting when no instance
    waits for it and nothing starts with it.

    With ``business_key`` (Camunda 7 correlates by it) only instances with that business key receive the
    message, and the instances it starts get it.
    """
    check_variables(variables)
    covered = administered_unit_ids(engine.session, actor)
    if not covered:
        raise NotAllowed("Only integration accounts (role admin) may send messages.")
    if unit is not None and unit.id not in covered:
        raise NotAllowed("A message starts processes only in a unit your account administers.")
    reachable = select(ProcessInstance.id).where(ProcessInstance.unit_id.in_(covered))
    stmt = select(MessageSubscription.id).where(
        MessageSubscription.instance_id.in_(reachable), MessageSubscription.kind == "message",
        MessageSubscription.message_name == name,
        MessageSubscription.state == "waiting",
        MessageSubscription.correlation_key.is_(None) if key is None else MessageSubscription.correlation_key == key,
    )  # fmt: skip
    if business_key is not None:
        keyed = select(ProcessInstance.id).where(ProcessInstance.business_key == business_key)
        stmt = stmt.where(MessageSubscription.instance_id.in_(keyed))
    result = Correlation()
    for subscription_id in list(engine.session.scalars(stmt.order_by(MessageSubscription.id))):
        instance_id = _deliver(engine, subscription_id, variables, now)
        if instance_id is not None:
            result.correlated.append(instance_id)
    if unit is not None:
        result.started = _start_by_message(engine, name, variables, actor, unit, now, business_key)
    if not result.correlated and not result.started:
        raise NoOneWaiting(name, key)
    return result
