"""``eiso bench engine``: the engine with persistence against plain SpiffWorkflow in memory."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from engine.db import Base
from engine.library.deploy import Deployer, SourceFile
from engine.runtime.engine import Engine
from engine.runtime.models import TaskRow

TASKS = 10


def sequential_diagram(n: int = TASKS) -> bytes:
    """A Camunda 8 process of n user tasks in a row, each for the ISO secretary."""
    nodes = ['<bpmn:startEvent id="start" />']
    flows = []
    previous = "start"
    for i in range(1, n + 1):
        nodes.append(
            f'<bpmn:userTask id="task_{i}" name="Bước {i}"><bpmn:extensionElements><zeebe:userTask />'
            '<zeebe:assignmentDefinition candidateGroups="iso_secretary" /></bpmn:extensionElements></bpmn:userTask>'
        )
        flows.append(f'<bpmn:sequenceFlow id="f_{i}" sourceRef="{previous}" targetRef="task_{i}" />')
        previous = f"task_{i}"
    nodes.append('<bpmn:endEvent id="end" />')
    flows.append(f'<bpmn:sequenceFlow id="f_end" sourceRef="{previous}" targetRef="end" />')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="bench_defs" targetNamespace="http://bpmn.io/schema/bpmn">'
        f'<bpmn:process id="bench_sequential" name="Benchmark" isExecutable="true">{"".join(nodes + flows)}'
        "</bpmn:process></bpmn:definitions>"
    ).encode()


def _persisted(instances: int) -> float:
    from engine.org.demo import load_demo
    from engine.org.models import User

    db = create_engine("sqlite://")
    Base.metadata.create_all(db)
    now = datetime.now(UTC)
    with Session(db) as session:
        unit, _ = load_demo(session, password="bench")  # noqa: S106 - throwaway in-memory database
        Deployer(session).deploy([SourceFile("bench.bpmn", sequential_diagram())], actor=None, now=now)
        actor = session.query(User).filter_by(username="thuky").one()
        engine = Engine(session)
        started = time.perf_counter()
        for _ in range(instances):
            instance = engine.start("bench_sequential", actor=actor, unit_id=unit.id, now=now)
            for _ in range(TASKS):
                row = session.query(TaskRow).filter_by(instance_id=instance.id, state="open").one()
                engine.complete(row.id, actor=actor, now=now, variables={})
        return time.perf_counter() - started


def _in_memory(instances: int) -> float:
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser

    parser = BpmnParser()
    parser.add_bpmn_str(sequential_diagram())
    spec = parser.get_spec("bench_sequential")
    started = time.perf_counter()
    for _ in range(instances):
        workflow = BpmnWorkflow(spec)
        workflow.do_engine_steps()
        while not workflow.is_completed():
            for task in workflow.get_tasks(state=TaskState.READY):
                task.run()
            workflow.do_engine_steps()
    return time.perf_counter() - started


def run_benchmark(instances: int) -> Iterator[str]:
    total = instances * TASKS
    yield f"Sequential diagram with {TASKS} user tasks, {instances} instances ({total} tasks)"
    persisted = _persisted(instances)
    memory = _in_memory(instances)
    yield f"eISO engine, SQLite in memory, one transaction per command: {total / persisted:10.1f} tasks/s"
    yield f"plain SpiffWorkflow, in memory, no persistence:              {total / memory:10.1f} tasks/s"
    yield f"ratio (plain / eISO): {persisted / memory:.1f}x"
