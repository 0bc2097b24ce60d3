"""The register of complaints and feedback: every complaint of the person's units with its department, time limit
and on-time result, the answer and the complainant's satisfaction, filtered, summed up and exported. Written by
``bpmn/complaint-handling.bpmn`` (``engine.iso.complaints``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Blueprint, g, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from engine import complaints

from ...auth import login_required
from ...errors import N_
from ...extensions import now, sa_session
from . import register_page
from .register_pages import Table, choices, export_format, keyset, link, names, one_of, register_api, whole_number

bp = Blueprint("complaints", __name__)
register_page("complaints.register", lazy_gettext("Complaints and feedback"),
              lazy_gettext("Complaints and feedback received, with their answer, time limit and satisfaction."),
              order=80, count=lambda session, user, unit_id: complaints.find_complaints(
                  session, user, complaints.ComplaintFilter(unit_id=unit_id), now=now(), limit=0)[1])  # fmt: skip

KINDS = {"complaint": N_("Complaint about the service"), "suggestion": N_("Suggestion"), "feedback": N_("Feedback"),
         "praise": N_("Praise")}  # fmt: skip
SOURCES = {"citizen": N_("Citizen"), "business": N_("Business or organisation"), "staff": N_("Staff member"),
           "agency": N_("Another agency")}  # fmt: skip
CHANNELS = {"in_person": N_("In person"), "phone": N_("Telephone"), "email": N_("E-mail"), "portal": N_("Portal"),
            "post": N_("Letter"), "box": N_("Suggestion box")}  # fmt: skip
STATUSES = {"received": N_("Newly received"), "assigned": N_("Being answered"), "answered": N_("Answer sent"),
            "closed": N_("Finished")}  # fmt: skip
TIMELINESS = {"on_time": N_("Answered on time"), "late": N_("Answered late"), "overdue": N_("Overdue"),
              "pending": N_("Within the time limit")}  # fmt: skip
FINDINGS = {"justified": N_("Justified"), "partly": N_("Partly justified"), "unjustified": N_("Not justified"),
            "noted": N_("Noted")}  # fmt: skip
SATISFACTION = {"very_satisfied": N_("Very satisfied"), "satisfied": N_("Satisfied"), "neutral": N_("Neutral"),
                "dissatisfied": N_("Dissatisfied"), "": N_("Not reached")}  # fmt: skip


def _filters() -> complaints.ComplaintFilter:
    return complaints.ComplaintFilter(
        unit_id=whole_number("unit"), year=whole_number("year"), status=one_of("status", STATUSES),
        department_id=whole_number("department"), kind=one_of("kind", KINDS), source=one_of("source", SOURCES),
        timeliness=one_of("timeliness", TIMELINESS),
    )  # fmt: skip


def _columns() -> list[tuple[str, str]]:
    return [
        ("code", _("Code")), ("received_at", _("Received")), ("unit", _("Unit")), ("kind", _("Kind")),
        ("source", _("Sender")), ("channel", _("Channel")), ("complainant", _("Complainant")),
        ("subject", _("Subject")), ("department", _("Department")), ("answer_days", _("Time limit (working days)")),
        ("due_at", _("Answer due")), ("answered_at", _("Answered")), ("timeliness", _("On-time result")),
        ("finding", _("Verification result")), ("satisfaction", _("Satisfaction")), ("status", _("Status")),
        ("instance", _("Process")),
    ]  # fmt: skip


def _row(complaint: Any, at: Any) -> dict[str, Any]:
    return {
        "code": complaint.code, "received_at": complaint.received_at, "unit": complaint.unit.name,
        "kind": names(KINDS, complaint.kind), "source": names(SOURCES, complaint.source),
        "channel": names(CHANNELS, complaint.channel), "complainant": complaint.complainant,
        "subject": complaint.subject, "department": complaint.department.name if complaint.department else "",
        "answer_days": complaint.answer_days, "due_at": complaint.due_at, "answered_at": complaint.answered_at,
        "timeliness": names(TIMELINESS, complaint.timeliness(at)), "finding": names(FINDINGS, complaint.finding),
        "satisfaction": names(SATISFACTION, complaint.satisfaction) if complaint.status == "closed" else "",
        "status": names(STATUSES, complaint.status),
        "instance": complaint.instance_id,
    }  # fmt: skip


TABLE = Table("so-theo-doi-phan-anh", _columns, _row)
register_api("complaints", lazy_gettext("Complaints and feedback"), TABLE,
             lambda: complaints.find_complaints(sa_session(), g.user, _filters(), now=now())[0],
             one=lambda complaint_id: complaints.complaint_for(sa_session(), g.user, complaint_id),
             extra=lambda: (now(),),
             page=lambda after, limit: complaints.complaint_page(sa_session(), g.user, _filters(), now=now(),
                                                                 after=after, limit=limit))  # fmt: skip


@bp.get("/iso/complaints")
@login_required
def register() -> Any:
    filters, at = _filters(), now()
    find = partial(complaints.find_complaints, sa_session(), g.user, filters, now=at)
    if fmt := export_format():
        return TABLE.export(find()[0], fmt, at)
    found, pager = keyset("complaints", lambda after, limit: complaints.complaint_page(
        sa_session(), g.user, filters, now=at, after=after, limit=limit),
        lambda: complaints.count_complaints(sa_session(), g.user, filters, now=at))  # fmt: skip
    return render_template("iso/complaints.html", complaints=found, pager=pager, filters=filters,
                           choices=choices(), link=link, summary=complaints.summary(sa_session(), g.user, filters,
                                                                                     now=at),
                           now=at, kinds=KINDS, sources=SOURCES, statuses=STATUSES, timeliness=TIMELINESS,
                           satisfaction=SATISFACTION)  # fmt: skip


@bp.get("/iso/complaints/<int:complaint_id>")
@login_required
def complaint(complaint_id: int) -> Any:
    found = complaints.complaint_for(sa_session(), g.user, complaint_id)
    return render_template("iso/complaint.html", complaint=found, now=now(), kinds=KINDS, sources=SOURCES,
                           channels=CHANNELS, statuses=STATUSES, timeliness=TIMELINESS, findings=FINDINGS,
                           satisfaction=SATISFACTION)  # fmt: skip
