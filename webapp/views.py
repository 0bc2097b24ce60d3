"""Template helpers shared by every page."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, g
from flask_babel import get_locale

from engine import queries
from engine.organisation import ROLES

from .extensions import sa_session

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local_time(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """Times are stored in UTC and shown in Vietnam's time zone."""
    return value.astimezone(LOCAL_TZ).strftime(fmt) if value else ""


def role_name(code: str) -> str:
    role = ROLES.get(code)
    if role is None:
        return code
    return role.name_vi if str(get_locale()) == "vi" else role.name_en


def _context() -> dict[str, Any]:
    user = g.get("user")
    counts = queries.inbox_counts(sa_session(), user) if user is not None else None
    return {"current_user": user, "inbox_counts": counts, "current_locale": str(get_locale())}


def register(app: Flask) -> None:
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["role_name"] = role_name
    app.context_processor(_context)
