"""Moving an instance on inside a command: run SpiffWorkflow's engine steps and our built-in jobs until
the process waits for people or events, then save it and bring the read model in line (task rows and
their candidates, timers, external jobs, message and signal subscriptions), write its history, and
queue what follows (called processes, callers, signals).

``Advancer`` is the ``Runner`` every ``Command`` of an ``Engine`` uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from copy import deepcopy
from typing import Any

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
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Integer, bindparam, cast, null, select, union_all

from engine.db import insert_row
from engine.errors import EngineError, Phrase
from engine.org.calendar import WorkingCalendar, classify
from engine.org.models import Department, RoleAssignment, Unit, User
from engine.org.notices import notify
from engine.org.people import member_in, users_with_role
from engine.org.substitutes import local_day, substitute_on
from engine.runtime import calls, signals
from engine.runtime.command import Command, Recorder, Step, save_instance
from engine.runtime.compensation import compensate
from engine.runtime.deadlines import due_for, follow_up_for
from engine.runtime.events import (
    event_subprocess_started,
    idle_event_subprocesses,
    interrupt_scope,
    is_code_event,
    refresh_conditions,
    run_task,
    running_scopes,
    start_scoped_event_subprocess,
)
from engine.runtime.handlers import HANDLERS, JobContext, job_type_of, may_use_job
from engine.runtime.iomapping import SHADOWED, on_completion, shadowed, with_inputs
from engine.runtime.jobs import ExternalJob, job_row
from engine.runtime.models import (
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    TaskCandidate,
    TaskRow,
    Timer,
)
from engine.runtime.parsing import CallTask, CatchEvent, EventGateway, JobTask
from engine.runtime.priority import priority_for
from engine.runtime.script_engine import evaluate_expression
from engine.runtime.serialization import dump_state, new_workflow
from engine.runtime.tasks import MAX_SAFE_DEPTH, active_tasks, compact, element_of, guard_loop, is_process_start
from engine.runtime.timers import schedule as plan_timer
from engine.runtime.timers import timer_kind, timer_value

MAX_JOB_ROUNDS = 1000
SCOPE_SUBSCRIPTION = "start:"  # key prefix of an event subprocess's subscription (it has no task yet)


def context_variables(unit: Unit, actor: User | None) -> dict[str, Any]:
    """Data every process of a unit can use (forms list departments with ``valuesKey: departments``)."""
    return {
        "unit": {"code": unit.code, "name": unit.name},
        "departments": unit.department_choices(),
        "initiator": actor.username if actor else None,
    }


def node_of(instance: ProcessInstance, element_id: str) -> dict[str, Any]:
    """The element index entry of one element of the instance's definition."""
    return dict(instance.definition.elements["nodes"].get(element_id, {}))


def name_of(instance: ProcessInstance, element_id: str) -> str:
    return str(instance.definition.elements["nodes"].get(element_id, {}).get("name", ""))


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


# Built once: every step reads which task rows of its instance are open, and a step of a diagram with timers
# which timers wait. Only the keys, from the tables themselves: a step seldom closes a row, and the whole rows
# read through the ORM cost twice as much (its loading, every column's description) to find usually none; a
# row to close is then fetched by its key (``Session.get``: from the session when it holds it).
_TASKS, _TIMERS = TaskRow.__table__, Timer.__table__
_OPEN_ROWS = select(_TASKS.c.id).where(_TASKS.c.instance_id == bindparam("instance_id"), _TASKS.c.state == "open")
_WAITING_TIMERS = select(_TIMERS.c.task_id, _TIMERS.c.id).where(_TIMERS.c.instance_id == bindparam("instance_id"),
                                                                 _TIMERS.c.state == "waiting")  # fmt: skip
# ... and for a diagram with timers, both in one statement (a round trip less at every step): the open task rows
# as (id, NULL), the waiting timers as (their task, their id)
_OPEN_ROWS_AND_TIMERS = union_all(_OPEN_ROWS.add_columns(cast(null(), Integer)), _WAITING_TIMERS)


