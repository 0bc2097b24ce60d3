"""The Vietnamese catalogue is complete and keeps every placeholder of its English sentence."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po
from flask import Flask, g, render_template_string
from flask.testing import FlaskClient

from webapp.i18n import TRANSLATIONS

PLACEHOLDER = re.compile(r"%\(\w+\)s")


def test_every_message_has_a_vietnamese_translation_with_the_same_placeholders() -> None:
    with (TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    messages = [m for m in catalog if m.id]
    assert len(messages) > 100
    missing = [m.id for m in messages if not m.string]
    assert missing == []
    def names(text: object) -> list[str]:
        return sorted(PLACEHOLDER.findall(str(text)))

    wrong = [m.id for m in messages if names(m.id) != names(m.string)]
    assert wrong == []


def test_error_pages_speak_vietnamese_even_when_the_code_gave_no_sentence(client: FlaskClient) -> None:
    page = client.get("/no-such-page").get_data(as_text=True)
    assert "Không có nội dung tại địa chỉ này" in page and "The requested URL" not in page
    english = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert english.status_code == 404


def test_a_language_forced_for_a_while_is_spoken_then_the_readers_again(app: Flask) -> None:
    """The catalogue is kept per language: an official form forced into Vietnamese (or a mail in its
    recipient's language) inside a reader's English page, and the reader's language after it."""
    from flask_babel import force_locale

    from webapp.i18n import gettext

    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        g.default_locale = "en"
        assert gettext("%(n)s working days left", n=2) == "2 working days left"
        with force_locale("vi"):
            assert gettext("%(n)s working days left", n=2) == "Còn 2 ngày làm việc"
            assert render_template_string("{{ _('Overdue') }}") not in ("", "Overdue")
        assert gettext("%(n)s working days left", n=3) == "3 working days left"
        assert render_template_string("{{ _('Overdue') }}") == "Overdue"
