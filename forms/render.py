"""Rendering a form to HTML with plain Jinja2, no Flask needed.

The web app adds ``forms/templates`` (``TEMPLATES``) to its own Jinja loader and imports the macro
itself: ``{% from "forms/macros.html" import render_form %}``. Outside a Flask app (tests, the API's
HTML previews, printing) ``render_form_html`` does the same with its own environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from .form import Form
from .model import Evaluate

TEMPLATES = Path(__file__).parent / "templates"
MACROS = "forms/macros.html"


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True)


def render_form_html(
    form: Form,
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    *,
    readonly: bool = False,
    locale: str = "vi",
    evaluate: Evaluate | None = None,
    data: Mapping[str, Any] | None = None,
) -> Markup:
    """The fields of ``form`` as HTML (without the ``<form>`` element); see the macro's header."""
    render_form = getattr(environment().get_template(MACROS).module, "render_form")  # noqa: B009
    html = render_form(form, values, errors, readonly=readonly, locale=locale, data=data, evaluate=evaluate)
    return Markup(html)  # noqa: S704 - the macro escapes everything it outputs