class Advancer:
    """Runs instances for the commands of one engine; ``calendar`` gives a unit's working calendar."""

    def __init__(self, calendar: Callable[[int], WorkingCalendar], *, max_depth: int = MAX_SAFE_DEPTH) -> None:
        self.calendar = calendar
        self.max_depth = max_depth

    # --- start ----------------------------------------------------------------------------------

    def start(self, command: Command, definition: ProcessDefinition, unit: Unit, actor: User | None, *,
              business_key: str | None = None, variables: Mapping[str, Any] | None = None,
              cause: Mapping[str, Any] | None = None,
              parent: tuple[int, str] | None = None) -> ProcessInstance:  # fmt: skip
        """Create and run an instance; ``actor`` None: started by eISO (a timer, a signal, a calling process:
        ``cause`` says which). ``variables`` have been checked by the start form, if any."""
        session = command.session
        now = command.now
        workflow = new_workflow(definition.spec_json)
        context = context_variables(unit, actor)
        given = dict(variables or {})
        initiator = {n["initiator"]: actor.username for n in definition.elements["nodes"].values()
                     if n["type"] == "startEvent" and n.get("initiator") and actor is not None}  # fmt: skip
        start_io = _start_outputs(definition)
        for task in active_tasks(workflow):
            task.data.update({**context, **given, **initiator})
            if start_io:  # the start event's output mappings (Camunda 8) set process data from what it got
                flowing = on_completion(start_io, task.data, {})
                task.data.clear()
                task.data.update(flowing)
        instance = ProcessInstance(
            definition=definition, unit_id=unit.id, business_key=business_key,
            started_by_id=actor.id if actor else None, status="running", state="", started_at=now, updated_at=now,
        )  # fmt: skip
        process = definition.elements.get("process", {})
        instance.due_at = due_for(process, {**context, **given}, now, self.calendar(unit.id))
        instance.parent_instance_id, instance.parent_task_id = parent if parent else (None, None)
        session.add(instance)
        session.flush()
        step = command.step(instance, workflow, actor)
        started = {"business_key": business_key, "variables": dict(variables or {}),
                   "by_timer": actor is None and not cause, **(cause or {})}  # fmt: skip
        step.recorder.add("instance_started", data=started)
        self.advance(command, step)
        if _fire_start_events(workflow):
            self.advance(command, step)
        self.finish(command, step)
        return instance

    # --- advance --------------------------------------------------------------------------------

    def advance(self, command: Command, step: Step) -> None:
        """Run engine steps and our own job handlers until the process waits for people."""
        workflow, instance, recorder = step.workflow, step.instance, step.recorder
        for _ in range(MAX_JOB_ROUNDS):
            interrupting: list[Task] = []

            def passed(task: Task, interrupting: list[Task] = interrupting) -> None:
                self._passed(task, step, interrupting)

            try:
                workflow.do_engine_steps(did_complete_task=passed)
            except SpiffWorkflowException as exc:
                raise EngineError("The process could not continue: %(reason)s", reason=str(exc))
            if interrupting:
                for holder in interrupting:
                    self._interrupt(holder, instance, recorder)
                continue
            calls.start_calls(command, step)
            if refresh_conditions(active_tasks(workflow)) or self._close_idle_scopes(workflow, instance):
                continue
            nodes = instance.definition.elements["nodes"]
            if compensate(workflow, nodes, lambda kind, element, data: recorder.add(
                    kind, element=(element, name_of(instance, element)), data=data),
                    camunda8=instance.definition.dialect == "camunda8"):  # fmt: skip
                continue
            jobs = [t for t in active_tasks(workflow) if _is_ready_job(t) and self._runs_here(instance, t)]
            if not jobs:
                break
            for job in jobs:
                self._run_job(command, job, instance, recorder)
        compact(workflow)
        guard_loop(workflow, self.max_depth)

    def _interrupt(self, holder: Task, instance: ProcessInstance, recorder: Recorder) -> None:
        """An interrupting event subprocess started: the rest of its scope stops (BPMN semantics)."""
        cancelled = interrupt_scope(holder)
        names = sorted({name_of(instance, element_of(t.task_spec)) or element_of(t.task_spec)
                        for t in cancelled if t.task_spec.bpmn_id})  # fmt: skip
        recorder.add("scope_interrupted", element=(element_of(holder.task_spec), holder.task_spec.bpmn_name or ""),
                     data={"cancelled": names})  # fmt: skip

    @staticmethod
    def _close_idle_scopes(workflow: BpmnWorkflow, instance: ProcessInstance) -> bool:
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

    def _passed(self, task: Task, step: Step, interrupting: list[Task]) -> None:
        spec = task.task_spec
        instance, recorder = step.instance, step.recorder
        holder = event_subprocess_started(task)
        if holder is not None and node_of(instance, element_of(holder.task_spec)).get("event_subprocess"):
            node = node_of(instance, element_of(spec))
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
            step.signals.append((name, {k: v for k, v in task.data.items() if k != "departments"}))
            self._signal_scopes(task, name, instance)
            return
        if is_code_event(spec) and thrown:
            definition = spec.event_definition
            kind = "error_thrown" if isinstance(definition, ErrorEventDefinition) else "escalation_thrown"
            recorder.add(kind, element=(element_of(spec), spec.bpmn_name or ""), data={"code": definition.code})
            return
        if isinstance(spec, CatchEvent) and task.parent is not None and isinstance(task.parent.task_spec, EventGateway):
            self._event_gateway_won(task, instance, recorder)
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

    @staticmethod
    def _signal_scopes(task: Task, name: str, instance: ProcessInstance) -> None:
        """A signal thrown in the instance also starts the signal event subprocesses of its running
        subprocesses (SpiffWorkflow delivers it to the process's own event subprocesses and waiting events)."""
        workflow = task.workflow.top_workflow
        for holder, _element, node, _data in listening_scopes(workflow, instance.definition.elements["nodes"]):
            scope = workflow.subprocesses.get(holder.id)
            if scope is not None and (node.get("signal") or {}).get("name") == name:
                event = BpmnEvent(SignalEventDefinition(name), payload=deepcopy(task.data))
                start_scoped_event_subprocess(scope, event)

    @staticmethod
    def _event_gateway_won(task: Task, instance: ProcessInstance, recorder: Recorder) -> None:
        """The first event after an event-based gateway arrived: the history says which way was taken and
        which ways were given up (their timers and subscriptions are cancelled when the instance is saved)."""
        gateway, won = element_of(task.parent.task_spec), element_of(task.task_spec)
        flows = instance.definition.elements.get("flows", {})
        taken = [{"flow": fid, "name": f["name"] or name_of(instance, won), "target": won}
                 for fid, f in flows.items() if f["source"] == gateway and f["target"] == won]  # fmt: skip
        rivals = [t for t in task.parent.children if t is not task and t.state == TaskState.CANCELLED]
        lost = [element_of(t.task_spec) for t in rivals]
        given_up = sorted({name_of(instance, element) or element for element in lost})
        recorder.add("gateway_taken", element=(gateway, name_of(instance, gateway)),
                     data={"taken": taken, "event": won, "cancelled": given_up})  # fmt: skip

    @staticmethod
    def _runs_here(instance: ProcessInstance, task: Task) -> bool:
        """A built-in handler runs this job now; any other job type waits for an external worker."""
        return job_type_of(node_of(instance, element_of(task.task_spec))) in HANDLERS

    @staticmethod
    def _run_job(command: Command, job: Task, instance: ProcessInstance, recorder: Recorder) -> None:
        node = node_of(instance, element_of(job.task_spec))
        job_type = job_type_of(node)
        handler = HANDLERS.get(job_type or "")
        if job_type and not may_use_job(job_type, instance.definition.key):
            raise EngineError("The built-in job '%(type)s' belongs to another process; '%(key)s' may not use it.",
                              type=job_type, key=instance.definition.key)  # fmt: skip
        if handler is None:
            step = node.get("name") or element_of(job.task_spec)
            raise EngineError("No handler for job type '%(type)s' at step '%(step)s'.", type=job_type, step=step)
        data = with_inputs(node.get("io"), job.data)
        context = JobContext(command.session, instance, element_of(job.task_spec), data, recorder.actor, recorder.now)
        output = handler(context) or {}
        flowing = on_completion(node.get("io"), data, output, shadowed(node.get("io"), job.data))
        job.data.clear()
        job.data.update(flowing)
        run_task(job)
        element = (element_of(job.task_spec), node.get("name", ""))
        for kind, event_data in context.events:
            recorder.add(kind, element=element, data=event_data)
        recorder.add("job_completed", element=element, data={"job_type": job_type, "output": output})

    # --- finish ---------------------------------------------------------------------------------

    def finish(self, command: Command, step: Step) -> None:
        """Save state under the revision check, sync the read model, write history, queue what follows."""
        session = command.session
        workflow, instance, recorder = step.workflow, step.instance, step.recorder
        now = recorder.now
        outcomes = calls.child_outcomes(instance, workflow, recorder)  # errors and escalations caught nowhere inside
        kinds = waits_of(workflow)
        if "timer" in kinds:
            open_rows: list[str] = []
            waiting: dict[str, int] = {}
            for key, timer_id in session.execute(_OPEN_ROWS_AND_TIMERS, {"instance_id": instance.id}):
                if timer_id is None:
                    open_rows.append(key)
                else:
                    waiting[key] = timer_id
            self._sync_tasks(command, step, open_rows)
            self._sync_timers(command, step, waiting)
        else:
            self._sync_tasks(command, step, list(session.scalars(_OPEN_ROWS, {"instance_id": instance.id})))
        if "job" in kinds:
            self._sync_jobs(command, step)
        if "subscription" in kinds:
            self._sync_subscriptions(command, step)
        calls.cancel_orphans(command, step)
        if not workflow.is_completed() and instance.status == "running" and not _can_move(command, step):
            _report_stall(command, step)
        status, completed_at, timing = instance.status, instance.completed_at, instance.timing
        if workflow.is_completed() and status == "running":
            status, completed_at = "completed", now
            if instance.due_at is not None:
                timing = classify(now, instance.due_at, cal=self.calendar(instance.unit_id))
            recorder.add("instance_completed", data={"timing": timing})
        save_instance(session, instance, state=dump_state(workflow), updated_at=now, status=status,
                      completed_at=completed_at, timing=timing, history=recorder.events)  # fmt: skip
        session.flush()
        command.saved(instance, workflow)
        calls.notify_caller(command, instance, outcomes, recorder.actor)
        for name, data in step.signals:
            command.later(signals.Thrown(name, data, instance.unit_id, instance.id, command.signal_depth + 1))
        step.signals.clear()

    def _sync_tasks(self, command: Command, step: Step, open_rows: list[str]) -> None:
        """A row in ``tasks`` for every user task the workflow waits on; cancel the open rows (``open_rows``, by
        id) of those it no longer waits on."""
        session = command.session
        ready = {
            str(t.id): t
            for t in active_tasks(step.workflow)
            if t.state == TaskState.READY and isinstance(t.task_spec, UserTask)
            and not isinstance(t.task_spec, JobTask | CallTask)
        }
        for task_id, task in ready.items():
            if task_id not in open_rows:
                _TaskRows(command, step, task, self.calendar(step.instance.unit_id)).create()
        for task_id in open_rows:
            if task_id not in ready:
                row = session.get_one(TaskRow, task_id)
                row.state = "cancelled"
                step.recorder.add("task_cancelled", element=(row.element_id, row.name), task_id=row.id)

    @staticmethod
    def _sync_timers(command: Command, step: Step, rows: Mapping[str, int]) -> None:
        """A row in ``timers`` for every timer event the instance waits for; cancel the others (``rows``: the
        waiting ones' ids by their workflow task)."""
        instance, recorder = step.instance, step.recorder
        waiting = {
            str(t.id): t
            for t in active_tasks(step.workflow)
            if t.state == TaskState.WAITING and timer_kind(getattr(t.task_spec, "event_definition", None))
            and not is_process_start(t)
        }  # fmt: skip
        for task_id, task in waiting.items():
            if task_id not in rows:
                _schedule_timer(command, task, instance, recorder)
        for task_id, timer_id in rows.items():
            if task_id not in waiting:
                row = command.session.get_one(Timer, timer_id)
                row.state = "cancelled"
                recorder.add("timer_cancelled", element=(row.element_id, name_of(instance, row.element_id)))

    def _sync_jobs(self, command: Command, step: Step) -> None:
        """A row in ``external_jobs`` for each job the instance waits on; cancel those it stopped waiting on."""
        instance, recorder, session = step.instance, step.recorder, command.session
        waiting = {
            str(t.id): t for t in active_tasks(step.workflow)
            if _is_ready_job(t) and not self._runs_here(instance, t)
        }  # fmt: skip
        stmt = select(ExternalJob).where(ExternalJob.instance_id == instance.id, ExternalJob.state == "open")
        rows = {r.id: r for r in session.scalars(stmt)}
        for task_id, task in waiting.items():
            if task_id not in rows and session.get(ExternalJob, task_id) is None:
                element_id = element_of(task.task_spec)
                node = {"id": element_id, **node_of(instance, element_id)}
                session.add(job_row(task, node, instance, recorder.now))
                recorder.add("job_created", element=(element_id, node.get("name", "")),
                             data={"job_type": node.get("job_type")})  # fmt: skip
        for task_id, row in rows.items():
            if task_id not in waiting:
                row.state = "cancelled"

    @staticmethod
    def _sync_subscriptions(command: Command, step: Step) -> None:
        """A row in ``message_subscriptions`` for every message or signal the instance waits for (events,
        receive tasks, and the start events of its event subprocesses); cancel the others."""
        workflow, instance, recorder = step.workflow, step.instance, step.recorder
        wanted: dict[str, tuple[str, dict[str, Any], Mapping[str, Any]]] = {}
        for t in active_tasks(workflow):
            definition = getattr(t.task_spec, "event_definition", None)
            if t.state == TaskState.WAITING and isinstance(definition, MessageEventDefinition | SignalEventDefinition) \
                    and not isinstance(t.task_spec, StartEvent):  # event subprocesses: their scope's rows below
                wanted[str(t.id)] = (element_of(t.task_spec), node_of(instance, element_of(t.task_spec)), t.data)
        nodes = instance.definition.elements["nodes"]
        for holder, element_id, node, data in listening_scopes(workflow, nodes):
            wanted[_scoped_key(element_id, str(holder.id))] = (element_id, node, data)
        listening = {
            element_id: node for element_id, node in instance.definition.elements["nodes"].items()
            if node.get("in_event_subprocess") and not node.get("nested") and not node.get("timer")
        }  # fmt: skip
        if listening and not workflow.is_completed():
            scope_data = workflow.last_task.data if workflow.last_task is not None else {}
            started = {t.task_spec.bpmn_id for t in workflow.tasks.values()}
            for element_id, node in listening.items():
                if not node.get("interrupting", True) or node["in_event_subprocess"] not in started:
                    wanted[_scoped_key(element_id, "")] = (element_id, node, scope_data)
        stmt = select(MessageSubscription).where(
            MessageSubscription.instance_id == instance.id, MessageSubscription.state == "waiting"
        )
        rows = {_row_key(r, nodes): r for r in command.session.scalars(stmt)}
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
            task_id = key.partition("@")[2] if key.startswith(SCOPE_SUBSCRIPTION) else key  # "": the process's
            command.session.add(MessageSubscription(
                instance_id=instance.id, task_id=task_id,
                element_id=element_id, kind=kind, message_name=name,
                correlation_key=None if value is None else str(value), state="waiting", created_at=recorder.now,
            ))  # fmt: skip
            recorder.add(f"{kind}_awaited", element=(element_id, name_of(instance, element_id)),
                         data={kind: name, "correlation_key": value})  # fmt: skip
        for key, row in rows.items():
            if key not in wanted:
                row.state = "cancelled"


