"""Multi-instance activities in both dialects: one report per department, each for that department's head."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Deployer, DeploymentRejected, Engine, SourceFile
from engine.org.models import Unit, User
from engine.runtime.engine import WorkflowCache
from engine.runtime.models import ProcessInstance, TaskRow
from engine.runtime.queries import claimable_tasks
from tests.conftest import FIXTURES, Clock, deploy_fixture

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


def _variant(session: Session, clock: Clock, old: str, new: str) -> None:
    xml = (FIXTURES / "review_mi_c8.bpmn").read_text(encoding="utf-8")
    assert old in xml
    Deployer(session).deploy([SourceFile("review_mi_c8.bpmn", xml.replace(old, new).encode())], actor=None,
                             now=clock.now)  # fmt: skip


def _open(session: Session, instance_id: int) -> list[TaskRow]:
    stmt = select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == "open")
    return list(session.scalars(stmt.order_by(TaskRow.id)))


@pytest.mark.parametrize("mode", ["straight", "reload"])
def test_an_empty_collection_written_as_an_expression_runs_no_instance_and_goes_on(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    _variant(session, clock, 'inputCollection="=departments"', 'inputCollection="=[]"')
    engine = Engine(session, cache=WorkflowCache() if mode == "straight" else None)
    instance = engine.start("review_mi_c8", actor=users["thuky"], unit_id=unit.id, now=clock.now)
    [consolidate] = _open(session, instance.id)
    assert consolidate.element_id == "consolidate" and engine.task_data(consolidate)["reports"] == []


@pytest.mark.parametrize("mode", ["straight", "reload"])
def test_a_filtered_collection_and_an_output_element_expression_collect_as_zeebe_does(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    _variant(session, clock, 'inputCollection="=departments" inputElement="department" outputCollection="reports" '
                             'outputElement="=report"',
             'inputCollection="=departments[item.value != &quot;qlcn&quot;]" inputElement="department" '
             'outputCollection="reports" outputElement="={department: department.value, text: report}"')
    engine = Engine(session, cache=WorkflowCache() if mode == "straight" else None)
    instance = engine.start("review_mi_c8", actor=users["thuky"], unit_id=unit.id, now=clock.now)
    reports = _open(session, instance.id)
    assert sorted(engine.task_data(r)["department"]["value"] for r in reports) == ["qlkh", "vp"]  # no qlcn
    for head, department in (("truongphong2", "qlkh"), ("truongphong", "vp")):  # the second one finishes first
        [mine] = [t for t in claimable_tasks(session, users[head]) if t.instance_id == instance.id]
        engine.complete(mine.id, actor=users[head], now=clock.now, variables={"report": f"Báo cáo {department}"})
    [consolidate] = _open(session, instance.id)
    assert engine.task_data(consolidate)["reports"] == [{"department": "vp", "text": "Báo cáo vp"},
                                                        {"department": "qlkh", "text": "Báo cáo qlkh"}]


def test_a_collection_expression_that_cannot_be_read_is_refused_at_deploy(session: Session, clock: Clock) -> None:
    with pytest.raises(DeploymentRejected) as refused:
        _variant(session, clock, 'inputCollection="=departments"', 'inputCollection="=[departments,"')
    [problem] = refused.value.problems
    assert (problem.element_id, problem.line) == ("report", 5) and "FEEL" in problem.message
