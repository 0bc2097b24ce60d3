"""SpiffWorkflow loses track of a task deeper than 1000 levels and calls the process finished.
The engine's guard must stop the instance before that, with the default limit."""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.errors import EngineStateError
from engine.runtime.parsing import EisoParser
from engine.runtime.serialization import new_workflow, spec_to_json
from engine.runtime.tasks import active_tasks, guard_loop
from tests.conftest import FIXTURES


def _loop() -> BpmnWorkflow:
    parser = EisoParser()
    parser.add_bpmn_file(str(FIXTURES / "rework_loop.bpmn"))
    workflow = new_workflow(spec_to_json(parser.get_spec("rework_loop"), parser.get_subprocess_specs("rework_loop")))
    workflow.do_engine_steps()
    return workflow


def _go_round(workflow: BpmnWorkflow) -> None:
    task = next(t for t in active_tasks(workflow) if t.state == TaskState.READY)
    task.data["again"] = True
    task.run()
    workflow.do_engine_steps()


def test_unguarded_spiffworkflow_ends_a_long_loop_silently() -> None:
    workflow = _loop()
    for _ in range(520):
        _go_round(workflow)
    still_due = [t for t in active_tasks(workflow) if t.state == TaskState.READY]
    assert workflow.is_completed() and still_due  # the bug the guard exists for
    with pytest.raises(EngineStateError, match="finished while steps are still due"):
        guard_loop(workflow)


def test_guard_stops_the_loop_before_the_engine_loses_it() -> None:
    workflow = _loop()
    with pytest.raises(EngineStateError, match="loop too many times") as caught:
        for _ in range(520):
            _go_round(workflow)
            guard_loop(workflow)
    assert not workflow.is_completed()
    assert "limit 900" in caught.value.message