def waits_of(workflow: BpmnWorkflow) -> frozenset[str]:
    """Which rows besides its tasks an instance of this diagram can ever have: ``timer`` (a timer event),
    ``job`` (a step that waits as a job), ``subscription`` (a message or signal event). A diagram without any
    of one kind never had a row of it, so ``finish`` need not look for them (a query per kind and step saved).
    An instance moved to another version keeps the elements it reached (``instance_moves``), so a row made
    under the old version belongs to an element the new one has as well."""
    kinds: set[str] = set()
    specs = [workflow.spec, *workflow.subprocess_specs.values()]
    for spec in (s for process in specs for s in process.task_specs.values()):
        if isinstance(spec, JobTask):
            kinds.add("job")
        definition = getattr(spec, "event_definition", None)
        for one in [definition, *(getattr(definition, "event_definitions", None) or [])]:
            if timer_kind(one):
                kinds.add("timer")
            elif isinstance(one, MessageEventDefinition | SignalEventDefinition):
                kinds.add("subscription")
    return frozenset(kinds)


def _scoped_key(element_id: str, holder_id: str) -> str:
    """The key of an event subprocess's subscription: its start event and the subprocess task that listens
    (empty for an event subprocess of the process)."""
    return f"{SCOPE_SUBSCRIPTION}{element_id}@{holder_id}"


