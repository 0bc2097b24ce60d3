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
