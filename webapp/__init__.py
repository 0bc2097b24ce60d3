"""The eISO web application: inbox, processes, instances, public portal and the JSON API."""

from __future__ import annotations

import threading
from time import monotonic
from typing import Any

from flask import Flask, g, request, session
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine as SAEngine
from werkzeug.middleware.proxy_fix import ProxyFix

from engine import FileStore, WorkflowCache, command_scanner

from .extensions import babel, csrf, db, migrate
from .extensions import now as now  # the clock, also for tests
from .settings import ROOT, Settings


def _select_locale() -> str:
    if request.path.startswith(("/api/", "/engine-rest/")):  # other systems say what they want in Accept-Language
        return request.accept_languages.best_match(["vi", "en"]) or str(g.get("default_locale", "vi"))
    chosen = session.get("locale")
    if chosen in ("vi", "en"):
        return str(chosen)
    return str(g.get("default_locale", "vi"))


@event.listens_for(SAEngine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLite: enforce foreign keys, let readers work during a write, and wait for a busy writer.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


# A pooled connection is tried with a round trip before use only when it sat unused longer than this (seconds):
# one used a moment ago is alive, and trying it before every transaction cost a round trip each (every firing of
# a timer, every API call). A connection the database dropped while it sat (a restart, a firewall's idle
# timeout) is found on checkout and replaced; SQLite's cannot drop.
PING_AFTER_IDLE = 1.0
_RETURNED = "eiso_returned"


def ping_after_idle(engine: SAEngine, idle: float = PING_AFTER_IDLE) -> None:
    """Have the engine's pool try a connection before handing it out if it sat unused longer than ``idle``."""
    if engine.dialect.name == "sqlite":
        return

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED] = monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED)  # none yet: a connection just made
        if returned is None or monotonic() - returned <= idle:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool replaces the connection and tries the new one
            raise exc.DisconnectionError(f"a pooled connection no longer answers: {error}") from error


def keep_prepared_statements(engine: SAEngine) -> None:
    """PostgreSQL through psycopg: a transaction rolled back leaves the connection's prepared statements in place.

    psycopg prepares a statement on a connection once it has run it five times, so PostgreSQL no longer parses
    and plans it at every run; but it forgets them all (and sends ``DEALLOCATE ALL``) whenever it sees a
    ``ROLLBACK``, in case the transaction had created or changed what they refer to. Every request that only
    reads ends with a rollback (the session's close, the pool's reset), so on a busy server hardly a statement
    stayed prepared long enough to be used: PostgreSQL planned nearly every statement anew. eISO's server and
    worker processes change no table on their connections (migrations run in ``eiso db upgrade``), so the
    rollback is sent to the server directly, where it undoes the transaction all the same, and psycopg keeps
    its statements. Anything but a clean rollback (a dropped connection, an unexpected state) takes psycopg's
    own path, which raises as before."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return
    from psycopg import pq

    standard = engine.dialect.do_rollback
    open_states = (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR)

    def rollback(dbapi_connection: Any) -> None:
        pgconn = dbapi_connection.pgconn
        if pgconn.transaction_status in open_states and pgconn.exec_(b"ROLLBACK").status == pq.ExecStatus.COMMAND_OK:
            return
        standard(dbapi_connection)

    engine.dialect.do_rollback = rollback  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_TRANSLATION_DIRECTORIES=str(ROOT / "webapp" / "translations"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        MAX_CONTENT_LENGTH=(settings.max_upload_mb + 5) * 1024 * 1024,
        TESTING=settings.testing,
        WTF_CSRF_ENABLED=not settings.testing,
        EISO_SETTINGS=settings,
    )
    _init_extensions(app, settings)
    app.extensions["eiso_long_poll"] = threading.BoundedSemaphore(settings.long_poll_slots)
    app.extensions["eiso_workflow_cache"] = WorkflowCache(settings.workflow_cache_size)
    app.extensions["eiso_files"] = FileStore(
        settings.instance_path / "files",
        max_bytes=settings.max_upload_mb * 1024 * 1024,
        scanner=command_scanner(settings.virus_scan_command) if settings.virus_scan_command else None,
    )
    _register_blueprints(app)
    if settings.proxy_count:
        n = settings.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    return app


def _init_extensions(app: Flask, settings: Settings) -> None:
    from .i18n import compile_catalogs, install_gettext
    from .ids import IdConverter

    app.url_map.converters["int"] = IdConverter
    compile_catalogs()
    db.init_app(app)
    with app.app_context():
        ping_after_idle(db.engine)
        keep_prepared_statements(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    babel.init_app(app, locale_selector=_select_locale)
    install_gettext(app)
    csrf.init_app(app)

    @app.before_request
    def _defaults() -> None:
        g.default_locale = settings.default_locale

    from jinja2 import ChoiceLoader, FileSystemLoader

    app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(str(ROOT / "forms" / "templates"))])  # type: ignore[list-item]


def _register_blueprints(app: Flask) -> None:
    from . import api_auth, auth, camunda_rest, commands, errors, expired, security, sso, views
    from .blueprints import (
        admin,
        api,
        definitions,
        dossiers,
        inbox,
        iso,
        jobs_api,
        messages_api,
        organisation,
        organisation_api,
        portal,
        processes,
        tokens,
    )
    from .blueprints.iso import (
        assignments,
        audits,
        complaints,
        corrective_actions,
        documents,
        objectives,
        reviews,
        risks,
    )

    security.register(app)
    app.before_request(auth.load_user)
    app.register_blueprint(auth.bp)
    sso.register(app)  # single sign-on through an OpenID provider, when EISO_OIDC_ISSUER is set
    app.register_blueprint(inbox.bp)
    app.register_blueprint(processes.bp)
    app.register_blueprint(definitions.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(dossiers.bp)
    app.register_blueprint(objectives.bp)
    app.register_blueprint(reviews.bp)
    app.register_blueprint(assignments.bp)
    app.register_blueprint(audits.bp)
    app.register_blueprint(corrective_actions.bp)
    app.register_blueprint(risks.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(complaints.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(jobs_api.bp)
    csrf.exempt(jobs_api.bp)
    app.register_blueprint(messages_api.bp)
    csrf.exempt(messages_api.bp)
    app.register_blueprint(messages_api.signals_bp)
    csrf.exempt(messages_api.signals_bp)
    app.register_blueprint(admin.bp)
    api_auth.register(app)
    app.register_blueprint(tokens.bp)
    app.register_blueprint(tokens.api_bp)
    csrf.exempt(tokens.api_bp)
    app.register_blueprint(organisation.bp)
    app.register_blueprint(organisation_api.bp)
    csrf.exempt(organisation_api.bp)
    csrf.exempt(api.bp)
    app.register_blueprint(camunda_rest.bp)  # Camunda 7 REST subset under /engine-rest (HTTP Basic, no cookies)
    for exempt in camunda_rest.BLUEPRINTS:
        csrf.exempt(exempt)
    for register in iso.discover():  # every register's pages: one file each in blueprints/iso/
        if register.name not in app.blueprints:
            app.register_blueprint(register)
    errors.register(app)
    expired.register(app)
    views.register(app)
    commands.register(app)