def _row_key(row: MessageSubscription, nodes: Mapping[str, Any]) -> str:
    if row.task_id and nodes.get(row.element_id, {}).get("scope"):
        return _scoped_key(row.element_id, row.task_id)
    return row.task_id or _scoped_key(row.element_id, "")


def listening_scopes(workflow: BpmnWorkflow, nodes: Mapping[str, Any]) -> list[tuple[Task, str, dict[str, Any],
                                                                                      Mapping[str, Any]]]:  # fmt: skip
    """The message and signal start events of the event subprocesses of every running embedded subprocess:
    (the subprocess's task, the start event, its element entry, the subprocess's latest data). A subprocess
    listens while it runs; once an interrupting event subprocess of it started, it listens no more."""
    nested = [(element_id, node) for element_id, node in nodes.items()
              if node.get("scope") and not node.get("timer") and ("message" in node or "signal" in node)]  # fmt: skip
    if not nested:
        return []
    found: list[tuple[Task, str, dict[str, Any], Mapping[str, Any]]] = []
    for holder, scope in running_scopes(workflow):
        element = element_of(holder.task_spec)
        started = {t.task_spec.bpmn_id for t in scope.tasks.values()}
        interrupted = any(n["in_event_subprocess"] in started and n.get("interrupting", True)
                          for n in nodes.values() if n.get("scope") == element)  # fmt: skip
        if interrupted:
            continue
        data = scope.last_task.data if scope.last_task is not None else holder.data
        found.extend((holder, element_id, node, data) for element_id, node in nested if node["scope"] == element)
    return found


