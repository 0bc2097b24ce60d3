"""Read side: inbox lists, counts, catalogues and instance pages from indexed tables only.

Nothing here loads workflow state.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    Exists,
    and_,
    bindparam,
    case,
    event,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
    union,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased, contains_eager, defer, joinedload, load_only, selectinload
from sqlalchemy.sql import ColumnElement, CompoundSelect, Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from engine.errors import DefinitionNotFound, EngineError, InstanceNotFound
from engine.org.models import Notice, RoleAssignment, Unit, User
from engine.org.notices import (  # noqa: F401 - the inbox reads them here too
    mark_notice_read,
    notice_page,
    notice_page_query,
    notices,
    notices_query,
)
from engine.org.people import (
    SYSTEM_ADMIN,
    grants,
    has_system_role,
    holder_values,
    holds,
    holds_named,
    roles_in_unit,
    unit_ids_of,
    unit_limit,
)
from engine.runtime.models import (
    DeployedFile,
    Deployment,
    FormDefinition,
    HistoryEvent,
    ProcessDefinition,
    ProcessInstance,
    TaskCandidate,
    TaskRow,
)
from engine.runtime.priority import HIGH, LOW


def _candidate_clause(user: User, task: type[TaskRow] = TaskRow) -> ColumnElement[bool]:
    # Nested two levels deep, the role test must name the outer query's task row: left to auto-correlation
    # it would read ``FROM role_assignments, tasks`` and offer a task to anyone holding the role in any unit.
    role_match = exists().where(
        holds(user),
        RoleAssignment.unit_id == task.unit_id,
        RoleAssignment.role == TaskCandidate.role,
    ).correlate_except(RoleAssignment)
    # the offer's id, not ``*``: SQLite reads the offer from ix_task_candidates_offer alone only when the
    # subquery names no column that index lacks (the offers' copies of their task are not in it)
    offered = select(TaskCandidate.id).where(TaskCandidate.task_id == task.id,
                                             or_(TaskCandidate.user_id == user.id, role_match)).exists()  # fmt: skip
    # Named or not, only in a unit whose roles count for the user now (a token acts within its unit only).
    return and_(offered, _in_members_unit(user, task))


def _in_members_unit(user: User, task: type[TaskRow] = TaskRow) -> Exists:
    """The task belongs to a unit the user holds a role in (a row naming someone elsewhere shows nowhere)."""
    return exists().where(holds(user), RoleAssignment.unit_id == task.unit_id)


INBOX_SORTS = ("received", "priority")


@dataclass(frozen=True)
class InboxOptions:
    """How the inbox lists are ordered and narrowed."""

    sort: str = "received"
    """``received``: oldest first; ``priority``: higher priority first, then the nearest due date."""
    follow_up_by: datetime | None = None
    """Only the tasks whose follow-up date has come by this moment (None: every task)."""


def _open_tasks(options: InboxOptions) -> Select[TaskRow]:
    stmt = (
        select(TaskRow)
        .where(TaskRow.state == "open")
        .options(joinedload(TaskRow.instance).joinedload(ProcessInstance.definition), joinedload(TaskRow.assignee))
    )
    if options.follow_up_by is not None:
        stmt = stmt.where(TaskRow.follow_up_at <= options.follow_up_by)
    if options.sort == "priority":
        stmt = stmt.order_by(TaskRow.priority.desc(), TaskRow.due_at.asc().nulls_last())
    return stmt.order_by(TaskRow.created_at, TaskRow.id)


def my_tasks(session: Session, user: User, options: InboxOptions = InboxOptions()) -> list[TaskRow]:
    return list(session.scalars(_open_tasks(options).where(TaskRow.assignee_id == user.id, _in_members_unit(user))))


def delegated_tasks(session: Session, user: User, options: InboxOptions = InboxOptions()) -> list[TaskRow]:
    """The open tasks the person delegated and that have not come back yet (they still own them)."""
    stmt = _open_tasks(options).where(TaskRow.owner_id == user.id, TaskRow.delegation_state == "pending",
                                      _in_members_unit(user))  # fmt: skip
    return list(session.scalars(stmt))


def claimable_tasks(session: Session, user: User, options: InboxOptions = InboxOptions()) -> list[TaskRow]:
    stmt = _open_tasks(options).where(TaskRow.assignee_id.is_(None), _candidate_clause(user))
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class InboxCounts:
    mine: int
    claimable: int
    unread_notices: int


def inbox_counts(session: Session, user: User, known: Mapping[str, int] | None = None) -> InboxCounts:
    """The badge numbers, each capped (see ``COUNT_CAPS``); ``known``: the lists already counted
    (``whole_list_count`` of a first page that holds all of a list), not counted again."""
    known = known or {}
    mine = known["mine"] if "mine" in known else task_count(session, user, "mine") or 0
    claimable = known["claimable"] if "claimable" in known else task_count(session, user, "claimable") or 0
    unread = session.scalar(
        select(func.count()).select_from(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None))
    )
    return InboxCounts(mine, claimable, unread or 0)


def in_line(unit_id: int | None) -> ColumnElement[bool]:
    """The versions of one owner: a unit's own line, or the shared library's (``unit_id`` None)."""
    return ProcessDefinition.unit_id.is_(None) if unit_id is None else ProcessDefinition.unit_id == unit_id


def active_in_line(session: Session, key: str, unit_id: int | None) -> ProcessDefinition | None:
    """The active version of ``key`` in one owner's line (executable or documentation), if any."""
    stmt = select(ProcessDefinition).where(ProcessDefinition.key == key, ProcessDefinition.status == "active",
                                           in_line(unit_id))  # fmt: skip
    return session.scalar(stmt.order_by(ProcessDefinition.version.desc()).limit(1))


def runnable(session: Session, key: str, unit_id: int) -> ProcessDefinition:
    """The version of ``key`` the unit's people start: the unit's own active version when it runs one,
    else the shared library's; DefinitionNotFound when neither runs."""
    stmt = select(ProcessDefinition).where(
        ProcessDefinition.key == key, ProcessDefinition.status == "active", ProcessDefinition.executable.is_(True),
        or_(ProcessDefinition.unit_id == unit_id, ProcessDefinition.unit_id.is_(None)),
    )  # fmt: skip
    order = (ProcessDefinition.unit_id.is_(None), ProcessDefinition.version.desc())  # the unit's own line first
    definition = session.scalar(stmt.order_by(*order).limit(1))
    if definition is None:
        raise DefinitionNotFound(key, documentation=_documented(session, key, unit_id))
    return definition


def _documented(session: Session, key: str, unit_id: int | None) -> bool:
    """Whether ``key`` is active only as a documentation diagram where it was looked for."""
    where = [ProcessDefinition.key == key, ProcessDefinition.status == "active",
             ProcessDefinition.executable.is_(False)]  # fmt: skip
    if unit_id is not None:
        where.append(or_(ProcessDefinition.unit_id == unit_id, ProcessDefinition.unit_id.is_(None)))
    return session.scalar(select(ProcessDefinition.id).where(*where).limit(1)) is not None


def active_definition(session: Session, key: str, unit_id: int | None = None) -> ProcessDefinition:
    """The version of ``key`` that runs: for a unit, ``runnable``; without one, the shared library's (or,
    for a key only units own, the newest active version; tools and tests use this)."""
    if unit_id is not None:
        return runnable(session, key, unit_id)
    stmt = (
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key, ProcessDefinition.status == "active")
        .where(ProcessDefinition.executable.is_(True))  # documentation diagrams never run
        .order_by(ProcessDefinition.unit_id.is_not(None), ProcessDefinition.version.desc())
        .limit(1)
    )
    definition = session.scalar(stmt)
    if definition is None:
        raise DefinitionNotFound(key, documentation=_documented(session, key, None))
    return definition


def active_definitions(session: Session, unit_ids: Iterable[int]) -> list[ProcessDefinition]:
    """The version each of these units runs of every process: the unit's own active version, else the
    shared library's (documentation diagrams never run)."""
    units = set(unit_ids)
    rows = list(session.scalars(select(ProcessDefinition).where(_runs_in(units))
                                .order_by(ProcessDefinition.name, ProcessDefinition.key)))  # fmt: skip
    return _run_by(rows, units)


