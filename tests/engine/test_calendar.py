"""Working-time calendar: holidays, agency edits, deadlines, working time and classification."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest

from engine.org.calendar import (
    WorkingCalendar,
    WorkingHours,
    _ensure_cultural_day,
    _national_year,
    classify,
    parse_working_duration,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkingCalendar()


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A moment on the wall clock of Hà Nội / Hồ Chí Minh City."""
    return datetime(year, month, day, hour, minute, second, tzinfo=VN)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


# ---- office hours ---------------------------------------------------------------------------


def test_default_hours_are_mon_to_fri_with_a_lunch_break() -> None:
    default = WorkingHours.default()
    assert default.on_weekday(0) == ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 0)))
    assert default.on_weekday(4) == default.on_weekday(0)
    assert default.on_weekday(5) == () and default.on_weekday(6) == ()
    assert hash(default) == hash(WorkingHours.default()) and default == WorkingHours.default()


@pytest.mark.parametrize(
    "intervals",
    [
        {7: ((time(8), time(12)),)},
        {0: ((time(12), time(8)),)},
        {0: ((time(8), time(12)), (time(11), time(13)))},
    ],
    ids=["weekday 7", "end before start", "overlap"],
)
def test_invalid_office_hours_are_refused(intervals: dict[int, Any]) -> None:
    with pytest.raises(ValueError):
        WorkingHours(intervals)


def test_calendar_refuses_contradictory_edits() -> None:
    with pytest.raises(ValueError, match="both off and working"):
        WorkingCalendar(days_off=[date(2027, 3, 12)], working_days=[date(2027, 3, 12)])
    tue_to_sat = WorkingHours({d: ((time(8), time(16)),) for d in range(1, 6)})
    with pytest.raises(ValueError, match="make_up_hours"):
        WorkingCalendar(tue_to_sat)


# ---- national holidays ----------------------------------------------------------------------


def test_tet_2027_comes_from_the_lunar_calendar_and_deadlines_skip_it() -> None:
    package = holidays.country_holidays("VN", years=2027, language="vi")
    lunar_new_year = next(d for d, name in package.items() if name == "Tết Nguyên Đán")
    assert lunar_new_year == date(2027, 2, 6)  # a Saturday
    tet_block = sorted(d for d, name in package.items() if "Tết" in name and d.month == 2)
    assert tet_block[0] <= date(2027, 2, 5) and tet_block[-1] >= date(2027, 2, 9)
    assert not any(CAL.is_working_day(d) for d in tet_block)
    assert CAL.holiday_name(date(2027, 2, 8)) == "Mùng ba Tết Nguyên Đán"

    # Received Wednesday 3 Feb, the last working day before Tết, with 3 working days:
    # Thu 4 .. Wed 10 Feb are Tết, so the days are Thu 11, Fri 12 and Mon 15 Feb.
    due = CAL.add_working_days(vn(2027, 2, 3, 9), 3)
    assert due == vn(2027, 2, 15, 17)
    assert due.tzinfo is UTC
    # 2 working hours from Wed 16:00: one hour before Tết, one after it.
    assert CAL.add_working_hours(vn(2027, 2, 3, 16), 2) == vn(2027, 2, 11, 8, 30)
    assert CAL.working_time_between(vn(2027, 2, 3, 17), vn(2027, 2, 11, 7, 30)) == timedelta(0)


def test_deadline_across_a_weekend_and_the_april_may_holidays() -> None:
    # Fri 30 Apr, Sat 1 May (observed Mon 3 May), weekend: the 3 days are Tue 4, Wed 5, Thu 6 May.
    received = vn(2027, 4, 29, 9)
    assert CAL.add_working_days(received, 3) == vn(2027, 5, 6, 17)
    assert CAL.add_working_days(received.astimezone(UTC), 3) == datetime(2027, 5, 6, 10, tzinfo=UTC)
    assert not CAL.is_working_day(date(2027, 5, 3))
    # Without the national calendar only the weekend is skipped.
    assert WorkingCalendar(public_holidays=False).add_working_days(received, 3) == vn(2027, 5, 4, 17)


