"""Event-based gateways and link events as Camunda runs them, in both dialects, on both databases, straight
and with the workflow reloaded from the database between steps.

The gateway's diagram (``supplement_gateway_c8/c7.bpmn``): after the supplement request the dossier waits
for the first of three events: the citizen's supplement (a message), the reply time running out (a timer:
a reminder, then back to waiting), or the procedure being suspended (a signal)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Engine
from engine.library.deploy import Deployer, DeploymentRejected, SourceFile
from engine.org.models import Unit, User
from engine.runtime.messages import NoOneWaiting, correlate
from engine.runtime.models import MessageSubscription, ProcessDefinition, Timer
from engine.runtime.signals import send_signal
from engine.runtime.sweeps import sweep_timers
from tests.conftest import FIXTURES, Clock
from tests.engine.test_events import deploy, engine_for, events, open_tasks, status

pytestmark = pytest.mark.usefixtures("library")
MODES = ["straight", "reload"]
DIALECTS = ["c8", "c7"]
DOSSIER = "H15-261123-0007"


def start_waiting(session: Session, clock: Clock, users: dict[str, User], unit: Unit, mode: str,
                  dialect: str) -> tuple[Engine, int]:  # fmt: skip
    """Deploy the diagram, start a dossier and send the supplement request: the gateway waits."""
    deploy(session, clock, f"supplement_gateway_{dialect}.bpmn")
    engine = engine_for(session, mode)
    variables = {"dossier": DOSSIER, "reminderAfter": "P3D"}  # Camunda 7's timer is the expression ${reminderAfter}
    instance = engine.start(f"supplement_gateway_{dialect}", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                            business_key=DOSSIER, variables=variables)  # fmt: skip
    request = open_tasks(session, instance.id)["request_supplement"]
    engine.complete(request.id, actor=users["chuyenvien"], now=clock.now, variables={})
    return engine, instance.id


def timers(session: Session, instance_id: int) -> list[tuple[str, str]]:
    session.expire_all()
    stmt = select(Timer.element_id, Timer.state).where(Timer.instance_id == instance_id).order_by(Timer.id)
    return [(e, s) for e, s in session.execute(stmt)]


def waiting_for(session: Session, instance_id: int) -> list[tuple[str, str, str | None]]:
    session.expire_all()
    stmt = select(MessageSubscription).where(MessageSubscription.instance_id == instance_id,
                                             MessageSubscription.state == "waiting")  # fmt: skip
    return sorted((r.kind, r.message_name, r.correlation_key) for r in session.scalars(stmt))


def send_supplement(engine: Engine, users: dict[str, User], clock: Clock, dialect: str) -> list[int]:
    """Camunda 8 correlates by the subscription's key; Camunda 7 (no key on its message) by business key."""
    key, business_key = (DOSSIER, None) if dialect == "c8" else (None, DOSSIER)
    return correlate(engine, "dossier-supplemented", key, {"supplement": ["Bản sao CCCD"]}, actor=users["admin"],
                     unit=None, now=clock.now, business_key=business_key).correlated  # fmt: skip


def won(session: Session, instance_id: int) -> list[tuple[str, list[str]]]:
    """Which way each pass through the gateway took, and what it gave up, as the history says."""
    return [(e.data["event"], e.data["cancelled"]) for e in events(session, instance_id, "gateway_taken")]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("mode", MODES)
