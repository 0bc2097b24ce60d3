"""A leaver's open tasks go back to their pool (``engine.org.admin.deactivate_person`` asks for it).

A task the person held (claimed, or given to them by name) is released: whoever holds one of its
candidate roles, or is named among its candidate users or its department's role holders, may take it
again. A task that nobody active could take any more (the person was its only candidate, or the last
active holder of its roles) falls to the unit's administrators, like a task the diagram gives to nobody,
so no work is silently stranded. Each
release is a ``task_returned`` event in the instance's history. It runs in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine.db import claim
from engine.org.admin import ADMIN, ReturnedTask
from engine.org.models import RoleAssignment, User
from engine.runtime.models import HistoryEvent, TaskCandidate, TaskRow


def return_tasks(session: Session, person: User, actor: User, now: datetime) -> list[ReturnedTask]:
    """Release the person's open tasks, and hand those only they could take to the administrators: tasks
    they held, tasks offered to them by name, and tasks of a role nobody else active holds any more."""
    named = select(TaskCandidate.task_id).where(TaskCandidate.user_id == person.id)
    offered = [TaskRow.assignee_id == person.id, TaskRow.id.in_(named)]
    held_roles: dict[int, set[str]] = {}
    for unit_id, role in session.execute(select(RoleAssignment.unit_id, RoleAssignment.role)
                                         .where(RoleAssignment.user_id == person.id)):  # fmt: skip
        held_roles.setdefault(unit_id, set()).add(role)
    for unit_id, roles in held_roles.items():
        by_role = select(TaskCandidate.task_id).where(TaskCandidate.role.in_(sorted(roles)))
        offered.append(and_(TaskRow.unit_id == unit_id, TaskRow.id.in_(by_role)))
    stmt = select(TaskRow).where(TaskRow.state == "open", TaskRow.kind == "user", or_(*offered))
    returned: list[ReturnedTask] = []
    for row in session.scalars(stmt.order_by(TaskRow.created_at, TaskRow.id)).all():
        held = row.assignee_id == person.id
        if held and not claim(session, TaskRow, row.id, TaskRow.assignee_id == person.id, TaskRow.state == "open",
                              assignee_id=None, claimed_at=None):  # fmt: skip
            continue  # completed or handed back a moment ago
        stranded = not _reaches_someone(session, row, person.id)
        if not held and not stranded:
            continue  # offered to others too: nothing changes for it
        if stranded:
            session.add(TaskCandidate(task_id=row.id, role=ADMIN))
            row.candidate_roles = [*row.candidate_roles, ADMIN]
        session.add(HistoryEvent(instance_id=row.instance_id, at=now, actor_id=actor.id, kind="task_returned",
                                 element_id=row.element_id, element_name=row.name, task_id=row.id,
                                 data={"from": person.username, "reason": "deactivated", "held": held,
                                       "fell_to_admins": stranded}))  # fmt: skip
        returned.append(ReturnedTask(id=row.id, name=row.name, unit_id=row.unit_id, instance_id=row.instance_id,
                                     process_name=row.instance.definition.name, fell_to_admins=stranded))  # fmt: skip
        session.flush()
        session.expire(row)
    return returned


def _reaches_someone(session: Session, row: TaskRow, leaver_id: int) -> bool:
    """Whether an active person other than the leaver may take the task: one holding a candidate role in
    the task's unit, or one of its named candidates who still holds a role there."""
    roles = select(TaskCandidate.role).where(TaskCandidate.task_id == row.id, TaskCandidate.role.is_not(None))
    users = select(TaskCandidate.user_id).where(TaskCandidate.task_id == row.id, TaskCandidate.user_id.is_not(None))
    stmt = (
        select(User.id)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.unit_id == row.unit_id, User.is_active.is_(True), User.id != leaver_id,
               or_(RoleAssignment.role.in_(roles), User.id.in_(users)))
    )  # fmt: skip
    return session.scalar(stmt.limit(1)) is not None
