"""The risk register: every risk of the person's units with its score, priority, treatment and owner, filtered
and exported; one risk with its review history. Written by ``bpmn/risk-management.bpmn`` (``engine.iso.risks``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Blueprint, g, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from engine import risks

from ...auth import login_required
from ...errors import N_
from ...extensions import sa_session
from . import register_page
from .register_pages import Table, choices, export_format, keyset, link, names, one_of, register_api, whole_number

bp = Blueprint("risks", __name__)
register_page("risks.register", lazy_gettext("Risk register"),
              lazy_gettext("Risks and opportunities with their score, priority, treatment and monitoring."), order=30,
              count=lambda session, user, unit_id: risks.find_risks(session, user, risks.RiskFilter(unit_id=unit_id),
                                                                    limit=0)[1])  # fmt: skip

LEVELS = {"critical": N_("Very high"), "high": N_("High"), "medium": N_("Medium"), "low": N_("Low")}
STATUSES = {"open": N_("Being monitored"), "closed": N_("Closed"), "transferred": N_("Left to the next assessment")}
TREATMENTS = {"reduce": N_("Reduce"), "avoid": N_("Avoid"), "transfer": N_("Transfer or share"),
              "accept": N_("Accept and monitor")}  # fmt: skip
ACTION_STATUSES = {"not_started": N_("Not started"), "in_progress": N_("In progress"), "done": N_("Done"),
                   "none": N_("No action")}  # fmt: skip
EFFECTIVENESS = {"effective": N_("Effective"), "not_effective": N_("Not yet effective"),
                 "not_evaluated": N_("Not evaluated")}  # fmt: skip


def _filters() -> risks.RiskFilter:
    return risks.RiskFilter(
        unit_id=whole_number("unit"), year=whole_number("year"), status=one_of("status", STATUSES),
        level=one_of("level", LEVELS), department_id=whole_number("department"),
        assessment_id=whole_number("assessment"),
    )  # fmt: skip


def _columns() -> list[tuple[str, str]]:
    return [
        ("code", _("Code")), ("unit", _("Unit")), ("department", _("Department")), ("description", _("Risk")),
        ("activity", _("Process or activity")), ("severity", _("Severity")), ("likelihood", _("Likelihood")),
        ("score", _("Score")), ("level", _("Level")), ("treatment", _("Treatment")), ("action", _("Action")),
        ("owner", _("Owner")), ("due_date", _("Due")), ("action_status", _("Progress")),
        ("effectiveness", _("Effectiveness")), ("status", _("Status")), ("reviewed_at", _("Last reviewed")),
        ("assessment", _("Assessment")), ("year", _("Year")), ("instance", _("Process")),
    ]  # fmt: skip


def _row(risk: Any) -> dict[str, Any]:
    return {
        "code": risk.code, "unit": risk.unit.name, "department": risk.department.name if risk.department else "",
        "description": risk.description, "activity": risk.activity, "severity": risk.severity,
        "likelihood": risk.likelihood, "score": risk.score, "level": names(LEVELS, risk.level),
        "treatment": names(TREATMENTS, risk.treatment), "action": risk.action, "owner": risk.owner,
        "due_date": risk.due_date, "action_status": names(ACTION_STATUSES, risk.action_status),
        "effectiveness": names(EFFECTIVENESS, risk.effectiveness), "status": names(STATUSES, risk.status),
        "reviewed_at": risk.reviewed_at, "assessment": risk.assessment.title, "year": risk.assessment.year,
        "instance": risk.instance_id,
    }  # fmt: skip


TABLE = Table("so-theo-doi-rui-ro", _columns, _row)
register_api("risks", lazy_gettext("Risk register"), TABLE,
             lambda: risks.find_risks(sa_session(), g.user, _filters())[0],
             one=lambda risk_id: risks.risk_for(sa_session(), g.user, risk_id),
             page=lambda after, limit: risks.risk_page(sa_session(), g.user, _filters(), after, limit))  # fmt: skip


@bp.get("/iso/risks")
@login_required
def register() -> Any:
    filters = _filters()
    find = partial(risks.find_risks, sa_session(), g.user, filters)
    if fmt := export_format():
        return TABLE.export(find()[0], fmt)
    found, pager = keyset("risks", partial(risks.risk_page, sa_session(), g.user, filters),
                          partial(risks.count_risks, sa_session(), g.user, filters))  # fmt: skip
    return render_template("iso/risks.html", risks=found, pager=pager, filters=filters,
                           choices=choices(), assessments=risks.assessments_of(sa_session(), g.user), link=link,
                           levels=LEVELS, statuses=STATUSES, treatments=TREATMENTS,
                           action_statuses=ACTION_STATUSES, untreated=risks.untreated)  # fmt: skip


@bp.get("/iso/risks/<int:risk_id>")
@login_required
def risk(risk_id: int) -> Any:
    found = risks.risk_for(sa_session(), g.user, risk_id)
    return render_template("iso/risk.html", risk=found, levels=LEVELS, statuses=STATUSES, treatments=TREATMENTS,
                           action_statuses=ACTION_STATUSES, effectiveness=EFFECTIVENESS,
                           untreated=risks.untreated(found))  # fmt: skip
