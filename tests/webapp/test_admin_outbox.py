"""Administrators see the messages of their units that could not be delivered and send them again;
another unit's failures are not theirs, and other people see none."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine import outbox
from engine.org.models import RoleAssignment, Unit, User
from tests.conftest import Clock
from tests.webapp.conftest import login
from webapp.extensions import sa_session


def _failed(unit_id: int, key: str, to: str, clock: Clock) -> int:
    message = outbox.enqueue(sa_session(), unit_id=unit_id, channel="email", key=key, now=clock.now,
                             payload={"to": to, "title": f"Sắp đến hạn: {key}"})  # fmt: skip
    message.state, message.attempts, message.last_error = "failed", 1, "550 5.1.1 No such mailbox here"
    sa_session().commit()
    return message.id


def _setup(app: Flask, clock: Clock) -> tuple[int, int]:
    with app.app_context():
        other = Unit(code="stnmt-daklak", name="Sở Tài nguyên và Môi trường tỉnh Đắk Lắk")
        stranger = User(username="admin_tnmt", full_name="Quản trị Sở TN&MT", password_hash="x")
        stranger.roles.append(RoleAssignment(unit=other, role="admin"))
        sa_session().add_all([other, stranger])
        sa_session().commit()
        unit = sa_session().scalars(select(Unit).where(Unit.code == "skhcn-daklak")).one()
        ours = _failed(unit.id, "notice-1", "thuky@skhcn.example.vn", clock)
        theirs = _failed(other.id, "notice-2", "ai-do@stnmt.example.vn", clock)
        return ours, theirs


def test_an_administrator_sees_the_failed_messages_of_the_unit_and_retries(app: Flask, client: FlaskClient,
                                                                           clock: Clock) -> None:  # fmt: skip
    ours, theirs = _setup(app, clock)
    login(client, "admin")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "Tin gửi không thành công" in page and "Gửi lại" in page
    assert "thuky@skhcn.example.vn" in page and "550 5.1.1 No such mailbox here" in page
    assert "ai-do@stnmt.example.vn" not in page  # another unit's
    assert client.post(f"/admin/outbox/{theirs}/retry").status_code == 404  # another unit's: not found
    retried = client.post(f"/admin/outbox/{ours}/retry", follow_redirects=True).get_data(as_text=True)
    assert "Tin sẽ được gửi lại" in retried and "thuky@skhcn.example.vn" not in retried
    with app.app_context():
        message = sa_session().get(outbox.OutboxMessage, ours)
        assert message is not None and (message.state, message.attempts) == ("pending", 0)
    assert client.post(f"/admin/outbox/{ours}/retry").status_code == 302  # already waiting: said, not an error
    assert client.post("/admin/outbox/999999/retry").status_code == 404


def test_only_administrators_see_undelivered_messages(app: Flask, client: FlaskClient, clock: Clock) -> None:
    _setup(app, clock)
    login(client, "giamdoc")
    assert client.get("/admin/outbox").status_code == 403
    assert "Tin gửi không thành công" not in client.get("/").get_data(as_text=True)
