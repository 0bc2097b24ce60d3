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

from engine.errors import Count, EngineError
from engine.org.calendar import MAX_WORKING_DAYS, WORKING_DAY, WorkingCalendar, parse_working_duration
from engine.runtime.script_engine import check_expression, evaluate_expression

DAYS_PROPERTY = "timeLimitWorkingDays"
HOURS_PROPERTY = "timeLimitWorkingHours"


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
            limit=Count(round(longest)),
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


