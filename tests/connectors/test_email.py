"""Notices reach people by mail through a real SMTP server on loopback; once, and again after a failure."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.email import MailSettingsError, SmtpSettings, deliver_notices
from engine.org.models import Notice, Unit, User
from tests.conftest import Clock


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.original_content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def _notices(session: Session, unit: Unit, clock: Clock, *usernames: str) -> None:
    for name in usernames:
        user = session.scalars(select(User).where(User.username == name)).one()
        session.add(Notice(user_id=user.id, unit_id=unit.id, kind="task_reminder", title="Sắp đến hạn: Xem xét",
                           body="Phê duyệt mục tiêu chất lượng", link="/tasks/abc", created_at=clock.now))  # fmt: skip
    session.commit()


def test_notices_are_mailed_once(session: Session, unit: Unit, clock: Clock, smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    _notices(session, unit, clock, "thuky", "giamdoc")
    settings = SmtpSettings.from_url(f"smtp+plain://127.0.0.1:{port}", "eiso@skhcn.example.vn")
    result = deliver_notices(session, settings, clock.now, base_url="https://eiso.example.vn")
    assert (result.sent, result.failed) == (2, 0)
    assert sorted(m["To"] for m in inbox.messages) == ["giamdoc@skhcn.example.vn", "thuky@skhcn.example.vn"]
    first = inbox.messages[0]
    assert str(make_header(decode_header(first["Subject"]))) == "[eISO] Sắp đến hạn: Xem xét"
    assert "https://eiso.example.vn/tasks/abc" in first.get_payload(decode=True).decode()
    assert deliver_notices(session, settings, clock.now).sent == 0  # not twice


def test_a_down_server_means_retry_later(session: Session, unit: Unit, clock: Clock,
                                         smtp_server: tuple[Inbox, int]) -> None:  # fmt: skip
    inbox, port = smtp_server
    _notices(session, unit, clock, "thuky")
    down = SmtpSettings.from_url(f"smtp+plain://127.0.0.1:{free_port()}", "eiso@skhcn.example.vn")
    assert deliver_notices(session, down, clock.now).retry == 1
    notice = session.scalars(select(Notice)).one()
    assert notice.emailed_at is None and notice.email_attempts == 1
    up = SmtpSettings.from_url(f"smtp+plain://127.0.0.1:{port}", "eiso@skhcn.example.vn")
    assert deliver_notices(session, up, clock.now + timedelta(minutes=1)).sent == 1
    assert len(inbox.messages) == 1


def test_bad_settings_say_what_to_write() -> None:
    with pytest.raises(MailSettingsError, match="smtp://user:password@host:587"):
        SmtpSettings.from_url("mail.example.vn", "eiso@example.vn")
    with pytest.raises(MailSettingsError, match="EISO_MAIL_FROM"):
        SmtpSettings.from_url("smtp://mail.example.vn", "")
    assert SmtpSettings.from_url("smtps://u%40x:p@mail.example.vn", "a@b.vn").port == 465
