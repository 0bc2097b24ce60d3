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

import engine.runtime.engine
from engine import Engine
from engine.db import first_of
from engine.errors import DeploymentRejected
from engine.org.models import Unit, User
from engine.runtime.models import HistoryEvent, ProcessDefinition, ProcessInstance, StartTimer, TaskRow, Timer
from engine.runtime.sweeps import MAX_ATTEMPTS, sweep_timers
from tests.conftest import FIXTURES, Clock, deploy_fixture
from tests.engine.test_list_paging import assert_walks_index, plan

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


@pytest.mark.parametrize("returning", [True, False], ids=["UPDATE RETURNING", "a database without RETURNING"])
def test_a_timer_that_fails_is_tried_once_a_sweep_while_the_others_fire_and_after_its_attempts_is_an_incident(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, monkeypatch: pytest.MonkeyPatch,
    returning: bool,
) -> None:
    monkeypatch.setattr(session.get_bind().dialect, "update_returning", returning)  # chosen, then claimed
    deploy_fixture(session, clock.now, "timer_wait.bpmn")
    sooner = start(session, "timer_wait", users, unit, clock, waitFor="PT1H")
    broken = start(session, "timer_wait", users, unit, clock, waitFor="PT2H")
    later = start(session, "timer_wait", users, unit, clock, waitFor="PT3H")
    real_occur = Engine._occur

    def occur(self: Engine, task: object, timer: Timer, instance: ProcessInstance) -> None:
        if instance.id == broken:
            raise ValueError("the reminder's address is unknown")
        real_occur(self, task, timer, instance)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.runtime.engine.Engine, "_occur", occur)
    at = clock.now + timedelta(hours=4)
    first = sweep_timers(session, at)
    assert (first.fired, first.failed, first.more) == (2, 0, False)  # tried once in the sweep, not again and again
    assert open_elements(session, sooner) == ["after"] and open_elements(session, later) == ["after"]
    timer = session.scalars(select(Timer).where(Timer.instance_id == broken)).one()
    assert (timer.state, timer.attempts, timer.last_error) == ("waiting", 1, "the reminder's address is unknown")
    for attempt in range(2, MAX_ATTEMPTS):
        assert sweep_timers(session, at).failed == 0
        session.refresh(timer)
        assert (timer.state, timer.attempts) == ("waiting", attempt)
    assert "incident" not in kinds(session, broken)
    assert sweep_timers(session, at).failed == 1  # the last attempt: the timer fails for good
    session.refresh(timer)
    assert (timer.state, timer.attempts) == ("failed", MAX_ATTEMPTS)
    assert kinds(session, broken).count("incident") == 1 and open_elements(session, broken) == []
    assert sweep_timers(session, at).failed == 0 and kinds(session, broken).count("incident") == 1


def test_a_sweep_stops_at_its_limit_and_says_more_timers_are_due(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    deploy_fixture(session, clock.now, "timer_wait.bpmn")
    instances = [start(session, "timer_wait", users, unit, clock, waitFor=f"PT{hours}H") for hours in (3, 1, 2)]
    at = clock.now + timedelta(hours=4)
    first = sweep_timers(session, at, limit=2)
    assert (first.fired, first.more) == (2, True)
    assert [open_elements(session, i) for i in instances] == [[], ["after"], ["after"]]  # the two oldest first
    rest = sweep_timers(session, at, limit=2)
    assert (rest.fired, rest.more) == (1, False)
    assert sweep_timers(session, at, limit=1).more is False  # nothing due: nothing more


def test_the_oldest_due_timer_is_chosen_from_the_index_without_sorting_the_due_ones(session: Session) -> None:
    postgresql = session.get_bind().dialect.name == "postgresql"
    due = (Timer.state == "waiting", Timer.due_at <= datetime(2026, 12, 6, tzinfo=UTC))
    its_instance = (ProcessInstance, ProcessInstance.id == Timer.instance_id)
    found = plan(session, first_of(Timer, *due, order_by=(Timer.due_at, Timer.id), skip_locked=postgresql,
                                   joined=[its_instance]))  # fmt: skip
    assert_walks_index(found, "ix_timers_state_due", "timers")


@pytest.mark.parametrize("held", ["timer", "instance"], ids=["another worker firing it",
                                                           "someone changing its instance"])
def test_a_sweep_passes_over_a_timer_held_elsewhere_fires_the_next_and_that_one_at_the_next_sweep(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, held: str
) -> None:
    """Another worker mid-firing holds the timer; a person's command holds the instance (and may be about to
    cancel its timers). The sweep neither waits nor takes that timer, which fires at the next sweep; the other
    instance's timer fires now."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing is held while a worker sweeps")
    deploy_fixture(session, clock.now, "timer_wait.bpmn")
    busy = start(session, "timer_wait", users, unit, clock, waitFor="PT1H")
    other = start(session, "timer_wait", users, unit, clock, waitFor="PT2H")
    session.commit()
    later = clock.now + timedelta(hours=3)
    hold = select(Timer.id).where(Timer.instance_id == busy) if held == "timer" else \
        select(ProcessInstance.id).where(ProcessInstance.id == busy)  # fmt: skip
    with Session(session.get_bind()) as holder, Session(session.get_bind()) as worker:
        holder.execute(hold.with_for_update())
        worker.execute(text("SET lock_timeout = '3s'"))  # waiting for the held row would end in an error
        assert sweep_timers(worker, later).fired == 1
        holder.rollback()
    session.expire_all()
    assert open_elements(session, other) == ["after"] and open_elements(session, busy) == []
    assert session.scalars(select(Timer.state).where(Timer.instance_id == busy)).one() == "waiting"
    assert sweep_timers(session, later).fired == 1 and open_elements(session, busy) == ["after"]
