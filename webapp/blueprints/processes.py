"""The catalogue of processes a user may start, and instance pages with their history."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from engine import (
    Engine,
    FormInvalid,
    ProcessDefinition,
    Unit,
    feel_for_forms,
    queries,
)
from forms import Form, render_form_html

from .. import paging
from ..auth import login_required
from ..extensions import engine as app_engine
from ..extensions import now, sa_session

bp = Blueprint("processes", __name__)


@bp.get("/processes")
@login_required
def catalogue() -> Any:
    startable = queries.startable(sa_session(), g.user)
    units = {u.id: u for u in sa_session().query(Unit).all()}
    engine = app_engine()
    with_form = {d.key for d, _units in startable if engine.start_form(d) is not None}
    return render_template("processes/catalogue.html", startable=startable, units=units, with_form=with_form)


def _unit_for_start(engine: Engine, key: str, unit_id: int | None) -> tuple[ProcessDefinition, Unit]:
    if unit_id is None:
        abort(400, _("Choose the unit the process runs for."))
    definition = engine.active_definition(key)
    unit = sa_session().get(Unit, unit_id)
    if unit is None or not engine.may_start(g.user, definition, unit_id):
        abort(403, _("You may not start this process in this unit."))
    return definition, unit


def _render_start(definition: ProcessDefinition, unit: Unit, form: Form, values: dict[str, Any],
                  errors: dict[str, str], status: int = 200) -> Any:  # fmt: skip
    data = Engine.context_variables(unit, g.user)
    html = render_form_html(form, values, errors, locale=str(get_locale()), evaluate=feel_for_forms, data=data)
    return render_template("processes/start.html", definition=definition, unit=unit, form_html=html,
                           has_files=form.has_files, errors=errors), status  # fmt: skip


@bp.get("/processes/<key>/start")
@login_required
def start_form(key: str) -> Any:
    engine = app_engine()
    definition, unit = _unit_for_start(engine, key, request.args.get("unit_id", type=int))
    form = engine.start_form(definition)
    if form is None:
        abort(404, _("This process has no start form; start it from the catalogue."))
    return _render_start(definition, unit, form, form.initial_values(Engine.context_variables(unit, g.user)), {})


@bp.post("/processes/<key>/conditions")
@login_required
def start_conditions(key: str) -> Any:
    """Which conditional fields of the start form are hidden for what the user typed (eiso-forms.js)."""
    engine = app_engine()
    definition, unit = _unit_for_start(engine, key, request.form.get("unit_id", type=int))
    form = engine.start_form(definition)
    if form is None:
        return jsonify({"hidden": {}})
    post = {k: v for k, v in request.form.to_dict(flat=False).items() if k not in ("csrf_token", "unit_id")}
    data = Engine.context_variables(unit, g.user)
    return jsonify({"hidden": form.conditions(post, data, evaluate=feel_for_forms, locale=str(get_locale()))})


@bp.post("/processes/<key>/start")
@login_required
def start(key: str) -> Any:
    engine = app_engine()
    definition, unit = _unit_for_start(engine, key, request.form.get("unit_id", type=int))
    business_key = (request.form.get("business_key") or "").strip() or None
    form = engine.start_form(definition)
    post = {k: v for k, v in request.form.to_dict(flat=False).items() if k not in ("csrf_token", "unit_id")}
    if form is not None:
        rows_changed = form.apply_action(post, Engine.context_variables(unit, g.user))
        if rows_changed is not None:
            return _render_start(definition, unit, form, rows_changed, {})
    try:
        instance = engine.start(key, actor=g.user, unit_id=unit.id, now=now(), business_key=business_key,
                                post=post if form is not None else None, locale=str(get_locale()))  # fmt: skip
    except FormInvalid as exc:
        return _render_start(definition, unit, form, exc.values, exc.errors, status=422)  # type: ignore[arg-type]
    flash(_("Process started."), "success")
    mine = [t for t in queries.instance_tasks(sa_session(), instance.id) if t.state == "open"]
    if len(mine) == 1 and engine.may_work(mine[0], g.user):
        return redirect(url_for("inbox.task", task_id=mine[0].id))
    return redirect(url_for("processes.instance", instance_id=instance.id))


@bp.get("/instances")
@login_required
def instances() -> Any:
    after, size = paging.newest_first_page("instances", g.user)
    rows, key = queries.instance_page(sa_session(), g.user, after, size)
    following = paging.next_link("instances", g.user, key)
    next_page = url_for("processes.instances", **paging.with_after(following)) if following else None
    return render_template("processes/instances.html", instances=rows, paged=after is not None, next_page=next_page)


@bp.get("/instances/<int:instance_id>")
@login_required
def instance(instance_id: int) -> Any:
    found = queries.visible_instance(sa_session(), g.user, instance_id)
    history = queries.history(sa_session(), instance_id)
    return render_template(
        "processes/instance.html",
        instance=found,
        tasks=queries.instance_tasks(sa_session(), instance_id),
        history=history,
        changes=app_engine().described_changes(history, str(get_locale())),
        files=app_engine().attached_files(instance_id),
        called=queries.called_instances(sa_session(), instance_id),
    )
