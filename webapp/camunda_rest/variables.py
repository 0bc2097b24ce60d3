"""Camunda 7 typed variables (``{"x": {"value": 1, "type": "Integer"}}``) to process data and back.

Process data in eISO is plain JSON, so each Camunda type becomes the JSON value it stands for:
String, Integer, Short, Long, Double, Boolean and Null as themselves; Json (and Object serialised as
``application/json``) as the object or list it holds; Date as its ISO 8601 text. A variable without
a type (as the Python external task client sends them) is taken by its JSON type, as Camunda does.
Types whose value is Java or binary (Bytes, File, Xml, other Object formats) are refused with the
variable's name. Going out, numbers are Integer (Long beyond 32 bits) or Double, objects and lists
are Json with the serialised text as value, exactly as Camunda answers them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
SUPPORTED = ("String", "Integer", "Short", "Long", "Double", "Boolean", "Json", "Date", "Null", "Object")


class VariableInvalid(ValueError):
    """A variable cannot become process data; ``name`` says which one."""

    def __init__(self, name: str, reason: str) -> None:
        message = f"Cannot convert variable '{name}': {reason}"  # Camunda's wording, for programs
        super().__init__(message)
        self.name = name


def _whole(value: Any, bounds: tuple[int, int], type_name: str) -> int:
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValueError(f"'{value}' is not a whole number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"a {type_name} must be a whole number")
    if not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"{value} is out of the range of {type_name}")
    return value


def _double(value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError(f"'{value}' is not a number")
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError("a Double must be a finite number")
    return float(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise ValueError("a Boolean must be true or false")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("a String must be text")
    return value


def _json(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # already an object or list: take it as it is
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the value is not JSON ({exc.msg})")
    except (RecursionError, ValueError):
        raise ValueError("the value is not JSON (nested too deeply or a number too long)")


def _date(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("a Date must be text like 2026-11-23T08:30:00.000+0700")
    try:
        return datetime.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise ValueError(f"'{value}' is not a date like 2026-11-23T08:30:00.000+0700")


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "string": _string,
    "integer": lambda v: _whole(v, INT32, "Integer"),
    "short": lambda v: _whole(v, (-(2**15), 2**15 - 1), "Short"),
    "long": lambda v: _whole(v, INT64, "Long"),
    "double": _double,
    "boolean": _boolean,
    "json": _json,
    "date": _date,
}


def _untyped(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")
    return value


def _object(value: Any, info: Mapping[str, Any]) -> Any:
    data_format = str(info.get("serializationDataFormat") or "")
    if data_format != "application/json":
        raise ValueError(f"only Object values serialised as application/json are accepted, not '{data_format}'")
    return _json(value)


def from_typed(name: str, typed: Any) -> Any:
    """The process-data value of one Camunda variable ``{"value", "type", "valueInfo"}``."""
    if not isinstance(typed, Mapping):
        raise VariableInvalid(name, 'give it as {"value": …, "type": …}')
    value, type_name = typed.get("value"), typed.get("type")
    if type_name is not None and not isinstance(type_name, str):
        raise VariableInvalid(name, "its type must be text")
    kind = (type_name or "").lower()
    try:
        if kind and kind.capitalize() not in SUPPORTED:
            raise ValueError(f"type '{type_name}' is not supported; use one of {', '.join(SUPPORTED)}")
        if value is None or kind == "null":
            return None
        if not kind:
            return _untyped(value)
        if kind == "object":
            info = typed.get("valueInfo")
            return _object(value, info if isinstance(info, Mapping) else {})
        return CONVERTERS[kind](value)
    except ValueError as exc:
        raise VariableInvalid(name, str(exc))


def from_camunda(variables: Any) -> dict[str, Any]:
    """Process data from a Camunda variables map (None or missing: no variables)."""
    if variables is None:
        return {}
    if not isinstance(variables, Mapping):
        raise VariableInvalid("variables", "the variables must be an object of name → {value, type}")
    return {str(name): from_typed(str(name), typed) for name, typed in variables.items()}


def to_typed(value: Any) -> dict[str, Any]:
    """One process-data value as Camunda answers it."""
    if value is None:
        return {"type": "Null", "value": None, "valueInfo": {}}
    if isinstance(value, bool):
        return {"type": "Boolean", "value": value, "valueInfo": {}}
    if isinstance(value, int):
        return {"type": "Integer" if INT32[0] <= value <= INT32[1] else "Long", "value": value, "valueInfo": {}}
    if isinstance(value, float):
        return {"type": "Double", "value": value, "valueInfo": {}}
    if isinstance(value, str):
        return {"type": "String", "value": value, "valueInfo": {}}
    return {"type": "Json", "value": json.dumps(value, ensure_ascii=False, default=str), "valueInfo": {}}


def to_camunda(data: Mapping[str, Any], names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Process data as a Camunda variables map; ``names`` keeps only those variables (None: all)."""
    wanted = data.keys() if names is None else [n for n in names if n in data]
    return {name: to_typed(data[name]) for name in wanted}
