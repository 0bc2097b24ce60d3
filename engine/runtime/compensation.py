"""Compensation as both Camunda engines run it: a compensation throw or end event undoes the completed
activities of its process or subprocess that have a compensation handler, and the flow goes on once every
handler has completed. Camunda 7 runs the handlers one after the other, the last completed activity's
first; Camunda 8 starts them all at once (``camunda8``). A multi-instance activity is undone per completed
instance in Camunda 7, once as a whole in Camunda 8.

The throw event (``CompensationThrow``) waits started; ``compensate`` (called after every engine step)
starts handlers as tasks of their own beside the activity each undoes, with the process data as it is
now, and takes each handler's data back when it has completed. Each completion of an activity is undone
once (an activity completed in three rounds of a loop gets its handler three times; a second throw does
not undo it again). ``activityRef`` narrows the throw to one activity.

A completed embedded subprocess in the throw's scope is undone by its own handler if it has one (a
compensation boundary event, or in Camunda 7 a compensation event subprocess, which runs as the handler and
whose own throw undoes that subprocess's completed activities); otherwise the throw goes into it and undoes
its completed activities. SpiffWorkflow does not run a completed subprocess again, so their handlers run in
the throw's scope, beside the completed subprocess (the parser gives the throw's scope their specs).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.runtime.parsing import CompensationThrow
from engine.runtime.tasks import active_tasks, element_of, find_task

QUEUE = "compensation_queue"  # internal data of the throw task: the activity tasks still to undo
RUNNING = "compensation_running"  # the handler task now running
DONE = "compensated"  # internal data of an activity task that has been undone
COMPENSATES = "compensates"  # internal data of a handler task: the activity task it undoes


def _to_undo(throw: Task, nodes: Mapping[str, Mapping[str, Any]], camunda8: bool) -> list[str]:
    """The completed activities of the throw's scope that have a handler, the last completed first; a
    completed embedded subprocess without a handler of its own stands for what it holds, undone the same way
    (its last completed activity first), as both Camunda engines go into it."""
    entry = nodes.get(element_of(throw.task_spec), {})
    only = entry.get("compensate_activity")
    if entry.get("in_compensation_subprocess"):  # Camunda 7: it undoes what was done in the subprocess it handles
        holder = throw.workflow.top_workflow.get_task_from_id(throw.workflow.parent_task_id)
        target = holder.internal_data.get(COMPENSATES) if holder is not None else None
        subprocess = throw.workflow.top_workflow.subprocesses.get(uuid.UUID(target)) if target else None
        return _completed_in(subprocess, nodes, camunda8, only) if subprocess is not None else []
    return _completed_in(throw.workflow, nodes, camunda8, only)


def _completed_in(scope: Any, nodes: Mapping[str, Mapping[str, Any]], camunda8: bool,
                  only: str | None = None) -> list[str]:  # fmt: skip
    top = scope.top_workflow
    done = []
    for t in scope.tasks.values():
        entry = nodes.get(element_of(t.task_spec), {})
        if t.state != TaskState.COMPLETED or t.internal_data.get(DONE) or (only and element_of(t.task_spec) != only):
            continue
        whole = isinstance(t.task_spec, LoopTask)
        instance = t.parent is not None and isinstance(t.parent.task_spec, LoopTask)
        if entry.get("compensation_handler") and ((whole and not camunda8) or (instance and camunda8)):
            continue  # a multi-instance activity: each instance in Camunda 7, the activity once in Camunda 8
        if entry.get("compensation_handler"):
            done.append((t, [str(t.id)]))
        elif entry.get("type") == "subProcess" and not entry.get("multi_instance") and t.id in top.subprocesses:
            inner = _completed_in(top.subprocesses[t.id], nodes, camunda8)
            if inner:
                done.append((t, inner))
    done.sort(key=lambda pair: pair[0].last_state_change, reverse=True)
    return [task_id for _, ids in done for task_id in ids]


def compensate(workflow: BpmnWorkflow, nodes: Mapping[str, Mapping[str, Any]],
               record: Callable[[str, str, dict[str, Any]], None], *, camunda8: bool = False) -> bool:  # fmt: skip
    """Move every compensation under way one step on; True when something changed (run the engine again).
    ``record(kind, element, data)`` writes the history."""
    moved = False
    for throw in active_tasks(workflow):
        if throw.state != TaskState.STARTED or not isinstance(throw.task_spec, CompensationThrow):
            continue
        memory = throw.internal_data
        if QUEUE not in memory:
            memory[QUEUE], memory[RUNNING] = _to_undo(throw, nodes, camunda8), []
            undone = [element_of(_task(throw, t).task_spec) for t in memory[QUEUE]]
            record("compensation_thrown", element_of(throw.task_spec), {"activities": undone})
        running = [throw.workflow.tasks.get(uuid.UUID(t)) for t in memory[RUNNING]]
        if any(t is not None and not t.has_state(TaskState.FINISHED_MASK) for t in running):
            continue
        for handler in running:
            if handler is not None:
                throw.data.update(handler.data)  # what the handler wrote is process data from now on
        memory[RUNNING] = []
        if memory[QUEUE]:
            for _ in range(len(memory[QUEUE]) if camunda8 else 1):
                memory[RUNNING].append(_start_handler(throw, memory[QUEUE].pop(0), nodes, record))
        else:
            memory.pop(QUEUE)
            memory.pop(RUNNING)
            throw.complete()
        moved = True
    return moved


def _task(throw: Task, task_id: str) -> Task:
    task = find_task(throw.workflow.top_workflow, task_id)
    assert task is not None
    return task


def _start_handler(throw: Task, activity_id: str, nodes: Mapping[str, Mapping[str, Any]],
                   record: Callable[[str, str, dict[str, Any]], None]) -> str:  # fmt: skip
    """Start the handler of one completed activity beside it (beside the completed subprocess that holds
    it, in the throw's scope, when the activity is inside one), with the process data as it is now."""
    top = throw.workflow.top_workflow
    activity = _task(throw, activity_id)
    anchor: Task | None = activity
    while anchor is not None and anchor.workflow is not throw.workflow:  # the completed subprocess holding it
        anchor = top.get_task_from_id(anchor.workflow.parent_task_id) if anchor.workflow.parent_task_id else None
    if anchor is None:
        anchor = throw  # a compensation event subprocess undoing its subprocess: beside the throw
    handler_id = nodes[element_of(activity.task_spec)]["compensation_handler"]
    handler = anchor._add_child(throw.workflow.spec.task_specs[handler_id], TaskState.FUTURE)
    handler.task_spec._update(handler)
    handler.data = dict(throw.data)
    element = (nodes[element_of(activity.task_spec)].get("multi_instance") or {}).get("element")
    if element and element in activity.data and activity.parent is not None \
            and isinstance(activity.parent.task_spec, LoopTask):  # one instance (Camunda 7): its own item
        handler.data[element] = activity.data[element]
    handler.internal_data[COMPENSATES] = activity_id
    inner = top.subprocesses.get(handler.id)  # a subprocess as handler (a compensation event subprocess) started
    for task in inner.tasks.values() if inner is not None else ():
        task.data.update(throw.data)  # with the process data as it is now
    activity.internal_data[DONE] = True
    record("compensation_started", handler_id, {"undoes": element_of(activity.task_spec)})
    return str(handler.id)
