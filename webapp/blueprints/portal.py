"""The public ISO portal: each unit's quality policy and current objectives, no login needed."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from engine.models import Unit
from engine.objectives import current_objectives

from ..extensions import sa_session

bp = Blueprint("portal", __name__)


def _unit(code: str) -> Unit:
    unit = sa_session().scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        abort(404)
    return unit


@bp.get("/units")
def units() -> Any:
    return render_template("portal/units.html", units=sa_session().scalars(select(Unit).order_by(Unit.name)).all())


@bp.get("/units/<code>/objectives")
def objectives(code: str) -> Any:
    unit = _unit(code)
    return render_template("portal/objectives.html", unit=unit, objective_set=current_objectives(sa_session(), unit.id))
