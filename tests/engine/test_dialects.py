"""The same quality-objectives flow drawn in both Camunda dialects runs end to end: Camunda 8 with FEEL
and zeebe: extensions (the shipped library), Camunda 7 with JUEL and camunda: attributes."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from engine import Deployer, Engine, SourceFile
from engine.iso.objectives import current_objectives
from engine.org.models import Unit, User
from engine.runtime.engine import WorkflowCache
from engine.runtime.models import ProcessInstance
from tests.conftest import FIXTURES, Clock
from tests.engine.test_runtime import DRAFT, open_task

pytestmark = pytest.mark.usefixtures("library")


DIALECTS = [("quality_objectives", "camunda8"), ("quality_objectives", "camunda7")]


@pytest.mark.parametrize("mode", ["straight", "reload"])
@pytest.mark.parametrize(("key", "dialect"), DIALECTS)
def test_objectives_flow_in_each_dialect(session: Session, users: dict[str, User], unit: Unit, clock: Clock,
                                         key: str, dialect: str, mode: str) -> None:  # fmt: skip
    if dialect == "camunda7":  # the unit runs its own Camunda 7 version of the shared process
        unit.allow_direct_deploy = True
        Deployer(session).deploy([SourceFile("quality-objectives-c7.bpmn", (FIXTURES / "quality-objectives-c7.bpmn")
                                             .read_bytes())], actor=users["admin"], unit_id=unit.id, now=clock.now)
    definition = Engine(session).active_definition(key, unit.id)
    assert definition.dialect == dialect and definition.starter_roles == ["iso_secretary"]
    assert definition.unit_id == (unit.id if dialect == "camunda7" else None)
    engine = Engine(session, cache=WorkflowCache() if mode == "straight" else None)
    with pytest.raises(Exception, match="may not start"):
        engine.start(key, actor=users["giamdoc"], unit_id=unit.id, now=clock.now)
    instance = engine.start(key, actor=users["thuky"], unit_id=unit.id, now=clock.now)

    draft = open_task(session, instance.id)
    assert draft.form is not None and draft.form.form_key == "quality-objectives-draft"
    assert draft.due_at is not None  # timeLimitWorkingDays from zeebe:properties / camunda:properties
    engine.complete(draft.id, actor=users["thuky"], now=clock.now, variables=DRAFT)
    engine.complete(open_task(session, instance.id).id, actor=users["giamdoc"], now=clock.now,
                    variables={"decision": "return", "returnReason": "Bổ sung cách đo."})  # fmt: skip
    assert open_task(session, instance.id).element_id == "draft_objectives"  # the return condition held
    engine.complete(open_task(session, instance.id).id, actor=users["thuky"], now=clock.now, variables={})
    engine.complete(open_task(session, instance.id).id, actor=users["giamdoc"], now=clock.now,
                    variables={"decision": "approve"})  # fmt: skip
    engine.complete(open_task(session, instance.id).id, actor=users["thuky"], now=clock.now,
                    variables={"decisionNumber": "07/QĐ-SKHCN", "effectiveDate": "2027-01-05"})  # fmt: skip

    session.expire_all()
    assert session.get(ProcessInstance, instance.id).status == "completed"  # type: ignore[union-attr]
    published = current_objectives(session, unit.id)
    assert published is not None and published.decision_number == "07/QĐ-SKHCN"
