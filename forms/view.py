"""What the ``render_form`` macro draws: the component tree resolved for one set of values and errors.

Everything that needs Python happens here (conditions, options, templating, sanitising, input names
and element ids), so the macros in ``templates/forms/macros.html`` only lay out HTML.

``values`` are what to show: ``Form.initial_values(data)`` on first display, ``Result.raw`` after a
refused submission, the values of ``Form.apply_action`` after a row button. ``data`` (optional) is the
task's data: text templates and conditions see it, and readonly fields show the stored value.

A component hidden by its condition is still rendered in edit mode, inside an element with the
``hidden`` attribute: without JavaScript the page cannot reveal it when the user changes the field the
condition depends on, and after the submission the server decides (a field that became visible and is
required comes back with its error). In readonly mode hidden components are left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from . import display
from .feel import Scope, is_hidden, is_locked, resolve_text, to_text
from .messages import format_date, format_number, label, labels, normalize_locale
from .model import Evaluate, Field, Option
from .options import option_label, resolve_options, token
from .parsing import loose_value
from .paths import Path, deep_merge, get_in, has_in, html_id, input_name
from .post import ROWS_PREFIX
from .rows import ACTION_FIELD, SUBMIT
from .submission import typed_preview

_UNSAFE_ID = re.compile(r"[^\w-]")
_INPUT_TYPES = {"date": "date", "time": "time", "datetime": "datetime-local"}
_TEXT_INPUT_TYPES = {"email": "email", "phone": "tel"}


@dataclass(frozen=True)
class OptionView:
    value: str
    label: str
    selected: bool
    id: str


@dataclass
class ItemView:
    """One row of a dynamic list."""

    id: str
    legend: str
    rows: list[list[Node]]
    remove_value: str = ""
    """``remove:<row name>`` when the row may be removed."""
    remove_label: str = ""


@dataclass
class Node:
    """One component, ready to draw."""

    component: Field
    kind: str
    id: str
    css: str
    name: str = ""
    label: str = ""
    description: str = ""
    required: bool = False
    locked: bool = False
    """Readonly or disabled: shown, not editable, never taken from the submission."""
    hidden: bool = False
    hide_expression: str = ""
    value: Any = None
    """What the input holds: text, a list of option tokens, or a bool for a checkbox."""
    text: str = ""
    """The value as a reader sees it (readonly mode)."""
    error: str = ""
    input_type: str = "text"
    input_mode: str = ""
    prefix: str = ""
    suffix: str = ""
    max_length: int | None = None
    multiple: bool = False
    accept: str = ""
    options: list[OptionView] = field(default_factory=list)
    rows: list[list[Node]] = field(default_factory=list)
    items: list[ItemView] = field(default_factory=list)
    count_name: str = ""
    add_value: str = ""
    html: Markup | None = None
    image: display.Link | None = None
    link: display.Link | None = None
    links: list[display.Link] = field(default_factory=list)
    table: display.Table | None = None
    button_action: str = "submit"

    @property
    def description_id(self) -> str:
        return f"{self.id}-description"

    @property
    def error_id(self) -> str:
        return f"{self.id}-error"

    @property
    def described_by(self) -> str:
        ids = [self.description_id] if self.description else []
        return " ".join([*ids, self.error_id] if self.error else ids)


@dataclass
class FormView:
    rows: list[list[Node]]
    readonly: bool
    locale: str
    labels: dict[str, str]
    has_row_actions: bool
    action_field: str = ACTION_FIELD
    submit_value: str = SUBMIT


def build_view(
    fields: list[Field],
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    *,
    readonly: bool,
    locale: str,
    data: Mapping[str, Any] | None,
    evaluate: Evaluate | None,
) -> FormView:
    data = data or {}
    scope = Scope(deep_merge(data, typed_preview(fields, values, data)))
    builder = _Builder(values, errors, readonly, normalize_locale(locale), data, evaluate)
    rows = builder.rows(fields, (), scope)
    return FormView(rows, readonly, builder.locale, labels(builder.locale), builder.row_actions)


def layout_rows(nodes: list[Node]) -> list[list[Node]]:
    """Consecutive components with the same ``layout.row`` share a row; others get one each."""
    rows: list[list[Node]] = []
    previous: str | None = None
    for node in nodes:
        row = node.component.layout.row
        if rows and row is not None and row == previous:
            rows[-1].append(node)
        else:
            rows.append([node])
        previous = row
    return rows


@dataclass
class _Builder:
    values: Mapping[str, Any]
    errors: Mapping[str, str]
    readonly: bool
    locale: str
    data: Mapping[str, Any]
    evaluate: Evaluate | None
    row_actions: bool = False

    def rows(self, fields: list[Field], prefix: Path, scope: Scope) -> list[list[Node]]:
        nodes = (self.node(component, prefix, scope) for component in fields)
        return layout_rows([node for node in nodes if node is not None])

    def node(self, component: Field, prefix: Path, scope: Scope) -> Node | None:
        hidden = is_hidden(component, scope, self.evaluate)
        if component.type == "expression" or (self.readonly and (hidden or component.type == "button")):
            return None
        path = prefix + component.key_path if component.is_bound else prefix + component.container_path
        node = Node(component, component.type, self.element_id(component, prefix, path), _css(component))
        node.hidden = hidden
        node.hide_expression = component.hide.source if component.hide else ""
        node.label = resolve_text(component.label, scope, self.evaluate)
        if component.is_bound:
            self.bound(node, path, scope)
        elif component.is_list:
            self.dynamic_list(node, path, scope)
        elif component.is_container:
            node.rows = self.rows(component.children, path, scope)
        else:
            self.display(node, scope)
        return node

    def element_id(self, component: Field, prefix: Path, path: Path) -> str:
        if component.is_bound or component.is_list:
            return html_id(path)
        return html_id((*prefix, _UNSAFE_ID.sub("_", component.id)), prefix="c-")

    def bound(self, node: Node, path: Path, scope: Scope) -> None:
        component = node.component
        node.name = input_name(path)
        node.error = self.errors.get(node.name, "")
        node.label = node.label or component.key or ""
        node.description = resolve_text(component.description, scope, self.evaluate)
        node.prefix = resolve_text(component.prefix, scope, self.evaluate)
        node.suffix = resolve_text(component.suffix, scope, self.evaluate)
        node.required = component.rules.required
        node.locked = is_locked(component, scope, self.evaluate)
        shown = self.shown_value(component, path, node.locked)
        options = self.options(component, scope, shown)
        node.value = input_value(component, shown)
        node.text = readable(component, shown, options, self.locale)
        if component.has_options:
            node.options = _option_views(options or [], node.value, node.id)
        _input_attributes(node)

    def shown_value(self, component: Field, path: Path, locked: bool) -> Any:
        if locked and has_in(self.data, path):
            return get_in(self.data, path)
        return get_in(self.values, path)

    def options(self, component: Field, scope: Scope, shown: Any) -> list[Option] | None:
        if not component.has_options:
            return None
        options = resolve_options(component, self.data, scope, self.evaluate)
        if options is None:
            # Options unknown without an evaluator: offer what is already chosen, so nothing is lost.
            chosen = shown if isinstance(shown, list) else [] if shown in (None, "") else [shown]
            options = [Option(value, token(value)) for value in chosen]
        return options

    def dynamic_list(self, node: Node, path: Path, scope: Scope) -> None:
        component = node.component
        node.name = input_name(path)
        node.error = self.errors.get(node.name, "")
        node.count_name = ROWS_PREFIX + node.name
        rows = get_in(self.values, path)
        stored = rows if isinstance(rows, list) else []
        editable = component.allow_add_remove and not self.readonly
        node.add_value = f"add:{node.name}" if editable else ""
        self.row_actions = self.row_actions or editable
        node.items = [self.item(component, path, index, scope, editable) for index in range(len(stored))]

    def item(self, component: Field, path: Path, index: int, scope: Scope, editable: bool) -> ItemView:
        row_path = (*path, index)
        row_scope = scope.row(get_in(scope.root, row_path), index)
        item = ItemView(html_id(row_path), label("row_n", self.locale, n=index + 1), [])
        item.rows = self.rows(component.children, row_path, row_scope)
        if editable:
            item.remove_value = f"remove:{input_name(row_path)}"
            item.remove_label = label("remove_row_n", self.locale, n=index + 1)
        return item

    def display(self, node: Node, scope: Scope) -> None:
        component, spec = node.component, node.component.spec
        if component.type == "text":
            node.html = display.markdown_html(str(spec.get("text") or ""), scope, self.evaluate)
        elif component.type == "html":
            node.html = display.sanitized_html(str(spec.get("content") or ""), scope, self.evaluate)
        elif component.type == "image":
            node.image = display.image(component, scope, self.evaluate)
        elif component.type == "iframe":
            node.link = display.external_link(component, scope, self.evaluate, node.label)
        elif component.type == "table":
            node.table = display.table(component, scope, self.evaluate, self.locale)
        elif component.type == "documentPreview":
            node.links = display.documents(component, scope, self.evaluate)
        elif component.type == "button":
            node.button_action = "reset" if spec.get("action") == "reset" else "submit"
            node.label = node.label or label(node.button_action, self.locale)


def _css(component: Field) -> str:
    columns = component.layout.columns
    return f"col-{columns}" if columns else "col-auto"


def _option_views(options: list[Option], value: Any, element_id: str) -> list[OptionView]:
    chosen = set(value) if isinstance(value, list) else {value}
    views = []
    for number, option in enumerate(options):
        value_token = token(option.value)
        views.append(OptionView(value_token, option.label, value_token in chosen, f"{element_id}-{number}"))
    return views


def _input_attributes(node: Node) -> None:
    component = node.component
    if component.type == "datetime":
        node.input_type = _INPUT_TYPES[component.subtype]
    elif component.type == "number":
        node.input_mode = "numeric" if component.decimal_digits == 0 else "decimal"
    elif component.type == "textfield":
        node.input_type = _TEXT_INPUT_TYPES.get(component.rules.validation_type or "", "text")
    max_length = component.rules.max_length
    node.max_length = int(max_length) if isinstance(max_length, Decimal) else None
    node.multiple = component.multiple
    node.accept = component.accept


def input_value(component: Field, value: Any) -> Any:
    """The value as an HTML input holds it."""
    if component.type == "checkbox":
        return _checked(component, value)
    if component.type == "filepicker":
        items = value if isinstance(value, list) else [] if value in (None, "") else [value]
        return [item if isinstance(item, dict) else {"name": token(item)} for item in items]
    if component.is_multi_value:
        items = value if isinstance(value, list) else [] if value in (None, "") else [value]
        return [token(item) for item in items]
    if component.type == "datetime":
        return _date_input(component.subtype, value)
    return token(value) if component.has_options else to_text(value)


def _date_input(subtype: str, value: Any) -> str:
    """ISO text the browser's date/time inputs accept: no offset, no seconds unless needed."""
    if isinstance(value, datetime | date):
        value = value.isoformat()
    text = to_text(value)
    if subtype == "date":
        return text[:10]
    if subtype == "time":
        return text[:5]
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%dT%H:%M")
    except ValueError:
        return text


