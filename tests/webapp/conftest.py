from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import Deployer
from engine.org.demo import load_demo
from tests.conftest import Clock, library_files
from tests.webapp.oidc_provider import oidc_provider, provider  # noqa: F401 - the OpenID provider fixtures
from webapp import create_app
from webapp.extensions import db
from webapp.settings import Settings


@pytest.fixture
def app_env() -> dict[str, str]:
    """The environment the app's settings are read from; a test module overrides it to set variables."""
    return {}


@pytest.fixture
def app(db_url: str, tmp_path: Path, clock: Clock, app_env: dict[str, str]) -> Iterator[Flask]:
    settings = Settings.from_env(app_env, database_url=db_url, instance_path=tmp_path / "instance", testing=True,
                                 secret_key="test-secret")  # fmt: skip
    application = create_app(settings)
    with application.app_context():
        load_demo(db.session)
        Deployer(db.session).deploy(library_files(), actor=None, now=clock.now, source="library")
        db.session.remove()
    yield application
    with application.app_context():
        db.session.remove()
        if db_url.startswith("sqlite"):
            db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def login(client: FlaskClient, username: str) -> FlaskClient:
    response = client.post("/login", data={"username": username, "password": "demo"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def basic(username: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:demo".encode()).decode()
    return {"Authorization": f"Basic {token}"}
