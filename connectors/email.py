"""E-mail delivery of inbox notices over SMTP (the inbox notice is always there; mail is a copy).

Configured by ``EISO_SMTP_URL`` (``smtp://user:password@host:587`` with STARTTLS, ``smtps://…:465``
with TLS from the start, ``smtp+plain://host:25`` for a local relay without TLS) and ``EISO_MAIL_FROM``.
Each notice is claimed with a conditional UPDATE before it is sent, so two workers never send the same
mail; a temporary failure gives the notice back for a later sweep, a permanent one (5xx, no such
mailbox) stops trying. At most ``MAX_ATTEMPTS`` tries; notices older than ``MAX_AGE`` are not mailed.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import Notice, User, claim

MAX_ATTEMPTS = 5
MAX_AGE = timedelta(days=3)
TIMEOUT = 20


class MailSettingsError(ValueError):
    pass


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    security: str = "starttls"  # starttls | tls | none

    @classmethod
    def from_url(cls, url: str, sender: str) -> SmtpSettings:
        parts = urlsplit(url)
        security = {"smtp": "starttls", "smtps": "tls", "smtp+plain": "none"}.get(parts.scheme)
        if security is None or not parts.hostname:
            raise MailSettingsError(f"EISO_SMTP_URL must look like smtp://user:password@host:587, not '{url}'.")
        if not sender or "@" not in sender:
            raise MailSettingsError("Set EISO_MAIL_FROM to the sender address, e.g. eiso@skhcn.daklak.gov.vn.")
        default_port = {"starttls": 587, "tls": 465, "none": 25}[security]
        return cls(parts.hostname, parts.port or default_port, sender, unquote(parts.username or ""),
                   unquote(parts.password or ""), security)  # fmt: skip


@dataclass
class Delivery:
    sent: int = 0
    retry: int = 0
    failed: int = 0


class TransportError(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def _message(settings: SmtpSettings, notice: Notice, user: User, base_url: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = user.email
    message["Subject"] = f"[eISO] {notice.title}"
    link = f"{base_url.rstrip('/')}{notice.link}" if notice.link else base_url
    message.set_content(f"{notice.title}\n\n{notice.body}\n\n{link}\n")
    return message


def send(settings: SmtpSettings, message: EmailMessage) -> None:
    try:
        if settings.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=TIMEOUT,
                                                    context=ssl.create_default_context())  # fmt: skip
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT)
        with client:
            if settings.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.username:
                client.login(settings.username, settings.password)
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise TransportError(f"recipient refused: {exc.recipients}", permanent=True)
    except smtplib.SMTPResponseException as exc:
        raise TransportError(f"{exc.smtp_code} {exc.smtp_error!r}", permanent=500 <= exc.smtp_code < 600)
    except (OSError, smtplib.SMTPException) as exc:
        raise TransportError(str(exc) or exc.__class__.__name__, permanent=False)


def _claim(session: Session, notice_id: int, now: datetime) -> bool:
    claimed = claim(session, Notice, notice_id, Notice.emailed_at.is_(None), emailed_at=now)
    session.commit()
    return claimed


def deliver_notices(session: Session, settings: SmtpSettings, now: datetime, *, base_url: str = "",
                    limit: int = 200) -> Delivery:  # fmt: skip
    """Mail the notices not mailed yet to users who have an address."""
    result = Delivery()
    stmt = (
        select(Notice, User)
        .join(User, User.id == Notice.user_id)
        .where(Notice.emailed_at.is_(None), Notice.email_attempts < MAX_ATTEMPTS, Notice.created_at >= now - MAX_AGE)
        .where(User.email != "", User.is_active.is_(True))
        .order_by(Notice.id)
        .limit(limit)
    )
    for notice, user in session.execute(stmt).all():
        if not _claim(session, notice.id, now):
            continue
        try:
            send(settings, _message(settings, notice, user, base_url))
            result.sent += 1
        except TransportError as exc:
            attempts = MAX_ATTEMPTS if exc.permanent else notice.email_attempts + 1
            session.execute(update(Notice).where(Notice.id == notice.id).values(emailed_at=None,
                                                                                email_attempts=attempts))  # fmt: skip
            session.commit()
            result.failed += attempts >= MAX_ATTEMPTS
            result.retry += attempts < MAX_ATTEMPTS
    return result
