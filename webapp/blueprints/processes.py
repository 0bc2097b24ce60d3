"""The catalogue of processes a user may start, and instance pages with their history."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import Engine, queries
from engine.errors import InstanceNotFound
from engine.models import ProcessInstance, Unit

from .. import now
from ..auth import login_required
from ..extensions import sa_session

bp = Blueprint("processes", __name__)


@bp.get("/processes")
@login_required
def catalogue() -> Any:
    startable = queries.startable(sa_session(), g.user)
    units = {u.id: u for u in sa_session().query(Unit).all()}
    return render_template("processes/catalogue.html", startable=startable, units=units)


@bp.post("/processes/<key>/start")
@login_required
def start(key: str) -> Any:
    unit_id = request.form.get("unit_id", type=int)
    if unit_id is None:
        abort(400, _("Choose the unit the process runs for."))
    business_key = (request.form.get("business_key") or "").strip() or None
    instance = Engine(sa_session()).start(key, actor=g.user, unit_id=unit_id, now=now(), business_key=business_key)
    flash(_("Process started."), "success")
    mine = [t for t in queries.instance_tasks(sa_session(), instance.id) if t.state == "open"]
    if len(mine) == 1 and Engine(sa_session()).may_work(mine[0], g.user):
        return redirect(url_for("inbox.task", task_id=mine[0].id))
    return redirect(url_for("processes.instance", instance_id=instance.id))


@bp.get("/instances")
@login_required
def instances() -> Any:
    return render_template("processes/instances.html", instances=queries.instances_for(sa_session(), g.user))


@bp.get("/instances/<int:instance_id>")
@login_required
def instance(instance_id: int) -> Any:
    found = sa_session().get(ProcessInstance, instance_id)
    if found is None:
        raise InstanceNotFound(instance_id)
    if not queries.may_view_instance(sa_session(), g.user, found):
        abort(403, _("This process belongs to a unit you are not a member of."))
    return render_template(
        "processes/instance.html",
        instance=found,
        tasks=queries.instance_tasks(sa_session(), instance_id),
        history=queries.history(sa_session(), instance_id),
    )
