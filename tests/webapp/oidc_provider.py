"""A real OpenID Connect provider for the tests (``tests/fixtures/oidc/provider.mjs``: the npm package
oidc-provider, started with Node over real HTTP), the eISO settings that point at it, and an eISO server on
a real port of its own, so the browser, eISO and the provider talk as they do in production."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from engine import Deployer
from engine.db import Base
from engine.org.demo import load_demo
from tests.conftest import Clock, library_files
from webapp import create_app
from webapp.extensions import db
from webapp.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "fixtures" / "oidc" / "provider.mjs"
CLIENT_ID = "eiso"
CLIENT_SECRET = "eiso-client-secret-for-tests"  # noqa: S105 - the test provider's client


def _missing(reason: str) -> None:
    if os.environ.get("EISO_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class Account:
    password: str
    claims: dict[str, Any]
    disabled: bool = False


@dataclass
class OidcProvider:
    """The running provider; its accounts and the eISO addresses it accepts are a JSON file it reads on
    every lookup, so a test changes them as an administrator of the provider would."""

    issuer: str
    state_file: Path
    accounts: dict[str, Account] = field(default_factory=dict)
    redirect_uris: list[str] = field(default_factory=list)
    post_logout_redirect_uris: list[str] = field(default_factory=list)

    def save(self) -> None:
        state = {
            "redirect_uris": self.redirect_uris,
            "post_logout_redirect_uris": self.post_logout_redirect_uris,
            "accounts": {sub: {"password": a.password, "claims": a.claims, "disabled": a.disabled}
                         for sub, a in self.accounts.items()},
        }  # fmt: skip
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(state), encoding="utf-8")
        temporary.replace(self.state_file)  # the provider never reads half a file

    def add(self, sub: str, password: str = "pw-" + "provider", **claims: Any) -> None:
        self.accounts[sub] = Account(password, claims)
        self.save()

    def remove(self, sub: str) -> None:
        del self.accounts[sub]
        self.save()

    def disable(self, sub: str) -> None:
        self.accounts[sub].disabled = True
        self.save()

    def accept(self, eiso_url: str) -> None:
        """Register an eISO server's callback and post-logout addresses for the client."""
        self.redirect_uris.append(f"{eiso_url}/login/oidc/callback")
        self.post_logout_redirect_uris.append(f"{eiso_url}/login")
        self.save()

    def reset(self) -> None:
        self.accounts.clear()
        self.redirect_uris.clear()
        self.post_logout_redirect_uris.clear()
        self.save()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    node = shutil.which("node")
    if node is None:
        _missing("Node.js is needed for the OpenID provider of the single sign-on tests (apt-get install nodejs)")
    if not (ROOT / "node_modules" / "oidc-provider").is_dir():
        _missing("node_modules/oidc-provider is missing: run scripts/setup --dev")
    state_file = tmp_path_factory.mktemp("oidc") / "provider.json"
    provider = OidcProvider(issuer="", state_file=state_file)
    provider.save()
    log = state_file.with_name("provider.log")  # its warnings and errors, read when it fails to start
    with log.open("w") as errors:
        process = subprocess.Popen([str(node), str(SCRIPT), str(state_file), CLIENT_ID, CLIENT_SECRET],  # noqa: S603
                                   stdout=subprocess.PIPE, stderr=errors, text=True, cwd=ROOT)  # fmt: skip
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready and process.stdout else ""
        if not line:
            process.kill()
            process.wait(timeout=10)
            pytest.fail(f"the OpenID provider did not start: {log.read_text()[-2000:]}")
        provider.issuer = json.loads(line)["issuer"]
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def provider(oidc_provider: OidcProvider) -> Iterator[OidcProvider]:
    """The session's provider with no accounts and no eISO addresses; what a test adds is gone afterwards."""
    oidc_provider.reset()
    yield oidc_provider
    oidc_provider.reset()


def sso_env(provider: OidcProvider, **more: str) -> dict[str, str]:
    return {
        "EISO_OIDC_ISSUER": provider.issuer,
        "EISO_OIDC_CLIENT_ID": CLIENT_ID,
        "EISO_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "EISO_OIDC_SCOPES": "openid profile email groups",
        "EISO_OIDC_NAME": "Keycloak tỉnh",
        **more,
    }


class LiveServer:
    """eISO on a free port of 127.0.0.1; the address is known before the app is made, because the app's
    public address (EISO_PUBLIC_URL) is the one the provider sends the browser back to."""

    def __init__(self) -> None:
        self.app: Callable[..., Any] | None = None
        self.httpd = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)

    def start(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def eiso_server(provider: OidcProvider, tmp_path: Path, clock: Clock, env: dict[str, str]) -> Iterator[tuple[str, Any]]:
    """An eISO server with the demo organisation and library (SQLite), single sign-on set by ``env``; CSRF
    protection on, as in production. Yields its address and the Flask app."""
    server = LiveServer()
    settings = Settings.from_env({**env, "EISO_PUBLIC_URL": server.url}, instance_path=tmp_path / "instance",
                                 secret_key="sso-test",
                                 database_url=f"sqlite:///{tmp_path / 'eiso.sqlite3'}")  # fmt: skip
    app = create_app(settings)
    with app.app_context():
        Base.metadata.create_all(db.engine)
        load_demo(db.session)
        Deployer(db.session).deploy(library_files(), actor=None, now=clock.now)
        db.session.remove()
    provider.accept(server.url)
    server.start(app)
    try:
        yield server.url, app
    finally:
        server.stop()
        with app.app_context():
            db.engine.dispose()