def _start_outputs(definition: ProcessDefinition) -> dict[str, Any] | None:
    """The output mappings of the process's start event, when it has one start event that maps any."""
    starts = [n for n in definition.elements["nodes"].values()
              if n["type"] == "startEvent" and not n.get("in_event_subprocess")]  # fmt: skip
    io = starts[0].get("io") if len(starts) == 1 else None
    return io if io and io.get("outputs") else None


def _can_move(command: Command, step: Step) -> bool:
    """Something can still move the instance on: a task for people, a job, a called process, a timer, a
    message or signal it waits for (also an event subprocess listening for one)."""
    for task in active_tasks(step.workflow):
        definition = getattr(task.task_spec, "event_definition", None)
        if task.state == TaskState.READY and isinstance(task.task_spec, UserTask):
            return True  # a user task, a job (JobTask) or a call activity waiting for its called process
        waits_for = timer_kind(definition) or isinstance(definition, MessageEventDefinition | SignalEventDefinition)
        if task.state == TaskState.WAITING and waits_for:
            return True
    listening = select(MessageSubscription.id).where(MessageSubscription.instance_id == step.instance.id,
                                                     MessageSubscription.state == "waiting")  # fmt: skip
    return command.session.scalar(listening.limit(1)) is not None


def _report_stall(command: Command, step: Step) -> None:
    """Nothing can move the instance on: an incident in its history and a notice to the unit's
    administrators, naming the steps it stopped at, instead of a quiet "running"."""
    stuck = sorted({name_of(step.instance, element_of(t.task_spec)) or element_of(t.task_spec)
                    for t in active_tasks(step.workflow) if t.task_spec.bpmn_id})  # fmt: skip
    reason = Phrase("Nothing can move this process on: no task, job, timer or message waits at %(steps)s.",
                    steps=", ".join(stuck) or "?")
    step.recorder.add("incident", data={"error": str(reason), "stalled_at": stuck})
    admins = users_with_role(command.session, step.instance.unit_id, "admin")
    title = Phrase("A process has stopped and needs you: %(process)s #%(id)s", process=step.instance.definition.name,
                   id=step.instance.id)  # fmt: skip
    notify(command.session, admins, unit_id=step.instance.unit_id, instance_id=step.instance.id, kind="incident",
           title=title, body=reason, link=f"/instances/{step.instance.id}", now=command.now)


