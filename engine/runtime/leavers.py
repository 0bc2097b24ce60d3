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
from engine.errors import Phrase
from engine.org.admin import ADMIN, ReturnedTask
from engine.org.models import RoleAssignment, User
from engine.org.notices import notify
from engine.runtime.models import HistoryEvent, TaskCandidate, TaskRow


def return_tasks(session: Session, person: User, actor: User, now: datetime) -> list[ReturnedTask]:
    """Release the person's open tasks, and hand those only they could take to the administrators: tasks
    they held, tasks offered to them by name, and tasks of a role nobody else active holds any more. A
    delegation the person was part of ends first (``_end_delegations``)."""
    returned = _end_delegations(session, person, actor, now)
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


def _end_delegations(session: Session, person: User, actor: User, now: datetime) -> list[ReturnedTask]:
    """A task delegated *to* the leaver goes back to its owner (still active) as if resolved; a task the
    leaver delegated stays with the delegate, who now holds it outright (no owner to give it back to)."""
    pending = (TaskRow.state == "open", TaskRow.delegation_state == "pending")
    returned: list[ReturnedTask] = []
    to_leaver = select(TaskRow).join(User, User.id == TaskRow.owner_id).where(
        *pending, TaskRow.assignee_id == person.id, User.is_active.is_(True))  # fmt: skip
    for row in session.scalars(to_leaver.order_by(TaskRow.created_at, TaskRow.id)).all():
        owner = row.owner
        if owner is None or not claim(session, TaskRow, row.id, *pending, TaskRow.assignee_id == person.id,
                                      assignee_id=owner.id, claimed_at=now, delegation_state="resolved"):
            continue
        _returned_event(session, row, actor, now, {"from": person.username, "to": owner.username,
                                                   "reason": "deactivated", "held": True,
                                                   "delegation": "back_to_owner"})  # fmt: skip
        notify(session, [owner], unit_id=row.unit_id, instance_id=row.instance_id, kind="task_resolved",
               title=Phrase("A delegated task came back to you: %(task)s", task=row.name),
               body=Phrase("%(who)s's account was switched off; the task is yours again.", who=person.full_name),
               link=f"/tasks/{row.id}", now=now)  # fmt: skip
    by_leaver = select(TaskRow).where(*pending, TaskRow.owner_id == person.id, TaskRow.assignee_id.is_not(None))
    for row in session.scalars(by_leaver.order_by(TaskRow.created_at, TaskRow.id)).all():
        delegate = row.assignee
        if delegate is None or not claim(session, TaskRow, row.id, *pending, TaskRow.owner_id == person.id,
                                         owner_id=None, delegation_state=None):  # fmt: skip
            continue
        _returned_event(session, row, actor, now, {"from": person.username, "to": delegate.username,
                                                   "reason": "deactivated", "held": False,
                                                   "delegation": "kept_by_delegate"})  # fmt: skip
        notify(session, [delegate], unit_id=row.unit_id, instance_id=row.instance_id, kind="task_delegated",
               title=Phrase("A task delegated to you is now yours: %(task)s", task=row.name),
               body=Phrase("%(who)s's account was switched off; complete the task yourself.", who=person.full_name),
               link=f"/tasks/{row.id}", now=now)  # fmt: skip
    session.flush()
    session.expire_all()
    return returned


def _returned_event(session: Session, row: TaskRow, actor: User, now: datetime, data: dict[str, object]) -> None:
    session.add(HistoryEvent(instance_id=row.instance_id, at=now, actor_id=actor.id, kind="task_returned",
                             element_id=row.element_id, element_name=row.name, task_id=row.id, data=data))  # fmt: skip


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
