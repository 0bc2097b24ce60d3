"""A loaded form and everything the web app and the API do with it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from . import rows, submission, summary
from .initial import initial_values
from .model import Evaluate, Field, FileLike, FormSchemaError, Result
from .post import Post
from .view import FormView, build_view, conditional_states
from .words import Words


@dataclass
class Form:
    fields: list[Field]
    """The component tree: groups and dynamic lists hold their children."""
    id: str | None = None
    """The form-js ``id`` (what a Camunda 8 ``formId`` points at); None for generated forms."""

    def __post_init__(self) -> None:
        _check_unique_keys(self.fields, (), {})

    def walk(self) -> Iterator[Field]:
        for component in self.fields:
            yield from component.walk()

    @property
    def has_files(self) -> bool:
        """The HTML form must be posted as ``multipart/form-data``."""
        return any(component.type == "filepicker" for component in self.walk())

    @property
    def has_submit_button(self) -> bool:
        """The form draws its own submit button; otherwise the page adds one."""
        return any(c.type == "button" and c.spec.get("action", "submit") == "submit" for c in self.walk())

    def input_keys(self) -> set[str]:
        """Top-level data keys the form can write (every bound component, readonly ones included)."""
        return set(_top_keys(self.fields))

    def initial_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return initial_values(self.fields, data)

    def validate_post(
        self,
        post: Post,
        data: Mapping[str, Any],
        *,
        evaluate: Evaluate | None = None,
        locale: str = "vi",
        files: Mapping[str, Sequence[FileLike]] | None = None,
        today: date | None = None,
    ) -> Result:
        """Validate an HTML post (input name -> list of strings). ``files``: input name -> uploads."""
        settings = submission.ValidationOptions(evaluate, locale, today or date.today(), files or {})
        return submission.validate_post(self.fields, post, data, settings)

    def validate_json(
        self,
        variables: Mapping[str, Any],
        data: Mapping[str, Any],
        *,
        evaluate: Evaluate | None = None,
        locale: str = "vi",
        today: date | None = None,
    ) -> Result:
        """Validate a JSON body shaped like ``Result.values``; left-out keys keep their stored values."""
        settings = submission.ValidationOptions(evaluate, locale, today or date.today(), None)
        return submission.validate_json(self.fields, variables, data, settings)

    def apply_action(self, post: Post, data: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """If a row button ("Thêm dòng"/"Xóa") was pressed: the raw values with the row added or removed,
        to render again without completing the task. None for an ordinary submit. See ``forms.rows``."""
        return rows.apply_action(self.fields, post, data or {})

    def conditions(
        self, post: Post, data: Mapping[str, Any], *, evaluate: Evaluate | None = None, locale: str = "vi"
    ) -> dict[str, bool]:
        """For a form being filled in: which conditional components are hidden by what is typed so far."""
        raw = self.validate_post(post, data, evaluate=evaluate, locale=locale).raw
        return conditional_states(self.view(raw, {}, locale=locale, data=data, evaluate=evaluate))

    def describe(
        self,
        values: Mapping[str, Any],
        data: Mapping[str, Any] | None = None,
        *,
        locale: str = "vi",
        evaluate: Evaluate | None = None,
    ) -> list[summary.Entry]:
        """What ``values`` say as label → value pairs, read as on the form (``forms.summary``)."""
        return summary.describe(self.fields, values, data, locale=locale, evaluate=evaluate)

    def view(
        self,
        values: Mapping[str, Any],
        errors: Mapping[str, str],
        *,
        readonly: bool = False,
        locale: str = "vi",
        data: Mapping[str, Any] | None = None,
        evaluate: Evaluate | None = None,
    ) -> FormView:
        """What the ``render_form`` macro draws: every component resolved for these values and errors."""
        return build_view(self.fields, values, errors, readonly=readonly, locale=locale, data=data, evaluate=evaluate)


def _top_keys(fields: list[Field]) -> Iterator[str]:
    for component in fields:
        if component.is_container and component.container_path:
            yield component.container_path[0]
        elif component.is_container:
            yield from _top_keys(component.children)
        elif component.is_bound:
            yield component.key_path[0]


def _check_unique_keys(fields: list[Field], prefix: tuple[str, ...], seen: dict[tuple[str, ...], Field]) -> None:
    """Two components bound to the same value would overwrite each other: refuse the form."""
    for component in fields:
        if component.is_list:
            path = prefix + component.container_path
            _claim(component, path, seen)
            _check_unique_keys(component.children, (*path, "[]"), seen)
        elif component.is_container:
            _check_unique_keys(component.children, prefix + component.container_path, seen)
        elif component.is_bound:
            _claim(component, prefix + component.key_path, seen)


def _claim(component: Field, path: tuple[str, ...], seen: dict[tuple[str, ...], Field]) -> None:
    owner = seen.setdefault(path, component)
    if owner is not component:
        dotted = ".".join(path).replace(".[]", "[]")
        raise FormSchemaError(Words("binds '%(path)s', which component '%(owner)s' already binds; give each one its "
                                    "own key.", path=dotted, owner=owner.id), Words("'%(id)s'", id=component.id))
