"""The Alembic revisions build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from engine.models import Base
from tests.conftest import POSTGRES_URL, _postgres
from webapp import create_app
from webapp.settings import Settings


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_upgrade_matches_models(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    else:
        pg = _postgres()
        with pg.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        url = POSTGRES_URL
    app = create_app(Settings.from_env({}, database_url=url, instance_path=tmp_path, secret_key="x", testing=True))
    try:
        with app.app_context():
            upgrade()
        db = create_engine(url)
        with db.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        db.dispose()
        assert diff == []
    finally:
        if backend == "postgresql":
            pg = _postgres()
            with pg.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            Base.metadata.create_all(pg)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_database_with_work_in_it_downgrades_and_upgrades(backend: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from flask_migrate import downgrade
    from sqlalchemy import select

    from engine import Deployer, Engine
    from engine.demo import load_demo
    from engine.models import ProcessInstance, TaskRow, User
    from tests.conftest import library_files
    from webapp.extensions import db, sa_session

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    else:
        pg = _postgres()
        with pg.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        url = POSTGRES_URL
    app = create_app(Settings.from_env({}, database_url=url, instance_path=tmp_path, secret_key="x", testing=True))
    now = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    try:
        with app.app_context():
            upgrade()
            unit, _ = load_demo(sa_session())
            Deployer(sa_session()).deploy(library_files(), actor=None, now=now)
            thuky = sa_session().scalars(select(User).where(User.username == "thuky")).one()
            instance = Engine(sa_session()).start("quality_objectives", actor=thuky, unit_id=unit.id, now=now)
            instance_id = instance.id
            db.session.remove()
            downgrade(revision="0006")  # back across the versions, timers and jobs revisions
            upgrade()
            task = sa_session().scalars(select(TaskRow).where(TaskRow.instance_id == instance_id)).one()
            thuky = sa_session().scalars(select(User).where(User.username == "thuky")).one()
            Engine(sa_session()).claim(task.id, actor=thuky, now=now)  # the instance still works
            assert sa_session().get(ProcessInstance, instance_id) is not None
            assert Engine(sa_session()).active_definition("quality_objectives").version == 1
            db.session.remove()
    finally:
        if backend == "postgresql":
            pg = _postgres()
            with pg.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            Base.metadata.create_all(pg)
