"""Reminders before a deadline and escalation after it, swept with the clock moved; never twice."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Engine
from engine.org.models import Notice, Unit, User
from engine.runtime.models import HistoryEvent, TaskRow
from engine.runtime.reminders import sweep_deadlines
from tests.conftest import Clock
from tests.engine.test_runtime import open_task

pytestmark = pytest.mark.usefixtures("library")


def local(day: int, hour: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour - 7, 0, tzinfo=UTC)  # Hà Nội is UTC+7


def notices_of(session: Session, kind: str) -> list[str]:
    stmt = select(User.username).join(Notice, Notice.user_id == User.id).where(Notice.kind == kind)
    return sorted(session.scalars(stmt))


def _draft(session: Session, users: dict[str, User], unit: Unit, clock: Clock) -> TaskRow:
    instance = Engine(session).start("quality_objectives", actor=users["thuky"], unit_id=unit.id, now=clock.now)
    return open_task(session, instance.id)  # due Tue 1 Dec 17:00 local


def test_reminder_once_then_escalation_to_leaders(session: Session, users: dict[str, User], unit: Unit,
                                                  clock: Clock) -> None:  # fmt: skip
    _draft(session, users, unit, clock)
    assert sweep_deadlines(session, local(30, 10)).reminded == 0  # 13.5 working hours left
    assert sweep_deadlines(session, local(1, 10, month=12)).reminded == 1  # 6 hours left
    assert sweep_deadlines(session, local(1, 11, month=12)).reminded == 0  # only once
    assert notices_of(session, "task_reminder") == ["thuky"]  # nobody holds it: who may take it

    assert sweep_deadlines(session, local(2, 9, month=12)).escalated == 1
    assert notices_of(session, "task_escalated") == ["giamdoc", "phogiamdoc"]  # no holder: the leaders
    assert sweep_deadlines(session, local(2, 10, month=12)).escalated == 0
    kinds = session.scalars(select(HistoryEvent.kind).where(HistoryEvent.kind.in_(["task_reminder", "task_escalated"])))
    assert list(kinds) == ["task_reminder", "task_escalated"]


def test_held_task_escalates_to_the_department_head_then_the_leaders(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    draft = _draft(session, users, unit, clock)
    Engine(session).claim(draft.id, actor=users["thuky"], now=clock.now)
    assert sweep_deadlines(session, local(2, 9, month=12)).escalated == 1  # straight past the deadline
    assert notices_of(session, "task_escalated") == ["truongphong"]  # head of Văn phòng, thuky's department
    assert sweep_deadlines(session, local(3, 7, month=12)).escalated == 0  # not yet a working day later
    assert sweep_deadlines(session, local(3, 10, month=12)).escalated == 1
    assert notices_of(session, "task_escalated") == ["giamdoc", "phogiamdoc", "truongphong"]
    assert session.get(TaskRow, draft.id).escalation_level == 2  # type: ignore[union-attr]


def test_completed_tasks_are_left_alone(session: Session, users: dict[str, User], unit: Unit, clock: Clock) -> None:
    from tests.engine.test_runtime import DRAFT

    draft = _draft(session, users, unit, clock)
    Engine(session).complete(draft.id, actor=users["thuky"], now=clock.now, variables=DRAFT)
    review = open_task(session, draft.instance_id)
    result = sweep_deadlines(session, local(20, 10, month=12))
    assert (result.reminded, result.escalated) == (0, 1)  # only the open review
    assert session.get(TaskRow, review.id).escalation_level == 1  # type: ignore[union-attr]


def test_two_workers_notify_each_task_exactly_once(session: Session, users: dict[str, User], unit: Unit,
                                                   clock: Clock) -> None:  # fmt: skip
    engine = Engine(session)
    for _ in range(60):
        engine.start("quality_objectives", actor=users["thuky"], unit_id=unit.id, now=clock.now)
    bind = session.get_bind()
    barrier = threading.Barrier(2)
    totals: list[int] = []

    def worker() -> None:
        with Session(bind) as own:
            barrier.wait()
            totals.append(sweep_deadlines(own, local(1, 10, month=12)).reminded)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(totals) == 60
    assert session.scalar(select(func.count()).select_from(Notice).where(Notice.kind == "task_reminder")) == 60
