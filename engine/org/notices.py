"""Inbox notices: the one place that writes them, and the inbox's reads.

``notify`` writes a ``Notice`` for each person and, in the same transaction, an outbox message on the
``email`` channel for each one who has an address: the mail is a copy of the notice and exists exactly
when the notice does. Its payload is what ``connectors/email/contract.py`` reads:

``{"notice_id", "to", "to_name", "title", "body", "link"}`` (``link`` relative to the public address)

The idempotency key ``notice-<id>`` becomes the mail's Message-ID. A copy that could not go out within
``MAIL_MAX_AGE`` expires: the notice is still in the inbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.org.models import Notice, User
from engine.org.people import users_with_role
from engine.outbox import OutboxMessage, enqueue

EMAIL = "email"
MAIL_MAX_AGE = timedelta(days=3)
DELIVERY_FAILED = "delivery_failed"


def notify(session: Session, users: Iterable[User], *, unit_id: int, kind: str, title: str, body: str = "",
           link: str = "", now: datetime, instance_id: int | None = None,
           email: bool = True) -> list[Notice]:  # fmt: skip
    """Give each person (once) a notice, and queue its mail copy unless ``email`` is False."""
    people = list({u.id: u for u in users}.values())
    notices = [Notice(user_id=u.id, unit_id=unit_id, instance_id=instance_id, kind=kind, title=title, body=body,
                      link=link, created_at=now) for u in people]  # fmt: skip
    session.add_all(notices)
    session.flush()  # the ids make the mails' idempotency keys
    for notice, user in zip(notices, people, strict=True):
        if email and user.email and user.is_active:
            enqueue(session, unit_id=unit_id, channel=EMAIL, key=f"notice-{notice.id}", now=now,
                    payload=_mail_payload(notice, user), expires_at=now + MAIL_MAX_AGE)  # fmt: skip
    return notices


def _mail_payload(notice: Notice, user: User) -> dict[str, object]:
    return {"notice_id": notice.id, "to": user.email, "to_name": user.full_name, "title": notice.title,
            "body": notice.body, "link": notice.link}  # fmt: skip


def report_failed_delivery(session: Session, message_id: int, now: datetime) -> list[Notice]:
    """Tell the administrators of the message's unit that it could not be delivered (in the caller's
    transaction). A failed mail is never reported by mail, so a broken mail server cannot feed itself."""
    message = session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None:
        return []
    admins = users_with_role(session, message.unit_id, "admin")
    about = [f"{name}: {message.payload[name]}" for name in ("to", "title") if message.payload.get(name)]
    return notify(session, admins, unit_id=message.unit_id, kind=DELIVERY_FAILED,
                  title=f"Không gửi được tin đi ({message.channel}): {message.idempotency_key}",
                  body="\n".join([*about, message.last_error]), link="/admin/outbox", now=now,
                  email=message.channel != EMAIL)  # fmt: skip


def notices(session: Session, user: User, limit: int = 50) -> list[Notice]:
    stmt = select(Notice).where(Notice.user_id == user.id).order_by(Notice.created_at.desc(), Notice.id.desc())
    return list(session.scalars(stmt.limit(limit)))


def mark_notice_read(session: Session, notice_id: int, user: User, now: datetime) -> Notice:
    """Mark one of the user's own notices read; anyone else's is NotFound, as if it did not exist."""
    notice = session.get(Notice, notice_id)
    if notice is None or notice.user_id != user.id:
        raise NotFound("Notice %(id)s does not exist.", id=notice_id)
    if notice.read_at is None:
        notice.read_at = now
        session.commit()
    return notice
