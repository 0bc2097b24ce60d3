"""What every register page shares: filters read from the query string, pages of rows, the choices of
unit and department a person may filter by, and the export of what the filters select.

A filter that cannot be read is answered with 400 and a sentence naming it, never ignored: a person who
exports "year 2O26" must not get every year without noticing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import abort, g, request, url_for
from flask_babel import gettext as _

from engine import Department, Unit, unit_ids_of

from ...extensions import sa_session

PAGE_SIZE = 100


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


def page_number() -> int:
    return max(1, whole_number("page") or 1)


def export_format() -> str | None:
    """``csv`` or ``xlsx`` when the person asked for the register as a file (checked by the export)."""
    return request.args.get("format", "").strip() or None


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
class Page:
    number: int
    total: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * PAGE_SIZE

    @property
    def last(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def link(**changes: Any) -> str:
    """This register page with the same filters and some changed (another page, an export format)."""
    args: dict[str, Any] = {k: v for k, v in request.args.items() if v}
    args.update({k: v for k, v in changes.items()})
    return url_for(request.endpoint or "", **(request.view_args or {}), **{k: v for k, v in args.items() if v})


def names(codes: Mapping[str, str], value: str | None) -> str:
    """A code shown by its translated name (the names are ``N_`` markers)."""
    if value is None:
        return ""
    return _(codes[value]) if value in codes else value
