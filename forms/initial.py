"""The values a form shows before anyone edits it: the stored data, else each field's ``defaultValue``,
else the field's empty value as form-js starts it (``""`` for text, ``False`` for a checkbox, ``[]`` for
checklists and taglists, None otherwise). Starting from the same values as form-js matters for
conditions: ``=not(wantsExtras)`` hides its group on an untouched form, here as in the Modeler preview.

A dynamic list shows the rows stored in the data, or ``defaultRepetitions`` rows of default values
when the data holds no list. Expression fields are not computed here (that needs the evaluator) and a
filepicker starts with whatever the data holds.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .model import Field
from .paths import Path, get_in, has_in, set_in


def initial_values(fields: list[Field], data: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    _fill(fields, data, (), values)
    return values


def new_row(list_field: Field) -> dict[str, Any]:
    """A fresh row of a dynamic list, with the children's default values."""
    return initial_values(list_field.children, {})


def _fill(fields: list[Field], data: Mapping[str, Any], prefix: Path, values: dict[str, Any]) -> None:
    for field in fields:
        if field.is_list:
            _fill_rows(field, data, prefix + field.container_path, values)
        elif field.is_container:
            _fill(field.children, data, prefix + field.container_path, values)
        elif field.is_bound and field.type != "expression":
            _fill_value(field, data, prefix + field.key_path, values)


def _fill_rows(field: Field, data: Mapping[str, Any], path: Path, values: dict[str, Any]) -> None:
    stored = get_in(data, path)
    count = len(stored) if isinstance(stored, list) else field.default_repetitions
    set_in(values, path, [{} for _ in range(count)])
    for index in range(count):
        _fill(field.children, data, (*path, index), values)


def _fill_value(field: Field, data: Mapping[str, Any], path: Path, values: dict[str, Any]) -> None:
    if has_in(data, path):
        set_in(values, path, get_in(data, path))
    elif field.default is not None:
        set_in(values, path, copy.deepcopy(field.default))
    elif field.is_input:
        set_in(values, path, empty_value(field))


def empty_value(field: Field) -> Any:
    if field.type == "checkbox":
        return False
    if field.is_multi_value:
        return []
    return "" if field.type in ("textfield", "textarea") else None
