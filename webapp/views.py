"""Template helpers shared by every page."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Flask, g
from flask_babel import get_locale

from engine import HIGH, LOW, ROLES, Notice, TaskRow, WorkingCalendar, admin, calendar_for, queries

from .errors import N_
from .extensions import now, sa_session
from .i18n import bound_gettext, say
from .i18n import gettext as _

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local_time(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """Times are stored in UTC and shown in Vietnam's time zone."""
    return value.astimezone(LOCAL_TZ).strftime(fmt) if value else ""


def role_name(code: str) -> str:
    """A role, or a role for one department (``department_head:vp``), as a reader says it."""
    code, _, department = code.partition(":")
    if department:
        return f"{role_name(code)} ({department})"
    role = ROLES.get(code)
    if role is None:
        return code
    return role.name_vi if str(get_locale()) == "vi" else role.name_en


TIMING = {"early": N_("Early"), "on_time": N_("On time"), "late": N_("Late")}


def time_left(task: TaskRow | queries.TaskLine) -> dict[str, str] | None:
    """How long an open task has left in working time on its unit's calendar, for the inbox."""
    left = _time_left(task, now(), unit_calendar, _)
    return None if left is None else {"css": left[0], "text": left[1]}


def _time_left(task: TaskRow | queries.TaskLine, current: datetime, calendar_of: Callable[[int], WorkingCalendar],
               say_: Callable[..., str]) -> tuple[str, str] | None:  # fmt: skip
    """(css class, text) of ``time_left``, with the clock, the calendars and the catalogue given."""
    if task.due_at is None or task.state != "open":
        return None
    if current > task.due_at:
        return "late", say_("Overdue")
    calendar = calendar_of(task.unit_id)
    left = calendar.working_time_between(current, task.due_at)
    if left >= calendar.day_length:  # days of the office's own length (7.5 working hours by default)
        return "ok", say_("%(n)s working days left", n=int(left / calendar.day_length))
    return "soon", say_("%(n)s working hours left", n=max(1, round(left.total_seconds() / 3600)))


def unit_calendar(unit_id: int) -> WorkingCalendar:
    """The unit's working calendar, read once per request: a page of task lines asks for it on each line
    (and the calendar keeps the days it has worked out)."""
    calendars: dict[int, WorkingCalendar] = g.setdefault("eiso_calendars", {})
    if unit_id not in calendars:
        calendars[unit_id] = calendar_for(sa_session(), unit_id)
    return calendars[unit_id]


def notice_title(notice: Notice) -> str:
    """A notice's title in the reader's language (one written before notices kept phrases: as stored)."""
    texts = notice.texts or {}
    return say(texts["title"]) if texts.get("title") else notice.title


def notice_body(notice: Notice) -> str:
    texts = notice.texts or {}
    return "\n".join(say(line) for line in texts["body"]) if "body" in texts else notice.body


def timing_name(code: str | None) -> str:
    return _(TIMING[code]) if code in TIMING else ""


def instance_status(status: str) -> str:
    names = {"running": _("Running"), "completed": _("Completed"), "cancelled": _("Cancelled")}
    return str(names.get(status, status))


def priority_badge(task: TaskRow | queries.TaskLine) -> dict[str, str] | None:
    """A high or low priority as the inbox marks it (None: an ordinary one); the number goes in the title."""
    badge = _priority_badge(task.priority, _)
    return None if badge is None else {"css": badge[0], "text": badge[1], "title": badge[2]}


def _priority_badge(priority: int, say_: Callable[..., str]) -> tuple[str, str, str] | None:
    if priority >= HIGH:
        return "high", say_("High priority"), say_("Priority %(n)s of 100", n=priority)
    if priority <= LOW:
        return "low", say_("Low priority"), say_("Priority %(n)s of 100", n=priority)
    return None  # most tasks: nothing to translate


def capped_count(value: int | None, which: str) -> str:
    """A list's length as counted (up to ``queries.COUNT_CAPS``): "1000+" beyond; "…" when not counted."""
    if value is None:
        return "…"
    cap = queries.COUNT_CAPS[which]
    return f"{cap}+" if value > cap else str(value)


