"""Named job handlers: what a job type means inside eISO.

A step that waits as a job (service and send tasks, message throw events with a job; C8
``zeebe:taskDefinition type``, C7 ``camunda:topic`` or a mapped Java delegate, see ``engine.library.delegates``)
whose type names one of the built-in handlers listed in ``engine.JOB_HANDLERS`` is completed by that
handler inside the same transaction as the step that reached it; any other type waits for an external
worker (``engine.runtime.jobs``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.org.models import User
from engine.runtime.models import ProcessInstance


@dataclass
class JobContext:
    session: Session
    instance: ProcessInstance
    element_id: str
    data: Mapping[str, Any]
    actor: User | None
    now: datetime

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def record(self, kind: str, data: dict[str, Any]) -> None:
        """Add a history event; the engine writes it with the job's completion."""
        self.events.append((kind, data))


Handler = Callable[[JobContext], dict[str, Any] | None]

HANDLERS: dict[str, Handler] = {}

DECISION_JOB = "eiso.decision"
"""The built-in job of business rule tasks (``engine.runtime.business_rules``)."""
SCRIPT_JOB = "eiso.script"
"""The built-in job of script tasks (``engine.runtime.script_tasks``)."""
BUILT_IN_JOBS = {
    "businessRuleTask": DECISION_JOB,
    "scriptTask": SCRIPT_JOB,
}
"""Element types whose job the engine runs itself, whatever the diagram says."""


def job_type_of(node: Mapping[str, Any]) -> str | None:
    """The job a step of the element index stands for. A business rule task that calls no decision has
    a job type of its own (a worker's topic or a mapped Camunda 7 delegate); script tasks never do."""
    return node.get("job_type") or BUILT_IN_JOBS.get(node.get("type", ""))


JOB_OWNERS: dict[str, frozenset[str]] = {}
"""Built-in job types that change versions or registers, and the process keys that alone may use them."""


def install(handlers: Mapping[str, Handler], owners: Mapping[str, frozenset[str]]) -> None:
    """Make ``handlers`` the built-in job handlers and ``owners`` the processes their restricted types belong
    to (the engine's face lists both: ``engine.JOB_HANDLERS``, ``engine.JOB_OWNERS``)."""
    HANDLERS.clear()
    HANDLERS.update(handlers)
    JOB_OWNERS.clear()
    JOB_OWNERS.update(owners)


def may_use_job(job_type: str, process_key: str) -> bool:
    """Whether a process may run this job type: any type but those that belong to other processes."""
    owners = JOB_OWNERS.get(job_type)
    return owners is None or process_key in owners
