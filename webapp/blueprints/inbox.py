"""The staff inbox: my tasks, tasks I may claim, notices, and the task page with its form."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from engine import (
    Conflict,
    Engine,
    EngineError,
    FileRejected,
    FormInvalid,
    StoredFile,
    TaskRow,
    Unit,
    Upload,
    feel_for_forms,
    file_reference,
    queries,
    substitutes,
    unit_ids_of,
)
from forms import Form, parse_input_name, render_form_html, set_in

from .. import paging
from ..auth import login_required
from ..downloads import as_attachment, safe_filename
from ..errors import translated
from ..extensions import engine as app_engine
from ..extensions import now, sa_session

bp = Blueprint("inbox", __name__)


def _engine() -> Engine:
    return app_engine()


def inbox_options() -> queries.InboxOptions:
    """``?sort=priority`` orders by priority, then due date; ``?follow_up=1`` keeps the tasks to follow up now."""
    sort = request.args.get("sort", "received")
    follow_up = request.args.get("follow_up") == "1"
    return queries.InboxOptions(sort=sort if sort in queries.INBOX_SORTS else "received",
                                follow_up_by=now() if follow_up else None)  # fmt: skip


@bp.get("/")
@login_required
def index() -> Any:
    return _render_index()


def _render_index(status: int = 200) -> Any:
    options = inbox_options()
    filters = paging.task_filter(request.args, now())
    whole = filters == queries.TaskFilter() and options.follow_up_by is None
    lists: dict[str, dict[str, Any]] = {}
    known: dict[str, int] = {}  # the lists whose first page holds all of them: counted off the page
    for which in queries.TASK_LISTS:
        after = paging.read_page_link(request.args.get(f"{which}_after"), g.user, which, options.sort)
        page = queries.task_page(sa_session(), g.user, which, options, filters, after, queries.PAGE_SIZE)
        following = None
        if page.next_after is not None:
            args: dict[str, Any] = {k: v for k, v in request.args.items() if k != f"{which}_after"}
            args[f"{which}_after"] = paging.page_link(g.user, which, options.sort, page.next_after)
            following = url_for("inbox.index", **args) + f"#{which}"
        lists[which] = {"lines": page.lines, "next": following, "paged": after is not None}
        if whole:
            counted = queries.whole_list_count(which, page, after is None)
            if counted is not None:
                known[which] = counted
        else:
            lists[which]["count"] = queries.page_count(sa_session(), g.user, which, page, after is None, options,
                                                       filters)  # fmt: skip
    if whole:  # the lists' lengths are the badge's: counted once (views._context reads them from g)
        g.inbox_counts = queries.inbox_counts(sa_session(), g.user, known)
        for which in queries.TASK_LISTS:
            lists[which]["count"] = getattr(g.inbox_counts, which)
    return render_template(
        "inbox/index.html",
        mine=lists["mine"],
        claimable=lists["claimable"],
        delegated=queries.delegated_lines(sa_session(), g.user, options),
        notices=queries.notices(sa_session(), g.user, limit=10),
        options=options,
        filters=filters,
        filter_args={k: request.args.get(k, "") for k in ("process", "due", "priority", "q")},
        processes=queries.inbox_processes(sa_session(), g.user),
        first_page=url_for("inbox.index", **_without_page_links()),
    ), status


def _without_page_links() -> dict[str, Any]:
    return {k: v for k, v in request.args.items() if not k.endswith("_after")}


def _visible_task(task_id: str) -> TaskRow:
    return _engine().visible_task(task_id, g.user)


def _render_task(row: TaskRow, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                 status: int = 200) -> Any:  # fmt: skip
    engine = _engine()
    may_reassign = engine.may_reassign(row, g.user)
    form: Form | None = engine.task_form(row)
    data = engine.task_data(row) if row.state == "open" else engine.completed_data(row)
    can_work = row.state == "open" and engine.may_work(row, g.user) and not request.args.get("print")
    draft = engine.draft_for(row, g.user) if can_work and values is None else None
    html = None
    if form is not None:
        shown = values if values is not None else draft.values if draft else form.initial_values(data)
        html = render_form_html(form, shown, errors or {}, readonly=not can_work, locale=str(get_locale()),
                                evaluate=feel_for_forms, data=data)  # fmt: skip
    files = engine.attached_files(row.instance_id)
    external = engine.external_form(row, data) if row.state == "open" else None
    return render_template("inbox/task.html", task=row, form_html=html, can_work=can_work, draft=draft,
                           external_form=external,
                           has_files=bool(form and form.has_files), files=[f for f in files if f.task_id == row.id],
                           can_claim=row.state == "open" and row.assignee_id is None
                           and engine.is_candidate(row, g.user), errors=errors or {},
                           may_reassign=may_reassign,
                           reassign_to=engine.reassign_choices(row, g.user) if may_reassign else [],
                           delegates=engine.delegate_choices(row, g.user)), status  # fmt: skip


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
    locale = str(get_locale())
    try:
        files = _task_files(engine, row, post)
    except FileRejected as exc:
        data = engine.task_data(row)
        raw = form.validate_post(post, data, evaluate=feel_for_forms, locale=locale).raw if form else {}
        return _render_task(row, values=raw, errors={exc.field: translated(exc)}, status=422)
    resolve_note = " ".join(post.pop("_resolve_note", []))
    if "_draft" in post:
        return _save_draft(engine, row, form, post, files, locale)
    if "_resolve" in post:
        return _resolve(engine, row, form, post, files, locale, resolve_note)
    try:
        engine.complete(task_id, actor=g.user, now=now(), post=post, locale=locale, files=files)
    except FormInvalid as exc:
        return _render_task(row, values=exc.values, errors=exc.errors, status=422)
    except Conflict as exc:  # changed by someone else at the same moment: keep what was typed, say what to do
        sa_session().rollback()
        row = _visible_task(task_id)
        typed: dict[str, Any] | None = None
        if form is not None and row.state == "open":
            typed = dict(form.validate_post(post, engine.task_data(row), evaluate=feel_for_forms, locale=locale).raw)
        flash(translated(exc), "error")
        return _render_task(row, values=typed, status=409)
    flash(_("Task “%(name)s” completed.", name=row.name), "success")
    return redirect(url_for("processes.instance", instance_id=row.instance_id))


def _task_files(engine: Engine, row: TaskRow, post: dict[str, list[str]]) -> dict[str, list[StoredFile]]:
    """New uploads (checked and stashed now) plus those stashed by an earlier, refused submission."""
    uploads = [
        Upload(name, f.filename or "unnamed", f.mimetype or "", f.read())
        for name in request.files
        for f in request.files.getlist(name)
        if f.filename
    ]
    stashed = engine.stash_uploads(row.id, uploads, actor=g.user, now=now()) if uploads else {}
    for key in [k for k in post if k.startswith("_file:")]:
        name = key.removeprefix("_file:")
        earlier = engine.pending_files(row.id, post.pop(key), actor=g.user)
        if earlier and name not in stashed:
            stashed[name] = earlier
    return stashed


def _save_draft(engine: Engine, row: TaskRow, form: Form | None, post: dict[str, list[str]],
                files: dict[str, list[StoredFile]], locale: str) -> Any:  # fmt: skip
    values = _entered(engine, row, form, post, files, locale)
    engine.save_draft(row.id, values, actor=g.user, now=now())
    flash(_("Draft saved. You can come back to it later; nobody else sees it."), "success")
    return redirect(url_for("inbox.task", task_id=row.id))


def _entered(engine: Engine, row: TaskRow, form: Form | None, post: dict[str, list[str]],
             files: dict[str, list[StoredFile]], locale: str) -> dict[str, Any]:  # fmt: skip
    """What was typed into the task's form, as it stands (unvalidated), with the uploads' references."""
    data = engine.task_data(row)
    values = dict(form.validate_post(post, data, evaluate=feel_for_forms, locale=locale).raw) if form else {}
    for name, stored in files.items():
        path = parse_input_name(name)
        if path:
            set_in(values, path, [file_reference(f) for f in stored])
    return values


def _resolve(engine: Engine, row: TaskRow, form: Form | None, post: dict[str, list[str]],
             files: dict[str, list[StoredFile]], locale: str, note: str) -> Any:  # fmt: skip
    """The delegate gives the task back: what they typed becomes the owner's draft."""
    owner = row.owner.full_name if row.owner else ""
    engine.resolve(row.id, _entered(engine, row, form, post, files, locale), note=note, actor=g.user, now=now())
    flash(_("The task went back to %(name)s with what you entered.", name=owner), "success")
    return redirect(url_for("inbox.index"))


