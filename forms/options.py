"""The options of radio, select, checklist and taglist components.

They come from static ``values``, from ``valuesKey`` (a data key holding ``[{label, value}]`` or plain
values; read from the task data, never from the submission, so a user cannot add options), or from
``valuesExpression`` (FEEL, evaluated with the submission in scope so options may depend on another
field). Without an evaluator the options of a ``valuesExpression`` are unknown (None) and any value is
accepted; an empty list accepts nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .feel import Scope, evaluate_expression, format_decimal
from .model import Evaluate, Field, Option
from .paths import get_in, split_key


def resolve_options(
    field: Field, data: Mapping[str, Any], scope: Scope, evaluate: Evaluate | None
) -> list[Option] | None:
    if field.values is not None:
        return list(field.values)
    if field.values_key:
        return options_from(get_in(data, split_key(field.values_key)))
    if field.values_expression is not None and evaluate is not None:
        return options_from(evaluate_expression(field.values_expression, scope, evaluate))
    return None


def options_from(source: Any) -> list[Option]:
    """Options from data: ``[{"label", "value"}]`` or plain values; anything else gives none."""
    if not isinstance(source, list | tuple):
        return []
    return [option for option in map(_option, source) if option is not None]


def _option(item: Any) -> Option | None:
    if isinstance(item, Mapping):
        if "value" not in item:
            return None
        value = item["value"]
        return Option(value, str(item.get("label", token(value))))
    if item is None or isinstance(item, list | dict):
        return None
    return Option(item, token(item))


def token(value: Any) -> str:
    """The string an option value travels as in HTML: ``True`` -> ``true``, ``2.0`` -> ``2``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | Decimal):
        return format_decimal(Decimal(str(value)))
    return "" if value is None else str(value)


def find_option(options: list[Option], value: Any) -> Option | None:
    wanted = token(value)
    return next((option for option in options if token(option.value) == wanted), None)


def option_label(options: list[Option] | None, value: Any) -> str:
    found = find_option(options, value) if options else None
    return found.label if found else token(value)
