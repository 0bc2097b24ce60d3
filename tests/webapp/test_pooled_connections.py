"""Pooled database connections: one the database dropped while it sat unused (a restart of PostgreSQL, a
firewall's idle timeout) is found and replaced before a request uses it, and one used a moment ago is handed
out without a round trip to try it first (``webapp.ping_after_idle``)."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from tests.conftest import POSTGRES_URL, _postgres
from tests.webapp.conftest import basic
from webapp import PING_AFTER_IDLE, ping_after_idle
from webapp.extensions import db


def _drop_every_other_connection() -> int:
    """What a restart of the database does to the connections pooled in the app: end them."""
    with _postgres().connect() as conn:
        ended = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )).scalar_one()  # fmt: skip
    return int(ended)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_request_after_the_database_dropped_the_pooled_connections_is_answered_postgresql(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/api/v1/tasks", headers=basic("thuky")).status_code == 200
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.remove()
    assert _drop_every_other_connection() >= 1
    time.sleep(PING_AFTER_IDLE + 0.2)  # the pool's connections sat unused longer than the window

    answer = client.get("/api/v1/tasks", headers=basic("thuky"))

    assert answer.status_code == 200, answer.get_data(as_text=True)


def test_a_connection_used_a_moment_ago_is_handed_out_without_trying_it_first_postgresql() -> None:
    _postgres()  # skips (or fails, where PostgreSQL is required) without a server
    engine = create_engine(POSTGRES_URL, pool_size=1)
    ping_after_idle(engine, idle=60.0)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        _drop_every_other_connection()

        # within the window nothing tries the connection: the statement meets the dropped one
        with pytest.raises(Exception, match="terminat|closed|connection"), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        # the failure told the pool: the next use gets a new connection
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_a_connection_that_sat_longer_than_the_window_is_tried_and_replaced_postgresql() -> None:
    _postgres()
    engine = create_engine(POSTGRES_URL, pool_size=1)
    ping_after_idle(engine, idle=0.05)
    try:
        with engine.connect() as conn:
            before = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        _drop_every_other_connection()
        time.sleep(0.1)

        with engine.connect() as conn:
            after = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()

        assert after != before
    finally:
        engine.dispose()
