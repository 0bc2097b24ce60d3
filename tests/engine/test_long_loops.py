"""Loops without a ceiling: a rework loop and a timer-driven monitoring loop go round far more often than
SpiffWorkflow could follow on its own (it loses a task deeper than 1,000 levels) and still end as drawn,
with the stored state no bigger after many rounds than after a few. (Per-step costs over 5,000 rounds:
``eiso bench loops``, figures in docs/engine.md.)"""

from __future__ import annotations

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine
from engine.org.models import Unit, User
from engine.runtime.models import ProcessInstance, TaskRow, Timer
from engine.runtime.parsing import EisoParser
from engine.runtime.serialization import dump_state, load_state, new_workflow, spec_to_json
from engine.runtime.tasks import active_tasks, compact, guard_loop
from tests.conftest import FIXTURES, Clock, deploy_fixture
from tests.engine.test_loop_guard import _go_round, _loop


def _open(session: Session, instance_id: int) -> TaskRow:
    return session.scalars(select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == "open")).one()


def test_five_thousand_rounds_keep_the_task_tree_shallow_across_saves_and_end_as_drawn() -> None:
    parser = EisoParser()
    parser.add_bpmn_file(str(FIXTURES / "rework_loop.bpmn"))
    spec_json = spec_to_json(parser.get_spec("rework_loop"), parser.get_subprocess_specs("rework_loop"))
    workflow = new_workflow(spec_json)
    workflow.do_engine_steps()
    sizes = []
    for round_ in range(1, 5001):
        _go_round(workflow)
        compact(workflow)
        guard_loop(workflow)
        if round_ % 500 == 0:
            state = dump_state(workflow)
            sizes.append(len(state))
            workflow = load_state(state, spec_json)
    assert max(t.depth for t in active_tasks(workflow)) < 200
    # the state rises and falls as finished rounds are cut, but does not grow with the rounds
    assert max(sizes[5:]) <= 1.2 * max(sizes[:5])
    task = next(t for t in active_tasks(workflow) if t.state == TaskState.READY)
    task.data["again"] = False
    task.run()
    workflow.do_engine_steps()
    assert workflow.is_completed() and not active_tasks(workflow)


def test_a_rework_loop_runs_past_the_old_ceiling_through_the_engine(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    deploy_fixture(session, clock.now, "rework_loop.bpmn")
    engine = Engine(session)
    instance = engine.start("rework_loop", actor=users["thuky"], unit_id=unit.id, now=clock.now)
    sizes = {}
    for round_ in range(1, 501):  # two levels a round: the engine refused at about 450 before
        engine.complete(_open(session, instance.id).id, actor=users["thuky"], now=clock.now,
                        variables={"again": True})  # fmt: skip
        if round_ in (150, 500):
            sizes[round_] = len(session.get(ProcessInstance, instance.id).state)  # type: ignore[union-attr]
    assert sizes[500] < 1.5 * sizes[150]
    engine.complete(_open(session, instance.id).id, actor=users["thuky"], now=clock.now, variables={"again": False})
    session.expire_all()
    finished = session.get(ProcessInstance, instance.id)
    assert finished is not None and finished.status == "completed"
    done = session.scalars(select(TaskRow.state).where(TaskRow.instance_id == instance.id)).all()
    assert done == ["completed"] * 501


def test_a_timer_driven_monitoring_loop_with_a_reminder_goes_round_and_ends(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    deploy_fixture(session, clock.now, "monitoring_loop.bpmn")
    engine = Engine(session)
    instance = engine.start("monitoring_loop", actor=users["thuky"], unit_id=unit.id, now=clock.now)
    for _ in range(200):  # some five levels a round: past the engine's old ceiling too
        engine.complete(_open(session, instance.id).id, actor=users["thuky"], now=clock.now,
                        variables={"again": True})  # fmt: skip
        wait = session.scalars(select(Timer).where(Timer.instance_id == instance.id, Timer.state == "waiting",
                                                   Timer.element_id == "wait")).one()  # fmt: skip
        assert engine.fire_timer(wait.id, now=clock.advance(hours=1))
    reminder = session.scalars(select(Timer).where(Timer.instance_id == instance.id, Timer.state == "waiting")).one()
    assert reminder.element_id == "nudge"  # the reminder of the round now open, and only that one
    engine.complete(_open(session, instance.id).id, actor=users["thuky"], now=clock.now, variables={"again": False})
    session.expire_all()
    finished = session.get(ProcessInstance, instance.id)
    assert finished is not None and finished.status == "completed"
    assert session.scalars(select(Timer).where(Timer.instance_id == instance.id, Timer.state == "waiting")).all() == []


@pytest.mark.parametrize("rounds", [130, 260])
def test_cutting_finished_rounds_keeps_the_newest_ones_and_every_live_task(rounds: int) -> None:
    workflow = _loop()
    for _ in range(rounds):
        _go_round(workflow)
    live_before = {t.id for t in workflow.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)}
    last = workflow.last_task
    removed = compact(workflow)
    assert removed > 0 and live_before <= set(workflow.tasks)
    assert workflow.last_task is last  # among the newest rounds, which stay
    assert workflow.task_tree.parent is None and workflow.task_tree.id in workflow.tasks
    for task in workflow.tasks.values():  # a whole tree: every parent and child is still there
        assert task.parent is None or task.parent.id in workflow.tasks
        assert all(child in workflow.tasks for child in task._children)
    assert compact(workflow) == 0  # nothing more to cut until the chain grows again
