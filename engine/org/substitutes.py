"""Substitutes while someone is on leave: for a range of days, the tasks a diagram would give or offer by name to
a person go to their substitute instead (``engine.runtime.advance`` asks ``substitute_on`` when a task is
created). Tasks the person already holds stay theirs.

A substitution is arranged within one unit by the person themselves, the head of their department, or a
unit leader or administrator; the same people cancel it. The person and the substitute are told. Refusals
change nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date, ForeignKey, Index, String, bindparam, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engine.db import Base
from engine.errors import Conflict, EngineError, NotAllowed, NotFound, Phrase
from engine.org.models import RoleAssignment, User
from engine.org.notices import notify
from engine.org.people import holds, roles_in_unit

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
WHOLE_UNIT = frozenset({"unit_leader", "admin"})
MAX_DAYS = 366
MAX_NOTE = 1000


class Substitution(Base):
    """``substitute`` takes the new tasks of ``person`` in ``unit`` from ``starts_on`` to ``ends_on`` (local days,
    both included), unless cancelled."""

    __tablename__ = "substitutions"
    __table_args__ = (Index("ix_substitutions_person", "person_id", "unit_id", "ends_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    substitute_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(MAX_NOTE), default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    person: Mapped[User] = relationship(foreign_keys=[person_id])
    substitute: Mapped[User] = relationship(foreign_keys=[substitute_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def _member(session: Session, unit_id: int, username: str) -> User | None:
    stmt = (
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(User.username == username.strip(), RoleAssignment.unit_id == unit_id, User.is_active.is_(True))
    )
    return session.scalar(stmt.limit(1))


def may_arrange(session: Session, actor: User, person: User, unit_id: int) -> bool:
    """The person themselves, a unit leader or administrator of the unit, or the head of the person's
    department there."""
    roles = roles_in_unit(session, actor, unit_id)
    if not roles:
        return False
    if actor.id == person.id or roles & WHOLE_UNIT:
        return True
    if "department_head" not in roles:
        return False
    headed = select(RoleAssignment.department_id).where(
        holds(actor), RoleAssignment.unit_id == unit_id, RoleAssignment.role == "department_head",
        RoleAssignment.department_id.is_not(None),
    )  # fmt: skip
    theirs = select(RoleAssignment.id).where(RoleAssignment.user_id == person.id, RoleAssignment.unit_id == unit_id,
                                             RoleAssignment.department_id.in_(headed))  # fmt: skip
    own = person.unit_id == unit_id and person.department_id is not None \
        and person.department_id in set(session.scalars(headed))  # fmt: skip
    return own or session.scalar(theirs.limit(1)) is not None


def arrange(session: Session, *, actor: User, unit_id: int, person: str, substitute: str, starts_on: date,
            ends_on: date, note: str = "", now: datetime) -> Substitution:  # fmt: skip
    """Set a substitute for a person for a range of days (commits)."""
    if not roles_in_unit(session, actor, unit_id):
        raise NotAllowed("You may arrange substitutes only in a unit where you hold a role.")
    absent, standing_in = _member(session, unit_id, person or ""), _member(session, unit_id, substitute or "")
    for name, found in ((person, absent), (substitute, standing_in)):
        if found is None:
            raise EngineError("No active member of this unit has the user name '%(name)s'.",
                              name=(name or "").strip()[:100])  # fmt: skip
    assert absent is not None and standing_in is not None
    if absent.id == standing_in.id:
        raise EngineError("A person cannot be their own substitute: choose a colleague.")
    if ends_on < starts_on:
        raise EngineError("The last day of the leave comes before its first day.")
    if ends_on < local_day(now):
        raise EngineError("The leave is already over: give days from today on.")
    if (ends_on - starts_on) > timedelta(days=MAX_DAYS):
        raise EngineError("A substitution lasts at most %(n)s days.", n=MAX_DAYS)
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise EngineError("The note is too long: at most %(n)s characters.", n=MAX_NOTE)
    if not may_arrange(session, actor, absent, unit_id):
        raise NotAllowed("Only the person, the head of their department, a unit leader or an administrator may "
                         "arrange a substitute.")  # fmt: skip
    overlapping = select(Substitution.id).where(
        Substitution.person_id == absent.id, Substitution.unit_id == unit_id, Substitution.cancelled_at.is_(None),
        Substitution.starts_on <= ends_on, Substitution.ends_on >= starts_on,
    )  # fmt: skip
    if session.scalar(overlapping.limit(1)) is not None:
        raise Conflict("%(who)s already has a substitute for some of these days; cancel it first.",
                       who=absent.full_name)  # fmt: skip
    made = Substitution(unit_id=unit_id, person_id=absent.id, substitute_id=standing_in.id, starts_on=starts_on,
                        ends_on=ends_on, note=text, created_by_id=actor.id, created_at=now)  # fmt: skip
    session.add(made)
    session.flush()
    days = Phrase("From %(start)s to %(end)s.", start=starts_on.strftime("%d/%m/%Y"), end=ends_on.strftime("%d/%m/%Y"))
    body: list[Phrase | str] = [days, text] if text else [days]
    notify(session, [standing_in], unit_id=unit_id, kind="substitute_set", link="/substitutes", now=now, body=body,
           title=Phrase("You stand in for %(who)s: their new tasks come to you", who=absent.full_name))  # fmt: skip
    notify(session, [absent], unit_id=unit_id, kind="substitute_set", link="/substitutes", now=now, body=body,
           title=Phrase("%(who)s stands in for you: your new tasks go to them", who=standing_in.full_name))  # fmt: skip
    session.commit()
    return made


def cancel(session: Session, substitution_id: int, *, actor: User, now: datetime) -> Substitution:
    """End a substitution now (commits); another unit's is NotFound."""
    found = session.get(Substitution, substitution_id)
    if found is None or not roles_in_unit(session, actor, found.unit_id):
        raise NotFound("Substitution %(id)s does not exist.", id=substitution_id)
    if not may_arrange(session, actor, found.person, found.unit_id):
        raise NotAllowed("Only the person, the head of their department, a unit leader or an administrator may "
                         "arrange a substitute.")  # fmt: skip
    if found.cancelled_at is not None:
        raise Conflict("This substitution was already cancelled; nothing was changed.")
    found.cancelled_at, found.cancelled_by_id = now, actor.id
    notify(session, [found.person, found.substitute], unit_id=found.unit_id, kind="substitute_cancelled",
           title=Phrase("The substitution of %(who)s by %(substitute)s was cancelled", who=found.person.full_name,
                        substitute=found.substitute.full_name),
           link="/substitutes", now=now)  # fmt: skip
    session.commit()
    return found


