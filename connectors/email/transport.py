"""Send one mail over SMTP; every failure is a ``TransportError`` that says whether it is permanent.

``EISO_SMTP_URL`` names the server: ``smtp://user:password@host:587`` (STARTTLS), ``smtps://…:465`` (TLS
from the start) or ``smtp+plain://host:25`` (a local relay without TLS); ``EISO_MAIL_FROM`` the sender.
A 5xx answer is permanent (no such mailbox, message refused, wrong password); 4xx answers, refused
connections and time-outs are temporary.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from connectors.errors import TransportError

TIMEOUT = 20
"""Seconds to wait for the server at each step; far below the outbox's lease."""


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
        codes = [code for code, _ in exc.recipients.values()]
        raise TransportError(f"recipient refused: {exc.recipients}", permanent=all(c >= 500 for c in codes))
    except smtplib.SMTPResponseException as exc:
        raise TransportError(f"{exc.smtp_code} {exc.smtp_error!r}", permanent=500 <= exc.smtp_code < 600)
    except (OSError, smtplib.SMTPException) as exc:
        raise TransportError(str(exc) or exc.__class__.__name__, permanent=False)