def _runs_in(units: set[int]) -> ColumnElement[bool]:
    """The active executable versions of the shared library and of these units (``active_definitions``)."""
    return and_(ProcessDefinition.status == "active", ProcessDefinition.executable.is_(True),
                or_(ProcessDefinition.unit_id.is_(None), ProcessDefinition.unit_id.in_(units)))  # fmt: skip


def _run_by(rows: list[Any], units: set[int]) -> list[Any]:
    """Of ``_runs_in``'s versions (rows with ``unit_id`` and ``key``), those some of these units run: a unit's
    own, and the library's where at least one of the units has no own version of that process."""
    own = {(row.unit_id, row.key) for row in rows if row.unit_id is not None}
    return [row for row in rows if row.unit_id is not None or any((u, row.key) not in own for u in units)]


def startable(session: Session, user: User) -> list[tuple[ProcessDefinition, list[int]]]:
    """Each version the user may start, with the units in which it is the version that runs."""
    assignments = session.scalars(select(RoleAssignment).where(holds(user))).all()
    roles_by_unit: dict[int, set[str]] = {}
    for a in assignments:
        roles_by_unit.setdefault(a.unit_id, set()).add(a.role)
    definitions = active_definitions(session, roles_by_unit)
    own = {(d.unit_id, d.key) for d in definitions if d.unit_id is not None}
    result = []
    for definition in definitions:
        wanted = set(definition.starter_roles)
        units = [u for u, roles in roles_by_unit.items()
                 if definition.startable_in(u) and (not wanted or roles & wanted)
                 and (definition.unit_id == u or (u, definition.key) not in own)]  # fmt: skip
        if units:
            result.append((definition, sorted(units)))
    return result


PAGE_SIZE = 50
"""The lines of a list page when the caller names no ``limit`` (every paged list: tasks, instances, notices)."""
MAX_PAGE_SIZE = 200


WHOLE_UNIT_ROLES = ("unit_leader", "iso_secretary", "internal_auditor", "admin")
"""Roles that see every instance of their unit: its leaders (who approve), its ISO secretaries (the unit's
whole ISO picture), its internal auditors (who read everything of the units they audit, and change
nothing but their findings) and its administrators."""


def viewable_instances(user: User) -> ColumnElement[bool]:
    """The rule of who sees an instance, its tasks, data, files and history, as one SQL condition on
    ``process_instances`` (lists and single instances use the same one):

    - in a unit where the person holds a role of ``WHOLE_UNIT_ROLES``: every instance of it;
    - in any other unit where they hold a role (specialists, department heads): their own work, the
      instances they started, hold or held or completed a task of, or have an open task offered to them
      (by name or by a role they hold there); a department head also the work of their department's people;
    - anywhere else, or for an inactive account: nothing.
    """
    if not user.is_active:
        return false()
    whole_units = select(RoleAssignment.unit_id).where(holds(user), RoleAssignment.role.in_(WHOLE_UNIT_ROLES))
    member_units = select(RoleAssignment.unit_id).where(holds(user))
    people = _people(user)

    def worked(name: str) -> Exists:
        # the person's column, then the instance: one probe of the partial index (person, instance) answers it,
        # where reading the instance's tasks would fetch each row (a table's alias: an ORM alias costs
        # milliseconds to build each time)
        task = TaskRow.__table__.alias()
        column = task.c[name]
        return _per_row(select(task.c.instance_id).where(column.in_(people), column.is_not(None),
                                                         task.c.instance_id == ProcessInstance.id))  # fmt: skip

    # an open task of the instance offered to them, read from the offers' copies of their task (instance,
    # unit, "open": ``OFFER_TRIGGERS``) through ``ix_task_candidates_instance``; by name, or by a role they
    # hold in the task's unit, and only in a unit of theirs. Nested two levels deep, the role test names the
    # offer (see _candidate_clause).
    offer = TaskCandidate.__table__.alias()
    role_match = exists().where(holds(user), RoleAssignment.unit_id == offer.c.unit_id,
                                RoleAssignment.role == offer.c.role).correlate_except(RoleAssignment)  # fmt: skip
    offered = _per_row(select(offer.c.id).where(offer.c.instance_id == ProcessInstance.id,
                                                offer.c.task_open == true(), offer.c.unit_id.in_(member_units),
                                                or_(offer.c.user_id == user.id, role_match)))  # fmt: skip
    own_work = or_(ProcessInstance.started_by_id.in_(people), worked("assignee_id"), worked("owner_id"),
                   worked("completed_by_id"), offered)  # fmt: skip
    # whole units are member units too: the unit test comes first and alone, so the unit's index serves it
    return and_(ProcessInstance.unit_id.in_(member_units), or_(ProcessInstance.unit_id.in_(whole_units), own_work))


def _per_row(stmt: Select[Any]) -> Exists:
    """``EXISTS (stmt)`` asked for each instance the list reads. PostgreSQL would otherwise turn it into one
    set of every instance the part matches, built before the first row (a "hashed SubPlan": the department
    head's 76,000 open offers, 55 ms, where the page needs 600 probes of a millisecond's hundredth); a
    subquery with an OFFSET is left as it is (0: nothing skipped)."""
    return stmt.offset(0).exists()


def _people(user: User) -> CompoundSelect[Any]:
    """The person, and for a department head the people of their department (by account or by role)."""
    headed = select(RoleAssignment.department_id).where(
        holds(user), RoleAssignment.role == "department_head",
        RoleAssignment.department_id.is_not(None),
    )  # fmt: skip
    colleague = aliased(RoleAssignment)
    return union(
        select(User.id).where(User.id == user.id),
        select(User.id).where(User.department_id.in_(headed)),
        select(colleague.user_id).where(colleague.department_id.in_(headed)),
    )


OWN_WORK = 1000
"""The instance lists of a person who sees only their own work in every unit of theirs (no role of
``WHOLE_UNIT_ROLES`` anywhere) start from that work when it spans at most this many instances: the instances
they (or, for a department head, their department's people) started, the tasks they hold, handed on or
completed, and the open tasks offered to them, each read from an index that holds the instance's id after
the person (or the offer's unit and role), so the distinct instances of each part come in order and the read
stops one past this number. Otherwise a specialist who sees a few hundred of a unit's hundred thousand
instances waits while the list walks the unit's instances, checking the rule on each, until a page is found.
With more, the lists walk the unit's index as before: much of what they walk is then theirs."""


def _own_work(session: Session, user: User) -> list[int] | None:
    """The ids of the instances of the person's own work (a superset of what ``viewable_instances`` lets them
    see, which still decides), or None when the list should walk the units' instances instead: the person
    sees whole units, holds no role, or has work in more than ``OWN_WORK`` instances. The parts are read one
    by one, stopping as soon as the cap is passed (a department head's are usually many)."""
    parts = own_work_parts(session, user)
    if parts is None:
        return None
    found: set[int] = set()
    for part in parts:
        found.update(session.scalars(part))
        if len(found) > OWN_WORK:
            return None
    return sorted(found)


def own_work_parts(session: Session, user: User) -> list[Select[Any]] | None:
    """The statements of ``_own_work``, each the distinct instances of one part in id order, at most
    ``OWN_WORK`` + 1 (None: the person sees whole units or holds no role)."""
    held = grants(session, user)
    if not user.is_active or not held or any(set(roles) & set(WHOLE_UNIT_ROLES) for roles in held.values()):
        return None
    people = [user.id]
    if any("department_head" in roles for roles in held.values()):
        people = sorted(set(session.scalars(_people(user))))
    parts: list[tuple[Any, list[ColumnElement[bool]]]] = [
        (TaskCandidate.instance_id, [TaskCandidate.task_open == true(), offer]) for offer in _offer_ranges(user, held)
    ]
    for person in people:  # one person a statement: an equality on the index, whatever the planner's statistics
        parts += [(ProcessInstance.id, [ProcessInstance.started_by_id == person]),
                  (TaskRow.instance_id, [TaskRow.assignee_id == person, TaskRow.assignee_id.is_not(None)]),
                  (TaskRow.instance_id, [TaskRow.owner_id == person, TaskRow.owner_id.is_not(None)]),
                  (TaskRow.instance_id, [TaskRow.completed_by_id == person, TaskRow.completed_by_id.is_not(None)])]
    # (the IS NOT NULL terms let both planners take the partial indexes)
    return [select(column).where(*where).distinct().order_by(column).limit(OWN_WORK + 1) for column, where in parts]