def test_the_gateway_waits_for_all_its_events_at_once(session: Session, users: dict[str, User], unit: Unit,
                                                      clock: Clock, mode: str, dialect: str) -> None:  # fmt: skip
    _, instance_id = start_waiting(session, clock, users, unit, mode, dialect)
    assert open_tasks(session, instance_id) == {}
    assert timers(session, instance_id) == [("reminder_due", "waiting")]
    key = DOSSIER if dialect == "c8" else None
    assert waiting_for(session, instance_id) == [("message", "dossier-supplemented", key),
                                                 ("signal", "procedure-suspended", None)]  # fmt: skip
    [scheduled] = events(session, instance_id, "timer_scheduled")
    assert scheduled.data["due_at"] == (clock.now + timedelta(days=3)).isoformat()
    assert status(session, instance_id) == "running" and events(session, instance_id, "incident") == []


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("mode", MODES)
def test_the_message_wins_and_the_timer_and_signal_are_cancelled(session: Session, users: dict[str, User],
                                                                 unit: Unit, clock: Clock, mode: str,
                                                                 dialect: str) -> None:  # fmt: skip
    engine, instance_id = start_waiting(session, clock, users, unit, mode, dialect)
    clock.advance(days=1)
    assert send_supplement(engine, users, clock, dialect) == [instance_id]
    tasks = open_tasks(session, instance_id)
    assert list(tasks) == ["check_supplement"]
    assert engine.task_data(tasks["check_supplement"])["supplement"] == ["Bản sao CCCD"]
    assert timers(session, instance_id) == [("reminder_due", "cancelled")]
    assert waiting_for(session, instance_id) == []
    assert won(session, instance_id) == [("supplement_received", ["Quá hạn trả lời", "Thủ tục bị tạm dừng"])]
    # the timer that lost never fires, a second supplement and the signal find nobody waiting
    assert sweep_timers(session, clock.now + timedelta(days=30)).fired == 0
    with pytest.raises(NoOneWaiting):
        send_supplement(engine, users, clock, dialect)
    assert send_signal(engine, "procedure-suspended", {}, actor=users["admin"], unit_id=unit.id,
                       now=clock.now).delivered == []  # fmt: skip
    engine.complete(tasks["check_supplement"].id, actor=users["chuyenvien"], now=clock.now, variables={})
    assert status(session, instance_id) == "completed"


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("mode", MODES)
def test_the_timer_wins_then_the_gateway_waits_again_with_a_new_timer(session: Session, users: dict[str, User],
                                                                      unit: Unit, clock: Clock, mode: str,
                                                                      dialect: str) -> None:  # fmt: skip
    engine, instance_id = start_waiting(session, clock, users, unit, mode, dialect)
    assert sweep_timers(session, clock.now + timedelta(days=2, hours=23)).fired == 0
    assert sweep_timers(session, clock.advance(days=3, minutes=1)).fired == 1
    assert list(open_tasks(session, instance_id)) == ["remind_citizen"]
    assert waiting_for(session, instance_id) == []  # the message and the signal stopped waiting
    with pytest.raises(NoOneWaiting):
        send_supplement(engine, users, clock, dialect)
    remind = open_tasks(session, instance_id)["remind_citizen"]
    clock.advance(hours=2)
    engine.complete(remind.id, actor=users["chuyenvien"], now=clock.now, variables={})
    # back at the gateway: a new timer, three days from now, and the message and signal again
    assert timers(session, instance_id) == [("reminder_due", "fired"), ("reminder_due", "waiting")]
    assert events(session, instance_id, "timer_scheduled")[-1].data["due_at"] == (
        clock.now + timedelta(days=3)).isoformat()
    assert len(waiting_for(session, instance_id)) == 2
    assert send_supplement(engine, users, clock, dialect) == [instance_id]
    assert list(open_tasks(session, instance_id)) == ["check_supplement"]
    assert timers(session, instance_id)[-1] == ("reminder_due", "cancelled")
    assert [event for event, _ in won(session, instance_id)] == ["reminder_due", "supplement_received"]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("mode", MODES)
