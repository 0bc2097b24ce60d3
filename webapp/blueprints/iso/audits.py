"""The internal audit register's pages: programmes with their rounds, and the findings, each filterable and
exportable (CSV, XLSX); every row links to the audit instance that wrote it.

The rows come from ``engine.audits`` (its tables, scoped there to the units and departments the person reads:
the unit's ISO secretaries, leaders and internal auditors read everything, a department head their
department's findings). The process that writes them is ``bpmn/internal-audit.bpmn``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Blueprint, abort, g, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from engine import audits, corrective_actions

from ...auth import login_required
from ...errors import N_
from ...extensions import sa_session
from . import register_page
from .corrective_actions import STATUS_NAMES as ACTION_STATUS_NAMES
from .register_pages import Table, instance_link, keyset, register_api
from .register_pages import names as named
from .register_pages import options as choices

bp = Blueprint("audits", __name__, url_prefix="/iso/audits")
register_page("audits.programmes", lazy_gettext("Internal audit programmes"),
              lazy_gettext("The yearly audit programmes with their rounds, departments audited and conclusions."),
              order=50, count=audits.count_rows, by_code=True)  # fmt: skip
register_page("audits.findings", lazy_gettext("Audit findings"),
              lazy_gettext("Nonconformities, observations and opportunities for improvement found by the audits."),
              order=55, count=audits.count_findings, by_code=True)  # fmt: skip

CLASSIFICATION_NAMES = {
    "nonconformity": N_("Nonconformity"), "observation": N_("Observation"),
    "improvement": N_("Opportunity for improvement"),
}  # fmt: skip
FINDING_STATUS_NAMES = {
    "open": N_("Awaiting conclusion"), "corrective_action": N_("Being corrected"), "noted": N_("Noted"),
    "closed": N_("Corrected"),
}  # fmt: skip
PROGRAMME_STATUS_NAMES = {"approved": N_("Approved"), "in_progress": N_("Auditing"), "concluded": N_("Concluded")}
ROUND_STATUS_NAMES = {"planned": N_("Planned"), "audited": N_("Audited"), "concluded": N_("Concluded")}
DECISION_NAMES = {"close": N_("Programme closed"), "further_audit": N_("Further audit")}


def _gate() -> None:
    if not audits.may_read(sa_session(), g.user):
        abort(403, _("The internal audit register is read by a unit's ISO secretaries, leaders, internal auditors "
                     "and department heads."))  # fmt: skip


@bp.get("")
@login_required
def programmes() -> Any:
    session = sa_session()
    if request.args.get("export"):
        return ROUNDS.export(_programmes(50_000)[2], request.args["export"])
    filters = _programme_filter()
    rows, pager = keyset("audit-programmes", _programme_page)
    units = _options(audits.readable_units(session, g.user))
    return render_template("iso/audits.html", rows=rows, filters=filters, units=units, pager=pager,
                           statuses=choices(PROGRAMME_STATUS_NAMES))  # fmt: skip


@bp.get("/findings")
@login_required
def findings() -> Any:
    session = sa_session()
    if request.args.get("export"):
        return FINDINGS.export(_findings(50_000)[2], request.args["export"])
    filters = _finding_filter()
    rows, pager = keyset("audit-findings", _finding_page)
    units = audits.readable_units(session, g.user)
    return render_template("iso/audit_findings.html", rows=rows, filters=filters, units=_options(units),
                           departments=_departments(units), statuses=choices(FINDING_STATUS_NAMES),
                           classifications=choices(CLASSIFICATION_NAMES), pager=pager)  # fmt: skip


def _programme_filter() -> audits.AuditFilter:
    _gate()
    return audits.AuditFilter.parse(request.args, statuses=audits.PROGRAMME_STATUSES)


def _finding_filter() -> audits.AuditFilter:
    _gate()
    return audits.AuditFilter.parse(request.args, statuses=audits.FINDING_STATUSES)


def _programme_rows(found: list[audits.AuditProgramme]) -> list[dict[str, Any]]:
    """The programmes' rows, one per round."""
    counts = audits.finding_counts(sa_session(), [r.id for p in found for r in p.rounds])
    return list(_round_rows(found, counts))


def _finding_rows(found: list[audits.AuditFinding]) -> list[dict[str, Any]]:
    """The findings' rows, each with its corrective action."""
    actions = corrective_actions.for_findings(sa_session(), [f.id for f in found])
    return [_finding_row(f, actions.get(f.id)) for f in found]


def _programmes(limit: int) -> tuple[audits.AuditFilter, list[audits.AuditProgramme], list[dict[str, Any]]]:
    """The filters, the programmes they select and their rows (one per round): the export."""
    filters = _programme_filter()
    found = audits.programmes(sa_session(), g.user, filters, limit=limit)
    return filters, found, _programme_rows(found)


def _findings(limit: int) -> tuple[audits.AuditFilter, list[audits.AuditFinding], list[dict[str, Any]]]:
    """The filters, the findings they select and their rows: the export."""
    filters = _finding_filter()
    found = audits.findings(sa_session(), g.user, filters, limit=limit)
    return filters, found, _finding_rows(found)


