"""Compensation as both Camunda engines run it: a compensation throw or end event undoes the completed
activities of its process or subprocess that have a compensation handler, the last completed first, one
handler after the other, and the flow goes on once the last handler has completed.

The throw event (``CompensationThrow``) waits started; ``compensate`` (called after every engine step)
starts the next handler as a task of its own beside the activity it undoes, with the process data as it
is now, and takes the handler's data back when it has completed. Each completion of an activity is undone
once (an activity completed in three rounds of a loop gets its handler three times; a second throw does
not undo it again). ``activityRef`` narrows the throw to one activity.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.runtime.parsing import CompensationThrow
from engine.runtime.tasks import active_tasks, element_of

QUEUE = "compensation_queue"  # internal data of the throw task: the activity tasks still to undo
RUNNING = "compensation_running"  # the handler task now running
DONE = "compensated"  # internal data of an activity task that has been undone


def _to_undo(throw: Task, nodes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The completed activities of the throw's scope that have a handler, the last completed first."""
    only = nodes.get(element_of(throw.task_spec), {}).get("compensate_activity")
    done = [
        t for t in throw.workflow.tasks.values()
        if t.state == TaskState.COMPLETED and nodes.get(element_of(t.task_spec), {}).get("compensation_handler")
        and not t.internal_data.get(DONE) and (only is None or element_of(t.task_spec) == only)
    ]  # fmt: skip
    done.sort(key=lambda t: t.last_state_change, reverse=True)
    return [str(t.id) for t in done]


def compensate(workflow: BpmnWorkflow, nodes: Mapping[str, Mapping[str, Any]],
               record: Callable[[str, str, dict[str, Any]], None]) -> bool:  # fmt: skip
    """Move every compensation under way one step on; True when something changed (run the engine again).
    ``record(kind, element, data)`` writes the history."""
    moved = False
    for throw in active_tasks(workflow):
        if throw.state != TaskState.STARTED or not isinstance(throw.task_spec, CompensationThrow):
            continue
        memory = throw.internal_data
        if QUEUE not in memory:
            memory[QUEUE] = _to_undo(throw, nodes)
            undone = [element_of(throw.workflow.tasks[uuid.UUID(t)].task_spec) for t in memory[QUEUE]]
            record("compensation_thrown", element_of(throw.task_spec), {"activities": undone})
        running = throw.workflow.tasks.get(uuid.UUID(memory[RUNNING])) if memory.get(RUNNING) else None
        if running is not None and not running.has_state(TaskState.FINISHED_MASK):
            continue
        if running is not None:
            throw.data.update(running.data)  # what the handler wrote is process data from now on
            memory.pop(RUNNING)
            moved = True
        if memory[QUEUE]:
            activity = throw.workflow.tasks[uuid.UUID(memory[QUEUE].pop(0))]
            handler_id = nodes[element_of(activity.task_spec)]["compensation_handler"]
            handler = activity._add_child(throw.workflow.spec.task_specs[handler_id], TaskState.FUTURE)
            handler.task_spec._update(handler)
            handler.data = dict(throw.data)
            activity.internal_data[DONE] = True
            memory[RUNNING] = str(handler.id)
            record("compensation_started", handler_id, {"undoes": element_of(activity.task_spec)})
        else:
            memory.pop(QUEUE)
            throw.complete()
        moved = True
    return moved
