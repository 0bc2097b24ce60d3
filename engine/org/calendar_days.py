"""A unit's working calendar as stored: the province's and the unit's own days off and make-up working days
on top of the national calendar (``engine.org.calendar``).

The province's calendar sets every unit's deadlines, so only a ``province_admin`` changes it; a unit's own
calendar is changed by that unit's administrators only."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from engine.errors import Conflict, EngineError, NotAllowed, NotFound
from engine.org.calendar import WorkingCalendar
from engine.org.models import CalendarDay, User
from engine.org.people import PROVINCE_ADMIN, has_system_role, is_member, roles_in_unit

# Built once: every command that moves an instance asks for its unit's calendar (the columns it needs, not
# mapped rows: a year's holidays are read at every completion).
_DAYS_OF = select(CalendarDay.unit_id, CalendarDay.day, CalendarDay.kind, CalendarDay.note).where(
    or_(CalendarDay.unit_id.is_(None), CalendarDay.unit_id == bindparam("unit_id")))


def calendar_for(session: Session, unit_id: int | None) -> WorkingCalendar:
    """The national calendar with the province's and the unit's own days off and make-up days."""
    days_off: dict[Any, str] = {}
    working: set[Any] = set()
    # The unit's own entry for a date wins over the province's.
    for entry in sorted(session.execute(_DAYS_OF, {"unit_id": unit_id}), key=lambda e: e.unit_id is not None):
        days_off.pop(entry.day, None)
        working.discard(entry.day)
        if entry.kind == "off":
            days_off[entry.day] = entry.note or "Ngày nghỉ"
        else:
            working.add(entry.day)
    return WorkingCalendar(days_off=days_off, working_days=working)


def may_edit_calendar(session: Session, user: User, unit_id: int | None) -> bool:
    """The province's calendar (``unit_id`` None): a ``province_admin``; a unit's: that unit's ``admin``."""
    if unit_id is None:
        return has_system_role(session, user, PROVINCE_ADMIN)
    return user.is_active and "admin" in roles_in_unit(session, user, unit_id)


def _require_editor(session: Session, user: User, unit_id: int | None) -> None:
    if may_edit_calendar(session, user, unit_id):
        return
    if unit_id is None:
        raise NotAllowed("Only the province's calendar administrators may change the province's working calendar.")
    raise NotAllowed("Only the unit's administrators may change its working calendar.")


def set_calendar_day(session: Session, unit_id: int | None, day: Any, kind: str, note: str, *,
                     actor: User) -> CalendarDay:  # fmt: skip
    """Add a day off or a make-up working day to the province's (``unit_id`` None) or a unit's calendar."""
    _require_editor(session, actor, unit_id)
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


def remove_calendar_day(session: Session, entry_id: int, *, actor: User) -> date:
    """Take a day off or make-up working day out of its calendar; returns its date."""
    entry = session.get(CalendarDay, entry_id)
    if entry is None or (entry.unit_id is not None and not is_member(session, actor, entry.unit_id)
                         and not has_system_role(session, actor, PROVINCE_ADMIN)):  # another unit's: not there
        raise NotFound("This calendar day does not exist (any more).")
    _require_editor(session, actor, entry.unit_id)
    day = entry.day
    session.delete(entry)
    session.commit()
    return day
