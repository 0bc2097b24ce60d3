"""Data paths and the names of HTML inputs.

A value's place in the process data is a *path*: a tuple of object keys (``str``) and row indexes
(``int``). A form-js ``key`` or ``path`` is a dot path (``"address.city"``), so a textfield with key
``city`` inside a group with path ``address`` lives at ``("address", "city")``, and the field
``objective`` in the third row of the dynamic list ``objectives`` at ``("objectives", 2, "objective")``.

The HTML input name of a value is its path written the way a reader expects it:
``title``, ``address.city``, ``objectives[2].objective``, ``plans[0].steps[1].name``. The same name
is the key of ``Result.errors``. Element ids are derived from it (``f-objectives--2-objective``) so
that ids stay unique and valid in CSS selectors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

Path = tuple[str | int, ...]

_NAME = re.compile(r"\w+(?:\.\w+|\[\d+\])*")
_TOKEN = re.compile(r"\[(\d+)\]|(\w+)")
_ABSENT = object()


def split_key(key: str | None) -> tuple[str, ...]:
    """``"a.b"`` -> ``("a", "b")``; an empty or missing key is the current scope itself."""
    return tuple(key.split(".")) if key else ()


def input_name(path: Path) -> str:
    """The HTML input name of a path: ``("objectives", 2, "objective")`` -> ``objectives[2].objective``."""
    name = ""
    for segment in path:
        if isinstance(segment, int):
            name += f"[{segment}]"
        else:
            name += f".{segment}" if name else segment
    return name


def parse_input_name(name: str) -> Path | None:
    """The path an input name stands for, or None when the name is not one of ours."""
    if not _NAME.fullmatch(name):
        return None
    return tuple(int(index) if index else key for index, key in _TOKEN.findall(name))


def html_id(path: Path, prefix: str = "f-") -> str:
    """A unique element id for a path: row indexes become ``--N`` because keys never contain ``-``."""
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"--{segment}"
        else:
            text += f"-{segment}" if text else segment
    return prefix + text


def get_in(tree: Any, path: Path, default: Any = None) -> Any:
    """The value at ``path`` inside nested dicts and lists, or ``default`` when any step is missing."""
    node = tree
    for segment in path:
        if isinstance(segment, int):
            if not isinstance(node, list) or segment >= len(node):
                return default
        elif not isinstance(node, Mapping) or segment not in node:
            return default
        node = node[segment]
    return node


def has_in(tree: Any, path: Path) -> bool:
    return get_in(tree, path, _ABSENT) is not _ABSENT


def set_in(tree: dict[str, Any], path: Path, value: Any) -> None:
    """Store ``value`` at ``path``, creating the dicts and list rows on the way."""
    node: Any = tree
    for segment, following in zip(path, path[1:], strict=False):
        node = _child(node, segment, [] if isinstance(following, int) else {})
    if isinstance(path[-1], int):
        _pad(node, path[-1])
    node[path[-1]] = value


def _child(node: Any, segment: str | int, empty: dict[str, Any] | list[Any]) -> Any:
    if isinstance(segment, int):
        _pad(node, segment)
    current = node[segment] if isinstance(segment, int) else node.get(segment)
    if not isinstance(current, type(empty)):
        node[segment] = current = empty
    return current


def _pad(rows: list[Any], index: int) -> None:
    while len(rows) <= index:
        rows.append({})


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict: ``overlay`` over ``base``; nested objects merge, everything else (lists too) replaces."""
    merged = dict(base)
    for key, value in overlay.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged
