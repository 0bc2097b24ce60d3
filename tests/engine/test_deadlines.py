"""Step deadlines on the unit's working calendar, and early / on time / late when a task completes."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine
from engine.errors import EngineError, ExpressionError
from engine.org.calendar import WorkingCalendar
from engine.org.models import CalendarDay, Unit, User
from engine.runtime.deadlines import check_moment, due_for, follow_up_for
from engine.runtime.models import HistoryEvent, TaskRow
from tests.conftest import Clock, deploy_fixture
from tests.engine.test_runtime import DRAFT, open_task


def _start(session: Session, users: dict[str, User], unit: Unit, clock: Clock, key: str = "quality_objectives",
           **variables: object) -> TaskRow:  # fmt: skip
    instance = Engine(session).start(key, actor=users["thuky"], unit_id=unit.id, now=clock.now, variables=variables)
    return open_task(session, instance.id)


@pytest.mark.usefixtures("library")
def test_five_working_days_skip_the_weekend_and_the_24_november_holiday(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    draft = _start(session, users, unit, clock)  # Monday 23 Nov 2026, 08:30 in Hà Nội
    # Tue 24 Nov is a public holiday from 2026; days 1..5: Wed, Thu, Fri, Mon 30 Nov, Tue 1 Dec.
    assert draft.due_at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 17:00 local


@pytest.mark.usefixtures("library")
def test_a_day_off_of_the_unit_moves_the_deadline(session: Session, users: dict[str, User], unit: Unit,
                                                  clock: Clock) -> None:  # fmt: skip
    session.add(CalendarDay(unit_id=unit.id, day=date(2026, 11, 27), kind="off", note="Nghỉ bù"))
    session.add(CalendarDay(unit_id=None, day=date(2026, 11, 26), kind="off", note="Tỉnh cho nghỉ"))
    session.commit()
    draft = _start(session, users, unit, clock)
    assert draft.due_at == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


@pytest.mark.usefixtures("library")
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


@pytest.mark.usefixtures("library")
def test_due_date_from_a_feel_duration_and_working_hours(session: Session, users: dict[str, User], unit: Unit,
                                                         clock: Clock) -> None:  # fmt: skip
    deploy_fixture(session, clock.now, "due_dates.bpmn")
    first = _start(session, users, unit, clock, key="due_dates", limit="P2D")
    assert first.due_at == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # Wed 25 and Thu 26, close of business
    Engine(session).complete(first.id, actor=users["thuky"], now=clock.advance(hours=1), variables={})
    second = open_task(session, first.instance_id)  # arrives 09:30 local, 4 working hours: 11:30 + 2h = 15:30
    assert second.due_at == datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


@pytest.mark.usefixtures("library")
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


# ---- time limits as the diagram writes them (no database) --------------------------------------

CALENDAR = WorkingCalendar()  # Mon-Fri 07:30-11:30 and 13:30-17:00 in Hà Nội, national holidays
ARRIVED = datetime(2027, 3, 1, 1, 30, tzinfo=UTC)  # Monday 1 March 2027, 08:30 local


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of March 2027 on the wall clock of Hà Nội, in UTC."""
    return datetime(2027, 3, day, hour, minute, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).astimezone(UTC)


def _due(properties: dict[str, Any] | None = None, due_date: str | None = None, **data: Any) -> datetime | None:
    return due_for({"properties": properties, "due_date": due_date}, data, ARRIVED, CALENDAR)


@pytest.mark.parametrize(
    ("properties", "due"),
    [
        ({"timeLimitWorkingDays": "2"}, _local(3, 17)),  # close of business of Wednesday
        ({"timeLimitWorkingDays": "0"}, _local(1, 17)),  # within the day
        ({"timeLimitWorkingDays": "1.5"}, _local(2, 15)),  # 12 working hours: 6.5 on Monday, 5.5 on Tuesday
        ({"timeLimitWorkingDays": 2}, _local(3, 17)),
        ({"timeLimitWorkingHours": "4"}, _local(1, 14, 30)),  # 3 hours before lunch, 1 after
        ({"timeLimitWorkingHours": "0.5"}, _local(1, 9)),
        ({"timeLimitWorkingDays": "1", "timeLimitWorkingHours": "1"}, _local(2, 17)),  # days win
        ({"timeLimitWorkingDays": "2600"}, CALENDAR.add_working_days(ARRIVED, 2600)),  # the longest allowed
        ({"timeLimitWorkingHours": "20800"}, CALENDAR.add_working_hours(ARRIVED, 20800)),
    ],
)
def test_a_time_limit_property_gives_the_due_moment(properties: dict[str, Any], due: datetime) -> None:
    assert _due(properties) == due


