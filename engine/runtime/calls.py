"""Call activities: the called process runs as an instance of its own, as in both Camunda engines.

When a process reaches a call activity, eISO starts the called process (the active version of its
key, or the version the binding names) in the same unit and the same transaction, linked to the
calling task. The caller's task waits. When the called instance completes, its variables come back
(Camunda 8: all of them unless ``propagateAllChildVariables`` is false or output mappings narrow
them; Camunda 7: what ``camunda:out`` names) and the caller goes on. An error the called process does
not catch ends it and is thrown at the call activity (its error boundary events catch it); an
escalation is passed up without ending it. When the call activity is cancelled (an interrupting
boundary event, an event subprocess), the called instance is cancelled with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
)
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.errors import EngineError, EngineStateError
from engine.runtime.events import deliver, error_event, escalation_event, find_task
from engine.runtime.iomapping import on_completion, with_inputs
from engine.runtime.models import ProcessDefinition, ProcessInstance
from engine.runtime.parsing import CallTask
from engine.runtime.script_engine import evaluate_expression

if TYPE_CHECKING:
    from engine.runtime.engine import Engine, _Recorder

MAX_CALL_DEPTH = 10  # a process that calls itself, or a ring of processes calling each other
CONTEXT_KEYS = ("unit", "departments", "initiator")  # given to every instance by eISO, never passed on


def _is_expression(text: str) -> bool:
    return text.startswith("=") or "${" in text or "#{" in text


def waiting_calls(workflow: BpmnWorkflow) -> list[Task]:
    from engine.runtime.engine import active_tasks

    return [t for t in active_tasks(workflow) if isinstance(t.task_spec, CallTask) and t.state == TaskState.READY]


def called_definition(engine: Engine, instance: ProcessInstance, call: Mapping[str, Any],
                      data: Mapping[str, Any]) -> ProcessDefinition:  # fmt: skip
    """The version the call activity starts: latest active (default), same deployment, version or tag."""
    key = str(call.get("element") or "")
    if _is_expression(key):
        key = str(evaluate_expression(key, data) or "")
    if not key:
        raise EngineError("The call activity names no process to call.")
    stmt = select(ProcessDefinition).where(ProcessDefinition.key == key, ProcessDefinition.executable.is_(True))
    binding = call.get("binding") or "latest"
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
    definition = engine.session.scalar(stmt.order_by(ProcessDefinition.version.desc()).limit(1))
    if definition is None or definition.unit_id not in (None, instance.unit_id):
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
        if io.get("outputs"):
            return on_completion(io, data, child)
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


def start_calls(engine: Engine, workflow: BpmnWorkflow, instance: ProcessInstance, recorder: _Recorder) -> None:
    """Start the called instance of each call activity that has just been reached."""
    for task in waiting_calls(workflow):
        if task.internal_data.get("called_instance"):
            continue
        if engine._call_depth >= MAX_CALL_DEPTH:
            raise EngineStateError(
                "Processes call each other more than %(limit)s levels deep; nothing was changed. Check the call "
                "activities of '%(name)s'.", limit=MAX_CALL_DEPTH, name=instance.definition.name,
            )  # fmt: skip
        from engine.runtime.engine import element_of

        element_id = element_of(task.task_spec)
        node = engine._node(instance, element_id)
        definition = called_definition(engine, instance, node["call"], task.data)
        variables, business_key = call_inputs(node, task.data)
        engine._call_depth += 1
        try:
            child = engine._start(definition, instance.unit, recorder.actor, recorder.now,
                                  business_key or instance.business_key, variables,
                                  cause={"called_by": instance.id, "call_element": element_id},
                                  parent=(instance.id, str(task.id)))  # fmt: skip
        finally:
            engine._call_depth -= 1
        task.internal_data["called_instance"] = child.id
        recorder.add("call_started", element=(element_id, node.get("name", "")),
                     data={"instance": child.id, "process": definition.key, "version": definition.version})  # fmt: skip


def child_outcomes(child: ProcessInstance, workflow: BpmnWorkflow, recorder: _Recorder) -> list[tuple[str, Any]]:
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


def notify_parent(engine: Engine, child: ProcessInstance, outcomes: list[tuple[str, Any]], recorder: _Recorder) -> None:
    """Hand the outcomes to the caller: queued when it is being advanced in this command, else advanced now."""
    if not outcomes or child.parent_instance_id is None or child.parent_task_id is None:
        return
    for kind, payload in outcomes:
        engine._returns.append((child.parent_instance_id, child.parent_task_id, kind, payload, child.id))
    if child.parent_instance_id not in engine._in_progress:
        from engine.runtime.engine import _Recorder

        parent = engine._lock_instance(child.parent_instance_id)
        parent_workflow = engine._load(parent)
        parent_recorder = _Recorder(parent, recorder.actor, recorder.now)
        engine._advance(parent_workflow, parent, parent_recorder)
        engine._finish(parent_workflow, parent, parent_recorder)


def apply_returns(engine: Engine, workflow: BpmnWorkflow, instance: ProcessInstance, recorder: _Recorder) -> bool:
    """Move on the call activities whose called instances finished; True when one did."""
    from engine.runtime.engine import element_of

    mine = [r for r in engine._returns if r[0] == instance.id]
    engine._returns = [r for r in engine._returns if r[0] != instance.id]
    for _, task_id, kind, payload, child_id in mine:
        task = find_task(workflow, task_id)
        if task is None or task.state != TaskState.READY:
            continue  # the call activity was cancelled meanwhile
        element_id = element_of(task.task_spec)
        element = (element_id, engine._name(instance, element_id))
        if kind == "completed":
            flowing = call_outputs(engine._node(instance, element_id), task.data, payload)
            task.data.clear()
            task.data.update(flowing)
            engine._run(task)
            recorder.add("call_completed", element=element, data={"instance": child_id})
            continue
        code, data = payload
        event = (error_event if kind == "error" else escalation_event)(code, {**task.data, **data})
        caught = deliver(task, event)
        recorder.add(f"call_{kind}", element=element, data={"instance": child_id, "code": code, "caught": bool(caught)})
        if caught is None and kind == "error":
            error = f"The called process ended with the error {code!r}, which no event catches."
            recorder.add("incident", element=element, data={"error": error})
    return bool(mine)


def cancel_orphans(engine: Engine, workflow: BpmnWorkflow, instance: ProcessInstance, recorder: _Recorder) -> None:
    """Cancel called instances whose call activity is no longer waiting (interrupted, or the caller ended)."""
    from engine.runtime.engine import _Recorder

    if not any(n["type"] == "callActivity" for n in instance.definition.elements["nodes"].values()):
        return  # no query for the many processes that call nothing
    waiting = {str(t.id) for t in waiting_calls(workflow)}
    stmt = select(ProcessInstance).where(
        ProcessInstance.parent_instance_id == instance.id, ProcessInstance.status == "running"
    )
    for child in list(engine.session.scalars(stmt)):
        if child.parent_task_id in waiting or child.id in engine._in_progress:
            continue
        locked = engine._lock_instance(child.id)
        child_workflow = engine._load(locked)
        child_workflow.cancel()
        locked.status, locked.completed_at = "cancelled", recorder.now
        child_recorder = _Recorder(locked, recorder.actor, recorder.now)
        child_recorder.add("instance_cancelled", data={"reason": "call_cancelled", "caller": instance.id})
        engine._finish(child_workflow, locked, child_recorder)
