"""Signals: broadcast to every instance of a unit that waits for them, and start the processes of the
unit that begin with them.

A signal thrown by a process (intermediate or end signal event) reaches the events of its own
instance through SpiffWorkflow, and every other waiting instance of the same unit through the
``message_subscriptions`` rows of kind ``signal``, in the same transaction as the throw (as in
Camunda 7). A signal may also come from outside (``POST /api/v1/signals``). Signals never cross
units: each unit is its own organisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from .data_check import check_variables
from .errors import EngineStateError
from .models import MessageSubscription, ProcessDefinition, ProcessInstance, Unit

if TYPE_CHECKING:
    from .runtime import Engine

MAX_SIGNAL_DEPTH = 20  # a signal caught by a process that throws it again, and so on


@dataclass
class Broadcast:
    name: str
    delivered: list[int] = field(default_factory=list)
    started: list[int] = field(default_factory=list)


def broadcast(engine: Engine, name: str, variables: dict[str, Any], *, unit_id: int, now: datetime,
              exclude_instance: int | None = None) -> Broadcast:  # fmt: skip
    """Deliver a signal inside the caller's transaction; the caller commits."""
    from .messages import deliver_subscription

    check_variables(variables)
    if engine._signal_depth >= MAX_SIGNAL_DEPTH:
        raise EngineStateError(
            "The signal '%(name)s' keeps starting more signals (more than %(limit)s in a row); nothing was "
            "changed. Check the diagrams that throw and catch it.", name=name, limit=MAX_SIGNAL_DEPTH)  # fmt: skip
    engine._signal_depth += 1
    try:
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
        for subscription_id in list(engine.session.scalars(stmt)):
            delivered = deliver_subscription(engine, subscription_id, variables, now)
            if delivered is not None:
                result.delivered.append(delivered)
        unit = engine.session.get(Unit, unit_id)
        assert unit is not None
        for definition in _starting_with(engine, name, unit_id):
            started = engine._start(definition, unit, None, now, variables=variables, cause={"signal": name})
            result.started.append(started.id)
        return result
    finally:
        engine._signal_depth -= 1


def _starting_with(engine: Engine, name: str, unit_id: int) -> list[ProcessDefinition]:
    found = []
    for definition in engine.session.scalars(select(ProcessDefinition).where(ProcessDefinition.status == "active")):
        starts = [n for n in definition.elements["nodes"].values()
                  if n["type"] == "startEvent" and not n.get("in_event_subprocess")
                  and (n.get("signal") or {}).get("name") == name]  # fmt: skip
        shared_or_own = definition.unit_id in (None, unit_id)
        latest = starts and definition.executable and engine.active_definition(definition.key) is definition
        if latest and shared_or_own:
            found.append(definition)
    return found
