"""The register of quality policies: every issue of each of the reader's units' policies, with its decision,
effective date and the process that issued it; filterable by unit, year and status, exportable as CSV/XLSX.

The policies are written by the quality-policy process (``bpmn/quality-policy.bpmn``): its publishing job
(``engine.iso.policy``) makes the approved text the unit's current policy. The public portal shows it on the
unit's page (``/units/<code>/objectives``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from engine import PolicyFilter, policies, policy

from ...auth import login_required
from ...extensions import sa_session
from . import register_page
from .register_pages import Table, export_format, instance_link, register_api, register_scope

bp = Blueprint("policy_register", __name__)
register_page("policy_register.index", lazy_gettext("Quality policies"),
              lazy_gettext("Every issue of the unit's quality policy, with its decision and effective date."),
              order=10, count=policy.count_rows)  # fmt: skip


def _columns() -> list[tuple[str, str]]:
    return [("unit", _("Unit")), ("issue", _("Issue")), ("text", _("Quality policy")), ("change_note", _("Changes")),
            ("decision_number", _("Decision")), ("effective_date", _("Effective date")), ("status", _("Status")),
            ("published_at", _("Published")), ("instance", _("Process"))]  # fmt: skip


def _row(p: Any) -> dict[str, Any]:
    return {
        "unit": p.unit.name, "issue": p.issue, "text": p.text, "change_note": p.change_note,
        "decision_number": p.decision_number, "effective_date": p.effective_date,
        "status": _("In force") if p.status == "current" else _("Superseded"), "published_at": p.published_at,
        "instance": f"#{p.instance_id}", "link": instance_link(p.instance_id),
    }  # fmt: skip


TABLE = Table("chinh-sach-chat-luong", _columns, _row)


def _policies() -> list[Any]:
    scope = register_scope()
    return policies(sa_session(), scope.unit_ids, PolicyFilter(scope.unit_id, scope.year, request.args.get("status")
                                                               or None))  # fmt: skip


register_api("policies", lazy_gettext("Quality policies"), TABLE, _policies)


@bp.get("/iso/policies")
@login_required
def index() -> Any:
    scope = register_scope()
    status = request.args.get("status") or None
    rows = policies(sa_session(), scope.unit_ids, PolicyFilter(scope.unit_id, scope.year, status))
    if fmt := export_format():
        return TABLE.export(rows, fmt)
    return render_template("iso/policies.html", rows=rows, scope=scope, status=status)
