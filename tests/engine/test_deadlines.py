"""Step deadlines on the unit's working calendar, and early / on time / late when a task completes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine
from engine.org.models import CalendarDay, Unit, User
from engine.runtime.models import HistoryEvent, TaskRow
from tests.conftest import Clock, deploy_fixture
from tests.engine.test_runtime import DRAFT, open_task

pytestmark = pytest.mark.usefixtures("library")


def _start(session: Session, users: dict[str, User], unit: Unit, clock: Clock, key: str = "quality_objectives",
           **variables: object) -> TaskRow:  # fmt: skip
    instance = Engine(session).start(key, actor=users["thuky"], unit_id=unit.id, now=clock.now, variables=variables)
    return open_task(session, instance.id)


def test_five_working_days_skip_the_weekend_and_the_24_november_holiday(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    draft = _start(session, users, unit, clock)  # Monday 23 Nov 2026, 08:30 in Hà Nội
    # Tue 24 Nov is a public holiday from 2026; days 1..5: Wed, Thu, Fri, Mon 30 Nov, Tue 1 Dec.
    assert draft.due_at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 17:00 local


def test_a_day_off_of_the_unit_moves_the_deadline(session: Session, users: dict[str, User], unit: Unit,
                                                  clock: Clock) -> None:  # fmt: skip
    session.add(CalendarDay(unit_id=unit.id, day=date(2026, 11, 27), kind="off", note="Nghỉ bù"))
    session.add(CalendarDay(unit_id=None, day=date(2026, 11, 26), kind="off", note="Tỉnh cho nghỉ"))
    session.commit()
    draft = _start(session, users, unit, clock)
    assert draft.due_at == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def test_completion_is_classified_early_on_time_or_late(session: Session, users: dict[str, User], unit: Unit,
                                                        clock: Clock) -> None:  # fmt: skip
    engine = Engine(session)
    draft = _start(session, users, unit, clock)
    engine.complete(draft.id, actor=users["thuky"], now=clock.advance(hours=3), variables=DRAFT)
    assert session.get(TaskRow, draft.id).timing == "early"  # type: ignore[union-attr]
    review = open_task(session, draft.instance_id)  # 3 working days for the leader
    engine.complete(review.id, actor=users["giamdoc"], now=clock.advance(days=14),
                    variables={"decision": "return", "returnReason": "Đã quá hạn, cần làm lại."})  # fmt: skip
    assert session.get(TaskRow, review.id).timing == "late"  # type: ignore[union-attr]
    events = session.scalars(select(HistoryEvent).where(HistoryEvent.kind == "task_completed")).all()
    assert [e.data["timing"] for e in events] == ["early", "late"]


def test_due_date_from_a_feel_duration_and_working_hours(session: Session, users: dict[str, User], unit: Unit,
                                                         clock: Clock) -> None:  # fmt: skip
    deploy_fixture(session, clock.now, "due_dates.bpmn")
    first = _start(session, users, unit, clock, key="due_dates", limit="P2D")
    assert first.due_at == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # Wed 25 and Thu 26, close of business
    Engine(session).complete(first.id, actor=users["thuky"], now=clock.advance(hours=1), variables={})
    second = open_task(session, first.instance_id)  # arrives 09:30 local, 4 working hours: 11:30 + 2h = 15:30
    assert second.due_at == datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


def test_paused_clock_moves_the_process_deadline_and_is_not_counted(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    from engine.runtime.models import ProcessInstance
    from engine.runtime.reminders import sweep_deadlines

    deploy_fixture(session, clock.now, "supplement.bpmn")
    engine = Engine(session)
    started = engine.start("supplement", actor=users["chuyenvien"], unit_id=unit.id, now=clock.now)
    assert started.due_at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 5 working days, past the 24 Nov holiday
    assert started.paused_at is not None  # the clock stopped right away: waiting for the citizen
    waiting = open_task(session, started.id)
    assert sweep_deadlines(session, datetime(2026, 12, 9, tzinfo=UTC)).escalated == 0  # paused: nobody chased
    # The citizen brings the supplement a week later (Mon 30 Nov, 08:30): 30 working hours paused
    # (Mon 23 from 08:30, Wed to Fri, Mon 30 until 08:30; Tue 24 is a holiday).
    engine.complete(waiting.id, actor=users["chuyenvien"], now=datetime(2026, 11, 30, 1, 30, tzinfo=UTC), variables={})
    session.expire_all()
    instance = session.get(ProcessInstance, started.id)
    assert instance is not None and instance.paused_at is None
    assert instance.due_at == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # Tue 1 Dec 17:00 + 30 working hours
    decide = open_task(session, started.id)
    engine.complete(decide.id, actor=users["chuyenvien"], now=datetime(2026, 12, 4, 3, 0, tzinfo=UTC), variables={})
    session.expire_all()
    done = session.get(ProcessInstance, started.id)
    assert done is not None and done.timing in ("early", "on_time")  # would be late without the pause
