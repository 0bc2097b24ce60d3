"""Error and escalation event subprocesses inside an embedded subprocess, as Camunda 7 and 8 run them: an
error thrown in the subprocess (an error end event, or a worker's BPMN error for a job) starts the
subprocess's own error event subprocess, which stops the rest of that subprocess; when it ends the
subprocess completes and the flow after it goes on. An error nobody inside catches goes up to the next
scope. An escalation starts the innermost scope's escalation event subprocess, interrupting or not. Both
dialects, straight and with the workflow reloaded from the database between steps, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine
from engine.library.deploy import Deployer, SourceFile
from engine.org.models import Unit, User
from engine.runtime.engine import WorkflowCache
from engine.runtime.jobs import ExternalJob, complete_job, fetch_and_lock, throw_job_error
from engine.runtime.models import HistoryEvent, ProcessInstance, TaskRow
from tests.conftest import FIXTURES, Clock, integration_account

pytestmark = pytest.mark.usefixtures("library")
MODES = ["straight", "reload"]


def deploy(session: Session, clock: Clock, name: str, text: str | None = None) -> None:
    data = text.encode() if text is not None else (FIXTURES / "events" / name).read_bytes()
    Deployer(session).deploy([SourceFile(name, data)], actor=None, now=clock.now)


def engine_for(session: Session, mode: str) -> Engine:
    return Engine(session, cache=WorkflowCache() if mode == "straight" else None)


def open_tasks(session: Session, instance_id: int) -> list[TaskRow]:
    session.expire_all()
    stmt = select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == "open").order_by(TaskRow.name)
    return list(session.scalars(stmt))


def elements(session: Session, instance_id: int) -> list[str]:
    return sorted(r.element_id for r in open_tasks(session, instance_id))


def task(session: Session, instance_id: int, element: str) -> TaskRow:
    return next(r for r in open_tasks(session, instance_id) if r.element_id == element)


def history(session: Session, instance_id: int, kind: str) -> list[HistoryEvent]:
    stmt = select(HistoryEvent).where(HistoryEvent.instance_id == instance_id, HistoryEvent.kind == kind)
    return list(session.scalars(stmt.order_by(HistoryEvent.id)))


def status(session: Session, instance_id: int) -> str:
    session.expire_all()
    instance = session.get(ProcessInstance, instance_id)
    assert instance is not None
    return instance.status


def jobs(session: Session, instance_id: int) -> list[tuple[str, str]]:
    session.expire_all()
    stmt = select(ExternalJob).where(ExternalJob.instance_id == instance_id)
    return sorted((j.element_id, j.state) for j in session.scalars(stmt))


def complete(engine: Engine, session: Session, instance_id: int, element: str, user: User,
             **variables: object) -> None:  # fmt: skip
    engine.complete(task(session, instance_id, element).id, actor=user, now=Clock.now, variables=dict(variables))


def lock(engine: Engine, clock: Clock, topic: str) -> str:
    [job] = fetch_and_lock(engine, "w", [topic], actor=integration_account(engine.session), max_jobs=1,
                           lock=timedelta(minutes=5), now=clock.now)  # fmt: skip
    return str(job["id"])


def no_stall(session: Session, instance_id: int) -> None:
    """The good path leaves nothing behind: no incident, no error or escalation that nobody caught."""
    for kind in ("incident", "error_uncaught", "escalation_uncaught"):
        assert history(session, instance_id, kind) == [], kind


# --- Camunda 8 ----------------------------------------------------------------------------------------------


def start_c8(session: Session, clock: Clock, users: dict[str, User], unit: Unit, mode: str,
             text: str | None = None) -> tuple[Engine, int]:  # fmt: skip
    deploy(session, clock, "inspection_errors_c8.bpmn", text)
    engine = engine_for(session, mode)
    instance_id = engine.start("inspection_errors_c8", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                               variables={"dossier": "HS-001"}).id  # fmt: skip
    complete(engine, session, instance_id, "receive", users["chuyenvien"])
    assert elements(session, instance_id) == ["inspect"]
    assert jobs(session, instance_id) == [("verify", "open")]
    return engine, instance_id


@pytest.mark.parametrize("mode", MODES)
def test_an_error_end_event_starts_the_subprocess_own_error_event_subprocess(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, instance_id = start_c8(session, clock, users, unit, mode)
    complete(engine, session, instance_id, "inspect", users["chuyenvien"], finding="invalid")
    assert elements(session, instance_id) == ["request_supplement"]
    assert jobs(session, instance_id) == [("verify", "cancelled")]  # the rest of the subprocess stopped
    assert [(e.element_id, e.data) for e in history(session, instance_id, "error_thrown")] == \
        [("invalid_end", {"code": "DOSSIER_INVALID"})]
    [started] = history(session, instance_id, "event_subprocess_started")
    assert (started.element_id, started.data) == ("invalid_handling", {"interrupting": True})
    [interrupted] = history(session, instance_id, "scope_interrupted")
    assert interrupted.element_id == "invalid_handling"
    assert interrupted.data["cancelled"] == ["Đối chiếu dữ liệu dân cư"]
    assert engine.task_data(task(session, instance_id, "request_supplement"))["finding"] == "invalid"

    complete(engine, session, instance_id, "request_supplement", users["chuyenvien"])
    assert elements(session, instance_id) == ["sign"]  # the subprocess completed; the flow after it goes on
    complete(engine, session, instance_id, "sign", users["giamdoc"])
    assert status(session, instance_id) == "completed"
    assert history(session, instance_id, "task_cancelled") == []  # no person's task was running there
    no_stall(session, instance_id)


@pytest.mark.parametrize("mode", MODES)
def test_a_worker_error_inside_the_subprocess_is_caught_by_its_event_subprocess(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, instance_id = start_c8(session, clock, users, unit, mode)
    job_id = lock(engine, clock, "igate-verify")
    assert throw_job_error(engine, job_id, "w", "DOSSIER_INVALID", "Thiếu bản sao CCCD",
                           {"reason": "Thiếu bản sao CCCD"}, actor=integration_account(session), now=clock.now)
    assert elements(session, instance_id) == ["request_supplement"]
    assert engine.task_data(task(session, instance_id, "request_supplement"))["reason"] == "Thiếu bản sao CCCD"
    assert jobs(session, instance_id) == [("verify", "completed")]
    assert [e.element_id for e in history(session, instance_id, "task_cancelled")] == ["inspect"]
    [interrupted] = history(session, instance_id, "scope_interrupted")  # the job's own step with the rest
    assert interrupted.data["cancelled"] == ["Kiểm tra thành phần hồ sơ", "Đối chiếu dữ liệu dân cư"]
    assert [e.data["code"] for e in history(session, instance_id, "job_error_thrown")] == ["DOSSIER_INVALID"]
    assert history(session, instance_id, "boundary_event_fired") == []

    complete(engine, session, instance_id, "request_supplement", users["chuyenvien"])
    assert elements(session, instance_id) == ["sign"]
    complete(engine, session, instance_id, "sign", users["giamdoc"])
    assert status(session, instance_id) == "completed"
    no_stall(session, instance_id)


@pytest.mark.parametrize("mode", MODES)
def test_an_error_the_subprocess_does_not_catch_goes_up_to_the_boundary_event_on_it(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, instance_id = start_c8(session, clock, users, unit, mode)
    job_id = lock(engine, clock, "igate-verify")
    assert throw_job_error(engine, job_id, "w", "FRAUD", "Hồ sơ giả", {}, actor=integration_account(session),
                           now=clock.now)  # fmt: skip
    assert elements(session, instance_id) == ["report_fraud"]  # the whole subprocess stopped, sign is not reached
    assert history(session, instance_id, "event_subprocess_started") == []
    assert [e.element_id for e in history(session, instance_id, "task_cancelled")] == ["inspect"]
    complete(engine, session, instance_id, "report_fraud", users["giamdoc"])
    assert status(session, instance_id) == "completed"
    no_stall(session, instance_id)


@pytest.mark.parametrize("mode", MODES)
def test_an_error_thrown_inside_the_error_event_subprocess_goes_out_of_the_subprocess(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    text = (FIXTURES / "events" / "inspection_errors_c8.bpmn").read_text(encoding="utf-8")
    end = '<bpmn:endEvent id="invalid_handled"><bpmn:incoming>e2</bpmn:incoming></bpmn:endEvent>'
    for code, ref in (("FRAUD", "Error_fraud"), ("DOSSIER_INVALID", "Error_invalid")):
        throwing = text.replace(end, end.replace("</bpmn:endEvent>", f'<bpmn:errorEventDefinition id="E_{code}" '
                                                 f'errorRef="{ref}" /></bpmn:endEvent>'))  # fmt: skip
        assert throwing != text
        engine, instance_id = start_c8(session, clock, users, unit, mode, throwing)
        complete(engine, session, instance_id, "inspect", users["chuyenvien"], finding="invalid")
        complete(engine, session, instance_id, "request_supplement", users["chuyenvien"])
        started = [e.element_id for e in history(session, instance_id, "event_subprocess_started")]
        assert started == ["invalid_handling"]  # never started again by what it throws itself
        if code == "FRAUD":  # the boundary event on the subprocess catches it
            assert elements(session, instance_id) == ["report_fraud"]
            no_stall(session, instance_id)
        else:  # nothing further out catches it: recorded as uncaught, and the end event ends the subprocess
            assert elements(session, instance_id) == ["sign"]
            assert [e.data["code"] for e in history(session, instance_id, "error_uncaught")] == [code]


@pytest.mark.parametrize("mode", MODES)
def test_an_escalation_adds_a_path_in_the_subprocess_which_waits_for_it(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, instance_id = start_c8(session, clock, users, unit, mode)
    complete(engine, session, instance_id, "inspect", users["chuyenvien"], finding="late")
    assert elements(session, instance_id) == ["inform_leader"]
    assert jobs(session, instance_id) == [("verify", "open")]  # not interrupted: the verification goes on
    assert [(e.element_id, e.data) for e in history(session, instance_id, "escalation_thrown")] == \
        [("report_late", {"code": "LATE"})]
    [started] = history(session, instance_id, "event_subprocess_started")
    assert (started.element_id, started.data) == ("late_handling", {"interrupting": False})
    assert history(session, instance_id, "scope_interrupted") == []

    complete_job(engine, lock(engine, clock, "igate-verify"), "w", {"verified": True},
                 actor=integration_account(session), now=clock.now)  # fmt: skip
    assert elements(session, instance_id) == ["inform_leader"]  # the subprocess waits for the added path
    complete(engine, session, instance_id, "inform_leader", users["giamdoc"])
    assert elements(session, instance_id) == ["sign"]
    complete(engine, session, instance_id, "sign", users["giamdoc"])
    assert status(session, instance_id) == "completed"
    no_stall(session, instance_id)


@pytest.mark.parametrize("mode", MODES)
def test_an_interrupting_escalation_event_subprocess_stops_the_rest_of_the_subprocess(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    text = (FIXTURES / "events" / "inspection_errors_c8.bpmn").read_text(encoding="utf-8")
    interrupting = text.replace(' name="Quá hạn" isInterrupting="false"', ' name="Quá hạn"')
    assert interrupting != text
    engine, instance_id = start_c8(session, clock, users, unit, mode, interrupting)
    complete(engine, session, instance_id, "inspect", users["chuyenvien"], finding="late")
    assert elements(session, instance_id) == ["inform_leader"]
    assert jobs(session, instance_id) == [("verify", "cancelled")]
    [started] = history(session, instance_id, "event_subprocess_started")
    assert (started.element_id, started.data) == ("late_handling", {"interrupting": True})
    [interrupted] = history(session, instance_id, "scope_interrupted")  # and the path that threw, at the join
    assert interrupted.data["cancelled"] == ["join", "Đối chiếu dữ liệu dân cư"]
    complete(engine, session, instance_id, "inform_leader", users["giamdoc"])
    assert elements(session, instance_id) == ["sign"]
    complete(engine, session, instance_id, "sign", users["giamdoc"])
    assert status(session, instance_id) == "completed"
    no_stall(session, instance_id)


# --- Camunda 7 ----------------------------------------------------------------------------------------------


def start_c7(session: Session, clock: Clock, users: dict[str, User], unit: Unit, mode: str) -> tuple[Engine, int]:
    deploy(session, clock, "permit_scope_c7.bpmn")
    engine = engine_for(session, mode)
    instance_id = engine.start("permit_scope_c7", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                               business_key="GP-001").id  # fmt: skip
    assert jobs(session, instance_id) == [("check_register", "open")]
    return engine, instance_id


@pytest.mark.parametrize("mode", MODES)
def test_camunda7_a_bpmn_error_from_an_external_task_is_caught_inside_the_subprocess(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, instance_id = start_c7(session, clock, users, unit, mode)
    assert throw_job_error(engine, lock(engine, clock, "register-check"), "w", "REGISTER_MISSING",
                           "Không có số đăng ký 12/2026", {}, actor=integration_account(session), now=clock.now)
    assert elements(session, instance_id) == ["fix_register"]
    data = engine.task_data(task(session, instance_id, "fix_register"))
    assert (data["errorCode"], data["errorMessage"]) == ("REGISTER_MISSING", "Không có số đăng ký 12/2026")
    [started] = history(session, instance_id, "event_subprocess_started")
    assert (started.element_id, started.data) == ("register_missing", {"interrupting": True})
    complete(engine, session, instance_id, "fix_register", users["chuyenvien"])
    assert elements(session, instance_id) == ["issue"]
    complete(engine, session, instance_id, "issue", users["chuyenvien"])
    assert status(session, instance_id) == "completed"
    no_stall(session, instance_id)


@pytest.mark.parametrize("mode", MODES)
def test_camunda7_an_escalation_end_event_hands_the_subprocess_to_its_escalation_event_subprocess(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, instance_id = start_c7(session, clock, users, unit, mode)
    complete_job(engine, lock(engine, clock, "register-check"), "w", {}, actor=integration_account(session),
                 now=clock.now)  # fmt: skip
    complete(engine, session, instance_id, "assess", users["chuyenvien"], needLeader=True)
    assert elements(session, instance_id) == ["leader_decides"]
    assert [(e.element_id, e.data) for e in history(session, instance_id, "escalation_thrown")] == \
        [("to_leader", {"code": "TO_LEADER"})]
    [started] = history(session, instance_id, "event_subprocess_started")
    assert (started.element_id, started.data) == ("leader_decision", {"interrupting": True})
    complete(engine, session, instance_id, "leader_decides", users["giamdoc"])
    assert elements(session, instance_id) == ["issue"]
    complete(engine, session, instance_id, "issue", users["chuyenvien"])
    assert status(session, instance_id) == "completed"
    no_stall(session, instance_id)


@pytest.mark.parametrize("mode", MODES)
def test_camunda7_without_an_error_or_escalation_the_event_subprocesses_never_start(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, instance_id = start_c7(session, clock, users, unit, mode)
    complete_job(engine, lock(engine, clock, "register-check"), "w", {}, actor=integration_account(session),
                 now=clock.now)  # fmt: skip
    complete(engine, session, instance_id, "assess", users["chuyenvien"], needLeader=False)
    assert elements(session, instance_id) == ["issue"]
    assert history(session, instance_id, "event_subprocess_started") == []
    complete(engine, session, instance_id, "issue", users["chuyenvien"])
    assert status(session, instance_id) == "completed"
    no_stall(session, instance_id)


MULTI = ('<bpmn:subProcess id="inspection" name="Kiểm tra hồ sơ">\n      <bpmn:multiInstanceLoopCharacteristics>\n'
         '        <bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=dossiers" '
         'inputElement="dossier" /></bpmn:extensionElements>\n      </bpmn:multiInstanceLoopCharacteristics>')


@pytest.mark.parametrize("mode", MODES)
def test_an_error_in_one_copy_of_a_multi_instance_subprocess_stops_that_copy_only(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    text = (FIXTURES / "events" / "inspection_errors_c8.bpmn").read_text(encoding="utf-8")
    multi = text.replace('<bpmn:subProcess id="inspection" name="Kiểm tra hồ sơ">', MULTI)
    assert multi != text
    deploy(session, clock, "inspection_errors_c8.bpmn", multi)
    engine = engine_for(session, mode)
    instance_id = engine.start("inspection_errors_c8", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                               variables={"dossiers": ["HS-A", "HS-B"]}).id  # fmt: skip
    complete(engine, session, instance_id, "receive", users["chuyenvien"])
    assert elements(session, instance_id) == ["inspect", "inspect"]
    first = next(r for r in open_tasks(session, instance_id) if engine.task_data(r)["dossier"] == "HS-A")
    engine.complete(first.id, actor=users["chuyenvien"], now=clock.now, variables={"finding": "invalid"})
    assert elements(session, instance_id) == ["inspect", "request_supplement"]  # copy B goes on
    assert jobs(session, instance_id) == [("verify", "cancelled"), ("verify", "open")]
    assert engine.task_data(task(session, instance_id, "request_supplement"))["dossier"] == "HS-A"

    complete(engine, session, instance_id, "request_supplement", users["chuyenvien"])
    complete(engine, session, instance_id, "inspect", users["chuyenvien"])
    complete_job(engine, lock(engine, clock, "igate-verify"), "w", {}, actor=integration_account(session),
                 now=clock.now)  # fmt: skip
    assert elements(session, instance_id) == ["sign"]
    complete(engine, session, instance_id, "sign", users["giamdoc"])
    assert status(session, instance_id) == "completed"
    no_stall(session, instance_id)
