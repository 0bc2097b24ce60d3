"""The base of every register page: whose rows it shows (the reader's units, ``?unit=``), the filters read
from the query string, pages of rows, the choices of unit and department a person may filter by, codes shown
by their names, and the export of what the filters select (CSV, XLSX) with a link to the instance of each row.

A register's module describes its list as a :class:`Table` (columns and how one row reads) and its filters
with the readers below; its template imports the macros of ``templates/iso/_register.html``.

A filter that cannot be read is answered with 400 and a sentence naming it, never ignored: a person who
exports "year 2O26" must not get every year without noticing. A unit the person does not belong to does not
exist for them (404).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import abort, g, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from engine import Department, Unit, queries, reviews, unit_ids_of

from ... import paging
from ...exports import export_response
from ...extensions import sa_session


def whole_number(name: str) -> int | None:
    """A whole-number filter (a year, an id); None when it is not given."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        abort(400, _("The filter “%(name)s” must be a whole number, not “%(value)s”; correct or remove it.",
                     name=name, value=raw[:40]))  # fmt: skip
    return int(raw)


def one_of(name: str, allowed: Iterable[str]) -> str | None:
    """A filter whose value is one of a few codes; None when it is not given."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    choices = list(allowed)
    if raw not in choices:
        abort(400, _("The filter “%(name)s” must be one of %(allowed)s, not “%(value)s”.", name=name,
                     allowed=", ".join(choices), value=raw[:40]))  # fmt: skip
    return raw


def export_format(key: str = "format", *, required: bool = False) -> str | None:
    """``csv`` or ``xlsx`` when the person asked for the register as a file (``?format=``, or ``key``); None
    when they did not. On an export address (``required``) a missing or unknown format is refused (400)."""
    fmt = request.args.get(key, "").strip()
    if required and fmt not in ("csv", "xlsx"):
        abort(400, _("Choose the export format: csv or xlsx."))
    return fmt or None


def year() -> int | None:
    """``?year=``: four digits between 2000 and 2100 (anything else: 400 naming it); None when not given."""
    raw = (request.args.get("year") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        abort(400, _("“%(year)s” is not a year; write it as four digits, e.g. 2027.", year=raw[:40]))
    return int(raw)


def department_code(unit: Unit) -> int | None:
    """``?department=<code>``: the id of that department of ``unit`` (another code: 400 naming it)."""
    raw = (request.args.get("department") or "").strip()
    if not raw:
        return None
    found = next((d for d in unit.departments if d.code == raw), None)
    if found is None:
        abort(400, _("The unit has no department “%(code)s”.", code=raw[:40]))
    return found.id


# --- whose rows ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterScope:
    """Whose rows a register page shows: the units the reader may read, and the one chosen with ``?unit=<id>``."""

    units: list[Any]  # the reader's units (``Unit`` rows), by name
    unit_id: int | None  # the chosen one; None: all of the reader's units
    year: int | None

    @property
    def unit_ids(self) -> set[int]:
        return {u.id for u in self.units}


def register_scope() -> RegisterScope:
    """The reader's units and the filters of the request: ``?unit=<id>`` (another unit's id: 404, as if it did
    not exist) and ``?year=``."""
    session = sa_session()
    ids = queries.register_units(session, g.user)
    units = list(session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.name))) if ids else []
    unit_id = request.args.get("unit", type=int)
    if request.args.get("unit") and (unit_id is None or unit_id not in ids):
        abort(404)
    return RegisterScope(units, unit_id, year())


def chosen_unit() -> Unit:
    """A register of one unit at a time: ``?unit=<code>``; without it the first of the person's units. Someone
    of no unit is refused (403), a unit they are not a member of is not there (404)."""
    units = reviews.viewer_units(sa_session(), g.user)
    code = (request.args.get("unit") or "").strip()
    if code:
        found = sa_session().query(Unit).filter(Unit.code == code).one_or_none()
        if found is None or found not in units:
            abort(404, _("Unit “%(code)s” does not exist or you are not one of its members.", code=code[:40]))
        return found
    if not units:
        abort(403, _("You belong to no unit; a unit's registers are open to its members only."))
    return units[0]


@dataclass(frozen=True)
class Choices:
    """The units and departments a person may filter a register by: those of their own units."""

    units: list[Unit]
    departments: list[tuple[int, str]]

    @property
    def several_units(self) -> bool:
        return len(self.units) > 1


def choices() -> Choices:
    ids = unit_ids_of(sa_session(), g.user)
    units = sa_session().query(Unit).filter(Unit.id.in_(ids)).order_by(Unit.name).all()
    several = len(units) > 1
    departments = sa_session().query(Department).filter(Department.unit_id.in_(ids)).order_by(Department.id).all()
    short = {u.id: u.short_name or u.code for u in units}
    labels = [(d.id, f"{d.name} ({short[d.unit_id]})" if several else d.name) for d in departments]
    return Choices(units=units, departments=labels)


@dataclass(frozen=True)
class Pager:
    """Where a keyset page stands: the link to the next page (None: the last), whether this is a later page
    (a link back to the first), and how many rows the filters select, counted up to ``cap`` ("1000+")."""

    next_page: str | None
    first_page: str
    paged: bool
    count: int | None = None
    cap: int = queries.REGISTER_COUNT_CAP

    @property
    def count_text(self) -> str:
        return "" if self.count is None else f"{self.cap}+" if self.count > self.cap else str(self.count)


PageFinder = Callable[[list[Any] | None, int], tuple[list[Any], list[Any] | None]]
"""``find(after, limit)``: the rows of a register's page after the key ``after`` (None: the first page) and
the key of the next page (None: the last)."""


def keyset(which: str, find: PageFinder, count: Callable[[], int] | None = None) -> tuple[list[Any], Pager]:
    """One page of a register by keyset: ``find(after, limit)`` answers the rows after the key the request's
    ``after`` carries (a page link signed for this person and this list: another's, an altered one or another
    list's is a 400 saying to start again) and the key of the next page. The next page's link keeps the filters
    and the page size (``?limit=``, 1 to 200; 100 when not given)."""
    after = paging.read_page_link(request.args.get("after"), g.user, which, "register")
    rows, key = find(after, paging.page_size(request.args, queries.REGISTER_PAGE_SIZE))
    endpoint, view_args = request.endpoint or "", request.view_args or {}
    following = None if key is None else url_for(endpoint, **view_args, **paging.with_after(
        paging.page_link(g.user, which, "register", key)))  # fmt: skip
    first = url_for(endpoint, **view_args, **paging.without_after())
    return rows, Pager(following, first, after is not None, count() if count is not None else None)


def link(**changes: Any) -> str:
    """This register page with the same filters and some changed (another page, an export format)."""
    args: dict[str, Any] = {k: v for k, v in request.args.items() if v}
    args.update({k: v for k, v in changes.items()})
    return url_for(request.endpoint or "", **(request.view_args or {}), **{k: v for k, v in args.items() if v})


def names(codes: Mapping[str, Any], value: str | None) -> str:
    """A code shown by its translated name (the names are ``N_`` markers or lazy strings)."""
    if value is None:
        return ""
    return _(str(codes[value])) if value in codes else value


def options(codes: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A filter's options: (code, what the reader reads)."""
    return [(code, _(str(name))) for code, name in codes.items()]


def instance_link(instance_id: int, *, external: bool = False) -> str:
    """The address of the process instance that wrote a row (its history, its files)."""
    return url_for("processes.instance", instance_id=instance_id, _external=external)


@dataclass(frozen=True)
class Table:
    """A register's list as a file: its name, its columns (key, translated heading) and how an item reads
    as a row. ``export`` answers with the CSV or XLSX of the items the filters selected."""

    filename: str
    columns: Callable[[], list[tuple[str, str]]]
    row: Callable[..., dict[str, Any]]

    def rows(self, items: Iterable[Any], *extra: Any) -> list[dict[str, Any]]:
        return [self.row(item, *extra) for item in items]

    def export(self, items: Iterable[Any], fmt: str, *extra: Any, filename: str | None = None) -> Any:
        return export_response(filename or self.filename, self.columns(), self.rows(items, *extra), fmt)


# --- the registers as JSON (/api/v1/registers) ----------------------------------------------------------------


@dataclass(frozen=True)
class RegisterApi:
    """A register as the read-only API serves it: ``rows()`` selects, for ``g.user`` and with the same filters as
    the register's page (read from the query string), what its export would hold; ``one(id)`` is one row by its
    id (None: the register has no rows by id). Both refuse another unit's rows in the engine (404)."""

    name: str
    title: Callable[[], str]
    table: Table
    rows: Callable[[], Iterable[Any]]
    one: Callable[[int], Any] | None = None
    extra: Callable[[], tuple[Any, ...]] = tuple  # what ``table.row`` takes after the item (today, now...)
    page: PageFinder | None = None  # keyset pages (``keyset``): the list answers a page at a time

    def as_json(self, item: Any) -> dict[str, Any]:
        row = self.table.row(item, *self.extra())
        found = getattr(item, "id", None) if not isinstance(item, dict) else None
        return {**({"id": found} if isinstance(found, int) else {}), **{k: plain(v) for k, v in row.items()}}


API_REGISTERS: dict[str, RegisterApi] = {}


def register_api(name: str, title: Any, table: Table, rows: Callable[[], Iterable[Any]], *,
                 one: Callable[[int], Any] | None = None, extra: Callable[[], tuple[Any, ...]] = tuple,
                 page: PageFinder | None = None) -> None:  # fmt: skip
    """Serve a register read-only at ``/api/v1/registers/<name>`` (called by the register's module); with
    ``page`` (``find(after, limit)`` as ``keyset`` takes it) a page at a time, as the register's page shows it."""
    API_REGISTERS[name] = RegisterApi(name, lambda: str(title), table, rows, one, extra, page)


def plain(value: Any) -> Any:
    """A cell as JSON: dates as ISO 8601, lists item by item, translated names as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return str(value)
