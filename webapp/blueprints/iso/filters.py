"""What the register pages share: the unit a list is for, and filters read from the query string.

A bad filter is answered with 400 and a sentence naming the parameter and what it takes; a unit the
person does not belong to does not exist for them (404, from the engine's register queries).
"""

from __future__ import annotations

from flask import abort, g, request
from flask_babel import gettext as _

from engine import Unit, reviews

from ...extensions import sa_session


def chosen_unit() -> Unit:
    """``?unit=<code>``; without it the first of the person's units. Someone of no unit is refused (403)."""
    units = reviews.viewer_units(sa_session(), g.user)
    code = (request.args.get("unit") or "").strip()
    if code:
        found = sa_session().query(Unit).filter(Unit.code == code).one_or_none()
        if found is None or found not in units:
            abort(404, _("Unit “%(code)s” does not exist or you are not one of its members.", code=code))
        return found
    if not units:
        abort(403, _("You belong to no unit; a unit's registers are open to its members only."))
    return units[0]


def year_filter() -> int | None:
    raw = (request.args.get("year") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        abort(400, _("The year “%(value)s” is not a year between 2000 and 2100.", value=raw))
    return int(raw)


def choice_filter(name: str, choices: tuple[str, ...]) -> str | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    if raw not in choices:
        abort(
            400,
            _(
                "“%(value)s” is not a value of %(name)s; use one of: %(choices)s.",
                value=raw,
                name=name,
                choices=", ".join(choices),
            ),
        )
    return raw


def department_filter(unit: Unit) -> int | None:
    raw = (request.args.get("department") or "").strip()
    if not raw:
        return None
    found = next((d for d in unit.departments if d.code == raw), None)
    if found is None:
        abort(400, _("The unit has no department “%(code)s”.", code=raw))
    return found.id


def export_format() -> str:
    fmt = (request.args.get("format") or "").strip()
    if fmt not in ("csv", "xlsx"):
        abort(400, _("Choose the export format: csv or xlsx."))
    return fmt
