"""Compensating a completed embedded subprocess from outside, as both Camunda engines do it, in both dialects,
on both databases, straight and with save/reload: a conference the leader does not approve undoes its
preparations. The logistics subprocess has no compensation of its own, so the throw goes into it and undoes
what was done there (the car booking, a worker's job, and the hall booking, a task); the invitations
subprocess has a compensation boundary event, so its handler runs instead of what is inside it. Camunda 7
runs the handlers one after the other, the last completed first (inside a subprocess too); Camunda 8 starts
them all at once."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine
from engine.library.deploy import Deployer, SourceFile
from engine.org.models import Unit, User
from engine.runtime.models import TaskRow
from tests.conftest import FIXTURES, Clock
from tests.engine.test_compensation import open_jobs, run_job
from tests.engine.test_event_gateways import refused
from tests.engine.test_events import engine_for, events, open_tasks, status

pytestmark = pytest.mark.usefixtures("library")
MODES = ["straight", "reload"]
DIALECTS = ["c8", "c7"]


def fixture(dialect: str) -> str:
    return (FIXTURES / "events" / f"conference_compensation_{dialect}.bpmn").read_text()


def prepared(session: Session, clock: Clock, users: dict[str, User], unit: Unit, mode: str, dialect: str,
             approved: bool, text: str | None = None) -> tuple[Engine, int]:  # fmt: skip
    """Hall booked, car booked (both inside the logistics subprocess), invitations sent, leader decided."""
    name = f"conference_compensation_{dialect}.bpmn"
    Deployer(session).deploy([SourceFile(name, (text or fixture(dialect)).encode())], actor=None, now=clock.now)
    engine = engine_for(session, mode)
    instance_id = engine.start(f"conference_compensation_{dialect}", actor=users["thuky"], unit_id=unit.id,
                               now=clock.now, variables={"conference": "HN-01"}).id  # fmt: skip
    specialist = users["chuyenvien"]
    clock.advance(minutes=5)
    engine.complete(open_tasks(session, instance_id)["book_hall"].id, actor=specialist, now=clock.now,
                    variables={"hall": "Hội trường A"})  # fmt: skip
    clock.advance(minutes=5)
    run_job(engine, clock, "vehicle-book", {"car": "29A-12345"})
    clock.advance(minutes=5)
    engine.complete(open_tasks(session, instance_id)["send_invitations"].id, actor=specialist, now=clock.now,
                    variables={"invited": 40})  # fmt: skip
    clock.advance(minutes=5)
    engine.complete(open_tasks(session, instance_id)["approve"].id, actor=specialist, now=clock.now,
                    variables={"approved": approved})  # fmt: skip
    return engine, instance_id


def undone(session: Session, instance_id: int) -> list[tuple[str | None, str]]:
    return [(e.element_id, e.data["undoes"]) for e in events(session, instance_id, "compensation_started")]


@pytest.mark.parametrize("mode", MODES)
def test_camunda7_goes_into_the_completed_subprocess_last_completed_first(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, instance_id = prepared(session, clock, users, unit, mode, "c7", approved=False)
    specialist = users["chuyenvien"]
    # the invitations subprocess completed last: its own handler first, not the one inside it
    [thrown] = events(session, instance_id, "compensation_thrown")
    assert thrown.data["activities"] == ["invite", "book_car", "book_hall"]
    tasks = open_tasks(session, instance_id)
    assert list(tasks) == ["notify_postponed"] and open_jobs(session, instance_id) == []
    assert engine.task_data(tasks["notify_postponed"])["invited"] == 40
    engine.complete(tasks["notify_postponed"].id, actor=specialist, now=clock.now, variables={"notified": True})
    # then into the logistics subprocess: the car, booked after the hall, is cancelled first
    assert open_tasks(session, instance_id) == {} and open_jobs(session, instance_id) == ["vehicle-cancel"]
    run_job(engine, clock, "vehicle-cancel", {"car_cancelled": True})
    cancel_hall = open_tasks(session, instance_id)["cancel_hall"]
    assert engine.task_data(cancel_hall)["hall"] == "Hội trường A"
    engine.complete(cancel_hall.id, actor=specialist, now=clock.now, variables={"hall_cancelled": True})
    # the flow goes on after the throw with what every handler wrote
    report = open_tasks(session, instance_id)["report_cancelled"]
    data = engine.task_data(report)
    assert (data["notified"], data["car_cancelled"], data["hall_cancelled"]) == (True, True, True)
    engine.complete(report.id, actor=specialist, now=clock.now, variables={})
    assert status(session, instance_id) == "completed"
    assert undone(session, instance_id) == [("notify_postponed", "invite"), ("cancel_car", "book_car"),
                                            ("cancel_hall", "book_hall")]  # fmt: skip
    assert events(session, instance_id, "incident") == []


@pytest.mark.parametrize("mode", MODES)
def test_camunda8_starts_every_handler_inside_and_outside_at_once(session: Session, users: dict[str, User],
                                                                  unit: Unit, clock: Clock,
                                                                  mode: str) -> None:  # fmt: skip
    engine, instance_id = prepared(session, clock, users, unit, mode, "c8", approved=False)
    specialist = users["chuyenvien"]
    tasks = open_tasks(session, instance_id)
    assert sorted(tasks) == ["cancel_hall", "notify_postponed"]
    assert open_jobs(session, instance_id) == ["vehicle-cancel"]
    run_job(engine, clock, "vehicle-cancel", {"car_cancelled": True})
    engine.complete(tasks["cancel_hall"].id, actor=specialist, now=clock.now, variables={"hall_cancelled": True})
    assert list(open_tasks(session, instance_id)) == ["notify_postponed"]  # the throw waits for every handler
    engine.complete(tasks["notify_postponed"].id, actor=specialist, now=clock.now, variables={"notified": True})
    report = open_tasks(session, instance_id)["report_cancelled"]
    data = engine.task_data(report)
    assert (data["notified"], data["car_cancelled"], data["hall_cancelled"]) == (True, True, True)
    engine.complete(report.id, actor=specialist, now=clock.now, variables={})
    assert status(session, instance_id) == "completed"
    assert sorted(undone(session, instance_id)) == [("cancel_car", "book_car"), ("cancel_hall", "book_hall"),
                                                    ("notify_postponed", "invite")]  # fmt: skip
    assert events(session, instance_id, "incident") == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_approved_conference_undoes_nothing(session: Session, users: dict[str, User], unit: Unit, clock: Clock,
                                               dialect: str) -> None:  # fmt: skip
    _, instance_id = prepared(session, clock, users, unit, "reload", dialect, approved=True)
    assert status(session, instance_id) == "completed"
    assert events(session, instance_id, "compensation_started") == []


def test_a_throw_naming_the_subprocess_goes_into_it_only(session: Session, users: dict[str, User], unit: Unit,
                                                         clock: Clock) -> None:  # fmt: skip
    text = fixture("c7").replace('<bpmn:compensateEventDefinition id="CompensateEventDefinition_throw" />',
                                 '<bpmn:compensateEventDefinition id="CompensateEventDefinition_throw" '
                                 'activityRef="prepare" />')  # fmt: skip
    engine, instance_id = prepared(session, clock, users, unit, "reload", "c7", approved=False, text=text)
    assert open_tasks(session, instance_id) == {} and open_jobs(session, instance_id) == ["vehicle-cancel"]
    run_job(engine, clock, "vehicle-cancel", {})
    engine.complete(open_tasks(session, instance_id)["cancel_hall"].id, actor=users["chuyenvien"], now=clock.now,
                    variables={})  # fmt: skip
    assert list(open_tasks(session, instance_id)) == ["report_cancelled"]  # the invitations stand
    assert undone(session, instance_id) == [("cancel_car", "book_car"), ("cancel_hall", "book_hall")]


def test_a_compensation_boundary_no_throw_reaches_is_refused(session: Session, clock: Clock) -> None:
    text = fixture("c8").replace('<bpmn:compensateEventDefinition id="CompensateEventDefinition_throw" />', "")
    problems = refused(session, clock, "conference.bpmn", text)
    message = ("No compensation throw or end event runs this compensation: none is in the same process or "
               "subprocess, nor in one that holds it. Add one there, or remove the compensation.")
    assert problems == [("hall_undo", message), ("car_undo", message), ("invitations_undo", message),
                        ("invite_undo", message)]  # fmt: skip


# --- compensation event subprocesses (Camunda 7) ---------------------------------------------------------


def undo_fixture(dialect: str) -> str:
    return (FIXTURES / "events" / f"conference_undo_subprocess_{dialect}.bpmn").read_text()


@pytest.mark.parametrize("mode", MODES)
def test_camunda7_runs_the_compensation_event_subprocess_instead_of_going_into_the_subprocess(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    text = undo_fixture("c7").replace('id="conference_undo_subprocess_c7"', 'id="conference_compensation_c7"')
    engine, instance_id = prepared(session, clock, users, unit, mode, "c7", approved=False, text=text)
    specialist = users["chuyenvien"]
    [thrown] = events(session, instance_id, "compensation_thrown")
    assert thrown.data["activities"] == ["invite", "prepare"]  # the logistics subprocess as one: its handler
    engine.complete(open_tasks(session, instance_id)["notify_postponed"].id, actor=specialist, now=clock.now,
                    variables={"notified": True})  # fmt: skip
    # the event subprocess runs with the process data as it is now, then undoes the bookings made inside
    notify = open_tasks(session, instance_id)["notify_suppliers"]
    data = engine.task_data(notify)
    assert (data["hall"], data["car"], data["approved"], data["notified"]) == ("Hội trường A", "29A-12345", False,
                                                                             True)  # fmt: skip
    engine.complete(notify.id, actor=specialist, now=clock.now, variables={"suppliers_told": 2})
    inner = events(session, instance_id, "compensation_thrown")[1]
    assert (inner.element_id, inner.data["activities"]) == ("undo_bookings", ["book_car", "book_hall"])
    assert open_tasks(session, instance_id) == {} and open_jobs(session, instance_id) == ["vehicle-cancel"]
    run_job(engine, clock, "vehicle-cancel", {"car_cancelled": True})
    engine.complete(open_tasks(session, instance_id)["cancel_hall"].id, actor=specialist, now=clock.now,
                    variables={"hall_cancelled": True})  # fmt: skip
    report = open_tasks(session, instance_id)["report_cancelled"]
    data = engine.task_data(report)
    assert (data["suppliers_told"], data["car_cancelled"], data["hall_cancelled"]) == (2, True, True)
    engine.complete(report.id, actor=specialist, now=clock.now, variables={})
    assert status(session, instance_id) == "completed"
    assert undone(session, instance_id) == [("notify_postponed", "invite"), ("undo_prepare", "prepare"),
                                            ("cancel_car", "book_car"), ("cancel_hall", "book_hall")]  # fmt: skip
    assert events(session, instance_id, "incident") == []


def test_an_approved_conference_never_starts_the_compensation_event_subprocess(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    text = undo_fixture("c7").replace('id="conference_undo_subprocess_c7"', 'id="conference_compensation_c7"')
    _, instance_id = prepared(session, clock, users, unit, "reload", "c7", approved=True, text=text)
    assert status(session, instance_id) == "completed"
    assert events(session, instance_id, "compensation_started") == []
    assert events(session, instance_id, "event_subprocess_started") == []


def test_camunda8_compensation_event_subprocess_is_refused(session: Session, clock: Clock) -> None:
    problems = refused(session, clock, "conference.bpmn", undo_fixture("c8"))
    assert problems == [("undo_prepare_start", "Compensation event subprocesses are not run in Camunda 8 diagrams "
                         "(Camunda 8 refuses them too); attach a compensation boundary event with its handler to "
                         "each activity to undo, or deploy the diagram as documentation.")]  # fmt: skip


def test_a_compensation_event_subprocess_beside_a_compensation_boundary_event_is_refused(
    session: Session, clock: Clock
) -> None:
    text = undo_fixture("c7").replace(
        '<bpmn:boundaryEvent id="invite_undo" attachedToRef="invite">',
        '<bpmn:boundaryEvent id="prepare_undo" attachedToRef="prepare">\n'
        '      <bpmn:compensateEventDefinition id="CompensateEventDefinition_9" />\n    </bpmn:boundaryEvent>\n'
        '    <bpmn:association id="Association_9" associationDirection="One" sourceRef="prepare_undo" '
        'targetRef="notify_postponed" />\n    <bpmn:boundaryEvent id="invite_undo" attachedToRef="invite">')
    problems = refused(session, clock, "conference.bpmn", text)
    assert problems == [("undo_prepare_start", "The subprocess 'Chuẩn bị hậu cần' has both a compensation boundary "
                         "event and a compensation event subprocess; keep one of them, as Camunda 7 requires.")]


def test_a_compensation_event_subprocess_at_the_process_level_is_refused(session: Session, clock: Clock) -> None:
    text = undo_fixture("c7")
    start, end = text.index('      <bpmn:subProcess id="undo_prepare"'), text.index("      </bpmn:subProcess>") + 25
    moved = text[:start] + text[end:]
    flow = '    <bpmn:sequenceFlow id="Flow_1"'
    moved = moved.replace(flow, text[start:end] + flow)
    problems = refused(session, clock, "conference.bpmn", moved)
    assert ("undo_prepare_start", "A compensation event subprocess must be inside an embedded subprocess, as Camunda "
            "7 requires; attach a compensation boundary event with its handler to each activity to undo "
            "instead.") in problems  # fmt: skip


# --- a compensation boundary event on a multi-instance activity (Camunda 7) ------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sequential", [False, True])
def test_camunda7_undoes_each_completed_instance_of_a_multi_instance_activity(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str, sequential: bool
) -> None:
    path = FIXTURES / "events" / "supplies_mi_compensation_c7.bpmn"
    text = path.read_text()
    if sequential:  # one room after the other (the item is each instance's own, as in Camunda)
        text = text.replace("<bpmn:multiInstanceLoopCharacteristics", '<bpmn:multiInstanceLoopCharacteristics '
                            'isSequential="true"')  # fmt: skip
    Deployer(session).deploy([SourceFile(path.name, text.encode())], actor=None, now=clock.now)
    engine = engine_for(session, mode)
    specialist = users["chuyenvien"]
    instance_id = engine.start("supplies_mi_compensation_c7", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                               variables={"rooms": ["Phòng A", "Phòng B", "Phòng C"]}).id  # fmt: skip
    handed = []
    for _ in range(3):  # the rooms are served in parallel, in the order the specialist finishes them
        clock.advance(minutes=1)
        session.expire_all()
        rows = sorted(session.scalars(select(TaskRow).where(TaskRow.instance_id == instance_id,
                                                            TaskRow.state == "open")), key=lambda r: r.id)  # fmt: skip
        row = rows[-1]
        handed.append(engine.task_data(row)["room"])
        engine.complete(row.id, actor=specialist, now=clock.now, variables={})
    assert sorted(handed) == ["Phòng A", "Phòng B", "Phòng C"]
    assert not sequential or handed == ["Phòng A", "Phòng B", "Phòng C"]
    engine.complete(open_tasks(session, instance_id)["confirm"].id, actor=specialist, now=clock.now,
                    variables={"cancelled": True})  # fmt: skip
    [thrown] = events(session, instance_id, "compensation_thrown")
    assert thrown.data["activities"] == ["hand_out", "hand_out", "hand_out"]  # each instance, not the whole
    rooms = []
    for _ in range(3):
        take_back = open_tasks(session, instance_id)["take_back"]
        rooms.append(engine.task_data(take_back)["room"])  # the instance's own item, as in Camunda 7
        engine.complete(take_back.id, actor=specialist, now=clock.now, variables={})
    assert rooms == handed[::-1]  # the last completed first
    assert status(session, instance_id) == "completed"
    assert undone(session, instance_id) == [("take_back", "hand_out")] * 3
    assert events(session, instance_id, "incident") == []


@pytest.mark.parametrize("mode", MODES)
def test_camunda8_undoes_a_multi_instance_activity_once(session: Session, users: dict[str, User], unit: Unit,
                                                        clock: Clock, mode: str) -> None:  # fmt: skip
    path = FIXTURES / "events" / "supplies_mi_compensation_c8.bpmn"
    Deployer(session).deploy([SourceFile(path.name, path.read_bytes())], actor=None, now=clock.now)
    engine = engine_for(session, mode)
    specialist = users["chuyenvien"]
    instance_id = engine.start("supplies_mi_compensation_c8", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                               variables={"rooms": ["Phòng A", "Phòng B", "Phòng C"]}).id  # fmt: skip
    for _ in range(3):
        session.expire_all()
        row = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == "open")
                              .order_by(TaskRow.id)).first()  # fmt: skip
        assert row is not None and row.element_id == "hand_out"
        engine.complete(row.id, actor=specialist, now=clock.now, variables={})
    engine.complete(open_tasks(session, instance_id)["confirm"].id, actor=specialist, now=clock.now,
                    variables={"cancelled": True})  # fmt: skip
    [thrown] = events(session, instance_id, "compensation_thrown")
    assert thrown.data["activities"] == ["hand_out"]  # the activity as a whole, as Camunda 8 does it
    assert list(open_tasks(session, instance_id)) == ["take_back"]
    engine.complete(open_tasks(session, instance_id)["take_back"].id, actor=specialist, now=clock.now,
                    variables={})  # fmt: skip
    assert status(session, instance_id) == "completed"
    assert undone(session, instance_id) == [("take_back", "hand_out")]
    assert events(session, instance_id, "incident") == []


def test_two_compensation_event_subprocesses_in_one_subprocess_are_refused(session: Session, clock: Clock) -> None:
    text = undo_fixture("c7")
    start, end = text.index('      <bpmn:subProcess id="undo_prepare"'), text.index("      </bpmn:subProcess>") + 25
    second = text[start:end]
    for old in ("undo_prepare", "notify_suppliers", "undo_bookings", "Flow_u1", "Flow_u2", "Flow_u3",
                "CompensateEventDefinition_start", "CompensateEventDefinition_inner"):  # fmt: skip
        second = second.replace(old, f"{old}_2")
    problems = refused(session, clock, "conference.bpmn", text[:end] + second + text[end:])
    assert problems == [("undo_prepare_2_start", "A subprocess has only one compensation event subprocess; merge them "
                         "into one.")]  # fmt: skip
