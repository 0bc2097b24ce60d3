"""The scheduler's sweep, as `eiso worker` and `eiso run` run it, mails notices through the configured SMTP
server (the simulator on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.header import decode_header, make_header

import pytest
from flask import Flask
from sqlalchemy import select

from connectors.email.simulator import SmtpSimulator
from engine import notices
from engine.org.models import Unit, User
from webapp.extensions import sa_session
from webapp.scheduler import channels, sweep


@pytest.fixture
def smtp() -> Iterator[SmtpSimulator]:
    with SmtpSimulator() as simulator:
        yield simulator


@pytest.fixture
def app_env(smtp: SmtpSimulator) -> dict[str, str]:
    return {"EISO_SMTP_URL": smtp.url, "EISO_MAIL_FROM": "eiso@skhcn.example.vn",
            "EISO_PUBLIC_URL": "https://eiso.skhcn.example.vn"}  # fmt: skip


def test_the_sweep_mails_new_notices(app: Flask, smtp: SmtpSimulator) -> None:
    with app.app_context():
        assert set(channels(app)) == {"email"}
        unit = sa_session().scalars(select(Unit)).one()
        thuky = sa_session().scalars(select(User).where(User.username == "thuky")).one()
        notices.notify(sa_session(), [thuky], unit_id=unit.id, kind="task_reminder", title="Sắp đến hạn: Xem xét",
                       link="/tasks/abc", now=datetime.now(UTC))  # fmt: skip
        sa_session().commit()
    sweep(app)
    sweep(app)
    assert [str(make_header(decode_header(m["To"]))) for m in smtp.messages] == [
        "Lê Thị Mai Anh <thuky@skhcn.example.vn>"]  # once, though the sweep ran twice