@bp.post("/tasks/bulk-claim")
@login_required
def bulk_claim() -> Any:
    """Take several offered tasks at once; each one that could not be taken is listed with the reason."""
    outcomes = _engine().claim_many(request.form.getlist("task_id"), actor=g.user, now=now())
    taken = [o for o in outcomes if o.claimed]
    if taken:
        flash(_("You now hold %(n)s task(s).", n=len(taken)), "success")
    for o in outcomes:
        if o.refusal is not None:
            flash(_("Not taken: %(reason)s", reason=translated(o.refusal)), "error")
    if not taken:  # nothing was taken: the page again, with the refusal's status
        return _render_index(refusal_status(outcomes))
    return redirect(url_for("inbox.index"))


def refusal_status(outcomes: list[Any]) -> int:
    """The status of a bulk claim that took nothing: the refusals' one status (404, 403, 409), else 409."""
    found = {o.refusal.http_status for o in outcomes if o.refusal is not None}
    return found.pop() if len(found) == 1 else 409


def _handover_refused(row: TaskRow, exc: EngineError) -> Any:
    """Bad input for a reassignment or delegation (no reason, an unknown name): the page again, with why."""
    sa_session().rollback()
    flash(translated(exc), "error")
    return _render_task(_visible_task(row.id), status=exc.http_status)


