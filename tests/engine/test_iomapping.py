"""Input and output mappings in both dialects: inputs are the task's own variables, outputs decide what
the process gets."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Deployer, Engine, SourceFile
from engine.errors import DeploymentRejected
from engine.org.models import Unit, User
from engine.runtime.engine import WorkflowCache
from engine.runtime.models import TaskRow
from tests.conftest import FIXTURES, Clock, deploy_fixture

pytestmark = pytest.mark.usefixtures("library")
DOSSIER = {"code": "000.00.12.H15-261123-0001", "owner": "chuyenvien", "applicant": {"name": "Nguyễn Văn An"}}


def open_task(session: Session, instance_id: int) -> TaskRow:
    return session.scalars(select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == "open")).one()


def data_of(engine: Engine, session: Session, instance_id: int) -> dict[str, Any]:
    data = engine.task_data(open_task(session, instance_id))
    return {k: v for k, v in data.items() if k not in ("departments", "unit")}


def test_camunda8_inputs_are_local_and_outputs_are_what_the_process_gets(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    deploy_fixture(session, clock.now, "io_c8.bpmn")
    engine = Engine(session)
    instance = engine.start("io_c8", actor=users["chuyenvien"], unit_id=unit.id, now=clock.now,
                            variables={"dossier": DOSSIER, "fee": 50000})  # fmt: skip
    review = data_of(engine, session, instance.id)
    assert (review["applicantName"], review["doubleFee"]) == ("Nguyễn Văn An", 100000)
    engine.complete(open_task(session, instance.id).id, actor=users["chuyenvien"], now=clock.now,
                    variables={"approved": True, "note": "Hồ sơ đủ"})  # fmt: skip
    after = data_of(engine, session, instance.id)
    assert after["reviewApproved"] is True and after["reviewedFor"] == "Nguyễn Văn An"
    assert after["total"] == 55000  # the script's result, through its output mapping
    for local in ("applicantName", "doubleFee", "approved", "note", "amount", "withVat"):
        assert local not in after, local


def test_camunda7_parameters_with_text_list_and_map(session: Session, users: dict[str, User], unit: Unit,
                                                    clock: Clock) -> None:  # fmt: skip
    deploy_fixture(session, clock.now, "io_c7.bpmn")
    engine = Engine(session)
    instance = engine.start("io_c7", actor=users["chuyenvien"], unit_id=unit.id, now=clock.now,
                            variables={"dossier": DOSSIER})  # fmt: skip
    review = data_of(engine, session, instance.id)
    assert review["greeting"] == "Kính gửi Nguyễn Văn An"
    assert review["reviewers"] == ["giamdoc", "chuyenvien"]
    assert review["meta"] == {"code": DOSSIER["code"], "kind": "online"}
    engine.complete(open_task(session, instance.id).id, actor=users["chuyenvien"], now=clock.now,
                    variables={"opinion": "Đồng ý"})  # fmt: skip
    after = data_of(engine, session, instance.id)
    assert after["opinion"] == "Đồng ý"  # no output mappings: what the task produced flows on
    assert "greeting" not in after and "meta" not in after  # but its inputs stay local


def test_mappings_that_cannot_be_evaluated_are_refused_at_deploy(session: Session, clock: Clock) -> None:
    broken = (FIXTURES / "io_c7.bpmn").read_text().replace("${dossier.code}", "${dossier.getCode()}")
    with pytest.raises(DeploymentRejected) as caught:
        Deployer(session).deploy([SourceFile("io.bpmn", broken.encode())], actor=None, now=clock.now)
    assert caught.value.problems[0].element_id == "review" and "getCode" in caught.value.problems[0].message


def test_camunda7_initiator_names_who_started(session: Session, users: dict[str, User], unit: Unit,
                                              clock: Clock) -> None:  # fmt: skip
    plain = '<bpmn:startEvent id="start">'
    text = (FIXTURES / "io_c7.bpmn").read_text().replace(plain, plain[:-1] + ' camunda:initiator="submittedBy">')
    Deployer(session).deploy([SourceFile("io_c7.bpmn", text.encode())], actor=None, now=clock.now)
    engine = Engine(session)
    instance = engine.start("io_c7", actor=users["chuyenvien"], unit_id=unit.id, now=clock.now,
                            variables={"dossier": DOSSIER})  # fmt: skip
    assert data_of(engine, session, instance.id)["submittedBy"] == "chuyenvien"


def test_camunda8_targets_with_dots_build_nested_contexts_as_zeebe_does() -> None:
    from engine.runtime.iomapping import on_completion, with_inputs

    io = {"inputs": [("authentication.type", "bearer"), ("authentication.token", "=secret"), ("url", "=base")],
          "outputs": [("result.status", "=status"), ("result.body.id", "=id")], "paths": True}  # fmt: skip
    data = {"secret": "t0k", "base": "https://igate.example/api", "authentication": {"user": "x"}}
    started = with_inputs(io, data)
    assert started["authentication"] == {"user": "x", "type": "bearer", "token": "t0k"}  # extended, not replaced
    assert data["authentication"] == {"user": "x"}  # the process's own value is left as it was
    done = on_completion(io, started, {"status": 200, "id": "HS-01"})
    assert done["result"] == {"status": 200, "body": {"id": "HS-01"}}
    assert "authentication" not in done and "url" not in done  # inputs are the task's own, as in Camunda 8
    flat = with_inputs({"inputs": [("a.b", "1")]}, {})  # Camunda 7: a parameter name is just a name
    assert flat == {"a.b": "1"}


def test_a_start_events_output_mappings_set_process_data_that_a_message_then_correlates_on(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    from engine.runtime.messages import correlate
    from engine.runtime.models import ProcessInstance

    deploy_fixture(session, clock.now, "start_outputs_c8.bpmn")
    engine = Engine(session)
    instance = engine.start("start_outputs", actor=users["admin"], unit_id=unit.id, now=clock.now,
                            variables={"code": "01"})  # fmt: skip
    result = correlate(engine, "bo_sung", "HS-01", {"note": "đã bổ sung"}, actor=users["admin"], unit=None,
                       now=clock.now)  # fmt: skip
    assert result.correlated == [instance.id]
    session.expire_all()
    assert session.get(ProcessInstance, instance.id).status == "completed"  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["straight", "reload"])
def test_an_input_that_reuses_a_process_variables_name_leaves_the_process_value_as_it_was(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    """A user task and a script task each take ``fee`` as an input of their own, under the same name: inside
    they see their value, and after them the process has its own ``fee`` again (Camunda 8's local scope)."""
    xml = (FIXTURES / "io_c8.bpmn").read_text(encoding="utf-8")
    xml = xml.replace('<zeebe:input source="=fee * 2" target="doubleFee" />',
                      '<zeebe:input source="=fee * 2" target="fee" />')
    xml = xml.replace('<zeebe:input source="=fee" target="amount" />',
                      '<zeebe:input source="=fee * 10" target="fee" />')
    xml = xml.replace('expression="=amount * 1.1"', 'expression="=fee * 1.1"')
    assert xml.count('target="fee"') == 2
    Deployer(session).deploy([SourceFile("io_c8.bpmn", xml.encode())], actor=None, now=clock.now)
    engine = Engine(session, cache=WorkflowCache() if mode == "straight" else None)
    instance = engine.start("io_c8", actor=users["chuyenvien"], unit_id=unit.id, now=clock.now,
                            variables={"dossier": DOSSIER, "fee": 50000})  # fmt: skip
    assert data_of(engine, session, instance.id)["fee"] == 100000  # the task's own fee
    engine.complete(open_task(session, instance.id).id, actor=users["chuyenvien"], now=clock.now,
                    variables={"approved": True})  # fmt: skip
    after = data_of(engine, session, instance.id)
    assert after["total"] == 550000  # the script computed with its own fee (500000)
    assert after["fee"] == 50000  # and the process's fee is as it was
