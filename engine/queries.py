"""Read side: inbox lists, counts, catalogues and instance pages from indexed tables only.

Nothing here loads workflow state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Exists, and_, exists, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.sql import Select

from .models import (
    HistoryEvent,
    Notice,
    ProcessDefinition,
    ProcessInstance,
    RoleAssignment,
    TaskCandidate,
    TaskRow,
    User,
)
from .organisation import roles_in_unit


def _candidate_clause(user: User) -> Exists:
    role_match = exists().where(
        RoleAssignment.user_id == user.id,
        RoleAssignment.unit_id == TaskRow.unit_id,
        RoleAssignment.role == TaskCandidate.role,
    )
    return exists().where(
        TaskCandidate.task_id == TaskRow.id, or_(TaskCandidate.user_id == user.id, role_match)
    )


def _open_tasks() -> Select[TaskRow]:
    return (
        select(TaskRow)
        .where(TaskRow.state == "open")
        .options(joinedload(TaskRow.instance).joinedload(ProcessInstance.definition), joinedload(TaskRow.assignee))
        .order_by(TaskRow.created_at, TaskRow.id)
    )


def my_tasks(session: Session, user: User) -> list[TaskRow]:
    return list(session.scalars(_open_tasks().where(TaskRow.assignee_id == user.id)))


def claimable_tasks(session: Session, user: User) -> list[TaskRow]:
    stmt = _open_tasks().where(TaskRow.assignee_id.is_(None), _candidate_clause(user))
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class InboxCounts:
    mine: int
    claimable: int
    unread_notices: int


def inbox_counts(session: Session, user: User) -> InboxCounts:
    base = select(func.count()).select_from(TaskRow).where(TaskRow.state == "open")
    mine = session.scalar(base.where(TaskRow.assignee_id == user.id)) or 0
    claimable = session.scalar(base.where(TaskRow.assignee_id.is_(None), _candidate_clause(user))) or 0
    unread = session.scalar(
        select(func.count()).select_from(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None))
    )
    return InboxCounts(mine, claimable, unread or 0)


def notices(session: Session, user: User, limit: int = 50) -> list[Notice]:
    stmt = select(Notice).where(Notice.user_id == user.id).order_by(Notice.created_at.desc(), Notice.id.desc())
    return list(session.scalars(stmt.limit(limit)))


def active_definitions(session: Session) -> list[ProcessDefinition]:
    latest = (
        select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version"))
        .where(ProcessDefinition.is_active.is_(True))
        .group_by(ProcessDefinition.key)
        .subquery()
    )
    stmt = select(ProcessDefinition).join(
        latest, and_(ProcessDefinition.key == latest.c.key, ProcessDefinition.version == latest.c.version)
    )
    return list(session.scalars(stmt.order_by(ProcessDefinition.name)))


def startable(session: Session, user: User) -> list[tuple[ProcessDefinition, list[int]]]:
    """Each active definition with the units in which the user may start it."""
    assignments = session.scalars(select(RoleAssignment).where(RoleAssignment.user_id == user.id)).all()
    roles_by_unit: dict[int, set[str]] = {}
    for a in assignments:
        roles_by_unit.setdefault(a.unit_id, set()).add(a.role)
    result = []
    for definition in active_definitions(session):
        wanted = set(definition.starter_roles)
        units = [u for u, roles in roles_by_unit.items() if not wanted or roles & wanted]
        if units:
            result.append((definition, sorted(units)))
    return result


def instances_for(session: Session, user: User, limit: int = 100) -> list[ProcessInstance]:
    unit_ids = select(RoleAssignment.unit_id).where(RoleAssignment.user_id == user.id)
    stmt = (
        select(ProcessInstance)
        .where(ProcessInstance.unit_id.in_(unit_ids))
        .options(joinedload(ProcessInstance.definition), joinedload(ProcessInstance.started_by))
        .order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def may_view_instance(session: Session, user: User, instance: ProcessInstance) -> bool:
    return bool(roles_in_unit(session, user, instance.unit_id))


def instance_tasks(session: Session, instance_id: int) -> list[TaskRow]:
    stmt = (
        select(TaskRow)
        .where(TaskRow.instance_id == instance_id)
        .options(joinedload(TaskRow.assignee), joinedload(TaskRow.completed_by))
        .order_by(TaskRow.created_at, TaskRow.id)
    )
    return list(session.scalars(stmt))


def history(session: Session, instance_id: int) -> list[HistoryEvent]:
    stmt = (
        select(HistoryEvent)
        .where(HistoryEvent.instance_id == instance_id)
        .options(selectinload(HistoryEvent.actor))
        .order_by(HistoryEvent.id)
    )
    return list(session.scalars(stmt))


def mark_notice_read(session: Session, notice: Notice, now: datetime) -> None:
    if notice.read_at is None:
        notice.read_at = now
        session.commit()
