"""The audit log of the organisation: who changed what, when, and what it was before.

``record`` is the one writer. It adds an entry to the caller's session, so the entry commits together
with the change it describes, or not at all. Every change of units, departments, people, roles and
accounts is recorded through it (``engine.org.admin``, ``engine.org.people_import``, the ``eiso``
command line); a new kind of change (an API token issued, an account created by single sign-on) calls it
with an action name of its own.

Actions are dotted names, ``<subject>.<what happened>``: ``unit.created``, ``unit.updated``,
``department.created``, ``department.updated``, ``department.deleted``, ``person.created``,
``person.updated``, ``person.moved``, ``person.roles``, ``person.password_set``, ``person.deactivated``,
``person.reactivated``, ``people.imported``.

``changes`` maps a field to ``[before, after]`` (only fields that changed); ``details`` holds what else the
entry needs (the tasks returned to their pool, the rows of an import). Entries are never changed or
deleted: the table is only appended to.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engine.db import Base
from engine.org.models import Unit, User

COMMAND_LINE = "eiso (dòng lệnh)"
"""Who an entry names when the change came from the operator's command line, not a person's account."""


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_unit_id_id", "unit_id", "id"),)  # a unit's newest first
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(300))  # as the actor was called then
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))  # None: above the units
    action: Mapped[str] = mapped_column(String(60))
    subject_kind: Mapped[str] = mapped_column(String(20))  # unit | department | person | import | token ...
    subject_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    subject_name: Mapped[str] = mapped_column(String(300), default="")
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor: Mapped[User | None] = relationship()
    unit: Mapped[Unit | None] = relationship()


def record(session: Session, action: str, *, actor: User | None, now: datetime, unit_id: int | None,
           subject_kind: str, subject_id: int | None = None, subject_name: str = "",
           changes: Mapping[str, tuple[Any, Any] | list[Any]] | None = None,
           details: Mapping[str, Any] | None = None) -> AuditEntry:  # fmt: skip
    """Add one entry to the log, in the caller's transaction (the caller commits). ``changes`` may hold
    fields that did not change: they are left out."""
    changed = {name: [pair[0], pair[1]] for name, pair in (changes or {}).items() if pair[0] != pair[1]}
    who = f"{actor.full_name} ({actor.username})" if actor is not None else COMMAND_LINE
    entry = AuditEntry(at=now, actor_id=actor.id if actor else None, actor_name=who[:300], unit_id=unit_id,
                       action=action, subject_kind=subject_kind, subject_id=subject_id,
                       subject_name=subject_name[:300], changes=changed, details=dict(details or {}))  # fmt: skip
    session.add(entry)
    return entry


def entries(session: Session, unit_ids: Collection[int] | None, *, limit: int = 100,
            before_id: int | None = None) -> list[AuditEntry]:  # fmt: skip
    """The newest entries first; ``unit_ids`` None: every entry (above the units included), else only those
    of these units. ``before_id`` pages on (entries older than that one)."""
    stmt = select(AuditEntry)
    if unit_ids is not None:
        stmt = stmt.where(AuditEntry.unit_id.in_(list(unit_ids)))
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    return list(session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit)))
