"""Loading form-js ``.form`` files as Camunda Modeler writes them (schemaVersion 1 to 19).

Everything a form can hold is understood or refused here, at deploy time, with the component named:
an unknown component type, a bound component without a valid ``key``, an invalid regular expression,
a choice without options, a repeating dynamic list without a ``path``, a key bound twice.
A newer ``schemaVersion`` is accepted as long as every component is one we know.

Decisions where form-js leaves room:

- a ``dynamiclist`` repeats only with ``isRepeating: true`` and offers add/remove only with
  ``allowAddRemove: true`` (both as form-js treats them); a non-repeating one behaves as a group;
- ``multipage`` and ``page`` are shown one after the other, as groups without a path;
- a JavaScript ``pattern`` runs on RE2 (``forms.patterns``): back-references and look-around are refused.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .form import Form
from .model import (
    BOUND_TYPES,
    CONTAINER_TYPES,
    DISPLAY_TYPES,
    KNOWN_TYPES,
    OPTION_TYPES,
    Expression,
    Field,
    FormSchemaError,
    Layout,
    Limit,
    Option,
    Rules,
)
from .patterns import PatternRefused, SearchPattern, compile_pattern
from .words import Words

KEY = re.compile(r"\w+(?:\.\w+)*")
SUBTYPES = ("date", "time", "datetime")
VALIDATION_TYPES = ("email", "phone")


def load_form_js(schema: Mapping[str, Any]) -> Form:
    if not isinstance(schema, Mapping):
        raise FormSchemaError("A form-js form must be a JSON object with a 'components' list.")
    _check_header(schema)
    components = schema.get("components")
    if not isinstance(components, list):
        raise FormSchemaError("The form has no 'components' list.")
    form_id = schema.get("id")
    return Form(fields=_components(components, _Ids()), id=form_id if isinstance(form_id, str) else None)


def _check_header(schema: Mapping[str, Any]) -> None:
    kind = schema.get("type", "default")
    if kind != "default":
        raise FormSchemaError(Words("Form type %(type)s is not supported; a form-js form has type 'default'.",
                                    type=repr(kind)))
    version = schema.get("schemaVersion")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise FormSchemaError(Words("schemaVersion %(version)s is not a positive whole number.", version=repr(version)))


@dataclass
class _Ids:
    """Hands out ids: the component's own, or ``Field_N`` for hand-written files without ids."""

    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def take(self, own: Any) -> tuple[str, int]:
        number = next(self.counter)
        return (own if isinstance(own, str) and own else f"Field_{number}"), number


def _components(items: list[Any], ids: _Ids) -> list[Field]:
    return [_component(item, ids) for item in items]


def _component(item: Any, ids: _Ids) -> Field:
    component_id, number = ids.take(item.get("id") if isinstance(item, Mapping) else None)
    if not isinstance(item, Mapping):
        raise FormSchemaError(Words("component number %(number)s is not a JSON object.", number=number))
    source = _Source(item, _describe(item, component_id))
    kind = item.get("type")
    if kind not in KNOWN_TYPES:
        raise source.fail(Words("unknown component type %(type)s. Known types: %(known)s.", type=repr(kind),
                                known=", ".join(sorted(KNOWN_TYPES))))  # fmt: skip
    built = Field(
        type=str(kind),
        id=component_id,
        label=source.text("label") or _datetime_label(source),
        description=source.text("description"),
        layout=_layout(item),
        hide=source.condition(),
    )
    for applies, complete in _COMPLETERS:
        if kind in applies:
            complete(source, built, ids)
    return built


def _datetime_label(source: _Source) -> str:
    """A datetime component is labelled by ``dateLabel`` (and ``timeLabel`` for its time part)."""
    if source.item.get("type") != "datetime":
        return ""
    if source.item.get("subtype") == "time":
        return source.text("timeLabel")
    return source.text("dateLabel") or source.text("timeLabel")


def _describe(item: Mapping[str, Any], component_id: str) -> Words:
    key = item.get("key")
    if isinstance(key, str) and key:
        return Words("'%(id)s' (key '%(key)s')", id=component_id, key=key)
    return Words("'%(id)s'", id=component_id)


