"""Flask extensions, created without an app and attached in the factory; and the one place the web
layer gets its engine, deployer, database session and clock from."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import current_app
from flask_babel import Babel
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session

from engine import Base, Deployer, Engine

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()
csrf = CSRFProtect()


def engine() -> Engine:
    """The engine for this request: the request's session, the app's file store and the server process's
    workflow cache (a workflow another process changed since misses it: the cache is keyed by revision)."""
    return Engine(sa_session(), files=current_app.extensions["eiso_files"],
                  cache=current_app.extensions["eiso_workflow_cache"])  # fmt: skip


def deployer() -> Deployer:
    """A deployer for this request or command, with the server's registry of Camunda 7 Java delegates."""
    return Deployer(sa_session(), delegates=current_app.config["EISO_SETTINGS"].delegates)


def sa_session() -> Session:
    """The current SQLAlchemy session; the engine takes a plain ``Session``, not the scoped proxy."""
    return db.session()


def now() -> datetime:
    """The clock of the web layer; the engine always receives time as an argument."""
    return datetime.now(UTC)


@contextmanager
def kept_after_commit() -> Iterator[None]:
    """Inside, a commit leaves the session's rows as they were written instead of expiring them, so an answer
    built from what the command just wrote reads nothing again. For a view that answers with the rows of its
    one command, right after it."""
    session = sa_session()
    expiring = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = expiring
