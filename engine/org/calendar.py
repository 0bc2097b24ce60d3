"""Working-time calendar for Vietnamese state agencies: pure Python, no database, no Flask.

A :class:`WorkingCalendar` knows when an agency works:

* weekly office hours (:class:`WorkingHours`, by default Mon-Fri 07:30-11:30 and 13:30-17:00),
* national public holidays from the PyPI package ``holidays`` (country ``VN``: New Year, the lunar
  Tết block, Hùng Kings' day, 30/4, 1/5, 2/9 and its adjacent day, 24/11 from 2026, the substitute
  days off and the weekend make-up working days the government announces),
* the agency's own edits: extra days off and make-up working days (ngày làm bù).

It computes deadlines in working days, working hours or ISO 8601 durations, measures working time
between two moments, and classifies a completion as early, on time or late.

Every datetime going in must be timezone-aware (``ValueError`` otherwise); every datetime coming out
is an aware UTC datetime. Day boundaries and office hours are read in the calendar's time zone
(``Asia/Ho_Chi_Minh`` by default).

Working time is real elapsed time inside office hours. The legal rule "1 working day = 8 working
hours" (:data:`WORKING_DAY`) is used only to convert between hours and days (fractional days in an
ISO duration, :meth:`WorkingCalendar.working_days_between`); with the default office hours a day
actually holds 7.5 working hours.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "DEFAULT_TZ",
    "WORKING_DAY",
    "Outcome",
    "WorkingCalendar",
    "WorkingHours",
    "classify",
    "parse_working_duration",
]

Interval = tuple[time, time]
DayIntervals = tuple[Interval, ...]
Outcome = Literal["early", "on_time", "late"]

DEFAULT_TZ = "Asia/Ho_Chi_Minh"
WORKING_DAY = timedelta(hours=8)
MAX_WORKING_DAYS = 2_600  # about ten years of working days: the longest time limit that can be counted
"""One working day when converting hours <-> days (the legal rule, not the office hours)."""

_ONE_DAY = timedelta(days=1)
_MAX_IDLE_DAYS = 731
"""Give up looking for working time after this many consecutive days without any."""

_CULTURAL_DAY_FROM = 2026
_CULTURAL_DAY_NAME = "Ngày Văn hóa Việt Nam"


# --------------------------------------------------------------------------------------------
# Office hours
# --------------------------------------------------------------------------------------------


def _normalise_day(intervals: Iterable[Interval]) -> DayIntervals:
    """Sort one day's intervals and check them: naive times, start < end, no overlap."""
    day = tuple(sorted((start, end) for start, end in intervals))
    for start, end in day:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("office hours are local wall-clock times: give naive time objects")
        if not start < end:
            raise ValueError(f"office-hours interval {start}-{end} must start before it ends")
    for (_, previous_end), (next_start, _) in zip(day, day[1:], strict=False):
        if next_start < previous_end:
            raise ValueError(f"office-hours intervals overlap at {next_start}")
    return day


@dataclass(frozen=True)
class WorkingHours:
    """Office hours per weekday (0 = Monday .. 6 = Sunday) as local ``(start, end)`` intervals.

    A weekday missing from ``intervals`` (or mapped to an empty tuple) is a weekly day off.
    Intervals are validated and stored sorted in a read-only mapping.
    """

    intervals: Mapping[int, DayIntervals]

    def __post_init__(self) -> None:
        cleaned: dict[int, DayIntervals] = {}
        for weekday, day in self.intervals.items():
            if weekday not in range(7):
                raise ValueError(f"weekday must be 0 (Monday) .. 6 (Sunday), got {weekday!r}")
            normalised = _normalise_day(day)
            if normalised:
                cleaned[weekday] = normalised
        object.__setattr__(self, "intervals", MappingProxyType(cleaned))

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.intervals.items())))

    @classmethod
    def default(cls) -> WorkingHours:
        """Monday to Friday, 07:30-11:30 and 13:30-17:00."""
        day = ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 0)))
        return cls({weekday: day for weekday in range(5)})

    def on_weekday(self, weekday: int) -> DayIntervals:
        """The intervals worked on ``weekday`` (empty on a weekly day off)."""
        return self.intervals.get(weekday, ())


