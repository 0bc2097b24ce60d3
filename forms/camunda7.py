"""Camunda 7 generated forms (``camunda:formData``) as the same field model as form-js forms.

Each field is a mapping the BPMN parser extracts from ``camunda:formField``::

    {"id": "amount", "label": "Số tiền", "type": "long", "default_value": "0",
     "validation": [{"name": "required"}, {"name": "max", "config": "1000000"}],
     "options": [{"id": "a", "name": "A"}]}          # enum only

Types map to components: string -> textfield, long -> whole-number number, boolean -> checkbox,
date -> date picker (a ``dd/MM/yyyy`` default is read as Camunda 7 writes it), enum -> select.
Constraints: required, minlength, maxlength, min, max, readonly. A custom ``validator`` constraint,
an unknown type, or a ``${...}`` default would need Java/JUEL at runtime: the first two are refused,
an expression default is ignored (the field starts empty).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .form import Form
from .form_js import KEY
from .model import Field, FormSchemaError, Option, Rules
from .parsing import InvalidInput, parse_checkbox, parse_date, parse_number
from .words import Words

TYPES = {"string": "textfield", "long": "number", "boolean": "checkbox", "date": "datetime", "enum": "select"}
LIMITS = {"minlength": "min_length", "maxlength": "max_length", "min": "min", "max": "max"}


def load_generated_form(fields: list[Mapping[str, Any]]) -> Form:
    return Form(fields=[_field(item) for item in fields], id=None)


def _field(item: Mapping[str, Any]) -> Field:
    key = item.get("id")
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise FormSchemaError(Words("form field id %(id)s is not a valid variable name.", id=repr(key)))
    name = Words("'%(id)s'", id=key)
    kind = item.get("type") or "string"
    if kind not in TYPES:
        raise FormSchemaError(Words("type %(type)s is not supported; use one of %(known)s.", type=repr(kind),
                                    known=", ".join(TYPES)), name)  # fmt: skip
    built = Field(type=TYPES[kind], id=key, key=key, label=str(item.get("label") or key))
    built.decimal_digits = 0 if kind == "long" else None
    built.values = tuple(_options(item, name)) if kind == "enum" else None
    built.rules, built.readonly = _constraints(item.get("validation") or [], name)
    built.default = _default(built, item.get("default_value"), name)
    return built


def _options(item: Mapping[str, Any], name: Words) -> list[Option]:
    options = []
    for value in item.get("options") or []:
        if not isinstance(value, Mapping) or not value.get("id"):
            raise FormSchemaError(Words("every enum value needs an 'id'; found %(value)s.", value=repr(value)), name)
        options.append(Option(str(value["id"]), str(value.get("name") or value["id"])))
    return options


def _constraints(constraints: list[Mapping[str, Any]], name: Words) -> tuple[Rules, bool]:
    settings: dict[str, Any] = {}
    readonly = False
    for constraint in constraints:
        kind = constraint.get("name")
        if kind == "required":
            settings["required"] = True
        elif kind == "readonly":
            readonly = True
        elif kind in LIMITS:
            settings[LIMITS[kind]] = _limit(constraint.get("config"), kind, name)
        else:
            raise FormSchemaError(Words("constraint %(constraint)s is not supported (custom validators need Java); "
                                        "use required, minlength, maxlength, min, max or readonly.",
                                        constraint=repr(kind)), name)  # fmt: skip
    return Rules(**settings), readonly


def _limit(config: Any, kind: str, name: Words) -> Decimal:
    try:
        number = Decimal(str(config).strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise FormSchemaError(Words("constraint %(constraint)s needs a number as config; found %(value)s.",
                                    constraint=repr(kind), value=repr(config)), name)  # fmt: skip
    return number


def _default(built: Field, value: Any, name: Words) -> Any:
    if value is None or value == "" or (isinstance(value, str) and value.strip().startswith(("${", "#{"))):
        return None
    try:
        if built.type == "number":
            return parse_number(built, value)
        if built.type == "checkbox":
            return parse_checkbox(built, value)
        if built.type == "datetime":
            return parse_date(value)
    except InvalidInput:
        raise FormSchemaError(Words("default value %(value)s does not fit the field type.", value=repr(value)), name)
    return str(value)
