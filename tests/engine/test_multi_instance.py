"""Multi-instance activities in both dialects: one report per department, each for that department's head."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine
from engine.org.models import Unit, User
from engine.runtime.models import ProcessInstance, TaskRow
from engine.runtime.queries import claimable_tasks
from tests.conftest import Clock, deploy_fixture

pytestmark = pytest.mark.usefixtures("library")


@pytest.mark.parametrize("key", ["review_mi_c8", "review_mi_c7"])
def test_each_department_head_reports_and_the_reports_are_collected(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, key: str
) -> None:
    deploy_fixture(session, clock.now, f"{key}.bpmn")
    engine = Engine(session)
    instance = engine.start(key, actor=users["thuky"], unit_id=unit.id, now=clock.now)
    reports = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id, TaskRow.state == "open")).all()
    assert [r.element_id for r in reports] == ["report"] * 3
    heads = {"truongphong": "vp", "truongphong2": "qlkh", "truongphong3": "qlcn"}
    for head, department in heads.items():
        mine = [t for t in claimable_tasks(session, users[head]) if t.instance_id == instance.id]
        assert len(mine) == 1  # only their own department's report
        assert engine.task_data(mine[0])["department"]["value"] == department
        engine.complete(mine[0].id, actor=users[head], now=clock.now, variables={"report": f"Báo cáo {department}"})
    consolidate = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id,
                                                        TaskRow.state == "open")).one()  # fmt: skip
    assert consolidate.element_id == "consolidate"
    if key == "review_mi_c8":  # Camunda 8 collects each instance's outputElement into outputCollection
        assert engine.task_data(consolidate)["reports"] == ["Báo cáo vp", "Báo cáo qlkh", "Báo cáo qlcn"]


def test_a_multi_instance_activity_in_a_loop_collects_each_rounds_outputs_afresh(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    """Camunda 8 keeps the output collection local to the multi-instance body: going round a loop, each
    round's collection holds that round's outputs only (SpiffWorkflow alone refused the second round)."""
    deploy_fixture(session, clock.now, "review_mi_loop_c8.bpmn")
    engine = Engine(session)
    instance = engine.start("review_mi_loop_c8", actor=users["thuky"], unit_id=unit.id, now=clock.now)
    heads = {"vp": "truongphong", "qlkh": "truongphong2", "qlcn": "truongphong3"}
    for round_ in (1, 2, 3):
        reports = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id, TaskRow.state == "open",
                                                        TaskRow.element_id == "report")).all()  # fmt: skip
        assert len(reports) == 3
        for task in reports:
            department = engine.task_data(task)["department"]["value"]
            engine.complete(task.id, actor=users[heads[department]], now=clock.now,
                            variables={"report": f"Kỳ {round_}: {department}"})  # fmt: skip
        consolidate = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id,
                                                            TaskRow.state == "open")).one()  # fmt: skip
        assert engine.task_data(consolidate)["reports"] == [f"Kỳ {round_}: {d}" for d in ("vp", "qlkh", "qlcn")]
        engine.complete(consolidate.id, actor=users["thuky"], now=clock.now, variables={"again": round_ < 3})
    session.expire_all()
    assert session.get(ProcessInstance, instance.id).status == "completed"  # type: ignore[union-attr]


@pytest.mark.parametrize("order", [("qlcn", "vp", "qlkh"), ("qlkh", "qlcn", "vp")])
def test_the_output_collection_follows_the_input_collection_whatever_order_the_instances_finish_in(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, order: tuple[str, ...]
) -> None:
    """As in Zeebe, the output of item i is at position i, so a diagram may pair both lists by position."""
    deploy_fixture(session, clock.now, "review_mi_c8.bpmn")
    engine = Engine(session)
    instance = engine.start("review_mi_c8", actor=users["thuky"], unit_id=unit.id, now=clock.now)
    heads = {"vp": "truongphong", "qlkh": "truongphong2", "qlcn": "truongphong3"}
    reports = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id, TaskRow.state == "open")).all()
    by_department = {engine.task_data(t)["department"]["value"]: t for t in reports}
    for department in order:
        engine.complete(by_department[department].id, actor=users[heads[department]], now=clock.now,
                        variables={"report": f"Báo cáo {department}"})  # fmt: skip
    consolidate = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id,
                                                        TaskRow.state == "open")).one()  # fmt: skip
    assert engine.task_data(consolidate)["reports"] == ["Báo cáo vp", "Báo cáo qlkh", "Báo cáo qlcn"]