def test_holiday_names_observed_days_and_language() -> None:
    assert CAL.holiday_name(date(2026, 9, 2)) == "Quốc khánh"
    assert CAL.holiday_name(date(2026, 11, 24)) == "Ngày Văn hóa Việt Nam"
    assert not CAL.is_working_day(date(2026, 11, 24))
    assert CAL.holiday_name(date(2026, 3, 10)) is None
    # Hùng Kings' day 2026 is a Sunday: Monday 27 April is the day off in lieu.
    assert not CAL.is_working_day(date(2026, 4, 27))
    assert "nghỉ bù" in (CAL.holiday_name(date(2026, 4, 27)) or "")
    english = WorkingCalendar(holiday_language="en_US")
    assert english.holiday_name(date(2027, 9, 2)) == "National Day"


def test_government_swap_from_the_package_2025() -> None:
    # 2025: Friday 2 May off, made up on Saturday 26 April.
    assert not CAL.is_working_day(date(2025, 5, 2))
    assert "26/04/2025" in (CAL.holiday_name(date(2025, 5, 2)) or "")
    assert CAL.is_working_day(date(2025, 4, 26))
    # Received Thu 24 Apr with 2 working days: Fri 25 and the make-up Sat 26 April.
    assert CAL.add_working_days(vn(2025, 4, 24, 10), 2) == vn(2025, 4, 26, 17)


def test_cultural_day_fallback_for_packages_without_it() -> None:
    names: dict[date, str] = {}
    _ensure_cultural_day(2025, names)
    assert names == {}
    _ensure_cultural_day(2027, names)
    assert list(names) == [date(2027, 11, 24)]
    weekend: dict[date, str] = {}
    _ensure_cultural_day(2029, weekend)  # a Saturday: Monday 26 November is off in lieu
    assert sorted(weekend) == [date(2029, 11, 24), date(2029, 11, 26)]


def test_holiday_lookups_are_cached_per_year() -> None:
    assert _national_year(2027, "vi") is _national_year(2027, "vi")


# ---- agency edits ---------------------------------------------------------------------------


def test_agency_day_off_pushes_the_deadline() -> None:
    received = vn(2027, 3, 10, 10)  # Wednesday
    assert CAL.add_working_days(received, 2) == vn(2027, 3, 12, 17)
    swapped = WorkingCalendar(days_off={date(2027, 3, 12): "Nghỉ bù theo thông báo của UBND"})
    assert swapped.add_working_days(received, 2) == vn(2027, 3, 15, 17)
    assert swapped.holiday_name(date(2027, 3, 12)) == "Nghỉ bù theo thông báo của UBND"
    assert WorkingCalendar(days_off=[date(2027, 3, 12)]).holiday_name(date(2027, 3, 12)) == "Ngày nghỉ của cơ quan"


def test_make_up_saturday_counts_with_mondays_hours() -> None:
    swap = WorkingCalendar(days_off=[date(2027, 3, 12)], working_days=[date(2027, 3, 13)])
    assert swap.is_working_day(date(2027, 3, 13))
    assert swap.intervals_on(date(2027, 3, 13)) == WorkingHours.default().on_weekday(0)
    # Received Wed 10 Mar with 2 working days: Thu 11 and the make-up Sat 13 March.
    assert swap.add_working_days(vn(2027, 3, 10, 10), 2) == vn(2027, 3, 13, 17)
    assert swap.add_working_hours(vn(2027, 3, 13, 16), 1.5) == vn(2027, 3, 15, 8)
    short_saturday = WorkingCalendar(working_days=[date(2027, 3, 13)], make_up_hours=[(time(8), time(11))])
    assert short_saturday.close_of_business(date(2027, 3, 13)) == vn(2027, 3, 13, 11)