def test_the_signal_wins_and_ends_the_wait(session: Session, users: dict[str, User], unit: Unit, clock: Clock,
                                          mode: str, dialect: str) -> None:  # fmt: skip
    engine, instance_id = start_waiting(session, clock, users, unit, mode, dialect)
    sent = send_signal(engine, "procedure-suspended", {"reason": "Quyết định tạm dừng"}, actor=users["admin"],
                       unit_id=unit.id, now=clock.now)  # fmt: skip
    assert sent.delivered == [instance_id]
    assert status(session, instance_id) == "completed"
    assert timers(session, instance_id) == [("reminder_due", "cancelled")]
    assert waiting_for(session, instance_id) == []
    assert won(session, instance_id) == [("procedure_suspended", ["Công dân đã bổ sung", "Quá hạn trả lời"])]
    assert sweep_timers(session, clock.now + timedelta(days=30)).fired == 0


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_message_and_the_timer_arriving_together_move_the_instance_once(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, dialect: str
) -> None:
    """The timer comes due while the message is delivered: whichever is first wins; the other finds its way
    given up and changes nothing."""
    engine, instance_id = start_waiting(session, clock, users, unit, "reload", dialect)
    clock.advance(days=3, minutes=1)
    assert send_supplement(engine, users, clock, dialect) == [instance_id]
    sweep_timers(session, clock.now)
    assert list(open_tasks(session, instance_id)) == ["check_supplement"]
    assert len(events(session, instance_id, "gateway_taken")) == 1
    assert events(session, instance_id, "timer_fired") == []


# --- deploy checks ---------------------------------------------------------------------------------


def refused(session: Session, clock: Clock, name: str, text: str) -> list[tuple[str | None, str]]:
    before = session.scalar(select(func.count()).select_from(ProcessDefinition))
    with pytest.raises(DeploymentRejected) as caught:
        Deployer(session).deploy([SourceFile(name, text.encode())], actor=None, now=clock.now)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ProcessDefinition)) == before  # nothing stored
    return [(p.element_id, str(p.message)) for p in caught.value.problems]


def gateway_fixture(dialect: str = "c8") -> str:
    return (FIXTURES / "events" / f"supplement_gateway_{dialect}.bpmn").read_text()


def test_a_receive_task_after_the_gateway_is_refused_naming_it(session: Session, clock: Clock) -> None:
    text = gateway_fixture().replace(
        '<bpmn:intermediateCatchEvent id="supplement_received" name="Công dân đã bổ sung">',
        '<bpmn:receiveTask id="supplement_received" name="Công dân đã bổ sung" messageRef="Message_supplement">',
    ).replace('<bpmn:messageEventDefinition id="MessageEventDefinition_1" messageRef="Message_supplement" />\n'
              "    </bpmn:intermediateCatchEvent>", "</bpmn:receiveTask>")  # fmt: skip
    problems = refused(session, clock, "gateway.bpmn", text)
    assert [(eid, m) for eid, m in problems if "Công dân đã bổ sung" in m] == [(
        "wait_reply", "After an event-based gateway eISO waits only at intermediate catch events (message, timer, "
        "signal or condition); 'Công dân đã bổ sung' is not one. Replace it with such an event (a receive task with "
        "a message catch event).")]  # fmt: skip


def test_a_condition_on_a_way_out_of_the_gateway_is_refused(session: Session, clock: Clock) -> None:
    text = gateway_fixture().replace(
        '<bpmn:sequenceFlow id="Flow_remind" sourceRef="wait_reply" targetRef="reminder_due" />',
        '<bpmn:sequenceFlow id="Flow_remind" sourceRef="wait_reply" targetRef="reminder_due">'
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">=true</bpmn:conditionExpression>'
        "</bpmn:sequenceFlow>",
    )
    problems = refused(session, clock, "gateway.bpmn", text)
    assert ("Flow_remind", "A way out of an event-based gateway cannot have a condition: the first event to arrive "
            "decides. Remove the condition.") in problems  # fmt: skip


