"""The calendar's edges: office hours kept as given, the longest stretch without work it looks through,
day starts in the local zone, and the Cultural Day fallback for older holiday packages."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from engine.org.calendar import WorkingCalendar, WorkingHours, _ensure_cultural_day, classify, parse_working_duration

MONDAY = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)  # 08:30 in Hà Nội
EVERY_DAY_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def test_office_hours_are_sorted_read_only_and_may_touch_but_not_be_empty() -> None:
    hours = WorkingHours({0: ((time(13), time(17)), (time(8), time(12))),
                          4: ((time(8), time(12)), (time(12), time(13))), 6: ()})  # fmt: skip
    assert hours.intervals[0] == ((time(8), time(12)), (time(13), time(17)))  # sorted
    assert 6 not in hours.intervals  # an empty day is a weekly day off
    assert hours.intervals[4] == ((time(8), time(12)), (time(12), time(13)))  # touching intervals are fine
    with pytest.raises(TypeError):
        hours.intervals[1] = ()  # type: ignore[index]
    with pytest.raises(ValueError, match="must start before it ends"):
        WorkingHours({0: ((time(8), time(8)),)})  # an interval of no length


def test_each_weekday_has_its_own_hours() -> None:
    friday_morning = WorkingHours({0: ((time(8), time(17)),), 4: ((time(8), time(12)),)})
    cal = WorkingCalendar(friday_morning, public_holidays=False)
    assert cal.intervals_on(date(2026, 12, 4)) == ((time(8), time(12)),)  # a Friday: the morning only
    assert cal.intervals_on(date(2026, 11, 30)) == ((time(8), time(17)),)


EVERY_DAY = WorkingHours({weekday: ((time(8), time(12)),) for weekday in range(7)})


def _off_after(start: date, days: int) -> WorkingCalendar:
    """Work every day of the week, except the ``days`` days after ``start``."""
    return WorkingCalendar(EVERY_DAY, days_off=[start + timedelta(days=i) for i in range(1, days + 1)],
                           public_holidays=False)  # fmt: skip


def test_the_calendar_looks_two_years_ahead_for_work_and_no_further() -> None:
    start = date(2026, 11, 30)
    assert _off_after(start, 730).next_working_day(start) == start + timedelta(days=731)
    with pytest.raises(ValueError, match=r"^no working day within 731 days after 2026-11-30$"):
        _off_after(start, 731).next_working_day(start)
    evening = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)  # 18:00 in Hà Nội: the start day's work is over
    first_hour = datetime.combine(start + timedelta(days=732), time(9), tzinfo=EVERY_DAY_TZ)
    assert _off_after(start, 731).add_working_time(evening, timedelta(hours=1)) == first_hour.astimezone(UTC)
    with pytest.raises(ValueError, match=r"^no working time within 731 days after 2026-11-30T11:00:00\+00:00$"):
        _off_after(start, 732).add_working_time(evening, timedelta(hours=1))


def test_durations_count_seconds_and_their_days_and_hours_together() -> None:
    assert parse_working_duration("PT30S") == (None, timedelta(seconds=30))
    assert parse_working_duration("PT1H30M15S") == (None, timedelta(hours=1, minutes=30, seconds=15))
    with pytest.raises(ValueError, match="at most 2,600 working days"):
        parse_working_duration("P2600DT8H")  # 2,600 days and one more day of hours


def test_a_naive_start_is_refused_by_every_deadline_function() -> None:
    cal = WorkingCalendar()
    with pytest.raises(ValueError, match=r"^start must be timezone-aware, got naive 2026-11-30T08:30:00$"):
        cal.add_working_duration(datetime(2026, 11, 30, 8, 30), "P1D")


class _NoOffset(tzinfo):
    """A time zone that knows no offset: as good as none."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None


def test_a_moment_whose_zone_gives_no_offset_is_refused_like_a_naive_one() -> None:
    with pytest.raises(ValueError, match="must be timezone-aware"):
        WorkingCalendar().add_working_days(datetime(2026, 11, 30, 8, 30, tzinfo=_NoOffset()), 1)


def test_without_a_calendar_the_due_day_starts_at_midnight_in_ha_noi() -> None:
    due = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 16:00 on 1 December in Hà Nội
    assert classify(datetime(2026, 11, 30, 17, 30, tzinfo=UTC), due) == "on_time"  # 00:30 on 1 December there
    assert classify(datetime(2026, 11, 30, 16, 59, tzinfo=UTC), due) == "early"  # 23:59 on 30 November there


def test_cultural_day_is_added_for_holiday_packages_that_lack_it() -> None:
    names: dict[date, str] = {}
    _ensure_cultural_day(2025, names)
    assert names == {}  # a holiday only from 2026
    _ensure_cultural_day(2026, names)
    assert names == {date(2026, 11, 24): "Ngày Văn hóa Việt Nam"}
    weekend: dict[date, str] = {}
    _ensure_cultural_day(2029, weekend)  # 24 November 2029 is a Saturday: the Monday after is off too
    assert weekend == {date(2029, 11, 24): "Ngày Văn hóa Việt Nam",
                       date(2029, 11, 26): "Ngày Văn hóa Việt Nam (nghỉ bù)"}  # fmt: skip
    known = {date(2027, 11, 24): "Vietnamese Culture Day"}
    _ensure_cultural_day(2027, known)
    assert known == {date(2027, 11, 24): "Vietnamese Culture Day"}  # the package's own name is kept
