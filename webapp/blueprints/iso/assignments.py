"""The register of ad hoc work: the jobs leaders assigned to departments, each department's part (who
handled it, when it reported, how often it was returned), the deadline and whether it was met; CSV and XLSX.

The rows are written by the ad hoc work process (``bpmn/adhoc-assignment.bpmn``) through the jobs of
``engine.iso.assignments``.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from engine import Unit, assignments, reviews

from ...auth import login_required
from ...extensions import now, sa_session
from . import register_page
from .register_pages import (
    Table,
    chosen_unit,
    department_code,
    export_format,
    instance_link,
    keyset,
    one_of,
    register_api,
    year,
)

bp = Blueprint("assignments", __name__)
register_page("assignments.index", lazy_gettext("Ad hoc work"),
              lazy_gettext("The jobs leaders assigned to departments, their deadlines and results."), order=90,
              count=assignments.count_rows, by_code=True)  # fmt: skip

STATUS_NAMES = {
    "in_progress": lazy_gettext("In progress"),
    "done": lazy_gettext("Done"),
    "overdue": lazy_gettext("Overdue"),
}
PART_NAMES = {
    "assigned": lazy_gettext("Assigned"),
    "handed_over": lazy_gettext("Handed to a specialist"),
    "reported": lazy_gettext("Reported"),
    "returned": lazy_gettext("Returned for rework"),
    "accepted": lazy_gettext("Accepted"),
}


def _today() -> date:
    return assignments.local_date(now())


def _filters(unit: Unit) -> assignments.AssignmentFilter:
    return assignments.AssignmentFilter(
        year=year(),
        status=one_of("status", STATUS_NAMES),
        department_id=department_code(unit),
        on_time={"yes": True, "no": False}.get(one_of("on_time", ("yes", "no")) or ""),
    )


def _result(found: assignments.Assignment | assignments.AssignmentPart) -> str:
    if found.on_time is None:
        return ""
    return str(_("On time") if found.on_time else _("Late"))


@bp.get("/iso/assignments")
@login_required
def index() -> Any:
    unit = chosen_unit()
    filters = _filters(unit)
    found, pager = keyset("assignments", partial(assignments.assignment_page, sa_session(), g.user, unit.id, filters,
                                                 _today()))  # fmt: skip
    return render_template(
        "iso/assignments.html",
        pager=pager,
        unit=unit,
        units=reviews.viewer_units(sa_session(), g.user),
        assignments=found,
        filters=filters,
        status_names=STATUS_NAMES,
        part_names=PART_NAMES,
        years=assignments.assignment_years(sa_session(), g.user, unit.id),
        today=_today(),
        result=_result,
        department=request.args.get("department", ""),
        on_time=request.args.get("on_time", ""),
    )


def _columns() -> list[tuple[str, str]]:
    return [("id", _("No.")), ("title", _("Job")), ("assigned_by", _("Assigned by")),
            ("assigned_at", _("Assigned on")), ("deadline", _("Deadline")), ("departments", _("Departments")),
            ("status", _("Status")), ("finished_at", _("Finished on")), ("result", _("Result")),
            ("returns", _("Reports returned")), ("instance", _("Process instance"))]  # fmt: skip


def _row(a: assignments.Assignment, today: date) -> dict[str, Any]:
    return {
        "id": a.id, "title": a.title, "assigned_by": a.assigned_by.full_name if a.assigned_by else "",
        "assigned_at": a.assigned_at, "deadline": a.deadline,
        "departments": [f"{p.department.name}: {PART_NAMES[p.status]}" for p in a.parts],
        "status": str(STATUS_NAMES["overdue" if a.overdue(today) else a.status]), "finished_at": a.finished_at,
        "result": _result(a), "returns": sum(p.returns for p in a.parts),
        "instance": instance_link(a.instance_id, external=True),
    }  # fmt: skip


TABLE = Table("cong-viec-dot-xuat", _columns, _row)


def _assignments() -> list[assignments.Assignment]:
    unit = chosen_unit()
    return assignments.list_assignments(sa_session(), g.user, unit.id, _filters(unit), _today())


def _assignment_page(after: list[Any] | None, limit: int) -> tuple[list[Any], list[Any] | None]:
    unit = chosen_unit()
    return assignments.assignment_page(sa_session(), g.user, unit.id, _filters(unit), _today(), after, limit)


register_api("assignments", lazy_gettext("Ad hoc work"), TABLE, _assignments,
             one=lambda assignment_id: assignments.get_assignment(sa_session(), g.user, assignment_id),
             extra=lambda: (_today(),), page=_assignment_page)


@bp.get("/iso/assignments/export")
@login_required
def export() -> Any:
    unit = chosen_unit()
    fmt = str(export_format(required=True))
    today = _today()
    found = assignments.list_assignments(sa_session(), g.user, unit.id, _filters(unit), today)
    return TABLE.export(found, fmt, today, filename=f"{TABLE.filename}-{unit.code}")


@bp.get("/iso/assignments/<int:assignment_id>")
@login_required
def detail(assignment_id: int) -> Any:
    found = assignments.get_assignment(sa_session(), g.user, assignment_id)
    unit = sa_session().get(Unit, found.unit_id)
    return render_template(
        "iso/assignment.html",
        assignment=found,
        unit=unit,
        status_names=STATUS_NAMES,
        part_names=PART_NAMES,
        result=_result,
        today=_today(),
    )
