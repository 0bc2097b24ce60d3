"""Multi-instance activities in both dialects: one report per department, each for that department's head."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine
from engine.org.models import Unit, User
from engine.runtime.models import TaskRow
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
