"""Engine commands. Each one is one transaction: lock, load, apply, run steps, save, record, commit.

A command either commits everything it did (state with a new revision, task rows, history events,
notices and register rows) or nothing at all.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    ExclusiveGateway,
    InclusiveGateway,
    IntermediateCatchEvent,
    StartEvent,
    UserTask,
)
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition, SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

import forms

from .calendar import WorkingCalendar, classify
from .calls import apply_returns, cancel_orphans, child_outcomes, notify_parent, start_calls
from .claims import claim
from .data_check import check_start, check_variables
from .deadlines import calendar_for, due_for, follow_up_for
from .errors import (
    Conflict,
    DefinitionNotFound,
    EngineError,
    EngineStateError,
    FormInvalid,
    InstanceNotFound,
    NotAllowed,
    TaskNotFound,
    TaskNotReady,
)
from .events import (
    conditions_interrupt,
    event_subprocess_started,
    find_task,
    idle_event_subprocesses,
    interrupt_scope,
    is_code_event,
    refresh_conditions,
)
from .files import FileStore, Upload
from .handlers import HANDLERS, JobContext, job_type_of
from .iomapping import on_completion, with_inputs
from .jobs import ExternalJob, job_row
from .models import (
    Department,
    FormDefinition,
    HistoryEvent,
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    RoleAssignment,
    StartTimer,
    StoredFile,
    TaskCandidate,
    TaskDraft,
    TaskRow,
    Timer,
    Unit,
    User,
)
from .organisation import roles_in_unit
from .parsing import CallTask, JobTask
from .priority import priority_for
from .scripting import evaluate_expression
from .serialization import dump_state, load_state, new_workflow
from .signals import broadcast
from .timers import Schedule, schedule, timer_kind, timer_value

# SpiffWorkflow's task iterator stops at depth 1000: a rework loop that grows the task tree past it
# makes the workflow look finished while a task is still due. Refuse well before that depth.
MAX_SAFE_DEPTH = 900
MAX_JOB_ROUNDS = 1000
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SCOPE_SUBSCRIPTION = "start:"  # key prefix of an event subprocess's subscription (it has no task yet)
ACTIVE_STATES = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def feel_for_forms(expression: str, context: Mapping[str, Any]) -> Any:
    """The evaluator handed to ``forms`` for conditions and computed values."""
    return evaluate_expression("=" + expression, context)


@dataclass
class _Recorder:
    """Collects the history events of one command; they are added just before commit."""

    instance: ProcessInstance
    actor: User | None
    now: datetime
    events: list[HistoryEvent] = field(default_factory=list)

    def add(self, kind: str, *, element: tuple[str, str] | None = None, task_id: str | None = None,
            data: dict[str, Any] | None = None) -> None:  # fmt: skip
        self.events.append(
            HistoryEvent(
                instance_id=self.instance.id,
                at=self.now,
                actor_id=self.actor.id if self.actor else None,
                kind=kind,
                element_id=element[0] if element else None,
                element_name=element[1] if element else None,
                task_id=task_id,
                data=data or {},
            )
        )


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    return {k: {"from": before.get(k), "to": v} for k, v in after.items() if before.get(k) != v}


def active_tasks(workflow: BpmnWorkflow) -> list[Task]:
    """Active tasks of the process and of its (embedded or called) subprocesses.

    The ``tasks`` dicts are read directly: unlike ``get_tasks()`` they have no depth limit.
    """
    workflows = [workflow, *workflow.subprocesses.values()]
    return [t for wf in workflows for t in wf.tasks.values() if t.has_state(ACTIVE_STATES)]


def guard_loop(workflow: BpmnWorkflow, max_depth: int = MAX_SAFE_DEPTH) -> None:
    """Refuse to continue where SpiffWorkflow would silently lose track of due tasks."""
    active = active_tasks(workflow)
    if workflow.is_completed() and active:
        names = ", ".join(sorted({t.task_spec.bpmn_name or t.task_spec.name for t in active}))
        raise EngineStateError(
            "The engine reported the process finished while steps are still due (%(names)s).", names=names
        )
    deepest = max((t.depth for t in active), default=0)
    if deepest > max_depth:
        raise EngineStateError(
            "This process has gone round its loop too many times for the engine to follow it safely "
            "(task depth %(depth)s, limit %(limit)s). Nothing was changed; ask an administrator to close "
            "this instance and start a new one.",
            depth=deepest,
            limit=max_depth,
        )


class WorkflowCache:
    """Deserialized workflows kept between commands, keyed by instance and revision.

    A command takes its workflow out of the cache and puts it back only after its commit, so a
    failed command never leaves a half-changed workflow behind, and a revision written by another
    process simply misses the cache.
    """

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[int, tuple[int, BpmnWorkflow]] = OrderedDict()

    def take(self, instance_id: int, revision: int) -> BpmnWorkflow | None:
        item = self._items.pop(instance_id, None)
        return item[1] if item is not None and item[0] == revision else None

    def put(self, instance_id: int, revision: int, workflow: BpmnWorkflow) -> None:
        self._items[instance_id] = (revision, workflow)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)


class Engine:
    """Runs process instances for one database session. Every public method is one transaction."""

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
        self._to_cache: list[tuple[ProcessInstance, BpmnWorkflow]] = []
        self._signals: list[tuple[int, str, dict[str, Any]]] = []  # thrown, to broadcast: (instance, name, data)
        self._signal_depth = 0
        self._in_progress: dict[int, BpmnWorkflow] = {}  # instances being advanced by this command
        self._returns: list[tuple[int, str, str, Any, int]] = []  # called instances' outcomes for their callers
        self._call_depth = 0

    # --- transactions ------------------------------------------------------------------------

    @contextmanager
    def _unit_of_work(self) -> Iterator[None]:
        self._to_cache = []
        self._signals = []
        self._in_progress = {}
        self._returns = []
        try:
            yield
            self.session.commit()
            if self.cache is not None:
                for instance, workflow in self._to_cache:
                    self.cache.put(instance.id, instance.revision, workflow)
        except StaleDataError:
            self.session.rollback()
            raise Conflict("Someone else changed this process at the same moment; reload the page and try again.")
        except OperationalError as exc:
            self.session.rollback()
            if "locked" in str(exc).lower() or "could not serialize" in str(exc).lower():
                raise Conflict("The process is being changed by someone else right now; try again in a moment.")
            raise
        except BaseException:
            self.session.rollback()
            raise

    def _load(self, instance: ProcessInstance) -> BpmnWorkflow:
        cached = self.cache.take(instance.id, instance.revision) if self.cache is not None else None
        return cached or load_state(instance.state, instance.definition.spec_json)

    def _lock_instance(self, instance_id: int) -> ProcessInstance:
        instance = self.session.get(ProcessInstance, instance_id, with_for_update=True, populate_existing=True)
        if instance is None:
            raise InstanceNotFound(instance_id)
        return instance

    # --- start -------------------------------------------------------------------------------

    def active_definition(self, key: str) -> ProcessDefinition:
        stmt = (
            select(ProcessDefinition)
            .where(ProcessDefinition.key == key, ProcessDefinition.status == "active")
            .where(ProcessDefinition.executable.is_(True))  # documentation diagrams never run
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
        )
        definition = self.session.scalar(stmt)
        if definition is None:
            raise DefinitionNotFound(key)
        return definition

    def may_start(self, actor: User, definition: ProcessDefinition, unit_id: int) -> bool:
        if not definition.startable_in(unit_id):  # another unit's own process, or one eISO starts itself
            return False
        roles = roles_in_unit(self.session, actor, unit_id)
        return bool(roles) and (not definition.starter_roles or bool(roles & set(definition.starter_roles)))

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
        with self._unit_of_work():
            definition = self.active_definition(key)
            unit = self.session.get(Unit, unit_id)
            if unit is None or not self.may_start(actor, definition, unit_id):
                raise NotAllowed("You may not start '%(name)s' in this unit.", name=definition.name)
            return self._start(definition, unit, actor, now, business_key, variables, post, locale)

    def _start(
        self,
        definition: ProcessDefinition,
        unit: Unit,
        actor: User | None,
        now: datetime,
        business_key: str | None = None,
        variables: Mapping[str, Any] | None = None,
        post: Mapping[str, list[str]] | None = None,
        locale: str = "vi",
        cause: Mapping[str, Any] | None = None,
        parent: tuple[int, str] | None = None,
    ) -> ProcessInstance:
        """Create and run an instance inside the caller's transaction; ``actor`` None: started by eISO
        (a timer, a signal, a calling process: ``cause`` says which)."""
        workflow = new_workflow(definition.spec_json)
        context = self.context_variables(unit, actor)
        form = self.start_form(definition) if actor is not None and not cause else None
        given = self._check_form(form, context, post, variables, locale, now) if form else dict(variables or {})
        initiator = {n["initiator"]: actor.username for n in definition.elements["nodes"].values()
                     if n["type"] == "startEvent" and n.get("initiator") and actor is not None}  # fmt: skip
        for task in active_tasks(workflow):
            task.data.update({**context, **given, **initiator})
        instance = ProcessInstance(
            definition=definition, unit_id=unit.id, business_key=business_key,
            started_by_id=actor.id if actor else None, status="running", state="", started_at=now, updated_at=now,
        )  # fmt: skip
        process = definition.elements.get("process", {})
        instance.due_at = due_for(process, {**context, **given}, now, self.calendar(unit.id))
        instance.parent_instance_id, instance.parent_task_id = parent if parent else (None, None)
        self.session.add(instance)
        self.session.flush()
        recorder = _Recorder(instance, actor, now)
        recorder.add("instance_started", data={"business_key": business_key, "variables": dict(variables or {}),
                                               "by_timer": actor is None and not cause, **(cause or {})})  # fmt: skip
        self._advance(workflow, instance, recorder)
        if self._fire_start_timers(workflow):
            self._advance(workflow, instance, recorder)
        self._finish(workflow, instance, recorder)
        return instance

    @staticmethod
    def _fire_start_timers(workflow: BpmnWorkflow) -> bool:
        """A timer or message start event has done its work once the instance exists: let it through."""
        fired = False
        for task in active_tasks(workflow):
            spec = task.task_spec
            definition = getattr(spec, "event_definition", None)
            kind = timer_kind(definition) or (
                "message" if isinstance(definition, MessageEventDefinition | SignalEventDefinition) else None
            )
            if task.state == TaskState.WAITING and _is_process_start(task) and kind:
                if kind == "cycle":  # a cycle event starts its path on a round, not on completion
                    task.internal_data["cycle_occurred"] = True
                    spec._update(task)
                task._set_internal_data(event_fired=True)
                spec._update(task)
                fired = True
        return fired

    def start_by_timer(self, start_timer_id: int, *, now: datetime) -> list[ProcessInstance]:
        """Fire a due timer start event: one new instance per unit, and schedule the next occurrence.

        The claim, the instances and the next schedule commit together, so a crash fires it again
        and two workers never start the same round twice.
        """
        with self._unit_of_work():
            due = (StartTimer.state == "waiting", StartTimer.due_at <= now)
            if not claim(self.session, StartTimer, start_timer_id, *due, state="done", fired_at=now):
                return []
            timer = self.session.get(StartTimer, start_timer_id, populate_existing=True)
            assert timer is not None
            definition = timer.definition
            if not definition.is_active or self.active_definition(definition.key).id != definition.id:
                timer.state = "cancelled"
                return []
            owned = [Unit.id == definition.unit_id] if definition.unit_id is not None else []  # a unit's own process
            units = self.session.scalars(select(Unit).where(*owned).order_by(Unit.id)).all()
            started = [self._start(definition, unit, None, now) for unit in units]
            following = Schedule(timer.due_at, timer.period, timer.cycles_left, timer.cron).following(timer.due_at)
            if following is not None and (timer.cycles_left is None or timer.cycles_left > 0):
                self.session.add(StartTimer(
                    definition_id=definition.id, element_id=timer.element_id, due_at=following, period=timer.period,
                    cron=timer.cron, cycles_left=None if timer.cycles_left is None else timer.cycles_left - 1,
                    state="waiting",
                ))  # fmt: skip
        return started

    @staticmethod
    def context_variables(unit: Unit, actor: User | None) -> dict[str, Any]:
        """Data every process of a unit can use (forms list departments with ``valuesKey: departments``)."""
        return {
            "unit": {"code": unit.code, "name": unit.name},
            "departments": [{"label": d.name, "value": d.code} for d in unit.departments],
            "initiator": actor.username if actor else None,
        }

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

    def is_candidate(self, row: TaskRow, user: User) -> bool:
        candidates = self.session.scalars(select(TaskCandidate).where(TaskCandidate.task_id == row.id)).all()
        if any(c.user_id == user.id for c in candidates):
            return True
        roles = roles_in_unit(self.session, user, row.unit_id)
        return any(c.role in roles for c in candidates if c.role)

    def may_work(self, row: TaskRow, user: User) -> bool:
        if row.assignee_id is not None:
            return row.assignee_id == user.id
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
        with self._unit_of_work():
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
        with self._unit_of_work():
            row = self.task_row(task_id)
            self._require_open(row)
            if row.assignee_id != actor.id:
                raise NotAllowed("Only the person holding a task can hand it back.")
            row.assignee_id = None
            row.claimed_at = None
            self._task_event(row, actor, now, "task_unclaimed")
        return row

    def _task_event(self, row: TaskRow, actor: User, now: datetime, kind: str) -> None:
        self.session.add(
            HistoryEvent(instance_id=row.instance_id, at=now, actor_id=actor.id, kind=kind,
                         element_id=row.element_id, element_name=row.name, task_id=row.id, data={})
        )  # fmt: skip

    def task_data(self, row: TaskRow) -> dict[str, Any]:
        """The data a task's form starts from (deserializes this one instance)."""
        instance = row.instance
        workflow = load_state(instance.state, instance.definition.spec_json)
        task = workflow.get_task_from_id(uuid.UUID(row.id))
        return dict(task.data)

    def submitted_values(self, row: TaskRow) -> dict[str, Any]:
        """What the task was completed with, from its history event (no workflow needed)."""
        stmt = select(HistoryEvent.data).where(
            HistoryEvent.instance_id == row.instance_id, HistoryEvent.task_id == row.id,
            HistoryEvent.kind == "task_completed",
        )  # fmt: skip
        event_data = self.session.scalar(stmt.limit(1)) or {}
        return dict(event_data.get("values", {}))

    def task_form(self, row: TaskRow) -> forms.Form | None:
        if row.form is not None:
            return forms.load_form_js(row.form.schema)
        node = row.instance.definition.elements["nodes"].get(row.element_id, {})
        return forms.load_generated_form(node["generated_form"]) if node.get("generated_form") else None

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
        with self._unit_of_work():
            row = self.task_row(task_id)
            instance = self._lock_instance(row.instance_id)
            self.session.refresh(row)
            self._require_open(row)
            if not self.may_work(row, actor):
                raise NotAllowed("This task is not yours to complete: claim it first, or ask its holder.")
            workflow = self._load(instance)
            task = workflow.get_task_from_id(uuid.UUID(task_id))
            if not task.has_state(TaskState.READY):
                raise TaskNotReady(task_id, "The process is not waiting for this task any more.")
            values = self._validated(row, dict(task.data), post, variables, locale, now, files or {})
            attached = self._attach(row, files or {}, values)
            recorder = _Recorder(instance, actor, now)
            if row.assignee_id is None:
                row.assignee_id, row.claimed_at = actor.id, now
                recorder.add("task_claimed", element=(row.element_id, row.name), task_id=row.id)
            changed = _changed(task.data, values)
            flowing = on_completion(self._node(instance, row.element_id).get("io"), task.data, values)
            task.data.clear()
            task.data.update(flowing)
            self._run(task)
            row.state, row.completed_at, row.completed_by_id = "completed", now, actor.id
            row.timing = classify(now, row.due_at, cal=self.calendar(row.unit_id))
            completed = {"changed": changed, "values": values, "files": attached, "timing": row.timing}
            recorder.add("task_completed", element=(row.element_id, row.name), task_id=row.id, data=completed)
            self.session.execute(delete(TaskDraft).where(TaskDraft.task_id == row.id))
            self._advance(workflow, instance, recorder)
            self._finish(workflow, instance, recorder)
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
            with self._unit_of_work():
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
        with self._unit_of_work():
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

    def attached_files(self, instance_id: int) -> list[StoredFile]:
        stmt = select(StoredFile).where(StoredFile.instance_id == instance_id, StoredFile.state == "attached")
        return list(self.session.scalars(stmt.order_by(StoredFile.uploaded_at, StoredFile.filename)))

    # --- running -----------------------------------------------------------------------------

    @staticmethod
    def _run(task: Task) -> None:
        if conditions_interrupt(task, task.data):
            return  # an interrupting conditional event takes over; the task is cancelled with its scope
        try:
            task.run()
        except SpiffWorkflowException as exc:
            step = task.task_spec.bpmn_name or task.task_spec.name
            raise EngineError("The step '%(step)s' failed: %(reason)s", step=step, reason=str(exc))

    def _advance(self, workflow: BpmnWorkflow, instance: ProcessInstance, recorder: _Recorder) -> None:
        """Run engine steps and our own job handlers until the process waits for people."""
        self._in_progress[instance.id] = workflow
        for _ in range(MAX_JOB_ROUNDS):
            interrupting: list[Task] = []

            def passed(task: Task, interrupting: list[Task] = interrupting) -> None:
                self._passed(task, instance, recorder, interrupting)

            try:
                workflow.do_engine_steps(did_complete_task=passed)
            except SpiffWorkflowException as exc:
                raise EngineError("The process could not continue: %(reason)s", reason=str(exc))
            if interrupting:
                for holder in interrupting:
                    self._interrupt(holder, instance, recorder)
                continue
            start_calls(self, workflow, instance, recorder)
            if apply_returns(self, workflow, instance, recorder):
                continue
            if refresh_conditions(active_tasks(workflow)) or self._close_idle_scopes(workflow, instance):
                continue
            jobs = [t for t in active_tasks(workflow) if _is_ready_job(t) and self._runs_here(instance, t)]
            if not jobs:
                break
            for job in jobs:
                self._run_job(job, instance, recorder)
        guard_loop(workflow, self.max_depth)

    def _interrupt(self, holder: Task, instance: ProcessInstance, recorder: _Recorder) -> None:
        """An interrupting event subprocess started: the rest of its scope stops (BPMN semantics)."""
        cancelled = interrupt_scope(holder)
        names = sorted({self._name(instance, element_of(t.task_spec)) or element_of(t.task_spec)
                        for t in cancelled if t.task_spec.bpmn_id})  # fmt: skip
        recorder.add("scope_interrupted", element=(element_of(holder.task_spec), holder.task_spec.bpmn_name or ""),
                     data={"cancelled": names})  # fmt: skip

    def _close_idle_scopes(self, workflow: BpmnWorkflow, instance: ProcessInstance) -> bool:
        """Scopes whose flow has ended stop waiting for their event subprocesses' start events."""
        nodes = instance.definition.elements["nodes"]

        def is_event_subprocess(task: Task) -> bool:
            return bool(nodes.get(element_of(task.task_spec), {}).get("event_subprocess"))

        if not any(n.get("event_subprocess") for n in nodes.values()):
            return False
        closed = False
        for scope in [workflow, *workflow.subprocesses.values()]:
            for holder in idle_event_subprocesses(scope, is_event_subprocess):
                holder.cancel()
                closed = True
        if closed:
            for task in active_tasks(workflow):
                if task.state == TaskState.WAITING and task.task_spec.bpmn_id is None:
                    task.task_spec._update(task)  # the scope's end can now complete
        return closed

    def _passed(self, task: Task, instance: ProcessInstance, recorder: _Recorder, interrupting: list[Task]) -> None:
        spec = task.task_spec
        holder = event_subprocess_started(task)
        if holder is not None and self._node(instance, element_of(holder.task_spec)).get("event_subprocess"):
            node = self._node(instance, element_of(spec))
            element = (element_of(holder.task_spec), holder.task_spec.bpmn_name or "")
            recorder.add("event_subprocess_started", element=element,
                         data={"interrupting": node.get("interrupting", True)})  # fmt: skip
            if node.get("interrupting", True):
                interrupting.append(holder)
            return
        thrown = not isinstance(spec, StartEvent | BoundaryEvent | IntermediateCatchEvent)
        if thrown and isinstance(getattr(spec, "event_definition", None), SignalEventDefinition):
            name = spec.event_definition.name
            recorder.add("signal_thrown", element=(element_of(spec), spec.bpmn_name or ""), data={"signal": name})
            self._signals.append((instance.id, name, {k: v for k, v in task.data.items() if k != "departments"}))
            return
        if is_code_event(spec) and thrown:
            definition = spec.event_definition
            kind = "error_thrown" if isinstance(definition, ErrorEventDefinition) else "escalation_thrown"
            recorder.add(kind, element=(element_of(spec), spec.bpmn_name or ""), data={"code": definition.code})
            return
        if not isinstance(spec, ExclusiveGateway | InclusiveGateway):
            return
        taken = [element_of(c.task_spec) for c in task.children if not c.has_state(TaskState.PREDICTED_MASK)]
        flows = instance.definition.elements.get("flows", {})
        chosen = [
            {"flow": fid, "name": f["name"], "target": f["target"]}
            for fid, f in flows.items()
            if f["source"] == element_of(spec) and f["target"] in taken
        ]
        recorder.add("gateway_taken", element=(element_of(spec), spec.bpmn_name or ""), data={"taken": chosen})

    def _runs_here(self, instance: ProcessInstance, task: Task) -> bool:
        """A built-in handler runs this job now; any other job type waits for an external worker."""
        node = self._node(instance, element_of(task.task_spec))
        return job_type_of(node) in HANDLERS

    def _sync_jobs(self, workflow: BpmnWorkflow, instance: ProcessInstance, recorder: _Recorder) -> None:
        """A row in ``external_jobs`` for each job the instance waits on; cancel those it stopped waiting on."""
        waiting = {
            str(t.id): t for t in active_tasks(workflow)
            if _is_ready_job(t) and not self._runs_here(instance, t)
        }  # fmt: skip
        stmt = select(ExternalJob).where(ExternalJob.instance_id == instance.id, ExternalJob.state == "open")
        rows = {r.id: r for r in self.session.scalars(stmt)}
        for task_id, task in waiting.items():
            if task_id not in rows and self.session.get(ExternalJob, task_id) is None:
                element_id = element_of(task.task_spec)
                node = {"id": element_id, **self._node(instance, element_id)}
                self.session.add(job_row(task, node, instance, recorder.now))
                recorder.add("job_created", element=(element_id, node.get("name", "")),
                             data={"job_type": node.get("job_type")})  # fmt: skip
        for task_id, row in rows.items():
            if task_id not in waiting:
                row.state = "cancelled"

    def _sync_subscriptions(self, workflow: BpmnWorkflow, instance: ProcessInstance, recorder: _Recorder) -> None:
        """A row in ``message_subscriptions`` for every message or signal the instance waits for (events,
        receive tasks, and the start events of its event subprocesses); cancel the others."""
        wanted: dict[str, tuple[str, dict[str, Any], Mapping[str, Any]]] = {}
        for t in active_tasks(workflow):
            definition = getattr(t.task_spec, "event_definition", None)
            if t.state == TaskState.WAITING and isinstance(definition, MessageEventDefinition | SignalEventDefinition) \
                    and not _is_process_start(t):
                wanted[str(t.id)] = (element_of(t.task_spec), self._node(instance, element_of(t.task_spec)), t.data)
        listening = {
            element_id: node for element_id, node in instance.definition.elements["nodes"].items()
            if node.get("in_event_subprocess") and not node.get("nested") and not node.get("timer")
        }  # fmt: skip
        if listening and not workflow.is_completed():
            scope_data = workflow.last_task.data if workflow.last_task is not None else {}
            started = {t.task_spec.bpmn_id for t in workflow.tasks.values()}
            for element_id, node in listening.items():
                if not node.get("interrupting", True) or node["in_event_subprocess"] not in started:
                    wanted[SCOPE_SUBSCRIPTION + element_id] = (element_id, node, scope_data)
        stmt = select(MessageSubscription).where(
            MessageSubscription.instance_id == instance.id, MessageSubscription.state == "waiting"
        )
        rows = {r.task_id or SCOPE_SUBSCRIPTION + r.element_id: r for r in self.session.scalars(stmt)}
        for key, (element_id, node, data) in wanted.items():
            if key in rows:
                continue
            kind = "signal" if "signal" in node else "message"
            if kind == "message" and "message" not in node:
                continue  # an error, escalation or conditional event subprocess: nothing from outside
            name = (node.get(kind) or {}).get("name", "")
            correlation = (node.get("message") or {}).get("correlation_key")
            value = evaluate_expression(correlation, data) if correlation and correlation.startswith(("=", "${")) \
                else correlation  # fmt: skip
            self.session.add(MessageSubscription(
                instance_id=instance.id, task_id="" if key.startswith(SCOPE_SUBSCRIPTION) else key,
                element_id=element_id, kind=kind, message_name=name,
                correlation_key=None if value is None else str(value), state="waiting", created_at=recorder.now,
            ))  # fmt: skip
            recorder.add(f"{kind}_awaited", element=(element_id, self._name(instance, element_id)),
                         data={kind: name, "correlation_key": value})  # fmt: skip
        for key, row in rows.items():
            if key not in wanted:
                row.state = "cancelled"

    def _run_job(self, job: Task, instance: ProcessInstance, recorder: _Recorder) -> None:
        node = instance.definition.elements["nodes"].get(element_of(job.task_spec), {})
        job_type = job_type_of(node)
        handler = HANDLERS.get(job_type or "")
        if handler is None:
            step = node.get("name") or element_of(job.task_spec)
            raise EngineError("No handler for job type '%(type)s' at step '%(step)s'.", type=job_type, step=step)
        data = with_inputs(node.get("io"), job.data)
        context = JobContext(self.session, instance, element_of(job.task_spec), data, recorder.actor, recorder.now)
        output = handler(context) or {}
        flowing = on_completion(node.get("io"), data, output)
        job.data.clear()
        job.data.update(flowing)
        self._run(job)
        element = (element_of(job.task_spec), node.get("name", ""))
        for kind, data in context.events:
            recorder.add(kind, element=element, data=data)
        recorder.add("job_completed", element=element, data={"job_type": job_type, "output": output})

    def _finish(self, workflow: BpmnWorkflow, instance: ProcessInstance, recorder: _Recorder) -> None:
        """Save state under the revision check, sync task rows, write history."""
        now = recorder.now
        outcomes = child_outcomes(instance, workflow, recorder)  # errors and escalations caught nowhere inside
        self._sync_tasks(workflow, instance, recorder)
        self._sync_timers(workflow, instance, recorder)
        self._sync_jobs(workflow, instance, recorder)
        self._sync_subscriptions(workflow, instance, recorder)
        cancel_orphans(self, workflow, instance, recorder)
        if workflow.is_completed() and instance.status == "running":
            instance.status, instance.completed_at = "completed", now
            if instance.due_at is not None:
                instance.timing = classify(now, instance.due_at, cal=self.calendar(instance.unit_id))
            recorder.add("instance_completed", data={"timing": instance.timing})
        instance.state = dump_state(workflow)
        instance.updated_at = now
        self.session.add_all(recorder.events)
        self.session.flush()
        self._to_cache.append((instance, workflow))
        self._in_progress.pop(instance.id, None)
        notify_parent(self, instance, outcomes, recorder)
        thrown = [s for s in self._signals if s[0] == instance.id]
        self._signals = [s for s in self._signals if s[0] != instance.id]
        for _, name, data in thrown:
            broadcast(self, name, data, unit_id=instance.unit_id, now=now, exclude_instance=instance.id)

    def _sync_tasks(self, workflow: BpmnWorkflow, instance: ProcessInstance, recorder: _Recorder) -> None:
        open_rows = {
            r.id: r
            for r in self.session.scalars(
                select(TaskRow).where(TaskRow.instance_id == instance.id, TaskRow.state == "open")
            )
        }
        ready = {
            str(t.id): t
            for t in active_tasks(workflow)
            if t.state == TaskState.READY and isinstance(t.task_spec, UserTask)
            and not isinstance(t.task_spec, JobTask | CallTask)
        }
        for task_id, task in ready.items():
            if task_id not in open_rows:
                self._create_row(task, instance, recorder)
        for task_id, row in open_rows.items():
            if task_id not in ready:
                row.state = "cancelled"
                recorder.add("task_cancelled", element=(row.element_id, row.name), task_id=row.id)

    def _sync_timers(self, workflow: BpmnWorkflow, instance: ProcessInstance, recorder: _Recorder) -> None:
        """A row in ``timers`` for every timer event the instance waits for; cancel the others."""
        waiting = {
            str(t.id): t
            for t in active_tasks(workflow)
            if t.state == TaskState.WAITING and timer_kind(getattr(t.task_spec, "event_definition", None))
            and not _is_process_start(t)
        }  # fmt: skip
        stmt = select(Timer).where(Timer.instance_id == instance.id, Timer.state == "waiting")
        rows = {r.task_id: r for r in self.session.scalars(stmt)}
        for task_id, task in waiting.items():
            if task_id not in rows:
                self._schedule_timer(task, instance, recorder)
        for task_id, row in rows.items():
            if task_id not in waiting:
                row.state = "cancelled"
                recorder.add("timer_cancelled", element=(row.element_id, self._name(instance, row.element_id)))

    def _schedule_timer(self, task: Task, instance: ProcessInstance, recorder: _Recorder) -> None:
        node = instance.definition.elements["nodes"].get(element_of(task.task_spec), {})
        timer = node.get("timer") or {}
        value = timer_value(timer.get("expression", ""), task.data)
        planned = schedule(timer.get("kind", ""), value, recorder.now)
        self.session.add(Timer(
            instance_id=instance.id, task_id=str(task.id), element_id=element_of(task.task_spec),
            kind=timer.get("kind"),
            due_at=planned.first, period=planned.period, cron=planned.cron, cycles_left=planned.cycles,
            state="waiting",
        ))  # fmt: skip
        recorder.add("timer_scheduled", element=(element_of(task.task_spec), node.get("name", "")),
                     data={"due_at": planned.first.isoformat(), "timer": value})  # fmt: skip

    @staticmethod
    def _name(instance: ProcessInstance, element_id: str) -> str:
        return str(instance.definition.elements["nodes"].get(element_id, {}).get("name", ""))

    def fire_timer(self, timer_id: int, *, now: datetime) -> bool:
        """Fire a due timer: claim its row and move the instance on, in one transaction.

        Returns False when another worker fired it first or it is not due. A failure rolls the claim
        back too, so the timer is tried again at the next sweep.
        """
        with self._unit_of_work():
            due = (Timer.state == "waiting", Timer.due_at <= now)
            if not claim(self.session, Timer, timer_id, *due, state="fired", fired_at=now):
                return False
            timer = self.session.get(Timer, timer_id, populate_existing=True)
            assert timer is not None
            instance = self._lock_instance(timer.instance_id)
            workflow = self._load(instance)
            task = find_task(workflow, timer.task_id)
            if task is None or task.state != TaskState.WAITING:
                timer.state = "cancelled"
                return True
            recorder = _Recorder(instance, None, now)
            recorder.add("timer_fired", element=(timer.element_id, self._name(instance, timer.element_id)),
                         data={"due_at": timer.due_at.isoformat(), "kind": timer.kind})  # fmt: skip
            self._occur(task, timer, instance)
            self._advance(workflow, instance, recorder)
            self._finish(workflow, instance, recorder)
        return True

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

    def _department_members(self, unit_id: int, group: str) -> list[int]:
        """``role:department`` (e.g. ``department_head:vp``): who holds that role for that department."""
        role, _, code = group.partition(":")
        stmt = (
            select(RoleAssignment.user_id)
            .join(Department, Department.id == RoleAssignment.department_id)
            .where(RoleAssignment.unit_id == unit_id, RoleAssignment.role == role, Department.code == code)
        )
        return list(self.session.scalars(stmt.distinct()))

    @staticmethod
    def _node(instance: ProcessInstance, element_id: str) -> dict[str, Any]:
        return dict(instance.definition.elements["nodes"].get(element_id, {}))

    def _create_row(self, task: Task, instance: ProcessInstance, recorder: _Recorder) -> TaskRow:
        node = instance.definition.elements["nodes"].get(element_of(task.task_spec), {})
        if node.get("io"):  # the task starts: its input variables join its data
            started = with_inputs(node["io"], task.data)
            task.data.clear()
            task.data.update(started)
        data = dict(task.data)
        groups = [str(r) for r in _resolve_list(node.get("candidate_groups", []), data)]
        if not groups and not node.get("candidate_users") and not node.get("assignee"):
            groups = ["admin"]  # a task the diagram gives to nobody falls to the unit's administrators
        roles = [g for g in groups if ":" not in g]
        scoped = [self._department_members(instance.unit_id, g) for g in groups if ":" in g]
        calendar = self.calendar(instance.unit_id)
        row = TaskRow(
            id=str(task.id), instance_id=instance.id, element_id=element_of(task.task_spec),
            name=node.get("name") or element_of(task.task_spec), kind="user", unit_id=instance.unit_id,
            form_id=node.get("form_definition_id"), candidate_roles=groups, state="open", created_at=recorder.now,
            due_at=due_for(node, data, recorder.now, calendar), priority=priority_for(node, data),
            follow_up_at=follow_up_for(node, data, recorder.now, calendar),
        )  # fmt: skip
        self.session.add(row)
        self.session.flush()
        for role in roles:
            self.session.add(TaskCandidate(task_id=row.id, role=role))
        for user_ids in scoped:
            for user_id in user_ids:
                self.session.add(TaskCandidate(task_id=row.id, user_id=user_id))
        for username in _resolve_list(node.get("candidate_users", []), data):
            user = self.session.scalar(select(User).where(User.username == str(username)))
            if user is not None:
                self.session.add(TaskCandidate(task_id=row.id, user_id=user.id))
        assignee = _resolve_list([node["assignee"]], data) if node.get("assignee") else []
        if assignee:
            user = self.session.scalar(select(User).where(User.username == str(assignee[0])))
            row.assignee_id = user.id if user else None
        recorder.add("task_created", element=(row.element_id, row.name), task_id=row.id,
                     data={"candidate_roles": roles, "assignee": assignee[0] if assignee else None,
                           "due_at": row.due_at.isoformat() if row.due_at else None, "priority": row.priority,
                           "follow_up_at": row.follow_up_at.isoformat() if row.follow_up_at else None})  # fmt: skip
        return row

    def form_for(self, form_id: int | None) -> FormDefinition | None:
        return self.session.get(FormDefinition, form_id) if form_id else None