def test_without_a_time_limit_the_due_date_decides_and_without_either_there_is_none() -> None:
    assert _due(None) is None
    assert _due({}, "P1D") == _local(2, 17)
    assert _due({"timeLimitWorkingDays": ""}, "PT1H") == _local(1, 9, 30)


LONGEST_DAYS = "The time limit timeLimitWorkingDays may be at most 2,600 (about ten years of working time)."
LONGEST_HOURS = "The time limit timeLimitWorkingHours may be at most 20,800 (about ten years of working time)."


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"timeLimitWorkingDays": "two"}, "The time limit timeLimitWorkingDays must be a number, not 'two'."),
        ({"timeLimitWorkingHours": "-1"}, "The time limit timeLimitWorkingHours must not be negative."),
        ({"timeLimitWorkingDays": "2601"}, LONGEST_DAYS),
        ({"timeLimitWorkingHours": "20801"}, LONGEST_HOURS),
        ({"timeLimitWorkingDays": "nan"}, LONGEST_DAYS),
        ({"timeLimitWorkingHours": "inf"}, LONGEST_HOURS),
    ],
)
def test_a_time_limit_that_cannot_be_counted_is_refused_with_a_reason(properties: dict[str, Any], message: str) -> None:
    with pytest.raises(EngineError) as refused:
        _due(properties)
    assert str(refused.value) == message


def test_the_due_moment_is_in_utc_whatever_the_server_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Ho_Chi_Minh")
    time.tzset()
    try:
        due = _due({}, "2027-03-05T09:00:00")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert due == _local(5, 9)
    assert due is not None and due.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("due_date", "data", "due"),
    [
        ("P2D", {}, _local(3, 17)),
        ("  PT4H ", {}, _local(1, 14, 30)),
        ("2027-03-05T09:00:00", {}, _local(5, 9)),  # no offset: the calendar's local time
        ("2027-03-05T09:00:00+00:00", {}, datetime(2027, 3, 5, 9, tzinfo=UTC)),
        ("2027-03-05", {}, _local(5, 0)),
        ("=limit", {"limit": "P2D"}, _local(3, 17)),
        (" =limit", {"limit": "P2D"}, _local(3, 17)),
        ("${limit}", {"limit": "PT4H"}, _local(1, 14, 30)),
        ("#{limit}", {"limit": "PT4H"}, _local(1, 14, 30)),
        ("${moment}", {"moment": datetime(2027, 3, 4, 10, 0)}, _local(4, 10)),
        ("${moment}", {"moment": datetime(2027, 3, 4, 10, 0, tzinfo=UTC)}, datetime(2027, 3, 4, 10, tzinfo=UTC)),
        ('=date and time("2027-03-04T10:00:00")', {}, _local(4, 10)),
        ("=limit", {"limit": None}, None),
        ("=limit", {"limit": ""}, None),
        ("", {}, None),
        (None, {}, None),
    ],
)
def test_a_due_date_literal_or_expression_gives_the_due_moment(due_date: str | None, data: dict[str, Any],
                                                               due: datetime | None) -> None:  # fmt: skip
    assert _due({}, due_date, **data) == due
    assert follow_up_for({"follow_up_date": due_date, "due_date": "P9D"}, data, ARRIVED, CALENDAR) == due


@pytest.mark.parametrize("due_date", ["soon", "=limit", "P", " tomorrow "])
def test_a_due_date_that_is_no_moment_is_refused_with_a_reason(due_date: str) -> None:
    with pytest.raises(EngineError) as refused:
        _due({}, due_date, limit="next week")
    text = str(refused.value).split("'")[1]
    assert str(refused.value) == f"'{text}' is neither an ISO 8601 date-time nor a duration."
    assert text in ("soon", "next week", "P", "tomorrow")


@pytest.mark.parametrize("text", ["P3D", " PT4H ", "2027-01-05T08:00:00", "2027-01-05", "=limit", " ${limit}", "#{a}"])
def test_a_due_date_that_can_work_passes_the_deploy_check(text: str) -> None:
    check_moment(text)


@pytest.mark.parametrize("text", ["soon", "P3X", "2027-13-05", " tomorrow "])
def test_a_literal_due_date_that_cannot_work_is_refused_at_deploy(text: str) -> None:
    with pytest.raises(EngineError) as refused:
        check_moment(text)
    assert str(refused.value) == (
        f"'{text.strip()}' is neither an ISO 8601 date-time (2027-01-05T08:00:00), a date (2027-01-05) nor a "
        "duration of working time (P3D, PT4H)."
    )


@pytest.mark.parametrize("text", ["=1 +", "${a +}", " =)"])
def test_an_expression_due_date_that_does_not_parse_is_refused_at_deploy(text: str) -> None:
    with pytest.raises(ExpressionError):
        check_moment(text)
