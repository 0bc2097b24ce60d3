"""Forms: form definitions -> field model; initial values; server-side validation; HTML rendering.

Pure Python: nothing here imports Flask, the engine or the web app. FEEL (conditions, option and
value expressions, ``{{ }}`` templates, table data) is evaluated by a callable the caller injects:
``evaluate(expression_without_leading_equals, variables) -> value``.

Typical use by the web app::

    form = load_form_js(json.loads(source))          # FormSchemaError at deploy time if not understood
    html = render_form_html(form, form.initial_values(data), {}, data=data, evaluate=feel)
    ...
    post = request.form.to_dict(flat=False)
    raw = form.apply_action(post, data)              # "Thêm dòng"/"Xóa" pressed: re-render with raw
    if raw is None:
        result = form.validate_post(post, data, files=request.files.to_dict(flat=False), evaluate=feel)
        if result.ok: complete(result.values) else: render with result.raw and result.errors

Input names (``forms.paths``): ``title``, ``address.city`` (dot-path keys and group paths),
``objectives[0].objective`` (dynamic-list rows), ``_rows:objectives`` (hidden row count),
``_form_action`` = ``submit`` | ``add:objectives`` | ``remove:objectives[0]`` (``forms.rows``).
"""

from .camunda7 import load_generated_form
from .form import Form
from .form_js import load_form_js
from .model import Evaluate, Field, FileLike, FormSchemaError, Option, Result
from .paths import get_in, parse_input_name, set_in
from .render import render_form_html
from .rows import ACTION_FIELD
from .summary import Entry, identifiers, names_read

__all__ = [
    "get_in",
    "parse_input_name",
    "set_in",
    "ACTION_FIELD",
    "Entry",
    "identifiers",
    "names_read",
    "Evaluate",
    "Field",
    "FileLike",
    "Form",
    "FormSchemaError",
    "Option",
    "Result",
    "load_form_js",
    "load_generated_form",
    "render_form_html",
]
