"""Workflow state as JSON without its spec; specs are stored once per definition version."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import (
    IntermediateCatchEvent,
    NoneTask,
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
    UserTask,
)
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)

from engine.data_check import bounded_state
from engine.runtime.events import EisoConditional, catch_in_scopes
from engine.runtime.parsing import (
    CallTask,
    CatchEvent,
    CollectionExpression,
    CompensationThrow,
    EisoParallelMultiInstance,
    EisoSequentialMultiInstance,
    ElementExpression,
    EventGateway,
    JobTask,
    LinkEvent,
    PassThroughTask,
)
from engine.runtime.script_engine import SandboxedScriptEngine
from engine.runtime.timers import EisoCycle, EisoDuration, EisoTimeDate

_config = dict(DEFAULT_CONFIG)
_config[EisoConditional] = DEFAULT_CONFIG[ConditionalEventDefinition]
_config[JobTask] = DEFAULT_CONFIG[UserTask]
_config[CallTask] = DEFAULT_CONFIG[UserTask]
_config[PassThroughTask] = DEFAULT_CONFIG[NoneTask]
_config[EventGateway] = DEFAULT_CONFIG[NoneTask]
_config[LinkEvent] = DEFAULT_CONFIG[NoneTask]
_config[CompensationThrow] = DEFAULT_CONFIG[NoneTask]
_config[CatchEvent] = DEFAULT_CONFIG[IntermediateCatchEvent]
_config[EisoParallelMultiInstance] = DEFAULT_CONFIG[ParallelMultiInstanceTask]
_config[EisoSequentialMultiInstance] = DEFAULT_CONFIG[SequentialMultiInstanceTask]
_config[CollectionExpression] = _config[ElementExpression] = DEFAULT_CONFIG[TaskDataReference]
for _ours, _stock in ((EisoTimeDate, TimeDateEventDefinition), (EisoDuration, DurationTimerEventDefinition),
                      (EisoCycle, CycleTimerEventDefinition)):  # fmt: skip
    _config[_ours] = DEFAULT_CONFIG[_stock]
SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))
SCRIPT_ENGINE = SandboxedScriptEngine()


def spec_to_json(spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> str:
    return json.dumps(
        {
            "spec": SERIALIZER.to_dict(spec),
            "subprocess_specs": {name: SERIALIZER.to_dict(sub) for name, sub in subprocess_specs.items()},
        }
    )


def new_workflow(spec_json: str) -> BpmnWorkflow:
    parts = json.loads(spec_json)
    spec = SERIALIZER.from_dict(parts["spec"])
    subs = {name: SERIALIZER.from_dict(sub) for name, sub in parts["subprocess_specs"].items()}
    return _scoped(BpmnWorkflow(spec, subs, script_engine=SCRIPT_ENGINE))


def dump_state(workflow: BpmnWorkflow) -> str:
    dct: dict[str, Any] = SERIALIZER.to_dict(workflow)
    dct.pop("spec", None)
    dct.pop("subprocess_specs", None)
    dct[SERIALIZER.VERSION_KEY] = SERIALIZER.VERSION
    return bounded_state(dct)


def load_state(state: str, spec_json: str) -> BpmnWorkflow:
    dct = json.loads(state)
    parts = json.loads(spec_json)
    dct["spec"] = parts["spec"]
    dct["subprocess_specs"] = parts["subprocess_specs"]
    SERIALIZER.migrate(dct)
    workflow: BpmnWorkflow = SERIALIZER.from_dict(dct)
    workflow.script_engine = SCRIPT_ENGINE
    _reconnect_event_subprocesses(workflow)
    return _scoped(workflow)


def _scoped(workflow: BpmnWorkflow) -> BpmnWorkflow:
    """Errors and escalations reach the event subprocesses of subprocesses too (``events.catch_in_scopes``)."""
    workflow.catch = partial(catch_in_scopes, workflow)
    return workflow


def _reconnect_event_subprocesses(workflow: BpmnWorkflow) -> None:
    """SpiffWorkflow wires an event subprocess into its process's spec when an event first starts it
    (start -> subprocess -> end). Specs are stored once, unwired, so wire again what this instance started."""
    for wf in (workflow, *workflow.subprocesses.values()):
        start = wf.spec.start
        started = {t.task_spec.name for t in wf.tasks.values()}
        for name in getattr(start, "trigger_specs", []):
            spec = wf.spec.task_specs.get(name)
            if spec is not None and name in started and start not in spec.inputs:
                start.connect(spec)
                spec.connect(wf.spec.end)
