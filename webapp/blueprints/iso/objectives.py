"""The register of quality objectives on the public portal: the unit's objectives of this year first, then
those of the other years, no login needed.

The objectives are written by the quality-objectives process (``bpmn/quality-objectives.bpmn``): its
publishing job (``engine.iso.objectives``) makes the approved set the unit's set of its year.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from engine import current_objectives, objective_sets

from ...extensions import now, sa_session
from ..portal import unit_by_code

bp = Blueprint("objectives", __name__)


@bp.get("/units/<code>/objectives")
def public(code: str) -> Any:
    unit = unit_by_code(code)
    current = current_objectives(sa_session(), unit.id, year=now().year)
    others = [s for s in objective_sets(sa_session(), unit.id) if s is not current]
    return render_template("iso/objectives.html", unit=unit, objective_set=current, other_sets=others,
                           policy=None, policy_text=unit.quality_policy)  # fmt: skip