def test_agency_may_work_on_a_public_holiday() -> None:
    on_duty = WorkingCalendar(working_days=[date(2027, 4, 30)])
    assert on_duty.is_working_day(date(2027, 4, 30))
    assert on_duty.holiday_name(date(2027, 4, 30)) == "Ngày Chiến thắng"


# ---- deadlines ------------------------------------------------------------------------------


def test_receipt_day_is_not_counted_whatever_the_hour() -> None:
    for received in (vn(2027, 3, 8, 9), vn(2027, 3, 8, 18), vn(2027, 3, 8, 6)):  # Monday
        assert CAL.add_working_days(received, 1) == vn(2027, 3, 9, 17)
    assert CAL.add_working_days(vn(2027, 3, 6, 10), 1) == vn(2027, 3, 8, 17)  # Saturday receipt
    # 0 days = within the day; after closing time it rolls to the next working day.
    assert CAL.add_working_days(vn(2027, 3, 8, 9), 0) == vn(2027, 3, 8, 17)
    assert CAL.add_working_days(vn(2027, 3, 8, 18), 0) == vn(2027, 3, 9, 17)
    with pytest.raises(ValueError):
        CAL.add_working_days(vn(2027, 3, 8, 9), -1)


@pytest.mark.parametrize(
    ("start", "amount", "due"),
    [
        (vn(2027, 3, 8, 9), 4, vn(2027, 3, 8, 15)),  # 2.5 h before lunch, 1.5 h after
        (vn(2027, 3, 8, 9), 2.5, vn(2027, 3, 8, 11, 30)),  # ends on the lunch break, not after it
        (vn(2027, 3, 8, 9), 7.5, vn(2027, 3, 9, 9)),  # overnight
        (vn(2027, 3, 8, 6), 1, vn(2027, 3, 8, 8, 30)),  # before opening
        (vn(2027, 3, 8, 12), 1, vn(2027, 3, 8, 14, 30)),  # during lunch
        (vn(2027, 3, 12, 16), 2, vn(2027, 3, 15, 8, 30)),  # Friday to Monday
        (vn(2027, 3, 8, 9, 10), 0, vn(2027, 3, 8, 9, 10)),
    ],
)
def test_working_hours_arithmetic(start: datetime, amount: float, due: datetime) -> None:
    result = CAL.add_working_hours(start, amount)
    assert result == due and result.tzinfo is UTC
    assert CAL.working_time_between(start, result) == hours(amount)


def test_input_in_another_time_zone() -> None:
    paris = datetime(2027, 3, 8, 3, tzinfo=ZoneInfo("Europe/Paris"))  # 09:00 in Việt Nam
    assert CAL.add_working_hours(paris, 4) == datetime(2027, 3, 8, 8, tzinfo=UTC)
    with pytest.raises(ValueError):
        CAL.add_working_hours(paris, -1)


@pytest.mark.parametrize(
    ("duration", "due"),
    [
        ("P3D", vn(2027, 3, 11, 17)),
        ("PT4H", vn(2027, 3, 8, 15)),
        ("P1DT4H", vn(2027, 3, 10, 11, 30)),
        ("PT30M", vn(2027, 3, 8, 9, 30)),
        ("P0.5D", vn(2027, 3, 8, 15)),
        ("P0D", vn(2027, 3, 8, 17)),
        ("p2d", vn(2027, 3, 10, 17)),
    ],
)
def test_iso_durations(duration: str, due: datetime) -> None:
    assert CAL.add_working_duration(vn(2027, 3, 8, 9), duration) == due


def test_parse_working_duration() -> None:
    assert parse_working_duration("PT1H30M") == (None, hours(1.5))
    assert parse_working_duration("P1,5D") == (1, hours(4))
    assert parse_working_duration("P0D") == (0, timedelta(0))


@pytest.mark.parametrize("duration", ["", "P", "PT", "P1DT", "P1W", "P1M", "P1Y", "-P1D", "3 days", "PT4"])
def test_invalid_durations_are_refused(duration: str) -> None:
    with pytest.raises(ValueError):
        CAL.add_working_duration(vn(2027, 3, 8, 9), duration)


