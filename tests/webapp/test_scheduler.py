"""The scheduler's sweep, as `eiso worker` and `eiso run` run it, mails notices through the configured SMTP
server (the simulator on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header

import pytest
from flask import Flask
from sqlalchemy import func, select

from connectors.email.simulator import SmtpSimulator
from engine import Engine, notices
from engine.org.models import Unit, User
from engine.runtime.models import HistoryEvent, Timer
from tests.conftest import deploy_fixture
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


def test_a_backlog_of_due_timers_is_worked_off_in_one_tick_sweep_after_sweep(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timers that came due while nothing ran (more than one sweep takes) all fire at the next tick, not one
    sweep's worth a tick; a tick still ends when nothing more is due."""
    import webapp.scheduler

    monkeypatch.setattr(webapp.scheduler, "TIMER_SWEEP_LIMIT", 2)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with app.app_context():
        deploy_fixture(sa_session(), an_hour_ago, "timer_wait.bpmn")
        unit = sa_session().scalars(select(Unit)).one()
        thuky = sa_session().scalars(select(User).where(User.username == "thuky")).one()
        for _ in range(5):
            Engine(sa_session()).start("timer_wait", actor=thuky, unit_id=unit.id, now=an_hour_ago,
                                       variables={"waitFor": "PT1M"})  # fmt: skip
        sa_session().commit()
    sweep(app)
    with app.app_context():
        states = sa_session().scalars(select(Timer.state)).all()
        assert sorted(states) == ["fired"] * 5
        assert sa_session().scalar(select(func.count()).select_from(HistoryEvent)
                                   .where(HistoryEvent.kind == "timer_fired")) == 5  # fmt: skip
