"""Server-side validation: one pipeline for HTML posts and JSON bodies.

1. The raw tree. A post is read by ``forms.post``; a JSON body is laid over the initial values, so a
   key the client leaves out keeps its stored (or default) value, as if a person had submitted the
   form without touching that field.
2. The variables for conditions and expressions: the data, overlaid with the submission typed as far
   as it parses. A field shown by the user's own choice in this submission is therefore validated.
3. Every visible component is cleaned. Readonly and disabled fields keep the stored value (or their
   default) and ignore the submission. Hidden components and everything inside hidden containers
   produce neither values nor errors; display components never produce values. Expression fields
   are computed with the evaluator (None without one).

Files arrive separately: ``uploads`` maps an input name to the uploaded files; the value returned for
a filepicker is the list of file names, and the key is absent when nothing was uploaded (the stored
value stays). In a JSON body a filepicker's value is a list of names or references, checked the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .checks import CheckContext, choose, clean
from .feel import Scope, evaluate_expression, is_hidden, is_locked
from .files import FileInfo, file_problem, uploaded
from .initial import initial_values
from .messages import Refusal, message
from .model import Evaluate, Field, Result
from .options import resolve_options
from .parsing import InvalidInput, loose_value
from .paths import Path, deep_merge, get_in, has_in, input_name, set_in
from .post import Post, collect_post

Uploads = Mapping[str, Sequence[Any]]


@dataclass(frozen=True)
class ValidationOptions:
    evaluate: Evaluate | None
    locale: str
    today: date
    uploads: Uploads | None
    """None for JSON, where files are already references inside the body."""


def validate_post(fields: list[Field], post: Post, data: Mapping[str, Any], options: ValidationOptions) -> Result:
    return validate_raw(fields, collect_post(fields, post, data), data, options)


def validate_json(
    fields: list[Field], variables: Mapping[str, Any], data: Mapping[str, Any], options: ValidationOptions
) -> Result:
    raw = deep_merge(initial_values(fields, data), variables)
    return validate_raw(fields, raw, data, options)


def validate_raw(
    fields: list[Field], raw: dict[str, Any], data: Mapping[str, Any], options: ValidationOptions
) -> Result:
    scope = Scope(deep_merge(data, typed_preview(fields, raw, data)))
    run = _Validation(raw, data, options)
    run.components(fields, (), scope)
    return Result(values=run.values, errors=run.errors, raw=raw)


def typed_preview(fields: list[Field], raw: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """The submission typed as far as it parses (unparseable input stays as entered), for conditions.

    Fields that are always readonly or disabled count with their stored value: a user must not steer
    conditions (a ``readonly`` expression among them) through a field they may not change.
    """
    typed: dict[str, Any] = {}
    _preview(fields, raw, data, (), typed)
    return typed


def _preview(
    fields: list[Field], raw: Mapping[str, Any], data: Mapping[str, Any], prefix: Path, typed: dict[str, Any]
) -> None:
    for component in fields:
        if component.is_list:
            _preview_rows(component, raw, data, prefix + component.container_path, typed)
        elif component.is_container:
            _preview(component.children, raw, data, prefix + component.container_path, typed)
        elif component.is_input:
            _preview_value(component, raw, data, prefix + component.key_path, typed)


def _preview_rows(
    component: Field, raw: Mapping[str, Any], data: Mapping[str, Any], path: Path, typed: dict[str, Any]
) -> None:
    rows = get_in(raw, path)
    if not isinstance(rows, list):
        return
    set_in(typed, path, [{} for _ in rows])
    for index in range(len(rows)):
        _preview(component.children, raw, data, (*path, index), typed)


def _preview_value(
    component: Field, raw: Mapping[str, Any], data: Mapping[str, Any], path: Path, typed: dict[str, Any]
) -> None:
    if component.always_locked and has_in(data, path):
        set_in(typed, path, get_in(data, path))
    elif has_in(raw, path):
        value = loose_value(component, get_in(raw, path))
        set_in(typed, path, _option_value(component, value, data) if component.values_key else value)


def _option_value(component: Field, value: Any, data: Mapping[str, Any]) -> Any:
    """Options from data may be numbers: a condition should see ``2025``, not the posted ``"2025"``."""
    options = resolve_options(component, data, Scope(data), None)
    try:
        return choose(component, value, options)
    except InvalidInput:
        return value


@dataclass
class _Validation:
    raw: Mapping[str, Any]
    data: Mapping[str, Any]
    options: ValidationOptions
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def components(self, fields: list[Field], prefix: Path, scope: Scope) -> None:
        for component in fields:
            if not is_hidden(component, scope, self.options.evaluate):
                self.component(component, prefix, scope)

    def component(self, component: Field, prefix: Path, scope: Scope) -> None:
        if component.is_list:
            self.rows(component, prefix + component.container_path, scope)
        elif component.is_container:
            self.components(component.children, prefix + component.container_path, scope)
        elif component.type == "expression":
            result = evaluate_expression(component.expression, scope, self.options.evaluate)
            set_in(self.values, prefix + component.key_path, result)
        elif component.type == "filepicker":
            self.files(component, prefix + component.key_path, scope)
        elif component.is_input:
            self.input(component, prefix + component.key_path, scope)

    def rows(self, component: Field, path: Path, scope: Scope) -> None:
        rows = get_in(self.raw, path, [])
        if not isinstance(rows, list):
            self.fail(path, Refusal("list"))
            return
        set_in(self.values, path, [{} for _ in rows])
        for index, row in enumerate(rows):
            if not isinstance(row, Mapping):
                self.fail((*path, index), Refusal("row"))
                continue
            row_scope = scope.row(get_in(scope.root, (*path, index)), index)
            self.components(component.children, (*path, index), row_scope)

    def input(self, component: Field, path: Path, scope: Scope) -> None:
        if is_locked(component, scope, self.options.evaluate):
            self.keep_stored(component, path)
            return
        choices = None
        if component.has_options:
            choices = resolve_options(component, self.data, scope, self.options.evaluate)
        context = CheckContext(scope, self.options.evaluate, self.options.today, choices)
        try:
            set_in(self.values, path, clean(component, get_in(self.raw, path), context))
        except InvalidInput as refused:
            self.fail(path, refused.problem)

    def keep_stored(self, component: Field, path: Path) -> None:
        if has_in(self.data, path):
            set_in(self.values, path, get_in(self.data, path))
        elif component.default is not None:
            set_in(self.values, path, component.default)

    def files(self, component: Field, path: Path, scope: Scope) -> None:
        if is_locked(component, scope, self.options.evaluate):
            self.keep_stored(component, path)
            return
        chosen = self.chosen_files(path)
        if chosen is None:
            self.fail(path, Refusal("list"))
        elif not chosen:
            if component.rules.required and (self.options.uploads is None or not get_in(self.data, path)):
                self.fail(path, Refusal("required"))
        elif problem := file_problem(component, chosen):
            self.fail(path, problem)
        else:
            set_in(self.values, path, [file.name for file in chosen])

    def chosen_files(self, path: Path) -> list[FileInfo] | None:
        if self.options.uploads is not None:
            return uploaded(self.options.uploads.get(input_name(path), []))
        value = get_in(self.raw, path)
        items = [] if value is None else [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            return None
        return uploaded(items)

    def fail(self, path: Path, problem: Refusal) -> None:
        self.errors[input_name(path)] = message(problem, self.options.locale)
