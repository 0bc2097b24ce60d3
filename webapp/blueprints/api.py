"""JSON API under /api/v1 (HTTP Basic with local accounts, or API tokens). Same engine calls as the pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, jsonify, request

from engine import (
    Engine,
    HistoryEvent,
    NotAllowed,
    ProcessDefinition,
    ProcessInstance,
    TaskRow,
    expand_upload,
    queries,
    substitutes,
    unit_ids_of,
    versions,
)

from .. import paging
from ..api_auth import api_auth
from ..errors import problem_dicts, translated
from ..extensions import deployer, kept_after_commit, now, sa_session
from ..extensions import engine as app_engine
from ..idempotency import idempotent
from ..ids import as_id, id_field
from ..json_body import json_object
from ..openapi import OPENAPI
from .inbox import inbox_options, leave_days, refusal_status

bp = Blueprint("api", __name__, url_prefix="/api/v1")


basic_auth = api_auth  # HTTP Basic or an API token (webapp/api_auth.py); the name the API's modules import


def _json_body() -> dict[str, Any]:
    return json_object()


def _definition(d: ProcessDefinition) -> dict[str, Any]:
    return {"key": d.key, "version": d.version, "name": d.name, "description": d.description,
            "dialect": d.dialect, "starter_roles": d.starter_roles, "id": d.id, "status": d.status,
            "unit_id": d.unit_id, "executable": d.executable, "version_tag": d.version_tag}  # fmt: skip


def _task(t: TaskRow) -> dict[str, Any]:
    return {
        "id": t.id, "name": t.name, "element_id": t.element_id, "instance_id": t.instance_id,
        "process_key": t.instance.definition.key, "unit_id": t.unit_id, "state": t.state,
        "candidate_roles": t.candidate_roles, "assignee": t.assignee.username if t.assignee else None,
        "created_at": t.created_at.isoformat(), "completed_at": t.completed_at.isoformat() if t.completed_at else None,
        "due_at": t.due_at.isoformat() if t.due_at else None, "form_key": t.form.form_key if t.form else None,
        "timing": t.timing, "priority": t.priority,
        "follow_up_at": t.follow_up_at.isoformat() if t.follow_up_at else None,
        "owner": t.owner.username if t.owner else None, "delegation_state": t.delegation_state,
    }  # fmt: skip


def _event(e: HistoryEvent) -> dict[str, Any]:
    return {
        "id": e.id, "at": e.at.isoformat(), "kind": e.kind, "actor": e.actor.username if e.actor else None,
        "element_id": e.element_id, "element_name": e.element_name, "task_id": e.task_id, "data": e.data,
    }  # fmt: skip


def _instance(i: ProcessInstance, with_history: bool = False) -> dict[str, Any]:
    out = {
        "id": i.id, "process_key": i.definition.key, "version": i.definition.version, "unit_id": i.unit_id,
        "business_key": i.business_key, "status": i.status, "revision": i.revision,
        "started_by": i.started_by.username if i.started_by else None, "started_at": i.started_at.isoformat(),
        "completed_at": i.completed_at.isoformat() if i.completed_at else None,
        "due_at": i.due_at.isoformat() if i.due_at else None, "timing": i.timing,
        "paused_since": i.paused_at.isoformat() if i.paused_at else None,
        "tasks": [_task(t) for t in queries.instance_tasks(sa_session(), i.id)],
    }  # fmt: skip
    if with_history:
        out["history"] = [_event(e) for e in queries.history(sa_session(), i.id)]
    return out


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(OPENAPI)


@bp.get("/process-definitions")
@basic_auth
def definitions() -> Any:
    """The versions the caller's units run: the shared library's and their own; never another unit's."""
    running = queries.active_definitions(sa_session(), unit_ids_of(sa_session(), g.user))
    return jsonify([_definition(d) for d in running])


@bp.post("/process-definitions/<key>/start")
@basic_auth
@idempotent
def start(key: str) -> Any:
    body = _json_body()
    unit_id = body.get("unit_id")
    if unit_id is None:
        units = unit_ids_of(sa_session(), g.user)
        if len(units) != 1:
            abort(400, "Give 'unit_id': you belong to several units (or none).")
        unit_id = next(iter(units))
    variables = body.get("variables") or {}
    if not isinstance(variables, dict) or id_field(unit_id) is None:
        abort(400, "'variables' must be an object and 'unit_id' an integer.")
    with kept_after_commit():
        instance = app_engine().start(key, actor=g.user, unit_id=unit_id, now=now(),
                                      business_key=body.get("business_key"), variables=variables)  # fmt: skip
    return jsonify(_instance(instance)), 201