# --------------------------------------------------------------------------------------------
# National holidays (cached per year)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NationalYear:
    names: Mapping[date, str]
    make_up_days: frozenset[date]


def _ensure_cultural_day(year: int, names: dict[date, str]) -> None:
    """Add 24 November (Vietnam Cultural Day, a paid holiday from 2026) if the package lacks it.

    ``holidays`` 0.109 already has it; older releases do not, and pyproject pins no version.
    The package also moves it to the next weekday when it falls on a weekend; this fallback does
    the same with a plain "next Monday" rule, which is all a weekend 24 November needs.
    """
    if year < _CULTURAL_DAY_FROM:
        return
    day = date(year, 11, 24)
    if day in names:
        return
    names[day] = _CULTURAL_DAY_NAME
    if day.weekday() >= 5:
        observed = day + timedelta(days=7 - day.weekday())
        names.setdefault(observed, f"{_CULTURAL_DAY_NAME} (nghỉ bù)")


@functools.cache
def _national_year(year: int, language: str) -> _NationalYear:
    """Vietnamese public holidays and weekend make-up working days of ``year``.

    The neighbouring years are loaded too: a swap announced for one year can move a working day
    into the next (e.g. 31 Dec 2018 off, made up on Saturday 5 Jan 2019).
    """
    table = holidays.country_holidays("VN", years=(year - 1, year, year + 1), language=language)
    names = {day: str(name) for day, name in table.items() if day.year == year}
    _ensure_cultural_day(year, names)
    make_up = frozenset(day for day in getattr(table, "weekend_workdays", ()) if day.year == year)
    return _NationalYear(MappingProxyType(names), make_up)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _utc(moment: datetime, what: str = "datetime") -> datetime:
    """``moment`` converted to UTC; naive datetimes are refused."""
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


_DURATION = re.compile(
    r"P(?:(?P<days>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:[.,]\d+)?)H)?(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?"
)


def _number(text: str | None) -> float:
    return float(text.replace(",", ".")) if text else 0.0


def parse_working_duration(duration: str) -> tuple[int | None, timedelta]:
    """Split an ISO 8601 duration into (whole working days, extra working time).

    Only days (``D``) and time (``H``, ``M``, ``S``) are accepted; years, months and weeks are not
    working-time units and raise ``ValueError``, as do negative or empty durations. The day count
    is ``None`` when the duration has no whole day (``"PT4H"``, ``"P0.5D"``, ``"P0DT4H"``); it is
    ``0`` only for a bare ``"P0D"``, which means "within the day". A fractional day is converted to
    working time with the 8-hour rule: ``"P1.5D"`` is ``(1, 4 hours)``, ``"P0.5D"`` is
    ``(None, 4 hours)``.
    """
    text = duration.strip().upper()
    match = _DURATION.fullmatch(text)
    if not match or text == "P":
        raise ValueError(f"not a working-time ISO 8601 duration (use D, H, M, S): {duration!r}")
    parts = match.groupdict()
    extra = timedelta(
        hours=_number(parts["hours"]), minutes=_number(parts["minutes"]), seconds=_number(parts["seconds"])
    )
    days = _number(parts["days"])
    if days + extra / WORKING_DAY > MAX_WORKING_DAYS:
        raise ValueError(f"at most {MAX_WORKING_DAYS:,} working days (about ten years) can be counted: {duration!r}")
    if parts["days"] is None:
        return None, extra
    fraction, whole = math.modf(days)
    extra += WORKING_DAY * fraction
    if whole == 0 and extra:
        return None, extra
    return int(whole), extra


# --------------------------------------------------------------------------------------------
# The calendar
# --------------------------------------------------------------------------------------------


