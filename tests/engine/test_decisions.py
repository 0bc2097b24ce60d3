"""Business rule tasks call DMN decisions in both dialects: the risk level decides whether treatment follows."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Deployer, Engine, SourceFile
from engine.errors import DeploymentRejected
from engine.org.models import Unit, User
from engine.runtime.models import DecisionDefinition, HistoryEvent, TaskRow
from tests.conftest import FIXTURES, Clock


def deploy_risk(session: Session, clock: Clock, bpmn: str) -> None:
    files = [SourceFile(bpmn, (FIXTURES / bpmn).read_bytes()),
             SourceFile("risk_scoring.dmn", (FIXTURES / "dmn" / "risk_scoring.dmn").read_bytes())]  # fmt: skip
    Deployer(session).deploy(files, actor=None, now=clock.now)


def open_elements(session: Session, instance_id: int) -> list[str]:
    stmt = select(TaskRow.element_id).where(TaskRow.instance_id == instance_id, TaskRow.state == "open")
    return list(session.scalars(stmt))


@pytest.mark.parametrize("key", ["risk_c8", "risk_c7"])
@pytest.mark.parametrize(("severity", "likelihood", "treated"), [(5, 4, True), (1, 2, False)])
def test_the_decision_table_routes_the_process(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, key: str, severity: int, likelihood: int,
    treated: bool,
) -> None:
    deploy_risk(session, clock, f"{key}.bpmn")
    engine = Engine(session)
    instance = engine.start(key, actor=users["truongphong"], unit_id=unit.id, now=clock.now)
    assess = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id)).one()
    engine.complete(assess.id, actor=users["truongphong"], now=clock.now,
                    variables={"severity": severity, "likelihood": likelihood})  # fmt: skip
    assert open_elements(session, instance.id) == (["treat"] if treated else [])
    evaluated = session.scalars(select(HistoryEvent).where(HistoryEvent.kind == "decision_evaluated")).one()
    assert evaluated.data["decision"] == "riskLevel" and evaluated.data["version"] == 1
    assert evaluated.data["result"]["treatmentRequired"] is treated


def test_a_missing_decision_is_refused_at_deploy(session: Session, clock: Clock) -> None:
    with pytest.raises(DeploymentRejected) as caught:
        Deployer(session).deploy([SourceFile("risk_c8.bpmn", (FIXTURES / "risk_c8.bpmn").read_bytes())],
                                 actor=None, now=clock.now)  # fmt: skip
    assert caught.value.problems[0].element_id == "score" and "riskLevel" in caught.value.problems[0].message


def test_decisions_are_versioned_by_content(session: Session, clock: Clock) -> None:
    deploy_risk(session, clock, "risk_c8.bpmn")
    deploy_risk(session, clock, "risk_c8.bpmn")  # the same file again: nothing new
    assert session.scalars(select(DecisionDefinition.version)).all() == [1]
    broken = (FIXTURES / "dmn" / "broken_feel.dmn").read_bytes()
    with pytest.raises(DeploymentRejected) as caught:
        Deployer(session).deploy([SourceFile("broken_feel.dmn", broken)], actor=None, now=clock.now)
    assert caught.value.problems[0].file == "broken_feel.dmn" and caught.value.problems[0].line
