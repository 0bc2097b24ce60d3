"""Inbox notices: the one place that writes them, and the inbox's reads.

``notify`` writes a ``Notice`` for each person and, in the same transaction, an outbox message on the
``email`` channel for each one who has an address: the mail is a copy of the notice and exists exactly
when the notice does. Its payload is what ``connectors/email/contract.py`` reads:

``{"notice_id", "to", "to_name", "title", "body", "link", "texts", "locale"}`` (``link`` relative to the
public address)

A notice's title and body are phrases (``engine.errors.Phrase``), kept in ``texts``: the inbox shows them
in the reader's language, the mail in the recipient's (``locale``: the language the person chose, None for
the installation's default). ``title`` and ``body`` hold the English text. Plain strings in a body are what
people wrote (names, summaries, reasons) and are shown as written.

The idempotency key ``notice-<id>`` becomes the mail's Message-ID. A copy that could not go out within
``MAIL_MAX_AGE`` expires: the notice is still in the inbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, literal, select, tuple_
from sqlalchemy.orm import Session

from engine.errors import NotFound, Phrase
from engine.org.models import Notice, User
from engine.org.people import users_with_role
from engine.outbox import OutboxMessage, enqueue

EMAIL = "email"
MAIL_MAX_AGE = timedelta(days=3)
DELIVERY_FAILED = "delivery_failed"


Lines = Phrase | str | Sequence[Phrase | str]
"""A notice's body: a phrase, what a person wrote (a str, shown as written), or lines of either."""


def notify(session: Session, users: Iterable[User], *, unit_id: int, kind: str, title: Phrase | str,
           body: Lines = "", link: str = "", now: datetime, instance_id: int | None = None,
           email: bool = True) -> list[Notice]:  # fmt: skip
    """Give each person (once) a notice, and queue its mail copy unless ``email`` is False. What eISO says is
    a ``Phrase`` (a plain string is shown as written, in every language)."""
    people = list({u.id: u for u in users}.values())
    title = Phrase.of(title)
    lines = [Phrase.of(line) for line in ([body] if isinstance(body, Phrase | str) else body) if line]
    texts = {"title": title.as_dict(), "body": [line.as_dict() for line in lines]}
    english = str(title)[:300], "\n".join(map(str, lines))  # what the tables hold; readers see ``texts``
    notices = [Notice(user_id=u.id, unit_id=unit_id, instance_id=instance_id, kind=kind, title=english[0],
                      body=english[1], texts=texts, link=link, created_at=now) for u in people]  # fmt: skip
    session.add_all(notices)
    session.flush()  # the ids make the mails' idempotency keys
    for notice, user in zip(notices, people, strict=True):
        if email and user.email and user.is_active:
            enqueue(session, unit_id=unit_id, channel=EMAIL, key=f"notice-{notice.id}", now=now,
                    payload=_mail_payload(notice, user), expires_at=now + MAIL_MAX_AGE)  # fmt: skip
    return notices


def _mail_payload(notice: Notice, user: User) -> dict[str, Any]:
    return {"notice_id": notice.id, "to": user.email, "to_name": user.full_name, "title": notice.title,
            "body": notice.body, "link": notice.link, "texts": notice.texts, "locale": user.locale}  # fmt: skip


def report_failed_delivery(session: Session, message_id: int, now: datetime) -> list[Notice]:
    """Tell the administrators of the message's unit that it could not be delivered (in the caller's
    transaction). A failed mail is never reported by mail, so a broken mail server cannot feed itself."""
    message = session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None:
        return []
    admins = users_with_role(session, message.unit_id, "admin")
    about: list[Phrase | str] = []
    if message.payload.get("to"):
        about.append(Phrase("To: %(to)s", to=str(message.payload["to"])))
    if message.payload.get("title"):
        about.append(Phrase("Title: %(title)s", title=_payload_title(message.payload)))
    return notify(session, admins, unit_id=message.unit_id, kind=DELIVERY_FAILED,
                  title=Phrase("A message could not be delivered (%(channel)s): %(key)s", channel=message.channel,
                               key=message.idempotency_key),
                  body=[*about, message.last_error], link="/admin/outbox", now=now,
                  email=message.channel != EMAIL)  # fmt: skip


def _payload_title(payload: dict[str, Any]) -> Phrase | str:
    """The title of the message that failed: its phrase when it carries one (a notice's mail)."""
    texts = payload.get("texts")
    if isinstance(texts, dict) and isinstance(texts.get("title"), dict):
        return Phrase.from_dict(texts["title"])
    return str(payload["title"])


def notices(session: Session, user: User, limit: int = 50) -> list[Notice]:
    return list(session.scalars(notices_query(user, limit)))


def notices_query(user: User, limit: int = 50) -> Select[Notice]:
    """The person's newest notices (served by ``ix_notices_user_created``)."""
    newest = (Notice.created_at.desc(), Notice.id.desc())
    return select(Notice).where(Notice.user_id == user.id).order_by(*newest).limit(limit)


def notice_page_query(user: User, after: tuple[datetime, int] | None = None, limit: int = 50) -> Select[Notice]:
    """One page of the person's notices, newest first, the id breaking ties, after the notice whose
    (``created_at``, ``id``) is ``after``; one more than ``limit`` to tell whether a next page follows.
    ``ix_notices_user_created`` serves the filter, the order and the page boundary alike."""
    stmt = select(Notice).where(Notice.user_id == user.id)
    if after is not None:
        stmt = stmt.where(tuple_(Notice.created_at, Notice.id) < tuple_(literal(after[0], Notice.created_at.type),
                                                                         literal(after[1], Notice.id.type)))
    return stmt.order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit + 1)


def notice_page(session: Session, user: User, after: tuple[datetime, int] | None = None,
                limit: int = 50) -> tuple[list[Notice], tuple[datetime, int] | None]:  # fmt: skip
    """The notices of one page and the key to give back as ``after`` for the next (None: the last page)."""
    rows = list(session.scalars(notice_page_query(user, after, limit)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].created_at, rows[-1].id) if more else None


def mark_notice_read(session: Session, notice_id: int, user: User, now: datetime) -> Notice:
    """Mark one of the user's own notices read; anyone else's is NotFound, as if it did not exist."""
    notice = session.get(Notice, notice_id)
    if notice is None or notice.user_id != user.id:
        raise NotFound("Notice %(id)s does not exist.", id=notice_id)
    if notice.read_at is None:
        notice.read_at = now
        session.commit()
    return notice
