"""POST /api/v1/messages: another system tells eISO that something happened (a supplement arrived).
POST /api/v1/signals: broadcast a signal to a unit's waiting processes (and start those that begin with it)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, jsonify

from engine import NotAllowed, Unit, correlate, queries, roles_in_unit, send_signal

from ..extensions import engine as app_engine
from ..extensions import now, sa_session
from ..idempotency import idempotent
from ..ids import id_field
from ..json_body import json_object
from .api import basic_auth

bp = Blueprint("messages_api", __name__, url_prefix="/api/v1/messages")
signals_bp = Blueprint("signals_api", __name__, url_prefix="/api/v1/signals")


@bp.post("")
@basic_auth
@idempotent
def publish() -> Any:
    if not queries.is_admin(sa_session(), g.user):
        raise NotAllowed("Only integration accounts (role admin) may send messages.")
    body = json_object(required=True)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
        abort(400, "Send a JSON object with the message 'name' and, if needed, 'correlationKey', 'variables' and "
                   "'unit_id'.")
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        abort(400, "'variables' must be an object.")
    key = body.get("correlationKey")
    unit = sa_session().get(Unit, body["unit_id"]) if id_field(body.get("unit_id")) else None
    result = correlate(app_engine(), body["name"], None if key is None else str(key), variables,
                       actor=g.user, unit=unit, now=now())  # fmt: skip
    return jsonify({"correlated": result.correlated, "started": result.started})


@signals_bp.post("")
@basic_auth
@idempotent
def signal() -> Any:
    body = json_object(required=True)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
        abort(400, "Send a JSON object with the signal 'name', the 'unit_id' it is for and, if needed, 'variables'.")
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        abort(400, "'variables' must be an object.")
    unit = sa_session().get(Unit, body["unit_id"]) if id_field(body.get("unit_id")) else None
    if unit is None:
        abort(400, "'unit_id' must name a unit: a signal reaches the processes of one unit only.")
    if "admin" not in roles_in_unit(sa_session(), g.user, unit.id):
        raise NotAllowed("Only the unit's integration accounts (role admin) may send it signals.")
    engine = app_engine()
    result = send_signal(engine, body["name"], variables, actor=g.user, unit_id=unit.id, now=now())
    return jsonify({"delivered": result.delivered, "started": result.started})
