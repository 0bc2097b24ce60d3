"""Script tasks run FEEL or the Python subset, and nothing else."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Deployer, Engine, SourceFile
from engine.errors import DeploymentRejected
from engine.org.models import Unit, User
from engine.runtime.models import ProcessInstance, TaskRow
from tests.conftest import FIXTURES, Clock, deploy_fixture

pytestmark = pytest.mark.usefixtures("library")


def test_feel_script_stores_its_result(session: Session, users: dict[str, User], unit: Unit, clock: Clock) -> None:
    deploy_fixture(session, clock.now, "scripts_c8.bpmn")
    engine = Engine(session)
    instance = engine.start("scripts_c8", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                            variables={"scores": [{"value": 7}, {"value": 8.5}]})  # fmt: skip
    check = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id)).one()
    assert engine.task_data(check)["total"] == 15.5


@pytest.mark.parametrize(("days", "explain"), [([3, 4, 12], True), ([3, 4, 5], False)])
def test_python_subset_script_sets_variables(session: Session, users: dict[str, User], unit: Unit, clock: Clock,
                                             days: list[int], explain: bool) -> None:  # fmt: skip
    deploy_fixture(session, clock.now, "scripts_python.bpmn")
    dossiers = [{"code": f"H22-{i}", "days": d} for i, d in enumerate(days)]
    instance = Engine(session).start("scripts_python", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                                     variables={"dossiers": dossiers, "limit": 10})  # fmt: skip
    session.expire_all()
    rows = session.scalars(select(TaskRow.element_id).where(TaskRow.instance_id == instance.id)).all()
    assert rows == (["explain"] if explain else [])
    if not explain:
        assert session.get(ProcessInstance, instance.id).status == "completed"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ('scriptFormat="python"', 'scriptFormat="javascript"', "Script format 'javascript' cannot run"),
        ('late = [d["code"]', 'import os\nlate = [d["code"]', "Import"),
        ('late = [d["code"]', 'x = ().__class__\nlate = [d["code"]', "__class__"),
    ],
)
def test_scripts_that_cannot_run_safely_are_refused_at_deploy(session: Session, clock: Clock, old: str, new: str,
                                                              reason: str) -> None:  # fmt: skip
    text = (FIXTURES / "scripts_python.bpmn").read_text().replace(old, new)
    with pytest.raises(DeploymentRejected) as caught:
        Deployer(session).deploy([SourceFile("s.bpmn", text.encode())], actor=None, now=clock.now)
    problem = caught.value.problems[0]
    assert problem.element_id == "classify" and reason in problem.message
