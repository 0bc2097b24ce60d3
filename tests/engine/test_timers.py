"""Durable BPMN timers: boundary (interrupting and repeating), intermediate, timer-cycle start; fired by
the sweep with the clock moved, after downtime, exactly once with two workers, again after a crash."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from engine import Engine
from engine.errors import DeploymentRejected
from engine.org.models import Unit, User
from engine.runtime.models import HistoryEvent, ProcessDefinition, ProcessInstance, StartTimer, TaskRow, Timer
from engine.runtime.sweeps import sweep_timers
from tests.conftest import FIXTURES, Clock, deploy_fixture

pytestmark = pytest.mark.usefixtures("library")


def open_elements(session: Session, instance_id: int) -> list[str]:
    stmt = select(TaskRow.element_id).where(TaskRow.instance_id == instance_id, TaskRow.state == "open")
    return sorted(session.scalars(stmt))


def kinds(session: Session, instance_id: int) -> list[str]:
    stmt = select(HistoryEvent.kind).where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.id)
    return list(session.scalars(stmt))


def start(session: Session, key: str, users: dict[str, User], unit: Unit, clock: Clock, **variables: object) -> int:
    return Engine(session).start(key, actor=users["thuky"], unit_id=unit.id, now=clock.now, variables=variables).id


def test_repeating_then_interrupting_boundary_timers(session: Session, users: dict[str, User], unit: Unit,
                                                     clock: Clock) -> None:  # fmt: skip
    deploy_fixture(session, clock.now, "timer_boundary.bpmn")
    instance = start(session, "timer_boundary", users, unit, clock)
    assert sweep_timers(session, clock.now + timedelta(minutes=10)).fired == 0
    assert sweep_timers(session, clock.now + timedelta(minutes=31)).fired == 1  # the first nudge
    assert open_elements(session, instance) == ["note", "work"]  # non-interrupting: work goes on
    assert sweep_timers(session, clock.now + timedelta(minutes=61)).fired == 1  # the second and last
    assert open_elements(session, instance) == ["note", "note", "work"]
    assert sweep_timers(session, clock.now + timedelta(minutes=95)).fired == 0  # R2: no third nudge
    assert sweep_timers(session, clock.now + timedelta(hours=2, minutes=1)).fired == 1  # too late
    assert open_elements(session, instance) == ["note", "note", "take_over"]  # work was interrupted
    assert kinds(session, instance).count("timer_fired") == 3
    cancelled = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance, TaskRow.element_id == "work"))
    assert [t.state for t in cancelled] == ["cancelled"]


def test_completing_the_task_cancels_its_timers(session: Session, users: dict[str, User], unit: Unit,
                                                clock: Clock) -> None:  # fmt: skip
    deploy_fixture(session, clock.now, "timer_boundary.bpmn")
    instance = start(session, "timer_boundary", users, unit, clock)
    work = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance)).one()
    Engine(session).complete(work.id, actor=users["thuky"], now=clock.advance(minutes=5), variables={})
    assert session.scalars(select(Timer.state).where(Timer.instance_id == instance)).all() == ["cancelled"] * 2
    assert sweep_timers(session, clock.now + timedelta(days=1)).fired == 0
    assert session.get(ProcessInstance, instance).status == "completed"  # type: ignore[union-attr]


def test_timers_due_while_nothing_ran_fire_at_the_next_sweep_in_order(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    deploy_fixture(session, clock.now, "timer_wait.bpmn")
    later = start(session, "timer_wait", users, unit, clock, waitFor="PT3H")
    sooner = start(session, "timer_wait", users, unit, clock, waitFor="PT1H")
    assert open_elements(session, later) == [] and sweep_timers(session, clock.now).fired == 0
    back_up = clock.now + timedelta(hours=10)  # the worker was stopped for ten hours
    assert sweep_timers(session, back_up).fired == 2
    fired = session.scalars(select(HistoryEvent.instance_id).where(HistoryEvent.kind == "timer_fired")
                            .order_by(HistoryEvent.id)).all()  # fmt: skip
    assert fired == [sooner, later]
    assert open_elements(session, later) == ["after"] and open_elements(session, sooner) == ["after"]


def test_a_crash_before_commit_fires_the_timer_again_later(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy_fixture(session, clock.now, "timer_wait.bpmn")
    instance = start(session, "timer_wait", users, unit, clock, waitFor="PT1H")
    real_commit = session.commit

    def crash() -> None:
        session.flush()
        raise RuntimeError("worker killed")

    monkeypatch.setattr(session, "commit", crash)
    with pytest.raises(RuntimeError):
        sweep_timers(session, clock.now + timedelta(hours=2))
    monkeypatch.setattr(session, "commit", real_commit)
    session.expire_all()
    assert session.scalars(select(Timer.state).where(Timer.instance_id == instance)).all() == ["waiting"]
    assert sweep_timers(session, clock.now + timedelta(hours=2)).fired == 1
    assert open_elements(session, instance) == ["after"]


def test_timer_cycle_start_starts_a_new_instance_each_quarter(session: Session, users: dict[str, User],
                                                              unit: Unit, clock: Clock) -> None:  # fmt: skip
    deploy_fixture(session, clock.now, "timer_quarterly.bpmn")
    quarterly = ProcessDefinition.key == "timer_quarterly"  # the shipped library has a yearly start of its own
    planned = session.scalars(select(StartTimer).join(ProcessDefinition).where(quarterly)).one()
    assert planned.due_at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)

    def started(at: datetime) -> int:
        count = select(func.count()).select_from(ProcessInstance).join(ProcessInstance.definition).where(quarterly)
        before = session.scalar(count) or 0
        sweep_timers(session, at)
        return (session.scalar(count) or 0) - before

    assert started(datetime(2026, 11, 30, tzinfo=UTC)) == 0
    assert started(datetime(2026, 12, 1, 2, 0, tzinfo=UTC)) == 1
    assert started(datetime(2026, 12, 1, 3, 0, tzinfo=UTC)) == 0  # once per round
    assert started(datetime(2027, 3, 1, 2, 0, tzinfo=UTC)) == 1
    instances = session.scalars(select(ProcessInstance).join(ProcessInstance.definition).where(quarterly)
                                .order_by(ProcessInstance.id)).all()  # fmt: skip
    assert [i.started_by_id for i in instances] == [None, None]
    assert all(open_elements(session, i.id) == ["report"] for i in instances)
    waiting = select(StartTimer.due_at).join(ProcessDefinition).where(StartTimer.state == "waiting", quarterly)
    assert session.scalars(waiting).all() == [datetime(2027, 6, 1, 1, 0, tzinfo=UTC)]


def test_timers_that_cannot_work_are_refused_at_deploy(session: Session, clock: Clock) -> None:
    from engine import Deployer, SourceFile

    broken = (FIXTURES / "timer_wait.bpmn").read_bytes().replace(b"=waitFor", b"PT2X")
    with pytest.raises(DeploymentRejected) as caught:
        Deployer(session).deploy([SourceFile("broken.bpmn", broken)], actor=None, now=clock.now)
    assert caught.value.problems[0].element_id == "wait" and "PT2X" in caught.value.problems[0].message


def test_two_workers_fire_each_due_timer_exactly_once(session: Session, users: dict[str, User], unit: Unit,
                                                      clock: Clock) -> None:  # fmt: skip
    deploy_fixture(session, clock.now, "timer_wait.bpmn")
    count = 1000 if session.get_bind().dialect.name == "postgresql" else 150
    first = session.get(ProcessInstance, start(session, "timer_wait", users, unit, clock, waitFor="PT1H"))
    timer = session.scalars(select(Timer)).one()
    assert first is not None
    # Copies of one waiting instance, each with its own state (fresh task ids) and timer row, made in SQL.
    task_ids = sorted(set(re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", first.state)))
    for _ in range(count - 1):
        fresh = {old: str(uuid.uuid4()) for old in task_ids}
        state = re.sub("|".join(task_ids), lambda m, ids=fresh: ids[m.group(0)], first.state)
        new_id = session.execute(insert(ProcessInstance).values(
            definition_id=first.definition_id, unit_id=first.unit_id, status="running", state=state,
            revision=first.revision, started_at=clock.now, updated_at=clock.now,
        ).returning(ProcessInstance.id)).scalar_one()  # fmt: skip
        session.execute(insert(Timer).values(instance_id=new_id, task_id=fresh[timer.task_id], element_id="wait",
                                             kind="duration", due_at=timer.due_at, state="waiting", attempts=0,
                                             last_error=""))  # fmt: skip
    session.commit()
    bind = session.get_bind()
    barrier = threading.Barrier(2)
    fired: list[int] = []

    def worker() -> None:
        with Session(bind) as own:
            barrier.wait()
            fired.append(sweep_timers(own, clock.now + timedelta(hours=2), limit=count).fired)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert sum(fired) == count
    events = session.scalar(select(func.count()).select_from(HistoryEvent).where(HistoryEvent.kind == "timer_fired"))
    assert events == count
    assert session.scalar(select(func.count()).select_from(TaskRow).where(TaskRow.element_id == "after")) == count


def test_work_a_repeating_reminder_started_goes_on_after_the_task_it_watched_is_done(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    deploy_fixture(session, clock.now, "timer_boundary.bpmn")
    instance = start(session, "timer_boundary", users, unit, clock)
    assert sweep_timers(session, clock.now + timedelta(minutes=31)).fired == 1  # the first nudge
    work = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance, TaskRow.element_id == "work")).one()
    Engine(session).complete(work.id, actor=users["thuky"], now=clock.advance(minutes=40), variables={})
    session.expire_all()
    assert open_elements(session, instance) == ["note"]  # the reminder's own work is still there
    assert session.get(ProcessInstance, instance).status == "running"  # type: ignore[union-attr]
    assert sweep_timers(session, clock.now + timedelta(hours=3)).fired == 0  # no more nudges, no take-over
    note = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance, TaskRow.state == "open")).one()
    Engine(session).complete(note.id, actor=users["chuyenvien"], now=clock.now, variables={})
    session.expire_all()
    assert session.get(ProcessInstance, instance).status == "completed"  # type: ignore[union-attr]


def test_a_timer_another_worker_is_firing_is_skipped_at_once_and_fired_once(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: no row is held while another worker sweeps")
    deploy_fixture(session, clock.now, "timer_wait.bpmn")
    instance = start(session, "timer_wait", users, unit, clock, waitFor="PT1H")
    session.commit()
    later = clock.now + timedelta(hours=2)
    with Session(session.get_bind()) as first_worker, Session(session.get_bind()) as second_worker:
        first_worker.execute(select(Timer.id).with_for_update())  # the first worker holds the row, mid-firing
        second_worker.execute(text("SET lock_timeout = '3s'"))  # waiting for the row would end in an error
        assert sweep_timers(second_worker, later).fired == 0  # left to the first worker, without waiting
        second_worker.rollback()
        first_worker.rollback()  # the first worker failed: the timer is still due
    assert sweep_timers(session, later).fired == 1
    assert sweep_timers(session, later).fired == 0
    assert kinds(session, instance).count("timer_fired") == 1
    assert open_elements(session, instance) == ["after"]
