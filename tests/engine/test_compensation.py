"""Compensation as Camunda runs it, in both dialects, on both databases, straight and with save/reload: a
refused dossier undoes what was done for it (the appointment booked, the fee charged), each handler a task or
a worker's job like any other, and only then goes on. Camunda 7 runs the handlers one after the other, the
last completed activity's first; Camunda 8 starts them all at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine
from engine.library.deploy import Deployer, SourceFile
from engine.org.models import Unit, User
from engine.runtime.jobs import ExternalJob, complete_job, fetch_and_lock
from tests.conftest import FIXTURES, Clock, integration_account
from tests.engine.test_event_gateways import refused
from tests.engine.test_events import engine_for, events, open_tasks, status

pytestmark = pytest.mark.usefixtures("library")
MODES = ["straight", "reload"]
DIALECTS = ["c8", "c7"]


def run_job(engine: Engine, clock: Clock, topic: str, variables: dict[str, object]) -> None:
    admin = integration_account(engine.session)
    [job] = fetch_and_lock(engine, "payments", [topic], actor=admin, max_jobs=5, lock=timedelta(minutes=5),
                           now=clock.now)  # fmt: skip
    complete_job(engine, str(job["id"]), "payments", variables, actor=admin, now=clock.now)


def open_jobs(session: Session, instance_id: int) -> list[str]:
    session.expire_all()
    stmt = select(ExternalJob.job_type).where(ExternalJob.instance_id == instance_id, ExternalJob.state == "open")
    return list(session.scalars(stmt))


def appraised(session: Session, clock: Clock, users: dict[str, User], unit: Unit, mode: str, dialect: str,
              valid: bool, text: str | None = None) -> tuple[Engine, int]:  # fmt: skip
    """Fee charged, appointment booked, dossier appraised as valid or not (``text``: the diagram changed)."""
    name = f"fee_compensation_{dialect}.bpmn"
    source = text.encode() if text is not None else (FIXTURES / "events" / name).read_bytes()
    Deployer(session).deploy([SourceFile(name, source)], actor=None, now=clock.now)
    engine = engine_for(session, mode)
    instance_id = engine.start(f"fee_compensation_{dialect}", actor=users["thuky"], unit_id=unit.id,
                               now=clock.now, variables={"dossier": "HS-01"}).id  # fmt: skip
    run_job(engine, clock, "payment-charge", {"receipt": "BL-0001"})
    clock.advance(minutes=5)
    engine.complete(open_tasks(session, instance_id)["book_appointment"].id, actor=users["chuyenvien"],
                    now=clock.now, variables={"appointment": "2026-12-01"})  # fmt: skip
    clock.advance(minutes=5)
    engine.complete(open_tasks(session, instance_id)["appraise"].id, actor=users["chuyenvien"], now=clock.now,
                    variables={"valid": valid})  # fmt: skip
    return engine, instance_id


@pytest.mark.parametrize("mode", MODES)
def test_camunda7_undoes_a_refused_dossier_last_completed_first(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, instance_id = appraised(session, clock, users, unit, mode, "c7", valid=False)
    # the appointment was booked last: it is cancelled first, and the refund waits meanwhile
    tasks = open_tasks(session, instance_id)
    assert list(tasks) == ["cancel_appointment"] and open_jobs(session, instance_id) == []
    assert engine.task_data(tasks["cancel_appointment"])["appointment"] == "2026-12-01"
    [thrown] = events(session, instance_id, "compensation_thrown")
    assert thrown.data["activities"] == ["book_appointment", "charge_fee"]
    engine.complete(tasks["cancel_appointment"].id, actor=users["chuyenvien"], now=clock.now,
                    variables={"appointment_cancelled": True})  # fmt: skip
    assert open_tasks(session, instance_id) == {} and open_jobs(session, instance_id) == ["payment-refund"]
    run_job(engine, clock, "payment-refund", {"refunded": 50000})
    # an intermediate throw: the flow goes on after the handlers, with what they wrote
    inform = open_tasks(session, instance_id)["inform_citizen"]
    data = engine.task_data(inform)
    assert (data["appointment_cancelled"], data["refunded"]) == (True, 50000)
    engine.complete(inform.id, actor=users["chuyenvien"], now=clock.now, variables={})
    assert status(session, instance_id) == "completed"
    started = [(e.element_id, e.data["undoes"]) for e in events(session, instance_id, "compensation_started")]
    assert started == [("cancel_appointment", "book_appointment"), ("refund_fee", "charge_fee")]
    assert events(session, instance_id, "incident") == []


@pytest.mark.parametrize("mode", MODES)
def test_camunda8_undoes_a_refused_dossier_with_all_handlers_at_once(session: Session, users: dict[str, User],
                                                                     unit: Unit, clock: Clock,
                                                                     mode: str) -> None:  # fmt: skip
    engine, instance_id = appraised(session, clock, users, unit, mode, "c8", valid=False)
    tasks = open_tasks(session, instance_id)
    assert list(tasks) == ["cancel_appointment"] and open_jobs(session, instance_id) == ["payment-refund"]
    run_job(engine, clock, "payment-refund", {"refunded": 50000})
    assert status(session, instance_id) == "running"  # the end event waits for every handler
    engine.complete(tasks["cancel_appointment"].id, actor=users["chuyenvien"], now=clock.now,
                    variables={"appointment_cancelled": True})  # fmt: skip
    assert status(session, instance_id) == "completed"
    started = [(e.element_id, e.data["undoes"]) for e in events(session, instance_id, "compensation_started")]
    assert started == [("cancel_appointment", "book_appointment"), ("refund_fee", "charge_fee")]
    assert events(session, instance_id, "incident") == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_valid_dossier_undoes_nothing(session: Session, users: dict[str, User], unit: Unit, clock: Clock,
                                        dialect: str) -> None:  # fmt: skip
    _, instance_id = appraised(session, clock, users, unit, "reload", dialect, valid=True)
    assert status(session, instance_id) == "completed"
    assert events(session, instance_id, "compensation_started") == []


def compensation_fixture(dialect: str = "c8") -> str:
    return (FIXTURES / "events" / f"fee_compensation_{dialect}.bpmn").read_text()


def test_a_compensation_boundary_event_without_its_handler_is_refused(session: Session, clock: Clock) -> None:
    text = compensation_fixture().replace(
        '<bpmn:association id="Association_1" associationDirection="One" sourceRef="charge_undo" '
        'targetRef="refund_fee" />', "")
    problems = refused(session, clock, "fee.bpmn", text)
    assert ("charge_undo", "The compensation boundary event has no compensation handler: connect it with an "
            "association to the activity that undoes the work (marked 'for compensation').") in problems  # fmt: skip


def not_waiting(dialect: str) -> str:
    return compensation_fixture(dialect).replace(
        '<bpmn:compensateEventDefinition id="CompensateEventDefinition_throw" />',
        '<bpmn:compensateEventDefinition id="CompensateEventDefinition_throw" waitForCompletion="false" />')


def test_camunda8_compensation_that_would_not_wait_is_refused(session: Session, clock: Clock) -> None:
    problems = refused(session, clock, "fee.bpmn", not_waiting("c8"))  # Camunda 8 refuses it too
    assert problems == [("undo", "eISO waits for compensation to complete before going on; remove 'wait for "
                         "completion = false' from this event.")]  # fmt: skip


@pytest.mark.parametrize("mode", MODES)
def test_camunda7_compensation_that_would_not_wait_waits_as_in_camunda7(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    result = Deployer(session).deploy([SourceFile("fee.bpmn", not_waiting("c7").encode())], actor=None,
                                      now=clock.now)  # fmt: skip
    assert [(w.element_id, str(w.message)) for w in result.warnings] == [
        ("undo_throw", "'Wait for completion = false' is not followed, as in Camunda 7: the flow goes on once every "
         "compensation handler has completed.")]  # fmt: skip
    engine, instance_id = appraised(session, clock, users, unit, mode, "c7", valid=False, text=not_waiting("c7"))
    assert list(open_tasks(session, instance_id)) == ["cancel_appointment"]  # not yet the citizen's letter
    engine.complete(open_tasks(session, instance_id)["cancel_appointment"].id, actor=users["chuyenvien"],
                    now=clock.now, variables={})  # fmt: skip
    assert open_tasks(session, instance_id) == {} and open_jobs(session, instance_id) == ["payment-refund"]
    run_job(engine, clock, "payment-refund", {"refunded": 50000})
    assert engine.task_data(open_tasks(session, instance_id)["inform_citizen"])["refunded"] == 50000


def test_a_throw_naming_an_activity_without_a_handler_is_refused(session: Session, clock: Clock) -> None:
    text = compensation_fixture("c7").replace('<bpmn:compensateEventDefinition id="CompensateEventDefinition_throw" />',
                                              '<bpmn:compensateEventDefinition id="CompensateEventDefinition_throw" '
                                              'activityRef="appraise" />')  # fmt: skip
    problems = refused(session, clock, "fee.bpmn", text)
    assert problems == [("undo_throw", "The compensation event names the activity 'appraise', which has no "
                         "compensation handler in the same process or subprocess; choose one that has.")]  # fmt: skip


def test_a_compensation_boundary_event_no_throw_reaches_is_refused(session: Session, clock: Clock) -> None:
    text = compensation_fixture().replace('<bpmn:compensateEventDefinition id="CompensateEventDefinition_throw" />',
                                          "")  # fmt: skip
    problems = refused(session, clock, "fee.bpmn", text)
    message = ("No compensation throw or end event runs this compensation: none is in the same process or "
               "subprocess, nor in one that holds it. Add one there, or remove the compensation.")
    assert problems == [("charge_undo", message), ("appointment_undo", message)]


def test_a_throw_naming_one_activity_undoes_only_that_one(session: Session, users: dict[str, User], unit: Unit,
                                                          clock: Clock) -> None:  # fmt: skip
    text = compensation_fixture("c7").replace('<bpmn:compensateEventDefinition id="CompensateEventDefinition_throw" />',
                                              '<bpmn:compensateEventDefinition id="CompensateEventDefinition_throw" '
                                              'activityRef="charge_fee" />')  # fmt: skip
    engine, instance_id = appraised(session, clock, users, unit, "reload", "c7", valid=False, text=text)
    assert open_tasks(session, instance_id) == {} and open_jobs(session, instance_id) == ["payment-refund"]
    run_job(engine, clock, "payment-refund", {})
    assert list(open_tasks(session, instance_id)) == ["inform_citizen"]  # the appointment stays booked
    assert [e.element_id for e in events(session, instance_id, "compensation_started")] == ["refund_fee"]


@pytest.mark.parametrize("mode", MODES)
def test_an_activity_completed_in_two_rounds_is_undone_twice_the_later_round_first(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    path = FIXTURES / "events" / "instalments_compensation_c7.bpmn"
    Deployer(session).deploy([SourceFile(path.name, path.read_bytes())], actor=None, now=clock.now)
    engine = engine_for(session, mode)
    instance_id = engine.start("instalments_c7", actor=users["thuky"], unit_id=unit.id, now=clock.now).id
    for amount, more in ((100, True), (200, False)):
        clock.advance(minutes=1)
        engine.complete(open_tasks(session, instance_id)["collect"].id, actor=users["chuyenvien"], now=clock.now,
                        variables={"amount": amount, "more": more})  # fmt: skip
    refunded = []
    for _ in range(2):
        refund = open_tasks(session, instance_id)["refund"]
        refunded.append(engine.task_data(refund)["amount"])  # the data as it is now: the last amount
        engine.complete(refund.id, actor=users["chuyenvien"], now=clock.now, variables={})
    assert status(session, instance_id) == "completed"
    assert refunded == [200, 200]  # process variables, as in Camunda: the handler reads them as they are now
    [thrown] = events(session, instance_id, "compensation_thrown")
    assert thrown.data["activities"] == ["collect", "collect"]
    assert len(events(session, instance_id, "compensation_started")) == 2
