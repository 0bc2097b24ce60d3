"""Display components: markdown and HTML made safe, tables, document lists, links and images.

Markdown is rendered with markdown-it-py and the result sanitised with nh3, like any HTML from a form.
``{{ placeholders }}`` are filled in *after* sanitising, HTML-escaped, so data can never inject markup
and markdown never reinterprets a value; the result is sanitised once more, because an escaped value
can still be a dangerous link address. Links and images only point to http(s), site-relative paths
or (images) ``data:image/`` URIs; an ``iframe`` component becomes a link, never an embedded page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from .feel import TEMPLATE, Scope, evaluate_expression, placeholder_value, resolve_text, source_value, to_text
from .messages import format_date, format_number
from .model import Evaluate, Expression, Field
from .paths import get_in, split_key

_MARKDOWN = MarkdownIt("commonmark", {"html": True})
_SLOT = re.compile(r"eisoslot(\d+)x")
_SAFE_LINK = re.compile(r"(https?://[^\s]+|/(?!/)[^\s]*)", re.IGNORECASE)
_SAFE_IMAGE = re.compile(r"data:image/[\w.+-]+[;,][^\s]*", re.IGNORECASE)


@dataclass(frozen=True)
class Link:
    href: str
    text: str


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[str]]


def markdown_html(text: str, scope: Scope, evaluate: Evaluate | None) -> Markup:
    return _safe_html(_source_text(text, scope, evaluate), scope, evaluate, markdown=True)


def sanitized_html(content: str, scope: Scope, evaluate: Evaluate | None) -> Markup:
    return _safe_html(_source_text(content, scope, evaluate), scope, evaluate, markdown=False)


def _source_text(text: str, scope: Scope, evaluate: Evaluate | None) -> str:
    if text.startswith("="):
        return to_text(evaluate_expression(Expression(text[1:].strip()), scope, evaluate))
    return text


def _safe_html(text: str, scope: Scope, evaluate: Evaluate | None, *, markdown: bool) -> Markup:
    slots: list[str] = []

    def park(match: re.Match[str]) -> str:
        slots.append(str(escape(to_text(placeholder_value(match.group(1), scope, evaluate)))))
        return f"eisoslot{len(slots) - 1}x"

    parked = TEMPLATE.sub(park, text)
    html = nh3.clean(_render_markdown(parked) if markdown else parked)
    # Sanitise again once the values are in: an escaped value can still be a dangerous link address
    # (``[open]({{url}})`` with url = ``javascript:…``), which only an HTML-aware cleaner removes.
    filled = nh3.clean(_SLOT.sub(lambda match: slots[int(match.group(1))], html))
    return Markup(filled)  # noqa: S704 - sanitised just above


def _render_markdown(text: str) -> str:
    """Markdown as HTML, its headings moved to sit under the page's own ``h1``: the highest becomes ``h2``
    and the others keep their distance to it, so a form's ``### Title`` skips no level (screen readers
    navigate by headings)."""
    tokens = _MARKDOWN.parse(text)
    levels = [int(t.tag[1]) for t in tokens if t.type in ("heading_open", "heading_close")]
    if levels:
        shift = min(levels) - 2
        for token in tokens:
            if token.type in ("heading_open", "heading_close"):
                token.tag = f"h{min(6, int(token.tag[1]) - shift)}"
    return str(_MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {}))


def safe_link(url: str) -> str | None:
    url = url.strip()
    return url if _SAFE_LINK.fullmatch(url) else None


def safe_image(url: str) -> str | None:
    url = url.strip()
    return url if _SAFE_IMAGE.fullmatch(url) else safe_link(url)


def image(field: Field, scope: Scope, evaluate: Evaluate | None) -> Link:
    """The image's source (empty when unsafe or missing) and its alternative text."""
    source = safe_image(resolve_text(field.spec.get("source"), scope, evaluate)) or ""
    return Link(source, resolve_text(field.spec.get("alt"), scope, evaluate))


def external_link(field: Field, scope: Scope, evaluate: Evaluate | None, label: str) -> Link | None:
    href = safe_link(resolve_text(field.spec.get("url"), scope, evaluate))
    return Link(href, label or href) if href else None


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$")


def table(field: Field, scope: Scope, evaluate: Evaluate | None, locale: str = "vi") -> Table:
    """A table from ``dataSource`` and ``columns`` (or ``columnsExpression``); all rows, no paging. Dates
    read as on paper (``31/12/2027``), numbers as people write them."""
    columns = _columns(field, scope, evaluate)
    rows = source_value(field.spec.get("dataSource"), scope, evaluate)
    records = [row for row in rows if isinstance(row, Mapping)] if isinstance(rows, list) else []
    cells = [[_cell(get_in(record, split_key(key)), locale) for _, key in columns] for record in records]
    return Table([title for title, _ in columns], cells)


def _cell(value: Any, locale: str) -> str:
    if isinstance(value, str) and _ISO_DATE.match(value):
        return format_date(value, "datetime" if "T" in value else "date", locale)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(value, locale)
    return to_text(value)


def _columns(field: Field, scope: Scope, evaluate: Evaluate | None) -> list[tuple[str, str]]:
    columns = field.spec.get("columns")
    if columns is None:
        columns = source_value(field.spec.get("columnsExpression"), scope, evaluate)
    if not isinstance(columns, list):
        return []
    found = [column for column in columns if isinstance(column, Mapping) and isinstance(column.get("key"), str)]
    return [(str(column.get("label") or column["key"]), column["key"]) for column in found]


def documents(field: Field, scope: Scope, evaluate: Evaluate | None) -> list[Link]:
    """Links to the documents of a ``documentPreview``: form-js references or ``{name, url}`` items."""
    items = source_value(field.spec.get("dataSource"), scope, evaluate)
    if isinstance(items, Mapping):
        items = [items]
    links = (_document(item) for item in items) if isinstance(items, list) else ()
    return [link for link in links if link is not None]


def _document(item: Any) -> Link | None:
    if not isinstance(item, Mapping):
        return None
    metadata = item.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    href = safe_link(str(item.get("url") or item.get("endpoint") or ""))
    name = item.get("name") or item.get("title") or metadata.get("fileName") or item.get("documentId")
    if href is None and not name:
        return None
    return Link(href or "", str(name or href))