def task_badge(counts: queries.InboxCounts) -> str:
    """The inbox badge: my tasks and those I may take, "+" when either list is longer than its count."""
    caps = queries.COUNT_CAPS
    shown = min(counts.mine, caps["mine"]) + min(counts.claimable, caps["claimable"])
    more = counts.mine > caps["mine"] or counts.claimable > caps["claimable"]
    return f"{shown}{'+' if more else ''}"


def follow_up_reached(task: TaskRow | queries.TaskLine) -> bool:
    """The task's follow-up date has come: it is time to look at it again."""
    return task.follow_up_at is not None and task.follow_up_at <= now()


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One line of an inbox table as it is shown: its texts worked out in Python, a page's lines in one pass
    (``inbox_rows``), so the template only prints them. Through the template's own calls a line cost about
    0.1 ms, and a page has a hundred."""

    id: str
    href: str
    name: str
    priority: int
    badge_css: str  # "" for an ordinary priority: no badge
    badge_text: str
    badge_title: str
    process_name: str
    business_key: str
    received: str
    due: str
    left_css: str  # "" when no time is shown as left
    left_text: str
    follow_up: str
    follow_up_reached: bool
    for_whom: str  # the roles the task is offered to; in the delegated list, the colleague it went to
    delegated_by: str  # "delegated by …" while a delegation is pending (not in the delegated list)


def inbox_rows(lines: Iterable[queries.TaskLine], task_href: str, delegated: bool = False
               ) -> list[InboxRow]:  # fmt: skip
    """The inbox table's lines; ``task_href`` is the task page's address with ``TASK_ID`` for the task's id.
    The clock, the reader's catalogue, the calendars and the role names are looked up once for the page."""
    current = now()
    say_ = bound_gettext()
    roles: dict[str, str] = {}
    rows = []
    for t in lines:
        badge = _priority_badge(t.priority, say_)
        left = _time_left(t, current, unit_calendar, say_)
        if delegated:
            for_whom = t.assignee_name or ""
        else:
            names = []
            for code in t.candidate_roles or ():
                name = roles.get(code)
                if name is None:
                    name = roles[code] = role_name(code)
                names.append(name)
            for_whom = ", ".join(names)
        by = ""
        if t.delegation_state == "pending" and not delegated:
            by = say_("delegated by %(name)s", name=t.owner_name or "")
        rows.append(InboxRow(
            id=t.id, href=task_href.replace("TASK_ID", quote(t.id, safe="/")), name=t.name, priority=t.priority,
            badge_css=badge[0] if badge else "", badge_text=badge[1] if badge else "",
            badge_title=badge[2] if badge else "", process_name=t.process_name or "",
            business_key=t.business_key or "", received=local_time(t.created_at), due=local_time(t.due_at),
            left_css=left[0] if left else "", left_text=left[1] if left else "",
            follow_up=local_time(t.follow_up_at),
            follow_up_reached=t.follow_up_at is not None and t.follow_up_at <= current,
            for_whom=for_whom, delegated_by=by,
        ))  # fmt: skip
    return rows


def _context() -> dict[str, Any]:
    user = g.get("user")
    counts = g.get("inbox_counts") or (queries.inbox_counts(sa_session(), user) if user is not None else None)
    unit_admin = queries.is_admin(sa_session(), user) if user is not None else False
    organisation = unit_admin or (user is not None and admin.is_system_admin(sa_session(), user))
    return {"current_user": user, "inbox_counts": counts, "current_locale": str(get_locale()), "is_admin": unit_admin,
            "manages_organisation": organisation}  # fmt: skip


def register(app: Flask) -> None:
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["capped_count"] = capped_count
    app.jinja_env.filters["task_badge"] = task_badge
    app.jinja_env.filters["role_name"] = role_name
    app.jinja_env.filters["timing_name"] = timing_name
    app.jinja_env.filters["instance_status"] = instance_status
    app.jinja_env.filters["say"] = say
    app.jinja_env.filters["notice_title"] = notice_title
    app.jinja_env.filters["notice_body"] = notice_body
    app.jinja_env.globals["time_left"] = time_left
    app.jinja_env.globals["priority_badge"] = priority_badge
    app.jinja_env.globals["follow_up_reached"] = follow_up_reached
    app.jinja_env.globals["inbox_rows"] = inbox_rows
    app.context_processor(_context)
