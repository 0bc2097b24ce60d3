"""Notices reach people by mail through the SMTP simulator on loopback, over real sockets: once, again
after a temporary failure with the same Message-ID, and as an incident for the administrators (never by
mail) when the server refuses for good."""

from __future__ import annotations

from collections.abc import Iterator
from email.header import decode_header, make_header

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors.delivery import deliver
from connectors.email import EmailChannel, MailSettingsError, SmtpSettings
from connectors.email.simulator import SmtpSimulator, free_port
from engine import notices, outbox
from engine.org.models import Notice, Unit, User
from engine.outbox import OutboxMessage
from tests.conftest import Clock

SENDER = "eiso@skhcn.example.vn"
PUBLIC = "https://eiso.skhcn.example.vn"


@pytest.fixture
def smtp() -> Iterator[SmtpSimulator]:
    with SmtpSimulator() as simulator:
        yield simulator


def channel(url: str) -> dict[str, EmailChannel]:
    return {"email": EmailChannel.from_settings(url, SENDER, PUBLIC)}


def remind(session: Session, unit: Unit, clock: Clock, *people: User) -> list[Notice]:
    written = notices.notify(session, people, unit_id=unit.id, kind="task_reminder", title="Sắp đến hạn: Xem xét",
                             body="Phê duyệt mục tiêu chất lượng", link="/tasks/abc", now=clock.now)  # fmt: skip
    session.commit()
    return written


def subject(message: object) -> str:
    return str(make_header(decode_header(message["Subject"])))  # type: ignore[index]


def test_notices_are_mailed_once(session: Session, unit: Unit, users: dict[str, User], clock: Clock,
                                 smtp: SmtpSimulator) -> None:  # fmt: skip
    written = remind(session, unit, clock, users["thuky"], users["giamdoc"])
    result = deliver(session, channel(smtp.url), lambda: clock.now)
    assert (result.sent, result.failed) == (2, 0)
    first = smtp.messages[0]
    assert str(make_header(decode_header(first["To"]))) == "Lê Thị Mai Anh <thuky@skhcn.example.vn>"
    assert subject(first) == "[eISO] Sắp đến hạn: Xem xét"
    assert first["Message-ID"] == f"<notice-{written[0].id}@eiso.skhcn.example.vn>"
    text = first.get_payload(decode=True).decode()
    assert "Phê duyệt mục tiêu chất lượng" in text and "https://eiso.skhcn.example.vn/tasks/abc" in text
    clock.advance(hours=1)
    assert deliver(session, channel(smtp.url), lambda: clock.now).sent == 0  # not twice
    assert len(smtp.messages) == 2


def test_a_down_or_busy_server_means_retry_later_with_the_same_message_id(
    session: Session, unit: Unit, users: dict[str, User], clock: Clock, smtp: SmtpSimulator
) -> None:
    (notice,) = remind(session, unit, clock, users["thuky"])
    down = f"smtp+plain://127.0.0.1:{free_port()}"
    assert deliver(session, channel(down), lambda: clock.now).retry == 1  # connection refused
    smtp.fail_next()
    clock.advance(minutes=1)
    assert deliver(session, channel(smtp.url), lambda: clock.now).retry == 1  # 451 try again later
    clock.advance(minutes=2)
    assert deliver(session, channel(smtp.url), lambda: clock.now).sent == 1
    assert [m["Message-ID"] for m in smtp.messages] == [f"<notice-{notice.id}@eiso.skhcn.example.vn>"]


def test_a_crash_between_sending_and_marking_sends_again_and_the_receiver_drops_it(
    session: Session, unit: Unit, users: dict[str, User], clock: Clock, smtp: SmtpSimulator
) -> None:
    remind(session, unit, clock, users["thuky"])
    claimed = outbox.claim_next(session, clock.now, ["email"])
    assert claimed is not None
    channel(smtp.url)["email"].send(claimed.key, claimed.payload)  # sent; then the worker dies unmarked
    clock.advance(seconds=outbox.LEASE.total_seconds())
    assert deliver(session, channel(smtp.url), lambda: clock.now).sent == 1
    assert len(smtp.messages) == 2 and len(smtp.unique()) == 1  # one Message-ID twice: a duplicate to drop


def test_a_refused_recipient_is_an_incident_for_the_administrators_never_mailed(
    session: Session, unit: Unit, users: dict[str, User], clock: Clock, smtp: SmtpSimulator
) -> None:
    smtp.refuse("thuky@skhcn.example.vn")
    remind(session, unit, clock, users["thuky"])
    result = deliver(session, channel(smtp.url), lambda: clock.now)
    assert (result.sent, result.failed) == (0, 1) and smtp.messages == []
    failed = session.scalars(select(OutboxMessage).where(OutboxMessage.state == "failed")).one()
    assert "550" in failed.last_error and failed.attempts == 1
    incident = session.scalars(select(Notice).where(Notice.kind == "delivery_failed")).one()
    assert session.get(User, incident.user_id).username == "admin"  # type: ignore[union-attr]
    assert "To: thuky@skhcn.example.vn" in incident.body and "550" in incident.body
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1  # no mail about the mail
    clock.advance(days=1)
    assert deliver(session, channel(smtp.url), lambda: clock.now).sent == 0


def test_bad_settings_say_what_to_write() -> None:
    with pytest.raises(MailSettingsError, match="smtp://user:password@host:587"):
        SmtpSettings.from_url("mail.example.vn", "eiso@example.vn")
    with pytest.raises(MailSettingsError, match="EISO_MAIL_FROM"):
        SmtpSettings.from_url("smtp://mail.example.vn", "")
    assert SmtpSettings.from_url("smtps://u%40x:p@mail.example.vn", "a@b.vn").port == 465
