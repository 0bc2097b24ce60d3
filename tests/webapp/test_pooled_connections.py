"""Pooled database connections: one the database dropped while it sat unused (a restart of PostgreSQL, a
firewall's idle timeout) is found and replaced before a request uses it, and one used a moment ago is handed
out without a round trip to try it first (``webapp.ping_after_idle``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.pool import NullPool

from tests.conftest import POSTGRES_URL, _postgres
from tests.webapp.conftest import basic, login
from webapp import PING_AFTER_IDLE, keep_prepared_statements, ping_after_idle
from webapp.extensions import db


def _drop_every_other_connection() -> int:
    """What a restart of the database does to the connections pooled in the app: end them."""
    with _postgres().connect() as conn:
        ended = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )).scalar_one()  # fmt: skip
    return int(ended)


def _dropped_fails_once_then_replaced(engine: Engine) -> None:
    """The database drops the engine's pooled connection: the next statement fails on it, and the failure tells
    the pool, whose next connection is a new one."""
    _drop_every_other_connection()
    with pytest.raises(Exception, match="terminat|closed|connection"), engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1


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


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_request_that_meets_a_dropped_connection_is_told_to_try_again_and_the_next_one_is_answered_postgresql(
    app: Flask,
) -> None:
    """Within the window a dropped connection is handed out untried: the request it fails answers 503 with
    ``Retry-After`` and says, in the reader's language, that nothing was changed (the API, the Camunda API and a
    page alike); the pool then has new connections for the next request."""
    api, page = app.test_client(), login(app.test_client(), "thuky")
    vi = {**basic("thuky"), "Accept-Language": "vi"}
    assert api.get("/api/v1/tasks", headers=vi).status_code == 200

    _drop_every_other_connection()
    answer = api.get("/api/v1/tasks", headers=vi)
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert answer.headers["Retry-After"] == "5"
    assert answer.get_json()["message"].startswith("Cơ sở dữ liệu chưa trả lời được lúc này; chưa có gì bị thay đổi.")
    assert api.get("/api/v1/tasks", headers=vi).status_code == 200

    _drop_every_other_connection()
    camunda = api.get("/engine-rest/task", headers={**basic("thuky"), "Accept-Language": "en"})
    assert camunda.status_code == 503
    assert camunda.headers["Retry-After"] == "5"
    assert camunda.get_json()["type"] == "ProcessEngineException"
    assert "The database could not answer just now; nothing was changed." in camunda.get_json()["message"]

    assert page.get("/").status_code == 200
    _drop_every_other_connection()
    shown = page.get("/")
    assert shown.status_code == 503
    text_ = shown.get_data(as_text=True)
    assert "Tạm thời không phục vụ được" in text_ and "chưa có gì bị thay đổi" in text_
    assert page.get("/").status_code == 200


@contextmanager
def _database_down() -> Iterator[None]:
    """The app's database refuses every connection (as while PostgreSQL is stopped), then is back."""
    url = make_url(POSTGRES_URL)
    name = url.database
    outside = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with outside.connect() as conn:
            try:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            except ProgrammingError:
                pytest.skip("the test database's role may not close its database to connections")
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                         {"name": name})  # fmt: skip
        try:
            yield
        finally:
            with outside.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    finally:
        outside.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_while_the_database_is_down_pages_and_calls_say_so_and_answer_again_once_it_is_back_postgresql(
    app: Flask,
) -> None:
    api, page = app.test_client(), login(app.test_client(), "thuky")
    vi = {**basic("thuky"), "Accept-Language": "vi"}
    assert page.get("/").status_code == 200

    with _database_down():
        time.sleep(PING_AFTER_IDLE + 0.2)  # the pooled connections are tried, and no new one can be had
        shown, called = page.get("/"), api.get("/api/v1/tasks", headers=vi)

        assert shown.status_code == 503
        assert shown.headers["Retry-After"] == "5"
        assert "Cơ sở dữ liệu chưa trả lời được lúc này" in shown.get_data(as_text=True)
        assert called.status_code == 503
        assert called.get_json()["error"] == "Not available for a moment"

    assert page.get("/").status_code == 200
    assert api.get("/api/v1/tasks", headers=vi).status_code == 200


def test_a_connection_used_a_moment_ago_is_handed_out_without_trying_it_first_postgresql() -> None:
    _postgres()  # skips (or fails, where PostgreSQL is required) without a server
    engine = create_engine(POSTGRES_URL, pool_size=1)
    ping_after_idle(engine, idle=60.0)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        # within the window nothing tries the connection: the statement meets the dropped one
        _dropped_fails_once_then_replaced(engine)
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


def test_a_rollback_undoes_the_transaction_and_the_connection_keeps_its_prepared_statements_postgresql() -> None:
    """A request that only reads ends with a rollback: it must not cost the connection the statements PostgreSQL
    has prepared for it (``webapp.keep_prepared_statements``), and must still undo what the transaction did."""
    _postgres()
    engine = create_engine(POSTGRES_URL, pool_size=1)
    keep_prepared_statements(engine)
    count = text("SELECT count(*) FROM kept WHERE n > :n")
    prepared = text("SELECT count(*) FROM pg_prepared_statements")
    try:
        with engine.connect() as conn:
            conn.execute(text("CREATE TEMPORARY TABLE kept (n integer)"))
            conn.commit()
            for _ in range(6):  # psycopg prepares a statement from its sixth run on
                assert conn.execute(count, {"n": 0}).scalar_one() == 0
            conn.execute(text("INSERT INTO kept VALUES (1)"))
            conn.rollback()

            assert conn.execute(count, {"n": 0}).scalar_one() == 0  # the rolled back row is not there
            assert conn.execute(prepared).scalar_one() >= 1
            conn.execute(text("INSERT INTO kept VALUES (2)"))
            conn.commit()  # after the rollback the next statements are a transaction of their own again
        with engine.connect() as conn:
            assert conn.execute(count, {"n": 0}).scalar_one() == 1
    finally:
        engine.dispose()


def test_a_rollback_of_a_transaction_in_error_or_on_a_dropped_connection_still_ends_it_postgresql() -> None:
    _postgres()
    engine = create_engine(POSTGRES_URL, pool_size=1)
    keep_prepared_statements(engine)
    try:
        with engine.connect() as conn:
            with pytest.raises(Exception, match="division by zero"):
                conn.execute(text("SELECT 1/0"))
            conn.rollback()
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
        _dropped_fails_once_then_replaced(engine)
    finally:
        engine.dispose()
