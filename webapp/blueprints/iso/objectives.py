"""The register of quality objectives: on the public portal, the unit's policy and its objectives of this year
first, then those of the other years (no login needed); for the unit's people, the register of every
objective in force with its target and the progress the yearly follow-up recorded, filterable by unit and
year and exportable as CSV/XLSX.

The objectives are written by the quality-objectives process (``bpmn/quality-objectives.bpmn``): its
publishing job (``engine.iso.objectives``) makes the approved set the unit's set of its year. Their progress
comes from the yearly follow-up (``bpmn/quality-objectives-followup.bpmn``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from engine import current_objectives, current_policy, objective_register, objective_sets, objectives, policy_text

from ...auth import login_required
from ...extensions import now, sa_session
from ..portal import unit_by_code
from . import register_page
from .register_pages import Table, export_format, instance_link, register_api, register_scope

bp = Blueprint("objectives", __name__)
register_page("objectives.register", lazy_gettext("Quality objectives and their progress"),
              lazy_gettext("Each objective in force, its target, responsible department and recorded progress."),
              order=20, count=objectives.count_rows)  # fmt: skip


@bp.get("/units/<code>/objectives")
def public(code: str) -> Any:
    unit = unit_by_code(code)
    current = current_objectives(sa_session(), unit.id, year=now().year)
    others = [s for s in objective_sets(sa_session(), unit.id) if s is not current]
    return render_template("iso/objectives.html", unit=unit, objective_set=current, other_sets=others,
                           policy=current_policy(sa_session(), unit.id),
                           policy_text=policy_text(sa_session(), unit))  # fmt: skip


def progress_names() -> dict[str, str]:
    return {"achieved": _("Achieved"), "on_track": _("On track"), "at_risk": _("At risk"),
            "not_achieved": _("Not achieved")}  # fmt: skip


def _columns() -> list[tuple[str, str]]:
    return [("unit", _("Unit")), ("year", _("Year")), ("objective", _("Objective")),
            ("target", _("Target and measure")), ("department", _("Responsible department")),
            ("deadline", _("Deadline")), ("status", _("Progress")), ("result", _("Result")),
            ("recorded_at", _("Evaluated")), ("set_instance", _("Approved by process")),
            ("progress_instance", _("Follow-up process"))]  # fmt: skip


def _row(r: Any, names: dict[str, str]) -> dict[str, Any]:
    return {
        "unit": r.objective_set.unit.name, "year": r.objective_set.year, "objective": r.objective.objective,
        "target": r.objective.target, "department": r.objective.department.name if r.objective.department else "",
        "deadline": r.objective.deadline, "status": names.get(r.progress.status, "") if r.progress else "",
        "result": r.progress.result if r.progress else "",
        "recorded_at": r.progress.recorded_at if r.progress else None,
        "set_instance": f"#{r.objective_set.instance_id}",
        "progress_instance": f"#{r.progress.instance_id}" if r.progress else "",
        "link": instance_link(r.objective_set.instance_id),
    }  # fmt: skip


TABLE = Table("muc-tieu-chat-luong", _columns, _row)


def _objectives() -> list[Any]:
    scope = register_scope()
    return objective_register(sa_session(), scope.unit_ids, unit_id=scope.unit_id, year=scope.year)


register_api("objectives", lazy_gettext("Quality objectives and their progress"), TABLE, _objectives,
             extra=lambda: (progress_names(),))


@bp.get("/iso/objectives")
@login_required
def register() -> Any:
    scope = register_scope()
    rows = objective_register(sa_session(), scope.unit_ids, unit_id=scope.unit_id, year=scope.year)
    names = progress_names()
    if fmt := export_format():
        return TABLE.export(rows, fmt, names)
    return render_template("iso/objective_register.html", rows=rows, scope=scope, names=names)
