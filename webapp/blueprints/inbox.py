"""The staff inbox: my tasks, tasks I may claim, notices, and the task page with its form."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from engine import Engine, queries
from engine.errors import FormInvalid
from engine.models import Notice, TaskRow
from engine.runtime import feel_for_forms
from forms import Form, render_form_html

from .. import now
from ..auth import login_required
from ..extensions import sa_session

bp = Blueprint("inbox", __name__)


def _engine() -> Engine:
    return Engine(sa_session())


@bp.get("/")
@login_required
def index() -> Any:
    return render_template(
        "inbox/index.html",
        mine=queries.my_tasks(sa_session(), g.user),
        claimable=queries.claimable_tasks(sa_session(), g.user),
        notices=queries.notices(sa_session(), g.user, limit=10),
    )


def _visible_task(task_id: str) -> TaskRow:
    engine = _engine()
    row = engine.task_row(task_id)
    if not (engine.may_work(row, g.user) or engine.is_candidate(row, g.user)
            or queries.may_view_instance(sa_session(), g.user, row.instance)):  # fmt: skip
        abort(403, _("You may not see this task."))
    return row


def _render_task(row: TaskRow, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                 status: int = 200) -> Any:  # fmt: skip
    engine = _engine()
    form: Form | None = engine.task_form(row)
    data = engine.task_data(row) if row.state == "open" else engine.submitted_values(row)
    can_work = row.state == "open" and engine.may_work(row, g.user)
    html = None
    if form is not None:
        shown = values if values is not None else form.initial_values(data)
        html = render_form_html(form, shown, errors or {}, readonly=not can_work, locale=str(get_locale()),
                                evaluate=feel_for_forms, data=data)  # fmt: skip
    return render_template("inbox/task.html", task=row, form_html=html, can_work=can_work,
                           can_claim=row.state == "open" and row.assignee_id is None
                           and engine.is_candidate(row, g.user), errors=errors or {}), status  # fmt: skip


@bp.get("/tasks/<task_id>")
@login_required
def task(task_id: str) -> Any:
    return _render_task(_visible_task(task_id))


@bp.post("/tasks/<task_id>")
@login_required
def submit(task_id: str) -> Any:
    row = _visible_task(task_id)
    post = request.form.to_dict(flat=False)
    post.pop("csrf_token", None)
    engine = _engine()
    form = engine.task_form(row)
    if form is not None and row.state == "open":
        rows_changed = form.apply_action(post, engine.task_data(row))
        if rows_changed is not None:  # "add row" / "remove row": show the form again, save nothing
            return _render_task(row, values=rows_changed)
    try:
        engine.complete(task_id, actor=g.user, now=now(), post=post, locale=str(get_locale()))
    except FormInvalid as exc:
        return _render_task(row, values=exc.values, errors=exc.errors, status=422)
    flash(_("Task “%(name)s” completed.", name=row.name), "success")
    return redirect(url_for("processes.instance", instance_id=row.instance_id))


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> Any:
    _engine().claim(task_id, actor=g.user, now=now())
    flash(_("You now hold this task."), "success")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str) -> Any:
    _engine().unclaim(task_id, actor=g.user, now=now())
    flash(_("The task is back in the shared inbox."), "success")
    return redirect(url_for("inbox.index"))


@bp.get("/notices")
@login_required
def notices() -> Any:
    return render_template("inbox/notices.html", notices=queries.notices(sa_session(), g.user, limit=200))


@bp.post("/notices/<int:notice_id>/read")
@login_required
def read_notice(notice_id: int) -> Any:
    notice = sa_session().get(Notice, notice_id)
    if notice is None or notice.user_id != g.user.id:
        abort(404)
    queries.mark_notice_read(sa_session(), notice, now())
    return redirect(notice.link or url_for("inbox.notices"))