def _of_own_work(session: Session, user: User) -> list[ColumnElement[bool]]:
    own = _own_work(session, user)
    return [] if own is None else [ProcessInstance.id.in_(own)]


def instances_for(session: Session, user: User, limit: int = 100) -> list[ProcessInstance]:
    return list(session.scalars(instances_query(session, user, limit)))


_INSTANCE_LINE = (
    load_only(ProcessInstance.definition_id, ProcessInstance.unit_id, ProcessInstance.business_key,
              ProcessInstance.started_by_id, ProcessInstance.status, ProcessInstance.revision,
              ProcessInstance.due_at, ProcessInstance.timing, ProcessInstance.paused_at, ProcessInstance.started_at,
              ProcessInstance.completed_at),
    joinedload(ProcessInstance.definition).load_only(ProcessDefinition.key, ProcessDefinition.version,
                                                     ProcessDefinition.name),
    joinedload(ProcessInstance.started_by).load_only(User.username, User.full_name),
)  # fmt: skip
"""The columns an instance list shows: never the workflow's state, nor the definition's diagram."""


def _in_units(session: Session, user: User) -> ColumnElement[bool]:
    """The units the person holds a role in, read first and named as constants (``viewable_instances`` says
    the same by a subquery, which the planner cannot use to walk a unit's index)."""
    units = sorted(set(session.scalars(select(RoleAssignment.unit_id).where(holds(user)))))
    return ProcessInstance.unit_id == units[0] if len(units) == 1 else ProcessInstance.unit_id.in_(units)


def running_instances_query(session: Session, user: User) -> Select[ProcessInstance]:
    """The running instances the person may see, joined to their definition, loading only what Camunda's
    ProcessInstanceDto shows (no workflow state, no diagram), for the Camunda REST list to filter, sort and
    page (``firstResult``/``maxResults``). For a person of one unit, the list in id order walks
    ``ix_process_instances_unit_status`` (unit, status, id) and stops at the page's end."""
    return (
        select(ProcessInstance)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(_in_units(session, user), viewable_instances(user), ProcessInstance.status == "running",
               *_of_own_work(session, user))
        .options(
            load_only(ProcessInstance.definition_id, ProcessInstance.unit_id, ProcessInstance.business_key,
                      ProcessInstance.status),
            contains_eager(ProcessInstance.definition).load_only(ProcessDefinition.key, ProcessDefinition.version),
            selectinload(ProcessInstance.unit).load_only(Unit.code),
        )
    )  # fmt: skip


def instances_query(session: Session, user: User, limit: int) -> Select[ProcessInstance]:
    """The newest instances the person may see. The units the person holds a role in are read first and
    named as constants beside the rule (which says the same): with one unit, the list walks
    ``ix_process_instances_unit_started`` backwards and stops at ``limit``, whatever the unit's size."""
    return (
        select(ProcessInstance)
        .where(_in_units(session, user), viewable_instances(user), *_of_own_work(session, user))
        .options(*_INSTANCE_LINE)
        .order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc())
        .limit(limit)
    )


def instance_page_query(session: Session, user: User, after: tuple[datetime, int] | None = None,
                        limit: int = PAGE_SIZE) -> Select[ProcessInstance]:  # fmt: skip
    """One page of ``instances_query``: the instances after the one whose (``started_at``, ``id``) is ``after``
    (newest first, the id breaking ties), one more than ``limit`` to tell whether a next page follows. The
    boundary is one row-value comparison on the index's last two columns, so page 2 walks
    ``ix_process_instances_unit_started`` from where page 1 stopped; the unit wall is the same as page 1's."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    stmt = instances_query(session, user, limit + 1)
    if after is not None:
        stmt = stmt.where(tuple_(ProcessInstance.started_at, ProcessInstance.id)
                          < tuple_(literal(after[0], ProcessInstance.started_at.type),
                                   literal(after[1], ProcessInstance.id.type)))  # fmt: skip
    return stmt


def instance_page(session: Session, user: User, after: tuple[datetime, int] | None = None,
                  limit: int = PAGE_SIZE) -> tuple[list[ProcessInstance], tuple[datetime, int] | None]:  # fmt: skip
    """The instances of one page and the key to give back as ``after`` for the next (None: the last page)."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    rows = list(session.scalars(instance_page_query(session, user, after, limit)).unique())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].started_at, rows[-1].id) if more else None


def instant_key(raw: list[Any]) -> tuple[datetime, int]:
    """The (moment, id) key of a newest-first list from a page link; BadPageLink when it is not one."""
    if len(raw) == 2 and isinstance(raw[0], str) and isinstance(raw[1], int) and not isinstance(raw[1], bool):
        try:
            return datetime.fromisoformat(raw[0]), raw[1]
        except ValueError:
            pass
    raise BadPageLink("This page link does not belong to this list. Open the list again from its first page.")


def claimable_query(user: User) -> Select[TaskRow]:
    """The open tasks the person may claim (unassigned, offered to them or their roles in the task's unit)."""
    return select(TaskRow).where(TaskRow.state == "open", TaskRow.assignee_id.is_(None), _candidate_clause(user))


def offered_query(user: User) -> Select[TaskRow]:
    """The open tasks offered to the person or their roles in the task's unit, held by someone or not."""
    return select(TaskRow).where(TaskRow.state == "open", _candidate_clause(user))


def members_shape(user: User) -> tuple[tuple[bool, bool], dict[str, int | None]]:
    """What ``members_open_tasks`` needs of the person: the arguments that shape it (whether the account is
    active, whether it acts within one unit) and the values it names."""
    return (user.is_active, unit_limit(user) is not None), holder_values(user)


def sees_whole_units(session: Session, user: User) -> bool:
    """Whether the person sees every instance of every unit they belong to (a role of ``WHOLE_UNIT_ROLES`` in
    each): then ``viewable_instances`` lets them see just what their units hold, and ``members_open_tasks``
    alone is the rule. Nobody without a role, or with an inactive account, sees whole units."""
    held = grants(session, user)
    return user.is_active and bool(held) and all(set(roles) & set(WHOLE_UNIT_ROLES) for roles in held.values())


def beyond_members(session: Session, user: User) -> ColumnElement[bool] | None:
    """What the person's task list needs on ``process_instances`` besides ``members_open_tasks`` (the units'
    wall): nothing (None) for someone who sees whole units, else ``viewable_instances``: a specialist or a
    department head sees the tasks of their own work only, as in every other list."""
    return None if sees_whole_units(session, user) else viewable_instances(user)


def members_open_tasks(active: bool, in_one_unit: bool) -> Select[TaskRow]:
    """The open user tasks of the units a person belongs to, as a query to filter further; the person's values
    are named, so the statement is built once and run for anyone of that shape (``members_shape`` gives both).
    That is every open task the person may see only when they see whole units; anyone else also needs
    ``beyond_members`` on the task's instance."""
    members = exists().where(holds_named(in_one_unit), RoleAssignment.unit_id == TaskRow.unit_id)
    return select(TaskRow).where(TaskRow.state == "open", TaskRow.kind == "user", members,
                                 true() if active else false())  # fmt: skip


def may_view_instance(session: Session, user: User, instance: ProcessInstance) -> bool:
    """Whether the person sees the instance, its tasks, data, files and history (``viewable_instances``)."""
    return instance.id is not None and may_view(session, user, instance.id, instance.unit_id)


def may_view(session: Session, user: User, instance_id: int, unit_id: int) -> bool:
    """``may_view_instance`` for the instance ``instance_id`` of the unit ``unit_id``, without loading it (a
    task row carries both)."""
    if not user.is_active:
        return False
    # the rule's two answers that need only the person's roles in the instance's unit (one small query; the
    # whole condition costs more to build than to run): no role there sees nothing, a whole-unit role all
    roles = roles_in_unit(session, user, unit_id)
    if not roles:
        return False
    if roles & set(WHOLE_UNIT_ROLES):
        return True
    stmt = select(ProcessInstance.id).where(ProcessInstance.id == instance_id, viewable_instances(user))
    return session.scalar(stmt) is not None


