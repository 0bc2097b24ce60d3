"""Forms referenced as Camunda Modeler writes them: by file name (Camunda 7), embedded (Camunda 8)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Deployer, Engine, SourceFile
from engine.errors import FormInvalid
from engine.org.models import RoleAssignment, Unit, User
from engine.org.people import hash_password
from engine.runtime.models import ProcessInstance, TaskRow
from tests.conftest import CORPUS, Clock, deploy_fixture

EXAMPLES = CORPUS / "camunda7-examples"


def test_the_camunda7_invoice_example_runs_with_its_forms(session: Session, unit: Unit, users: dict[str, User],
                                                          clock: Clock) -> None:  # fmt: skip
    names = ["invoiceApproval.bpmn", "start-form.form", "task-form.form"]
    Deployer(session).deploy([SourceFile(n, (EXAMPLES / n).read_bytes()) for n in names], actor=None, now=clock.now)
    demo = User(username="demo", full_name="Demo", password_hash=hash_password("x"))  # the example's assignee
    session.add(demo)
    session.add(RoleAssignment(user=demo, unit_id=unit.id, role="specialist"))
    session.commit()
    engine = Engine(session)
    with pytest.raises(FormInvalid):  # the start form (start-form.form by its file name) requires its fields
        engine.start("camundaFormsQuickstart", actor=demo, unit_id=unit.id, now=clock.now, variables={"amount": ""})
    invoice = {"creditor": "Công ty A", "amount": "1200000", "invoiceNumber": "C-101"}
    instance = engine.start("camundaFormsQuickstart", actor=demo, unit_id=unit.id, now=clock.now, variables=invoice)
    task = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id)).one()
    assert task.assignee_id == demo.id and task.form is not None
    assert engine.task_data(task)["creditor"] == "Công ty A"
    engine.complete(task.id, actor=demo, now=clock.now, variables={"approved": "true", "approvedBy": "demo"})
    session.expire_all()
    assert session.get(ProcessInstance, instance.id).status == "completed"  # type: ignore[union-attr]


def test_a_form_embedded_in_a_camunda8_diagram(session: Session, unit: Unit, users: dict[str, User],
                                               clock: Clock) -> None:  # fmt: skip
    deploy_fixture(session, clock.now, "embedded_form_c8.bpmn")
    engine = Engine(session)
    instance = engine.start("embedded_form_c8", actor=users["chuyenvien"], unit_id=unit.id, now=clock.now)
    task = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id)).one()
    assert task.form is not None and task.form.form_key == "userTaskForm_opinion"
    with pytest.raises(FormInvalid) as caught:
        engine.complete(task.id, actor=users["chuyenvien"], now=clock.now, variables={"opinion": ""})
    assert "opinion" in caught.value.errors
    engine.complete(task.id, actor=users["chuyenvien"], now=clock.now, variables={"opinion": "Đồng ý"})
