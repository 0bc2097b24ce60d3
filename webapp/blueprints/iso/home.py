"""A unit's ISO home page for its people: the policy and objectives in force, this year's ISO calendar (each
ISO process with what is done and due), the open tasks of the ISO processes the reader may see, and the list
of the unit's registers (each register's module adds itself: ``register_page``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from engine import current_objectives, current_policy, iso_calendar, policy_text

from ...auth import login_required
from ...extensions import now, sa_session
from . import RegisterPage, registers
from .register_pages import register_scope

bp = Blueprint("iso_home", __name__)


@bp.get("/iso")
@login_required
def index() -> Any:
    from flask import g

    scope = register_scope()
    unit = next((u for u in scope.units if u.id == scope.unit_id), scope.units[0] if scope.units else None)
    if unit is None:
        return render_template("iso/home.html", unit=None, scope=scope, registers=[])
    session, moment = sa_session(), now()
    return render_template(
        "iso/home.html", unit=unit, scope=scope, registers=_registers(unit), year=moment.year,
        policy=current_policy(session, unit.id), policy_text=policy_text(session, unit),
        objective_set=current_objectives(session, unit.id, year=moment.year),
        calendar=iso_calendar.iso_calendar(session, unit.id, moment.year, moment),
        tasks=iso_calendar.open_iso_tasks(session, g.user, unit.id),
    )  # fmt: skip


def _registers(unit: Any) -> list[tuple[RegisterPage, int | None]]:
    """The registers the reader reads in the unit, each with how many rows it holds for them there."""
    from flask import g

    found = []
    for register in registers():
        count = register.count(sa_session(), g.user, unit.id) if register.count else None
        if register.count is None or count is not None:
            found.append((register, count))
    return found
