"""Step deadlines: when a task is due, on the unit's working calendar, and how it finished.

A user task's time limit comes from its diagram, first that applies:

- the extension property ``timeLimitWorkingDays`` (``zeebe:properties`` / ``camunda:properties``):
  N working days, due at the close of business of the Nth working day after the task arrived;
- the extension property ``timeLimitWorkingHours``: N working hours of office time;
- a due date (C8 ``zeebe:taskSchedule dueDate``, C7 ``camunda:dueDate``): an ISO 8601 date-time, or an
  ISO 8601 duration counted in working time (``P3D`` = 3 working days, ``PT4H`` = 4 working hours),
  either literal or an expression (FEEL ``=...``, JUEL ``${...}``) over the task's data.

A follow-up date (C8 ``zeebe:taskSchedule followUpDate``, C7 ``camunda:followUpDate``) takes the same
values and goes through the same code (``follow_up_for``): when to look at the task again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .calendar import MAX_WORKING_DAYS, WORKING_DAY, WorkingCalendar, parse_working_duration
from .errors import Conflict, EngineError
from .models import CalendarDay
from .scripting import check_expression, evaluate_expression

DAYS_PROPERTY = "timeLimitWorkingDays"
HOURS_PROPERTY = "timeLimitWorkingHours"


def calendar_for(session: Session, unit_id: int | None) -> WorkingCalendar:
    """The national calendar with the province's and the unit's own days off and make-up days."""
    stmt = select(CalendarDay).where(or_(CalendarDay.unit_id.is_(None), CalendarDay.unit_id == unit_id))
    days_off: dict[Any, str] = {}
    working: set[Any] = set()
    # The unit's own entry for a date wins over the province's.
    for entry in sorted(session.scalars(stmt), key=lambda e: e.unit_id is not None):
        days_off.pop(entry.day, None)
        working.discard(entry.day)
        if entry.kind == "off":
            days_off[entry.day] = entry.note or "Ngày nghỉ"
        else:
            working.add(entry.day)
    return WorkingCalendar(days_off=days_off, working_days=working)


def _number(value: str, what: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise EngineError("The time limit %(what)s must be a number, not '%(value)s'.", what=what, value=value)
    if number < 0:
        raise EngineError("The time limit %(what)s must not be negative.", what=what)
    longest = MAX_WORKING_DAYS * (1 if what == DAYS_PROPERTY else WORKING_DAY / timedelta(hours=1))
    if not number <= longest:  # NaN and Infinity included
        raise EngineError(
            "The time limit %(what)s may be at most %(limit)s (about ten years of working time).",
            what=what,
            limit=f"{longest:,.0f}",
        )
    return number


def due_for(
    node: Mapping[str, Any], data: Mapping[str, Any], arrived: datetime, calendar: WorkingCalendar
) -> datetime | None:
    """When a task of this diagram element, arriving now with this data, is due (None: no limit)."""
    properties = node.get("properties") or {}
    if properties.get(DAYS_PROPERTY):
        days = _number(str(properties[DAYS_PROPERTY]), DAYS_PROPERTY)
        if days.is_integer():
            return calendar.add_working_days(arrived, int(days))
        return calendar.add_working_hours(arrived, days * WORKING_DAY.total_seconds() / 3600)
    if properties.get(HOURS_PROPERTY):
        return calendar.add_working_hours(arrived, _number(str(properties[HOURS_PROPERTY]), HOURS_PROPERTY))
    return moment_for(node.get("due_date"), data, arrived, calendar)


def follow_up_for(
    node: Mapping[str, Any], data: Mapping[str, Any], arrived: datetime, calendar: WorkingCalendar
) -> datetime | None:
    """When a task of this diagram element, arriving now with this data, should be looked at again."""
    return moment_for(node.get("follow_up_date"), data, arrived, calendar)


def _is_expression(text: str) -> bool:
    return text.strip().startswith(("=", "${", "#{"))


def moment_for(
    text: str | None, data: Mapping[str, Any], arrived: datetime, calendar: WorkingCalendar
) -> datetime | None:
    """A due or follow-up date as the diagram writes it (literal or expression), as a moment; None: none."""
    if not text:
        return None
    value = evaluate_expression(text, data) if _is_expression(str(text)) else text
    return _moment_from_value(value, arrived, calendar)


def _moment_from_value(value: Any, arrived: datetime, calendar: WorkingCalendar) -> datetime | None:
    """An ISO 8601 date-time or date (local time when it has no offset), or a duration of working time; in UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        try:
            if text.startswith("P"):
                return calendar.add_working_duration(arrived, text)
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise EngineError("'%(value)s' is neither an ISO 8601 date-time nor a duration.", value=text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=calendar.tz)).astimezone(UTC)


def check_moment(text: str) -> None:
    """Deploy-time check of a due or follow-up date: an expression must parse, a literal must be understood."""
    if _is_expression(text):
        check_expression(text.strip())
        return
    value = text.strip()
    try:
        parse_working_duration(value) if value.startswith("P") else datetime.fromisoformat(value)
    except ValueError:
        raise EngineError(
            "'%(value)s' is neither an ISO 8601 date-time (2027-01-05T08:00:00), a date (2027-01-05) nor a "
            "duration of working time (P3D, PT4H).",
            value=value,
        )


def set_calendar_day(session: Session, unit_id: int | None, day: Any, kind: str, note: str) -> CalendarDay:
    """Add a day off or a make-up working day to the province's (``unit_id`` None) or a unit's calendar."""
    if kind not in ("off", "working"):
        raise EngineError("A calendar day is either 'off' or 'working', not '%(kind)s'.", kind=kind)
    exists = select(CalendarDay).where(CalendarDay.day == day, CalendarDay.unit_id.is_(None) if unit_id is None
                                       else CalendarDay.unit_id == unit_id)  # fmt: skip
    if session.scalar(exists) is not None:
        raise Conflict("%(day)s is already in this calendar; remove it first to change it.", day=day.isoformat())
    entry = CalendarDay(unit_id=unit_id, day=day, kind=kind, note=note[:300])
    session.add(entry)
    session.commit()
    return entry


def remove_calendar_day(session: Session, entry: CalendarDay) -> None:
    session.delete(entry)
    session.commit()
