"""Adding and removing dynamic-list rows without JavaScript.

Each dynamic list with ``allowAddRemove`` is rendered with submit buttons named ``_form_action``:
``add:<list name>`` ("Thêm dòng") and, per row, ``remove:<row name>`` ("Xóa"), for example
``add:objectives``, ``remove:objectives[2]``, ``add:plans[0].steps``. They carry ``formnovalidate`` so
the browser does not block them on half-filled rows. The form's own submit buttons send
``_form_action=submit`` and the rendered form starts with a hidden one, so pressing Enter in a text
box submits the form instead of removing the first row.

The caller asks the form first and only validates when no row button was pressed::

    raw = form.apply_action(post, data)
    if raw is not None:   # "Thêm dòng" or "Xóa": show the form again with the change; nothing is saved
        return render_form_html(form, raw, {}, data=data)
    result = form.validate_post(post, data, files=uploads, evaluate=feel)

An action on a list that does not allow adding and removing rows changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .initial import new_row
from .model import Field
from .paths import Path, get_in, parse_input_name, set_in
from .post import MAX_ROWS, Post, collect_post, submitted

ACTION_FIELD = "_form_action"
SUBMIT = "submit"


@dataclass(frozen=True)
class RowAction:
    kind: str
    """``"add"`` or ``"remove"``."""
    list_path: Path
    index: int = -1
    """The row to remove."""


def parse_action(post: Post) -> RowAction | None:
    """The row action a post asks for, or None for an ordinary submit."""
    for value in submitted(post, ACTION_FIELD) or []:
        action = _parse(value)
        if action is not None:
            return action
    return None


def _parse(value: str) -> RowAction | None:
    kind, _, name = value.partition(":")
    path = parse_input_name(name)
    if not path:
        return None
    if kind == "add" and isinstance(path[-1], str):
        return RowAction("add", path)
    if kind == "remove" and len(path) > 1 and isinstance(path[-1], int):
        return RowAction("remove", path[:-1], path[-1])
    return None


def apply_action(fields: list[Field], post: Post, data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The raw values of ``post`` with the requested row added or removed; None when no row action."""
    action = parse_action(post)
    if action is None:
        return None
    raw = collect_post(fields, post, data)
    target = find_list(fields, action.list_path)
    if target is not None and target.allow_add_remove:
        _change_rows(raw, action, target)
    return raw


def _change_rows(raw: dict[str, Any], action: RowAction, target: Field) -> None:
    rows = get_in(raw, action.list_path)
    rows = rows if isinstance(rows, list) else []
    if action.kind == "add" and len(rows) < MAX_ROWS:
        rows.append(new_row(target))
    elif action.kind == "remove" and 0 <= action.index < len(rows):
        del rows[action.index]
    set_in(raw, action.list_path, rows)


def find_list(fields: list[Field], path: Path, prefix: Path = ()) -> Field | None:
    """The dynamic list whose rows live at ``path`` (indexes of enclosing rows included)."""
    for component in fields:
        found = _find_in(component, path, prefix)
        if found is not None:
            return found
    return None


def _find_in(component: Field, path: Path, prefix: Path) -> Field | None:
    if component.is_list:
        list_path = prefix + component.container_path
        if path == list_path:
            return component
        depth = len(list_path)
        if path[:depth] == list_path and len(path) > depth and isinstance(path[depth], int):
            return find_list(component.children, path, (*list_path, path[depth]))
        return None
    if component.is_container:
        return find_list(component.children, path, prefix + component.container_path)
    return None