def test_a_gateway_with_one_way_out_is_refused(session: Session, clock: Clock) -> None:
    text = gateway_fixture()
    for flow in ("Flow_remind", "Flow_suspend"):
        text = text.replace(f"<bpmn:outgoing>{flow}</bpmn:outgoing>", "")
    text = text.replace('<bpmn:sequenceFlow id="Flow_remind" sourceRef="wait_reply" targetRef="reminder_due" />', "")
    text = text.replace('<bpmn:sequenceFlow id="Flow_suspend" sourceRef="wait_reply" '
                        'targetRef="procedure_suspended" />', "")  # fmt: skip
    problems = refused(session, clock, "gateway.bpmn", text)
    assert ("wait_reply", "An event-based gateway needs at least two ways out, each to an event it waits for; add "
            "one or use a single catch event instead.") in problems  # fmt: skip


# --- link events -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("mode", MODES)
def test_link_events_carry_the_flow_to_their_catch_event(session: Session, users: dict[str, User], unit: Unit,
                                                         clock: Clock, mode: str, dialect: str) -> None:  # fmt: skip
    deploy(session, clock, f"document_links_{dialect}.bpmn")
    engine = engine_for(session, mode)
    instance_id = engine.start(f"document_links_{dialect}", actor=users["thuky"], unit_id=unit.id,
                               now=clock.now).id  # fmt: skip
    for decision in ("return", "approve"):
        engine.complete(open_tasks(session, instance_id)["draft_document"].id, actor=users["thuky"], now=clock.now,
                        variables={"title": "Quy trình kiểm soát tài liệu"})  # fmt: skip
        review = open_tasks(session, instance_id)["review_document"]
        engine.complete(review.id, actor=users["giamdoc"], now=clock.now, variables={"decision": decision})
    tasks = open_tasks(session, instance_id)
    assert list(tasks) == ["issue_document"]
    engine.complete(tasks["issue_document"].id, actor=users["thuky"], now=clock.now, variables={})
    assert status(session, instance_id) == "completed"
    drafted = [e for e in events(session, instance_id, "task_created") if e.element_id == "draft_document"]
    assert len(drafted) == 2 and events(session, instance_id, "incident") == []


def links_fixture(dialect: str = "c8") -> str:
    return (FIXTURES / "events" / f"document_links_{dialect}.bpmn").read_text()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_link_throw_without_its_catch_is_refused_naming_it(session: Session, clock: Clock, dialect: str) -> None:
    text = links_fixture(dialect).replace('id="LinkEventDefinition_catch_issue" name="ban-hanh"',
                                          'id="LinkEventDefinition_catch_issue" name="ban-hanh-moi"')  # fmt: skip
    problems = refused(session, clock, "links.bpmn", text)
    assert ("go_issue", "No link catch event named 'ban-hanh' is in the same process or subprocess, so the flow "
            "would stop here; add one with that link name, or correct the name.") in problems  # fmt: skip


@pytest.mark.parametrize("dialect", DIALECTS)
def test_two_link_catches_with_one_name_are_refused(session: Session, clock: Clock, dialect: str) -> None:
    text = links_fixture(dialect).replace('id="LinkEventDefinition_catch_redraft" name="soan-lai"',
                                          'id="LinkEventDefinition_catch_redraft" name="ban-hanh"')  # fmt: skip
    problems = refused(session, clock, "links.bpmn", text)
    assert ("catch_issue", "Two link catch events are named 'ban-hanh' in the same process or subprocess (also "
            "'Soạn lại'); a link name may be caught only once. Rename one of them.") in problems  # fmt: skip


def test_a_link_event_without_a_name_is_refused(session: Session, clock: Clock) -> None:
    text = links_fixture().replace('id="LinkEventDefinition_go_redraft" name="soan-lai"',
                                   'id="LinkEventDefinition_go_redraft" name=""')  # fmt: skip
    problems = refused(session, clock, "links.bpmn", text)
    assert ("go_redraft", "The link event has no link name; give the throw event and its catch event the same "
            "name.") in problems  # fmt: skip