def _programme_page(after: list[Any] | None, limit: int) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """A page of programmes (``limit`` programmes, each with its rounds as rows)."""
    found, key = audits.programme_page(sa_session(), g.user, _programme_filter(), after, limit)
    return _programme_rows(found), key


def _finding_page(after: list[Any] | None, limit: int) -> tuple[list[dict[str, Any]], list[Any] | None]:
    found, key = audits.finding_page(sa_session(), g.user, _finding_filter(), after, limit)
    return _finding_rows(found), key


def _options(units: Iterable[Any]) -> list[tuple[str, str]]:
    return [(u.code, u.name) for u in units]


def _departments(units: Iterable[Any]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for unit in units:
        for department in unit.departments:
            seen.setdefault(department.code, department.name)
    return sorted(seen.items(), key=lambda item: item[1])


def _round_rows(found: list[audits.AuditProgramme], counts: dict[int, dict[str, int]]) -> Iterable[dict[str, Any]]:
    for programme in found:
        base = {"unit": programme.unit.name, "year": programme.year, "programme": programme.title,
                "programme_status": named(PROGRAMME_STATUS_NAMES, programme.status),
                "approved_at": programme.approved_at, "instance": programme.instance_id,
                "link": instance_link(programme.instance_id)}  # fmt: skip
        if not programme.rounds:
            yield base
        for audit_round in programme.rounds:
            counted = counts.get(audit_round.id, {})
            yield {**base, "round": audit_round.number, "round_title": audit_round.title,
                   "starts_on": audit_round.starts_on, "ends_on": audit_round.ends_on,
                   "departments": [a.department.name for a in audit_round.assignments],
                   "nonconformities": counted.get("nonconformity", 0), "observations": counted.get("observation", 0),
                   "improvements": counted.get("improvement", 0),
                   "round_status": named(ROUND_STATUS_NAMES, audit_round.status),
                   "decision": named(DECISION_NAMES, audit_round.decision),
                   "conclusion": audit_round.conclusion}  # fmt: skip


def _round_columns() -> list[tuple[str, str]]:
    return [("unit", _("Unit")), ("year", _("Year")), ("programme", _("Audit programme")),
            ("programme_status", _("Programme status")), ("approved_at", _("Approved")), ("round", _("Round")),
            ("round_title", _("Audit round")), ("starts_on", _("From")), ("ends_on", _("To")),
            ("departments", _("Departments audited")), ("nonconformities", _("Nonconformities")),
            ("observations", _("Observations")), ("improvements", _("Opportunities for improvement")),
            ("round_status", _("Round status")), ("decision", _("Decision")), ("conclusion", _("Conclusion")),
            ("instance", _("Process no."))]  # fmt: skip


def _finding_row(finding: audits.AuditFinding, action: corrective_actions.CorrectiveAction | None) -> dict[str, Any]:
    assignment = finding.assignment
    return {
        "code": finding.code, "unit": finding.unit.name, "year": finding.year, "round": finding.round.title,
        "department": finding.department.name, "classification_code": finding.classification,
        "classification": named(CLASSIFICATION_NAMES, finding.classification), "clause": finding.clause,
        "description": finding.description, "evidence": finding.evidence, "auditor": assignment.auditor.full_name,
        "audit_date": assignment.audit_date, "files": [f.get("name", "") for f in assignment.evidence],
        "file_links": [(f.get("name", ""), f.get("url", "")) for f in assignment.evidence],
        "status": named(FINDING_STATUS_NAMES, finding.status), "status_code": finding.status,
        "action": action.code if action else "", "action_status": named(ACTION_STATUS_NAMES, action.status) if action
        else "", "action_instance": action.instance_id if action else None,
        "recorded_at": finding.recorded_at, "instance": finding.instance_id,
        "link": instance_link(finding.instance_id),
    }  # fmt: skip


def _finding_columns() -> list[tuple[str, str]]:
    return [("code", _("Code")), ("unit", _("Unit")), ("year", _("Year")), ("round", _("Audit round")),
            ("department", _("Department")), ("classification", _("Classification")), ("clause", _("Clause")),
            ("description", _("Finding")), ("evidence", _("Objective evidence")), ("auditor", _("Auditor")),
            ("audit_date", _("Audit date")), ("files", _("Evidence files")), ("status", _("Status")),
            ("action", _("Corrective action")), ("action_status", _("Corrective action status")),
            ("recorded_at", _("Recorded")), ("instance", _("Process no."))]  # fmt: skip


# The rows are built for the page (a programme's rounds flattened, a finding with its corrective action) and
# exported as they are.
ROUNDS = Table("chuong-trinh-danh-gia-noi-bo", _round_columns, dict)
FINDINGS = Table("phat-hien-danh-gia-noi-bo", _finding_columns, dict)
register_api("audit-programmes", lazy_gettext("Internal audit programmes"), ROUNDS, lambda: _programmes(50_000)[2],
             page=_programme_page)
register_api("audit-findings", lazy_gettext("Audit findings"), FINDINGS, lambda: _findings(50_000)[2],
             page=_finding_page)
