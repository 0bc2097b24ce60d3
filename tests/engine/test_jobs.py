"""Send tasks and message throw events wait for workers like service tasks, in both dialects, straight and
with the workflow reloaded from the database between steps; a message throw with no job is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Deployer, Engine, SourceFile
from engine.errors import DeploymentRejected
from engine.org.models import Unit, User
from engine.runtime.engine import WorkflowCache
from engine.runtime.jobs import ExternalJob, complete_job, fetch_and_lock
from engine.runtime.messages import correlate
from engine.runtime.models import HistoryEvent, ProcessInstance
from engine.runtime.sweeps import sweep_timers
from tests.conftest import CORPUS, FIXTURES, Clock, deploy_fixture, integration_account

pytestmark = pytest.mark.usefixtures("library")
MODES = ["straight", "reload"]
DOSSIER = {"code": "000.00.12.H15-261123-0001"}
WORKER = "igate-connector"


def admin_of(engine: Engine) -> User:
    return integration_account(engine.session)


def engine_for(session: Session, mode: str) -> Engine:
    return Engine(session, cache=WorkflowCache() if mode == "straight" else None)


def work(engine: Engine, clock: Clock, topic: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """A worker fetches the one open job of ``topic`` and completes it with ``variables``; returns the job."""
    [job] = fetch_and_lock(engine, WORKER, [topic],
                           actor=admin_of(engine), max_jobs=10, lock=timedelta(minutes=5), now=clock.now)  # fmt: skip
    complete_job(engine, job["id"], WORKER, variables or {}, actor=admin_of(engine), now=clock.now)
    return job


def open_jobs(session: Session, instance_id: int) -> list[tuple[str, str]]:
    session.expire_all()
    stmt = select(ExternalJob).where(ExternalJob.instance_id == instance_id, ExternalJob.state == "open")
    return [(j.element_id, j.job_type) for j in session.scalars(stmt)]


def status(session: Session, instance_id: int) -> str:
    session.expire_all()
    instance = session.get(ProcessInstance, instance_id)
    assert instance is not None
    return instance.status


def completed_jobs(session: Session, instance_id: int) -> list[str | None]:
    stmt = select(HistoryEvent.element_id).where(HistoryEvent.instance_id == instance_id,
                                                 HistoryEvent.kind == "job_completed")  # fmt: skip
    return list(session.scalars(stmt.order_by(HistoryEvent.id)))


@pytest.mark.parametrize("mode", MODES)
def test_camunda8_send_task_message_throw_and_message_end_are_jobs(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    deploy_fixture(session, clock.now, "send_result_c8.bpmn")
    engine = engine_for(session, mode)
    instance = engine.start("send_result_c8", actor=users["chuyenvien"], unit_id=unit.id, now=clock.now,
                            variables={"dossier": DOSSIER})  # fmt: skip
    assert open_jobs(session, instance.id) == [("notify_citizen", "igate.notify")]

    notify = work(engine, clock, "igate.notify", {"receipt": "SMS-0001", "provider": "viettel"})
    assert notify["headers"] == {"channel": "sms"} and notify["retries"] == 5
    assert notify["variables"]["code"] == DOSSIER["code"]  # its input mapping
    assert open_jobs(session, instance.id) == [("publish_result", "portal.publish")]  # the throw event waits

    publish = work(engine, clock, "portal.publish")
    assert publish["variables"]["notificationReceipt"] == "SMS-0001"  # the send task's output mapping
    assert "receipt" not in publish["variables"] and "provider" not in publish["variables"]
    assert status(session, instance.id) == "running"

    returned = work(engine, clock, "igate.return")  # the message end event
    assert returned["retries"] == 2
    assert status(session, instance.id) == "completed"
    assert completed_jobs(session, instance.id) == ["notify_citizen", "publish_result", "return_dossier"]


@pytest.mark.parametrize("mode", MODES)
def test_camunda7_external_send_task_and_message_end_event(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    registry = {"#{clock.pause(execution)}": "eiso.pause_clock", "${recordsClassifier}": "records.classify",
                "org.camunda.bpm.example.invoice.service.ArchiveInvoiceService": "archive.store",
                "${resultPublisher}": "portal.publish"}  # fmt: skip
    source = SourceFile("send_result_c7.bpmn", (FIXTURES / "send_result_c7.bpmn").read_bytes())
    Deployer(session, delegates=registry).deploy([source], actor=None, now=clock.now)
    engine = engine_for(session, mode)
    instance = engine.start("send_result_c7", actor=users["chuyenvien"], unit_id=unit.id, now=clock.now,
                            variables={"dossier": DOSSIER})  # fmt: skip

    notify = work(engine, clock, "igate.notify", {"receipt": "SMS-0002"})
    assert notify["variables"]["code"] == DOSSIER["code"]  # camunda:inputParameter
    for topic in ("archive.store", "records.classify"):
        job = work(engine, clock, topic)
        assert job["variables"]["notificationReceipt"] == "SMS-0002" and "receipt" not in job["variables"]
    work(engine, clock, "portal.publish")
    assert open_jobs(session, instance.id) == [("return_dossier", "igate.return")]  # topic on the message definition
    work(engine, clock, "igate.return")
    assert status(session, instance.id) == "completed"


def _without(text: str, *parts: str) -> bytes:
    for part in parts:
        assert part in text
        text = text.replace(part, "")
    return text.encode()


def test_a_message_throw_without_a_job_is_refused_in_camunda8_and_a_none_event_in_camunda7(
    session: Session, clock: Clock
) -> None:
    c8 = _without((FIXTURES / "send_result_c8.bpmn").read_text(), '<zeebe:taskDefinition type="portal.publish" />',
                  '<zeebe:taskDefinition type="igate.return" retries="2" />')  # fmt: skip
    c7 = _without((FIXTURES / "send_result_c7.bpmn").read_text(), ' camunda:delegateExpression="${resultPublisher}"',
                  ' camunda:type="external" camunda:topic="igate.return"')  # fmt: skip
    deployer = Deployer(session, delegates={"${recordsClassifier}": "x", "#{clock.pause(execution)}": "y",
                                            "org.camunda.bpm.example.invoice.service.ArchiveInvoiceService": "z"})
    with pytest.raises(DeploymentRejected) as refused:  # Camunda 8 sends a message through a job's worker only
        deployer.deploy([SourceFile("c8.bpmn", c8)], actor=None, now=clock.now)
    problems = refused.value.problems
    assert [(p.element_id, p.element_name) for p in problems] == [
        ("publish_result", "Công bố kết quả"), ("return_dossier", "Trả hồ sơ qua iGate")]  # fmt: skip
    assert all(p.file == "c8.bpmn" and p.line for p in problems)
    assert all("needs a job whose worker sends it" in p.message and "task definition type" in p.message
               and "external topic on its message definition" in p.message for p in problems)  # fmt: skip
    assert session.scalar(select(ProcessInstance.id)) is None
    # Camunda 7 runs a message throw or end event without an implementation as a none event
    (deployed,) = deployer.deploy([SourceFile("c7.bpmn", c7)], actor=None, now=clock.now).definitions
    assert deployed.executable


@pytest.mark.parametrize("mode", MODES)
def test_the_corpus_document_request_sends_by_worker_and_reminds_daily(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    """The OMG MIWG reference model C.9.1: two send tasks (job type ``email``), a receive task and timers."""
    path = CORPUS / "miwg-reference" / "C.9.1.bpmn"
    if not path.exists():
        pytest.skip(f"no shared corpus at {CORPUS}")
    Deployer(session).deploy([SourceFile(path.name, path.read_bytes())], actor=None, now=clock.now)
    engine = engine_for(session, mode)
    instance = engine.start("requestDocument_en", actor=users["admin"], unit_id=unit.id, now=clock.now,
                            variables={"documentReferenceId": "DOC-7"})  # fmt: skip
    work(engine, clock, "email", {"sent": True})
    assert open_jobs(session, instance.id) == []  # waiting for the answer

    clock.advance(days=1, minutes=1)
    assert sweep_timers(session, clock.now).fired == 1  # the daily reminder (non-interrupting)
    reminder = work(engine, clock, "email")
    assert reminder["element_id"] == "SendTask_SendReminderEmail"

    result = correlate(engine, "MESSAGE_documentReceived", "DOC-7", {"document": "scan.pdf"}, actor=users["admin"],
                       unit=None, now=clock.now)  # fmt: skip
    assert result.correlated == [instance.id]
    assert status(session, instance.id) == "completed"
    assert completed_jobs(session, instance.id) == ["SendTask_RequestDocument", "SendTask_SendReminderEmail"]


def test_a_process_variable_named_departments_reaches_the_worker(session: Session, users: dict[str, User],
                                                                 unit: Unit, clock: Clock) -> None:
    deploy_fixture(session, clock.now, "send_result_c8.bpmn")
    engine = Engine(session)
    own = [{"code": "P1", "name": "Phòng một cửa"}]  # the process's own list, not the unit's
    engine.start("send_result_c8", actor=users["admin"], unit_id=unit.id, now=clock.now,
                 variables={"departments": own})  # fmt: skip
    jobs = fetch_and_lock(engine, "w1", ["igate.notify"], actor=users["admin"], max_jobs=1,
                          lock=timedelta(minutes=5), now=clock.now)  # fmt: skip
    assert jobs[0]["variables"]["departments"] == own