@pytest.mark.parametrize("winner", ["message", "timer"])
@pytest.mark.parametrize("mode", MODES)
def test_an_event_based_gateway_inside_an_embedded_subprocess(session: Session, users: dict[str, User],
                                                              unit: Unit, clock: Clock, mode: str,
                                                              winner: str) -> None:  # fmt: skip
    deploy(session, clock, "consult_gateway_c8.bpmn")
    engine = engine_for(session, mode)
    instance_id = engine.start("ask_department", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                               variables={"ask": "YK-01"}).id  # fmt: skip
    assert timers(session, instance_id) == [("c_late", "waiting")]
    assert waiting_for(session, instance_id) == [("message", "answer-received", "YK-01")]
    if winner == "message":
        correlate(engine, "answer-received", "YK-01", {"answer": "Đồng ý"}, actor=users["admin"], unit=None,
                  now=clock.now)  # fmt: skip
        assert timers(session, instance_id) == [("c_late", "cancelled")]
    else:
        assert sweep_timers(session, clock.advance(days=2, minutes=1)).fired == 1
        assert waiting_for(session, instance_id) == []
    assert list(open_tasks(session, instance_id)) == ["conclude"]
    assert won(session, instance_id)[0][0] == ("c_answer" if winner == "message" else "c_late")


@pytest.mark.parametrize("mode", MODES)
def test_a_camunda7_condition_after_the_gateway_wins_when_it_becomes_true(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    deploy(session, clock, "withdrawal_gateway_c7.bpmn")
    engine = engine_for(session, mode)
    instance_id = engine.start("withdrawal_c7", actor=users["thuky"], unit_id=unit.id, now=clock.now).id
    assert timers(session, instance_id) == [("deadline", "waiting")]
    engine.complete(open_tasks(session, instance_id)["record_request"].id, actor=users["chuyenvien"], now=clock.now,
                    variables={"withdraw": True})  # fmt: skip
    assert timers(session, instance_id) == [("deadline", "cancelled")]
    assert won(session, instance_id) == [("withdrawn", ["Hết hạn rút"])]
    assert status(session, instance_id) == "completed"



def test_a_procedures_longest_way_follows_its_link_events() -> None:
    """The time limits of an administrative procedure add up along its ways, links included."""
    from lxml import etree

    from engine.library.procedure_limits import procedure_limit_problems

    def step(eid: str, days: str) -> str:
        return (f'<bpmn:userTask id="{eid}"><bpmn:extensionElements><zeebe:properties><zeebe:property '
                f'name="timeLimitWorkingDays" value="{days}" /></zeebe:properties></bpmn:extensionElements>'
                "</bpmn:userTask>")  # fmt: skip

    process = etree.fromstring(
        '<bpmn:process xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="p" isExecutable="true"><bpmn:extensionElements>'
        '<zeebe:properties><zeebe:property name="procedureCode" value="1.001" /><zeebe:property '
        'name="timeLimitWorkingDays" value="5" /></zeebe:properties></bpmn:extensionElements>'
        '<bpmn:startEvent id="s" />' + step("receive", "2") + step("appraise", "3")
        + '<bpmn:intermediateThrowEvent id="t"><bpmn:linkEventDefinition name="go" /></bpmn:intermediateThrowEvent>'
        '<bpmn:intermediateCatchEvent id="c"><bpmn:linkEventDefinition name="go" /></bpmn:intermediateCatchEvent>'
        '<bpmn:endEvent id="e" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="receive" />'
        '<bpmn:sequenceFlow id="f2" sourceRef="receive" targetRef="t" />'
        '<bpmn:sequenceFlow id="f3" sourceRef="c" targetRef="appraise" />'
        '<bpmn:sequenceFlow id="f4" sourceRef="appraise" targetRef="e" /></bpmn:process>'
    )  # fmt: skip
    assert procedure_limit_problems(process, "p.bpmn") == []
