"""The register of quality objectives on the public portal: the unit's current objectives, no login needed.

The objectives are written by the quality-objectives process (``bpmn/quality-objectives.bpmn``): its
publishing job (``engine.iso.objectives``) replaces the unit's current set once leadership approved it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from engine import current_objectives

from ...extensions import sa_session
from ..portal import unit_by_code

bp = Blueprint("objectives", __name__)


@bp.get("/units/<code>/objectives")
def public(code: str) -> Any:
    unit = unit_by_code(code)
    return render_template("iso/objectives.html", unit=unit, objective_set=current_objectives(sa_session(), unit.id))