@bp.post("/tasks/<task_id>/reassign")
@login_required
def reassign(task_id: str) -> Any:
    row = _visible_task(task_id)
    try:
        done = _engine().reassign(task_id, request.form.get("assignee", ""), reason=request.form.get("reason", ""),
                                  actor=g.user, now=now())  # fmt: skip
    except EngineError as exc:
        if exc.http_status != 400:
            raise
        return _handover_refused(row, exc)
    flash(_("The task now goes to %(name)s.", name=done.assignee.full_name if done.assignee else ""), "success")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.post("/tasks/<task_id>/delegate")
@login_required
def delegate(task_id: str) -> Any:
    row = _visible_task(task_id)
    try:
        done = _engine().delegate(task_id, request.form.get("delegate", ""), note=request.form.get("note", ""),
                                  actor=g.user, now=now())  # fmt: skip
    except EngineError as exc:
        if exc.http_status != 400:
            raise
        return _handover_refused(row, exc)
    flash(_("Delegated to %(name)s; it comes back to you when they resolve it.",
            name=done.assignee.full_name if done.assignee else ""), "success")  # fmt: skip
    return redirect(url_for("inbox.index"))


def leave_days(form: Any) -> tuple[date, date]:
    """The first and last day of a leave from ``starts_on`` and ``ends_on`` (YYYY-MM-DD); 400 naming the field."""
    days = []
    for name in ("starts_on", "ends_on"):
        try:
            days.append(date.fromisoformat(str(form.get(name) or "")))
        except ValueError:
            abort(400, _("Give '%(field)s' as a date (YYYY-MM-DD).", field=name))
    return days[0], days[1]


