"""Reading an HTML form post into the raw value tree.

``post`` maps input names to lists of strings (werkzeug's ``request.form.to_dict(flat=False)``); a
plain string is taken as a one-item list. Names follow ``forms.paths``. Besides the inputs, the
rendered form carries one hidden ``_rows:<list name>`` input per dynamic list holding its row count,
so a row whose inputs are all empty (or unchecked checkboxes) still counts; the highest row index
seen in the names counts too. A list never has more than ``MAX_ROWS`` rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .model import Field
from .paths import Path, get_in, has_in, input_name, set_in

ROWS_PREFIX = "_rows:"
MAX_ROWS = 500

Post = Mapping[str, Sequence[str] | str]


def submitted(post: Post, name: str) -> list[str] | None:
    """The strings posted under ``name``; None when the name was not posted at all."""
    if name not in post:
        return None
    value = post[name]
    return [value] if isinstance(value, str) else [str(item) for item in value]


def row_count(post: Post, list_name: str) -> int:
    declared = submitted(post, ROWS_PREFIX + list_name) or []
    count = int(declared[0]) if declared and declared[0].isdigit() else 0
    opening = list_name + "["
    for name in post:
        if name.startswith(opening):
            index = name[len(opening) :].split("]", 1)[0]
            if index.isdigit():
                count = max(count, int(index) + 1)
    return min(count, MAX_ROWS)


def collect_post(fields: list[Field], post: Post, data: Mapping[str, Any]) -> dict[str, Any]:
    """The raw tree of a post: strings, lists of strings for multi-value inputs, bools for checkboxes."""
    raw: dict[str, Any] = {}
    _collect(fields, post, data, (), raw)
    return raw


def _collect(fields: list[Field], post: Post, data: Mapping[str, Any], prefix: Path, raw: dict[str, Any]) -> None:
    for field in fields:
        if field.is_list:
            _collect_rows(field, post, data, prefix + field.container_path, raw)
        elif field.is_container:
            _collect(field.children, post, data, prefix + field.container_path, raw)
        elif field.is_input:
            _collect_input(field, post, data, prefix + field.key_path, raw)


def _collect_rows(field: Field, post: Post, data: Mapping[str, Any], path: Path, raw: dict[str, Any]) -> None:
    count = row_count(post, input_name(path))
    set_in(raw, path, [{} for _ in range(count)])
    for index in range(count):
        _collect(field.children, post, data, (*path, index), raw)


def _collect_input(field: Field, post: Post, data: Mapping[str, Any], path: Path, raw: dict[str, Any]) -> None:
    strings = submitted(post, input_name(path))
    if strings is None and field.may_be_locked and has_in(data, path):
        # Disabled inputs are not posted by browsers; show the stored value again.
        set_in(raw, path, get_in(data, path))
    elif field.type == "checkbox":
        set_in(raw, path, strings is not None and any(item not in ("", "false") for item in strings))
    elif field.is_multi_value:
        set_in(raw, path, [item for item in strings or [] if item != ""])
    elif strings is not None:
        set_in(raw, path, strings[0] if strings else "")