def readable(component: Field, value: Any, options: list[Option] | None, locale: str) -> str:
    """The value as it reads in a record: option labels, Có/Không, 31/12/2025, 2,5."""
    if component.type == "checkbox":
        return label("yes" if _checked(component, value) else "no", locale)
    if value is None or value == "" or value == []:
        return ""
    if component.has_options:
        items = value if isinstance(value, list) else [value]
        return ", ".join(option_label(options, item) for item in items)
    if component.type == "number":
        return format_number(value, locale)
    if component.type == "filepicker":
        items = value if isinstance(value, list) else [value]
        return ", ".join(str(i.get("name", "")) if isinstance(i, dict) else to_text(i) for i in items)
    if component.type == "datetime":
        return format_date(to_text(value), component.subtype, locale)
    return to_text(value)


def _checked(component: Field, value: Any) -> bool:
    return loose_value(component, value) is True


def conditional_states(view: FormView) -> dict[str, bool]:
    """Node id -> hidden, for every component with a ``conditional.hide``: what the browser toggles."""
    states: dict[str, bool] = {}

    def walk(rows: list[list[Node]]) -> None:
        for row in rows:
            for node in row:
                if node.hide_expression:
                    states[node.id] = node.hidden
                walk(node.rows)
                for item in node.items:
                    walk(item.rows)

    walk(view.rows)
    return states