@dataclass(frozen=True)
class _Source:
    """One component as written, with readers that fail naming it."""

    item: Mapping[str, Any]
    name: Words

    def fail(self, problem: Words) -> FormSchemaError:
        return FormSchemaError(problem, self.name)

    def text(self, prop: str) -> str:
        value = self.item.get(prop)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.fail(Words("'%(property)s' must be text, not %(value)s.", property=prop, value=repr(value)))
        return value

    def flag(self, prop: str) -> bool | Expression:
        value = self.item.get(prop, False)
        if isinstance(value, str):
            return Expression(value[1:].strip()) if value.startswith("=") else value.strip().lower() == "true"
        return value is True

    def expression(self, prop: str, block: Mapping[str, Any] | None = None) -> Expression | None:
        value = (self.item if block is None else block).get(prop)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(Words("'%(property)s' must be a FEEL expression, not %(value)s.", property=prop,
                                  value=repr(value)))  # fmt: skip
        text = value.strip().removeprefix("=").strip()
        return Expression(text) if text else None

    def condition(self) -> Expression | None:
        conditional = self.item.get("conditional")
        if conditional is None:
            return None
        if not isinstance(conditional, Mapping):
            raise self.fail(Words("'conditional' must be an object like %(example)s.", example='{"hide": "=..."}'))
        return self.expression("hide", conditional)

    def key(self) -> str:
        key = self.item.get("key")
        if not isinstance(key, str) or not KEY.fullmatch(key):
            raise self.fail(Words("needs a 'key' made of letters, digits and _ separated by dots; found %(key)s.",
                                  key=repr(key)))  # fmt: skip
        return key

    def number(self, prop: str, block: Mapping[str, Any]) -> Limit:
        value = block.get(prop)
        if value is None or value == "":
            return None
        if isinstance(value, str) and value.strip().startswith("="):
            return Expression(value.strip()[1:].strip())
        try:
            number = Decimal(str(value).strip()) if not isinstance(value, bool) else Decimal("NaN")
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            raise self.fail(Words("'%(property)s' must be a number or a FEEL expression; found %(value)s.",
                                  property=prop, value=repr(value)))
        return number

    def whole_number(self, prop: str) -> int | None:
        value = self.item.get(prop)
        if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            return value
        raise self.fail(Words("'%(property)s' must be a whole number of 0 or more; found %(value)s.", property=prop,
                              value=repr(value)))  # fmt: skip


def _layout(item: Mapping[str, Any]) -> Layout:
    layout = item.get("layout")
    if not isinstance(layout, Mapping):
        return Layout()
    row, columns = layout.get("row"), layout.get("columns")
    valid_columns = isinstance(columns, int) and not isinstance(columns, bool) and 1 <= columns <= 16
    return Layout(row if isinstance(row, str) else None, columns if valid_columns else None)


def _bind(source: _Source, built: Field, ids: _Ids) -> None:
    built.key = source.key()
    built.default = source.item.get("defaultValue")
    built.readonly = source.flag("readonly")
    built.disabled = source.flag("disabled")
    built.rules = _rules(source)


def _rules(source: _Source) -> Rules:
    block = source.item.get("validate") or {}
    if not isinstance(block, Mapping):
        raise source.fail(Words("'validate' must be an object."))
    message = block.get("patternErrorMessage")
    return Rules(
        required=block.get("required") is True,
        min=source.number("min", block),
        max=source.number("max", block),
        min_length=source.number("minLength", block),
        max_length=source.number("maxLength", block),
        pattern=_pattern(source, block.get("pattern")),
        pattern_message=message if isinstance(message, str) and message.strip() else None,
        validation_type=_validation_type(source, block.get("validationType")),
    )


def _pattern(source: _Source, pattern: Any) -> SearchPattern | None:
    if pattern is None or pattern == "":
        return None
    if not isinstance(pattern, str):
        raise source.fail(Words("validate.pattern must be text; found %(value)s.", value=repr(pattern)))
    try:
        return compile_pattern(pattern)
    except PatternRefused as refused:
        raise source.fail(Words("validate.pattern %(pattern)s cannot be used: %(reason)s.", pattern=repr(pattern[:100]),
                                reason=Words(refused.template, **refused.params)))  # fmt: skip


def _validation_type(source: _Source, value: Any) -> str | None:
    if value in (None, "", "custom"):
        return None
    if value not in VALIDATION_TYPES:
        raise source.fail(Words("validate.validationType %(value)s is not one of: email, phone, custom.",
                                value=repr(value)))  # fmt: skip
    return str(value)


def _options(source: _Source, built: Field, ids: _Ids) -> None:
    item = source.item
    if isinstance(item.get("valuesKey"), str) and item["valuesKey"].strip():
        built.values_key = item["valuesKey"].strip()
    elif (expression := source.expression("valuesExpression")) is not None:
        built.values_expression = expression
    elif isinstance(item.get("values"), list):
        built.values = tuple(_static_option(source, value) for value in item["values"])
    else:
        raise source.fail(Words("has no options: set 'values', 'valuesKey' or 'valuesExpression'."))


