"""The Alembic revisions build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from engine.db import Base
from tests.conftest import POSTGRES_URL, _postgres
from webapp import create_app
from webapp.settings import Settings


def _empty_postgres() -> None:
    with _postgres().begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for migrations to build; PostgreSQL gets the test schema back afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    _empty_postgres()
    try:
        yield POSTGRES_URL
    finally:
        _empty_postgres()
        Base.metadata.create_all(_postgres())


def _app(url: str, instance: Path) -> Flask:
    return create_app(Settings.from_env({}, database_url=url, instance_path=instance, secret_key="x", testing=True))


def test_upgrade_matches_models(empty_db: str, tmp_path: Path) -> None:
    with _app(empty_db, tmp_path).app_context():
        upgrade()
    db = create_engine(empty_db)
    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    db.dispose()
    assert diff == []


def test_a_database_with_work_in_it_downgrades_and_upgrades(empty_db: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from flask_migrate import downgrade
    from sqlalchemy import select

    from engine import Deployer, Engine, queries
    from engine.org.demo import load_demo
    from engine.org.models import User
    from engine.runtime.models import ProcessInstance, TaskCandidate, TaskRow
    from tests.conftest import library_files
    from webapp.extensions import db, sa_session

    now = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    with _app(empty_db, tmp_path).app_context():
        upgrade()
        unit, _ = load_demo(sa_session())
        Deployer(sa_session()).deploy(library_files(), actor=None, now=now)
        thuky = sa_session().scalars(select(User).where(User.username == "thuky")).one()
        instance_id = Engine(sa_session()).start("quality_objectives", actor=thuky, unit_id=unit.id, now=now).id
        db.session.remove()
        downgrade(revision="0006")  # back across the versions, jobs and messages revisions
        upgrade()
        task = sa_session().scalars(select(TaskRow).where(TaskRow.instance_id == instance_id)).one()
        thuky = sa_session().scalars(select(User).where(User.username == "thuky")).one()
        # the offers written before the revision that copies their task's state into them list it
        assert [line.id for line in queries.task_page(sa_session(), thuky, "claimable").lines] == [task.id]
        Engine(sa_session()).claim(task.id, actor=thuky, now=now)  # the instance still works
        sa_session().commit()
        assert queries.task_page(sa_session(), thuky, "claimable").lines == []  # and follow it from then on
        # and carry their task's instance and "open", which a person's own instance list reads (revision 0035)
        copies = select(TaskCandidate.instance_id, TaskCandidate.task_open).where(TaskCandidate.task_id == task.id)
        assert sa_session().execute(copies).all() == [(instance_id, True)]
        assert sa_session().get(ProcessInstance, instance_id) is not None
        assert Engine(sa_session()).active_definition("quality_objectives").version == 1
        db.session.remove()


def test_notices_waiting_for_their_mail_move_to_the_outbox_and_back(empty_db: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from flask_migrate import downgrade
    from sqlalchemy import select

    from engine.outbox import OutboxMessage
    from webapp.extensions import db, sa_session

    now = datetime.now(UTC)
    with _app(empty_db, tmp_path).app_context():
        upgrade(revision="0011")
        # rows as the tables of that time hold them (today's models have columns those tables lack)
        run = sa_session().execute
        run(text("INSERT INTO units (code, name, short_name, quality_policy, allow_direct_deploy) VALUES "
                 "('skhcn-daklak', 'Sở Khoa học và Công nghệ tỉnh Đắk Lắk', '', '', false)"))  # fmt: skip
        run(text("INSERT INTO users (username, full_name, title, email, password_hash, is_active) VALUES "
                 "('thuky', 'Lê Thị Mai Anh', '', 'thuky@skhcn.example.vn', '-', true)"))  # fmt: skip
        made = []
        for title, at in [("waiting", now - timedelta(hours=1)), ("mailed", now), ("too old", now - timedelta(days=4))]:
            run(text("INSERT INTO notices (user_id, unit_id, kind, title, body, link, created_at) SELECT u.id, n.id, "
                     "'task_reminder', :title, '', '/tasks/a', :at FROM users u, units n"), {"title": title, "at": at})
            made.append(sa_session().scalar(text("SELECT max(id) FROM notices")))
        waiting, mailed, _old = made
        sa_session().execute(text("UPDATE notices SET email_attempts = 2 WHERE id = :id"), {"id": waiting})
        sa_session().execute(text("UPDATE notices SET emailed_at = created_at WHERE id = :id"), {"id": mailed})
        sa_session().commit()
        db.session.remove()

        upgrade()
        queued = sa_session().scalars(select(OutboxMessage)).one()
        assert (queued.idempotency_key, queued.state, queued.attempts) == (f"notice-{waiting}", "pending", 2)
        assert queued.payload["to"] == "thuky@skhcn.example.vn" and queued.payload["title"] == "waiting"
        db.session.remove()

        downgrade(revision="0011")
        rows = sa_session().execute(text("SELECT id, emailed_at, email_attempts FROM notices ORDER BY id")).all()
        assert [(r[0], r[1] is None, r[2]) for r in rows] == [(waiting, True, 2), (mailed, False, 0), (_old, False, 0)]
        db.session.remove()
        upgrade()
        db.session.remove()


def test_accounts_get_the_unit_of_their_department_or_of_their_role(empty_db: str, tmp_path: Path) -> None:
    """Upgrading to each account's own unit: the department's unit first, else the unit of a role; an account
    with neither stays above the units."""
    from webapp.extensions import db, sa_session

    def run(sql: str) -> None:
        sa_session().execute(text(sql))

    with _app(empty_db, tmp_path).app_context():
        upgrade(revision="0016")
        run("INSERT INTO units (id, code, name, short_name, quality_policy) VALUES (1, 'a', 'A', '', ''), "
            "(2, 'b', 'B', '', '')")
        run("INSERT INTO departments (id, unit_id, code, name) VALUES (7, 2, 'vp', 'Văn phòng')")
        run("INSERT INTO users (id, username, full_name, title, email, password_hash, is_active, department_id) "
            "VALUES (1, 'trongphong', 'x', '', '', '-', true, 7), (2, 'lanhdao', 'y', '', '', '-', true, NULL), "
            "(3, 'quantri', 'z', '', '', '-', true, NULL)")
        run("INSERT INTO role_assignments (user_id, unit_id, role) VALUES (1, 1, 'specialist'), "
            "(2, 2, 'unit_leader'), (2, 1, 'unit_leader')")
        sa_session().commit()
        db.session.remove()
        upgrade()
        found = sa_session().execute(text("SELECT username, unit_id, must_change_password FROM users ORDER BY id"))
        assert [tuple(r) for r in found] == [("trongphong", 2, False), ("lanhdao", 1, False), ("quantri", None, False)]
        departments = sa_session().execute(text("SELECT is_active FROM departments")).scalars().all()
        assert departments == [True]
        db.session.remove()
