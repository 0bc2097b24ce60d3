"""Which rows of a unit's registers a person reads: whole units for some roles, their own departments for others.

A register (audit findings, corrective actions…) names the roles that read every row of a unit and the roles
that read only the rows of their department (a department head). ``reader_scope`` turns the person's role
assignments into a ``ReaderScope``; ``ReaderScope.condition`` is the SQL condition every list query of the
register adds, so a page or an export never shows a row of a unit, or of a department, the person does not
cover. ``narrow`` applies a page's unit and department filters to a scope, refusing a unit outside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from engine.errors import EngineError, NotFound
from engine.org.models import Department, RoleAssignment, Unit, User
from engine.org.people import holds


@dataclass(frozen=True)
class ReaderScope:
    """The units a person reads whole, and per unit the departments whose rows they read."""

    whole_units: frozenset[int] = frozenset()
    departments: Mapping[int, frozenset[int]] = field(default_factory=dict)

    @property
    def unit_ids(self) -> frozenset[int]:
        return self.whole_units | frozenset(self.departments)

    def covers(self, unit_id: int, department_id: int | None) -> bool:
        """Whether a row of this unit and department is readable (a row without a department: whole units only)."""
        if unit_id in self.whole_units:
            return True
        return department_id is not None and department_id in self.departments.get(unit_id, frozenset())

    def of_unit(self, unit_id: int) -> ReaderScope:
        """The scope limited to one unit (empty when the person does not read it)."""
        return ReaderScope(self.whole_units & {unit_id}, {u: d for u, d in self.departments.items() if u == unit_id})

    def condition(self, unit_column: Any, department_column: Any = None) -> ColumnElement[bool]:
        """The rows of the scope. Without a department column (a row of the whole unit, such as an audit
        programme) a department reader reads every row of the unit."""
        parts: list[ColumnElement[bool]] = []
        if self.whole_units:
            parts.append(unit_column.in_(sorted(self.whole_units)))
        for unit_id, department_ids in sorted(self.departments.items()):
            if department_column is None:
                parts.append(unit_column == unit_id)
            else:
                parts.append(and_(unit_column == unit_id, department_column.in_(sorted(department_ids))))
        return or_(*parts) if parts else false()


def reader_scope(session: Session, user: User | None, *, whole_unit_roles: Iterable[str],
                 department_roles: Iterable[str] = ()) -> ReaderScope:  # fmt: skip
    """The person's scope in a register read whole by ``whole_unit_roles`` and per department by
    ``department_roles`` (such a role given without a department covers the person's own department)."""
    if user is None or not user.is_active:
        return ReaderScope()
    whole, by_department = set(whole_unit_roles), set(department_roles)
    stmt = select(RoleAssignment.unit_id, RoleAssignment.role, RoleAssignment.department_id).where(
        holds(user), RoleAssignment.role.in_(sorted(whole | by_department))
    )
    units: set[int] = set()
    departments: dict[int, set[int]] = {}
    for unit_id, role, department_id in session.execute(stmt):
        if role in whole:
            units.add(unit_id)
            continue
        department = department_id if department_id is not None else user.department_id
        if department is not None:
            departments.setdefault(unit_id, set()).add(department)
    return ReaderScope(frozenset(units), {u: frozenset(d) for u, d in departments.items() if u not in units})


def narrow(session: Session, scope: ReaderScope, *, unit_code: str | None = None,
           department_code: str | None = None) -> ReaderScope:  # fmt: skip
    """The scope limited to one unit (by code) and to the departments with one code. A unit outside the
    scope does not exist for the person (``NotFound``); a department code no unit of the scope has is
    refused with the code named."""
    if unit_code:
        unit = session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None or unit.id not in scope.unit_ids:
            raise NotFound("No unit with the code '%(code)s' among the units whose registers you read.",
                           code=unit_code)  # fmt: skip
        scope = ReaderScope(scope.whole_units & {unit.id},
                            {u: d for u, d in scope.departments.items() if u == unit.id})  # fmt: skip
    if not department_code:
        return scope
    stmt = select(Department.unit_id, Department.id).where(Department.code == department_code,
                                                           Department.unit_id.in_(sorted(scope.unit_ids)))  # fmt: skip
    named = {unit_id: department_id for unit_id, department_id in session.execute(stmt)}
    if not named:
        raise EngineError("No department with the code '%(code)s' in the units whose registers you read; "
                          "choose one from the list.", code=department_code)  # fmt: skip
    kept: dict[int, frozenset[int]] = {}
    for unit_id, department_id in named.items():
        if scope.covers(unit_id, department_id):
            kept[unit_id] = frozenset({department_id})
    return ReaderScope(frozenset(), kept)
