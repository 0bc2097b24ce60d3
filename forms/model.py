"""The field model every form definition is turned into, whatever file it came from."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from .paths import split_key
from .patterns import SearchPattern
from .words import Words

Evaluate = Callable[[str, Mapping[str, Any]], Any]
"""FEEL evaluation injected by the caller: ``evaluate(expression_without_leading_equals, variables)``.

It should follow FEEL semantics and return None for a runtime error (a comparison with null, a
missing variable); what it raises reaches the caller unchanged.
"""

INPUT_TYPES = frozenset(
    {"textfield", "textarea", "number", "datetime", "checkbox", "radio", "select", "checklist", "taglist"}
)
OPTION_TYPES = frozenset({"radio", "select", "checklist", "taglist"})
MULTI_VALUE_TYPES = frozenset({"checklist", "taglist"})
BOUND_TYPES = INPUT_TYPES | {"expression", "filepicker"}
CONTAINER_TYPES = frozenset({"group", "dynamiclist", "multipage", "page"})
DISPLAY_TYPES = frozenset(
    {"text", "html", "image", "button", "spacer", "separator", "table", "iframe", "documentPreview"}
)
KNOWN_TYPES = BOUND_TYPES | CONTAINER_TYPES | DISPLAY_TYPES


class FormSchemaError(ValueError):
    """A form definition that cannot be understood; the message names the component and the problem.

    ``template`` and ``params`` are the message as words to translate."""

    def __init__(self, message: Words | str, component: Words | str | None = None) -> None:
        words = message if isinstance(message, Words) else Words(message)
        if component:
            words = Words("Component %(component)s: %(problem)s", component=component, problem=words)
        super().__init__(str(words))
        self.template, self.params = words.template, words.params
        self.component = component


class FileLike(Protocol):
    """An uploaded file as far as validation cares (werkzeug's ``FileStorage`` fits).

    A ``mimetype`` or ``content_type`` attribute, when present, is used for ``accept`` media types.
    """

    @property
    def filename(self) -> str | None: ...


@dataclass(frozen=True)
class Expression:
    """A FEEL expression from the form, stored without its leading ``=``."""

    source: str


Limit = Decimal | Expression | None


@dataclass(frozen=True)
class Option:
    value: Any
    label: str


@dataclass(frozen=True)
class Rules:
    """The ``validate`` block of a component."""

    required: bool = False
    min: Limit = None
    max: Limit = None
    min_length: Limit = None
    max_length: Limit = None
    pattern: SearchPattern | None = None
    pattern_message: str | None = None
    validation_type: str | None = None
    """``"email"``, ``"phone"`` or None."""


@dataclass(frozen=True)
class Layout:
    row: str | None = None
    columns: int | None = None
    """Width on a 16-column grid; None lets the row share space automatically."""


@dataclass
class Field:
    """One component of a form. Containers hold their children; display components hold ``spec``."""

    type: str
    id: str
    key: str | None = None
    """Dot path of the value, relative to the enclosing group path or list row."""
    label: str = ""
    description: str = ""
    default: Any = None
    readonly: bool | Expression = False
    disabled: bool | Expression = False
    hide: Expression | None = None
    """``conditional.hide``: the component is hidden while this evaluates to true."""
    layout: Layout = Layout()
    rules: Rules = Rules()
    values: tuple[Option, ...] | None = None
    values_key: str | None = None
    values_expression: Expression | None = None
    subtype: str = "date"
    """datetime: ``date``, ``time`` or ``datetime``."""
    disallow_passed_dates: bool = False
    decimal_digits: int | None = None
    increment: Decimal | None = None
    serialize_to_string: bool = False
    prefix: str = ""
    """Text shown before a textfield's or number's input (form-js ``appearance.prefixAdorner``)."""
    suffix: str = ""
    """Text shown after it (``appearance.suffixAdorner``), e.g. a unit such as ``VNĐ`` or ``%``."""
    """number: keep the value as a decimal string (unlimited precision) instead of int/float."""
    multiple: bool = False
    accept: str = ""
    expression: Expression | None = None
    path: str | None = None
    """Containers: dot path that nests the children's values; None or empty keeps them flat."""
    repeating: bool = False
    allow_add_remove: bool = False
    default_repetitions: int = 1
    children: list[Field] = field(default_factory=list)
    spec: Mapping[str, Any] = field(default_factory=dict)
    """Display components: their properties as written (text, content, source, columns, ...)."""

    @property
    def key_path(self) -> tuple[str, ...]:
        return split_key(self.key)

    @property
    def container_path(self) -> tuple[str, ...]:
        return split_key(self.path)

    @property
    def is_input(self) -> bool:
        return self.type in INPUT_TYPES

    @property
    def is_bound(self) -> bool:
        """The component reads or writes a value of its own."""
        return self.type in BOUND_TYPES

    @property
    def is_container(self) -> bool:
        return self.type in CONTAINER_TYPES

    @property
    def is_list(self) -> bool:
        """A dynamic list that repeats its children per row (a non-repeating one behaves as a group)."""
        return self.type == "dynamiclist" and self.repeating

    @property
    def has_options(self) -> bool:
        return self.type in OPTION_TYPES

    @property
    def is_multi_value(self) -> bool:
        return self.type in MULTI_VALUE_TYPES

    @property
    def always_locked(self) -> bool:
        """Readonly or disabled without a condition."""
        return self.readonly is True or self.disabled is True

    @property
    def may_be_locked(self) -> bool:
        """Readonly or disabled, statically or by expression: its value never comes from a submission."""
        return self.readonly is not False or self.disabled is not False

    def walk(self) -> Iterator[Field]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class Result:
    """The outcome of validating a submission."""

    values: dict[str, Any]
    """Cleaned, typed values, nested by path; hidden fields and display components are absent."""
    errors: dict[str, str]
    """Input name -> message in the requested locale."""
    raw: dict[str, Any]
    """What was entered, nested like ``values``, to re-render the form without losing input."""

    @property
    def ok(self) -> bool:
        return not self.errors
