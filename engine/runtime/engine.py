"""The engine's commands. Each one is one ``Command``: lock, load, apply, run steps, save, record, commit.

A command either commits everything it did (state with a new revision, task rows, history events,
notices and register rows) or nothing at all. How an instance moves on is ``engine.runtime.advance``;
the follow-up work of a command (called processes, callers, signals) runs from its queue.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

import forms
from engine.data_check import check_start, check_variables
from engine.db import NextClaim, claim, claim_row, write_row
from engine.errors import (
    Conflict,
    DefinitionNotFound,
    EngineError,
    FormInvalid,
    NotAllowed,
    NotFound,
    Phrase,
    TaskNotFound,
    TaskNotReady,
)
from engine.org.calendar import WorkingCalendar, classify
from engine.org.calendar_days import calendar_for
from engine.org.models import Unit, User
from engine.org.notices import notify
from engine.org.people import is_member, roles_in_unit
from engine.runtime import handover, queries, rounds
from engine.runtime.advance import Advancer, context_variables, name_of, node_of
from engine.runtime.command import Command, WorkflowCache, locking_instance
from engine.runtime.events import run_task
from engine.runtime.files import FileStore, Upload
from engine.runtime.iomapping import SHADOWED, on_completion
from engine.runtime.models import (
    FormDefinition,
    HistoryEvent,
    ProcessDefinition,
    ProcessInstance,
    StartTimer,
    StoredFile,
    TaskCandidate,
    TaskDraft,
    TaskRow,
    Timer,
)
from engine.runtime.script_engine import evaluate_expression
from engine.runtime.serialization import load_state
from engine.runtime.tasks import MAX_SAFE_DEPTH, find_task
from engine.runtime.timers import Schedule

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
COMPLETER_PROPERTY = "completedByVariable"
"""A user task property (``zeebe:property``/``camunda:property``) naming a process variable that gets the user
name of whoever completes the task: ``draftAuthor``, so a return loop can give the draft back to its author
(``assignee="=draftAuthor"``) and a notice can reach them."""

__all__ = ["Engine", "WorkflowCache", "feel_for_forms", "file_reference"]


def feel_for_forms(expression: str, context: Mapping[str, Any]) -> Any:
    """The evaluator handed to ``forms`` for conditions and computed values."""
    return evaluate_expression("=" + expression, context)


# The due timer a sweep fires next (``fire_next_timer``), with its instance locked in the same statement;
# ``passing_over``: the timers this sweep already tried and failed.
_DUE_TIMER = (Timer.state == "waiting", Timer.due_at <= bindparam("now"))
_TIMER_ORDER = (Timer.due_at, Timer.id)
_ITS_INSTANCE = [(ProcessInstance, ProcessInstance.id == Timer.instance_id)]
_NEXT_TIMER = NextClaim(Timer, *_DUE_TIMER, order_by=_TIMER_ORDER, joined=_ITS_INSTANCE, state="fired",
                        fired_at=bindparam("fired_now"))  # fmt: skip
_NEXT_TIMER_PASSING_OVER = NextClaim(
    Timer, *_DUE_TIMER, Timer.id.not_in(bindparam("passing_over", expanding=True)), order_by=_TIMER_ORDER,
    joined=_ITS_INSTANCE, state="fired", fired_at=bindparam("fired_now"),
)

def _with_its_instance(timer: Any) -> Select[Any]:
    """The claimed timer and its instance, read as ``Command.open`` would lock and load it."""
    its = select(timer, ProcessInstance).join(ProcessInstance, timer.instance_id == ProcessInstance.id)
    return locking_instance(its)


# Built once (each completion runs them): the task's row read again under the instance's lock, and its drafts
# dropped. The drafts go by the table's own DELETE: nothing in the session holds a draft by then (only the form
# page reads one), and the ORM's DELETE is made anew at each run to look for them.
_TASK_AGAIN = select(TaskRow).where(TaskRow.id == bindparam("task_id")).execution_options(populate_existing=True)
_DRAFTS = TaskDraft.metadata.tables[TaskDraft.__tablename__]
_DROP_DRAFTS = delete(_DRAFTS).where(_DRAFTS.c.task_id == bindparam("task_id"))


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    return {k: {"from": before.get(k), "to": v} for k, v in after.items() if before.get(k) != v}


class Engine:
    """Runs process instances for one database session. Every public method is one command."""

    def __init__(
        self,
        session: Session,
        *,
        max_depth: int = MAX_SAFE_DEPTH,
        cache: WorkflowCache | None = None,
        files: FileStore | None = None,
    ) -> None:
        self.session = session
        self.max_depth = max_depth
        self.cache = cache
        self.files = files
        self._calendars: dict[int, WorkingCalendar] = {}
        self._advancer = Advancer(self.calendar, max_depth=max_depth)

    def command(self, *, now: datetime, actor: User | None = None, commit: bool = True) -> Command:
        """Open a command: ``with engine.command(now=now) as command: ...`` commits everything or nothing.
        ``commit=False`` works inside the caller's transaction (the caller commits)."""
        return Command(self.session, self._advancer, now=now, actor=actor, cache=self.cache, commit=commit)

    # --- start -------------------------------------------------------------------------------

    def active_definition(self, key: str, unit_id: int | None = None) -> ProcessDefinition:
        """The version of ``key`` that runs in the unit (its own line first, then the shared library's)."""
        return queries.active_definition(self.session, key, unit_id)

    def may_start(self, actor: User, definition: ProcessDefinition, unit_id: int, *, runs_there: bool = False) -> bool:
        """The actor holds a starter role in the unit, and this is the version the unit runs (``runs_there``:
        the caller has just looked that up)."""
        if not definition.startable_in(unit_id):  # another unit's own process, or one eISO starts itself
            return False
        roles = roles_in_unit(self.session, actor, unit_id)
        if not roles or (definition.starter_roles and not roles & set(definition.starter_roles)):
            return False
        if runs_there:
            return True
        try:  # a unit that runs its own version of a shared process starts that one, never the shared one
            return queries.runnable(self.session, definition.key, unit_id).id == definition.id
        except DefinitionNotFound:
            return False

    def start(
        self,
        key: str,
        *,
        actor: User,
        unit_id: int,
        now: datetime,
        business_key: str | None = None,
        variables: Mapping[str, Any] | None = None,
        post: Mapping[str, list[str]] | None = None,
        locale: str = "vi",
    ) -> ProcessInstance:
        """Start an instance; with a start form, ``post`` or ``variables`` are validated by it first."""
        check_start(business_key, variables)
        with self.command(now=now, actor=actor) as command:
            unit = self.session.get(Unit, unit_id)
            if unit is None:
                raise NotAllowed("You may not start '%(name)s' in this unit.", name=key)
            definition = self.active_definition(key, unit_id)
            if not self.may_start(actor, definition, unit_id, runs_there=True):
                raise NotAllowed("You may not start '%(name)s' in this unit.", name=definition.name)
            form = self.start_form(definition)
            given = self._check_form(form, context_variables(unit, actor), post, variables, locale, now) if form \
                else dict(variables or {})  # fmt: skip
            return command.start(definition, unit, actor, business_key=business_key, variables=given)

    def start_by_timer(self, start_timer_id: int, *, now: datetime) -> list[ProcessInstance]:
        """Fire a due timer start event: one new instance per unit, and schedule the next occurrence.

        The claim, the instances and the next schedule commit together, so a crash fires it again
        and two workers never start the same round twice.
        """
        with self.command(now=now) as command:
            due = (StartTimer.state == "waiting", StartTimer.due_at <= now)
            if not claim(self.session, StartTimer, start_timer_id, *due, skip_locked=True, state="done", fired_at=now):
                return []
            timer = self.session.get(StartTimer, start_timer_id, populate_existing=True)
            assert timer is not None
            definition = timer.definition
            if not definition.is_active or queries.active_in_line(self.session, definition.key,
                                                                  definition.unit_id) is not definition:
                timer.state = "cancelled"
                return []
            started = [command.start(definition, unit, None) for unit in self._units_running(definition)]
            following = Schedule(timer.due_at, timer.period, timer.cycles_left, timer.cron).following(timer.due_at)
            if following is not None and (timer.cycles_left is None or timer.cycles_left > 0):
                self.session.add(StartTimer(
                    definition_id=definition.id, element_id=timer.element_id, due_at=following, period=timer.period,
                    cron=timer.cron, cycles_left=None if timer.cycles_left is None else timer.cycles_left - 1,
                    state="waiting",
                ))  # fmt: skip
        return started

    def _units_running(self, definition: ProcessDefinition) -> list[Unit]:
        """The units whose version of the process this is: its owner, or for a shared version every unit
        that runs no version of its own."""
        if definition.unit_id is not None:
            unit = self.session.get(Unit, definition.unit_id)
            return [unit] if unit is not None else []
        own = select(ProcessDefinition.unit_id).where(
            ProcessDefinition.key == definition.key, ProcessDefinition.status == "active",
            ProcessDefinition.executable.is_(True), ProcessDefinition.unit_id.is_not(None),
        )  # fmt: skip
        return list(self.session.scalars(select(Unit).where(Unit.id.not_in(own)).order_by(Unit.id)))

    @staticmethod
    def context_variables(unit: Unit, actor: User | None) -> dict[str, Any]:
        """Data every process of a unit can use (forms list departments with ``valuesKey: departments``)."""
        return context_variables(unit, actor)

    def calendar(self, unit_id: int) -> WorkingCalendar:
        """The unit's working calendar, built once per engine (one request or command)."""
        if unit_id not in self._calendars:
            self._calendars[unit_id] = calendar_for(self.session, unit_id)
        return self._calendars[unit_id]

    # --- tasks -------------------------------------------------------------------------------

    def task_row(self, task_id: str) -> TaskRow:
        row = self.session.get(TaskRow, task_id)
        if row is None:
            raise TaskNotFound(task_id)
        return row

    def _locked_task(self, task_id: str) -> TaskRow:
        """The task's row read again once its instance is locked: as it is now, not as the caller first saw
        it (someone may have claimed or completed it in between)."""
        row = self.session.scalars(_TASK_AGAIN, {"task_id": task_id}).one_or_none()
        if row is None:
            raise TaskNotFound(task_id)
        return row

    def visible_task(self, task_id: str, viewer: User) -> TaskRow:
        """A task of one of the viewer's units (its page, its data); to anyone else it does not exist."""
        row = self.task_row(task_id)
        if not queries.may_view(self.session, viewer, row.instance_id, row.unit_id):  # a task is of its instance's unit
            raise TaskNotFound(task_id)
        return row

    def is_candidate(self, row: TaskRow, user: User) -> bool:
        """Whether the user may take the task: named for it or holding a candidate role, always in its unit."""
        roles = roles_in_unit(self.session, user, row.unit_id)
        if not roles:  # nobody outside the task's unit works on it, whatever a row says
            return False
        candidates = self.session.scalars(select(TaskCandidate).where(TaskCandidate.task_id == row.id)).all()
        return any(c.user_id == user.id or (c.role is not None and c.role in roles) for c in candidates)

    def may_work(self, row: TaskRow, user: User) -> bool:
        if row.assignee_id is not None:
            return row.assignee_id == user.id and is_member(self.session, user, row.unit_id)
        return self.is_candidate(row, user)

    def _require_open(self, row: TaskRow) -> None:
        if row.state == "open":
            return
        if row.state == "completed":
            who = row.completed_by.full_name if row.completed_by else "the system"
            when = row.completed_at.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y") if row.completed_at else ""
            message = "This task was already completed by %(who)s at %(when)s; nothing was changed."
            raise TaskNotReady(row.id, message, who=who, when=when)
        raise TaskNotReady(row.id, "This task is no longer active (the process moved on); nothing was changed.")

    def claim(self, task_id: str, *, actor: User, now: datetime) -> TaskRow:
        with self.command(now=now, actor=actor):
            row = self.task_row(task_id)
            self._require_open(row)
            if row.assignee_id == actor.id:
                return row
            if row.assignee_id is not None:
                holder = row.assignee.full_name if row.assignee else "?"
                raise Conflict("This task is already held by %(who)s.", who=holder)
            if not self.is_candidate(row, actor):
                raise NotAllowed("You are not among the people who may take this task.")
            free = (TaskRow.assignee_id.is_(None), TaskRow.state == "open")
            if not claim(self.session, TaskRow, task_id, *free, assignee_id=actor.id, claimed_at=now):
                raise Conflict("Someone else took this task a moment ago.")
            self._task_event(row, actor, now, "task_claimed")
        self.session.refresh(row)
        return row

    def unclaim(self, task_id: str, *, actor: User, now: datetime) -> TaskRow:
        with self.command(now=now, actor=actor):
            row = self.task_row(task_id)
            self._require_open(row)
            if row.assignee_id != actor.id or not self.may_work(row, actor):
                raise NotAllowed("Only the person holding a task can hand it back.")
            if row.delegation_state == handover.PENDING:
                raise NotAllowed("A task delegated to you goes back to its owner by resolving it, "
                                 "not by handing it back.")  # fmt: skip
            row.assignee_id = None
            row.claimed_at = None
            self._task_event(row, actor, now, "task_unclaimed")
        return row

    def _task_event(self, row: TaskRow, actor: User, now: datetime, kind: str,
                    data: dict[str, Any] | None = None) -> None:  # fmt: skip
        self.session.add(
            HistoryEvent(instance_id=row.instance_id, at=now, actor_id=actor.id, kind=kind,
                         element_id=row.element_id, element_name=row.name, task_id=row.id, data=data or {})
        )  # fmt: skip

    # --- who works a task: reassign, delegate, resolve, claim several (``engine.runtime.handover``) ----------

    def may_reassign(self, row: TaskRow, actor: User) -> bool:
        """A unit leader or administrator of the task's unit, or the head of the department it concerns."""
        return row.state == "open" and handover.reassign_scope(self.session, actor, row) is not None

    def reassign_choices(self, row: TaskRow, actor: User) -> list[User]:
        """The people the actor may give the task to: active members it is offered to (within the head's
        department for a department head)."""
        scope = handover.reassign_scope(self.session, actor, row)
        if scope is None or row.state != "open":
            return []
        people = [u for u in handover.unit_members(self.session, row.unit_id)
                  if handover.offered_to(self.session, row, u)]  # fmt: skip
        if scope:
            within = handover.in_departments(self.session, [u.id for u in people], row.unit_id, scope)
            people = [u for u in people if u.id in within]
        return people

    def unit_members(self, unit_id: int) -> list[User]:
        """The unit's active people, by name (choices of a substitute or a delegate)."""
        return handover.unit_members(self.session, unit_id)

    def delegate_choices(self, row: TaskRow, actor: User) -> list[User]:
        """The colleagues the holder may delegate the task to: the unit's active members but the holder (and
        the owner a delegated task goes back to by resolving)."""
        if row.state != "open" or row.assignee_id != actor.id or not self.may_work(row, actor):
            return []
        return [u for u in handover.unit_members(self.session, row.unit_id) if u.id not in (actor.id, row.owner_id)]

    def reassign(self, task_id: str, assignee: str, *, reason: str, actor: User, now: datetime) -> TaskRow:
        """Give an open task to a member who may work it; the reason is kept and told. Another unit's task is
        TaskNotFound, a completed one TaskNotReady (409), anyone but a leader, administrator or the head of
        the department it concerns NotAllowed; nothing changes on a refusal."""
        why = handover.required_reason(reason)
        with self.command(now=now, actor=actor):
            row = self.visible_task(task_id, actor)
            self._require_open(row)
            scope = handover.reassign_scope(self.session, actor, row)
            if scope is None:
                raise NotAllowed("Only a unit leader, an administrator or the head of the department the task "
                                 "concerns may reassign it.")  # fmt: skip
            target = handover.member_by_name(self.session, row.unit_id, assignee or "")
            if target is None:
                raise EngineError("No active member of this unit has the user name '%(name)s'.",
                                  name=(assignee or "").strip()[:100])  # fmt: skip
            if not handover.offered_to(self.session, row, target):
                raise NotAllowed("%(who)s may not work this task: they neither hold one of its roles nor are named "
                                 "for it.", who=target.full_name)  # fmt: skip
            if scope and not handover.in_departments(self.session, [target.id], row.unit_id, scope):
                raise NotAllowed("A department head gives tasks only to the people of their department.")
            if row.assignee_id == target.id and row.delegation_state != handover.PENDING:
                raise Conflict("%(who)s already holds this task; nothing was changed.", who=target.full_name)
            before, owner = row.assignee, row.owner if row.delegation_state == handover.PENDING else None
            held = TaskRow.assignee_id.is_(None) if row.assignee_id is None else TaskRow.assignee_id == row.assignee_id
            if not claim(self.session, TaskRow, task_id, held, TaskRow.state == "open", assignee_id=target.id,
                         claimed_at=now, owner_id=None, delegation_state=None):  # fmt: skip
                raise Conflict("The task changed a moment ago; nothing was changed. Open it again to see who holds it.")
            self._task_event(row, actor, now, "task_reassigned", {
                "from": before.username if before else None, "to": target.username, "reason": why})  # fmt: skip
            link = f"/tasks/{row.id}"
            title, body = handover.reassign_notice(row, actor, why)
            notify(self.session, [target], unit_id=row.unit_id, instance_id=row.instance_id, kind="task_reassigned",
                   title=title, body=body, link=link, now=now)  # fmt: skip
            told = [u for u in (before, owner) if u is not None and u.id not in (target.id, actor.id)]
            if told:
                notify(self.session, told, unit_id=row.unit_id, instance_id=row.instance_id, kind="task_reassigned",
                       title=Phrase("A task of yours was given to %(who)s: %(task)s", who=target.full_name,
                                    task=row.name),
                       body=body, link=link, now=now)  # fmt: skip
        self.session.refresh(row)
        return row

    def delegate(self, task_id: str, delegate: str, *, note: str = "", actor: User, now: datetime) -> TaskRow:
        """The holder hands the task to a colleague of the unit; it stays theirs (``owner``) and comes back
        when the colleague resolves it."""
        text = handover.optional_note(note)
        with self.command(now=now, actor=actor):
            row = self.visible_task(task_id, actor)
            self._require_open(row)
            if row.assignee_id != actor.id or not self.may_work(row, actor):
                raise NotAllowed("Only the person holding a task can delegate it.")
            target = handover.member_by_name(self.session, row.unit_id, delegate or "")
            if target is None:
                raise EngineError("No active member of this unit has the user name '%(name)s'.",
                                  name=(delegate or "").strip()[:100])  # fmt: skip
            if target.id == actor.id:
                raise EngineError("You already hold this task: choose a colleague to delegate it to.")
            owner_id = row.owner_id if row.delegation_state == handover.PENDING and row.owner_id else actor.id
            if target.id == owner_id:
                raise EngineError("%(who)s owns this task: resolve it to give it back.", who=target.full_name)
            if not claim(self.session, TaskRow, task_id, TaskRow.assignee_id == actor.id, TaskRow.state == "open",
                         assignee_id=target.id, claimed_at=now, owner_id=owner_id,
                         delegation_state=handover.PENDING):  # fmt: skip
                raise Conflict("The task changed a moment ago; nothing was changed. Open it again to see who holds it.")
            owner = self.session.get(User, owner_id)
            self._task_event(row, actor, now, "task_delegated", {
                "owner": owner.username if owner else None, "delegate": target.username, "note": text})  # fmt: skip
            body: list[Phrase | str] = [Phrase("Delegated by %(who)s; resolve it to give it back.",
                                               who=actor.full_name)]  # fmt: skip
            if text:
                body.append(Phrase("Note: %(note)s", note=text))
            notify(self.session, [target], unit_id=row.unit_id, instance_id=row.instance_id, kind="task_delegated",
                   title=Phrase("A task was delegated to you: %(task)s", task=row.name), body=body,
                   link=f"/tasks/{row.id}", now=now)  # fmt: skip
        self.session.refresh(row)
        return row

    def resolve(self, task_id: str, values: Mapping[str, Any] | None = None, *, note: str = "", actor: User,
                now: datetime) -> TaskRow:  # fmt: skip
        """The delegate gives the task back to its owner; what they entered becomes the owner's draft."""
        check_variables(values)
        text = handover.optional_note(note)
        with self.command(now=now, actor=actor):
            row = self.visible_task(task_id, actor)
            self._require_open(row)
            if row.delegation_state != handover.PENDING or row.assignee_id != actor.id \
                    or not self.may_work(row, actor) or row.owner_id is None:  # fmt: skip
                raise NotAllowed("Only the person a task was delegated to can resolve it.")
            owner_id = row.owner_id
            if not claim(self.session, TaskRow, task_id, TaskRow.assignee_id == actor.id, TaskRow.state == "open",
                         TaskRow.delegation_state == handover.PENDING, assignee_id=owner_id, claimed_at=now,
                         delegation_state=handover.RESOLVED):  # fmt: skip
                raise Conflict("The task changed a moment ago; nothing was changed. Open it again to see who holds it.")
            owner = self.session.get(User, owner_id)
            assert owner is not None
            entered = dict(values or {})
            self.session.execute(delete(TaskDraft).where(TaskDraft.task_id == row.id,
                                                         TaskDraft.user_id.in_([actor.id, owner_id])))  # fmt: skip
            if entered:
                self.session.add(TaskDraft(task_id=row.id, user_id=owner_id, values=entered, saved_at=now))
            self._task_event(row, actor, now, "task_resolved", {
                "owner": owner.username, "delegate": actor.username, "note": text})  # fmt: skip
            body: list[Phrase | str] = [Phrase("%(who)s resolved it; what they entered is your draft. Complete it.",
                                               who=actor.full_name)]  # fmt: skip
            if text:
                body.append(Phrase("Note: %(note)s", note=text))
            notify(self.session, [owner], unit_id=row.unit_id, instance_id=row.instance_id, kind="task_resolved",
                   title=Phrase("A delegated task came back to you: %(task)s", task=row.name), body=body,
                   link=f"/tasks/{row.id}", now=now)  # fmt: skip
        self.session.refresh(row)
        return row

    def claim_many(self, task_ids: list[str], *, actor: User, now: datetime) -> list[handover.ClaimOutcome]:
        """Claim several tasks, each in its own command: one that cannot be claimed (taken meanwhile, not
        offered to the actor, another unit's: not found) is reported with its reason, the others are claimed."""
        outcomes = []
        for task_id in handover.bulk_ids(task_ids):
            try:
                self.visible_task(task_id, actor)
                outcomes.append(handover.ClaimOutcome(task_id, self.claim(task_id, actor=actor, now=now), None))
            except EngineError as refusal:
                self.session.rollback()
                outcomes.append(handover.ClaimOutcome(task_id, None, refusal))
        return outcomes

    def task_data(self, row: TaskRow) -> dict[str, Any]:
        """The data a task's form starts from (deserializes this one instance): the task's data without the
        decisions an earlier round of the same step made (``engine.runtime.rounds``)."""
        instance = row.instance
        workflow = load_state(instance.state, instance.definition.spec_json)
        task = workflow.get_task_from_id(uuid.UUID(row.id))
        return rounds.fresh(self.session, row, self.task_form(row), task.data)

    def completed_data(self, row: TaskRow) -> dict[str, Any]:
        """What a completed task's form showed and was completed with: the data it read then (kept with the
        completion) and the submitted values. A completion kept before the engine kept what the form read
        shows the instance's data as it stands now, with the submitted values over it."""
        event = self._completion(row)
        values = dict(event.get("values", {}))
        seen = event.get("seen")
        if seen is None:
            seen = self.instance_variables(row.instance) if row.instance.state else {}
        return {**seen, **values}

    def _completion(self, row: TaskRow) -> dict[str, Any]:
        stmt = select(HistoryEvent.data).where(
            HistoryEvent.instance_id == row.instance_id, HistoryEvent.task_id == row.id,
            HistoryEvent.kind == "task_completed",
        )  # fmt: skip
        return dict(self.session.scalar(stmt.limit(1)) or {})

    def instance_variables(self, instance: ProcessInstance) -> dict[str, Any]:
        """The process data of one instance as it stands: what its latest step left (deserializes this one
        instance; lists never call it)."""
        workflow = load_state(instance.state, instance.definition.spec_json)
        latest = workflow.last_task
        return {**workflow.data, **(latest.data if latest is not None else {})}

    def submitted_values(self, row: TaskRow) -> dict[str, Any]:
        """What the task was completed with, from its history event (no workflow needed)."""
        return dict(self._completion(row).get("values", {}))

    def described_changes(self, events: list[HistoryEvent], locale: str = "vi") -> dict[int, list[forms.Entry]]:
        """For an instance's history: what each completed task changed, as label → value pairs read as on the
        task's form (option labels, dates dd/mm/yyyy), keyed by the event's id."""
        described: dict[int, list[forms.Entry]] = {}
        loaded: dict[str, forms.Form | None] = {}
        for event in events:
            changed = (event.data or {}).get("changed") if event.kind == "task_completed" else None
            if not changed or not event.task_id:
                continue
            if event.task_id not in loaded:
                row = self.session.get(TaskRow, event.task_id)
                loaded[event.task_id] = self.task_form(row) if row is not None else None
            form = loaded[event.task_id]
            values = {key: change.get("to") if isinstance(change, dict) else change for key, change in changed.items()}
            data = {**(event.data.get("seen") or {}), **(event.data.get("values") or {})}
            if form is None:
                form = forms.Form([])
            described[event.id] = form.describe(values, data, locale=locale, evaluate=feel_for_forms)
        return described

    def task_form(self, row: TaskRow) -> forms.Form | None:
        if row.form is not None:
            return forms.load_form_js(row.form.schema)
        node = row.instance.definition.elements["nodes"].get(row.element_id, {})
        return forms.load_generated_form(node["generated_form"]) if node.get("generated_form") else None

    def external_form(self, row: TaskRow, data: Mapping[str, Any]) -> str | None:
        """The address of a form kept outside eISO (Camunda 8 ``externalReference``), worked out with the
        task's data when it is a FEEL expression; only a web address (http or https) is given out."""
        node = row.instance.definition.elements["nodes"].get(row.element_id, {})
        reference = node.get("external_form")
        if not isinstance(reference, str) or not reference.strip():
            return None
        address: Any = reference.strip()
        if address.startswith("="):
            try:
                address = feel_for_forms(address[1:], data)
            except EngineError:
                return None
        if not isinstance(address, str) or urlsplit(address).scheme not in ("http", "https"):
            return None
        return address

    def start_form(self, definition: ProcessDefinition) -> forms.Form | None:
        """The form of the process's (first) none start event, if it has one."""
        for node in definition.elements["nodes"].values():
            if node["type"] != "startEvent":
                continue
            if node.get("form_definition_id"):
                form = self.form_for(node["form_definition_id"])
                return forms.load_form_js(form.schema) if form else None
            if node.get("generated_form"):
                return forms.load_generated_form(node["generated_form"])
        return None

    def complete(
        self,
        task_id: str,
        *,
        actor: User,
        now: datetime,
        post: Mapping[str, list[str]] | None = None,
        variables: Mapping[str, Any] | None = None,
        locale: str = "vi",
        files: Mapping[str, list[StoredFile]] | None = None,
    ) -> TaskRow:
        """Complete a user task with an HTML form post or JSON variables, validated by its form.

        ``files`` maps a file input's name to the uploads stashed for it (see ``stash_uploads``);
        on completion they are attached to the task and their references stored in the data.
        """
        check_variables(variables)
        with self.command(now=now, actor=actor) as command:
            row = self.task_row(task_id)
            step = command.open(row.instance_id, actor=actor)
            instance, recorder = step.instance, step.recorder
            row = self._locked_task(task_id)
            self._require_open(row)
            if not self.may_work(row, actor):
                raise NotAllowed("This task is not yours to complete: claim it first, or ask its holder.")
            calendar = self.calendar(row.unit_id)  # read before the row changes: one UPDATE of it, not two
            if row.delegation_state == handover.PENDING:
                owner = row.owner.full_name if row.owner else "?"
                raise NotAllowed("This task was delegated to you by %(owner)s: resolve it to give it back; "
                                 "%(owner)s completes it.", owner=owner)  # fmt: skip
            task = step.workflow.get_task_from_id(uuid.UUID(task_id))
            if not task.has_state(TaskState.READY):
                raise TaskNotReady(task_id, "The process is not waiting for this task any more.")
            form = self.task_form(row)
            starting = rounds.fresh(self.session, row, form, task.data)
            values = self._validated(row, starting, post, variables, locale, now, files or {})
            attached = self._attach(row, files or {}, values)
            claimed = {"assignee_id": actor.id, "claimed_at": now} if row.assignee_id is None else {}
            if claimed:
                recorder.add("task_claimed", element=(row.element_id, row.name), task_id=row.id)
            changed = _changed(starting, values)
            seen = rounds.seen(form, row.form.schema if row.form is not None else None, starting)
            completer = node_of(instance, row.element_id).get("properties", {}).get(COMPLETER_PROPERTY)
            given = {**values, str(completer): actor.username} if completer else values
            flowing = on_completion(node_of(instance, row.element_id).get("io"), task.data, given,
                                    task.internal_data.get(SHADOWED))  # fmt: skip
            task.data.clear()
            task.data.update(flowing)
            run_task(task)
            write_row(self.session, row, **claimed, state="completed", completed_at=now, completed_by_id=actor.id,
                      timing=classify(now, row.due_at, cal=calendar))  # fmt: skip
            completed = {"changed": changed, "values": values, "files": attached, "timing": row.timing,
                         "seen": seen}  # fmt: skip
            recorder.add("task_completed", element=(row.element_id, row.name), task_id=row.id, data=completed)
            self.session.execute(_DROP_DRAFTS, {"task_id": row.id})
            command.proceed(step)
        return row

    def _validated(
        self,
        row: TaskRow,
        data: dict[str, Any],
        post: Mapping[str, list[str]] | None,
        variables: Mapping[str, Any] | None,
        locale: str,
        now: datetime,
        files: Mapping[str, list[StoredFile]],
    ) -> dict[str, Any]:
        form = self.task_form(row)
        if form is None:
            return dict(variables or {})
        return self._check_form(form, data, post, variables, locale, now, files)

    @staticmethod
    def _check_form(
        form: forms.Form,
        data: Mapping[str, Any],
        post: Mapping[str, list[str]] | None,
        variables: Mapping[str, Any] | None,
        locale: str,
        now: datetime,
        files: Mapping[str, list[StoredFile]] | None = None,
    ) -> dict[str, Any]:
        today = now.astimezone(LOCAL_TZ).date()
        if post is not None:
            result = form.validate_post(post, data, evaluate=feel_for_forms, locale=locale, today=today,
                                        files=files if form.has_files else None)  # fmt: skip
        else:
            result = form.validate_json(variables or {}, data, evaluate=feel_for_forms, locale=locale, today=today)
        if not result.ok:
            raw = dict(result.raw)
            for name, stored in (files or {}).items():
                path = forms.parse_input_name(name)
                if path and stored:
                    forms.set_in(raw, path, [file_reference(f) for f in stored])
            raise FormInvalid(result.errors, raw)
        return dict(result.values)

    def _attach(self, row: TaskRow, files: Mapping[str, list[StoredFile]], values: dict[str, Any]) -> list[Any]:
        """Attach stashed uploads to the task and put their references where the form put their names."""
        attached = []
        for name, stored in files.items():
            path = forms.parse_input_name(name)
            if path is None or not stored or forms.get_in(values, path) is None:
                continue
            references = [file_reference(f) for f in stored]
            forms.set_in(values, path, references)
            for f in stored:
                f.state, f.task_id = "attached", row.id
            attached.extend(references)
        return attached

    # --- uploads and drafts --------------------------------------------------------------------

    def stash_uploads(
        self, task_id: str, uploads: list[Upload], *, actor: User, now: datetime
    ) -> dict[str, list[StoredFile]]:
        """Check and store uploads before the form is validated, so a refused form keeps its files."""
        if self.files is None:
            raise EngineError("File uploads are not configured on this server.")
        written: list[str] = []
        stashed: dict[str, list[StoredFile]] = {}
        try:
            with self.command(now=now, actor=actor):
                row = self.task_row(task_id)
                self._require_open(row)
                if not self.may_work(row, actor):
                    raise NotAllowed("This task is not yours to complete: claim it first, or ask its holder.")
                for upload in uploads:
                    key, digest = self.files.save(upload)
                    written.append(key)
                    stored = StoredFile(
                        id=str(uuid.uuid4()), instance_id=row.instance_id, task_id=row.id, field=upload.field,
                        filename=upload.filename[:300], content_type=upload.content_type or "application/octet-stream",
                        size=len(upload.data), sha256=digest, storage_key=key, state="pending",
                        uploaded_by_id=actor.id, uploaded_at=now,
                    )  # fmt: skip
                    self.session.add(stored)
                    stashed.setdefault(upload.field, []).append(stored)
        except BaseException:
            for key in written:
                self.files.path(key).unlink(missing_ok=True)
            raise
        return stashed

    def pending_files(self, task_id: str, ids: list[str], *, actor: User) -> list[StoredFile]:
        """Uploads stashed earlier for this task by this user (ids from the re-rendered form)."""
        if not ids:
            return []
        stmt = select(StoredFile).where(
            StoredFile.id.in_(ids), StoredFile.task_id == task_id, StoredFile.uploaded_by_id == actor.id,
            StoredFile.state == "pending",
        )  # fmt: skip
        return list(self.session.scalars(stmt))

    def save_draft(self, task_id: str, values: Mapping[str, Any], *, actor: User, now: datetime) -> None:
        with self.command(now=now, actor=actor):
            row = self.task_row(task_id)
            self._require_open(row)
            if not self.may_work(row, actor):
                raise NotAllowed("This task is not yours to complete: claim it first, or ask its holder.")
            draft = self.draft_for(row, actor)
            if draft is None:
                self.session.add(TaskDraft(task_id=row.id, user_id=actor.id, values=dict(values), saved_at=now))
            else:
                draft.values, draft.saved_at = dict(values), now

    def draft_for(self, row: TaskRow, user: User) -> TaskDraft | None:
        stmt = select(TaskDraft).where(TaskDraft.task_id == row.id, TaskDraft.user_id == user.id)
        return self.session.scalar(stmt)

    def file_for(self, file_id: str, viewer: User) -> StoredFile:
        """A file to download: attached to a process of one of the viewer's units, or the viewer's own upload
        not yet attached; another unit's file does not exist for the viewer (NotFound)."""
        stored = self.session.get(StoredFile, file_id)
        instance = self.session.get(ProcessInstance, stored.instance_id) if stored is not None else None
        if stored is None or instance is None or not queries.may_view_instance(self.session, viewer, instance):
            raise NotFound("File %(id)s does not exist.", id=file_id)
        if stored.state == "pending" and stored.uploaded_by_id != viewer.id:
            raise NotAllowed("You may not see the files of this process.")
        return stored

    def attached_files(self, instance_id: int) -> list[StoredFile]:
        stmt = select(StoredFile).where(StoredFile.instance_id == instance_id, StoredFile.state == "attached")
        return list(self.session.scalars(stmt.order_by(StoredFile.uploaded_at, StoredFile.filename)))

    # --- running -----------------------------------------------------------------------------

    def fire_timer(self, timer_id: int, *, now: datetime) -> bool:
        """Fire a due timer: claim its row and move the instance on, in one transaction.

        Returns False when another worker fired it first or it is not due. A failure rolls the claim
        back too, so the timer is tried again at the next sweep.
        """
        with self.command(now=now) as command:
            due = (Timer.state == "waiting", Timer.due_at <= now)
            timer = claim_row(self.session, Timer, timer_id, *due, skip_locked=True, state="fired", fired_at=now)
            if timer is None:
                return False
            self._fire(command, timer)
        return True

    def fire_next_timer(self, *, now: datetime, passing_over: Collection[int] = (),
                        claimed: list[int] | None = None) -> int | None:  # fmt: skip
        """Fire the oldest due timer nobody else is firing, in one transaction; its id, or None when none is
        left. The timer is chosen and claimed in one statement (``db.NextClaim``), so workers sweeping together
        each take the next free timer instead of trying the same ones in turn; its instance is locked in the
        same statement, and a timer whose instance someone is changing right now is passed over until the next
        sweep (a command locks the instance, then changes its timers: a worker that held the timer and waited
        for the instance could deadlock with it). On PostgreSQL that statement also reads the instance with its
        saved workflow, as ``Command.open`` would (``NextClaim.reading``): one statement less a firing.
        ``passing_over``: timers this sweep tried and failed (they wait for the next sweep); ``claimed`` gets the
        timer's id before it fires, so a caller knows which one a failure was (a failure rolls the claim back
        too)."""
        with self.command(now=now) as command:
            claim = _NEXT_TIMER_PASSING_OVER if passing_over else _NEXT_TIMER
            found = claim.reading(self.session, {"now": now, "fired_now": now, "passing_over": list(passing_over)},
                                  _with_its_instance)  # fmt: skip
            if found is None:
                return None
            timer, instance = found
            timer_id = timer.id
            if claimed is not None:
                claimed.append(timer_id)
            self._fire(command, timer, instance)
        return timer_id

    def _fire(self, command: Command, timer: Timer, instance: ProcessInstance | None = None) -> None:
        """Move the instance of a claimed timer on, within the command that claimed it (``instance``: as the
        claim locked and read it, if it did)."""
        step = command.open(timer.instance_id, locked=instance)
        task = find_task(step.workflow, timer.task_id)
        if task is None or task.state != TaskState.WAITING:
            timer.state = "cancelled"
            command.saved(step.instance, step.workflow)
            return
        step.recorder.add("timer_fired", element=(timer.element_id, name_of(step.instance, timer.element_id)),
                          data={"due_at": timer.due_at.isoformat(), "kind": timer.kind})  # fmt: skip
        self._occur(task, timer, step.instance)
        command.proceed(step)

    def _occur(self, task: Task, timer: Timer, instance: ProcessInstance) -> None:
        """Let the waiting event through; a repeating non-interrupting timer also schedules its next round."""
        node = instance.definition.elements["nodes"].get(timer.element_id, {})
        repeats = timer.kind == "cycle" and node.get("type") == "boundaryEvent" and not node.get("interrupting", True)
        if repeats:  # each round starts one path while the task goes on
            task.internal_data["cycle_occurred"] = True
            task.task_spec._update(task)
            following = Schedule(timer.due_at, timer.period, timer.cycles_left, timer.cron).following(timer.due_at)
            if following is not None and (timer.cycles_left is None or timer.cycles_left > 0):
                self.session.add(Timer(
                    instance_id=instance.id, task_id=timer.task_id, element_id=timer.element_id, kind=timer.kind,
                    due_at=following, period=timer.period, cron=timer.cron, state="waiting",
                    cycles_left=None if timer.cycles_left is None else timer.cycles_left - 1,
                ))  # fmt: skip
                self.session.flush()
                return
        task._set_internal_data(event_fired=True)  # the last (or only) round: the event is done
        task.task_spec._update(task)

    def form_for(self, form_id: int | None) -> FormDefinition | None:
        return self.session.get(FormDefinition, form_id) if form_id else None


def file_reference(stored: StoredFile) -> dict[str, Any]:
    """How an attached file appears in process data and history (``url``: the download address that
    form-js ``documentPreview`` components link to)."""
    return {"id": stored.id, "name": stored.filename, "size": stored.size, "contentType": stored.content_type,
            "url": f"/files/{stored.id}"}  # fmt: skip


