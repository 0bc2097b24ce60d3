"""What may enter process data from outside: JSON values of bounded size, nothing else.

Process data is stored as JSON, shown through the API as JSON and read by workers that parse JSON
strictly. Values that JSON cannot carry are refused where they arrive (a start, a completed task, a
worker's job, a message, a signal, a script's result) with the variable named, so that nothing is
half-stored and no later view of the instance fails:

- ``NaN`` and ``Infinity`` (not JSON numbers: PostgreSQL refuses them, Camunda workers stop on them);
- whole numbers outside the signed 64-bit range (Java's ``long``, PostgreSQL's ``bigint``);
- sets, bytes and other objects; keys that are not text;
- a value that contains itself, or is nested more than ``MAX_DATA_DEPTH`` levels;
- more than ``MAX_DATA_SIZE`` characters and items in all the values of one call.

Dates, times and decimal numbers produced by the engine's own evaluators are allowed (the workflow
serializer stores them); the check is about shape and size, not about the form's field types.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from engine.errors import Count, EngineError, EngineStateError

MAX_DATA_DEPTH = 32  # nesting of lists and objects in one variable
MAX_DATA_SIZE = 1_000_000  # characters of text + items of lists and objects, in all the variables of one call
MAX_KEY_LENGTH = 1_000
MIN_INT64, MAX_INT64 = -(2**63), 2**63 - 1
_SCALARS = (str, bool, type(None), Decimal, datetime, date, time, timedelta)


class InvalidData(EngineError):
    """A value cannot be stored in process data; ``field`` names the variable (``a.b[2]`` for nested ones)."""

    http_status = 422

    def __init__(self, template: str, field: str, **params: Any) -> None:
        super().__init__(template, field=field, **params)
        self.field = field


def check_variables(variables: Mapping[str, Any] | None) -> None:
    """Raise :class:`InvalidData` naming the first variable that may not enter process data."""
    if not variables:
        return
    _Walk().mapping(variables, "", 0)


def check_value(value: Any, name: str) -> None:
    """The same check for one value stored under ``name``."""
    _Walk().value(value, name, 0)


class _Walk:
    def __init__(self) -> None:
        self.size = 0
        self.open: set[int] = set()

    def charge(self, amount: int, path: str) -> None:
        self.size += amount
        if self.size > MAX_DATA_SIZE:
            raise InvalidData(
                "The data is too large at '%(field)s': more than %(limit)s characters and items in all.",
                field=path or "(all)",
                limit=Count(MAX_DATA_SIZE),
            )

    def mapping(self, values: Mapping[Any, Any], path: str, depth: int) -> None:
        for key, item in values.items():
            where = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str):
                raise InvalidData("The key '%(field)s' is not text; object keys must be text.", field=where[:200])
            if len(key) > MAX_KEY_LENGTH:
                raise InvalidData("The name '%(field)s' is too long.", field=where[:200])
            self.charge(len(key) + 1, where)
            self.value(item, where, depth)

    def value(self, value: Any, path: str, depth: int) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int):
            if not MIN_INT64 <= value <= MAX_INT64:
                raise InvalidData(
                    "'%(field)s' is a whole number beyond 64 bits; send it as text or a smaller number.", field=path
                )
            return
        if isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidData("'%(field)s' is %(value)s, which is not a JSON number.", field=path, value=value)
            return
        if isinstance(value, Decimal) and not value.is_finite():
            raise InvalidData("'%(field)s' is %(value)s, which is not a JSON number.", field=path, value=value)
        if isinstance(value, str):
            self.charge(len(value), path)
            return
        if isinstance(value, _SCALARS):
            return
        if not isinstance(value, list | tuple | dict):
            raise InvalidData(
                "'%(field)s' is a %(kind)s; process data holds text, numbers, true/false, null, lists and objects.",
                field=path,
                kind=type(value).__name__,
            )
        if depth >= MAX_DATA_DEPTH:
            raise InvalidData(
                "'%(field)s' is nested more than %(limit)s levels deep.", field=path, limit=MAX_DATA_DEPTH
            )
        if id(value) in self.open:
            raise InvalidData("'%(field)s' contains itself.", field=path)
        self.open.add(id(value))
        try:
            self.charge(len(value), path)
            if isinstance(value, dict):
                self.mapping(value, path, depth + 1)
            else:
                for index, item in enumerate(value):
                    self.value(item, f"{path}[{index}]", depth + 1)
        finally:
            self.open.discard(id(value))


MAX_BUSINESS_KEY_LENGTH = 200  # the column's size


def check_start(business_key: Any, variables: Mapping[str, Any] | None) -> None:
    """A start's business key is text of at most 200 characters (or none), and its variables pass the check."""
    if business_key is not None:
        if not isinstance(business_key, str):
            raise InvalidData("'%(field)s' must be text.", field="business_key")
        if len(business_key) > MAX_BUSINESS_KEY_LENGTH:
            raise InvalidData(
                "'%(field)s' has more than %(limit)s characters.", field="business_key", limit=MAX_BUSINESS_KEY_LENGTH
            )
    check_variables(variables)


MAX_STATE_CHARS = 16 * 1024 * 1024  # one instance's stored state, as JSON text


def bounded_state(state: dict[str, Any]) -> str:
    """An instance's state as JSON text, refused (nothing is saved) when it is not JSON or too large.

    The last line of defence behind the checks where data arrives: every later view of an instance
    reads its state, so a state of hundreds of megabytes would make the instance unusable.
    """
    try:
        text = json.dumps(state, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise EngineStateError(
            "The process data cannot be stored (%(reason)s); nothing was changed.", reason=str(error)[:200]
        ) from None
    if len(text) > MAX_STATE_CHARS:
        raise EngineStateError(
            "The process data would take %(size)s MB, more than the %(limit)s MB an instance may hold; nothing was "
            "changed.",
            size=len(text) // (1024 * 1024),
            limit=MAX_STATE_CHARS // (1024 * 1024),
        )
    return text