def may_read_registers(session: Session, user: User, unit_id: int) -> bool:
    """The unit's ISO registers (policies, objectives and their progress, and the others) are read by every
    person holding a role in the unit, its internal auditors included; nobody else."""
    return user.is_active and bool(roles_in_unit(session, user, unit_id))


def register_units(session: Session, user: User) -> set[int]:
    """The units whose registers the person reads."""
    return unit_ids_of(session, user) if user.is_active else set()


def visible_instance(session: Session, user: User, instance_id: int) -> ProcessInstance:
    """The instance, when the user may see it; to anyone outside its unit it does not exist."""
    found = session.get(ProcessInstance, instance_id)
    if found is None or not may_view_instance(session, user, found):
        raise InstanceNotFound(instance_id)
    return found


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


# --- process definitions: the library, versions and their files -------------------------------------


@dataclass(frozen=True)
class DefinitionSummary:
    """One process key: the version people start today, and how it is used."""

    definition: ProcessDefinition
    versions: int
    running: int
    completed: int
    drafts: tuple[int, ...] = ()  # versions waiting for the unit leader's approval


@dataclass(frozen=True)
class LibraryGroup:
    """The processes one unit owns; ``unit`` None: the shared library."""

    unit: Unit | None
    summaries: list[DefinitionSummary]


def visible_units(session: Session, viewer: User) -> set[int] | None:
    """The units whose own library a person may read: the units they belong to (None: every unit, for a
    system administrator). The shared library is readable by every signed-in person."""
    if has_system_role(session, viewer, SYSTEM_ADMIN):
        return None
    return unit_ids_of(session, viewer)


def _visible(units: set[int] | None) -> ColumnElement[bool]:
    if units is None:
        return true()
    return or_(ProcessDefinition.unit_id.is_(None), ProcessDefinition.unit_id.in_(units))


def may_read_definition(session: Session, viewer: User, definition: ProcessDefinition) -> bool:
    units = visible_units(session, viewer)
    return definition.unit_id is None or units is None or definition.unit_id in units


_OWNER = func.coalesce(ProcessDefinition.unit_id, 0)  # one line per owner; 0 stands for the shared library


def definition_summaries(session: Session, viewer: User) -> list[DefinitionSummary]:
    """Every line (owner and key) the viewer may read, with its active version (the latest one if none is
    active), its drafts and the counts of its instances in the viewer's units."""
    units = visible_units(session, viewer)
    latest_active = func.max(case((ProcessDefinition.status == "active", ProcessDefinition.version)))
    lines = (
        select(
            ProcessDefinition.key, _OWNER.label("owner"), func.count().label("versions"),
            func.coalesce(latest_active, func.max(ProcessDefinition.version)).label("shown"),
        )
        .where(_visible(units))
        .group_by(ProcessDefinition.key, _OWNER)
        .subquery()
    )  # fmt: skip
    running = func.sum(case((ProcessInstance.status == "running", 1), else_=0))
    completed = func.sum(case((ProcessInstance.status == "completed", 1), else_=0))
    counted = select(ProcessDefinition.key, _OWNER.label("owner"), running.label("running"),
                     completed.label("completed")).join(
        ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)  # fmt: skip
    if units is not None:
        counted = counted.where(ProcessInstance.unit_id.in_(units))
    counts = counted.group_by(ProcessDefinition.key, _OWNER).subquery()
    stmt = (
        select(ProcessDefinition, lines.c.versions, counts.c.running, counts.c.completed)
        .join(lines, and_(ProcessDefinition.key == lines.c.key, lines.c.owner == _OWNER,
                          ProcessDefinition.version == lines.c.shown))
        .outerjoin(counts, and_(counts.c.key == ProcessDefinition.key, counts.c.owner == _OWNER))
        .options(defer(ProcessDefinition.spec_json), joinedload(ProcessDefinition.unit))
        .order_by(ProcessDefinition.name, ProcessDefinition.key)
    )  # fmt: skip
    drafts = _drafts_by_line(session, units)
    return [
        DefinitionSummary(d, n, running or 0, done or 0, drafts.get((d.unit_id, d.key), ()))
        for d, n, running, done in session.execute(stmt)
    ]


def _drafts_by_line(session: Session, units: set[int] | None) -> dict[tuple[int | None, str], tuple[int, ...]]:
    stmt = select(ProcessDefinition.unit_id, ProcessDefinition.key, ProcessDefinition.version).where(
        ProcessDefinition.status == "draft", _visible(units))  # fmt: skip
    found: dict[tuple[int | None, str], tuple[int, ...]] = {}
    for unit_id, key, version in session.execute(stmt.order_by(ProcessDefinition.version)):
        found[(unit_id, key)] = (*found.get((unit_id, key), ()), version)
    return found


def library_groups(session: Session, viewer: User) -> list[LibraryGroup]:
    """The process library the viewer may read, grouped by owner: the shared library first, then units."""
    groups: dict[int | None, LibraryGroup] = {}
    for summary in definition_summaries(session, viewer):
        unit = summary.definition.unit
        key = unit.id if unit is not None else None
        groups.setdefault(key, LibraryGroup(unit, [])).summaries.append(summary)
    return sorted(groups.values(), key=lambda g: (g.unit is not None, g.unit.name if g.unit else ""))


@dataclass(frozen=True)
class DefinitionVersion:
    definition: ProcessDefinition
    deployed_by: User | None


def definition_versions(session: Session, key: str, viewer: User) -> list[DefinitionVersion]:
    """Every version of one process key the viewer may read (the shared library's and their units'),
    newest first, with who deployed it (specs not loaded)."""
    stmt = (
        select(ProcessDefinition, User)
        .join(Deployment, Deployment.id == ProcessDefinition.deployment_id)
        .outerjoin(User, User.id == Deployment.deployed_by_id)
        .where(ProcessDefinition.key == key, _visible(visible_units(session, viewer)))
        .options(defer(ProcessDefinition.spec_json), joinedload(ProcessDefinition.deployment))
        .order_by(ProcessDefinition.version.desc())
    )
    return [DefinitionVersion(d, u) for d, u in session.execute(stmt)]


@dataclass(frozen=True)
class UsedForm:
    form: FormDefinition
    file: DeployedFile | None  # None for forms deployed before files were kept with them


def _form_ids(definition: ProcessDefinition) -> set[int]:
    nodes = (definition.elements or {}).get("nodes", {})
    return {n["form_definition_id"] for n in nodes.values() if n.get("form_definition_id")}


def forms_used(session: Session, definitions: list[ProcessDefinition]) -> dict[int, list[UsedForm]]:
    """The forms each definition's tasks show, with the uploaded .form file each version came from."""
    wanted = {d.id: _form_ids(d) for d in definitions}
    all_ids = set().union(*wanted.values()) if wanted else set()
    file_match = and_(
        DeployedFile.deployment_id == FormDefinition.deployment_id,
        DeployedFile.content_hash == FormDefinition.content_hash,
        DeployedFile.kind == "form",
    )
    stmt = (
        select(FormDefinition, DeployedFile).outerjoin(DeployedFile, file_match).where(FormDefinition.id.in_(all_ids))
    )
    by_id = {form.id: UsedForm(form, file) for form, file in session.execute(stmt)}
    return {
        def_id: sorted((by_id[i] for i in ids if i in by_id), key=lambda u: u.form.form_key)
        for def_id, ids in wanted.items()
    }


def definition_file(session: Session, key: str, version: int, file_id: int, viewer: User) -> DeployedFile | None:
    """A file of one version the viewer may read: its BPMN or a form it uses; None for any other file."""
    definition = session.scalar(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key, ProcessDefinition.version == version)
        .options(defer(ProcessDefinition.spec_json))
    )
    if definition is None or not may_read_definition(session, viewer, definition):
        return None
    allowed = {definition.bpmn_file_id} | {
        u.file.id for u in forms_used(session, [definition])[definition.id] if u.file is not None
    }
    return session.get(DeployedFile, file_id) if file_id in allowed else None


def element_states(session: Session, instance_id: int) -> dict[str, str]:
    """For a diagram overlay: each element with a task row, 'open' if any of its tasks is open, else 'completed'."""
    # "open" sorts after "completed": the greatest state of an element's tasks is "open" when any is open,
    # whatever order the database keeps the rows in
    stmt = (
        select(TaskRow.element_id, func.max(TaskRow.state))
        .where(TaskRow.instance_id == instance_id, TaskRow.state.in_(("open", "completed")))
        .group_by(TaskRow.element_id)
    )
    return {element_id: state for element_id, state in session.execute(stmt)}


