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

    endpoint: str  # the register page's Flask endpoint; it takes ``?unit=`` (the unit's id, or code: ``by_code``)
    title: Callable[[], str]  # the register's name, translated when shown (``lazy_gettext``)
    description: Callable[[], str]
    order: int = 100  # the smaller, the higher in the list
    count: Counter | None = None  # how many rows of a unit the reader reads there; None: not a reader of it
    by_code: bool = False

    def unit_arg(self, unit: Any) -> Any:
        return unit.code if self.by_code else unit.id


# (session, reader, unit id) -> the register's rows of that unit the reader reads, or None when they read none
Counter = Callable[[Any, Any, int], "int | None"]

REGISTERS: dict[str, RegisterPage] = {}


def register_page(endpoint: str, title: Any, description: Any, order: int = 100, *, count: Counter | None = None,
                  by_code: bool = False) -> None:
    """Add a register to the ISO home page's list (called by the register's module when it is imported).
    ``count`` answers how many rows of a unit the reader reads there, from the register's indexed table (None:
    the reader does not read this register, and it is not listed for them)."""
    REGISTERS[endpoint] = RegisterPage(endpoint, lambda: str(title), lambda: str(description), order, count, by_code)


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

