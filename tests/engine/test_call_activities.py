"""Call activities: the called process runs as its own instance, variables go in and come back by each
dialect's rules, errors come back to the caller's boundary events, and cancelling the call cancels it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Deployer, Engine, SourceFile
from engine.errors import EngineError
from engine.org.models import Unit, User
from engine.runtime.models import ProcessInstance, TaskRow
from engine.runtime.sweeps import sweep_timers
from tests.conftest import FIXTURES, Clock
from tests.engine.test_events import MODES, deploy, engine_for, events, open_tasks, status

pytestmark = pytest.mark.usefixtures("library")


def children(session: Session, parent_id: int) -> list[ProcessInstance]:
    session.expire_all()
    stmt = select(ProcessInstance).where(ProcessInstance.parent_instance_id == parent_id)
    return list(session.scalars(stmt.order_by(ProcessInstance.id)))


def start_c8(session: Session, clock: Clock, users: dict[str, User], unit: Unit, mode: str) -> tuple[Engine, int]:
    deploy(session, clock, "call_child_c8.bpmn")
    deploy(session, clock, "call_parent_c8.bpmn")
    engine = engine_for(session, mode)
    parent = engine.start("dossier_main_c8", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                          business_key="HS-042", variables={"dossier": "HS-042", "fee": 150})  # fmt: skip
    return engine, parent.id


@pytest.mark.parametrize("mode", MODES)
def test_camunda8_call_runs_the_called_process_and_maps_its_result_back(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, parent_id = start_c8(session, clock, users, unit, mode)
    assert open_tasks(session, parent_id) == {}  # the caller waits
    (child,) = children(session, parent_id)
    assert (child.definition.key, child.status, child.business_key) == ("appraisal_child_c8", "running", "HS-042")
    appraise = open_tasks(session, child.id)["appraise"]
    data = engine.task_data(appraise)
    assert (data["case_no"], data["fee"]) == ("HS-042", 150)  # input mapping, and all parent variables
    engine.complete(appraise.id, actor=users["chuyenvien"], now=clock.now,
                    variables={"approved": True, "result": "Đạt", "scratch": "x"})  # fmt: skip
    assert status(session, child.id) == "completed"
    sign = open_tasks(session, parent_id)["sign"]
    data = engine.task_data(sign)
    assert data["appraisal_result"] == "Đạt" and "scratch" not in data  # only the output mapping came back
    engine.complete(sign.id, actor=users["giamdoc"], now=clock.now, variables={})
    assert status(session, parent_id) == "completed"
    assert [e.data["instance"] for e in events(session, parent_id, "call_started")] == [child.id]


@pytest.mark.parametrize("mode", MODES)
def test_an_error_the_called_process_ends_with_is_caught_on_the_call_activity(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, parent_id = start_c8(session, clock, users, unit, mode)
    (child,) = children(session, parent_id)
    engine.complete(open_tasks(session, child.id)["appraise"].id, actor=users["chuyenvien"], now=clock.now,
                    variables={"approved": False})  # fmt: skip
    assert status(session, child.id) == "cancelled"
    assert list(open_tasks(session, parent_id)) == ["notify_reject"]
    assert events(session, parent_id, "call_error")[0].data["code"] == "REJECT"


@pytest.mark.parametrize("mode", MODES)
def test_an_interrupting_timer_on_the_call_activity_cancels_the_called_instance(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, parent_id = start_c8(session, clock, users, unit, mode)
    (child,) = children(session, parent_id)
    appraise = open_tasks(session, child.id)["appraise"]
    assert sweep_timers(session, clock.now + timedelta(days=5, minutes=1)).fired == 1
    assert list(open_tasks(session, parent_id)) == ["escalate_timeout"]
    assert status(session, child.id) == "cancelled"
    session.expire_all()
    assert session.get(TaskRow, appraise.id).state == "cancelled"  # type: ignore[union-attr]
    with pytest.raises(EngineError, match="no longer active"):
        engine.complete(appraise.id, actor=users["chuyenvien"], now=clock.now, variables={"approved": True})


@pytest.mark.parametrize("mode", MODES)
def test_camunda7_call_passes_only_what_in_and_out_name(session: Session, users: dict[str, User], unit: Unit,
                                                       clock: Clock, mode: str) -> None:  # fmt: skip
    deploy(session, clock, "call_child_c7.bpmn")
    deploy(session, clock, "call_parent_c7.bpmn")
    engine = engine_for(session, mode)
    parent_id = engine.start("dossier_main_c7", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                             variables={"dossier": "HS-7", "fee": 20, "secret": "s"}).id  # fmt: skip
    (child,) = children(session, parent_id)
    assert child.business_key == "HS-7"
    data = engine.task_data(open_tasks(session, child.id)["appraise"])
    assert (data["case_no"], data["double_fee"]) == ("HS-7", 40) and "secret" not in data and "fee" not in data
    engine.complete(open_tasks(session, child.id)["appraise"].id, actor=users["chuyenvien"], now=clock.now,
                    variables={"result": "Không đạt", "note": "n"})  # fmt: skip
    data = engine.task_data(open_tasks(session, parent_id)["sign"])
    assert data["appraisal_result"] == "Không đạt" and "note" not in data and data["secret"] == "s"


def test_calling_a_process_that_is_not_deployed_changes_nothing(session: Session, users: dict[str, User],
                                                                 unit: Unit, clock: Clock) -> None:  # fmt: skip
    deploy(session, clock, "call_parent_c7.bpmn")
    engine = engine_for(session, "reload")
    before = session.scalar(select(ProcessInstance.id).order_by(ProcessInstance.id.desc()).limit(1))
    with pytest.raises(EngineError, match="appraisal_child_c7.*not deployed"):
        engine.start("dossier_main_c7", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                     variables={"dossier": "HS-8", "fee": 1})  # fmt: skip
    assert session.scalar(select(ProcessInstance.id).order_by(ProcessInstance.id.desc()).limit(1)) == before


def test_deploying_a_caller_before_its_called_process_warns(session: Session, clock: Clock) -> None:
    from engine.library.deploy import Deployer, SourceFile
    from tests.conftest import FIXTURES

    files = [SourceFile(n, (FIXTURES / "events" / n).read_bytes()) for n in ("call_parent_c7.bpmn",)]
    result = Deployer(session).deploy(files, actor=None, now=clock.now)
    assert [w.element_id for w in result.warnings if "appraisal_child_c7" in w.message] == ["appraisal_call"]
    names = ("call_child_c8.bpmn", "call_parent_c8.bpmn")
    both = [SourceFile(n, (FIXTURES / "events" / n).read_bytes()) for n in names]
    assert not [w for w in Deployer(session).deploy(both, actor=None, now=clock.now).warnings if "called" in w.message]


def test_a_call_activity_without_a_called_element_is_refused(session: Session, clock: Clock) -> None:
    from engine.library.deploy import Deployer, DeploymentRejected, SourceFile
    from tests.conftest import FIXTURES

    text = (FIXTURES / "events" / "call_parent_c7.bpmn").read_text().replace(' calledElement="appraisal_child_c7"', "")
    with pytest.raises(DeploymentRejected) as refused:
        Deployer(session).deploy([SourceFile("caller.bpmn", text.encode())], actor=None, now=clock.now)
    [problem] = [p for p in refused.value.problems if p.element_id == "appraisal_call"]
    assert "names no process to call" in problem.message and problem.line


@pytest.mark.parametrize("mode", MODES)
def test_an_input_mapping_that_reuses_a_callers_name_leaves_the_callers_variable_as_it_was(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str, tmp_path: Path
) -> None:
    """Camunda 8 maps inputs into the call activity's own scope: the caller's ``fee`` is 150 again after the
    call, although the called process was given ``fee`` = 300 under the same name."""
    parent = (FIXTURES / "events" / "call_parent_c8.bpmn").read_text(encoding="utf-8").replace(
        '<zeebe:input source="=dossier" target="case_no" />',
        '<zeebe:input source="=dossier" target="case_no" /><zeebe:input source="=fee * 2" target="fee" />')
    assert 'target="fee"' in parent
    (tmp_path / "call_parent_c8.bpmn").write_text(parent, encoding="utf-8")
    deploy(session, clock, "call_child_c8.bpmn")
    Deployer(session).deploy([SourceFile("call_parent_c8.bpmn", parent.encode())], actor=None, now=clock.now)
    engine = engine_for(session, mode)
    started = engine.start("dossier_main_c8", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                           business_key="HS-043", variables={"dossier": "HS-043", "fee": 150})  # fmt: skip
    (child,) = children(session, started.id)
    appraise = open_tasks(session, child.id)["appraise"]
    assert engine.task_data(appraise)["fee"] == 300  # what the called process was given
    engine.complete(appraise.id, actor=users["chuyenvien"], now=clock.now, variables={"approved": True,
                                                                                      "result": "Đạt"})  # fmt: skip
    data = engine.task_data(open_tasks(session, started.id)["sign"])
    assert (data["fee"], data["dossier"], data["appraisal_result"]) == (150, "HS-043", "Đạt")
