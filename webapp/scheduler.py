"""Background jobs: APScheduler sweeps the database; the database is the source of truth.

The sweeps: due timers and timer start events (``engine.sweeps``), deadline reminders and
escalation (``engine.reminders``), then delivery of the outbox to the configured channels
(``connectors.delivery``; e-mail when SMTP is configured). The first sweep runs at start-up, so
what came due while nothing was running happens at once, oldest first. ``eiso run`` runs the sweeps
in a background thread of the web process (the embedded default); ``eiso worker`` runs them in a
process of its own, and is the only place they run with ``eiso run --workers N``. Any number may run
against one database: each sweep claims rows with conditional UPDATEs (timers and the outbox skip rows
another worker holds: ``SKIP LOCKED`` on PostgreSQL), so nothing is done twice (``docs/deployment.md``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from connectors.delivery import Channel, deliver
from connectors.email import EmailChannel
from engine import sweep_deadlines, sweep_timers

from .extensions import db, sa_session
from .i18n import mail_wording

log = logging.getLogger(__name__)

# Timer sweeps run back to back while each stops at its limit with timers still due (up to this many, so
# the deadlines and the outbox still get their turn within a tick).
BACKLOG_ROUNDS = 20
TIMER_SWEEP_LIMIT = 500  # firings per sweep


def channels(app: Flask) -> dict[str, Channel]:
    """The outside systems this installation is configured to reach."""
    settings = app.config["EISO_SETTINGS"]
    found: dict[str, Channel] = {}
    if settings.smtp_url:
        email = EmailChannel.from_settings(settings.smtp_url, settings.mail_from, settings.public_url,
                                           wording=partial(mail_wording, default=settings.default_locale))
        found[email.name] = email
    return found


def sweep(app: Flask) -> None:
    with app.app_context():
        try:
            for _ in range(BACKLOG_ROUNDS):  # a backlog (timers due while nothing ran) goes on without pauses
                fired = sweep_timers(sa_session(), datetime.now(UTC), limit=TIMER_SWEEP_LIMIT)
                if fired.fired or fired.started or fired.failed:
                    log.info("timer sweep: %s fired, %s started, %s failed", fired.fired, fired.started,
                             fired.failed)  # fmt: skip
                if not fired.more:
                    break
            result = sweep_deadlines(sa_session(), datetime.now(UTC))
            if result.reminded or result.escalated:
                log.info("deadline sweep: %s reminders, %s escalations", result.reminded, result.escalated)
            out = deliver(sa_session(), channels(app), lambda: datetime.now(UTC))
            if out.sent or out.retry or out.failed:
                log.info("outbox: %s sent, %s to retry, %s failed", out.sent, out.retry, out.failed)
        except Exception:  # a failed sweep is retried at the next interval; the web app goes on
            log.exception("sweep failed")
        finally:
            db.session.remove()


def build_scheduler(app: Flask, *, blocking: bool, interval: int = 30) -> BaseScheduler:
    scheduler: BaseScheduler = BlockingScheduler(timezone=UTC) if blocking else BackgroundScheduler(timezone=UTC)
    scheduler.add_job(sweep, "interval", seconds=interval, args=[app], id="deadlines", coalesce=True,
                      max_instances=1, next_run_time=datetime.now(UTC))  # fmt: skip
    return scheduler
