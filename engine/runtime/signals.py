"""Signals: broadcast to every instance of a unit that waits for them, and start the processes of the
unit that begin with them.

A signal thrown by a process (intermediate or end signal event) reaches the events of its own
instance through SpiffWorkflow, and every other waiting instance of the same unit through the
``message_subscriptions`` rows of kind ``signal``, in the same transaction as the throw (as in
Camunda 7): once the throwing instance is saved, the command's queue broadcasts it (``Thrown``). A
signal may also come from outside (``POST /api/v1/signals``, ``send_signal``). Signals never cross units:
each unit is its own organisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from engine.data_check import check_variables
from engine.errors import EngineStateError, NotAllowed
from engine.org.models import Unit, User
from engine.org.people import administered_unit_ids
from engine.runtime.command import Command, Commands
from engine.runtime.messages import deliver_subscription
from engine.runtime.models import MessageSubscription, ProcessDefinition, ProcessInstance
from engine.runtime.queries import runnable

MAX_SIGNAL_DEPTH = 20  # a signal caught by a process that throws it again, and so on


@dataclass
class Broadcast:
    name: str
    delivered: list[int] = field(default_factory=list)
    started: list[int] = field(default_factory=list)


def send_signal(engine: Commands, name: str, variables: dict[str, Any], *, actor: User, unit_id: int,
                now: datetime) -> Broadcast:  # fmt: skip
    """A signal from outside (``POST /api/v1/signals``): broadcast in the unit, in one command. Only an
    account holding ``admin`` in that unit sends it."""
    check_variables(variables)
    with engine.command(now=now, actor=actor) as command:
        if unit_id not in administered_unit_ids(command.session, actor):
            raise NotAllowed("Only the unit's integration accounts (role admin) may send it signals.")
        return broadcast(command, name, variables, unit_id=unit_id)


@dataclass
class Thrown:
    """A signal a process threw: broadcast to the other instances of its unit once the thrower is saved."""

    name: str
    variables: dict[str, Any]
    unit_id: int
    thrower_id: int
    depth: int

    def run(self, command: Command) -> None:
        command.signal_depth = self.depth  # the signals it leads to are one deeper
        try:
            broadcast(command, self.name, self.variables, unit_id=self.unit_id, exclude_instance=self.thrower_id)
        finally:
            command.signal_depth = 0


def broadcast(command: Command, name: str, variables: dict[str, Any], *, unit_id: int,
              exclude_instance: int | None = None) -> Broadcast:  # fmt: skip
    """Deliver a signal inside the command: to every instance of the unit waiting for it, and start every
    process of the unit that starts with it."""
    if command.signal_depth >= MAX_SIGNAL_DEPTH:
        raise EngineStateError(
            "The signal '%(name)s' keeps starting more signals (more than %(limit)s in a row); nothing was "
            "changed. Check the diagrams that throw and catch it.", name=name, limit=MAX_SIGNAL_DEPTH)  # fmt: skip
    session = command.session
    result = Broadcast(name)
    stmt = (
        select(MessageSubscription.id)
        .join(ProcessInstance, ProcessInstance.id == MessageSubscription.instance_id)
        .where(MessageSubscription.kind == "signal", MessageSubscription.message_name == name,
               MessageSubscription.state == "waiting", ProcessInstance.unit_id == unit_id)
        .order_by(MessageSubscription.id)
    )  # fmt: skip
    if exclude_instance is not None:
        stmt = stmt.where(MessageSubscription.instance_id != exclude_instance)
    for subscription_id in list(session.scalars(stmt)):
        delivered = deliver_subscription(command, subscription_id, variables)
        if delivered is not None:
            result.delivered.append(delivered)
    unit = session.get(Unit, unit_id)
    assert unit is not None
    for definition in _starting_with(command, name, unit_id):
        started = command.start(definition, unit, None, variables=variables, cause={"signal": name})
        result.started.append(started.id)
    return result


def _starting_with(command: Command, name: str, unit_id: int) -> list[ProcessDefinition]:
    """The versions the unit runs (its own line first, then the shared library's) that start with the signal."""
    found = []
    stmt = select(ProcessDefinition).where(
        ProcessDefinition.status == "active", ProcessDefinition.executable.is_(True),
        or_(ProcessDefinition.unit_id == unit_id, ProcessDefinition.unit_id.is_(None)),
    )  # fmt: skip
    for definition in command.session.scalars(stmt):
        starts = [n for n in definition.elements["nodes"].values()
                  if n["type"] == "startEvent" and not n.get("in_event_subprocess")
                  and (n.get("signal") or {}).get("name") == name]  # fmt: skip
        if starts and runnable(command.session, definition.key, unit_id) is definition:
            found.append(definition)
    return found