@bp.get("/tasks")
@basic_auth
def tasks() -> Any:
    """The caller's open tasks and those they may claim, a page at a time (``list``, ``after``, ``limit``),
    narrowed by ``process``, ``due``, ``priority`` and ``q``; ``next`` holds the ``after`` of each list's next
    page (null: the last page)."""
    options = inbox_options()
    filters = paging.task_filter(request.args, now())
    which = request.args.get("list") or None
    if which is not None and which not in queries.TASK_LISTS:
        abort(400, f"'list' must be one of {', '.join(queries.TASK_LISTS)}.")
    if request.args.get("after") and which is None:
        abort(400, "'after' continues one list: give 'list' too (mine or claimable).")
    size = paging.page_size(request.args)
    out: dict[str, Any] = {"next": {}, "counts": {}, "count_caps": queries.COUNT_CAPS}
    for name in (which,) if which else queries.TASK_LISTS:
        after = paging.read_page_link(request.args.get("after"), g.user, name, options.sort)
        page = queries.task_page(sa_session(), g.user, name, options, filters, after, size)
        out[name] = [_line(t) for t in page.lines]
        out["next"][name] = None if page.next_after is None else paging.page_link(g.user, name, options.sort,
                                                                                  page.next_after)  # fmt: skip
        out["counts"][name] = queries.page_count(sa_session(), g.user, name, page, after is None, options, filters)
    return jsonify(out)


def _line(t: queries.TaskLine) -> dict[str, Any]:
    """A list line in the same shape as a task (``_task``)."""
    return {
        "id": t.id, "name": t.name, "element_id": t.element_id, "instance_id": t.instance_id,
        "process_key": t.process_key, "unit_id": t.unit_id, "state": t.state,
        "candidate_roles": t.candidate_roles, "assignee": t.assignee_username,
        "created_at": t.created_at.isoformat(), "completed_at": t.completed_at.isoformat() if t.completed_at else None,
        "due_at": t.due_at.isoformat() if t.due_at else None, "form_key": t.form_key,
        "timing": t.timing, "priority": t.priority,
        "follow_up_at": t.follow_up_at.isoformat() if t.follow_up_at else None,
        "owner": t.owner_username, "delegation_state": t.delegation_state,
    }  # fmt: skip


def _visible(task_id: str) -> tuple[Engine, TaskRow]:
    """The task, if the user may see it; another unit's task is not found, as if it did not exist. The row is
    kept for the request: the session holds rows weakly, and the command that follows finds it in memory
    instead of reading it again."""
    engine = app_engine()
    g.visible_task = engine.visible_task(task_id, g.user)
    return engine, g.visible_task


@bp.get("/tasks/<task_id>")
@basic_auth
def task(task_id: str) -> Any:
    engine, row = _visible(task_id)
    out = _task(row)
    out["form"] = row.form.schema if row.form else None
    out["data"] = engine.task_data(row) if row.state == "open" else None
    out["externalForm"] = engine.external_form(row, out["data"]) if row.state == "open" else None
    return jsonify(out)


@bp.post("/tasks/<task_id>/claim")
@basic_auth
def claim(task_id: str) -> Any:
    _visible(task_id)
    return jsonify(_task(app_engine().claim(task_id, actor=g.user, now=now())))


@bp.post("/tasks/<task_id>/unclaim")
@basic_auth
def unclaim(task_id: str) -> Any:
    _visible(task_id)
    return jsonify(_task(app_engine().unclaim(task_id, actor=g.user, now=now())))


