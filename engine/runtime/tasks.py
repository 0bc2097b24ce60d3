"""Looking at a SpiffWorkflow workflow: its active tasks, a task by id, the element a task stands for,
and the guard against workflows too deep for SpiffWorkflow to follow."""

from __future__ import annotations

import uuid
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.defaults import StartEvent
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.errors import EngineStateError

# SpiffWorkflow's task iterator stops at depth 1000: a rework loop that grows the task tree past it
# makes the workflow look finished while a task is still due. Refuse well before that depth.
MAX_SAFE_DEPTH = 900
ACTIVE_STATES = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def element_of(spec: Any) -> str:
    """The diagram element a task spec comes from (multi-instance children are renamed specs)."""
    return str(getattr(spec, "bpmn_id", None) or spec.name)


def active_tasks(workflow: BpmnWorkflow) -> list[Task]:
    """Active tasks of the process and of its (embedded or called) subprocesses.

    The ``tasks`` dicts are read directly: unlike ``get_tasks()`` they have no depth limit.
    """
    workflows = [workflow, *workflow.subprocesses.values()]
    return [t for wf in workflows for t in wf.tasks.values() if t.has_state(ACTIVE_STATES)]


def find_task(workflow: BpmnWorkflow, task_id: str) -> Task | None:
    """A task of the process or of any of its subprocesses, or None."""
    key = uuid.UUID(task_id)
    for wf in (workflow, *workflow.subprocesses.values()):
        if key in wf.tasks:
            return wf.tasks[key]
    return None


def is_process_start(task: Task) -> bool:
    """A start event of the process itself (not of an event subprocess): handled before the instance exists."""
    return isinstance(task.task_spec, StartEvent) and task.workflow.parent_task_id is None


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
