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


# A loop adds its round's tasks below the last round's, so the task tree of a process that goes round for
# years grows ever deeper (SpiffWorkflow loses track past depth 1000) and ever larger (each step stores and
# scans all of it). Finished rounds are cut out of the tree once a chain of them is longer than this; the
# newest KEEP_ROUNDS tasks of the chain stay, for what looks a few steps back (the last task, joins).
COMPACT_AFTER = 60
KEEP_ROUNDS = 15


def compact(workflow: BpmnWorkflow) -> int:
    """Cut finished tasks that only stand between the process's start and its live work out of the task
    tree of the process and of each subprocess; returns how many tasks were removed.

    A task is cut only when it is completed and exactly one of its children leads to unfinished work; its
    other children's subtrees are all finished. Such tasks are history (eISO keeps its own history in its
    tables): nothing waits on them, no join counts them, and no unfinished task's data comes from them
    except through the live child they pass it to."""
    removed = 0
    for wf in (workflow, *list(workflow.subprocesses.values())):
        removed += _compact_tree(workflow, wf)
    return removed


def _compact_tree(top: BpmnWorkflow, wf: Any) -> int:
    tasks = wf.tasks
    live: set[uuid.UUID] = set()
    for task in tasks.values():
        if task.has_state(TaskState.FINISHED_MASK):
            continue
        node: Task | None = task
        while node is not None and node.id not in live:
            live.add(node.id)
            node = tasks.get(node._parent) if node._parent is not None else None
    if not live:
        return 0

    def passes_through(task: Task) -> uuid.UUID | None:
        """The one live child of a completed task all of whose other children are finished, else None."""
        if task.state != TaskState.COMPLETED or task.id not in live:
            return None
        onward = [child for child in task._children if child in live]
        return onward[0] if len(onward) == 1 else None

    removed = 0
    stack = [wf.task_tree.id]
    while stack:
        start = tasks[stack.pop()]
        chain = [start]
        following = passes_through(start)
        while following is not None:
            chain.append(tasks[following])
            following = passes_through(tasks[following])
        if len(chain) > COMPACT_AFTER:
            removed += _splice(top, wf, chain[: len(chain) - KEEP_ROUNDS], chain[len(chain) - KEEP_ROUNDS])
        stack.extend(child for child in chain[-1]._children if child in live and child in tasks)
    return removed


def _splice(top: BpmnWorkflow, wf: Any, cut: list[Task], kept: Task) -> int:
    """Remove ``cut`` (a chain ending just above ``kept``) with the finished subtrees hanging off it."""
    parent_id = cut[0]._parent
    gone: set[uuid.UUID] = set()
    pending = [t.id for t in cut]
    keep = kept.id
    while pending:
        task_id = pending.pop()
        if task_id == keep or task_id in gone:
            continue
        gone.add(task_id)
        pending.extend(wf.tasks[task_id]._children)
    for task_id in gone:
        del wf.tasks[task_id]
    kept._parent = parent_id
    if parent_id is None:
        wf.task_tree = kept
    else:
        parent = wf.tasks[parent_id]
        parent._children = [keep if child == cut[0].id else child for child in parent._children]
    if wf.last_task is not None and wf.last_task.id in gone:
        wf.last_task = kept
    # finished subprocesses started by a removed task go too (and those they started in turn)
    orphans = [task_id for task_id in top.subprocesses if task_id in gone]
    while orphans:
        sub = top.subprocesses.pop(orphans.pop())
        gone.update(sub.tasks)
        orphans.extend(task_id for task_id in top.subprocesses if task_id in sub.tasks)
    return len(gone)
