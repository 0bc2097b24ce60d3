"""The calendar refuses what cannot be a working-time question, each time with a sentence that says what
was wrong (a deadline computed from a wrong start would be a wrong deadline, quietly)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest

from engine.org.calendar import MAX_WORKING_DAYS, WorkingCalendar, WorkingHours, classify, parse_working_duration

MONDAY = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)  # 08:30 in Hà Nội
NAIVE = datetime(2026, 11, 30, 8, 30)
TEN_YEARS = f"at most {MAX_WORKING_DAYS:,} working days (about ten years) can be counted"


def exactly(message: str) -> str:
    return "^" + re.escape(message) + "$"


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def test_moments_must_be_aware_datetimes_and_the_refusal_names_which(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match=exactly("start must be timezone-aware, got naive 2026-11-30T08:30:00")):
        cal.add_working_days(NAIVE, 1)
    with pytest.raises(TypeError, match=exactly("start must be a datetime, got date")):
        cal.add_working_time(date(2026, 11, 30), timedelta(hours=1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=exactly("b must be timezone-aware, got naive 2026-11-30T08:30:00")):
        cal.working_time_between(MONDAY, NAIVE)
    with pytest.raises(ValueError, match=exactly("a must be timezone-aware, got naive 2026-11-30T08:30:00")):
        cal.working_time_between(NAIVE, MONDAY)
    with pytest.raises(ValueError, match=exactly("completed_at must be timezone-aware, got naive 2026-11-30T08:30:00")):
        classify(NAIVE, MONDAY)
    with pytest.raises(ValueError, match=exactly("due_at must be timezone-aware, got naive 2026-11-30T08:30:00")):
        classify(MONDAY, NAIVE)


def test_amounts_must_be_positive_and_at_most_ten_years(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match=exactly("days must be >= 0, got -1")):
        cal.add_working_days(MONDAY, -1)
    with pytest.raises(ValueError, match=exactly(TEN_YEARS)):
        cal.add_working_days(MONDAY, MAX_WORKING_DAYS + 1)
    with pytest.raises(ValueError, match=exactly("working time must be >= 0, got -1 day, 23:00:00")):
        cal.add_working_time(MONDAY, timedelta(hours=-1))
    with pytest.raises(ValueError, match=exactly(TEN_YEARS)):
        cal.add_working_time(MONDAY, timedelta(hours=8 * MAX_WORKING_DAYS + 1))
    with pytest.raises(ValueError, match=exactly("hours must be a finite number >= 0, got -2")):
        cal.add_working_hours(MONDAY, -2)
    with pytest.raises(ValueError, match=exactly("hours must be a finite number >= 0, got nan")):
        cal.add_working_hours(MONDAY, float("nan"))
    with pytest.raises(ValueError, match=exactly(TEN_YEARS)):
        cal.add_working_hours(MONDAY, 8 * MAX_WORKING_DAYS + 1)
    with pytest.raises(ValueError, match=exactly("paused must be >= 0, got -1 day, 23:00:00")):
        classify(MONDAY, MONDAY, paused=timedelta(hours=-1))
    # the limits themselves are allowed
    assert cal.add_working_days(MONDAY, MAX_WORKING_DAYS) > MONDAY
    assert cal.add_working_hours(MONDAY, 0) == MONDAY and cal.add_working_time(MONDAY, timedelta(0)) == MONDAY


def test_durations_must_be_working_time(cal: WorkingCalendar) -> None:
    for text in ("P1M", "P1W", "P", "PT", "-P1D", "3 days"):
        refusal = f"not a working-time ISO 8601 duration (use D, H, M, S): {text!r}"
        with pytest.raises(ValueError, match=exactly(refusal)):
            parse_working_duration(text)
    with pytest.raises(ValueError, match=exactly(f"{TEN_YEARS}: 'P2601D'")):
        parse_working_duration("P2601D")
    assert parse_working_duration("P2600D") == (2600, timedelta(0))
    assert parse_working_duration(" p1dt4h ") == (1, timedelta(hours=4))
    assert parse_working_duration("P0D") == (0, timedelta(0))
    assert parse_working_duration("P0.5D") == (None, timedelta(hours=4))


def test_office_hours_must_make_sense(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match=exactly("weekday must be 0 (Monday) .. 6 (Sunday), got 7")):
        WorkingHours({7: ((time(8), time(12)),)})
    with pytest.raises(ValueError, match=exactly("office-hours interval 12:00:00-08:00:00 must start before it ends")):
        WorkingHours({0: ((time(12), time(8)),)})
    with pytest.raises(ValueError, match=exactly("office-hours intervals overlap at 11:00:00")):
        WorkingHours({0: ((time(8), time(12)), (time(11), time(13)))})
    with pytest.raises(ValueError, match=exactly("office hours are local wall-clock times: give naive time objects")):
        WorkingHours({0: ((time(8, tzinfo=UTC), time(12)),)})
    with pytest.raises(ValueError, match=exactly("dates both off and working: [datetime.date(2027, 1, 2)]")):
        WorkingCalendar(days_off=[date(2027, 1, 2)], working_days=[date(2027, 1, 2)])
    with pytest.raises(ValueError, match=exactly("make-up working days need office hours: give make_up_hours")):
        WorkingCalendar(WorkingHours({5: ((time(8), time(12)),)}), make_up_hours=())
    with pytest.raises(ValueError, match=exactly("2026-11-29 is not a working day")):
        cal.close_of_business(date(2026, 11, 29))  # a Sunday
    # equal office hours are one calendar's hours
    same = WorkingHours({0: ((time(8), time(12)),)})
    assert hash(same) == hash(WorkingHours({0: ((time(8), time(12)),)}))
    assert hash(same) != hash(WorkingHours({0: ((time(8), time(11)),)}))
