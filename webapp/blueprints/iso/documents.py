"""The register of controlled documents: every issue of the person's units' documents (current and superseded),
filtered and exported; one document with its current content and its revision log. Written by
``bpmn/document-control.bpmn`` (``engine.iso.documents``); files download through the instance's file store.
"""

from __future__ import annotations

import io
from functools import partial
from typing import Any

from flask import Blueprint, g, render_template, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from engine import documents

from ...auth import login_required
from ...downloads import as_attachment, safe_filename
from ...errors import N_
from ...extensions import engine, sa_session
from . import register_page
from .register_pages import Table, choices, export_format, keyset, link, names, one_of, register_api, whole_number

bp = Blueprint("documents", __name__)
register_page("documents.register", lazy_gettext("Controlled documents"),
              lazy_gettext("Every issue of the unit's controlled documents, in force and superseded."), order=70,
              count=lambda session, user, unit_id: documents.find_issues(
                  session, user, documents.IssueFilter(unit_id=unit_id), limit=0)[1])  # fmt: skip

KINDS = {"procedure": N_("Procedure"), "instruction": N_("Work instruction"), "regulation": N_("Regulation"),
         "manual": N_("Quality manual"), "form": N_("Form"), "other": N_("Other document")}  # fmt: skip
STATUSES = {"current": N_("In force"), "superseded": N_("Superseded")}
CHANGES = {"new": N_("First issue"), "revise": N_("Revision")}
SECTIONS = {"purpose": N_("Purpose"), "scope": N_("Scope"), "references": N_("References"),
            "definitions": N_("Definitions and abbreviations"), "steps": N_("Procedure steps"), "forms": N_("Forms"),
            "records": N_("Records kept")}  # fmt: skip


def _filters() -> documents.IssueFilter:
    return documents.IssueFilter(unit_id=whole_number("unit"), year=whole_number("year"),
                                 status=one_of("status", STATUSES), kind=one_of("kind", KINDS),
                                 department_id=whole_number("department"))  # fmt: skip


def _columns() -> list[tuple[str, str]]:
    return [
        ("code", _("Code")), ("title", _("Document title")), ("kind", _("Kind")), ("unit", _("Unit")),
        ("department", _("Department")), ("number", _("Issue")), ("status", _("Status")),
        ("issued_on", _("Issued on")), ("effective_on", _("In force from")), ("decision", _("Decision")),
        ("change", _("Change")), ("summary", _("What changed")), ("drafted_by", _("Drafted by")),
        ("reviewed_by", _("Reviewed by")), ("approved_by", _("Approved by")), ("distribution", _("Distributed to")),
        ("instance", _("Process")),
    ]  # fmt: skip


def _row(issue: Any) -> dict[str, Any]:
    document = issue.document
    return {
        "code": document.code, "title": issue.title, "kind": names(KINDS, document.kind), "unit": document.unit.name,
        "department": document.department.name if document.department else "", "number": issue.number,
        "status": names(STATUSES, issue.status), "issued_on": issue.issued_on, "effective_on": issue.effective_on,
        "decision": issue.decision_number, "change": names(CHANGES, issue.change_type), "summary": issue.change_summary,
        "drafted_by": issue.drafted_by, "reviewed_by": issue.reviewed_by, "approved_by": issue.approved_by,
        "distribution": [d["name"] for d in issue.distribution], "instance": issue.instance_id,
    }  # fmt: skip


TABLE = Table("danh-muc-tai-lieu", _columns, _row)
register_api("documents", lazy_gettext("Controlled documents"), TABLE,
             lambda: documents.find_issues(sa_session(), g.user, _filters())[0],
             page=lambda after, limit: documents.issue_page(sa_session(), g.user, _filters(), after, limit))


@bp.get("/iso/documents")
@login_required
def register() -> Any:
    filters = _filters()
    find = partial(documents.find_issues, sa_session(), g.user, filters)
    if fmt := export_format():
        return TABLE.export(find()[0], fmt)
    found, pager = keyset("documents", partial(documents.issue_page, sa_session(), g.user, filters),
                          partial(documents.count_issues, sa_session(), g.user, filters))  # fmt: skip
    return render_template("iso/documents.html", issues=found, pager=pager, filters=filters,
                           choices=choices(), link=link, kinds=KINDS, statuses=STATUSES, changes=CHANGES)  # fmt: skip


@bp.get("/iso/documents/<int:document_id>")
@login_required
def document(document_id: int) -> Any:
    found = documents.document_for(sa_session(), g.user, document_id)
    return render_template("iso/document.html", document=found, current=found.current, kinds=KINDS,
                           statuses=STATUSES, changes=CHANGES, sections=SECTIONS,
                           readable=documents.readable_issues(sa_session(), g.user, found))  # fmt: skip


@bp.get("/iso/documents/<int:document_id>/files/<file_id>")
@login_required
def file(document_id: int, file_id: str) -> Any:
    """A file of an issued document, for the people it was issued to (``documents.receives``)."""
    stored = documents.issued_file(sa_session(), g.user, document_id, file_id)
    data = engine().files.read(stored.storage_key)  # type: ignore[union-attr]
    response = send_file(io.BytesIO(data), mimetype=stored.content_type, as_attachment=True,
                         download_name=safe_filename(stored.filename))  # fmt: skip
    return as_attachment(response, stored.filename)
