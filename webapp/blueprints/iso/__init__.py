"""The pages of the ISO registers, one module each (``engine/iso/<register>.py`` holds its data and commands).

Adding a register's pages is one new file here: a module with a blueprint ``bp`` is registered by the app on
its own (``discover``), and a module that calls ``register_page`` appears in the list of registers on every
unit's ISO home page (``/iso``), so nothing else has to be edited.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint


@dataclass(frozen=True)
class RegisterPage:
    """A register's page, as the ISO home page lists it."""

    endpoint: str  # the register page's Flask endpoint; it takes ``?unit=<id>``
    title: Callable[[], str]  # the register's name, translated when shown (``lazy_gettext``)
    description: Callable[[], str]
    order: int = 100  # the smaller, the higher in the list


REGISTERS: dict[str, RegisterPage] = {}


def register_page(endpoint: str, title: Any, description: Any, order: int = 100) -> None:
    """Add a register to the ISO home page's list (called by the register's module when it is imported)."""
    REGISTERS[endpoint] = RegisterPage(endpoint, lambda: str(title), lambda: str(description), order)


def registers() -> list[RegisterPage]:
    return sorted(REGISTERS.values(), key=lambda r: (r.order, r.endpoint))


def discover() -> list[Blueprint]:
    """The blueprint of every module of this package, each imported (and so registered) once."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        imported = importlib.import_module(f"{__name__}.{module.name}")
        blueprint = getattr(imported, "bp", None)
        if isinstance(blueprint, Blueprint):
            found.append(blueprint)
    return found


# --- what every register page reads from the request ----------------------------------------------------


@dataclass(frozen=True)
class RegisterScope:
    """Whose rows a register page shows: the units the reader may read, and the one chosen with ``?unit=``."""

    units: list[Any]  # the reader's units (``Unit`` rows), by name
    unit_id: int | None  # the chosen one; None: all of the reader's units
    year: int | None

    @property
    def unit_ids(self) -> set[int]:
        return {u.id for u in self.units}


def register_scope() -> RegisterScope:
    """The reader's units and the filters of the request: ``?unit=`` (another unit's id: 404, as if it did not
    exist) and ``?year=`` (not a year: 400 naming it)."""
    from flask import abort, g, request
    from flask_babel import gettext as _
    from sqlalchemy import select

    from engine import Unit, queries

    from ...extensions import sa_session

    session = sa_session()
    ids = queries.register_units(session, g.user)
    units = list(session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.name))) if ids else []
    unit_id = request.args.get("unit", type=int)
    if request.args.get("unit") and (unit_id is None or unit_id not in ids):
        abort(404)
    raw_year = (request.args.get("year") or "").strip()
    year = None
    if raw_year:
        if not raw_year.isdigit() or not 2000 <= int(raw_year) <= 2100:
            abort(400, _("“%(year)s” is not a year; write it as four digits, e.g. 2027.", year=raw_year))
        year = int(raw_year)
    return RegisterScope(units, unit_id, year)
