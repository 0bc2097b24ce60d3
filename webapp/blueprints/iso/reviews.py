"""The register of management reviews: each review of a unit with the inputs reported, its conclusion,
decisions and actions; the actions across reviews with their owners, due dates and status; CSV and XLSX.

The rows are written by the management-review process (``bpmn/management-review.bpmn``) through the jobs of
``engine.iso.reviews``; here people read them, and the owners of an action say how far it is.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from engine import Unit, reviews

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

bp = Blueprint("reviews", __name__)
register_page("reviews.index", lazy_gettext("Management reviews"),
              lazy_gettext("Each management review with its inputs, conclusion and decisions."), order=40,
              count=reviews.count_rows, by_code=True)  # fmt: skip
register_page("reviews.actions", lazy_gettext("Actions decided by the reviews"),
              lazy_gettext("The actions of the management reviews with their owners, due dates and status."),
              order=45, count=reviews.count_actions, by_code=True)  # fmt: skip

TOPIC_NAMES = {
    "previous_actions": lazy_gettext("a) Status of actions from previous management reviews"),
    "context_changes": lazy_gettext(
        "b) Changes in external and internal issues relevant to the quality management system"
    ),
    "customer_feedback": lazy_gettext(
        "c1) Satisfaction of citizens and organisations, feedback from interested parties"
    ),
    "objectives": lazy_gettext("c2) Extent to which quality objectives have been met"),
    "process_performance": lazy_gettext("c3) Process performance and conformity of results"),
    "nonconformities": lazy_gettext("c4) Nonconformities and corrective actions"),
    "monitoring": lazy_gettext("c5) Monitoring and measurement results"),
    "audit_results": lazy_gettext("c6) Audit results"),
    "providers": lazy_gettext("c7) Performance of external providers"),
    "resources": lazy_gettext("d) Adequacy of resources"),
    "risk_actions": lazy_gettext("e) Effectiveness of actions taken to address risks and opportunities"),
    "improvement": lazy_gettext("f) Opportunities for improvement"),
}
STATUS_NAMES = {
    "reporting": lazy_gettext("Departments reporting"),
    "consolidating": lazy_gettext("Consolidating and meeting"),
    "concluded": lazy_gettext("Concluded"),
}
ACTION_NAMES = {
    "open": lazy_gettext("Not started"),
    "in_progress": lazy_gettext("In progress"),
    "done": lazy_gettext("Done"),
    "cancelled": lazy_gettext("Cancelled"),
    "overdue": lazy_gettext("Overdue"),
}


def _today() -> date:
    return reviews.local_date(now())


def _review_filter() -> reviews.ReviewFilter:
    return reviews.ReviewFilter(year=year(), status=one_of("status", reviews.STATUSES))


def _action_filter(unit: Any) -> reviews.ActionFilter:
    return reviews.ActionFilter(
        year=year(),
        status=one_of("status", (*reviews.ACTION_STATUSES, "overdue")),
        department_id=department_code(unit),
    )


def _owner(action: reviews.ReviewAction) -> str:
    if action.owner_user is not None:
        return action.owner_user.full_name
    return action.owner_department.name if action.owner_department is not None else ""


@bp.get("/iso/reviews")
@login_required
def index() -> Any:
    unit = chosen_unit()
    filters = _review_filter()
    found, pager = keyset("reviews", partial(reviews.review_page, sa_session(), g.user, unit.id, filters))
    return render_template(
        "iso/reviews.html",
        pager=pager,
        unit=unit,
        units=reviews.viewer_units(sa_session(), g.user),
        reviews=found,
        filters=filters,
        years=reviews.review_years(sa_session(), g.user, unit.id),
        status_names=STATUS_NAMES,
        today=_today(),
    )


def _review_columns() -> list[tuple[str, str]]:
    return [("id", _("No.")), ("year", _("Year")), ("title", _("Review")), ("notice_number", _("Notice number")),
            ("meeting_date", _("Meeting date")), ("status", _("Status")), ("decisions", _("Decisions")),
            ("actions", _("Actions")), ("open_actions", _("Actions not finished")),
            ("conclusion", _("Leader's conclusion")), ("instance", _("Process instance"))]  # fmt: skip


def _review_row(r: reviews.ManagementReview) -> dict[str, Any]:
    return {
        "id": r.id, "year": r.year, "title": r.title, "notice_number": r.notice_number,
        "meeting_date": r.meeting_date, "status": str(STATUS_NAMES[r.status]), "decisions": len(r.decisions),
        "actions": len(r.actions), "open_actions": sum(a.status in ("open", "in_progress") for a in r.actions),
        "conclusion": r.conclusion, "instance": instance_link(r.instance_id, external=True),
    }  # fmt: skip


REVIEWS = Table("xem-xet-lanh-dao", _review_columns, _review_row)


register_api("reviews", lazy_gettext("Management reviews"), REVIEWS,
             lambda: reviews.list_reviews(sa_session(), g.user, chosen_unit().id, _review_filter()),
             one=lambda review_id: reviews.get_review(sa_session(), g.user, review_id),
             page=lambda after, limit: reviews.review_page(sa_session(), g.user, chosen_unit().id, _review_filter(),
                                                           after, limit))  # fmt: skip


@bp.get("/iso/reviews/export")
@login_required
def export() -> Any:
    unit = chosen_unit()
    fmt = str(export_format(required=True))
    found = reviews.list_reviews(sa_session(), g.user, unit.id, _review_filter())
    return REVIEWS.export(found, fmt, filename=f"{REVIEWS.filename}-{unit.code}")


@bp.get("/iso/reviews/<int:review_id>")
@login_required
def detail(review_id: int) -> Any:
    review = reviews.get_review(sa_session(), g.user, review_id)
    editable = {a.id for a in review.actions if reviews.may_update_action(sa_session(), g.user, a)}
    unit = sa_session().get(Unit, review.unit_id)
    return render_template(
        "iso/review.html",
        review=review,
        unit=unit,
        topic_names=TOPIC_NAMES,
        status_names=STATUS_NAMES,
        action_names=ACTION_NAMES,
        editable=editable,
        owner=_owner,
        today=_today(),
        action_statuses=reviews.ACTION_STATUSES,
    )


@bp.get("/iso/reviews/actions")
@login_required
def actions() -> Any:
    unit = chosen_unit()
    filters = _action_filter(unit)
    found, pager = keyset("review-actions", partial(reviews.action_page, sa_session(), g.user, unit.id, filters,
                                                    _today()))  # fmt: skip
    return render_template(
        "iso/review_actions.html",
        pager=pager,
        unit=unit,
        units=reviews.viewer_units(sa_session(), g.user),
        actions=found,
        filters=filters,
        owner=_owner,
        action_names=ACTION_NAMES,
        today=_today(),
        years=reviews.review_years(sa_session(), g.user, unit.id),
        department=request.args.get("department", ""),
    )


def _action_columns() -> list[tuple[str, str]]:
    return [("review", _("Review")), ("year", _("Year")), ("action", _("Action")), ("owner", _("Owner")),
            ("due", _("Due date")), ("status", _("Status")), ("overdue", _("Overdue")), ("done_on", _("Done on")),
            ("note", _("Note")), ("instance", _("Process instance"))]  # fmt: skip


def _action_row(a: reviews.ReviewAction, today: date) -> dict[str, Any]:
    return {
        "review": a.review.title, "year": a.review.year, "action": a.text, "owner": _owner(a), "due": a.due_date,
        "status": str(ACTION_NAMES[a.status]), "overdue": _("Yes") if a.overdue(today) else "",
        "done_on": a.done_on, "note": a.note, "instance": instance_link(a.review.instance_id, external=True),
    }  # fmt: skip


ACTIONS = Table("hanh-dong-sau-xem-xet", _action_columns, _action_row)


def _actions() -> list[reviews.ReviewAction]:
    unit = chosen_unit()
    return reviews.list_actions(sa_session(), g.user, unit.id, _action_filter(unit), today=_today())


def _action_page(after: list[Any] | None, limit: int) -> tuple[list[Any], list[Any] | None]:
    unit = chosen_unit()
    return reviews.action_page(sa_session(), g.user, unit.id, _action_filter(unit), _today(), after, limit)


register_api("review-actions", lazy_gettext("Actions decided by the reviews"), ACTIONS, _actions,
             extra=lambda: (_today(),), page=_action_page)


@bp.get("/iso/reviews/actions/export")
@login_required
def export_actions() -> Any:
    unit = chosen_unit()
    fmt = str(export_format(required=True))
    today = _today()
    found = reviews.list_actions(sa_session(), g.user, unit.id, _action_filter(unit), today=today)
    return ACTIONS.export(found, fmt, today, filename=f"{ACTIONS.filename}-{unit.code}")


@bp.post("/iso/reviews/actions/<int:action_id>")
@login_required
def update_action(action_id: int) -> Any:
    status = (request.form.get("status") or "").strip()
    raw_day = (request.form.get("done_on") or "").strip()
    try:
        done_on = date.fromisoformat(raw_day) if raw_day else None
    except ValueError:
        abort(400, _("The completion date “%(value)s” is not a date (dd/mm/yyyy).", value=raw_day))
    action = reviews.set_action_status(
        sa_session(), g.user, action_id, status, note=request.form.get("note") or "", done_on=done_on, now=now()
    )
    flash(_("The action is now “%(status)s”.", status=ACTION_NAMES[action.status]), "success")
    return redirect(url_for("reviews.detail", review_id=action.review_id) + f"#action-{action.id}")
