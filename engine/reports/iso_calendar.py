"""A unit's ISO year at a glance: the processes of its ISO system with what is done and due this year, and
the open tasks of those processes, from the instance and task tables (never a workflow).

A process belongs to the ISO system when its diagram names the clause of TCVN ISO 9001:2015 it carries out,
as a process property (``zeebe:property`` / ``camunda:property``):

- ``isoClause``: e.g. ``5.2`` (quality policy), ``6.2`` (quality objectives), ``9.2`` (internal audit);
- ``isoFrequency`` (optional): ``yearly`` when the unit must run it at least once a year (it is "due" until an
  instance of it completed this year), ``on_change`` when it runs as needed.

So a new ISO process appears in every unit's calendar by its diagram alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, joinedload

from engine.org.models import User
from engine.runtime import queries
from engine.runtime.models import ProcessDefinition, ProcessInstance, TaskRow

CLAUSE = "isoClause"
FREQUENCY = "isoFrequency"


@dataclass(frozen=True)
class CalendarLine:
    """One ISO process of a unit in one year."""

    definition: ProcessDefinition
    clause: str
    frequency: str  # yearly | on_change | ""
    started: int  # instances started this year
    completed: int  # instances completed this year
    running: int  # instances running now (whenever started)
    open_tasks: int
    overdue_tasks: int
    next_due: datetime | None  # the nearest due date of its open tasks

    @property
    def due(self) -> bool:
        """A yearly process not yet completed this year."""
        return self.frequency == "yearly" and self.completed == 0


def _clause(definition: ProcessDefinition) -> str:
    properties = (definition.elements or {}).get("process", {}).get("properties", {}) or {}
    return str(properties.get(CLAUSE) or "").strip()


def iso_processes(session: Session, unit_id: int) -> list[ProcessDefinition]:
    """The versions of the ISO processes the unit runs, in the order of their clauses."""
    found = [d for d in queries.active_definitions(session, [unit_id]) if _clause(d)]
    return sorted(found, key=lambda d: ([int(p) if p.isdigit() else 0 for p in _clause(d).split(".")], d.name))


def iso_calendar(session: Session, unit_id: int, year: int, now: datetime) -> list[CalendarLine]:
    """What the unit did and has to do this year in each ISO process."""
    definitions = iso_processes(session, unit_id)
    keys = [d.key for d in definitions]
    if not keys:
        return []
    start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    started = func.sum(case((and_(ProcessInstance.started_at >= start, ProcessInstance.started_at < end), 1), else_=0))
    completed = func.sum(case((and_(ProcessInstance.completed_at >= start, ProcessInstance.completed_at < end), 1),
                              else_=0))  # fmt: skip
    running = func.sum(case((ProcessInstance.status == "running", 1), else_=0))
    instance_counts = {
        key: (s or 0, c or 0, r or 0)
        for key, s, c, r in session.execute(
            select(ProcessDefinition.key, started, completed, running)
            .join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
            .where(ProcessInstance.unit_id == unit_id, ProcessDefinition.key.in_(keys))
            .group_by(ProcessDefinition.key)
        )
    }
    overdue = func.sum(case((TaskRow.due_at < now, 1), else_=0))
    task_counts = {
        key: (n or 0, late or 0, nearest)
        for key, n, late, nearest in session.execute(
            select(ProcessDefinition.key, func.count(TaskRow.id), overdue, func.min(TaskRow.due_at))
            .join(ProcessInstance, ProcessInstance.id == TaskRow.instance_id)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
            .where(TaskRow.unit_id == unit_id, TaskRow.state == "open", ProcessDefinition.key.in_(keys))
            .group_by(ProcessDefinition.key)
        )
    }
    lines = []
    for definition in definitions:
        properties = (definition.elements or {}).get("process", {}).get("properties", {}) or {}
        s, c, r = instance_counts.get(definition.key, (0, 0, 0))
        n, late, nearest = task_counts.get(definition.key, (0, 0, None))
        lines.append(CalendarLine(definition, _clause(definition), str(properties.get(FREQUENCY) or ""), s, c, r,
                                  n, late, nearest))  # fmt: skip
    return lines


def open_iso_tasks(session: Session, viewer: User, unit_id: int, limit: int = 100) -> list[TaskRow]:
    """The open tasks of the unit's ISO processes that the viewer may see, the nearest due date first."""
    keys = [d.key for d in iso_processes(session, unit_id)]
    if not keys:
        return []
    stmt = (
        select(TaskRow)
        .join(ProcessInstance, ProcessInstance.id == TaskRow.instance_id)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(TaskRow.unit_id == unit_id, TaskRow.state == "open", TaskRow.kind == "user",
               ProcessDefinition.key.in_(keys), queries.viewable_instances(viewer))
        .options(joinedload(TaskRow.instance).joinedload(ProcessInstance.definition), joinedload(TaskRow.assignee))
        .order_by(TaskRow.due_at.asc().nulls_last(), TaskRow.created_at, TaskRow.id)
        .limit(limit)
    )  # fmt: skip
    return list(session.scalars(stmt))