@bp.post("/tasks/bulk-claim")
@basic_auth
def bulk_claim() -> Any:
    """Claim several tasks: ``{"task_ids": [...]}``; each is claimed or listed with why not."""
    ids = _json_body().get("task_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        abort(400, "'task_ids' must be a list of task ids (text).")
    outcomes = app_engine().claim_many(ids, actor=g.user, now=now())
    claimed = [_task(o.task) for o in outcomes if o.task is not None]
    return jsonify({
        "claimed": claimed,
        "refused": [{"id": o.task_id, "status": o.refusal.http_status, "message": translated(o.refusal)}
                    for o in outcomes if o.refusal is not None],
    }), 200 if claimed else refusal_status(outcomes)  # fmt: skip


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        abort(400, f"'{name}' must be text.")
    return value


@bp.post("/tasks/<task_id>/reassign")
@basic_auth
def reassign(task_id: str) -> Any:
    """A leader, administrator or the head of the department concerned gives the task to someone else."""
    body = _json_body()
    _visible(task_id)
    row = app_engine().reassign(task_id, _text(body, "assignee"), reason=_text(body, "reason"), actor=g.user,
                                now=now())  # fmt: skip
    return jsonify(_task(row))


@bp.post("/tasks/<task_id>/delegate")
@basic_auth
def delegate(task_id: str) -> Any:
    """The holder hands the task to a colleague; it comes back when the colleague resolves it."""
    body = _json_body()
    _visible(task_id)
    row = app_engine().delegate(task_id, _text(body, "delegate"), note=_text(body, "note"), actor=g.user, now=now())
    return jsonify(_task(row))


@bp.post("/tasks/<task_id>/resolve")
@basic_auth
def resolve(task_id: str) -> Any:
    """The delegate gives the task back to its owner; ``variables`` become the owner's draft."""
    body = _json_body()
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        abort(400, "'variables' must be an object.")
    _visible(task_id)
    row = app_engine().resolve(task_id, variables, note=_text(body, "note"), actor=g.user, now=now())
    return jsonify(_task(row))


def _substitution(s: Any) -> dict[str, Any]:
    return {"id": s.id, "unit_id": s.unit_id, "person": s.person.username, "substitute": s.substitute.username,
            "starts_on": s.starts_on.isoformat(), "ends_on": s.ends_on.isoformat(), "note": s.note,
            "cancelled_at": s.cancelled_at.isoformat() if s.cancelled_at else None}  # fmt: skip


@bp.get("/substitutes")
@basic_auth
def substitutions() -> Any:
    """The running and coming substitutions that concern the caller or that they may arrange."""
    found = substitutes.substitutions_for(sa_session(), g.user, substitutes.local_day(now()))
    return jsonify([_substitution(s) for s in found])


@bp.post("/substitutes")
@basic_auth
def arrange_substitute() -> Any:
    """``{"unit_id", "person", "substitute", "starts_on", "ends_on", "note"}``: new tasks of the person go to the
    substitute on those days."""
    body = _json_body()
    starts_on, ends_on = leave_days(body)
    unit_id = id_field(body.get("unit_id"))
    if unit_id is None:
        abort(400, "'unit_id' must be an integer.")
    made = substitutes.arrange(sa_session(), actor=g.user, unit_id=unit_id, person=_text(body, "person"),
                               substitute=_text(body, "substitute"), starts_on=starts_on, ends_on=ends_on,
                               note=_text(body, "note"), now=now())  # fmt: skip
    return jsonify(_substitution(made)), 201


@bp.post("/substitutes/<int:substitution_id>/cancel")
@basic_auth
def cancel_substitute(substitution_id: int) -> Any:
    return jsonify(_substitution(substitutes.cancel(sa_session(), substitution_id, actor=g.user, now=now())))


@bp.post("/tasks/<task_id>/complete")
@basic_auth
@idempotent
def complete(task_id: str) -> Any:
    variables = _json_body().get("variables") or {}
    if not isinstance(variables, dict):
        abort(400, "'variables' must be an object.")
    locale = request.accept_languages.best_match(["vi", "en"]) or "vi"
    _visible(task_id)
    with kept_after_commit():
        row = app_engine().complete(task_id, actor=g.user, now=now(), variables=variables, locale=locale)
    return jsonify(_task(row))


@bp.get("/instances")
@basic_auth
def instances() -> Any:
    """The instances the caller may see, newest first, a page at a time (``after``, ``limit``); ``next`` is
    the ``after`` of the next page (null: the last page). Lines without tasks or history (see one instance)."""
    after, size = paging.newest_first_page("instances", g.user)
    rows, key = queries.instance_page(sa_session(), g.user, after, size)
    return jsonify({"instances": [_instance_line(i) for i in rows],
                    "next": paging.next_link("instances", g.user, key)})  # fmt: skip


def _instance_line(i: ProcessInstance) -> dict[str, Any]:
    return {
        "id": i.id, "process_key": i.definition.key, "version": i.definition.version, "unit_id": i.unit_id,
        "business_key": i.business_key, "status": i.status, "revision": i.revision,
        "started_by": i.started_by.username if i.started_by else None, "started_at": i.started_at.isoformat(),
        "completed_at": i.completed_at.isoformat() if i.completed_at else None,
        "due_at": i.due_at.isoformat() if i.due_at else None, "timing": i.timing,
        "paused_since": i.paused_at.isoformat() if i.paused_at else None,
    }  # fmt: skip


@bp.get("/instances/<int:instance_id>")
@basic_auth
def instance(instance_id: int) -> Any:
    found = queries.visible_instance(sa_session(), g.user, instance_id)
    return jsonify(_instance(found, with_history=True))


@bp.post("/deployments")
@basic_auth
def deploy() -> Any:
    unit_id = request.form.get("unit_id", type=as_id)
    if not versions.may_deploy(sa_session(), g.user, unit_id):
        raise NotAllowed("Only administrators may deploy processes.")
    uploads = request.files.getlist("files")
    files = [source for f in uploads for source in expand_upload(f.filename or "unnamed", f.read())]
    result = deployer().deploy(
        files, actor=g.user, now=now(), name=request.form.get("name", ""), source=request.form.get("source", "api"),
        unit_id=unit_id, as_documentation=request.form.get("as_documentation") == "1",
        change_summary=request.form.get("change_summary", ""),
    )  # fmt: skip
    body = {
        "deployment_id": result.deployment.id,
        "definitions": [_definition(d) for d in result.definitions],
        "unchanged": [_definition(d) for d in result.unchanged],
        "forms": [{"form_key": f.form_key, "version": f.version} for f in result.forms],
        "warnings": problem_dicts(result.warnings),
    }
    return jsonify(body), 201