def element_of(spec: Any) -> str:
    """The diagram element a task spec comes from (multi-instance children are renamed specs)."""
    return str(getattr(spec, "bpmn_id", None) or spec.name)


def file_reference(stored: StoredFile) -> dict[str, Any]:
    """How an attached file appears in process data and history (``url``: the download address that
    form-js ``documentPreview`` components link to)."""
    return {"id": stored.id, "name": stored.filename, "size": stored.size, "contentType": stored.content_type,
            "url": f"/files/{stored.id}"}  # fmt: skip


def _is_process_start(task: Task) -> bool:
    """A start event of the process itself (not of an event subprocess): handled before the instance exists."""
    return isinstance(task.task_spec, StartEvent) and task.workflow.parent_task_id is None


def _is_ready_job(task: Task) -> bool:
    return isinstance(task.task_spec, JobTask) and task.has_state(TaskState.READY)


def _resolve_list(values: list[str], data: Mapping[str, Any]) -> list[Any]:
    """Literal entries as they are; FEEL entries (``=...``) evaluated to a value or a list of values."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, str) and (value.startswith("=") or "${" in value or "#{" in value):
            result = evaluate_expression(value, data)
            if isinstance(result, str):
                out.extend(v.strip() for v in result.split(",") if v.strip())
            elif isinstance(result, list):
                out.extend(result)
            elif result is not None:
                out.append(result)
        else:
            out.append(value)
    return out
