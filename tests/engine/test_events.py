"""Errors, escalations, event subprocesses, conditions and signals as BPMN says, in both dialects,
straight and with the workflow reloaded from the database between steps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine
from engine.library.deploy import Deployer, DeploymentRejected, SourceFile
from engine.org.models import Unit, User
from engine.runtime.engine import WorkflowCache
from engine.runtime.jobs import ExternalJob, fetch_and_lock, throw_job_error
from engine.runtime.messages import correlate
from engine.runtime.models import HistoryEvent, ProcessInstance, TaskRow
from engine.runtime.sweeps import sweep_timers
from tests.conftest import FIXTURES, Clock, integration_account

pytestmark = pytest.mark.usefixtures("library")
MODES = ["straight", "reload"]


def admin_of(engine: Engine) -> User:
    return integration_account(engine.session)


def deploy(session: Session, clock: Clock, name: str) -> None:
    path = FIXTURES / "events" / name
    Deployer(session).deploy([SourceFile(name, path.read_bytes())], actor=None, now=clock.now)


def engine_for(session: Session, mode: str) -> Engine:
    return Engine(session, cache=WorkflowCache() if mode == "straight" else None)


def open_tasks(session: Session, instance_id: int) -> dict[str, TaskRow]:
    session.expire_all()
    rows = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == "open"))
    return {r.element_id: r for r in rows}


def status(session: Session, instance_id: int) -> str:
    session.expire_all()
    instance = session.get(ProcessInstance, instance_id)
    assert instance is not None
    return instance.status


def events(session: Session, instance_id: int, kind: str) -> list[HistoryEvent]:
    stmt = select(HistoryEvent).where(HistoryEvent.instance_id == instance_id, HistoryEvent.kind == kind)
    return list(session.scalars(stmt.order_by(HistoryEvent.id)))


def start_dossier(session: Session, clock: Clock, users: dict[str, User], unit: Unit, mode: str) -> tuple[Engine, int]:
    deploy(session, clock, "dossier_events_c8.bpmn")
    engine = engine_for(session, mode)
    instance = engine.start("dossier_events_c8", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                            variables={"dossier": "HS-001"})  # fmt: skip
    return engine, instance.id


def lock_job(engine: Engine, clock: Clock) -> str:
    jobs = fetch_and_lock(engine, "igate", ["igate-verify"],
                          actor=admin_of(engine), max_jobs=1, lock=timedelta(minutes=5), now=clock.now)  # fmt: skip
    assert len(jobs) == 1
    return str(jobs[0]["id"])


@pytest.mark.parametrize("mode", MODES)
def test_a_worker_error_takes_the_error_boundary_path(session: Session, users: dict[str, User], unit: Unit,
                                                      clock: Clock, mode: str) -> None:  # fmt: skip
    engine, instance_id = start_dossier(session, clock, users, unit, mode)
    job_id = lock_job(engine, clock)
    caught = throw_job_error(engine, job_id, "igate", "DOSSIER_INVALID", "Thiếu bản sao CCCD",
                             {"reason": "Thiếu bản sao CCCD"}, actor=admin_of(engine), now=clock.now)  # fmt: skip
    assert caught
    tasks = open_tasks(session, instance_id)
    assert list(tasks) == ["return_dossier"]
    assert engine.task_data(tasks["return_dossier"])["reason"] == "Thiếu bản sao CCCD"
    assert session.get(ExternalJob, job_id).state == "completed"  # type: ignore[union-attr]
    engine.complete(tasks["return_dossier"].id, actor=users["chuyenvien"], now=clock.now, variables={})
    assert status(session, instance_id) == "completed"
    assert [e.data["code"] for e in events(session, instance_id, "job_error_thrown")] == ["DOSSIER_INVALID"]


@pytest.mark.parametrize("mode", MODES)
def test_an_error_nobody_catches_becomes_an_incident(session: Session, users: dict[str, User], unit: Unit,
                                                     clock: Clock, mode: str) -> None:  # fmt: skip
    engine, instance_id = start_dossier(session, clock, users, unit, mode)
    job_id = lock_job(engine, clock)
    assert not throw_job_error(engine, job_id, "igate", "UNKNOWN_CODE", "?", {},
                               actor=admin_of(engine), now=clock.now)  # fmt: skip
    session.expire_all()
    assert session.get(ExternalJob, job_id).state == "incident"  # type: ignore[union-attr]
    assert "UNKNOWN_CODE" in events(session, instance_id, "incident")[0].data["error"]
    assert status(session, instance_id) == "running" and open_tasks(session, instance_id) == {}


def complete_job(engine: Engine, clock: Clock) -> None:
    from engine.runtime.jobs import complete_job as complete

    complete(engine, lock_job(engine, clock), "igate", {}, actor=admin_of(engine), now=clock.now)


@pytest.mark.parametrize("mode", MODES)
def test_an_error_end_event_in_a_subprocess_is_caught_on_its_boundary(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, instance_id = start_dossier(session, clock, users, unit, mode)
    complete_job(engine, clock)
    appraise = open_tasks(session, instance_id)["appraise"]
    engine.complete(appraise.id, actor=users["chuyenvien"], now=clock.now, variables={"fee_paid": False})
    tasks = open_tasks(session, instance_id)
    assert list(tasks) == ["ask_fee"]  # the subprocess was left: no signing, no escalation
    assert [e.data["code"] for e in events(session, instance_id, "error_thrown")] == ["FEE_MISSING"]
    engine.complete(tasks["ask_fee"].id, actor=users["chuyenvien"], now=clock.now, variables={})
    assert status(session, instance_id) == "completed"


@pytest.mark.parametrize("mode", MODES)
def test_a_non_interrupting_escalation_adds_a_path_and_the_subprocess_goes_on(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, instance_id = start_dossier(session, clock, users, unit, mode)
    complete_job(engine, clock)
    appraise = open_tasks(session, instance_id)["appraise"]
    engine.complete(appraise.id, actor=users["chuyenvien"], now=clock.now, variables={"fee_paid": True})
    tasks = open_tasks(session, instance_id)
    assert sorted(tasks) == ["explain_delay", "sign"]
    engine.complete(tasks["sign"].id, actor=users["giamdoc"], now=clock.now, variables={})
    assert status(session, instance_id) == "running"  # the escalation's path is still open
    engine.complete(tasks["explain_delay"].id, actor=users["truongphong"], now=clock.now, variables={})
    assert status(session, instance_id) == "completed"


@pytest.mark.parametrize("mode", MODES)
def test_an_interrupting_message_event_subprocess_cancels_the_rest(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, instance_id = start_dossier(session, clock, users, unit, mode)
    complete_job(engine, clock)
    assert list(open_tasks(session, instance_id)) == ["appraise"]
    result = correlate(engine, "dossier-withdrawn", "HS-001", {"withdrawn_by": "citizen"}, actor=users["admin"],
                       unit=None, now=clock.now)  # fmt: skip
    assert result.correlated == [instance_id]
    tasks = open_tasks(session, instance_id)
    assert list(tasks) == ["close_file"]  # appraisal cancelled
    assert engine.task_data(tasks["close_file"])["withdrawn_by"] == "citizen"
    assert events(session, instance_id, "scope_interrupted")[0].data["cancelled"]
    # a second withdrawal finds nobody waiting: the event subprocess already runs
    with pytest.raises(Exception, match="No process is waiting"):
        correlate(engine, "dossier-withdrawn", "HS-001", {}, actor=users["admin"], unit=None, now=clock.now)
    engine.complete(tasks["close_file"].id, actor=users["chuyenvien"], now=clock.now, variables={})
    assert status(session, instance_id) == "completed"
    assert sweep_timers(session, clock.now + timedelta(hours=3)).fired == 0  # the reminder stopped too


@pytest.mark.parametrize("mode", MODES)
def test_a_non_interrupting_timer_event_subprocess_runs_beside_the_flow(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, instance_id = start_dossier(session, clock, users, unit, mode)
    complete_job(engine, clock)
    assert sweep_timers(session, clock.now + timedelta(hours=1)).fired == 0
    assert sweep_timers(session, clock.now + timedelta(hours=2, minutes=1)).fired == 1
    tasks = open_tasks(session, instance_id)
    assert sorted(tasks) == ["appraise", "check_progress"]
    engine.complete(tasks["check_progress"].id, actor=users["truongphong"], now=clock.now, variables={})
    engine.complete(tasks["appraise"].id, actor=users["chuyenvien"], now=clock.now, variables={"fee_paid": True})
    tasks = open_tasks(session, instance_id)
    for element in ("sign", "explain_delay"):
        engine.complete(tasks[element].id, actor=users["giamdoc" if element == "sign" else "truongphong"],
                        now=clock.now, variables={})  # fmt: skip
    assert status(session, instance_id) == "completed"


@pytest.mark.parametrize("mode", MODES)
def test_the_process_ends_when_its_flow_ends_though_its_event_subprocesses_still_listen(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, instance_id = start_dossier(session, clock, users, unit, mode)
    job_id = lock_job(engine, clock)
    throw_job_error(engine, job_id, "igate", "DOSSIER_INVALID", "", {}, actor=admin_of(engine), now=clock.now)
    engine.complete(open_tasks(session, instance_id)["return_dossier"].id, actor=users["chuyenvien"],
                    now=clock.now, variables={})  # fmt: skip
    assert status(session, instance_id) == "completed"
    assert sweep_timers(session, clock.now + timedelta(hours=3)).fired == 0
    with pytest.raises(Exception, match="No process is waiting"):
        correlate(engine, "dossier-withdrawn", "HS-001", {}, actor=users["admin"], unit=None, now=clock.now)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("score", "expected"), [(7, ["leader_review"]), (3, ["review"])])
def test_a_conditional_boundary_event_fires_when_its_condition_becomes_true(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str, score: int, expected: list[str]
) -> None:
    deploy(session, clock, "review_conditions_c7.bpmn")
    engine = engine_for(session, mode)
    instance_id = engine.start("review_conditions_c7", actor=users["thuky"], unit_id=unit.id, now=clock.now).id
    jobs = fetch_and_lock(engine, "w", ["fee-check"],
                          actor=admin_of(engine), max_jobs=1, lock=timedelta(minutes=1), now=clock.now)  # fmt: skip
    from engine.runtime.jobs import complete_job as complete

    complete(engine, str(jobs[0]["id"]), "w", {}, actor=admin_of(engine), now=clock.now)
    tasks = open_tasks(session, instance_id)
    assert sorted(tasks) == ["enter_score", "review"]
    engine.complete(tasks["enter_score"].id, actor=users["chuyenvien"], now=clock.now, variables={"score": score})
    assert sorted(open_tasks(session, instance_id)) == expected


@pytest.mark.parametrize("mode", MODES)
def test_camunda7_error_variables_reach_the_catching_path(session: Session, users: dict[str, User], unit: Unit,
                                                         clock: Clock, mode: str) -> None:  # fmt: skip
    deploy(session, clock, "review_conditions_c7.bpmn")
    engine = engine_for(session, mode)
    instance_id = engine.start("review_conditions_c7", actor=users["thuky"], unit_id=unit.id, now=clock.now).id
    jobs = fetch_and_lock(engine, "w", ["fee-check"],
                          actor=admin_of(engine), max_jobs=1, lock=timedelta(minutes=1), now=clock.now)  # fmt: skip
    assert throw_job_error(engine, str(jobs[0]["id"]), "w", "FEE", "Chưa nộp lệ phí", {},
                           actor=admin_of(engine), now=clock.now)  # fmt: skip
    collect = open_tasks(session, instance_id)["collect_fee"]
    data = engine.task_data(collect)
    assert (data["errCode"], data["errMsg"]) == ("FEE", "Chưa nộp lệ phí")


@pytest.mark.parametrize("mode", MODES)
def test_a_thrown_signal_reaches_the_units_waiting_instances_and_starts_processes(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    deploy(session, clock, "policy_signals_c7.bpmn")
    engine = engine_for(session, mode)
    reviews = [engine.start("document_review_c7", actor=users["thuky"], unit_id=unit.id, now=clock.now).id
               for _ in range(2)]  # fmt: skip
    update = engine.start("policy_update_c7", actor=users["thuky"], unit_id=unit.id, now=clock.now).id
    before = set(session.scalars(select(ProcessInstance.id)))
    engine.complete(open_tasks(session, update)["draft_policy"].id, actor=users["thuky"], now=clock.now,
                    variables={"policy_version": "2027"})  # fmt: skip
    assert status(session, update) == "completed"
    for review in reviews:  # non-interrupting: the revision goes on, a re-reading is added
        tasks = open_tasks(session, review)
        assert sorted(tasks) == ["reread_policy", "revise"]
        assert engine.task_data(tasks["reread_policy"])["policy_version"] == "2027"
    (training,) = set(session.scalars(select(ProcessInstance.id))) - before
    assert list(open_tasks(session, training)) == ["train_staff"]
    assert events(session, training, "instance_started")[0].data["signal"] == "policy-changed"


@pytest.mark.parametrize("mode", MODES)
def test_the_corpus_order_handling_example_runs_to_the_end_through_its_conditional_event(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    from engine.runtime.jobs import complete_job as complete
    from tests.conftest import CORPUS

    path = CORPUS / "camunda7-examples" / "order-handling.bpmn"
    if not path.exists():
        pytest.skip(f"no shared corpus at {CORPUS}")
    Deployer(session).deploy([SourceFile(path.name, path.read_bytes())], actor=None, now=clock.now)
    assert sweep_timers(session, clock.now + timedelta(seconds=10)).started == 1  # its cron start event
    (instance_id,) = session.scalars(select(ProcessInstance.id))
    engine = engine_for(session, mode)
    [job] = fetch_and_lock(engine, "w", ["invoiceCreator"],
                           actor=admin_of(engine), max_jobs=1, lock=timedelta(minutes=1), now=clock.now)  # fmt: skip
    # "Archive invoice?" -> yes
    complete(engine, str(job["id"]), "w", {"invoiceId": "INV-1"}, actor=admin_of(engine), now=clock.now)
    [archive] = fetch_and_lock(engine, "w", ["invoiceArchiver"],
                               actor=admin_of(engine), max_jobs=1, lock=timedelta(minutes=1),
                               now=clock.now)  # fmt: skip
    assert archive["variables"]["invoiceId"] == "INV-1"
    complete(engine, str(archive["id"]), "w", {}, actor=admin_of(engine), now=clock.now)
    assert status(session, instance_id) == "completed"
    assert events(session, instance_id, "job_completed")[-1].element_id == "Task_1yjkccw"


@pytest.mark.parametrize(
    ("name", "old", "new", "element"),
    [
        ("review_conditions_c7.bpmn", '<bpmn:userTask id="review" name="Xem xét hồ sơ" camunda:candidateGroups='
         '"department_head">', '<bpmn:userTask id="review" name="Xem xét hồ sơ" camunda:candidateGroups='
         '"department_head"><bpmn:extensionElements><camunda:taskListener class="org.example.Notify" event="create" />'
         "</bpmn:extensionElements>", "review"),
        ("dossier_events_c8.bpmn", '<zeebe:taskDefinition type="igate-verify" retries="3" />',
         '<zeebe:taskDefinition type="igate-verify" retries="3" /><zeebe:executionListeners><zeebe:executionListener '
         'eventType="start" type="audit" /></zeebe:executionListeners>', "verify"),
        ("policy_signals_c7.bpmn", '<bpmn:userTask id="revise" name="Soát xét tài liệu" camunda:candidateGroups='
         '"specialist">', '<bpmn:userTask id="revise" name="Soát xét tài liệu" camunda:candidateGroups="specialist">'
         '<bpmn:extensionElements><camunda:executionListener expression="${audit.log(execution)}" event="start" />'
         "</bpmn:extensionElements>", "revise"),  # one of three processes: reported once
    ],
)
def test_listeners_that_would_run_code_are_refused_at_deploy(session: Session, clock: Clock, name: str, old: str,
                                                             new: str, element: str) -> None:  # fmt: skip
    text = (FIXTURES / "events" / name).read_text()
    assert old in text
    with pytest.raises(DeploymentRejected) as refused:
        Deployer(session).deploy([SourceFile(name, text.replace(old, new).encode())], actor=None, now=clock.now)
    [problem] = [p for p in refused.value.problems if "listener" in p.message.lower()]
    assert problem.element_id == element and problem.line


@pytest.mark.parametrize("mode", MODES)
def test_camunda7_event_subprocesses_non_interrupting_message_and_interrupting_error(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    deploy(session, clock, "complaint_c7.bpmn")
    engine = engine_for(session, mode)
    instance_id = engine.start("complaint_c7", actor=users["thuky"], unit_id=unit.id, now=clock.now).id
    for round_ in (1, 2):  # non-interrupting: each update adds a reading, the check goes on
        correlate(engine, "complaint-updated", None, {"round": round_}, actor=users["admin"], unit=None, now=clock.now)
    session.expire_all()
    readings = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == "open"))
    assert sorted(r.element_id for r in readings) == ["read_update", "read_update"]
    [job] = fetch_and_lock(engine, "w", ["complaint-check"],
                           actor=admin_of(engine), max_jobs=1, lock=timedelta(minutes=1), now=clock.now)  # fmt: skip
    assert throw_job_error(engine, str(job["id"]), "w", "FRAUD", "Hồ sơ giả", {},
                           actor=admin_of(engine), now=clock.now)  # fmt: skip
    tasks = open_tasks(session, instance_id)
    assert list(tasks) == ["report_fraud"]  # the error event subprocess interrupted everything else
    assert engine.task_data(tasks["report_fraud"])["fraudNote"] == "Hồ sơ giả"
    engine.complete(tasks["report_fraud"].id, actor=users["giamdoc"], now=clock.now, variables={})
    assert status(session, instance_id) == "completed"


@pytest.mark.parametrize(("replace", "expected"), [
    ('<bpmn:messageEventDefinition messageRef="Message_supplement" />', "The message event names no message; choose "
     "or define one in the Message section of Camunda Modeler's properties panel."),
    ('<bpmn:messageEventDefinition messageRef="Message_khac" />', "The event refers to message 'Message_khac', "
     "which the file does not define; define it or choose a defined one."),
])  # fmt: skip
def test_a_message_event_without_its_message_is_refused_naming_what_is_missing(
    session: Session, clock: Clock, replace: str, expected: str
) -> None:
    from engine import Deployer, SourceFile
    from engine.errors import DeploymentRejected
    from tests.conftest import FIXTURES

    text = (FIXTURES / "supplement_message.bpmn").read_text(encoding="utf-8")
    broken = text.replace('<bpmn:messageEventDefinition messageRef="Message_supplement" />',
                          replace.replace(' messageRef="Message_supplement"', ""))  # fmt: skip
    assert broken != text
    with pytest.raises(DeploymentRejected) as refused:
        Deployer(session).deploy([SourceFile("ho-so.bpmn", broken.encode())], actor=None, now=clock.now)
    messages = [str(p.message) for p in refused.value.problems if p.element_id == "supplement"]
    assert messages == [expected]
    assert "None" not in " ".join(str(p.message) for p in refused.value.problems)
