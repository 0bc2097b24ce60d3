"""What the registers' job handlers share when they read a job's data: a text cut to its column, a date, the
rows of a dynamic list, a code that must be one of a few, and the register row its process instance keeps.

A value that cannot be read is refused with an :class:`EngineError` naming it (the job fails and the incident
says why), never stored half-read. Not a register: it has no table and imports no register.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import select

from engine.errors import EngineError, Phrase
from engine.runtime.handlers import JobContext

Row = TypeVar("Row")


def text(value: Any, limit: int | None = None) -> str:
    """A form's text, trimmed and cut to ``limit`` characters (the column's width); nothing is ``""``."""
    found = "" if value is None else str(value).strip()
    return found[:limit] if limit else found


def day(value: Any, what: Any = None) -> date | None:
    """A form's date (``YYYY-MM-DD``, a timestamp's date part too); nothing is None. ``what`` names the field
    in the refusal."""
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        if what is not None:
            raise EngineError("%(what)s: '%(value)s' is not a date (expected YYYY-MM-DD).", what=what,
                              value=str(value)[:40])  # fmt: skip
        raise EngineError("'%(value)s' is not a date (expected YYYY-MM-DD).", value=str(value)[:40])


def rows(value: Any) -> list[Any]:
    """The rows of a dynamic list (each a mapping); anything else in it is passed over."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def one_of(value: Any, allowed: Sequence[str], what: Any) -> str:
    """A code that must be one of ``allowed``."""
    if value not in allowed:
        raise EngineError("%(what)s must be one of %(allowed)s, not '%(value)s'.", what=what,
                          allowed=", ".join(allowed), value=value)  # fmt: skip
    return str(value)


def row_of(job: JobContext, model: type[Row], missing: Phrase) -> Row:
    """The register row (of ``model``, which has an ``instance_id``) that the job's process instance keeps;
    ``missing`` says what step has not run when there is none."""
    query: Any = select(model).where(model.instance_id == job.instance.id)  # type: ignore[attr-defined]
    found = job.session.scalar(query)
    if found is None:
        raise EngineError(missing)
    return found
