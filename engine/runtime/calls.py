"""Call activities: the called process runs as an instance of its own, as in both Camunda engines.

When a process reaches a call activity, eISO starts the called process (the active version of its
key, or the version the binding names) in the same unit and the same command, linked to the calling
task: the caller is saved waiting, then the command's queue starts the called instance
(``StartCalled``). The caller's task waits. When the called instance completes (``ResumeCaller``),
its variables come back (Camunda 8: all of them unless ``propagateAllChildVariables`` is false or output mappings narrow
them; Camunda 7: what ``camunda:out`` names) and the caller goes on. An error the called process does
not catch ends it and is thrown at the call activity (its error boundary events catch it); an
escalation is passed up without ending it. When the call activity is cancelled (an interrupting
boundary event, an event subprocess), the called instance is cancelled with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
)
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.errors import EngineError, EngineStateError
from engine.org.models import User
from engine.runtime.command import Command, Recorder, Step
from engine.runtime.events import deliver, error_event, escalation_event, run_task
from engine.runtime.iomapping import outputs_onto, with_inputs
from engine.runtime.models import ProcessDefinition, ProcessInstance
from engine.runtime.parsing import CallTask
from engine.runtime.script_engine import evaluate_expression
from engine.runtime.tasks import active_tasks, element_of, find_task

MAX_CALL_DEPTH = 10  # a process that calls itself, or a ring of processes calling each other
CONTEXT_KEYS = ("unit", "departments", "initiator")  # given to every instance by eISO, never passed on


def _is_expression(text: str) -> bool:
    return text.startswith("=") or "${" in text or "#{" in text


def waiting_calls(workflow: BpmnWorkflow) -> list[Task]:
    return [t for t in active_tasks(workflow) if isinstance(t.task_spec, CallTask) and t.state == TaskState.READY]


def called_definition(session: Session, instance: ProcessInstance, call: Mapping[str, Any],
                      data: Mapping[str, Any]) -> ProcessDefinition:  # fmt: skip
    """The version the call activity starts: the one the caller's unit runs (default), the same deployment's,
    a version number or a version tag; only the unit's own versions or the shared library's."""
    key = str(call.get("element") or "")
    if _is_expression(key):
        key = str(evaluate_expression(key, data) or "")
    if not key:
        raise EngineError("The call activity names no process to call.")
    binding = call.get("binding") or "latest"
    mine = or_(ProcessDefinition.unit_id == instance.unit_id, ProcessDefinition.unit_id.is_(None))
    stmt = select(ProcessDefinition).where(ProcessDefinition.key == key, ProcessDefinition.executable.is_(True), mine)
    if binding == "deployment":
        stmt = stmt.where(ProcessDefinition.deployment_id == instance.definition.deployment_id)
    elif binding == "version":
        version = str(call.get("version") or "")
        version = str(evaluate_expression(version, data)) if _is_expression(version) else version
        stmt = stmt.where(ProcessDefinition.version == (int(version) if version.isdigit() else -1))
    elif binding == "versionTag":
        stmt = stmt.where(ProcessDefinition.version_tag == call.get("version_tag"))
    else:
        stmt = stmt.where(ProcessDefinition.status == "active")
    order = (ProcessDefinition.unit_id.is_(None), ProcessDefinition.version.desc())  # the unit's own line first
    definition = session.scalar(stmt.order_by(*order).limit(1))
    if definition is None:
        raise EngineError(
            "The called process '%(key)s' (%(binding)s) is not deployed for this unit; deploy it, then try again.",
            key=key, binding=binding,
        )  # fmt: skip
    return definition


def call_inputs(node: Mapping[str, Any], data: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The variables the called instance starts with, and its business key."""
    call = node["call"]
    own = {k: v for k, v in data.items() if k not in CONTEXT_KEYS}
    if call["dialect"] == "camunda8":
        local = with_inputs(node.get("io"), {}) if node.get("io") else {}
        inputs = {t: v for t, v in with_inputs(node.get("io"), own).items() if t in local}
        return ({**own, **inputs} if call["propagate_parent"] else inputs), None
    variables: dict[str, Any] = {}
    business_key = None
    for mapping in call["in"]:
        if mapping["all"]:
            variables.update(own)
        elif mapping["business_key"]:
            value = mapping["business_key"]
            business_key = str(evaluate_expression(value, own)) if _is_expression(value) else value
        elif mapping["target"]:
            variables[mapping["target"]] = _source(mapping, own)
    return variables, business_key


