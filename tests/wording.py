"""What a person reading Vietnamese sees of a notice, read from the catalogue as the web pages read it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

from engine import Phrase
from engine.org.models import Notice

CATALOGUE = Path(__file__).parent.parent / "webapp" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"


@cache
def _vietnamese() -> dict[str, str]:
    with CATALOGUE.open("rb") as po:
        return {str(m.id): str(m.string) for m in read_po(po) if m.id and m.string}


def in_vietnamese(phrase: Phrase | dict[str, object]) -> str:
    phrase = phrase if isinstance(phrase, Phrase) else Phrase.from_dict(phrase)
    words = _vietnamese()
    return phrase.render(lambda template: words.get(template) or template)


def title_vi(notice: Notice) -> str:
    """The notice's title as a Vietnamese reader sees it."""
    return in_vietnamese(notice.texts["title"]) if notice.texts.get("title") else notice.title


def body_vi(notice: Notice) -> str:
    return "\n".join(in_vietnamese(line) for line in notice.texts.get("body") or []) or notice.body