# ---- measuring ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (vn(2027, 3, 8, 10), vn(2027, 3, 8, 14), hours(2)),  # lunch excluded
        (vn(2027, 3, 8, 16), vn(2027, 3, 9, 9), hours(2.5)),  # night excluded
        (vn(2027, 3, 12, 16), vn(2027, 3, 15, 8, 30), hours(2)),  # weekend excluded
        (vn(2027, 3, 8), vn(2027, 3, 13), hours(37.5)),  # a whole week
        (vn(2027, 3, 9, 9), vn(2027, 3, 8, 16), hours(-2.5)),  # backwards
        (vn(2027, 3, 8, 12), vn(2027, 3, 8, 13), timedelta(0)),
    ],
)
def test_working_time_between(a: datetime, b: datetime, expected: timedelta) -> None:
    assert CAL.working_time_between(a, b) == expected


def test_working_days_between_uses_eight_hour_days() -> None:
    assert CAL.working_days_between(vn(2027, 3, 8), vn(2027, 3, 13)) == pytest.approx(37.5 / 8)
    assert CAL.working_days_between(vn(2027, 3, 8, 7, 30), vn(2027, 3, 8, 13, 30)) == 0.5


# ---- classification -------------------------------------------------------------------------

DUE = vn(2027, 3, 9, 17)  # Tuesday close of business


@pytest.mark.parametrize(
    ("completed", "expected"),
    [
        (vn(2027, 3, 8, 16), "early"),  # the day before
        (vn(2027, 3, 9, 7), "early"),  # before Tuesday's office opens
        (vn(2027, 3, 9, 8), "on_time"),
        (DUE, "on_time"),
        (vn(2027, 3, 9, 17, 1), "late"),
    ],
)
def test_classify_with_calendar(completed: datetime, expected: str) -> None:
    assert classify(completed, DUE, cal=CAL) == expected


def test_classify_without_calendar_uses_the_calendar_day() -> None:
    assert classify(vn(2027, 3, 9, 7), DUE) == "on_time"
    assert classify(vn(2027, 3, 8, 23, 59), DUE) == "early"
    assert classify(vn(2027, 3, 9, 18), None) == "on_time"


def test_paused_time_extends_the_due_moment() -> None:
    waited = hours(4)  # waiting for the citizen's supplement
    # In working time: Tuesday 17:00 + 4 working hours = Wednesday 11:30.
    assert classify(vn(2027, 3, 10, 11), DUE, paused=waited, cal=CAL) == "on_time"
    assert classify(vn(2027, 3, 10, 13, 40), DUE, paused=waited, cal=CAL) == "late"
    assert classify(vn(2027, 3, 9, 16), DUE, paused=waited, cal=CAL) == "early"
    # Without a calendar the pause is wall-clock time: due Tuesday 21:00.
    assert classify(vn(2027, 3, 10, 11), DUE, paused=waited) == "late"
    assert classify(vn(2027, 3, 9, 20), DUE, paused=waited) == "on_time"
    with pytest.raises(ValueError):
        classify(DUE, DUE, paused=-waited)


# ---- naive datetimes ------------------------------------------------------------------------

NAIVE = datetime(2027, 3, 8, 9)
AWARE = vn(2027, 3, 8, 9)