# Built once: every task given to a named person asks it.
_DAY = bindparam("day", type_=Date)
_STANDING_IN = (
    select(User).join(Substitution, Substitution.substitute_id == User.id)
    .where(Substitution.person_id == bindparam("person_id"), Substitution.unit_id == bindparam("unit_id"),
           Substitution.cancelled_at.is_(None), Substitution.starts_on <= _DAY,
           Substitution.ends_on >= _DAY, User.is_active.is_(True))
    .order_by(Substitution.id.desc())
    .limit(1)
)  # fmt: skip


def substitute_on(session: Session, unit_id: int, person_id: int, day: date) -> User | None:
    """Who stands in for the person in the unit on that day (an active account), if anyone."""
    return session.scalar(_STANDING_IN, {"person_id": person_id, "unit_id": unit_id, "day": day})


def substitutions_for(session: Session, viewer: User, today: date) -> list[Substitution]:
    """The running and coming substitutions of the viewer's units that concern them or that they may arrange."""
    units = select(RoleAssignment.unit_id).where(holds(viewer))
    stmt = select(Substitution).where(Substitution.unit_id.in_(units), Substitution.cancelled_at.is_(None),
                                      Substitution.ends_on >= today)  # fmt: skip
    rows = session.scalars(stmt.order_by(Substitution.starts_on, Substitution.id).limit(500)).all()
    return [s for s in rows if viewer.id in (s.person_id, s.substitute_id)
            or may_arrange(session, viewer, s.person, s.unit_id)]


__all__ = ["Substitution", "arrange", "cancel", "may_arrange", "substitute_on", "substitutions_for"]
