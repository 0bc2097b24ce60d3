"""E-mail: copies of inbox notices, sent over SMTP from the outbox's ``email`` channel.

- ``contract.py``: what a message's payload holds, and the mail made of it (Message-ID from its key);
- ``transport.py``: settings and sending one mail; errors say whether they are permanent;
- ``simulator.py``: a local SMTP server (aiosmtpd) for tests and demos, never imported by the product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.email import contract, transport
from connectors.email.transport import MailSettingsError, SmtpSettings

CHANNEL = "email"

__all__ = ["CHANNEL", "EmailChannel", "MailSettingsError", "SmtpSettings"]


@dataclass(frozen=True)
class EmailChannel:
    """Delivers ``email`` outbox messages through one SMTP server."""

    settings: SmtpSettings
    base_url: str
    name: str = CHANNEL
    wording: contract.Wording | None = None  # the mail in its recipient's language (the web layer's catalogues)

    @classmethod
    def from_settings(cls, smtp_url: str, mail_from: str, public_url: str,
                      wording: contract.Wording | None = None) -> EmailChannel:  # fmt: skip
        return cls(SmtpSettings.from_url(smtp_url, mail_from), public_url, wording=wording)

    def send(self, key: str, payload: dict[str, Any]) -> None:
        mail = contract.NoticeMail.from_payload(payload, self.wording)
        transport.send(self.settings, contract.to_message(mail, key=key, sender=self.settings.sender,
                                                          base_url=self.base_url))  # fmt: skip
