"""Page links and filters of the inbox lists, shared by the page and the JSON API.

A page link (``after``) is the sort key of the last line shown, signed with the application's secret and
bound to the person, the list and its order: a link that was altered, or made for someone else or another
list, is refused with a 400 that says to start again from the first page.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

from flask import abort, current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

from engine import User, queries

from .views import LOCAL_TZ

_SALT = "eiso.task-list-page"
TEXT_LIMIT = 200


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def page_link(user: User, which: str, sort: str, after: list[Any]) -> str:
    """The opaque ``after`` value for the page that follows ``after``."""
    return str(_serializer().dumps({"u": user.id, "l": which, "s": sort, "k": after}))


def _refused() -> queries.BadPageLink:
    return queries.BadPageLink(
        "This page link was not made for you or for this list, or it was altered. "
        "Open the list again from its first page."
    )


def read_page_link(token: str | None, user: User, which: str, sort: str) -> list[Any] | None:
    """The sort key a page link carries (None: the first page); BadPageLink when it is not this person's
    link to this list in this order."""
    if not token:
        return None
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        raise _refused() from None
    if not isinstance(payload, dict) or payload.get("u") != user.id or payload.get("l") != which \
            or payload.get("s") != sort or not isinstance(payload.get("k"), list):  # fmt: skip
        raise _refused()
    return list(payload["k"])


def due_window(due: str, current: datetime) -> tuple[datetime | None, datetime | None]:
    """``today``: due during today (Vietnam's day); ``week``: due from now to the end of Sunday;
    ``late``: the due moment has passed."""
    if due == "late":
        return None, current
    local = current.astimezone(LOCAL_TZ)
    start = datetime.combine(local.date(), time(), LOCAL_TZ)
    if due == "today":
        return start, start + timedelta(days=1)
    return start, start + timedelta(days=7 - local.weekday())


def task_filter(args: Mapping[str, str], current: datetime) -> queries.TaskFilter:
    """The inbox filters from query parameters: ``process``, ``due``, ``priority``, ``q``; a value that is not
    one of those offered is a 400 naming the parameter and the values it takes."""
    due = args.get("due") or None
    if due is not None and due not in queries.DUE_FILTERS:
        abort(400, f"'due' must be one of {', '.join(queries.DUE_FILTERS)}.")
    priority = args.get("priority") or None
    if priority is not None and priority not in queries.PRIORITY_FILTERS:
        abort(400, f"'priority' must be one of {', '.join(queries.PRIORITY_FILTERS)}.")
    text = (args.get("q") or "").strip()
    if len(text) > TEXT_LIMIT:
        abort(400, f"'q' is limited to {TEXT_LIMIT} characters.")
    due_from, due_before = due_window(due, current) if due else (None, None)
    return queries.TaskFilter(process=args.get("process") or None, due_from=due_from, due_before=due_before,
                              priority=priority, text=text or None)  # fmt: skip


def page_size(args: Mapping[str, str], default: int = queries.PAGE_SIZE) -> int:
    raw = args.get("limit")
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= queries.MAX_PAGE_SIZE:
        abort(400, f"'limit' must be a whole number from 1 to {queries.MAX_PAGE_SIZE}.")
    return int(raw)


def newest_first_page(which: str, user: User) -> tuple[tuple[datetime, int] | None, int]:
    """The ``after`` key and the page size of a newest-first list (instances, notices) from the request's
    ``after`` and ``limit``; a page link not made for this person and list is a 400 (``BadPageLink``)."""
    raw = read_page_link(request.args.get("after"), user, which, "newest")
    return (None if raw is None else queries.instant_key(raw)), page_size(request.args)


def next_link(which: str, user: User, key: tuple[datetime, int] | None) -> str | None:
    """The ``after`` of the page that follows the one whose last (moment, id) is ``key`` (None: last page)."""
    return None if key is None else page_link(user, which, "newest", [key[0].isoformat(), key[1]])


def with_after(after: str) -> dict[str, Any]:
    """The request's query parameters with ``after`` replaced (the next page keeps the page size and filters)."""
    return {**{k: v for k, v in request.args.items() if k not in ("after", "page")}, "after": after}


def without_after() -> dict[str, Any]:
    """The request's query parameters without ``after`` (the first page with the same filters)."""
    return {k: v for k, v in request.args.items() if k not in ("after", "page")}
