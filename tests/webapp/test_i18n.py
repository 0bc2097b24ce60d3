"""The Vietnamese catalogue is complete and keeps every placeholder of its English sentence."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po
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
