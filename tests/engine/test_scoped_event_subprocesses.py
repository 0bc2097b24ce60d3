"""Message and signal event subprocesses inside an embedded subprocess, as Camunda 7 and 8 run them: they
listen while their subprocess runs (a row in ``message_subscriptions`` each), an interrupting one stops the
rest of that subprocess only, and once the subprocess has ended nobody waits for them any more. Both
dialects, straight and with the workflow reloaded from the database between steps, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine
from engine.library.deploy import Deployer, DeploymentRejected, SourceFile
from engine.org.models import Unit, User
from engine.runtime.engine import WorkflowCache
from engine.runtime.messages import NoOneWaiting, correlate
from engine.runtime.models import HistoryEvent, MessageSubscription, ProcessDefinition, ProcessInstance, TaskRow
from engine.runtime.signals import send_signal
from tests.conftest import FIXTURES, Clock

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


def listening(session: Session, instance_id: int) -> list[tuple[str, str, str]]:
    stmt = select(MessageSubscription).where(MessageSubscription.instance_id == instance_id,
                                             MessageSubscription.state == "waiting")  # fmt: skip
    return sorted((r.kind, r.message_name, r.element_id) for r in session.scalars(stmt))


def history(session: Session, instance_id: int, kind: str) -> list[HistoryEvent]:
    stmt = select(HistoryEvent).where(HistoryEvent.instance_id == instance_id, HistoryEvent.kind == kind)
    return list(session.scalars(stmt.order_by(HistoryEvent.id)))


def status(session: Session, instance_id: int) -> str:
    session.expire_all()
    instance = session.get(ProcessInstance, instance_id)
    assert instance is not None
    return instance.status


def complete(engine: Engine, session: Session, instance_id: int, element: str, user: User) -> None:
    engine.complete(task(session, instance_id, element).id, actor=user, now=Clock.now, variables={})


# --- Camunda 8: an interrupting message and a non-interrupting signal event subprocess ---------------------


def start_c8(session: Session, clock: Clock, users: dict[str, User], unit: Unit, mode: str,
             dossier: str = "HS-001") -> tuple[Engine, int]:  # fmt: skip
    engine = engine_for(session, mode)
    instance = engine.start("appraisal_scope_c8", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                            variables={"dossier": dossier})  # fmt: skip
    return engine, instance.id


@pytest.mark.parametrize("mode", MODES)
def test_a_message_starts_the_interrupting_event_subprocess_of_the_running_subprocess_only(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    deploy(session, clock, "appraisal_scope_c8.bpmn")
    engine, instance_id = start_c8(session, clock, users, unit, mode)
    _, other_id = start_c8(session, clock, users, unit, mode, dossier="HS-002")
    assert listening(session, instance_id) == []  # the subprocess has not started: nobody listens yet
    with pytest.raises(NoOneWaiting):
        correlate(engine, "dossier-withdrawn", "HS-001", {}, actor=users["admin"], unit=None, now=clock.now)
    for instance in (instance_id, other_id):
        complete(engine, session, instance, "receive", users["chuyenvien"])
    assert listening(session, instance_id) == [("message", "dossier-withdrawn", "withdrawn"),
                                               ("signal", "fee-rules-changed", "rules_signal")]  # fmt: skip
    awaited = history(session, instance_id, "message_awaited")
    assert [(e.element_id, e.data["correlation_key"]) for e in awaited] == [("withdrawn", "HS-001")]

    result = correlate(engine, "dossier-withdrawn", "HS-001", {"withdrawn_by": "citizen"}, actor=users["admin"],
                       unit=None, now=clock.now)  # fmt: skip
    assert result.correlated == [instance_id]
    assert elements(session, instance_id) == ["close_file"]  # the appraisal stopped; the process did not
    assert engine.task_data(task(session, instance_id, "close_file"))["withdrawn_by"] == "citizen"
    [started] = history(session, instance_id, "event_subprocess_started")
    assert (started.element_id, started.data) == ("withdrawal", {"interrupting": True})
    [interrupted] = history(session, instance_id, "scope_interrupted")
    assert interrupted.element_id == "withdrawal" and interrupted.data["cancelled"] == ["Thẩm định hồ sơ"]
    assert [e.element_id for e in history(session, instance_id, "task_cancelled")] == ["appraise"]
    assert listening(session, instance_id) == []  # interrupted: its event subprocesses listen no more
    with pytest.raises(NoOneWaiting):
        correlate(engine, "dossier-withdrawn", "HS-001", {}, actor=users["admin"], unit=None, now=clock.now)
    assert elements(session, other_id) == ["appraise"]  # the other dossier's appraisal goes on

    complete(engine, session, instance_id, "close_file", users["chuyenvien"])
    assert elements(session, instance_id) == ["sign"]  # the subprocess ended; the flow after it goes on
    complete(engine, session, instance_id, "sign", users["giamdoc"])
    assert status(session, instance_id) == "completed"


@pytest.mark.parametrize("mode", MODES)
def test_a_signal_adds_a_path_in_the_subprocess_which_waits_for_it_and_stops_listening_when_it_ends(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    deploy(session, clock, "appraisal_scope_c8.bpmn")
    engine, instance_id = start_c8(session, clock, users, unit, mode)
    complete(engine, session, instance_id, "receive", users["chuyenvien"])
    for _ in range(2):
        sent = send_signal(engine, "fee-rules-changed", {"new_fee": 50000}, actor=users["admin"], unit_id=unit.id,
                           now=clock.now)  # fmt: skip
        assert sent.delivered == [instance_id]
    assert elements(session, instance_id) == ["appraise", "recheck_fee", "recheck_fee"]
    assert [e.data["interrupting"] for e in history(session, instance_id, "event_subprocess_started")] == [False] * 2
    assert history(session, instance_id, "scope_interrupted") == []
    assert ("signal", "fee-rules-changed", "rules_signal") in listening(session, instance_id)  # still listening

    complete(engine, session, instance_id, "appraise", users["chuyenvien"])
    assert elements(session, instance_id) == ["recheck_fee", "recheck_fee"]  # the subprocess waits for its paths
    for _ in range(2):
        complete(engine, session, instance_id, "recheck_fee", users["chuyenvien"])
    assert elements(session, instance_id) == ["sign"]
    assert listening(session, instance_id) == []
    cancelled = select(MessageSubscription.element_id).where(MessageSubscription.instance_id == instance_id,
                                                             MessageSubscription.state == "cancelled")  # fmt: skip
    assert sorted(session.scalars(cancelled)) == ["rules_signal", "withdrawn"]
    with pytest.raises(NoOneWaiting):
        correlate(engine, "dossier-withdrawn", "HS-001", {}, actor=users["admin"], unit=None, now=clock.now)
    late = send_signal(engine, "fee-rules-changed", {}, actor=users["admin"], unit_id=unit.id, now=clock.now)
    assert late.delivered == []
    assert elements(session, instance_id) == ["sign"]
    complete(engine, session, instance_id, "sign", users["giamdoc"])
    assert status(session, instance_id) == "completed"


MULTI = ('<bpmn:subProcess id="appraisal" name="Thẩm định">\n      <bpmn:multiInstanceLoopCharacteristics>\n'
         '        <bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=dossiers" '
         'inputElement="dossier" /></bpmn:extensionElements>\n      </bpmn:multiInstanceLoopCharacteristics>')


@pytest.mark.parametrize("mode", MODES)
def test_each_copy_of_a_multi_instance_subprocess_listens_with_its_own_key(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    text = (FIXTURES / "events" / "appraisal_scope_c8.bpmn").read_text(encoding="utf-8")
    deploy(session, clock, "appraisal_scope_c8.bpmn", text.replace('<bpmn:subProcess id="appraisal" name="Thẩm định">',
                                                                   MULTI))  # fmt: skip
    engine = engine_for(session, mode)
    instance_id = engine.start("appraisal_scope_c8", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                               variables={"dossiers": ["HS-A", "HS-B"]}).id  # fmt: skip
    complete(engine, session, instance_id, "receive", users["chuyenvien"])
    awaited = history(session, instance_id, "message_awaited")
    assert sorted(e.data["correlation_key"] for e in awaited) == ["HS-A", "HS-B"]
    assert len(listening(session, instance_id)) == 4  # a message and a signal row for each copy

    result = correlate(engine, "dossier-withdrawn", "HS-B", {}, actor=users["admin"], unit=None, now=clock.now)
    assert result.correlated == [instance_id]
    assert elements(session, instance_id) == ["appraise", "close_file"]  # copy B interrupted, copy A goes on
    assert listening(session, instance_id) == [("message", "dossier-withdrawn", "withdrawn"),
                                               ("signal", "fee-rules-changed", "rules_signal")]  # fmt: skip
    with pytest.raises(NoOneWaiting):
        correlate(engine, "dossier-withdrawn", "HS-B", {}, actor=users["admin"], unit=None, now=clock.now)
    complete(engine, session, instance_id, "close_file", users["chuyenvien"])
    complete(engine, session, instance_id, "appraise", users["chuyenvien"])
    assert elements(session, instance_id) == ["sign"]
    assert listening(session, instance_id) == []


# --- Camunda 7: a non-interrupting message and an interrupting signal thrown by the process itself --------


def start_c7(session: Session, clock: Clock, users: dict[str, User], unit: Unit, mode: str) -> tuple[Engine, int]:
    deploy(session, clock, "review_scope_c7.bpmn")
    engine = engine_for(session, mode)
    instance = engine.start("review_scope_c7", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                            business_key="HS-007")  # fmt: skip
    return engine, instance.id


@pytest.mark.parametrize("mode", MODES)
def test_camunda7_messages_add_readings_and_the_process_own_signal_interrupts_the_subprocess(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, instance_id = start_c7(session, clock, users, unit, mode)
    assert elements(session, instance_id) == ["decide_cancel", "review_doc"]
    for round_ in (1, 2):
        result = correlate(engine, "supplement-arrived", None, {"pages": round_}, actor=users["admin"], unit=None,
                           now=clock.now, business_key="HS-007")  # fmt: skip
        assert result.correlated == [instance_id]
    assert elements(session, instance_id) == ["decide_cancel", "read_supplement", "read_supplement", "review_doc"]
    pages = sorted(engine.task_data(r)["pages"] for r in open_tasks(session, instance_id)
                   if r.element_id == "read_supplement")  # fmt: skip
    assert pages == [1, 2]
    correlated = history(session, instance_id, "message_correlated")
    assert [(e.element_id, e.data["variables"]) for e in correlated] == [("supplement_arrived", {"pages": 1}),
                                                                          ("supplement_arrived", {"pages": 2})]

    complete(engine, session, instance_id, "decide_cancel", users["truongphong"])  # throws "dossier-cancelled"
    assert elements(session, instance_id) == ["close_review"]
    [thrown] = history(session, instance_id, "signal_thrown")
    assert thrown.element_id == "cancel_thrown"
    [interrupted] = history(session, instance_id, "scope_interrupted")
    assert interrupted.element_id == "cancellation"
    assert interrupted.data["cancelled"] == ["Bổ sung hồ sơ", "Xem xét nội dung"]  # the readings went with it
    assert sorted(e.element_id for e in history(session, instance_id, "task_cancelled")) == \
        ["read_supplement", "read_supplement", "review_doc"]
    assert listening(session, instance_id) == []
    with pytest.raises(NoOneWaiting):
        correlate(engine, "supplement-arrived", None, {}, actor=users["admin"], unit=None, now=clock.now,
                  business_key="HS-007")  # fmt: skip

    complete(engine, session, instance_id, "close_review", users["chuyenvien"])
    assert elements(session, instance_id) == ["publish"]
    complete(engine, session, instance_id, "publish", users["giamdoc"])
    assert status(session, instance_id) == "completed"


@pytest.mark.parametrize("mode", MODES)
def test_camunda7_a_signal_from_outside_interrupts_and_after_the_subprocess_nobody_waits(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, instance_id = start_c7(session, clock, users, unit, mode)
    complete(engine, session, instance_id, "review_doc", users["chuyenvien"])
    assert elements(session, instance_id) == ["decide_cancel", "publish"]
    assert listening(session, instance_id) == []
    with pytest.raises(NoOneWaiting):
        correlate(engine, "supplement-arrived", None, {}, actor=users["admin"], unit=None, now=clock.now,
                  business_key="HS-007")  # fmt: skip
    late = send_signal(engine, "dossier-cancelled", {}, actor=users["admin"], unit_id=unit.id, now=clock.now)
    assert late.delivered == []
    assert history(session, instance_id, "event_subprocess_started") == []

    _, second_id = start_c7(session, clock, users, unit, mode)
    sent = send_signal(engine, "dossier-cancelled", {"reason": "rút"}, actor=users["admin"], unit_id=unit.id,
                       now=clock.now)  # fmt: skip
    assert sent.delivered == [second_id]
    assert elements(session, second_id) == ["close_review", "decide_cancel"]  # the other branch goes on
    assert engine.task_data(task(session, second_id, "close_review"))["reason"] == "rút"


# --- error and escalation event subprocesses in a subprocess deploy too (run in test_scoped_errors_escalations.py)


WITHDRAWN = '<bpmn:messageEventDefinition id="MessageEventDefinition_w" messageRef="Message_withdrawn" />'


@pytest.mark.parametrize(("name", "old", "new", "element", "kind"), [
    ("appraisal_scope_c8.bpmn", WITHDRAWN,
     '<bpmn:errorEventDefinition id="ErrorEventDefinition_w" errorRef="Error_x" />', "withdrawn", "error"),
    ("appraisal_scope_c8.bpmn", WITHDRAWN,
     '<bpmn:escalationEventDefinition id="EscalationEventDefinition_w" escalationRef="Escalation_x" />', "withdrawn",
     "escalation"),
    ("review_scope_c7.bpmn", '<bpmn:signalEventDefinition id="SignalEventDefinition_c" signalRef="Signal_cancelled" />',
     '<bpmn:errorEventDefinition id="ErrorEventDefinition_c" errorRef="Error_x" />', "cancelled", "error"),
])  # fmt: skip
def test_error_and_escalation_event_subprocesses_inside_a_subprocess_deploy(
    session: Session, clock: Clock, name: str, old: str, new: str, element: str, kind: str
) -> None:
    text = (FIXTURES / "events" / name).read_text(encoding="utf-8")
    defined = ('<bpmn:error id="Error_x" name="Rút hồ sơ" errorCode="WITHDRAWN" />\n  '
               '<bpmn:escalation id="Escalation_x" name="Rút hồ sơ" escalationCode="WITHDRAWN" />\n  ')
    changed = text.replace(old, new).replace("<bpmn:message ", defined + "<bpmn:message ", 1)
    assert changed != text
    deploy(session, clock, name, changed)
    [definition] = session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == name[:-5])).all()
    node = definition.elements["nodes"][element]
    assert node["in_event_subprocess"] and node["nested"] and node[kind]["code"] == "WITHDRAWN"


def test_an_error_event_subprocess_inside_a_subprocess_must_name_a_defined_error(session: Session,
                                                                                  clock: Clock) -> None:
    text = (FIXTURES / "events" / "appraisal_scope_c8.bpmn").read_text(encoding="utf-8")
    broken = text.replace(WITHDRAWN, '<bpmn:errorEventDefinition id="ErrorEventDefinition_w" errorRef="Error_x" />')
    with pytest.raises(DeploymentRejected) as refused:
        deploy(session, clock, "appraisal_scope_c8.bpmn", broken)
    assert [p.element_id for p in refused.value.problems] == ["withdrawn"]
    assert "Error_x" in str(refused.value.problems[0].message)
    stmt = select(ProcessDefinition).where(ProcessDefinition.key == "appraisal_scope_c8")
    assert session.scalars(stmt).all() == []
