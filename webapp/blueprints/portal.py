"""The public ISO portal: the units and each unit's published procedures, no login needed. Each ISO
register adds its own public pages (``webapp/blueprints/iso/``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _
from sqlalchemy import select

from engine import ProcessDefinition, Unit, versions

from ..extensions import sa_session
from .definitions import send_model_file, viewer_available

bp = Blueprint("portal", __name__)


def unit_by_code(code: str) -> Unit:
    """The unit of a portal address, or 404."""
    unit = sa_session().scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        abort(404)
    return unit


def _procedure(unit: Unit, key: str) -> ProcessDefinition:
    found = versions.published_procedure(sa_session(), unit.id, key)
    if found is None:
        abort(404, _("This unit has published no procedure with that name."))
    return found


@bp.get("/units")
def units() -> Any:
    return render_template("portal/units.html", units=sa_session().scalars(select(Unit).order_by(Unit.name)).all())


@bp.get("/units/<code>/processes")
def processes(code: str) -> Any:
    unit = unit_by_code(code)
    return render_template("portal/processes.html", unit=unit, procedures=versions.published(sa_session(), unit.id))


@bp.get("/units/<code>/processes/<key>")
def procedure(code: str, key: str) -> Any:
    unit = unit_by_code(code)
    return render_template("portal/procedure.html", unit=unit, definition=_procedure(unit, key),
                           viewer_available=viewer_available())  # fmt: skip


@bp.get("/units/<code>/processes/<key>/diagram")
def diagram(code: str, key: str) -> Any:
    unit = unit_by_code(code)
    return send_model_file(_procedure(unit, key).bpmn_file)
