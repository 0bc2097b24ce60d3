"""What a submission said, as a person reads it, and which data a form reads.

``describe`` turns the values a form wrote into label → value pairs for a history or a record: the
labels are the form's own, the values read as on the form (option labels instead of codes, Có/Không,
31/12/2027, 2,5), a dynamic list as its rows. A key the form has no field for keeps its name and its
value as text.

``names_read`` lists the top-level data keys a form reads besides the ones it writes: in text templates
(``{{title}}``), FEEL expressions (``=objectives``, conditions, table sources) and ``valuesKey``. The
engine keeps those values with each completed task, so the task shows later exactly what its person saw.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .feel import Scope, to_text
from .messages import normalize_locale
from .model import Evaluate, Field
from .options import resolve_options
from .view import readable

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_NAME = re.compile(r"[A-Za-z_][\w]*")
_TEMPLATE = re.compile(r"\{\{(.+?)\}\}", re.DOTALL)


@dataclass(frozen=True)
class Entry:
    """One value of a submission: its label, its text, and for a dynamic list its rows of entries."""

    label: str
    text: str = ""
    rows: list[list[Entry]] = field(default_factory=list)


def identifiers(expression: str) -> set[str]:
    """The names an expression may read (string literals left out); keywords included, which is harmless
    for a caller that intersects them with data keys."""
    return set(_NAME.findall(_STRING.sub(" ", expression)))


def names_read(schema: Any) -> set[str]:
    """The names a form-js schema's expressions, templates and ``valuesKey`` read."""
    found: set[str] = set()
    for key, value in _strings(schema):
        if key == "valuesKey":
            found.add(value.split(".")[0].strip())
        elif value.startswith("="):
            found |= identifiers(value[1:])
        else:
            for template in _TEMPLATE.findall(value):
                found |= identifiers(template)
    return found


def _strings(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, Mapping):
        for name, value in node.items():
            yield from _strings(value, str(name))
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item, key)
    elif isinstance(node, str):
        yield key, node


def describe(fields: list[Field], values: Mapping[str, Any], data: Mapping[str, Any] | None = None, *,
             locale: str = "vi", evaluate: Evaluate | None = None) -> list[Entry]:  # fmt: skip
    """The label → value pairs of ``values`` (what a task was completed with, or what it changed)."""
    scope_data = {**(data or {}), **values}
    entries: list[Entry] = []
    seen: set[str] = set()
    _describe(fields, values, scope_data, normalize_locale(locale), evaluate, entries, seen)
    for key, value in values.items():
        if key not in seen:
            entries.append(Entry(key, _plain(value)))
    return entries


def _describe(fields: list[Field], values: Mapping[str, Any], data: Mapping[str, Any], locale: str,
              evaluate: Evaluate | None, out: list[Entry], seen: set[str]) -> None:  # fmt: skip
    for component in fields:
        if component.is_container and not component.is_list:
            path = component.container_path
            inner = values.get(path[0]) if path else values
            if path:
                seen.add(path[0])
            if isinstance(inner, Mapping):
                nested = _dig(inner, path[1:]) if path else inner
                _describe(component.children, nested if isinstance(nested, Mapping) else {}, data, locale,
                          evaluate, out, set())  # fmt: skip
            continue
        if component.is_list:
            key = component.container_path[0] if component.container_path else ""
            rows = _dig(values, component.container_path)
            if not key or key not in values:
                continue
            seen.add(key)
            described = []
            for row in rows if isinstance(rows, list) else []:
                row_entries: list[Entry] = []
                if isinstance(row, Mapping):
                    _describe(component.children, row, data, locale, evaluate, row_entries, set())
                described.append(row_entries)
            out.append(Entry(component.label or key, "", described))
            continue
        if not component.is_bound or not component.key_path or component.key_path[0] not in values:
            continue
        seen.add(component.key_path[0])
        value = _dig(values, component.key_path)
        options = resolve_options(component, data, Scope(data), evaluate) if component.has_options else None
        out.append(Entry(component.label or component.key or "", readable(component, value, options, locale)))


def _dig(values: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(values, Mapping):
            return None
        values = values.get(part)
    return values


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return to_text(value)