def _source(mapping: Mapping[str, Any], data: Mapping[str, Any]) -> Any:
    if mapping.get("source_expression"):
        return evaluate_expression(mapping["source_expression"], data)
    return data.get(mapping.get("source") or "")


def call_outputs(node: Mapping[str, Any], data: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    """The caller's data when the called instance has completed."""
    call = node["call"]
    child = {k: v for k, v in child.items() if k not in CONTEXT_KEYS}
    if call["dialect"] == "camunda8":
        io = node.get("io") or {}
        if io.get("outputs"):  # the call's inputs never entered the caller's data: it stays as it was
            return outputs_onto(io, data, {**data, **child})
        return {**data, **child} if call["propagate_child"] else dict(data)
    result = dict(data)
    for mapping in call["out"]:
        if mapping["all"]:
            result.update(child)
        elif mapping["target"]:
            result[mapping["target"]] = _source(mapping, child)
    return result


def _final_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    last = workflow.last_task
    return dict(last.data) if last is not None else {}


def _node(instance: ProcessInstance, element_id: str) -> dict[str, Any]:
    return dict(instance.definition.elements["nodes"].get(element_id, {}))


def start_calls(command: Command, step: Step) -> None:
    """Queue the start of the called instance of each call activity that has just been reached."""
    instance = step.instance
    for task in waiting_calls(step.workflow):
        if task.internal_data.get("called_instance"):
            continue
        depth = command.call_depth + 1
        if depth > MAX_CALL_DEPTH:
            raise EngineStateError(
                "Processes call each other more than %(limit)s levels deep; nothing was changed. Check the call "
                "activities of '%(name)s'.", limit=MAX_CALL_DEPTH, name=instance.definition.name,
            )  # fmt: skip
        element_id = element_of(task.task_spec)
        node = _node(instance, element_id)
        definition = called_definition(command.session, instance, node["call"], task.data)
        variables, business_key = call_inputs(node, task.data)
        task.internal_data["called_instance"] = True  # started by the queued StartCalled
        command.later(StartCalled(instance.id, str(task.id), element_id, node.get("name", ""), definition.id,
                                  variables, business_key or instance.business_key, depth, step.recorder.actor))


@dataclass
class StartCalled:
    """Start the process a call activity calls, once the caller has been saved waiting for it."""

    caller_id: int
    task_id: str
    element_id: str
    element_name: str
    definition_id: int
    variables: dict[str, Any]
    business_key: str | None
    depth: int
    actor: User | None

    def run(self, command: Command) -> None:
        caller = command.lock(self.caller_id)
        workflow = command.peek(self.caller_id)
        if workflow is None:  # not the object this command saved last: read it, and leave it as it was
            workflow = command.load(caller)
            command.saved(caller, workflow)
        task = find_task(workflow, self.task_id)
        if task is None or task.state != TaskState.READY:
            return  # the call activity was cancelled in the same command
        definition = command.session.get(ProcessDefinition, self.definition_id)
        assert definition is not None
        command.call_depth = self.depth  # what the called process calls in turn is one level deeper
        try:
            child = command.start(definition, caller.unit, self.actor, business_key=self.business_key,
                                  variables=self.variables,
                                  cause={"called_by": caller.id, "call_element": self.element_id},
                                  parent=(caller.id, self.task_id))  # fmt: skip
        finally:
            command.call_depth = 0
        data = {"instance": child.id, "process": definition.key, "version": definition.version}
        command.record(caller.id, "call_started", element=(self.element_id, self.element_name), data=data)


def child_outcomes(child: ProcessInstance, workflow: BpmnWorkflow, recorder: Recorder) -> list[tuple[str, Any]]:
    """What a called instance has to tell its caller: it completed, or raised an error (which ends it) or
    an escalation that nobody inside it caught. Call before its state is saved."""
    outcomes: list[tuple[str, Any]] = []
    for event in workflow.get_events():
        definition = event.event_definition
        if isinstance(definition, ErrorEventDefinition):
            outcomes.append(("error", (definition.code, dict(event.payload or {}))))
        elif isinstance(definition, EscalationEventDefinition):
            outcomes.append(("escalation", (definition.code, dict(event.payload or {}))))
    if child.parent_instance_id is None:
        for kind, (code, _) in outcomes:
            recorder.add(f"{kind}_uncaught", data={"code": code})
        return []
    if any(kind == "error" for kind, _ in outcomes):
        outcomes = [o for o in outcomes if o[0] == "error"][:1]
        workflow.cancel()
        child.status, child.completed_at = "cancelled", recorder.now
        recorder.add("instance_cancelled", data={"reason": "error", "code": outcomes[0][1][0]})
    elif workflow.is_completed() and child.status == "running":
        outcomes.append(("completed", _final_data(workflow)))
    return outcomes


def notify_caller(command: Command, child: ProcessInstance, outcomes: list[tuple[str, Any]],
                  actor: User | None) -> None:  # fmt: skip
    """Queue the outcomes of a called instance for its caller."""
    if not outcomes or child.parent_instance_id is None or child.parent_task_id is None:
        return
    command.later(ResumeCaller(child.parent_instance_id, child.parent_task_id, child.id, outcomes, actor))


@dataclass
class ResumeCaller:
    """Move on the call activity whose called instance completed, or throw its error or escalation there."""

    caller_id: int
    task_id: str
    child_id: int
    outcomes: list[tuple[str, Any]]
    actor: User | None

    def run(self, command: Command) -> None:
        step = command.open(self.caller_id, actor=self.actor)
        instance, recorder = step.instance, step.recorder
        task = find_task(step.workflow, self.task_id)
        if task is None or task.state != TaskState.READY:
            command.saved(instance, step.workflow)
            return  # the call activity was cancelled meanwhile
        element_id = element_of(task.task_spec)
        element = (element_id, _node(instance, element_id).get("name", ""))
        for kind, payload in self.outcomes:
            if kind == "completed":
                flowing = call_outputs(_node(instance, element_id), task.data, payload)
                task.data.clear()
                task.data.update(flowing)
                run_task(task)
                recorder.add("call_completed", element=element, data={"instance": self.child_id})
                continue
            code, data = payload
            event = (error_event if kind == "error" else escalation_event)(code, {**task.data, **data})
            caught = deliver(task, event)
            recorder.add(f"call_{kind}", element=element,
                         data={"instance": self.child_id, "code": code, "caught": bool(caught)})  # fmt: skip
            if caught is None and kind == "error":
                error = f"The called process ended with the error {code!r}, which no event catches."
                recorder.add("incident", element=element, data={"error": error})
        command.proceed(step)


def cancel_orphans(command: Command, step: Step) -> None:
    """Cancel called instances whose call activity is no longer waiting (interrupted, or the caller ended)."""
    instance = step.instance
    if not any(n["type"] == "callActivity" for n in instance.definition.elements["nodes"].values()):
        return  # no query for the many processes that call nothing
    waiting = {str(t.id) for t in waiting_calls(step.workflow)}
    stmt = select(ProcessInstance.id, ProcessInstance.parent_task_id).where(
        ProcessInstance.parent_instance_id == instance.id, ProcessInstance.status == "running"
    )
    for child_id, task_id in list(command.session.execute(stmt)):
        if task_id not in waiting:
            command.later(CancelCalled(child_id, instance.id, step.recorder.actor))


@dataclass
class CancelCalled:
    """Cancel a called instance whose call activity stopped waiting for it."""

    child_id: int
    caller_id: int
    actor: User | None

    def run(self, command: Command) -> None:
        step = command.open(self.child_id, actor=self.actor)
        if step.instance.status != "running":
            command.saved(step.instance, step.workflow)
            return
        step.workflow.cancel()
        step.instance.status, step.instance.completed_at = "cancelled", command.now
        step.recorder.add("instance_cancelled", data={"reason": "call_cancelled", "caller": self.caller_id})
        command.finish(step)
