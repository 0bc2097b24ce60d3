"""eISO served by a real HTTP server on a free localhost port, for real Camunda 7 clients to talk to.

CSRF protection is on, as in production: the clients never send a token, so every POST here also
shows that /engine-rest is exempt.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from engine import Deployer
from engine.org.demo import load_demo
from tests.conftest import FIXTURES, library_files
from webapp import create_app
from webapp.extensions import db
from webapp.settings import Settings

CAMUNDA_FIXTURES = FIXTURES / "camunda_rest"
ADMIN = ("admin", "demo")


@dataclass(frozen=True)
class Server:
    url: str
    """The Camunda REST base, as typed into Camunda Modeler: ``http://127.0.0.1:PORT/engine-rest``."""
    app: Any = None
    """The application behind it (for what a test sets up in its database)."""

    @property
    def api(self) -> str:
        return self.url.removesuffix("/engine-rest") + "/api/v1"

    def get(self, path: str, auth: tuple[str, str] = ADMIN, **kwargs: Any) -> requests.Response:
        return requests.get(self.url + path, auth=auth, timeout=10, **kwargs)

    def post(self, path: str, auth: tuple[str, str] = ADMIN, **kwargs: Any) -> requests.Response:
        return requests.post(self.url + path, auth=auth, timeout=40, **kwargs)

    def deploy(self, *names: str, auth: tuple[str, str] = ADMIN, **fields: str) -> requests.Response:
        """Files from tests/fixtures/camunda_rest as Camunda Modeler sends them (part name = file name)."""
        files = [(n, (n, (CAMUNDA_FIXTURES / n).read_bytes(), "application/octet-stream")) for n in names]
        data = {"deployment-name": names[0], "deployment-source": "Camunda Modeler",
                "enable-duplicate-filtering": "true", **fields}  # fmt: skip
        return self.post("/deployment/create", auth=auth, data=data, files=files)


@pytest.fixture
def eiso(db_url: str, tmp_path: Path) -> Iterator[Server]:
    settings = Settings.from_env({}, database_url=db_url, instance_path=tmp_path / "instance",
                                 secret_key="camunda-rest-test")  # fmt: skip
    app = create_app(settings)
    with app.app_context():
        load_demo(db.session)
        Deployer(db.session).deploy(library_files(), actor=None, now=datetime.now(UTC), source="library")
        db.session.remove()
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield Server(f"http://127.0.0.1:{httpd.server_port}/engine-rest", app)
    httpd.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def fixture_text(name: str) -> str:
    return (CAMUNDA_FIXTURES / name).read_text(encoding="utf-8")