def _static_option(source: _Source, value: Any) -> Option:
    if not isinstance(value, Mapping) or "value" not in value:
        raise source.fail(Words("each entry of 'values' needs a 'value' (and a 'label'); found %(value)s.",
                                value=repr(value)))  # fmt: skip
    label = value.get("label")
    return Option(value["value"], label if isinstance(label, str) else str(value["value"]))


def _datetime(source: _Source, built: Field, ids: _Ids) -> None:
    subtype = source.item.get("subtype") or "date"
    if subtype not in SUBTYPES:
        raise source.fail(Words("subtype %(subtype)s is not one of: %(known)s.", subtype=repr(subtype),
                                known=", ".join(SUBTYPES)))  # fmt: skip
    built.subtype = subtype
    built.disallow_passed_dates = source.item.get("disallowPassedDates") is True


def _number(source: _Source, built: Field, ids: _Ids) -> None:
    built.decimal_digits = source.whole_number("decimalDigits")
    increment = source.number("increment", source.item)
    if isinstance(increment, Expression) or (increment is not None and increment <= 0):
        raise source.fail(Words("'increment' must be a number above 0; found %(value)s.",
                                value=repr(source.item.get("increment"))))  # fmt: skip
    built.increment = increment
    built.serialize_to_string = source.item.get("serializeToString") is True


def _filepicker(source: _Source, built: Field, ids: _Ids) -> None:
    multiple = source.item.get("multiple")
    # An expression cannot be decided at deploy time; allowing several files is the lenient reading.
    built.multiple = multiple is True or (isinstance(multiple, str) and multiple.startswith("="))
    accept = source.item.get("accept")
    built.accept = accept if isinstance(accept, str) and not accept.startswith("=") else ""


def _expression_field(source: _Source, built: Field, ids: _Ids) -> None:
    built.expression = source.expression("expression")
    if built.expression is None:
        raise source.fail(Words("an expression field needs an 'expression' (FEEL, starting with '=')."))


def _container(source: _Source, built: Field, ids: _Ids) -> None:
    children = source.item.get("components", [])
    if not isinstance(children, list):
        raise source.fail(Words("'components' must be a list."))
    built.children = _components(children, ids)
    path = source.item.get("path")
    if path not in (None, "") and (not isinstance(path, str) or not KEY.fullmatch(path)):
        raise source.fail(Words("'path' must be a dot path of letters, digits and _; found %(path)s.", path=repr(path)))
    built.path = path or None
    if built.type == "dynamiclist":
        _dynamic_list(source, built)


def _dynamic_list(source: _Source, built: Field) -> None:
    built.repeating = source.item.get("isRepeating") is True
    built.allow_add_remove = source.item.get("allowAddRemove") is True
    repetitions = source.whole_number("defaultRepetitions")
    built.default_repetitions = 1 if repetitions is None else repetitions
    if built.repeating and not built.path:
        raise source.fail(Words("a repeating dynamic list needs a 'path' naming the list variable."))


def _adorners(source: _Source, built: Field, ids: _Ids) -> None:
    appearance = source.item.get("appearance")
    if appearance is None:
        return
    if not isinstance(appearance, Mapping):
        raise source.fail(Words("'appearance' must be an object like %(example)s.",
                                example='{"prefixAdorner": "...", "suffixAdorner": "..."}'))
    for prop, attribute in (("prefixAdorner", "prefix"), ("suffixAdorner", "suffix")):
        value = appearance.get(prop)
        if value is None:
            continue
        if not isinstance(value, str):
            raise source.fail(Words("'appearance.%(property)s' must be text, not %(value)s.", property=prop,
                                    value=repr(value)))
        setattr(built, attribute, value)


def _display(source: _Source, built: Field, ids: _Ids) -> None:
    built.spec = dict(source.item)


_Completer = Callable[[_Source, Field, _Ids], None]
_COMPLETERS: tuple[tuple[frozenset[str], _Completer], ...] = (
    (BOUND_TYPES, _bind),
    (OPTION_TYPES, _options),
    (frozenset({"datetime"}), _datetime),
    (frozenset({"number"}), _number),
    (frozenset({"textfield", "number"}), _adorners),
    (frozenset({"filepicker"}), _filepicker),
    (frozenset({"expression"}), _expression_field),
    (CONTAINER_TYPES, _container),
    (DISPLAY_TYPES, _display),
)
