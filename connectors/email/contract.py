"""What an ``email`` outbox message holds, and the mail made of it.

The engine writes the payload when it writes a notice (``engine/org/notices.py``)::

    {"notice_id": 12, "to": "thuky@…", "to_name": "Lê Thị Mai Anh", "title": "…", "body": "…",
     "link": "/tasks/…", "texts": {"title": {…}, "body": [{…}]}, "locale": "vi"}

``NoticeMail.from_payload`` checks it (a payload that does not fit can never be sent: a permanent
error) and words it in the recipient's language with the ``Wording`` it is given (the web layer's
catalogues: ``texts`` are the notice's phrases, ``locale`` the recipient's language, None for the
installation's default); without one, or for a payload without ``texts``, ``title`` and ``body`` are sent
as they are. ``to_message`` makes the mail. Its Message-ID is derived from the outbox message's idempotency
key and the public address of this installation, so every attempt at one message carries the same
Message-ID and a receiver can drop a duplicate left by a crash between sending and marking.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any
from urllib.parse import urlsplit

from connectors.errors import TransportError

_ATOM = re.compile(r"[A-Za-z0-9._-]{1,64}")

Wording = Callable[[dict[str, Any]], tuple[str, str]]
"""A payload's title and body in its recipient's language."""


@dataclass(frozen=True)
class NoticeMail:
    to: str
    to_name: str
    title: str
    body: str
    link: str

    @classmethod
    def from_payload(cls, payload: dict[str, Any], wording: Wording | None = None) -> NoticeMail:
        to = payload.get("to")
        if not isinstance(to, str) or "@" not in to or any(c in to for c in "\r\n<>,"):
            raise TransportError(f"no valid address to mail to: {to!r}", permanent=True)
        text = {k: payload.get(k) or "" for k in ("to_name", "title", "body", "link")}
        if not all(isinstance(v, str) for v in text.values()):
            raise TransportError(f"the mail's texts must be strings: {text!r}", permanent=True)
        if wording is not None and isinstance(payload.get("texts"), dict):
            text["title"], text["body"] = wording(payload)
        return cls(to=to, **text)


def message_id(key: str, base_url: str, sender: str) -> str:
    """``<key@host>`` with the host of the public address (one installation's keys never meet another's)."""
    host = urlsplit(base_url).hostname or sender.rpartition("@")[2] or "eiso.invalid"
    local = key if _ATOM.fullmatch(key) else hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"<{local}@{host}>"


def to_message(mail: NoticeMail, *, key: str, sender: str, base_url: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((mail.to_name, mail.to)) if mail.to_name else mail.to
    message["Subject"] = f"[eISO] {mail.title}"
    message["Message-ID"] = message_id(key, base_url, sender)
    message["Date"] = formatdate(usegmt=True)
    link = f"{base_url.rstrip('/')}{mail.link}" if mail.link.startswith("/") else base_url
    message.set_content(f"{mail.title}\n\n{mail.body}\n\n{link}\n".replace("\n\n\n\n", "\n\n"))
    return message
