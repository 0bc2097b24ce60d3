"""The ISO registers, read-only, as JSON under ``/api/v1/registers``: the list of registers, a register's rows with
the same filters as its page (``?unit=``, ``?year=``, ``?status=``... as the page takes them), and one row by id.

The same engine calls as the pages, so the same walls: a person (or an API token, with the scope ``start`` or
``tasks``, as for reading instances: ``webapp/api_auth.py``) reads the rows of their own units only; another
unit's ``?unit=`` or row is 404, a filter that cannot be read 400 naming it. A register's rows come a page at
a time (``?limit=``, 1 to 200, 100 when not given): ``next`` is the ``after`` of the next page with the same
filters (null: the last page); a page link made for someone else or another register is a 400. A register is
served here by its module's ``register_api`` call (``register_pages.py``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, jsonify, request
from flask_babel import gettext as _

from engine import queries

from ... import paging
from ...api_auth import api_auth
from .register_pages import API_REGISTERS, RegisterApi

bp = Blueprint("registers_api", __name__, url_prefix="/api/v1/registers")


def _register(name: str) -> RegisterApi:
    found = API_REGISTERS.get(name)
    if found is None:
        abort(404, _("There is no register “%(name)s”; GET /api/v1/registers lists them.", name=name[:60]))
    return found


@bp.get("")
@api_auth
def registers() -> Any:
    return jsonify([{"name": r.name, "title": r.title(), "rows_by_id": r.one is not None}
                    for r in sorted(API_REGISTERS.values(), key=lambda r: r.name)])  # fmt: skip


@bp.get("/<name>")
@api_auth
def rows(name: str) -> Any:
    register = _register(name)
    if register.page is None:  # a register that stays short (policies, objectives in force): every row at once
        found = [register.as_json(item) for item in register.rows()]
        return jsonify({"register": register.name, "count": len(found), "rows": found, "next": None})
    which = f"api.{register.name}"
    after = paging.read_page_link(request.args.get("after"), g.user, which, "register")
    items, key = register.page(after, paging.page_size(request.args, queries.REGISTER_PAGE_SIZE))
    found = [register.as_json(item) for item in items]
    following = None if key is None else paging.page_link(g.user, which, "register", key)
    return jsonify({"register": register.name, "count": len(found), "rows": found, "next": following})


@bp.get("/<name>/<int:row_id>")
@api_auth
def row(name: str, row_id: int) -> Any:
    register = _register(name)
    if register.one is None:
        abort(404, _("The register “%(name)s” has no rows by id; read its list.", name=register.name))
    return jsonify(register.as_json(register.one(row_id)))