def _fire_start_events(workflow: BpmnWorkflow) -> bool:
    """A timer or message start event has done its work once the instance exists: let it through."""
    fired = False
    for task in active_tasks(workflow):
        spec = task.task_spec
        definition = getattr(spec, "event_definition", None)
        kind = timer_kind(definition) or (
            "message" if isinstance(definition, MessageEventDefinition | SignalEventDefinition) else None
        )
        if task.state == TaskState.WAITING and is_process_start(task) and kind:
            if kind == "cycle":  # a cycle event starts its path on a round, not on completion
                task.internal_data["cycle_occurred"] = True
                spec._update(task)
            task._set_internal_data(event_fired=True)
            spec._update(task)
            fired = True
    return fired


def _schedule_timer(command: Command, task: Task, instance: ProcessInstance, recorder: Recorder) -> None:
    node = node_of(instance, element_of(task.task_spec))
    timer = node.get("timer") or {}
    value = timer_value(timer.get("expression", ""), task.data)
    planned = plan_timer(timer.get("kind", ""), value, recorder.now)
    command.session.add(Timer(
        instance_id=instance.id, task_id=str(task.id), element_id=element_of(task.task_spec),
        kind=timer.get("kind"),
        due_at=planned.first, period=planned.period, cron=planned.cron, cycles_left=planned.cycles,
        state="waiting",
    ))  # fmt: skip
    recorder.add("timer_scheduled", element=(element_of(task.task_spec), node.get("name", "")),
                 data={"due_at": planned.first.isoformat(), "timer": value})  # fmt: skip


