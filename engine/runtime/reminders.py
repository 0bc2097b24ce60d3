"""Deadline reminders and escalation, swept from the task rows by the scheduler.

- **Reminder**: when an open task has at most ``remindBeforeWorkingHours`` (a property of the task, else of
  the process; default 8,
  one working day) of working time left, its holder (or, while nobody holds it, everyone who may take it)
  gets an inbox notice, once.
- **Escalation**: when the deadline has passed, the department head of the holder's department is told
  (level 1; the unit leaders when there is no holder or no head); after ``escalateAfterWorkingHours``
  more (default 8) the unit leaders are told (level 2).

Each row is claimed with a conditional UPDATE that checks the previous mark, so several workers on one
database never send the same notice twice; the claim and the notices commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from engine.db import claim
from engine.errors import Phrase
from engine.org.calendar_days import calendar_for
from engine.org.models import RoleAssignment, User
from engine.org.notices import notify
from engine.org.people import users_with_role
from engine.runtime.models import HistoryEvent, ProcessInstance, TaskCandidate, TaskRow

REMIND_PROPERTY = "remindBeforeWorkingHours"
ESCALATE_PROPERTY = "escalateAfterWorkingHours"
DEFAULT_HOURS = 8.0


@dataclass
class SweepResult:
    reminded: int = 0
    escalated: int = 0


def _hours(node: dict[str, Any], name: str, process: dict[str, Any] | None = None) -> float:
    """The task's own property, else the process's, else the default."""
    raw = (node.get("properties") or {}).get(name)
    if raw in (None, "") and process:
        raw = (process.get("properties") or {}).get(name)
    try:
        return float(raw) if raw not in (None, "") else DEFAULT_HOURS
    except ValueError:
        return DEFAULT_HOURS


def _node(task: TaskRow) -> dict[str, Any]:
    return dict(task.instance.definition.elements["nodes"].get(task.element_id, {}))


def _process(task: TaskRow) -> dict[str, Any]:
    return dict(task.instance.definition.elements.get("process", {}))


def _claim(session: Session, task: TaskRow, **marks: Any) -> bool:
    """Set the marks only if no other worker set them first."""
    conditions = [TaskRow.state == "open"]
    if "reminded_at" in marks:
        conditions.append(TaskRow.reminded_at.is_(None))
    if "escalation_level" in marks:
        conditions.append(TaskRow.escalation_level == marks["escalation_level"] - 1)
    return claim(session, TaskRow, task.id, *conditions, **marks)


def _candidates(session: Session, task: TaskRow) -> list[User]:
    if task.assignee is not None:
        return [task.assignee]
    roles = select(TaskCandidate.role).where(TaskCandidate.task_id == task.id, TaskCandidate.role.is_not(None))
    stmt = (
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.unit_id == task.unit_id, RoleAssignment.role.in_(roles), User.is_active.is_(True))
        .distinct()
    )
    named = select(User).join(TaskCandidate, TaskCandidate.user_id == User.id).where(TaskCandidate.task_id == task.id)
    return list({u.id: u for u in [*session.scalars(stmt), *session.scalars(named)]}.values())


def _heads_for(session: Session, task: TaskRow) -> list[User]:
    department = task.assignee.department_id if task.assignee else None
    if department is not None:
        stmt = select(User).join(RoleAssignment, RoleAssignment.user_id == User.id).where(
            RoleAssignment.unit_id == task.unit_id, RoleAssignment.role == "department_head",
            RoleAssignment.department_id == department,
        )  # fmt: skip
        heads = list(session.scalars(stmt))
        if heads:
            return heads
    return users_with_role(session, task.unit_id, "unit_leader")


def _notify(session: Session, users: list[User], task: TaskRow, now: datetime, kind: str, title: Phrase) -> None:
    notify(session, users, unit_id=task.unit_id, instance_id=task.instance_id, kind=kind, title=title,
           body=task.instance.definition.name, link=f"/tasks/{task.id}", now=now)  # fmt: skip
    session.add(HistoryEvent(instance_id=task.instance_id, at=now, kind=kind, element_id=task.element_id,
                             element_name=task.name, task_id=task.id,
                             data={"notified": [u.username for u in users]}))  # fmt: skip


def _open_with_deadline(session: Session) -> list[TaskRow]:
    stmt = (
        select(TaskRow)
        .join(ProcessInstance, ProcessInstance.id == TaskRow.instance_id)
        .where(TaskRow.state == "open", TaskRow.due_at.is_not(None), ProcessInstance.paused_at.is_(None))
        .options(joinedload(TaskRow.instance).joinedload(ProcessInstance.definition), joinedload(TaskRow.assignee))
        .order_by(TaskRow.due_at)
    )
    return list(session.scalars(stmt))


def sweep_deadlines(session: Session, now: datetime) -> SweepResult:
    """Send the reminders and escalations that are due at ``now``; one commit per task."""
    result = SweepResult()
    calendars: dict[int, Any] = {}
    for task in _open_with_deadline(session):
        cal = calendars.setdefault(task.unit_id, calendar_for(session, task.unit_id))
        assert task.due_at is not None
        node = _node(task)
        if task.reminded_at is None and now <= task.due_at:
            left = cal.working_time_between(now, task.due_at)
            before = timedelta(hours=_hours(node, REMIND_PROPERTY, _process(task)))
            if left <= before and _claim(session, task, reminded_at=now):
                _notify(session, _candidates(session, task), task, now, "task_reminder",
                        Phrase("Due soon: %(task)s", task=task.name))  # fmt: skip
                result.reminded += 1
        elif now > task.due_at and task.escalation_level == 0 and _claim(
            session, task, escalation_level=1, escalated_at=now
        ):
            _notify(session, _heads_for(session, task), task, now, "task_escalated",
                    Phrase("Overdue: %(task)s", task=task.name))  # fmt: skip
            result.escalated += 1
        elif task.escalation_level == 1 and task.escalated_at is not None:
            second = cal.add_working_hours(task.due_at, _hours(node, ESCALATE_PROPERTY, _process(task)))
            if now > second and _claim(session, task, escalation_level=2, escalated_at=now):
                leaders = users_with_role(session, task.unit_id, "unit_leader")
                _notify(session, leaders, task, now, "task_escalated",
                        Phrase("Long overdue: %(task)s", task=task.name))  # fmt: skip
                result.escalated += 1
        session.commit()
    return result