class WorkingCalendar:
    """When an agency works, and deadline arithmetic on top of it.

    Whether a date is a working day, first rule that applies wins:

    1. an agency day off (``days_off``) is not a working day;
    2. an agency make-up working day (``working_days``) is a working day;
    3. a national public holiday (when ``public_holidays``) is not a working day;
    4. a national weekend make-up day from the ``holidays`` package (when ``public_holidays``)
       is a working day;
    5. otherwise the weekday decides: a working day if ``hours`` has intervals for it.

    A working day whose weekday has no office hours (a make-up Saturday) is worked with
    ``make_up_hours``, by default Monday's hours.

    ``days_off`` may also be a mapping ``{date: name}``; the name is then returned by
    :meth:`holiday_name`. ``holiday_language`` is the language of the national holiday names
    (``"vi"``, ``"en_US"``).
    """

    def __init__(
        self,
        hours: WorkingHours | None = None,
        *,
        days_off: Iterable[date] | Mapping[date, str] = (),
        working_days: Iterable[date] = (),
        public_holidays: bool = True,
        tz: str = DEFAULT_TZ,
        make_up_hours: Sequence[Interval] | None = None,
        holiday_language: str = "vi",
    ) -> None:
        self.hours = hours if hours is not None else WorkingHours.default()
        self.tz = ZoneInfo(tz)
        self.public_holidays = public_holidays
        self.holiday_language = holiday_language
        if isinstance(days_off, Mapping):
            self.days_off: Mapping[date, str | None] = MappingProxyType(dict(days_off))
        else:
            self.days_off = MappingProxyType(dict.fromkeys(days_off))
        self.working_days = frozenset(working_days)
        clash = self.working_days & self.days_off.keys()
        if clash:
            raise ValueError(f"dates both off and working: {sorted(clash)}")
        self.make_up_hours = _normalise_day(make_up_hours if make_up_hours is not None else self.hours.on_weekday(0))
        if not self.make_up_hours:
            raise ValueError("make-up working days need office hours: give make_up_hours")
        # a day's office hours in UTC, worked out once per calendar: an inbox asks for the same days on every line
        self._utc_days: dict[date, tuple[tuple[datetime, datetime], ...]] = {}

    @property
    def day_length(self) -> timedelta:
        """The working time of an ordinary working day on this calendar (7.5 hours with the default hours):
        what "N working days left" counts in, as people read their office's day."""
        day = date(2024, 1, 1)  # any date: only the time of day matters
        return sum((datetime.combine(day, end) - datetime.combine(day, start) for start, end in self.make_up_hours),
                   timedelta())

    def __repr__(self) -> str:
        return (
            f"WorkingCalendar(tz={self.tz.key!r}, public_holidays={self.public_holidays}, "
            f"days_off={len(self.days_off)}, working_days={len(self.working_days)})"
        )

    # ---- days ---------------------------------------------------------------------------

    def _national(self, year: int) -> _NationalYear | None:
        return _national_year(year, self.holiday_language) if self.public_holidays else None

    def holiday_name(self, d: date) -> str | None:
        """Name of the national holiday on ``d``, else of the agency day off, else ``None``.

        A national holiday keeps its name even if the agency made it a working day.
        """
        national = self._national(d.year)
        if national is not None and d in national.names:
            return national.names[d]
        if d in self.days_off:
            return self.days_off[d] or "Ngày nghỉ của cơ quan"
        return None

    def is_working_day(self, d: date) -> bool:
        """Whether the agency works on ``d`` (see the class docstring for the rules)."""
        if d in self.days_off:
            return False
        if d in self.working_days:
            return True
        national = self._national(d.year)
        if national is not None:
            if d in national.names:
                return False
            if d in national.make_up_days:
                return True
        return bool(self.hours.on_weekday(d.weekday()))

    def intervals_on(self, d: date) -> DayIntervals:
        """Local office-hours intervals worked on ``d`` (empty if it is not a working day)."""
        if not self.is_working_day(d):
            return ()
        return self.hours.on_weekday(d.weekday()) or self.make_up_hours

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        for offset in range(1, _MAX_IDLE_DAYS + 1):
            candidate = d + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_MAX_IDLE_DAYS} days after {d}")

    def close_of_business(self, d: date) -> datetime:
        """End of the last office-hours interval of working day ``d``, in UTC."""
        intervals = self.intervals_on(d)
        if not intervals:
            raise ValueError(f"{d} is not a working day")
        return self._at(d, intervals[-1][1])

    def _at(self, d: date, clock: time) -> datetime:
        return datetime.combine(d, clock, tzinfo=self.tz).astimezone(UTC)

    def _local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def _utc_intervals(self, d: date) -> tuple[tuple[datetime, datetime], ...]:
        found = self._utc_days.get(d)
        if found is None:
            found = tuple((self._at(d, start), self._at(d, end)) for start, end in self.intervals_on(d))
            self._utc_days[d] = found
        return found

    def _segments_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working-time segments (UTC) from ``moment`` on, the first one clipped to start there."""
        d = self._local_date(moment)
        idle = 0
        while idle <= _MAX_IDLE_DAYS:
            segments = self._utc_intervals(d)
            idle = 0 if segments else idle + 1
            for start, end in segments:
                if end > moment:
                    yield max(start, moment), end
            d += _ONE_DAY
        raise ValueError(f"no working time within {_MAX_IDLE_DAYS} days after {moment.isoformat()}")

    # ---- deadlines ----------------------------------------------------------------------

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """Deadline of ``days`` working days for something received at ``start``.

        Convention (one-stop practice, in line with Civil Code 2015 art. 147: the day of the event
        is not counted): the receipt day is never counted, whatever the hour of receipt; day 1
        is the first working day after the receipt's local date, and the deadline is the close of
        business of day N. Received Monday 09:00 (or Monday 18:00, or Saturday) with 1 working
        day: due at the close of the next working day (Tuesday 17:00; Monday 17:00 for a
        Saturday receipt). Holidays, weekends and agency days off are skipped; make-up days count.

        ``days == 0`` means "within the day" (trong ngày): the close of business of the receipt
        day if it is a working day and that close is still ahead, otherwise of the next working
        day.
        """
        moment = _utc(start, "start")
        if days < 0:
            raise ValueError(f"days must be >= 0, got {days}")
        if days > MAX_WORKING_DAYS:
            raise ValueError(f"at most {MAX_WORKING_DAYS:,} working days (about ten years) can be counted")
        d = self._local_date(moment)
        if days == 0:
            if self.is_working_day(d) and moment < self.close_of_business(d):
                return self.close_of_business(d)
            return self.close_of_business(self.next_working_day(d))
        for _ in range(days):
            d = self.next_working_day(d)
        return self.close_of_business(d)

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The moment when ``amount`` of working time has elapsed since ``start``.

        Only time inside office hours counts. A deadline that falls exactly on the end of an
        interval stays there (11:30, not 13:30). A zero amount returns ``start`` itself.
        """
        moment = _utc(start, "start")
        if amount < timedelta(0):
            raise ValueError(f"working time must be >= 0, got {amount}")
        if amount > MAX_WORKING_DAYS * WORKING_DAY:
            raise ValueError(f"at most {MAX_WORKING_DAYS:,} working days (about ten years) can be counted")
        remaining = amount
        if not remaining:
            return moment
        for segment_start, segment_end in self._segments_from(moment):
            available = segment_end - segment_start
            if remaining <= available:
                return segment_start + remaining
            remaining -= available
        raise AssertionError("unreachable: _segments_from never ends normally")  # pragma: no cover

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` working hours (see :meth:`add_working_time`)."""
        if not math.isfinite(hours) or hours < 0:
            raise ValueError(f"hours must be a finite number >= 0, got {hours}")
        if hours > MAX_WORKING_DAYS * WORKING_DAY / timedelta(hours=1):
            raise ValueError(f"at most {MAX_WORKING_DAYS:,} working days (about ten years) can be counted")
        return self.add_working_time(start, timedelta(hours=hours))

    def add_working_duration(self, start: datetime, duration: str) -> datetime:
        """Deadline for an ISO 8601 duration of working time.

        ``"P3D"`` is 3 working days (:meth:`add_working_days`), ``"PT4H"`` 4 working hours from
        ``start``. A mixed ``"P1DT4H"`` first applies the days (due at the close of day 1) and
        then adds 4 working hours from there, i.e. 11:30 of the following working day with the
        default hours. ``"P0D"`` is "within the day". See :func:`parse_working_duration` for what
        is accepted.
        """
        days, extra = parse_working_duration(duration)
        moment = _utc(start, "start")
        if days is not None:
            moment = self.add_working_days(moment, days)
        return self.add_working_time(moment, extra)

    # ---- measuring ----------------------------------------------------------------------

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Time inside office hours between ``a`` and ``b``; negative if ``b`` is before ``a``."""
        first, second = _utc(a, "a"), _utc(b, "b")
        if second < first:
            return -self.working_time_between(second, first)
        total = timedelta(0)
        d, last = self._local_date(first), self._local_date(second)
        while d <= last:
            for start, end in self._utc_intervals(d):
                overlap = min(end, second) - max(start, first)
                if overlap > timedelta(0):
                    total += overlap
            d += _ONE_DAY
        return total

    def working_days_between(self, a: datetime, b: datetime) -> float:
        """:meth:`working_time_between` in working days of 8 hours (the legal conversion)."""
        return self.working_time_between(a, b) / WORKING_DAY


# --------------------------------------------------------------------------------------------
# Classification of a completion
# --------------------------------------------------------------------------------------------


def _start_of_due_day(due: datetime, cal: WorkingCalendar | None) -> datetime:
    """Start of the due moment's working day: its first office hour, else local midnight."""
    if cal is None:
        local = due.astimezone(ZoneInfo(DEFAULT_TZ))
        return datetime.combine(local.date(), time(0), tzinfo=local.tzinfo).astimezone(UTC)
    d = cal._local_date(due)
    intervals = cal.intervals_on(d)
    return cal._at(d, intervals[0][0] if intervals else time(0))


def classify(
    completed_at: datetime,
    due_at: datetime | None,
    *,
    paused: timedelta = timedelta(0),
    cal: WorkingCalendar | None = None,
) -> Outcome:
    """Classify a completion as ``"early"``, ``"on_time"`` or ``"late"`` (DVCQG rule).

    * The effective due moment is ``due_at`` extended by ``paused`` (time spent waiting, e.g. for
      the citizen's supplement): as working time through ``cal`` when a calendar is given
      (``cal.add_working_time``), as plain elapsed time otherwise.
    * ``"late"``: completed strictly after the effective due moment.
    * ``"early"``: completed before the start of the effective due moment's working day, i.e. on
      an earlier day. With ``cal`` that start is the day's first office hour (07:30 by default)
      in the calendar's time zone, or local midnight if that day is not worked; without ``cal``
      it is midnight in Asia/Ho_Chi_Minh.
    * ``"on_time"``: otherwise (including exactly at the due moment), and always when there is
      no due date.

    Rules outside a single pair of timestamps (e.g. "more than one supplement request counts as
    late") are the caller's to apply.
    """
    done = _utc(completed_at, "completed_at")
    if paused < timedelta(0):
        raise ValueError(f"paused must be >= 0, got {paused}")
    if due_at is None:
        return "on_time"
    due = _utc(due_at, "due_at")
    effective = cal.add_working_time(due, paused) if cal is not None else due + paused
    if done > effective:
        return "late"
    if done < _start_of_due_day(effective, cal):
        return "early"
    return "on_time"
