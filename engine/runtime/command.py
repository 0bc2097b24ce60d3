"""The Command: one engine command is one transaction, and this is it.

A command locks the instances it changes, loads their workflows, records history, runs the work
that follows from its own (the caller of a finished called process, the subscribers of a thrown
signal, a called process to start, a called process to cancel) from one queue, and then commits
everything or nothing. Two commands changing one instance at the same moment: the second gets a
``Conflict`` and changes nothing.

Feature modules (calls, events, messages, signals, jobs) work through a ``Command`` only: they open a
``Step`` (an instance with its workflow and the history being recorded), let it ``proceed`` (run the
engine until the process waits, then save it), start instances and put follow-up work on the queue.
How a step proceeds is the ``Runner``'s business (``engine.runtime.advance``); the command never
calls back into the engine that made it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import bindparam, func, insert, inspect, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, joinedload, undefer
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql import Select

from engine.errors import Conflict, InstanceNotFound
from engine.org.models import Unit, User
from engine.runtime.models import HistoryEvent, ProcessDefinition, ProcessInstance
from engine.runtime.serialization import load_state


@dataclass
class Recorder:
    """Collects the history events of one instance in one command; they are written when it is saved. Each is
    kept as the row it becomes (nothing reads an event back before it is written; a mapped object for each
    cost more to make than to write)."""

    instance: ProcessInstance
    actor: User | None
    now: datetime
    events: list[dict[str, Any]] = field(default_factory=list)

    def add(self, kind: str, *, element: tuple[str, str] | None = None, task_id: str | None = None,
            data: dict[str, Any] | None = None) -> None:  # fmt: skip
        self.events.append({
            "instance_id": self.instance.id, "at": self.now, "actor_id": self.actor.id if self.actor else None,
            "kind": kind, "element_id": element[0] if element else None,
            "element_name": element[1] if element else None, "task_id": task_id, "data": data or {},
        })  # fmt: skip


# The instance's definition comes in the same query as its locked row (every command reads it); only the
# instance's row is locked (``FOR UPDATE OF process_instances`` on PostgreSQL). The row is read again even
# if the session holds it (``populate_existing``): what counts is the row as locked. Built once: every
# command runs one of the two, and building it cost as much as running it.
_LOCKED = (select(ProcessInstance).where(ProcessInstance.id == bindparam("instance_id"))
           .with_for_update(of=ProcessInstance).execution_options(populate_existing=True))  # fmt: skip
_LOCK = _LOCKED.options(joinedload(ProcessInstance.definition, innerjoin=True))
# ... and, when no workflow of the instance is kept in memory, the saved workflow and the specification too
# (two large columns otherwise read on use, each in a query of its own).
_WITH_STATE = (joinedload(ProcessInstance.definition, innerjoin=True).undefer(ProcessDefinition.spec_json),
               undefer(ProcessInstance.state))  # fmt: skip
_LOCK_WITH_STATE = _LOCKED.options(*_WITH_STATE)


def locking_instance(stmt: Select[Any]) -> Select[Any]:
    """``stmt``, which selects a ``ProcessInstance`` among other things, reading the instance as
    ``Command.lock(with_state=True)`` does: its row locked and read as locked, its definition, saved workflow
    and specification with it. For a command that finds its instance in the statement that locks it (the
    timer a sweep claims); ``Command.open(…, locked=)`` then takes the instance."""
    return stmt.options(*_WITH_STATE).with_for_update(of=ProcessInstance).execution_options(populate_existing=True)


def write_history(session: Session, events: list[dict[str, Any]]) -> None:
    """Write the events collected by a ``Recorder`` in one statement, in the order they happened, and clear
    the list. Nothing reads an event back in the command that wrote it, so no row is kept in the session."""
    if not events:
        return
    # the table's own INSERT, not the ORM's bulk path (a third of the cost): every row names every column
    session.execute(_HISTORY_INSERT, events)
    events.clear()


_HISTORY = HistoryEvent.metadata.tables[HistoryEvent.__tablename__]
_HISTORY_INSERT = insert(_HISTORY)

def save_instance(session: Session, instance: ProcessInstance, *, state: str, updated_at: datetime, status: str,
                  completed_at: datetime | None, timing: str | None,
                  history: list[dict[str, Any]] | None = None) -> None:  # fmt: skip
    """Write the instance's row as a step leaves it (its workflow, status, completion and timing) under the
    revision check, and move its revision on, as the ORM's flush would: if someone else wrote the row since it
    was read, ``StaleDataError`` (the command's ``Conflict``) and nothing is written. ``history``: the step's
    events (a ``Recorder``'s), written with the row and the list cleared: on PostgreSQL in the same statement
    (the INSERT a data-modifying ``WITH`` of the UPDATE: a round trip less a step), elsewhere just after it.

    The table's own UPDATE, built once, where the ORM's flush of the one row cost three times as much (every
    step saves its instance). What else changed the instance in this command is flushed first, so the
    revision checked is the row's; the values written become the instance's committed ones (nothing left
    for a later flush to write again). A new instance, not yet in the table, is saved by the ORM."""
    values = {"state": state, "updated_at": updated_at, "status": status, "completed_at": completed_at,
              "timing": timing}  # fmt: skip
    events = history if history is not None else []
    if not inspect(instance).persistent:
        for name, value in values.items():
            setattr(instance, name, value)
        write_history(session, events)
        return
    session.flush()
    revision = instance.revision
    params = {"instance_id": instance.id, "revision": revision, "next_revision": revision + 1,
              **{f"new_{name}": value for name, value in values.items()}}  # fmt: skip
    stmt = _SAVE_INSTANCE
    with_events = bool(events) and session.get_bind().dialect.name == "postgresql"
    if with_events:
        stmt = _SAVE_WITH_EVENTS
        params.update({f"e_{name}": [event[name] for event in events] for name in _EVENT_COLUMNS})
    written = session.execute(stmt, params)
    if written.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleDataError(f"Process instance {instance.id} was changed by someone else (revision {revision}).")
    for name, value in values.items():
        set_committed_value(instance, name, value)
    set_committed_value(instance, "revision", revision + 1)
    if with_events:
        events.clear()
    else:
        write_history(session, events)


_INSTANCES = ProcessInstance.metadata.tables[ProcessInstance.__tablename__]
_SAVE_INSTANCE = (
    update(_INSTANCES)
    .where(_INSTANCES.c.id == bindparam("instance_id"), _INSTANCES.c.revision == bindparam("revision"))
    .values(revision=bindparam("next_revision"),
            **{name: bindparam(f"new_{name}") for name in ("state", "updated_at", "status", "completed_at", "timing")})
)

_EVENT_COLUMNS = ("instance_id", "at", "actor_id", "kind", "element_id", "element_name", "task_id", "data")
# PostgreSQL: the step's events as one array a column, unnested in their order into the history as a ``WITH`` of
# the UPDATE (one statement whatever their number: a multi-row VALUES would be compiled anew at every run)
_EVENT_ROWS = func.unnest(
    *(bindparam(f"e_{name}", type_=ARRAY(_HISTORY.c[name].type)) for name in _EVENT_COLUMNS)
).table_valued(*_EVENT_COLUMNS, with_ordinality="n").render_derived(name="e")
_SAVE_WITH_EVENTS = _SAVE_INSTANCE.add_cte(insert(_HISTORY).from_select(
    list(_EVENT_COLUMNS), select(*(_EVENT_ROWS.c[name] for name in _EVENT_COLUMNS)).order_by(_EVENT_ROWS.c.n),
).cte("events"))  # fmt: skip


@dataclass
class Step:
    """One instance being moved on by a command: its row, its workflow and its history so far."""

    instance: ProcessInstance
    workflow: BpmnWorkflow
    recorder: Recorder
    signals: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # thrown, to broadcast once saved


class FollowUp(Protocol):
    """Work that follows from a step (a called process to start, a caller to resume, a signal to
    broadcast): queued on the command and run, in order, before it commits."""

    def run(self, command: Command) -> None: ...


class Runner(Protocol):
    """What moves a step on: run the engine until the process waits, save it, start new instances."""

    def advance(self, command: Command, step: Step) -> None: ...

    def finish(self, command: Command, step: Step) -> None: ...

    def start(self, command: Command, definition: ProcessDefinition, unit: Unit, actor: User | None, *,
              business_key: str | None = None, variables: Mapping[str, Any] | None = None,
              cause: Mapping[str, Any] | None = None,
              parent: tuple[int, str] | None = None) -> ProcessInstance: ...  # fmt: skip


class Commands(Protocol):
    """Whatever opens commands (the ``Engine``): what feature modules ask for one."""

    def command(self, *, now: datetime, actor: User | None = None) -> Command: ...


class WorkflowCache:
    """Deserialized workflows kept between commands, keyed by instance and revision.

    A command takes its workflow out of the cache and puts it back only after its commit, so a
    failed command never leaves a half-changed workflow behind, and a revision written by another
    process simply misses the cache.

    One cache serves every thread of a server process: a workflow is in the cache or in the hands of
    exactly one command, never both (``take`` removes it). ``maxsize`` 0 keeps nothing.
    """

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[int, tuple[int, BpmnWorkflow]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, instance_id: int, revision: int) -> BpmnWorkflow | None:
        with self._lock:
            item = self._items.pop(instance_id, None)
        return item[1] if item is not None and item[0] == revision else None

    def put(self, instance_id: int, revision: int, workflow: BpmnWorkflow) -> None:
        if self.maxsize <= 0:
            return
        with self._lock:
            self._items[instance_id] = (revision, workflow)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def holds(self, instance_id: int) -> bool:
        """Whether a workflow of the instance is kept (of any revision: ``take`` still checks it)."""
        return instance_id in self._items

    def __len__(self) -> int:
        return len(self._items)


class Command:
    """One transaction of the engine. Use as a context manager::

        with engine.command(now=now, actor=user) as command:
            step = command.open(instance_id)
            ...
            command.proceed(step)

    On leaving the block the queue is drained, then everything commits; on an error everything is
    rolled back. ``commit=False`` joins the caller's transaction instead (the caller commits or rolls
    back), e.g. a deployment that starts change control.
    """

    def __init__(self, session: Session, runner: Runner, *, now: datetime, actor: User | None = None,
                 cache: WorkflowCache | None = None, commit: bool = True) -> None:  # fmt: skip
        self.session = session
        self.runner = runner
        self.now = now
        self.actor = actor
        self.cache = cache
        self.commits = commit
        self.queue: deque[FollowUp] = deque()
        self.call_depth = 0  # how many call activities deep the instance being started is
        self.signal_depth = 0  # how many signals in a row led to the follow-up now running
        self._saved: dict[int, tuple[ProcessInstance, BpmnWorkflow]] = {}

    def __enter__(self) -> Command:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:  # fmt: skip
        if error is None:
            try:
                self.drain()
                self.session.flush()
                if not self.commits:
                    return
                # The revisions as written, read before the commit expires the rows (reading them after
                # it would load each instance again).
                saved = [(instance.id, instance.revision, workflow) for instance, workflow in self._saved.values()]
                self.session.commit()
            except BaseException as failure:
                self._fail(failure)
            if self.cache is not None:
                for instance_id, revision, workflow in saved:
                    self.cache.put(instance_id, revision, workflow)
            return
        if self.commits:
            self._fail(error)

    def _fail(self, error: BaseException) -> None:
        if not self.commits:
            raise error
        self.session.rollback()
        if isinstance(error, StaleDataError):
            raise Conflict("Someone else changed this process at the same moment; reload the page and try again.")
        if isinstance(error, OperationalError):
            text = str(error).lower()
            if "locked" in text or "could not serialize" in text or "deadlock detected" in text:
                raise Conflict("The process is being changed by someone else right now; try again in a moment.")
        raise error

    # --- instances ------------------------------------------------------------------------------

    def lock(self, instance_id: int, *, with_state: bool = False) -> ProcessInstance:
        """The instance's row, locked until the command ends (``FOR UPDATE`` on PostgreSQL); ``with_state``:
        its saved workflow and its definition's specification in the same query (to load the workflow)."""
        locking = _LOCK_WITH_STATE if with_state else _LOCK
        instance = self.session.scalars(locking, {"instance_id": instance_id}).one_or_none()
        if instance is None:
            raise InstanceNotFound(instance_id)
        return instance

    def load(self, instance: ProcessInstance) -> BpmnWorkflow:
        """The instance's workflow as last saved (by this command, the cache, or the database)."""
        saved = self._saved.pop(instance.id, None)
        if saved is not None:
            return saved[1]
        cached = self.cache.take(instance.id, instance.revision) if self.cache is not None else None
        return cached or load_state(instance.state, instance.definition.spec_json)

    def open(self, instance_id: int, *, actor: User | None = None, locked: ProcessInstance | None = None) -> Step:
        """Lock and load an instance to move it on; history is recorded as ``actor`` (None: eISO). ``locked``:
        the instance as this command already locked it, with its saved workflow (``locking_instance``)."""
        if locked is not None and locked.id == instance_id:
            instance = locked
        else:
            kept = instance_id in self._saved or (self.cache is not None and self.cache.holds(instance_id))
            instance = self.lock(instance_id, with_state=not kept)
        return Step(instance, self.load(instance), Recorder(instance, actor, self.now))

    def step(self, instance: ProcessInstance, workflow: BpmnWorkflow, actor: User | None = None) -> Step:
        return Step(instance, workflow, Recorder(instance, actor, self.now))

    def saved(self, instance: ProcessInstance, workflow: BpmnWorkflow) -> None:
        """The runner saved this workflow: a later step of the same command starts from it."""
        self._saved[instance.id] = (instance, workflow)

    def peek(self, instance_id: int) -> BpmnWorkflow | None:
        """The workflow this command last saved for an instance, without taking it (read only)."""
        saved = self._saved.get(instance_id)
        return saved[1] if saved is not None else None

    def proceed(self, step: Step) -> None:
        """Run the engine until the process waits for people or events, then save it."""
        self.runner.advance(self, step)
        self.runner.finish(self, step)

    def finish(self, step: Step) -> None:
        """Save a step that was changed without running the engine (cancelled, migrated)."""
        self.runner.finish(self, step)

    def start(self, definition: ProcessDefinition, unit: Unit, actor: User | None, *,
              business_key: str | None = None, variables: Mapping[str, Any] | None = None,
              cause: Mapping[str, Any] | None = None,
              parent: tuple[int, str] | None = None) -> ProcessInstance:  # fmt: skip
        """Create an instance and run it until it waits, inside this command."""
        return self.runner.start(self, definition, unit, actor, business_key=business_key, variables=variables,
                                 cause=cause, parent=parent)  # fmt: skip

    def record(self, instance_id: int, kind: str, *, element: tuple[str, str] | None = None,
               data: dict[str, Any] | None = None) -> None:  # fmt: skip
        """Add a history event to an instance that this step does not load."""
        self.session.add(HistoryEvent(
            instance_id=instance_id, at=self.now, actor_id=self.actor.id if self.actor else None, kind=kind,
            element_id=element[0] if element else None, element_name=element[1] if element else None,
            data=data or {},
        ))  # fmt: skip

    # --- follow-up work -------------------------------------------------------------------------

    def later(self, work: FollowUp) -> None:
        """Queue work that follows from this command; it runs before the command commits."""
        self.queue.append(work)

    def drain(self) -> None:
        """Run the queued work, and the work it queues in turn, until none is left."""
        while self.queue:
            self.queue.popleft().run(self)
