"""Administration: the working calendar (days off and make-up working days of the province and units), and
the outgoing messages that could not be delivered, with a retry.

The province's calendar is kept by its calendar administrators (``province_admin``), a unit's own by the
unit's administrators; the engine refuses anyone else (``calendar_days``)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import extract, or_, select

from engine import (
    CalendarDay,
    RoleAssignment,
    Unit,
    WorkingCalendar,
    may_edit_calendar,
    outbox,
    remove_calendar_day,
    set_calendar_day,
)

from ..auth import login_required
from ..extensions import now, sa_session
from ..ids import is_id

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _admin_units(refusal: str | None = None, *, province: bool = False) -> list[Unit]:
    """The units the user administers; 403 when none (and, with ``province``, the user does not keep the
    province's calendar either)."""
    stmt = select(Unit).join(RoleAssignment, RoleAssignment.unit_id == Unit.id).where(
        RoleAssignment.user_id == g.user.id, RoleAssignment.role == "admin")  # fmt: skip
    units = list(sa_session().scalars(stmt.distinct().order_by(Unit.name)))
    if not units and not (province and may_edit_calendar(sa_session(), g.user, None)):
        abort(403, refusal or _("Only administrators may change the working calendar."))
    return units


def _national_holidays(year: int) -> list[tuple[date, str]]:
    calendar = WorkingCalendar()
    day, end = date(year, 1, 1), date(year, 12, 31)
    found = []
    while day <= end:
        name = calendar.holiday_name(day)
        if name:
            found.append((day, name))
        day += timedelta(days=1)
    return found


@bp.get("/calendar")
@login_required
def calendar() -> Any:
    units = _admin_units(province=True)
    year = request.args.get("year", type=int) or date.today().year
    if not 2000 <= year <= 2100:
        abort(400, _("Choose a year between 2000 and 2100."))
    scope = or_(CalendarDay.unit_id.is_(None), CalendarDay.unit_id.in_([u.id for u in units]))
    stmt = select(CalendarDay).where(scope, extract("year", CalendarDay.day) == year).order_by(CalendarDay.day)
    return render_template("admin/calendar.html", year=year, units=units, entries=sa_session().scalars(stmt).all(),
                           holidays=_national_holidays(year), unit_names={u.id: u.name for u in units},
                           province=may_edit_calendar(sa_session(), g.user, None))  # fmt: skip


@bp.post("/calendar")
@login_required
def add_day() -> Any:
    _admin_units(province=True)
    try:
        day = date.fromisoformat(request.form.get("day", ""))
    except ValueError:
        abort(422, _("Enter the date as YYYY-MM-DD."))
    scope = request.form.get("scope", "province")
    unit_id = None if scope == "province" else int(scope) if is_id(scope) else -1
    set_calendar_day(sa_session(), unit_id, day, request.form.get("kind", ""), request.form.get("note", "").strip(),
                     actor=g.user)  # fmt: skip
    flash(_("Calendar updated: deadlines computed from now on use it."), "success")
    return redirect(url_for("admin.calendar", year=day.year))


@bp.post("/calendar/<int:entry_id>/delete")
@login_required
def remove_day(entry_id: int) -> Any:
    _admin_units(province=True)
    day = remove_calendar_day(sa_session(), entry_id, actor=g.user)
    flash(_("Calendar updated: deadlines computed from now on use it."), "success")
    return redirect(url_for("admin.calendar", year=day.year))


@bp.get("/outbox")
@login_required
def outbox_failed() -> Any:
    units = _admin_units(_("Only administrators see the messages that could not be sent."))
    messages = outbox.failed_messages(sa_session(), [u.id for u in units])
    return render_template("admin/outbox.html", messages=messages, unit_names={u.id: u.name for u in units})


@bp.post("/outbox/<int:message_id>/retry")
@login_required
def retry_message(message_id: int) -> Any:
    units = _admin_units(_("Only administrators see the messages that could not be sent."))
    if outbox.retry(sa_session(), message_id, now(), unit_ids={u.id for u in units}):
        flash(_("The message will be sent again in the next delivery round."), "success")
    else:
        flash(_("This message is not waiting for a retry any more."), "info")
    return redirect(url_for("admin.outbox_failed"))