def _render_substitutes(status: int = 200) -> Any:
    db = sa_session()
    units = db.query(Unit).filter(Unit.id.in_(unit_ids_of(db, g.user))).order_by(Unit.name).all()
    members = {u.username: u for unit in units for u in _engine().unit_members(unit.id)}
    today = substitutes.local_day(now())
    return render_template("inbox/substitutes.html", units=units, today=today,
                           members=sorted(members.values(), key=lambda u: u.full_name),
                           substitutions=substitutes.substitutions_for(db, g.user, today)), status  # fmt: skip


@bp.get("/substitutes")
@login_required
def substitutions() -> Any:
    """Substitutes while someone is on leave: those that concern me or that I may arrange, and a form."""
    return _render_substitutes()


@bp.post("/substitutes")
@login_required
def arrange_substitute() -> Any:
    starts_on, ends_on = leave_days(request.form)
    unit_id = request.form.get("unit_id", type=int)
    if unit_id is None:
        abort(400, _("Choose the unit."))
    try:
        made = substitutes.arrange(sa_session(), actor=g.user, unit_id=unit_id, person=request.form.get("person", ""),
                                   substitute=request.form.get("substitute", ""), starts_on=starts_on,
                                   ends_on=ends_on, note=request.form.get("note", ""), now=now())  # fmt: skip
    except EngineError as exc:
        sa_session().rollback()
        if exc.http_status != 400:
            raise
        flash(translated(exc), "error")
        return _render_substitutes(400)
    flash(_("%(substitute)s stands in for %(person)s from %(start)s to %(end)s.", substitute=made.substitute.full_name,
            person=made.person.full_name, start=made.starts_on.strftime("%d/%m/%Y"),
            end=made.ends_on.strftime("%d/%m/%Y")), "success")  # fmt: skip
    return redirect(url_for("inbox.substitutions"))


@bp.post("/substitutes/<int:substitution_id>/cancel")
@login_required
def cancel_substitute(substitution_id: int) -> Any:
    substitutes.cancel(sa_session(), substitution_id, actor=g.user, now=now())
    flash(_("The substitution was cancelled."), "success")
    return redirect(url_for("inbox.substitutions"))


@bp.get("/files/<file_id>")
@login_required
def download(file_id: str) -> Any:
    engine = _engine()
    stored = engine.file_for(file_id, g.user)
    data = engine.files.read(stored.storage_key)  # type: ignore[union-attr]
    response = send_file(io.BytesIO(data), mimetype=stored.content_type, as_attachment=True,
                         download_name=safe_filename(stored.filename))  # fmt: skip
    return as_attachment(response, stored.filename)


@bp.post("/tasks/<task_id>/conditions")
@login_required
def conditions(task_id: str) -> Any:
    """Which conditional fields the form hides for what the user has typed so far (for eiso-forms.js)."""
    row = _visible_task(task_id)
    engine = _engine()
    form = engine.task_form(row)
    if form is None or row.state != "open":
        return jsonify({"hidden": {}})
    post = request.form.to_dict(flat=False)
    states = form.conditions(post, engine.task_data(row), evaluate=feel_for_forms, locale=str(get_locale()))
    return jsonify({"hidden": states})


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> Any:
    _visible_task(task_id)
    _engine().claim(task_id, actor=g.user, now=now())
    flash(_("You now hold this task."), "success")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str) -> Any:
    _visible_task(task_id)
    _engine().unclaim(task_id, actor=g.user, now=now())
    flash(_("The task is back in the shared inbox."), "success")
    return redirect(url_for("inbox.index"))


@bp.get("/notices")
@login_required
def notices() -> Any:
    after, size = paging.newest_first_page("notices", g.user)
    rows, key = queries.notice_page(sa_session(), g.user, after, size)
    following = paging.next_link("notices", g.user, key)
    next_page = url_for("inbox.notices", **paging.with_after(following)) if following else None
    return render_template("inbox/notices.html", notices=rows, paged=after is not None, next_page=next_page)


@bp.post("/notices/<int:notice_id>/read")
@login_required
def read_notice(notice_id: int) -> Any:
    notice = queries.mark_notice_read(sa_session(), notice_id, g.user, now())
    return redirect(notice.link or url_for("inbox.notices"))
