"""API tokens for other systems and workers: the administration page (/admin/tokens) and the JSON API
(/api/v1/tokens). The engine decides who manages which unit's tokens and to whom a token may be given
(``engine/org/tokens.py``); a token is shown once, in the answer that makes it, and never again.

The JSON API takes an account's password (HTTP Basic) only: a token never manages tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import ApiToken, EngineError, NotAllowed, NotFound, User, tokens

from ..api_auth import TOKEN_USERNAME, api_auth
from ..auth import login_required
from ..errors import N_, translated
from ..extensions import now, sa_session
from ..ids import id_field, is_id
from ..json_body import json_object

bp = Blueprint("tokens", __name__, url_prefix="/admin/tokens")
api_bp = Blueprint("api_tokens", __name__, url_prefix="/api/v1/tokens")
NO_STORE = {"Cache-Control": "no-store"}  # the page or answer that shows a new token is never kept by a cache
SCOPE_LABELS = {
    tokens.START: N_("Start processes, and send messages and signals to the unit's processes"),
    tokens.TASKS: N_("Read, claim and complete tasks"),
    tokens.DEPLOY: N_("Deploy processes (Camunda Modeler)"),
    tokens.JOBS: N_("Worker jobs: fetch and lock, complete and fail external tasks"),
}


def _units_or_403() -> list[Any]:
    units = tokens.managed_units(sa_session(), g.user)
    if not units:
        abort(403, _("Only administrators manage API tokens."))
    return units


def _page(status: int = 200, **context: Any) -> Any:
    units = _units_or_403()
    holders = {u.id: tokens.possible_holders(sa_session(), g.user, u.id) for u in units}
    page = render_template("admin/tokens.html", units=units, holders=holders, scopes=SCOPE_LABELS,
                           listed=tokens.tokens_for(sa_session(), g.user), token_username=TOKEN_USERNAME,
                           form=request.form if request.method == "POST" and "created" not in context else {},
                           chosen_scopes=request.form.getlist("scopes") if "created" not in context else [],
                           **context)  # fmt: skip
    return page, status, NO_STORE


@bp.get("")
@login_required
def index() -> Any:
    return _page()


@bp.post("")
@login_required
def create() -> Any:
    _units_or_403()
    unit_part, _sep, holder = request.form.get("holder", "").partition(":")
    if not is_id(unit_part) or not holder:
        flash(_("Choose the unit and the person the token acts as."), "error")
        return _page(422)
    try:
        issued = tokens.issue(sa_session(), g.user, unit_id=int(unit_part), name=request.form.get("name", ""),
                              scopes=request.form.getlist("scopes"), holder=holder, now=now())  # fmt: skip
    except (NotAllowed, NotFound):
        raise
    except EngineError as exc:
        flash(translated(exc), "error")
        return _page(422)
    return _page(201, created=issued)


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int) -> Any:
    token = tokens.revoke(sa_session(), g.user, token_id, now())
    flash(_("The token “%(name)s” is revoked: it is refused from now on.", name=token.name), "success")
    return redirect(url_for("tokens.index"))


# --- JSON API ------------------------------------------------------------------------------------------


def _person(user: User | None) -> str | None:
    return user.username if user is not None else None


def _token(t: ApiToken) -> dict[str, Any]:
    return {
        "id": t.id, "name": t.name, "unit_id": t.unit_id, "unit_code": t.unit.code, "holder": t.holder.username,
        "scopes": t.scope_names, "starts_with": t.shown, "created_at": t.created_at.isoformat(),
        "created_by": _person(t.created_by), "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
        "last_used_from": t.last_used_from, "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
        "revoked_by": _person(t.revoked_by), "active": t.active,
    }  # fmt: skip


@api_bp.get("")
@api_auth
def list_tokens() -> Any:
    if not tokens.managed_units(sa_session(), g.user):
        raise NotAllowed("Only administrators manage API tokens.")
    return jsonify([_token(t) for t in tokens.tokens_for(sa_session(), g.user)])


@api_bp.post("")
@api_auth
def create_token() -> Any:
    body = json_object(required=True)
    scopes = body.get("scopes")
    holder = body.get("holder")
    if id_field(body.get("unit_id")) is None or not isinstance(body.get("name"), str):
        abort(400, _("Send 'unit_id' (a number), 'name' (text) and 'scopes' (a list of %(scopes)s).",
                     scopes=", ".join(tokens.SCOPES)))  # fmt: skip
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        abort(400, _("'scopes' must be a list of %(scopes)s.", scopes=", ".join(tokens.SCOPES)))
    if holder is not None and not isinstance(holder, str):
        abort(400, _("'holder' must be the user name of the person the token acts as."))
    issued = tokens.issue(sa_session(), g.user, unit_id=body["unit_id"], name=body["name"], scopes=scopes,
                          holder=holder, now=now())  # fmt: skip
    return jsonify({**_token(issued.token), "token": issued.secret}), 201, NO_STORE


@api_bp.delete("/<int:token_id>")
@api_auth
def revoke_token(token_id: int) -> Any:
    return jsonify(_token(tokens.revoke(sa_session(), g.user, token_id, now())))
