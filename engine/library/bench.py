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
from engine.runtime.engine import Engine, WorkflowCache
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
        engine = Engine(session, cache=WorkflowCache())  # as a server process runs it
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
    label = "eISO engine, SQLite in memory, one transaction per command, workflow cache:"
    yield f"{label} {total / persisted:10.1f} tasks/s"
    yield f"{'plain SpiffWorkflow, in memory, no persistence:'.ljust(len(label))} {total / memory:10.1f} tasks/s"
    yield f"ratio (plain / eISO): {persisted / memory:.1f}x"


# --- loops without a ceiling ------------------------------------------------------------------------------

_LOOP_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'id="bench_loops" targetNamespace="http://bpmn.io/schema/bpmn">'
)
_CHECK = ('<bpmn:userTask id="check" name="Kiểm tra"><bpmn:extensionElements><zeebe:userTask />'
          '<zeebe:assignmentDefinition candidateGroups="iso_secretary" /></bpmn:extensionElements></bpmn:userTask>')
_AGAIN = '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">=again = true</bpmn:conditionExpression>'
_DONE = '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">=again != true</bpmn:conditionExpression>'


def loop_diagram(timer: bool) -> bytes:
    """A rework loop (a task done again and again), or with ``timer`` a monitoring loop: the task has a
    non-interrupting reminder and each round waits an hour before the next check."""
    nodes = ['<bpmn:startEvent id="start" />', _CHECK, '<bpmn:exclusiveGateway id="go_on" />',
             '<bpmn:endEvent id="end" />']  # fmt: skip
    flows = ['<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />',
             '<bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="go_on" />',
             f'<bpmn:sequenceFlow id="f_done" sourceRef="go_on" targetRef="end">{_DONE}</bpmn:sequenceFlow>']
    if timer:
        nodes += ['<bpmn:boundaryEvent id="nudge" cancelActivity="false" attachedToRef="check">'
                  '<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P1D'
                  '</bpmn:timeDuration>'
                  '</bpmn:timerEventDefinition></bpmn:boundaryEvent>', '<bpmn:endEvent id="nudged" />',
                  '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration '
                  'xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>'
                  '</bpmn:intermediateCatchEvent>']  # fmt: skip
        flows += ['<bpmn:sequenceFlow id="f_nudge" sourceRef="nudge" targetRef="nudged" />',
                  f'<bpmn:sequenceFlow id="f_wait" sourceRef="go_on" targetRef="wait">{_AGAIN}</bpmn:sequenceFlow>',
                  '<bpmn:sequenceFlow id="f_again" sourceRef="wait" targetRef="check" />']  # fmt: skip
    else:
        again = f'<bpmn:sequenceFlow id="f_again" sourceRef="go_on" targetRef="check">{_AGAIN}</bpmn:sequenceFlow>'
        flows.append(again)
    key = "bench_monitoring" if timer else "bench_rework"
    return (f'{_LOOP_HEAD}<bpmn:process id="{key}" name="Benchmark loop" isExecutable="true">'
            f'{"".join(nodes + flows)}</bpmn:process></bpmn:definitions>').encode()  # fmt: skip


def run_loop_benchmark(rounds: int, window: int = 500) -> Iterator[str]:
    """Go round a rework loop and a monitoring loop ``rounds`` times through the engine (SQLite in memory,
    one transaction per command) and print the cost of a round and the stored state's size per window."""
    from datetime import timedelta

    from engine.org.demo import load_demo
    from engine.org.models import User
    from engine.runtime.models import ProcessInstance, Timer

    for timer in (False, True):
        db = create_engine("sqlite://")
        Base.metadata.create_all(db)
        now = datetime.now(UTC)
        with Session(db) as session:
            unit, _ = load_demo(session, password="bench")  # noqa: S106 - throwaway in-memory database
            Deployer(session).deploy([SourceFile("loop.bpmn", loop_diagram(timer))], actor=None, now=now)
            actor = session.query(User).filter_by(username="thuky").one()
            engine = Engine(session)
            key = "bench_monitoring" if timer else "bench_rework"
            instance = engine.start(key, actor=actor, unit_id=unit.id, now=now)
            yield (f"{'monitoring loop (task with a reminder, then a one-hour timer)' if timer else 'rework loop'}: "
                   f"{rounds} rounds, ms per round and stored state per {window} rounds")  # fmt: skip
            started = time.perf_counter()
            for round_ in range(1, rounds + 1):
                row = session.query(TaskRow).filter_by(instance_id=instance.id, state="open").one()
                engine.complete(row.id, actor=actor, now=now, variables={"again": True})
                if timer:
                    wait = session.query(Timer).filter_by(instance_id=instance.id, state="waiting",
                                                          element_id="wait").one()  # fmt: skip
                    now += timedelta(hours=1)
                    engine.fire_timer(wait.id, now=now)
                if round_ % window == 0:
                    elapsed = time.perf_counter() - started
                    state = session.get(ProcessInstance, instance.id)
                    size = len(state.state) if state is not None else 0
                    yield (f"  rounds {round_ - window + 1:5}-{round_:5}: {1000 * elapsed / window:7.2f} ms/round, "
                           f"state {size / 1024:7.1f} KiB")
                    started = time.perf_counter()
            row = session.query(TaskRow).filter_by(instance_id=instance.id, state="open").one()
            engine.complete(row.id, actor=actor, now=now, variables={"again": False})
            finished = session.get(ProcessInstance, instance.id)
            yield f"  then ended: {finished.status if finished is not None else 'missing'}"