@pytest.mark.parametrize(
    "call",
    [
        lambda: CAL.add_working_days(NAIVE, 1),
        lambda: CAL.add_working_hours(NAIVE, 1),
        lambda: CAL.add_working_duration(NAIVE, "PT1H"),
        lambda: CAL.working_time_between(NAIVE, AWARE),
        lambda: CAL.working_time_between(AWARE, NAIVE),
        lambda: CAL.working_days_between(AWARE, NAIVE),
        lambda: classify(NAIVE, AWARE),
        lambda: classify(AWARE, NAIVE),
    ],
    ids=["days", "hours", "duration", "between a", "between b", "days between", "completed", "due"],
)
def test_naive_datetimes_are_refused(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call()


# ---- the exact edges of office hours ------------------------------------------------------------


def test_work_received_exactly_at_closing_time_is_treated_as_after_hours() -> None:
    monday_close = vn(2027, 3, 8, 17)
    assert CAL.add_working_days(vn(2027, 3, 8, 16, 59), 0) == monday_close  # still within the day
    assert CAL.add_working_days(monday_close, 0) == vn(2027, 3, 9, 17)  # the day is over: tomorrow's close
    assert CAL.add_working_days(monday_close, 1) == vn(2027, 3, 9, 17)
    assert CAL.add_working_days(monday_close, 2) == vn(2027, 3, 10, 17)
    assert CAL.add_working_days(vn(2027, 3, 12, 17), 0) == vn(2027, 3, 15, 17)  # Friday close: Monday
    assert CAL.add_working_hours(monday_close, 1) == vn(2027, 3, 9, 8, 30)
    assert CAL.add_working_hours(vn(2027, 3, 8, 11, 30), 1) == vn(2027, 3, 8, 14, 30)  # lunch starts
    assert CAL.add_working_hours(vn(2027, 3, 8, 7, 30), 7.5) == monday_close  # a full day ends at closing
    assert CAL.working_time_between(monday_close, vn(2027, 3, 9, 7, 30)) == timedelta(0)


def test_working_time_between_counts_only_office_hours_and_is_signed() -> None:
    a, b = vn(2027, 3, 8, 11), vn(2027, 3, 9, 8)  # Monday 11:00 to Tuesday 08:00
    assert CAL.working_time_between(a, b) == hours(0.5 + 3.5 + 0.5)
    assert CAL.working_time_between(b, a) == -hours(4.5)
    assert CAL.working_time_between(a, a) == timedelta(0)
    assert CAL.working_time_between(vn(2027, 3, 8, 11, 30), vn(2027, 3, 8, 13, 30)) == timedelta(0)  # lunch
    assert CAL.working_days_between(vn(2027, 3, 8, 7, 30), vn(2027, 3, 10, 7, 30)) == 15 / 8  # 7.5 h a day


@pytest.mark.parametrize(
    ("completed", "expected"),
    [
        (vn(2027, 3, 9, 7, 29), "early"),
        (vn(2027, 3, 9, 7, 30), "on_time"),  # the due day's office opens: no longer early
        (vn(2027, 3, 9, 16, 59, 59), "on_time"),
        (vn(2027, 3, 9, 17), "on_time"),  # exactly at the due moment
        (vn(2027, 3, 9, 17) + timedelta(seconds=1), "late"),
    ],
)
def test_classify_at_the_exact_edges_of_the_due_day(completed: datetime, expected: str) -> None:
    assert classify(completed, DUE, cal=CAL) == expected
    assert classify(completed, DUE, paused=timedelta(0), cal=CAL) == expected


def test_classify_when_the_due_day_is_not_worked_counts_from_midnight() -> None:
    saturday = vn(2027, 3, 13, 10)  # a due moment on a day off (set by hand)
    assert classify(vn(2027, 3, 12, 23, 59), saturday, cal=CAL) == "early"
    assert classify(vn(2027, 3, 13, 0, 0), saturday, cal=CAL) == "on_time"
    assert classify(vn(2027, 3, 13, 10, 1), saturday, cal=CAL) == "late"


def test_the_next_working_day_is_strictly_after() -> None:
    assert CAL.next_working_day(date(2027, 3, 8)) == date(2027, 3, 9)
    assert CAL.next_working_day(date(2027, 3, 12)) == date(2027, 3, 15)
    assert CAL.close_of_business(date(2027, 3, 8)) == vn(2027, 3, 8, 17)
    with pytest.raises(ValueError, match="not a working day"):
        CAL.close_of_business(date(2027, 3, 13))
