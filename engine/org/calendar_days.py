"""A unit's working calendar as stored: the province's and the unit's own days off and make-up working days
on top of the national calendar (``engine.org.calendar``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.errors import Conflict, EngineError
from engine.org.calendar import WorkingCalendar
from engine.org.models import CalendarDay


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
