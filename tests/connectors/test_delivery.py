"""The delivery sweep with a recording channel, on SQLite and PostgreSQL: each message once, retries with
backoff, failures become incidents for the unit's administrators only, and two workers never send one
message twice."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.delivery import deliver
from connectors.errors import TransportError
from engine import outbox
from engine.org.models import Notice, RoleAssignment, Unit, User
from engine.outbox import OutboxMessage
from tests.conftest import Clock


@dataclass
class Recorder:
    """A channel that keeps what it is given and raises the errors it was handed first."""

    name: str = "igate"
    pause: float = 0.0
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)

    def send(self, key: str, payload: dict[str, Any]) -> None:
        if self.errors:
            raise self.errors.pop(0)
        time.sleep(self.pause)  # a real system takes a while: the other worker meanwhile claims the next
        self.sent.append((key, payload))


def enqueue(session: Session, unit: Unit, clock: Clock, *keys: str) -> None:
    for key in keys:
        outbox.enqueue(session, unit_id=unit.id, channel="igate", key=key, payload={"dossier": key}, now=clock.now)
    session.commit()


def state(session: Session, key: str) -> OutboxMessage:
    session.expire_all()
    return session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).one()


@pytest.fixture
def other_unit(session: Session, unit: Unit) -> Unit:
    """A second unit with an administrator of its own."""
    other = Unit(code="stnmt-daklak", name="Sở Tài nguyên và Môi trường tỉnh Đắk Lắk")
    stranger = User(username="admin_tnmt", full_name="Quản trị Sở TN&MT", email="admin@stnmt.example.vn",
                    password_hash="x")  # fmt: skip
    stranger.roles.append(RoleAssignment(unit=other, role="admin"))
    session.add_all([other, stranger])
    session.commit()
    return other


def notified(session: Session, kind: str) -> list[str]:
    stmt = select(User.username).join(Notice, Notice.user_id == User.id).where(Notice.kind == kind)
    return sorted(session.scalars(stmt))


def test_each_message_is_sent_once(session: Session, unit: Unit, clock: Clock) -> None:
    enqueue(session, unit, clock, "hs-1", "hs-2")
    channel = Recorder()
    result = deliver(session, {"igate": channel}, lambda: clock.now)
    assert (result.sent, result.retry, result.failed) == (2, 0, 0)
    assert channel.sent == [("hs-1", {"dossier": "hs-1"}), ("hs-2", {"dossier": "hs-2"})]
    clock.advance(days=1)
    assert deliver(session, {"igate": channel}, lambda: clock.now).sent == 0
    assert state(session, "hs-1").state == "delivered"


def test_temporary_errors_are_retried_after_the_backoff(session: Session, unit: Unit, clock: Clock) -> None:
    enqueue(session, unit, clock, "hs-1")
    channel = Recorder(errors=[TransportError("timed out"), RuntimeError("a defect in the channel")])

    def sweep_after(seconds: float) -> Any:
        clock.advance(seconds=seconds)
        return deliver(session, {"igate": channel}, lambda: clock.now)

    assert sweep_after(0).retry == 1
    assert sweep_after(59).retry == 0  # the first wait is one minute
    assert sweep_after(1).retry == 1
    assert "RuntimeError: a defect in the channel" in state(session, "hs-1").last_error
    assert sweep_after(119).sent == 0  # the second, two
    assert sweep_after(1).sent == 1
    assert [key for key, _ in channel.sent] == ["hs-1"] and state(session, "hs-1").attempts == 3


def test_a_permanent_failure_is_an_incident_for_the_units_administrators_only(
    session: Session, unit: Unit, other_unit: Unit, clock: Clock
) -> None:
    enqueue(session, unit, clock, "hs-1")
    channel = Recorder(errors=[TransportError("400 dossier refused: unknown procedure", permanent=True)])
    assert deliver(session, {"igate": channel}, lambda: clock.now).failed == 1
    assert state(session, "hs-1").state == "failed"
    assert notified(session, "delivery_failed") == ["admin"]  # not admin_tnmt, the other unit's
    incident = session.scalars(select(Notice).where(Notice.kind == "delivery_failed")).one()
    assert "hs-1" in incident.title and "unknown procedure" in incident.body and incident.link == "/admin/outbox"
    mail = state(session, f"notice-{incident.id}")  # a failure of another system is worth a mail
    assert mail.channel == "email" and mail.payload["to"] == "admin@skhcn.example.vn"
    clock.advance(days=1)
    assert deliver(session, {"igate": channel}, lambda: clock.now).sent == 0  # stays failed

    assert outbox.retry(session, state(session, "hs-1").id, clock.now,
                        unit_ids={state(session, "hs-1").unit_id})  # the administrator's retry
    assert deliver(session, {"igate": channel}, lambda: clock.now).sent == 1
    assert channel.sent == [("hs-1", {"dossier": "hs-1"})]


def test_attempts_exhausted_is_an_incident_too(session: Session, unit: Unit, clock: Clock) -> None:
    enqueue(session, unit, clock, "hs-1")
    channel = Recorder(errors=[TransportError("connection refused")] * outbox.MAX_ATTEMPTS)
    for _ in range(outbox.MAX_ATTEMPTS):
        deliver(session, {"igate": channel}, lambda: clock.now)
        clock.advance(hours=6)
    assert state(session, "hs-1").state == "failed" and notified(session, "delivery_failed") == ["admin"]


def test_two_workers_never_send_one_message_twice(session: Session, unit: Unit, clock: Clock) -> None:
    count = 300 if session.get_bind().dialect.name == "postgresql" else 80
    keys = [f"hs-{n}" for n in range(count)]
    enqueue(session, unit, clock, *keys)
    channel = Recorder(pause=0.005)
    bind = session.get_bind()
    barrier = threading.Barrier(2)
    results: list[int] = []

    def worker() -> None:
        with Session(bind) as own:
            barrier.wait()
            results.append(deliver(own, {"igate": channel}, lambda: clock.now, limit=count).sent)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert sorted(key for key, _ in channel.sent) == sorted(keys)  # every one, none twice
    assert sum(results) == count and all(results)  # both workers took part
    states = set(session.scalars(select(OutboxMessage.state)))
    assert states == {"delivered"}
