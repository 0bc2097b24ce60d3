"""How forms use the injected FEEL evaluator: variables in scope, conditions, ``{{ }}`` templating.

Without an evaluator (``evaluate=None``) a condition never hides anything, an expression is None,
and a ``{{ key }}`` placeholder still works when it is a plain dot path into the data.

Inside a dynamic list row the variables are the form's data plus ``this`` (the row), ``parent``
(the enclosing row or the whole data) and ``_i`` (the 1-based row numbers from the outermost list
inwards), as in form-js; ``_this`` and ``_parent`` are aliases.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from .model import Evaluate, Expression, Field
from .paths import get_in, split_key

TEMPLATE = re.compile(r"\{\{\s*(.+?)\s*\}\}", re.DOTALL)
_PLAIN_PATH = re.compile(r"\w+(?:\.\w+)*")


@dataclass(frozen=True)
class Scope:
    """Where a component is evaluated: the whole data, or one row of a dynamic list."""

    root: Mapping[str, Any]
    this: Mapping[str, Any] | None = None
    parent: Scope | None = None
    indexes: tuple[int, ...] = ()

    def row(self, values: Any, index: int) -> Scope:
        this = values if isinstance(values, Mapping) else {}
        return Scope(self.root, this, self, (*self.indexes, index))

    @cached_property
    def variables(self) -> Mapping[str, Any]:
        if self.this is None:
            return self.root
        parent = self.parent.this if self.parent and self.parent.this is not None else self.root
        numbers = [index + 1 for index in self.indexes]
        extra = {"this": self.this, "_this": self.this, "parent": parent, "_parent": parent, "_i": numbers}
        return {**self.root, **extra}


def evaluate_expression(expression: Expression | None, scope: Scope, evaluate: Evaluate | None) -> Any:
    if expression is None or evaluate is None:
        return None
    return evaluate(expression.source, scope.variables)


def is_hidden(field: Field, scope: Scope, evaluate: Evaluate | None) -> bool:
    return evaluate_expression(field.hide, scope, evaluate) is True


def is_set(flag: bool | Expression, scope: Scope, evaluate: Evaluate | None) -> bool:
    """A boolean property that may be a FEEL expression (``readonly: "=status = \\"closed\\""``)."""
    if isinstance(flag, Expression):
        return evaluate_expression(flag, scope, evaluate) is True
    return flag


def is_locked(field: Field, scope: Scope, evaluate: Evaluate | None) -> bool:
    return is_set(field.readonly, scope, evaluate) or is_set(field.disabled, scope, evaluate)


def source_value(source: Any, scope: Scope, evaluate: Evaluate | None) -> Any:
    """A ``dataSource``-like property: ``=expression`` is FEEL, anything else a dot path into the data."""
    if not isinstance(source, str) or not source.strip():
        return None
    if source.startswith("="):
        return evaluate_expression(Expression(source[1:].strip()), scope, evaluate)
    return lookup(source.strip(), scope)


def lookup(dot_path: str, scope: Scope) -> Any:
    return get_in(scope.variables, split_key(dot_path))


def placeholder_value(expression: str, scope: Scope, evaluate: Evaluate | None) -> Any:
    """The value of one ``{{ expression }}``: a plain path is looked up, anything else goes to FEEL."""
    if _PLAIN_PATH.fullmatch(expression):
        return lookup(expression, scope)
    return evaluate_expression(Expression(expression), scope, evaluate)


def resolve_text(text: Any, scope: Scope, evaluate: Evaluate | None) -> str:
    """A text property (label, description, alt, url, ...): ``=FEEL``, ``{{ }}`` template, or literal."""
    if not isinstance(text, str):
        return ""
    if text.startswith("="):
        return to_text(evaluate_expression(Expression(text[1:].strip()), scope, evaluate))
    return TEMPLATE.sub(lambda match: to_text(placeholder_value(match.group(1), scope, evaluate)), text)


def to_text(value: Any) -> str:
    """How a data value reads inside text: no ``None``, lists joined, numbers without exponent."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | Decimal):
        return format_decimal(Decimal(str(value)))
    if isinstance(value, list | tuple):
        return ", ".join(to_text(item) for item in value)
    return str(value)


def format_decimal(number: Decimal) -> str:
    """``Decimal("1E+2")`` -> ``"100"``, ``Decimal("2.50")`` -> ``"2.5"``."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text
