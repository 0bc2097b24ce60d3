"""The register of nonconformities and corrective actions: filterable (unit, year, department, source, status,
overdue) and exportable (CSV, XLSX); every row links to the corrective-action instance that keeps it.

The rows come from ``engine.corrective_actions``, scoped there: the unit's ISO secretaries, leaders and internal
auditors read every row, a department head their department's. The process is ``bpmn/corrective-action.bpmn``
(started by the internal audit for each nonconformity, or by hand from the catalogue).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from engine import corrective_actions

from ...auth import login_required
from ...errors import N_
from ...extensions import now, sa_session
from . import register_page
from .register_pages import Table, instance_link, keyset, register_api
from .register_pages import names as named
from .register_pages import options as choices

bp = Blueprint("corrective_actions", __name__, url_prefix="/iso/corrective-actions")
register_page("corrective_actions.index", lazy_gettext("Nonconformities and corrective actions"),
              lazy_gettext("Each nonconformity with its correction, root cause, actions and verification."),
              order=60, count=corrective_actions.count_rows, by_code=True)  # fmt: skip

STATUS_NAMES = {
    "open": N_("Awaiting correction"), "in_progress": N_("Being carried out"),
    "awaiting_verification": N_("Awaiting verification"), "reopened": N_("Reopened"), "closed": N_("Closed"),
}  # fmt: skip
SOURCE_NAMES = {
    "audit": N_("Internal audit"), "complaint": N_("Complaint"), "management_review": N_("Management review"),
    "monitoring": N_("Process monitoring"), "other": N_("Other"),
}  # fmt: skip
VERIFICATION_NAMES = {"effective": N_("Effective"), "not_effective": N_("Not effective")}


def _gate() -> None:
    if not corrective_actions.may_read(sa_session(), g.user):
        abort(403, _("The corrective action register is read by a unit's ISO secretaries, leaders, internal auditors "
                     "and department heads."))  # fmt: skip


def _today() -> Any:
    return now().astimezone(corrective_actions.LOCAL_TZ).date()


def _actions(limit: int) -> list[corrective_actions.CorrectiveAction]:
    _gate()
    filters = corrective_actions.ActionFilter.parse(request.args)
    return corrective_actions.actions(sa_session(), g.user, filters, today=_today(), limit=limit)


def _action_page(after: list[Any] | None, limit: int) -> tuple[list[Any], list[Any] | None]:
    _gate()
    filters = corrective_actions.ActionFilter.parse(request.args)
    return corrective_actions.action_page(sa_session(), g.user, filters, today=_today(), after=after, limit=limit)


@bp.get("")
@login_required
def index() -> Any:
    session = sa_session()
    _gate()
    filters = corrective_actions.ActionFilter.parse(request.args)
    today = _today()
    if request.args.get("export"):
        return TABLE.export(_actions(50_000), request.args["export"], today)
    found, pager = keyset("corrective-actions", _action_page)
    rows = TABLE.rows(found, today)
    units = corrective_actions.readable_units(session, g.user)
    departments = sorted({d.code: d.name for u in units for d in u.departments}.items(), key=lambda item: item[1])
    return render_template("iso/corrective_actions.html", rows=rows, filters=filters,
                           units=[(u.code, u.name) for u in units],
                           departments=departments, statuses=choices(STATUS_NAMES), sources=choices(SOURCE_NAMES),
                           pager=pager)  # fmt: skip


def _row(action: corrective_actions.CorrectiveAction, today: Any) -> dict[str, Any]:
    return {
        "code": action.code, "unit": action.unit.name, "year": action.year, "department": action.department.name,
        "source": named(SOURCE_NAMES, action.source), "finding": action.finding_code,
        "description": action.description, "requirement": action.requirement, "detected_on": action.detected_on,
        "correction": action.correction, "root_cause": action.root_cause,
        "actions": [a.get("action", "") for a in action.actions],
        "owner": action.owner.full_name if action.owner else "",
        "due_on": action.due_on, "overdue": action.overdue(today), "status": named(STATUS_NAMES, action.status),
        "status_code": action.status, "verification": named(VERIFICATION_NAMES, action.verification),
        "verification_note": action.verification_note, "reopened": action.reopened, "closed_at": action.closed_at,
        "instance": action.instance_id, "link": instance_link(action.instance_id),
    }  # fmt: skip


def _columns() -> list[tuple[str, str]]:
    return [("code", _("Code")), ("unit", _("Unit")), ("year", _("Year")), ("department", _("Department")),
            ("source", _("Source")), ("finding", _("Audit finding")), ("description", _("Nonconformity")),
            ("requirement", _("Requirement not met")), ("detected_on", _("Detected")), ("correction", _("Correction")),
            ("root_cause", _("Root cause")), ("actions", _("Corrective actions")), ("owner", _("Owner")),
            ("due_on", _("Due")), ("status", _("Status")), ("verification", _("Verification")),
            ("verification_note", _("Verification note")), ("reopened", _("Times reopened")),
            ("closed_at", _("Closed")), ("instance", _("Process no."))]  # fmt: skip


TABLE = Table("hanh-dong-khac-phuc", _columns, _row)
register_api("corrective-actions", lazy_gettext("Nonconformities and corrective actions"), TABLE,
             lambda: _actions(50_000), extra=lambda: (_today(),), page=_action_page)
