"""Who works a task, changed by people: reassignment by a head or leader, delegation (Camunda 7 style), and
claiming several tasks at once.

- **Reassign**: a unit leader or administrator gives any open task of the unit to a member who may work it
  (holds one of its candidate roles or is named for it); a department head does so for the tasks of their
  department (held by, or offered by name to, one of its people) and to one of its people. A reason is
  required. Any delegation in course ends.
- **Delegate**: the holder hands the task to a colleague of the unit. The task keeps its holder as its
  ``owner`` and the colleague becomes its assignee, ``delegation_state`` ``pending``. The delegate may fill
  the form and save drafts but not complete: they *resolve* it, and it comes back to the owner
  (``resolved``) with what the delegate entered as the owner's draft; the owner completes it.
- **Bulk claim**: each task is claimed in its own command, so one taken by someone else meanwhile is
  reported and the others are still claimed.

Every change is a history event naming who did it and why, and the people concerned get a notice. A
refusal changes nothing. The ``Engine`` methods of the same names are the commands; this module holds
their rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.errors import EngineError, Phrase
from engine.org.models import RoleAssignment, User
from engine.org.people import holds, roles_in_unit
from engine.runtime.models import TaskCandidate, TaskRow

WHOLE_UNIT = frozenset({"unit_leader", "admin"})
"""Roles that reassign any task of their unit."""
MAX_REASON = 1000
MAX_BULK = 100
PENDING, RESOLVED = "pending", "resolved"


@dataclass(frozen=True)
class ClaimOutcome:
    """One task of a bulk claim: claimed, or the reason it was not (an engine error to show translated)."""

    task_id: str
    task: TaskRow | None
    refusal: EngineError | None

    @property
    def claimed(self) -> bool:
        return self.refusal is None


def required_reason(reason: str | None) -> str:
    """The reason a reassignment needs: written, and not longer than a page of text."""
    text = (reason or "").strip()
    if not text:
        raise EngineError("Give a reason for the reassignment: it is kept in the history and told to the people "
                          "concerned.")  # fmt: skip
    if len(text) > MAX_REASON:
        raise EngineError("The reason is too long: at most %(n)s characters.", n=MAX_REASON)
    return text


def optional_note(note: str | None) -> str:
    text = (note or "").strip()
    if len(text) > MAX_REASON:
        raise EngineError("The note is too long: at most %(n)s characters.", n=MAX_REASON)
    return text


def bulk_ids(task_ids: Sequence[str]) -> list[str]:
    """The tasks of a bulk claim, each once, in the order given; at least one and at most ``MAX_BULK``."""
    ids = list(dict.fromkeys(str(t).strip() for t in task_ids if str(t).strip()))
    if not ids:
        raise EngineError("Select at least one task to claim.")
    if len(ids) > MAX_BULK:
        raise EngineError("At most %(n)s tasks can be claimed at once.", n=MAX_BULK)
    return ids


def headed_departments(session: Session, actor: User, unit_id: int) -> set[int]:
    """The departments of the unit the actor heads (as the account acts now)."""
    stmt = select(RoleAssignment.department_id).where(
        holds(actor), RoleAssignment.unit_id == unit_id, RoleAssignment.role == "department_head",
        RoleAssignment.department_id.is_not(None),
    )  # fmt: skip
    return {d for d in session.scalars(stmt) if d is not None}


def in_departments(session: Session, user_ids: Sequence[int], unit_id: int, departments: set[int]) -> set[int]:
    """Which of these people belong to one of the departments (their own department, or a role held for it)."""
    if not user_ids or not departments:
        return set()
    by_role = select(RoleAssignment.user_id).where(
        RoleAssignment.user_id.in_(user_ids), RoleAssignment.unit_id == unit_id,
        RoleAssignment.department_id.in_(departments),
    )  # fmt: skip
    own = select(User.id).where(User.id.in_(user_ids), User.department_id.in_(departments), User.unit_id == unit_id)
    return set(session.scalars(by_role)) | set(session.scalars(own))


def reassign_scope(session: Session, actor: User, row: TaskRow) -> set[int] | None:
    """How far the actor may reassign this task: None for not at all, an empty set for any member of the
    unit (a leader or administrator), else the departments whose people may receive it (a head whose
    department the task concerns)."""
    roles = roles_in_unit(session, actor, row.unit_id)
    if roles & WHOLE_UNIT:
        return set()
    if "department_head" not in roles:
        return None
    headed = headed_departments(session, actor, row.unit_id)
    named = list(session.scalars(select(TaskCandidate.user_id).where(
        TaskCandidate.task_id == row.id, TaskCandidate.user_id.is_not(None))))  # fmt: skip
    concerned = [u for u in [row.assignee_id, row.owner_id, *named] if u is not None]
    return headed if in_departments(session, concerned, row.unit_id, headed) else None


def unit_members(session: Session, unit_id: int) -> list[User]:
    """The active people holding a role in the unit, by name."""
    stmt = (
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.unit_id == unit_id, User.is_active.is_(True)).distinct()
    )
    return sorted(session.scalars(stmt), key=lambda u: (u.full_name, u.username))


def member_by_name(session: Session, unit_id: int, username: str) -> User | None:
    stmt = (
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(User.username == username.strip(), RoleAssignment.unit_id == unit_id, User.is_active.is_(True))
    )
    return session.scalar(stmt.limit(1))


def offered_to(session: Session, row: TaskRow, person: User) -> bool:
    """Whether the task is offered to the person (named, or by one of the roles they hold in its unit)."""
    roles = set(session.scalars(select(RoleAssignment.role).where(
        RoleAssignment.user_id == person.id, RoleAssignment.unit_id == row.unit_id)))  # fmt: skip
    if not roles:
        return False
    stmt = select(TaskCandidate.id).where(
        TaskCandidate.task_id == row.id,
        or_(TaskCandidate.user_id == person.id, TaskCandidate.role.in_(sorted(roles))),
    )  # fmt: skip
    return session.scalar(stmt.limit(1)) is not None


def reassign_notice(row: TaskRow, actor: User, reason: str) -> tuple[Phrase, list[Phrase | str]]:
    title = Phrase("A task was given to you: %(task)s", task=row.name)
    return title, [Phrase("Given by %(who)s.", who=actor.full_name), Phrase("Reason: %(reason)s", reason=reason)]