def is_admin(session: Session, user: User) -> bool:
    """Administrators (role ``admin`` in any unit) may deploy processes (the roles that count now, ``grants``,
    read once a request: every page asks, for its menu)."""
    return any("admin" in roles for roles in grants(session, user).values())


def called_instances(session: Session, instance_id: int) -> list[ProcessInstance]:
    """The instances a process started through its call activities (indexed by ``parent_instance_id``)."""
    stmt = select(ProcessInstance).where(ProcessInstance.parent_instance_id == instance_id)
    return list(session.scalars(stmt.order_by(ProcessInstance.id)))


# --- paged inbox lists ---------------------------------------------------------------------------------
#
# The inbox shows one page at a time, by keyset: the page after a row is the rows that sort after it, so a
# page costs the same on the first screen as on the hundredth, and a task created or claimed meanwhile
# neither repeats nor hides another. The first query walks an index in list order and keeps only ids and
# sort keys; the second reads the columns the list shows for those ids (never the workflow, never a form).

COUNT_CAPS = {"mine": 1000, "claimable": 100}
"""Counts stop one past these: a longer list shows "1000+" / "100+". Counting a person's own tasks is a range
of ix_tasks_list; counting what they may claim checks the offer of every open task on the way, and a
secretary may share the unit's queue with a department head's 76,000 (the first 100 of hers can take two
thousand checks; the first thousand, twenty thousand)."""

TASK_LISTS = ("mine", "claimable")
DUE_FILTERS = ("today", "week", "late")
PRIORITY_FILTERS = ("high", "normal", "low")


class BadPageLink(EngineError):
    """A page cursor that was not made for this list (tampered, another list's, or from an older version)."""


@dataclass(frozen=True)
class TaskFilter:
    """How the inbox lists are narrowed; every field narrows further (they combine with AND)."""

    process: str | None = None
    """A process key: only that process's tasks."""
    due_from: datetime | None = None
    """Only tasks due at or after this moment."""
    due_before: datetime | None = None
    """Only tasks due before this moment (a late task: due before now)."""
    priority: str | None = None
    """``high`` (at or above HIGH), ``low`` (at or below LOW) or ``normal`` (between)."""
    text: str | None = None
    """Words in the task's name or its process's name (case is ignored for unaccented letters)."""


@dataclass(frozen=True)
class TaskLine:
    """One line of an inbox list: what the list shows, and nothing else."""

    id: str
    name: str
    element_id: str
    instance_id: int
    unit_id: int
    state: str
    priority: int
    created_at: datetime
    due_at: datetime | None
    follow_up_at: datetime | None
    completed_at: datetime | None
    timing: str | None
    candidate_roles: list[Any]
    delegation_state: str | None
    process_key: str
    process_name: str
    business_key: str | None
    assignee_username: str | None
    assignee_name: str | None
    owner_username: str | None
    owner_name: str | None
    form_key: str | None


@dataclass(frozen=True)
class TaskPage:
    lines: list[TaskLine]
    next_after: list[Any] | None
    """The sort key of the last line when more follow (give it back as ``after`` for the next page)."""


def _sort_keys(sort: str) -> list[tuple[Any, bool, bool]]:
    """(column, descending, nullable) in list order; the task id last makes every key unique."""
    if sort == "priority":
        return [(TaskRow.priority, True, False), (TaskRow.due_at, False, True), (TaskRow.created_at, False, False),
                (TaskRow.id, False, False)]  # fmt: skip
    return [(TaskRow.created_at, False, False), (TaskRow.id, False, False)]


def _order(keys: list[tuple[Any, bool, bool]]) -> list[Any]:
    """ORDER BY for the keys; a nullable one as ``col IS NULL, col`` (nulls last on both databases, in the
    form ``ix_tasks_list_priority`` indexes: SQLite has no NULLS LAST in an index)."""
    order: list[Any] = []
    for column, desc, nullable in keys:
        if nullable:
            order.extend((column.is_(None), column.asc()))
        else:
            order.append(column.desc() if desc else column.asc())
    return order


def _beyond(column: Any, descending: bool, nullable: bool, value: Any) -> ColumnElement[bool]:
    if value is None:  # nulls come last: nothing is beyond a null but what ties on it
        return false()
    after = column < value if descending else column > value
    return or_(after, column.is_(None)) if nullable else after


def _same(column: Any, value: Any) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def _after(keys: list[tuple[Any, bool, bool]], values: list[Any]) -> ColumnElement[bool]:
    if not any(nullable for _, _, nullable in keys) and len({desc for _, desc, _ in keys}) == 1:
        # all one way: one row-value comparison, a range of the index that serves the order
        columns = [c for c, _, _ in keys]
        key = tuple_(*(literal(v, c.type) for c, v in zip(columns, values, strict=True)))
        return tuple_(*columns) < key if keys[0][1] else tuple_(*columns) > key
    branches = []
    for i, (column, desc, nullable) in enumerate(keys):
        ties = [_same(keys[j][0], values[j]) for j in range(i)]
        branches.append(and_(*ties, _beyond(column, desc, nullable, values[i])))
    return or_(*branches)


def _key_values(sort: str, raw: list[Any]) -> list[Any]:
    """The sort key from a page link, checked value by value (BadPageLink when it does not fit the list)."""
    keys = _sort_keys(sort)
    if not isinstance(raw, list) or len(raw) != len(keys):
        raise BadPageLink("This page link does not belong to this list. Open the list again from its first page.")
    values: list[Any] = []
    for (column, _desc, nullable), value in zip(keys, raw, strict=True):
        name = column.key
        if value is None and nullable:
            values.append(None)
        elif name in ("created_at", "due_at") and isinstance(value, str):
            try:
                values.append(datetime.fromisoformat(value))
            except ValueError:
                raise BadPageLink(
                    "This page link does not belong to this list. Open the list again from its first page."
                ) from None
        elif (
            name == "priority"
            and isinstance(value, int)
            and not isinstance(value, bool)
            or name == "id"
            and isinstance(value, str)
        ):
            values.append(value)
        else:
            raise BadPageLink("This page link does not belong to this list. Open the list again from its first page.")
    return values


def _key_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value  # a moment or a day


# --- keyset pages of any list (the ISO registers) -------------------------------------------------------------
#
# A list describes its order as a ListOrder; a page is the rows after the key of the previous page's last row,
# read by ``keyset_page`` in one query along the index that serves that order. The key travels in a page
# link (``webapp/paging.py``) as JSON: numbers and text as they are, days and moments as ISO 8601.

REGISTER_PAGE_SIZE = 100
"""The rows of a register page when the caller names no ``limit`` (at most MAX_PAGE_SIZE)."""
REGISTER_COUNT_CAP = 1000
"""A register's count stops one past this ("1000+"): counting every row of a busy unit over years costs more
than the page it heads."""


def _foreign_link() -> BadPageLink:
    return BadPageLink("This page link does not belong to this list. Open the list again from its first page.")


def _python_type(column: Any) -> type:
    kind = getattr(column.type, "impl", column.type)  # a TypeDecorator (UTCDateTime) by what it stores
    return kind.python_type


def _typed(column: Any, nullable: bool, value: Any) -> Any:
    """One value of a page link's key in its column's type; BadPageLink when it is not one."""
    kind = _python_type(column)
    if value is None:
        if nullable:
            return None
    elif kind in (datetime, date) and isinstance(value, str):
        try:
            return datetime.fromisoformat(value) if kind is datetime else date.fromisoformat(value)
        except ValueError:
            pass
    elif isinstance(value, kind) and kind in (bool, int, str) and (kind is bool or not isinstance(value, bool)):
        return value
    raise _foreign_link()


