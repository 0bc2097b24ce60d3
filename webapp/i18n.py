"""Message catalogues: the .po files are the source; .mo files are compiled when missing or stale. ``say``
puts what the engine said (a ``Phrase``) into the reader's language."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import dates
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations
from flask import Flask, current_app, g, has_app_context
from flask_babel import force_locale, get_locale, get_translations

from engine import Count, Phrase
from forms.messages import format_number

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def compile_catalogs(root: Path = TRANSLATIONS) -> None:
    for po_path in root.glob("*/LC_MESSAGES/*.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        tmp = mo_path.with_suffix(f".mo.{os.getpid()}.tmp")  # several processes may start at once
        with tmp.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        tmp.replace(mo_path)


def say(value: Any) -> str:
    """What the engine said, in the reader's language: a ``Phrase`` (or anything carrying ``template`` and
    ``params``, such as an engine error), a stored phrase (``{"template", "params"}``), a list of them, or
    plain text, which is shown as it is."""
    if isinstance(value, Mapping) and "template" in value:
        value = Phrase.from_dict(value)
    elif isinstance(value, list | tuple):
        return ", ".join(say(v) for v in value)
    elif not isinstance(value, Phrase) and hasattr(value, "template") and hasattr(value, "params"):
        value = Phrase.of(value)
    if isinstance(value, Phrase):
        return value.render(_translate, _show)
    return "" if value is None else str(value)


def say_in(locale: str, value: Any) -> str:
    """``say`` in a given language, outside of a request too (an e-mail for its recipient)."""
    with force_locale(locale):
        return say(value)


def translations() -> NullTranslations:
    """The reader's catalogue. flask_babel's own lookup names the locale again on every call (a few
    context-local lookups, about 5–10 µs, and a page of a hundred task lines asks a few hundred times): the
    catalogue found for a request is kept next to flask_babel's locale for it, and used while that locale
    stands (``force_locale``, a mail in its recipient's language, puts another in its place for a while);
    each locale's catalogue is kept on the application."""
    space = _babel_space()
    if space is not None:
        kept_here = getattr(space, "eiso_catalogue", None)
        if kept_here is not None and kept_here[0] is getattr(space, "babel_locale", None):
            return kept_here[1]
    locale = get_locale()
    if locale is None:  # outside a request or an application context
        return get_translations()
    kept: dict[tuple[str | None, ...], NullTranslations] = current_app.extensions.setdefault("eiso_catalogues", {})
    key = (locale.language, locale.territory, locale.script, locale.variant)
    found = kept.get(key)
    if found is None:
        found = kept[key] = get_translations()
    if space is not None:
        space.eiso_catalogue = (locale, found)
    return found


def _babel_space() -> Any:
    """flask_babel's namespace of the current application context (where it keeps the request's locale), or
    None: found with one context-local lookup."""
    if not has_app_context():
        return None
    return vars(g._get_current_object()).get("_flask_babel")


def gettext(string: str, **variables: Any) -> str:
    """flask_babel's ``gettext`` through ``translations``: a message in the reader's language, its
    ``%(name)s`` placeholders filled from ``variables``."""
    text = translations().ugettext(string)
    return text % variables if variables else text


def bound_gettext() -> Callable[..., str]:
    """``gettext`` bound to the reader's catalogue as it is now: for a loop that translates on each of its
    lines (the catalogue is found once, not on every call)."""
    found = translations()

    def bound(string: str, **variables: Any) -> str:
        text = found.ugettext(string)
        return text % variables if variables else text

    return bound


def install_gettext(app: Flask) -> None:
    """The templates' ``_``, ``gettext`` and ``ngettext`` through ``translations`` (installed after
    flask_babel's, which they replace)."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )


def _translate(template: str) -> str:
    return str(translations().ugettext(template)) if template else template


def _show(value: Any) -> str:
    """A plain value as the reader writes it: counts and decimals with the locale's separators (no grouping
    below 10,000); dates as on paper. Other whole numbers are ids, lines and years, written as they are."""
    if isinstance(value, Count | float | Decimal) and not isinstance(value, bool):
        return format_number(value, str(get_locale()))
    if isinstance(value, datetime):  # stored in UTC, read in Vietnam's time
        return dates.format_datetime(value, "dd/MM/yyyy HH:mm", tzinfo=LOCAL_TZ, locale=get_locale())
    if isinstance(value, date):
        return dates.format_date(value, "dd/MM/yyyy", locale=get_locale())
    return str(value)


def mail_wording(payload: Mapping[str, Any], default: str) -> tuple[str, str]:
    """A notice's mail in its recipient's language: the language they chose, else the installation's
    default (Vietnamese unless ``EISO_DEFAULT_LOCALE`` says otherwise). Needs an application context."""
    texts = payload.get("texts") or {}
    locale = payload.get("locale") if payload.get("locale") in ("vi", "en") else default
    with force_locale(str(locale)):
        title = say(texts["title"]) if texts.get("title") else str(payload.get("title") or "")
        body = "\n".join(say(line) for line in texts["body"]) if "body" in texts else str(payload.get("body") or "")
    return title, body
