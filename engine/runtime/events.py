"""BPMN events beyond timers and messages: errors, escalations, conditions and event subprocesses.

SpiffWorkflow catches errors and escalations thrown by end and intermediate events itself. What it
leaves to us, through its public task API only:

- an error reported by a worker for a job (Camunda 7 ``handleBpmnError``, Camunda 8 "throw error")
  or coming back from a called process goes to the innermost catcher: first the boundary events
  attached to the task, then for each enclosing subprocess its own error event subprocess and the
  boundary events on it, then an event subprocess of the process (``deliver``);
- an error or escalation thrown by an end or intermediate event inside a subprocess starts that
  subprocess's own event subprocess when nothing in it waits for it (``catch_in_scopes``);
- an *interrupting* event subprocess cancels everything else in its scope once its start event
  has fired (stock SpiffWorkflow lets the interrupted flow carry on: ``interrupt_scopes``);
- conditional catch events are evaluated again after every step (``refresh_conditions``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, StartEvent
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    CodeEventDefinition,
    ErrorEventDefinition,
    EscalationEventDefinition,
)
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.errors import EngineError, ExpressionError
from engine.runtime.script_engine import evaluate_expression
from engine.runtime.tasks import active_tasks


def error_event(code: str, payload: dict[str, Any]) -> BpmnEvent:
    return BpmnEvent(ErrorEventDefinition(code, code=code), payload=payload)


def escalation_event(code: str, payload: dict[str, Any]) -> BpmnEvent:
    return BpmnEvent(EscalationEventDefinition(code, code=code), payload=payload)


def _attached(task: Task) -> list[Task]:
    """The boundary events waiting on ``task`` (the children of its boundary split, but itself)."""
    parent = task.parent
    if parent is None or not isinstance(parent.task_spec, BoundaryEventSplit):
        return []
    return [c for c in parent.children
            if c is not task and isinstance(c.task_spec, BoundaryEvent) and c.state == TaskState.WAITING]  # fmt: skip


def _specific_first(catchers: Iterable[Task]) -> list[Task]:
    """A boundary event naming the code wins over a catch-all one (BPMN's rule)."""
    return sorted(catchers, key=lambda t: getattr(t.task_spec.event_definition, "code", None) is None)


def deliver(task: Task, event: BpmnEvent) -> Task | None:
    """Deliver an error or escalation raised at ``task``; return the event task that caught it, or None.

    Scopes are searched from the inside out: boundary events on the task, on each enclosing
    subprocess, then the event subprocesses of the process.
    """
    current: Task | None = task
    while current is not None:
        catchers = _specific_first(b for b in _attached(current) if b.task_spec.catches(b, event))
        if catchers:
            _catch(catchers[0], event)
            return catchers[0]
        workflow = current.workflow
        if workflow.parent_task_id is None:
            break
        if not _inside_event_subprocess(task.workflow, workflow):
            started = start_scoped_event_subprocess(workflow, event)
            if started is not None:
                return started
        current = workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
    return start_event_subprocess(task.workflow.top_workflow, event)


def _is_event_subprocess(flow: BpmnWorkflow) -> bool:
    parent = flow.parent_workflow
    holder = flow.top_workflow.get_task_from_id(flow.parent_task_id) if parent is not None else None
    return holder is not None and holder.task_spec.name in getattr(parent.spec.start, "trigger_specs", [])


def _inside_event_subprocess(thrown_in: BpmnWorkflow, scope: BpmnWorkflow) -> bool:
    """``scope`` holds the event subprocess the event was thrown in (directly or further in): its own event
    subprocesses do not catch what one of them throws; the event goes on to the boundary events on
    ``scope`` and further out, as in Camunda."""
    flow: BpmnWorkflow | None = thrown_in
    while flow is not None and flow is not scope:
        if flow.parent_workflow is scope and _is_event_subprocess(flow):
            return True
        flow = flow.parent_workflow
    return False


def catch_in_scopes(top: BpmnWorkflow, event: BpmnEvent) -> None:
    """``BpmnWorkflow.catch`` for eISO's instances: an error or escalation thrown inside an embedded
    subprocess goes to the innermost scope that catches it, as in Camunda 7 and 8: the events waiting in
    that scope (boundary events, as SpiffWorkflow searches them), then the scope's own error or escalation
    event subprocess, then the next scope out. SpiffWorkflow alone skips the event subprocesses of a
    subprocess; everything else is left to it."""
    scope = event.target
    if isinstance(event.event_definition, CodeEventDefinition) and scope is not None:
        manager = top.event_manager
        thrown_in = scope
        while scope is not None and scope is not top:
            if any(t.workflow is scope and t.task_spec.event_definition.catches(t, event)
                   for t in list(manager.tasks.values())):  # fmt: skip
                break
            if not _inside_event_subprocess(thrown_in, scope) and start_scoped_event_subprocess(scope, event):
                return
            scope = scope.parent_workflow
        event.target = scope
    top.event_manager.catch(event)


def start_event_subprocess(top: BpmnWorkflow, event: BpmnEvent) -> Task | None:
    """Start the process-level event subprocess whose start event catches ``event``, if there is one.

    Only event subprocesses are considered: other events waiting for the same definition elsewhere
    in the instance are not touched (they have subscriptions of their own)."""
    manager = top.event_manager
    manager.update_collaboration(event)
    starters = _specific_first(
        t for t in list(manager.tasks.values())
        if isinstance(t.task_spec, StartEvent) and t.workflow.parent_task_id is not None
        and t.workflow.parent_workflow is top and t.state == TaskState.WAITING and t.task_spec.catches(t, event)
    )  # fmt: skip
    if starters:
        _catch(starters[0], event)
        return starters[0]
    return None


def running_scopes(top: BpmnWorkflow) -> list[tuple[Task, BpmnWorkflow]]:
    """The embedded subprocesses still running in the instance: (the subprocess's task, its flow)."""
    found = []
    for scope in top.subprocesses.values():
        holder = top.get_task_from_id(scope.parent_task_id)
        if holder is not None and holder.state == TaskState.STARTED and not scope.is_completed():
            found.append((holder, scope))
    return found


def start_scoped_event_subprocess(scope: BpmnWorkflow, event: BpmnEvent) -> Task | None:
    """Start the event subprocess of a running embedded subprocess (``scope``) whose start event catches
    ``event``, if it has one.

    SpiffWorkflow keeps the message and signal event subprocesses of every scope aside, to be started
    by an event, but starts only those of the process itself; those of a subprocess are started here,
    the same way, for this one scope (another running copy of the subprocess is not touched)."""
    top = scope.top_workflow
    start = scope.spec.start
    for name in getattr(start, "trigger_specs", []):
        sp_spec = top.subprocess_specs.get(name)
        starts = sp_spec.bpmn_start_events if sp_spec is not None else []
        if any(ts.event_definition == event.event_definition for ts in starts) and not _scope_starters(scope, event):
            holder = scope.get_task_from_id(start.trigger_wf(scope.task_tree, name))
            # what follows it, the end of the scope, so that the subprocess can end once it is done
            holder._sync_children(holder.task_spec.outputs, TaskState.FUTURE)
            for child in holder.children:
                child.task_spec._predict(child, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)
    starters = _specific_first(_scope_starters(scope, event))
    if starters:
        _catch(starters[0], event)
        return starters[0]
    return None


def _scope_starters(scope: BpmnWorkflow, event: BpmnEvent) -> list[Task]:
    return [t for t in list(scope.top_workflow.event_manager.tasks.values())
            if isinstance(t.task_spec, StartEvent) and t.workflow.parent_workflow is scope
            and t.state == TaskState.WAITING and t.task_spec.catches(t, event)]  # fmt: skip


def _catch(catcher: Task, event: BpmnEvent) -> None:
    catcher.task_spec.catch(catcher, event)
    catcher.task_spec._update(catcher)


def is_code_event(spec: Any) -> bool:
    return isinstance(getattr(spec, "event_definition", None), CodeEventDefinition)


def event_subprocess_started(task: Task) -> Task | None:
    """When ``task`` is a start event inside a subprocess, the task of that subprocess, else None
    (the element index tells whether that subprocess is an event subprocess)."""
    if not isinstance(task.task_spec, StartEvent) or task.workflow.parent_task_id is None:
        return None
    holder: Task | None = task.workflow.top_workflow.get_task_from_id(task.workflow.parent_task_id)
    return holder


def idle_event_subprocesses(scope: BpmnWorkflow, is_event_subprocess: Any) -> list[Task]:
    """Event subprocesses still waiting for their start event in a scope whose own flow has ended.

    A waiting timer start event keeps a SpiffWorkflow scope open for ever; in BPMN the scope is
    complete when its flow is, and its event subprocesses simply stop listening."""
    top = scope.top_workflow
    active = TaskState.READY | TaskState.WAITING | TaskState.STARTED
    waiting, busy = [], False
    for task in scope.tasks.values():
        if not task.has_state(active) or task.task_spec.bpmn_id is None:
            continue
        inner = top.subprocesses.get(task.id) if is_event_subprocess(task) else None
        if inner is not None and all(
            isinstance(t.task_spec, StartEvent) and t.state == TaskState.WAITING
            for t in inner.tasks.values()
            if t.has_state(active) and t.task_spec.bpmn_id
        ):
            waiting.append(task)
        else:
            busy = True
    return [] if busy else waiting


def interrupt_scope(holder: Task) -> list[Task]:
    """Cancel everything still running in the scope of an interrupting event subprocess but the
    subprocess itself (and the tasks it hangs from). Returns the steps that were running (not those only
    predicted further on)."""
    keep = set()
    node: Task | None = holder
    while node is not None:
        keep.add(node.id)
        node = node.parent
    keep.update(t.id for t in holder)  # and what follows it: the end of its scope
    cancelled = []
    running = TaskState.READY | TaskState.WAITING | TaskState.STARTED
    for other in list(holder.workflow.tasks.values()):
        if other.id not in keep and not other.has_state(TaskState.FINISHED_MASK):
            if other.has_state(running):
                cancelled.append(other)
            other.cancel()
    return cancelled


class EisoConditional(ConditionalEventDefinition):
    """A conditional event evaluated on the process's latest data, with an undefined variable meaning
    "not yet" (the condition is asked again after every step).

    SpiffWorkflow keeps data per path: the condition of an event waiting on one path would never see a
    value set on a parallel path, whereas Camunda's variables belong to the whole process."""

    def has_fired(self, my_task: Task) -> bool:
        latest = my_task.workflow.top_workflow.last_task
        pending = _pending.get() or {}
        context = {**my_task.data, **(latest.data if latest is not None else {}), **pending}  # the latest wins
        try:
            fired = bool(evaluate_expression(self.expression.strip(), context))
        except ExpressionError:
            fired = False
        if fired and not my_task._get_internal_data("has_fired", False):
            my_task.data.update(pending)  # the values that made it true go on with the new path
        my_task._set_internal_data(has_fired=fired)
        return fired


_pending: ContextVar[Mapping[str, Any] | None] = ContextVar("eiso_pending_data", default=None)


def conditions_interrupt(task: Task, data: Mapping[str, Any]) -> bool:
    """Data about to be set by ``task``: evaluate the waiting conditional events with it first, as
    Camunda does when a variable changes. True when an interrupting one fired, so that the task must
    not run on (the boundary event cancels it)."""
    token = _pending.set(data)
    try:
        waiting = [
            t for t in active_tasks(task.workflow.top_workflow)
            if isinstance(getattr(t.task_spec, "event_definition", None), ConditionalEventDefinition)
        ]  # fmt: skip
        refresh_conditions(waiting)
    finally:
        _pending.reset(token)
    fired = [t for t in waiting if t.state == TaskState.READY and getattr(t.task_spec, "cancel_activity", False)]
    return any(_interrupts(boundary, task) for boundary in fired)


def _interrupts(boundary: Task, task: Task) -> bool:
    """The boundary event sits on ``task`` or on a subprocess that holds it."""
    current: Task | None = task
    while current is not None:
        if boundary in _attached(current) or (current.parent is not None and boundary in current.parent.children):
            return True
        workflow = current.workflow
        current = workflow.top_workflow.get_task_from_id(workflow.parent_task_id) if workflow.parent_task_id else None
    return False


def refresh_conditions(tasks: Iterable[Task]) -> bool:
    """Evaluate waiting conditional events again; True when one of them fired."""
    fired = False
    for task in tasks:
        definition = getattr(task.task_spec, "event_definition", None)
        if task.state == TaskState.WAITING and isinstance(definition, ConditionalEventDefinition):
            task.task_spec._update(task)
            fired = fired or task.state != TaskState.WAITING
    return fired


def run_task(task: Task) -> None:
    """Complete a ready task with the data it holds; a conditional event it makes true may interrupt it."""
    if conditions_interrupt(task, task.data):
        return  # an interrupting conditional event takes over; the task is cancelled with its scope
    try:
        task.run()
    except SpiffWorkflowException as exc:
        step = task.task_spec.bpmn_name or task.task_spec.name
        raise EngineError("The step '%(step)s' failed: %(reason)s", step=step, reason=str(exc))