@dataclass(frozen=True)
class ListOrder:
    """A list's order: (column, descending, nullable) from first to last, the last unique (the row's id) so
    that no two rows tie on the whole key. A nullable column sorts its nulls last, as ``col IS NULL, col``."""

    keys: tuple[tuple[Any, bool, bool], ...]

    def order_by(self) -> list[Any]:
        return _order(list(self.keys))

    def read(self, raw: Any) -> list[Any]:
        """The key from a page link, each value in its column's type (BadPageLink when it does not fit)."""
        if not isinstance(raw, list) or len(raw) != len(self.keys):
            raise _foreign_link()
        return [_typed(column, nullable, value) for (column, _desc, nullable), value in zip(self.keys, raw,
                                                                                           strict=True)]  # fmt: skip


def keyset_query(stmt: Select[Any], order: ListOrder, after: list[Any] | None = None,
                 limit: int = REGISTER_PAGE_SIZE) -> Select[Any]:  # fmt: skip
    """``stmt`` (the list's rows, filtered, unordered) in ``order``, after the row whose key is ``after`` (from a
    page link; None: from the first row), one more than ``limit`` to tell whether a next page follows; the key
    columns come after the row's own so that the page knows its last key."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    if after is not None:
        stmt = stmt.where(_after(list(order.keys), order.read(after)))
    keys = (column.label(f"page_key_{n}") for n, (column, _, _) in enumerate(order.keys))
    return stmt.add_columns(*keys).order_by(*order.order_by()).limit(limit + 1)


def keyset_page(session: Session, stmt: Select[Any], order: ListOrder, after: list[Any] | None = None,
                limit: int = REGISTER_PAGE_SIZE) -> tuple[list[Any], list[Any] | None]:  # fmt: skip
    """The rows of one page of ``stmt`` in ``order`` and the key to give back as ``after`` for the next page
    (None: this is the last page)."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    width = len(order.keys)
    rows = session.execute(keyset_query(stmt, order, after, limit)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [row[0] if len(row) == width + 1 else tuple(row[:-width]) for row in rows]
    return items, [_key_json(v) for v in rows[-1][-width:]] if more else None


def register_count(session: Session, stmt: Select[Any], id_column: Any, cap: int = REGISTER_COUNT_CAP) -> int:
    """How many rows ``stmt`` selects (their ids only), counting no further than ``cap + 1`` (more: "cap+")."""
    return capped_count(session, stmt.with_only_columns(id_column, maintain_column_froms=True).order_by(None), cap)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _transaction_ended(session: Session) -> None:
    session.info.pop(_SERIAL, None)


_SERIAL = "eiso.lists_serial"


def _serial(session: Session) -> None:
    """PostgreSQL: no parallel workers for the rest of this transaction. A page walks a few hundred index
    entries (under a millisecond), but the planner cannot tell how often an offer matches and starts workers
    that cost 10–20 ms to launch. Lists and their counts only; the setting ends with the transaction."""
    if _SERIAL not in session.info and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        session.info[_SERIAL] = True


def _list_clause(user: User, which: str, grants: dict[int, list[str]]) -> ColumnElement[bool]:
    """The same rule as ``my_tasks`` / ``claimable_tasks`` (``_in_members_unit``, ``_candidate_clause``) with
    the person's roles given: only tasks of units they hold a role in; to claim, offered to them by name or
    to a role they hold in the task's own unit."""
    if not grants:
        return false()
    units = TaskRow.unit_id.in_(sorted(grants))
    if which == "mine":
        return and_(TaskRow.assignee_id == user.id, units)
    if which == "claimable":
        by_role: list[ColumnElement[bool]]
        if len(grants) == 1:  # the usual case: the unit is tested outside, the offer by constants alone
            by_role = [TaskCandidate.role.in_(next(iter(grants.values())))]
        else:
            by_role = [and_(TaskRow.unit_id == unit_id, TaskCandidate.role.in_(roles))
                       for unit_id, roles in grants.items()]  # fmt: skip
        offered = select(TaskCandidate.id).where(TaskCandidate.task_id == TaskRow.id,
                                                 or_(TaskCandidate.user_id == user.id, *by_role)).exists()  # fmt: skip
        return and_(TaskRow.assignee_id.is_(None), units, offered)
    raise ValueError(f"unknown task list {which!r}")


class unindexed(FunctionElement[Any]):  # noqa: N801 - used like a column
    """A column the query's tests may not look up by an index: SQLite writes it ``+column``, which keeps the
    planner from walking another index of that table to test it; elsewhere the column as it is. The list
    read from the person's offers uses it on the task's columns, so the offers drive the join whatever the
    statistics say of a filter's share of the tasks."""

    inherit_cache = True

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(unindexed)
def _column_as_it_is(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(unindexed, "sqlite")
def _column_plus(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + str(compiler.process(element.clauses, **kw))


def _filter_clauses(filters: TaskFilter, column: Any = lambda c: c) -> list[ColumnElement[bool]]:
    """The tests of the inbox's filters on ``TaskRow``; ``column`` wraps the columns an index could serve
    (``unindexed`` where the list must be driven from elsewhere)."""
    where: list[ColumnElement[bool]] = []
    if filters.process:
        versions = select(ProcessDefinition.id).where(ProcessDefinition.key == filters.process)
        keyed = select(ProcessInstance.id).where(ProcessInstance.id == TaskRow.instance_id,
                                                 ProcessInstance.definition_id.in_(versions))  # fmt: skip
        where.append(keyed.exists())
    due, priority = column(TaskRow.due_at), column(TaskRow.priority)
    if filters.due_from is not None:
        where.append(due >= filters.due_from)
    if filters.due_before is not None:
        where.append(due < filters.due_before)
    if filters.priority == "high":
        where.append(priority >= HIGH)
    elif filters.priority == "low":
        where.append(priority <= LOW)
    elif filters.priority == "normal":
        where.append(and_(priority > LOW, priority < HIGH))
    text = (filters.text or "").strip().lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        named = (
            select(ProcessInstance.id)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
            .where(ProcessInstance.id == TaskRow.instance_id,
                   func.lower(ProcessDefinition.name).like(pattern, escape="\\"))
        )  # fmt: skip
        where.append(or_(func.lower(TaskRow.name).like(pattern, escape="\\"), named.exists()))
    return where


def _open_list(session: Session, user: User, which: str, options: InboxOptions,
               filters: TaskFilter) -> list[ColumnElement[bool]]:  # fmt: skip
    # the plain column tests first: the offer's subquery runs only for the rows that pass them
    where = [TaskRow.state == "open", *_filter_clauses(filters)]
    if options.follow_up_by is not None:
        where.append(TaskRow.follow_up_at <= options.follow_up_by)
    return [*where, _list_clause(user, which, grants(session, user))]


# The claimable list in received order, walked from the offers (``TaskCandidate``'s copies of its task): one
# range of ``ix_task_candidates_claimable_role`` per role the person holds in a unit and one of ``..._user``
# for the offers by name, each already in the list's order, so each stops after a page. Walking the tasks
# instead would check the offer of every open task of the unit queue on the way (a specialist who may claim
# five of a department head's 76,000 walked all of them for one page).
_OFFER_KEYS = [(TaskCandidate.created_at, False, False), (TaskCandidate.task_id, False, False)]


def _offer_ranges(user: User, held: dict[int, list[str]]) -> list[ColumnElement[bool]]:
    ranges: list[ColumnElement[bool]] = [
        and_(TaskCandidate.unit_id == unit_id, TaskCandidate.role == role)
        for unit_id, roles in sorted(held.items()) for role in roles
    ]  # fmt: skip
    ranges.append(TaskCandidate.user_id == user.id)
    return ranges


def _offer_parameters(user: User, held: dict[int, list[str]]) -> dict[str, Any]:
    """The values of the named offer ranges (``_offered``'s statements): the person's (unit, role) pairs in
    order, the person, and the units they hold a role in."""
    pairs = [(unit_id, role) for unit_id, roles in sorted(held.items()) for role in roles]
    values: dict[str, Any] = {"offer_user": user.id, "offer_units": sorted(held)}
    for i, (unit_id, role) in enumerate(pairs):
        values[f"offer_unit_{i}"], values[f"offer_role_{i}"] = unit_id, role
    return values


def _pair_count(held: dict[int, list[str]]) -> int:
    """How many (unit, role) offer ranges a person's roles make (the shape of ``_offered_statement``)."""
    return sum(len(roles) for roles in held.values())


def _plain(options: InboxOptions, filters: TaskFilter) -> bool:
    """Whether a claimable list is the plain one (received order, no filter), whose statements are built once
    a shape (``_plain_offered_page``, ``_plain_offered_count``)."""
    return options.sort == "received" and options.follow_up_by is None and filters == TaskFilter()


def _offered(session: Session, user: User, options: InboxOptions, filters: TaskFilter, columns: list[Any],
             after: ColumnElement[bool] | None, limit: int | None
             ) -> tuple[Select[Any] | CompoundSelect[Any], dict[str, Any]] | None:  # fmt: skip
    """The union of the person's offer ranges, with the task checked as ``_list_clause`` checks it (open, held
    by nobody, a unit of theirs); each range read in received order up to ``limit`` rows, or whole when
    ``limit`` is None. The statement names its ranges' values (``_offer_parameters``, given with it); None:
    the person holds no role anywhere."""
    held = grants(session, user)
    if not held:
        return None
    return _offered_statement(_pair_count(held), options, filters, tuple(columns), after, limit), \
        _offer_parameters(user, held)


def _offered_statement(pairs: int, options: InboxOptions, filters: TaskFilter, columns: tuple[Any, ...],
                       after: ColumnElement[bool] | None, limit: int | None
                       ) -> Select[Any] | CompoundSelect[Any]:  # fmt: skip
    # the task's columns ``unindexed``: a filter that looks selective to the planner (a due week, a priority)
    # would otherwise have SQLite walk a tasks' index across every person's tasks and join the offers to it
    task = [unindexed(TaskRow.state) == "open", unindexed(TaskRow.assignee_id).is_(None),
            unindexed(TaskRow.unit_id).in_(bindparam("offer_units", expanding=True)),
            *_filter_clauses(filters, unindexed)]  # fmt: skip
    if options.follow_up_by is not None:
        task.append(unindexed(TaskRow.follow_up_at) <= options.follow_up_by)
    ranges = [and_(TaskCandidate.unit_id == bindparam(f"offer_unit_{i}"),
                   TaskCandidate.role == bindparam(f"offer_role_{i}")) for i in range(pairs)]  # fmt: skip
    ranges.append(TaskCandidate.user_id == bindparam("offer_user"))
    parts = []
    for offer in ranges:
        if limit is None:  # the priority order: each range whole (a few offers, ``FEW_OFFERS``), sorted once merged
            part = (
                select(*columns).select_from(TaskCandidate).join(TaskRow, TaskRow.id == TaskCandidate.task_id)
                .where(TaskCandidate.claimable == true(), offer, *task)
            )  # fmt: skip
        else:
            # A page at a time: each range read in order, each offer's task looked up by its key, until a page
            # is found. Unfiltered, nearly every offer passes the task's check (the offers' copies follow their
            # task); with a filter no index serves (due date, process, words) the walk stops at a page of
            # matches. PostgreSQL's planner cannot know either: it takes the check for as selective as the
            # unit's open tasks are among all tasks and, once ANALYZE has run, joins every offer of the range to
            # every open task of the unit instead (a department head's 76,000 offers: 50 ms unfiltered, 55–85
            # ms with a due-date or process filter). So the check is a subquery the planner keeps as it is:
            # its OFFSET stops PostgreSQL from turning the EXISTS into a join. SQLite reads it alike.
            its_task = select(TaskRow.id).where(TaskRow.id == TaskCandidate.task_id, *task).offset(0)
            part = (
                select(*columns).where(TaskCandidate.claimable == true(), offer, its_task.exists())
                .order_by(TaskCandidate.created_at, TaskCandidate.task_id).limit(limit)
            )  # fmt: skip
        if after is not None:
            part = part.where(after)
        parts.append(select(*part.subquery().c))
    return union(*parts) if len(parts) > 1 else parts[0]


_AFTER_OFFER = tuple_(TaskCandidate.created_at, TaskCandidate.task_id) > tuple_(
    bindparam("after_created", type_=TaskCandidate.created_at.type),
    bindparam("after_id", type_=TaskCandidate.task_id.type),
)
"""The offers after a page's last line in received order, its key named (``after_created``, ``after_id``)."""


@functools.lru_cache(maxsize=64)
def _plain_offered_page(pairs: int, limit: int, paged: bool) -> Select[Any]:
    """A page of the plain claimable list (received order, no filter) read from the offers, for a person with
    ``pairs`` (unit, role) offer ranges: built once a shape, its values named. Building the union costs
    about as much again as running it (1.2–1.4 ms at full scale on SQLite), on every inbox page."""
    columns = (TaskCandidate.created_at.label("created_at"), TaskCandidate.task_id.label("id"))
    offered = _offered_statement(pairs, InboxOptions(), TaskFilter(), columns, _AFTER_OFFER if paged else None,
                                 limit + 1)  # fmt: skip
    return _merged_page(offered, _sort_keys("received"), limit)


@functools.lru_cache(maxsize=64)
def _plain_offered_count(pairs: int, cap: int) -> Select[Any]:
    """The capped count of the plain claimable list from the offers (see ``_plain_offered_page``)."""
    offered = _offered_statement(pairs, InboxOptions(), TaskFilter(), (TaskCandidate.task_id.label("id"),), None,
                                 cap + 1)  # fmt: skip
    return _capped(select(offered.subquery()), cap)


def _merged_page(offered: Select[Any] | CompoundSelect[Any], keys: list[tuple[Any, bool, bool]],
                 limit: int) -> Select[Any]:  # fmt: skip
    merged = offered.subquery()
    merged_keys = [(merged.c[column.key], desc, nullable) for column, desc, nullable in keys]
    return select(*(column for column, _, _ in merged_keys)).order_by(*_order(merged_keys)).limit(limit + 1)


FEW_OFFERS = 500
"""Up to this many open offers, a person's claimable list is read from them whatever its order and filters:
the offers' index is in received order and knows neither priority nor follow-up date, so the priority order
sorts all of them, and a priority filter few tasks pass reads all of them. With more (a department head's
76,000), those lists walk the tasks' indexes, which hold the priority (``ix_tasks_list_priority``) and the
follow-up date. Finding out costs a count of at most 501 index entries (0.7 ms at full scale on SQLite),
made only for those lists. Filters no index serves on either side (due date, process, words) stay on the
offers in received order, the shorter walk."""


def _few_offers(session: Session, user: User) -> bool:
    held = grants(session, user)
    if not held:
        return True
    ranges = [select(TaskCandidate.task_id).where(TaskCandidate.claimable == true(), offer).limit(FEW_OFFERS + 1)
              for offer in _offer_ranges(user, held)]  # fmt: skip
    probe = select(func.count()).select_from(union_all(*(select(r.subquery()) for r in ranges)).subquery())
    return (session.scalar(probe) or 0) <= FEW_OFFERS


def _from_offers(session: Session, user: User, options: InboxOptions, filters: TaskFilter) -> bool:
    """Whether the claimable list is read from the person's offers (see ``FEW_OFFERS``)."""
    ranked = options.sort == "priority" or options.follow_up_by is not None or filters.priority is not None
    return not ranked or _few_offers(session, user)


def _offered_page_query(session: Session, user: User, options: InboxOptions, filters: TaskFilter,
                        after: list[Any] | None, limit: int) -> tuple[Select[Any], dict[str, Any]]:  # fmt: skip
    keys = _sort_keys(options.sort)
    values = None if after is None else _key_values(options.sort, after)
    held = grants(session, user)
    if _plain(options, filters) and held:
        named = _offer_parameters(user, held)
        if values is not None:
            named["after_created"], named["after_id"] = values
        return _plain_offered_page(_pair_count(held), limit, values is not None), named
    if options.sort == "priority":  # each range whole (a few), sorted once merged
        columns = [column.label(column.key) for column, _, _ in keys]
        offered = _offered(session, user, options, filters, columns, None if values is None else _after(keys, values),
                           None)  # fmt: skip
    else:  # each range in the list's order, a page of each
        columns = [TaskCandidate.created_at.label("created_at"), TaskCandidate.task_id.label("id")]
        offered = _offered(session, user, options, filters, columns,
                           None if values is None else _after(_OFFER_KEYS, values), limit + 1)  # fmt: skip
    if offered is None:
        return cast(Select[Any], select(*(column for column, _, _ in keys)).where(false())), {}
    return _merged_page(offered[0], keys, limit), offered[1]


def task_page_query(session: Session, user: User, which: str, options: InboxOptions = InboxOptions(),
                    filters: TaskFilter = TaskFilter(), after: list[Any] | None = None,
                    limit: int = PAGE_SIZE) -> Select[Any]:  # fmt: skip
    """The statement of one page of ids and sort keys, its values bound (``task_page`` runs it; tests EXPLAIN
    it)."""
    stmt, values = _page_statement(session, user, which, options, filters, after, limit)
    return stmt.params(values) if values else stmt


def _page_statement(session: Session, user: User, which: str, options: InboxOptions, filters: TaskFilter,
                    after: list[Any] | None, limit: int) -> tuple[Select[Any], dict[str, Any]]:  # fmt: skip
    """``task_page_query``'s statement and the values it names (a statement built once for its shape is
    shared, so its values come with it rather than in it)."""
    if which == "claimable" and _from_offers(session, user, options, filters):
        return _offered_page_query(session, user, options, filters, after, max(1, min(limit, MAX_PAGE_SIZE)))
    keys = _sort_keys(options.sort)
    stmt = select(*(c for c, _, _ in keys)).where(*_open_list(session, user, which, options, filters))
    if after is not None:
        stmt = stmt.where(_after(keys, _key_values(options.sort, after)))
    # state and holder are one value in a list; naming them first lets PostgreSQL see that the index's order
    # is the list's (it takes ``assignee_id IS NULL`` for a filter, not for a single value as SQLite does)
    order = [TaskRow.state, TaskRow.assignee_id, *_order(keys)]
    return stmt.order_by(*order).limit(max(1, min(limit, MAX_PAGE_SIZE)) + 1), {}


def task_page(session: Session, user: User, which: str, options: InboxOptions = InboxOptions(),
              filters: TaskFilter = TaskFilter(), after: list[Any] | None = None,
              limit: int = PAGE_SIZE) -> TaskPage:  # fmt: skip
    """One page of the person's open tasks (``mine``) or of those they may claim (``claimable``), in the
    inbox's order, after the line whose sort key is ``after`` (None: the first page). The same unit walls
    as ``my_tasks`` and ``claimable_tasks``: the list clause is always part of the query."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    _serial(session)
    stmt, values = _page_statement(session, user, which, options, filters, after, limit)
    rows = session.execute(stmt, values).all()
    more = len(rows) > limit
    rows = rows[:limit]
    lines = task_lines(session, [row.id for row in rows])
    return TaskPage(lines, [_key_json(v) for v in rows[-1]] if more else None)


@functools.cache
def _lines_statement() -> Select[*tuple[Any, ...]]:
    """Built once (aliases and joins cost more to build than the query costs to run)."""
    assignee, owner = aliased(User), aliased(User)
    return (
        select(TaskRow.id, TaskRow.name, TaskRow.element_id, TaskRow.instance_id, TaskRow.unit_id, TaskRow.state,
               TaskRow.priority, TaskRow.created_at, TaskRow.due_at, TaskRow.follow_up_at, TaskRow.completed_at,
               TaskRow.timing, TaskRow.candidate_roles, TaskRow.delegation_state, ProcessDefinition.key,
               ProcessDefinition.name, ProcessInstance.business_key, assignee.username, assignee.full_name,
               owner.username, owner.full_name, FormDefinition.form_key)
        .join(ProcessInstance, ProcessInstance.id == TaskRow.instance_id)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .outerjoin(assignee, assignee.id == TaskRow.assignee_id)
        .outerjoin(owner, owner.id == TaskRow.owner_id)
        .outerjoin(FormDefinition, FormDefinition.id == TaskRow.form_id)
        .where(TaskRow.id.in_(bindparam("ids", expanding=True)))
    )  # fmt: skip


def task_lines(session: Session, ids: list[str]) -> list[TaskLine]:
    """The lines for these task ids, in the order given (the list's columns only, by primary key)."""
    if not ids:
        return []
    rows = session.execute(_lines_statement(), {"ids": ids})
    found = {row[0]: TaskLine(*row) for row in rows}
    return [found[i] for i in ids if i in found]


def capped_count(session: Session, stmt: Select[Any], cap: int) -> int:
    """How many rows ``stmt`` gives, counting no further than ``cap + 1`` (more than the cap: "cap+")."""
    return session.scalar(_capped(stmt, cap)) or 0


def _capped(stmt: Select[Any], cap: int) -> Select[Any]:
    return select(func.count()).select_from(stmt.limit(cap + 1).subquery())


def task_count(session: Session, user: User, which: str, options: InboxOptions = InboxOptions(),
               filters: TaskFilter = TaskFilter()) -> int | None:  # fmt: skip
    """The length of a task list, capped (``COUNT_CAPS``); None with a text search, which no index
    serves: counting would read every open task the person may see, so the list shows its pages only."""
    if filters.text and filters.text.strip():
        return None
    _serial(session)
    # the count is the same in either order: the received order's rule decides where it is read
    if which == "claimable" and _from_offers(session, user, replace(options, sort="received"), filters):
        cap = COUNT_CAPS[which]
        held = grants(session, user)
        if _plain(replace(options, sort="received"), filters) and held:  # a count has no order
            return session.scalar(_plain_offered_count(_pair_count(held), cap), _offer_parameters(user, held)) or 0
        offered = _offered(session, user, options, filters, [TaskCandidate.task_id.label("id")], None, cap + 1)
        if offered is None:
            return 0
        return session.scalar(_capped(select(offered[0].subquery()), cap), offered[1]) or 0
    stmt = select(TaskRow.id).where(*_open_list(session, user, which, options, filters))
    # in the inbox's own order: the count walks the same index as the first page and stops at the cap
    ordered = stmt.order_by(TaskRow.state, TaskRow.assignee_id, TaskRow.created_at, TaskRow.id)
    return capped_count(session, ordered, COUNT_CAPS[which])


def whole_list_count(which: str, page: TaskPage, first: bool) -> int | None:
    """The length of a list read off its first page when that page holds all of it (no next page), capped as
    ``task_count`` caps it; None when the page cannot tell. Counting again would walk the same rows a second
    time: for a person who may claim a few of a large unit's queue, the whole queue."""
    if not first or page.next_after is not None:
        return None
    return min(len(page.lines), COUNT_CAPS[which] + 1)


def page_count(session: Session, user: User, which: str, page: TaskPage, first: bool,
               options: InboxOptions = InboxOptions(), filters: TaskFilter = TaskFilter()) -> int | None:  # fmt: skip
    """``task_count`` of the list ``page`` (read with the same options and filters) belongs to; no query when
    ``whole_list_count`` can tell from the page. None with a text search, as ``task_count``."""
    if filters.text and filters.text.strip():
        return None
    counted = whole_list_count(which, page, first)
    return task_count(session, user, which, options, filters) if counted is None else counted


def delegated_lines(session: Session, user: User, options: InboxOptions = InboxOptions()) -> list[TaskLine]:
    """The lines of ``delegated_tasks`` (a person delegates a handful; the list is not paged)."""
    keys = _sort_keys(options.sort)
    stmt = select(TaskRow.id).where(TaskRow.state == "open", TaskRow.owner_id == user.id,
                                    TaskRow.delegation_state == "pending", _in_members_unit(user))  # fmt: skip
    if options.follow_up_by is not None:
        stmt = stmt.where(TaskRow.follow_up_at <= options.follow_up_by)
    return task_lines(session, list(session.scalars(stmt.order_by(*_order(keys)).limit(MAX_PAGE_SIZE))))


def inbox_processes(session: Session, user: User) -> list[tuple[str, str]]:
    """(key, name) of the processes the person's units run (``active_definitions``' rule, read by its three
    columns: the definitions' rows hold their diagrams), for the inbox's process filter."""
    units = unit_ids_of(session, user) if user.is_active else set()
    columns = (ProcessDefinition.key, ProcessDefinition.name, ProcessDefinition.unit_id)
    order = (ProcessDefinition.name, ProcessDefinition.key)
    rows = session.execute(select(*columns).where(_runs_in(units)).order_by(*order)).all()
    seen: dict[str, str] = {}
    for row in _run_by(list(rows), units):
        seen.setdefault(row.key, row.name)
    return sorted(seen.items(), key=lambda item: item[1])
