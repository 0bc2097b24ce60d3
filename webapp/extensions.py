"""Flask extensions, created without an app and attached in the factory."""

from flask_babel import Babel
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session

from engine.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()
csrf = CSRFProtect()


def sa_session() -> Session:
    """The current SQLAlchemy session; the engine takes a plain ``Session``, not the scoped proxy."""
    return db.session()