class _TaskRows:
    """The inbox row of a user task that has just become ready, with who may take it.

    Candidate users and the assignee a diagram names are looked up among the people holding a role in the
    instance's unit only. A name found nowhere there is an ``incident`` in the history and a notice to the
    unit's administrators; a task that then reaches nobody falls to them, like a task given to nobody.
    """

    def __init__(self, command: Command, step: Step, task: Task, calendar: WorkingCalendar) -> None:
        self.session = command.session
        self.step = step
        self.task = task
        self.calendar = calendar

    def _department_members(self, unit_id: int, group: str) -> list[int]:
        """``role:department`` (e.g. ``department_head:vp``): who holds that role for that department."""
        role, _, code = group.partition(":")
        stmt = (
            select(RoleAssignment.user_id)
            .join(Department, Department.id == RoleAssignment.department_id)
            .where(RoleAssignment.unit_id == unit_id, RoleAssignment.role == role, Department.code == code)
        )
        return list(self.session.scalars(stmt.distinct()))

    def _member(self, username: Any) -> User | None:
        return member_in(self.session, self.step.instance.unit_id, str(username))

    def _substitute(self, user: User | None, unit_id: int, on_leave: dict[str, str]) -> User | None:
        """The person, or their substitute when they are on leave today (``engine.org.substitutes``)."""
        if user is None:
            return None
        standing_in = substitute_on(self.session, unit_id, user.id, local_day(self.step.recorder.now))
        if standing_in is None:
            return user
        on_leave[user.username] = standing_in.username
        return standing_in

    def _tell_substitutes(self, row: TaskRow, on_leave: dict[str, str]) -> None:
        people = {u.username: u for u in self.session.scalars(
            select(User).where(User.username.in_([*on_leave, *on_leave.values()])))}  # fmt: skip
        for absent, standing_in in on_leave.items():
            notify(self.session, [people[standing_in]], unit_id=row.unit_id, instance_id=row.instance_id,
                   kind="substitute_task", link=f"/tasks/{row.id}", now=self.step.recorder.now,
                   title=Phrase("A task came to you on behalf of %(who)s: %(task)s", who=people[absent].full_name,
                                task=row.name))  # fmt: skip
            notify(self.session, [people[absent]], unit_id=row.unit_id, instance_id=row.instance_id,
                   kind="substitute_task", link=f"/tasks/{row.id}", now=self.step.recorder.now, email=False,
                   title=Phrase("A new task of yours went to your substitute %(who)s: %(task)s",
                                who=people[standing_in].full_name, task=row.name))  # fmt: skip

    def create(self) -> TaskRow:
        task, instance, recorder = self.task, self.step.instance, self.step.recorder
        node = node_of(instance, element_of(task.task_spec))
        if node.get("io"):  # the task starts: its input variables join its data
            task.internal_data[SHADOWED] = shadowed(node["io"], task.data)  # the process's own, back after
            started = with_inputs(node["io"], task.data)
            task.data.clear()
            task.data.update(started)
        data = dict(task.data)
        groups = [str(r) for r in _resolve_list(node.get("candidate_groups", []), data)]
        if not groups and not node.get("candidate_users") and not node.get("assignee"):
            groups = ["admin"]  # a task the diagram gives to nobody falls to the unit's administrators
        scoped = [user_id for g in groups if ":" in g for user_id in self._department_members(instance.unit_id, g)]
        named = [(str(u), self._member(u)) for u in _resolve_list(node.get("candidate_users", []), data)]
        assignee = _resolve_list([node["assignee"]], data) if node.get("assignee") else []
        holder = self._member(assignee[0]) if assignee else None
        on_leave: dict[str, str] = {}  # a person on leave -> the substitute their new task goes to
        holder = self._substitute(holder, instance.unit_id, on_leave)
        named = [(name, self._substitute(user, instance.unit_id, on_leave)) for name, user in named]
        missing = [name for name, user in named if user is None]
        if assignee and holder is None:
            missing.append(str(assignee[0]))
        reached = [g for g in groups if ":" not in g] or scoped or any(user for _, user in named) or holder
        if not reached:
            groups.append("admin")  # the diagram's names lead nowhere in this unit: its administrators take it
        roles = [g for g in groups if ":" not in g]
        calendar = self.calendar
        values = dict(
            id=str(task.id), instance_id=instance.id, element_id=element_of(task.task_spec),
            name=node.get("name") or element_of(task.task_spec), kind="user", unit_id=instance.unit_id,
            form_id=node.get("form_definition_id"), candidate_roles=groups, state="open", created_at=recorder.now,
            due_at=due_for(node, data, recorder.now, calendar), priority=priority_for(node, data),
            follow_up_at=follow_up_for(node, data, recorder.now, calendar), assignee_id=holder.id if holder else None,
        )  # fmt: skip
        # written at once by the table's INSERT (the ORM's flush of the new row cost several times as much); the
        # row handed back is not the session's: what reads the task later in the command reads it from the table
        insert_row(self.session, TaskRow, values)
        row = TaskRow(**values)
        for role in roles:
            insert_row(self.session, TaskCandidate, {"task_id": row.id, "role": role})
        for user_id in [*scoped, *(user.id for _, user in named if user is not None)]:
            insert_row(self.session, TaskCandidate, {"task_id": row.id, "user_id": user_id})
        recorder.add("task_created", element=(row.element_id, row.name), task_id=row.id,
                     data={"candidate_roles": roles, "assignee": assignee[0] if assignee else None,
                           "due_at": row.due_at.isoformat() if row.due_at else None, "priority": row.priority,
                           "follow_up_at": row.follow_up_at.isoformat() if row.follow_up_at else None,
                           **({"on_behalf_of": on_leave} if on_leave else {})})  # fmt: skip
        if on_leave:
            self._tell_substitutes(row, on_leave)
        if missing or not reached:
            self._report_unreached(row, missing, fell_to_admins=not reached)
        return row

    def _report_unreached(self, row: TaskRow, missing: list[str], *, fell_to_admins: bool) -> None:
        """Names in the diagram that are nobody in this unit, or a task that reaches nobody: say so in the
        history and to the unit's administrators."""
        instance, recorder = self.step.instance, self.step.recorder
        names = ", ".join(missing)
        error = f"No one in this unit has the user name(s): {names}." if missing \
            else "The task names no one in this unit: no assignee, candidate or department member."  # fmt: skip
        recorder.add("incident", element=(row.element_id, row.name), task_id=row.id,
                     data={"error": error, "not_found": missing, "fell_to_admins": fell_to_admins})  # fmt: skip
        admins = users_with_role(self.session, instance.unit_id, "admin")
        title = Phrase("No one in the unit has the user name(s) the task names: %(names)s", names=names[:200]) \
            if missing else Phrase("A task reaches no one: %(task)s", task=row.name)  # fmt: skip
        body = Phrase("%(task)s (%(process)s); the task went to the unit's administrators", task=row.name,
                      process=instance.definition.name) if fell_to_admins \
            else Phrase("%(task)s (%(process)s)", task=row.name, process=instance.definition.name)  # fmt: skip
        notify(self.session, admins, unit_id=instance.unit_id, instance_id=instance.id, kind="assignee_not_found",
               title=title, body=body, link=f"/tasks/{row.id}", now=recorder.now)  # fmt: skip
