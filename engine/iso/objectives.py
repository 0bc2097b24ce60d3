"""The register of quality objectives (TCVN ISO 9001:2015, 6.2) and its publishing job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from engine.db import Base
from engine.errors import EngineError, Phrase
from engine.org.models import Department, RoleAssignment, Unit, User
from engine.org.notices import notify
from engine.org.people import unit_ids_of
from engine.runtime.handlers import JobContext

from .job_data import day as _date


class ObjectiveSet(Base):
    """A unit's approved set of quality objectives (TCVN ISO 9001:2015, 6.2)."""

    __tablename__ = "objective_sets"
    __table_args__ = (Index("ix_objective_sets_unit_status", "unit_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    decision_number: Mapped[str] = mapped_column(String(100), default="")
    effective_date: Mapped[date | None] = mapped_column(Date)
    plan: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12))  # current | superseded
    published_at: Mapped[datetime]
    unit: Mapped[Unit] = relationship()
    items: Mapped[list[QualityObjective]] = relationship(
        back_populates="objective_set", order_by="QualityObjective.position", cascade="all, delete-orphan"
    )


class QualityObjective(Base):
    __tablename__ = "quality_objectives"
    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("objective_sets.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    objective: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    deadline: Mapped[date | None] = mapped_column(Date)
    objective_set: Mapped[ObjectiveSet] = relationship(back_populates="items")
    department: Mapped[Department | None] = relationship()


PROCESS_KEY = "quality_objectives"
"""The process that alone may publish a unit's objectives (bpmn/quality-objectives.bpmn)."""
PUBLISH_JOB = "eiso.publish_objectives"


def objective_sets(session: Session, unit_id: int) -> list[ObjectiveSet]:
    """The unit's objectives in force, one set per year, the newest year first (a year's set replaces only
    an earlier set of the same year)."""
    stmt = (
        select(ObjectiveSet)
        .where(ObjectiveSet.unit_id == unit_id, ObjectiveSet.status == "current")
        .options(selectinload(ObjectiveSet.items).selectinload(QualityObjective.department))
        .order_by(ObjectiveSet.year.desc(), ObjectiveSet.published_at.desc())
    )
    return list(session.scalars(stmt))


def current_objectives(session: Session, unit_id: int, year: int | None = None) -> ObjectiveSet | None:
    """The set in force in ``year``: that year's, else the newest earlier year's; without a year, or when
    only later years have one, the newest set."""
    sets = objective_sets(session, unit_id)
    if year is not None:
        for found in sets:
            if found.year <= year:
                return found
    return sets[0] if sets else None


def _department_members(session: Session, department_id: int) -> list[User]:
    stmt = (
        select(User)
        .outerjoin(RoleAssignment, RoleAssignment.user_id == User.id)
        .where((User.department_id == department_id) | (RoleAssignment.department_id == department_id))
        .where(User.is_active.is_(True))
        .distinct()
    )
    return list(session.scalars(stmt))


def publish_objectives(job: JobContext) -> dict[str, Any]:
    """Make the approved objectives the unit's objectives of their year (an earlier set of the same year is
    superseded, other years stay) and notify each responsible department."""
    session, data, instance = job.session, job.data, job.instance
    departments = {d.code: d for d in session.scalars(select(Department).where(Department.unit_id == instance.unit_id))}
    year = int(data.get("year") or job.now.year)
    session.execute(
        update(ObjectiveSet)
        .where(ObjectiveSet.unit_id == instance.unit_id, ObjectiveSet.status == "current", ObjectiveSet.year == year)
        .values(status="superseded")
    )
    objective_set = ObjectiveSet(
        unit_id=instance.unit_id,
        instance_id=instance.id,
        year=year,
        title=str(data.get("title") or ""),
        decision_number=str(data.get("decisionNumber") or ""),
        effective_date=_date(data.get("effectiveDate")),
        plan=str(data.get("plan") or ""),
        status="current",
        published_at=job.now,
    )
    for position, item in enumerate(data.get("objectives") or [], start=1):
        department = departments.get(str(item.get("department") or ""))
        objective_set.items.append(
            QualityObjective(
                position=position,
                objective=str(item.get("objective") or ""),
                target=str(item.get("target") or ""),
                department_id=department.id if department else None,
                deadline=_date(item.get("deadline")),
            )
        )
    session.add(objective_set)
    session.flush()
    notified = _notify_departments(session, job, objective_set)
    job.record("objectives_published", {"objective_set": objective_set.id, "notified_users": notified})
    return {"objectiveSetId": objective_set.id}


def _notify_departments(session: Session, job: JobContext, objective_set: ObjectiveSet) -> list[str]:
    notified: list[str] = []
    by_department: dict[int, list[QualityObjective]] = {}
    for item in objective_set.items:
        if item.department_id is not None:
            by_department.setdefault(item.department_id, []).append(item)
    for department_id, items in by_department.items():
        lines = "\n".join(f"- {i.objective} ({i.target})" for i in items)
        members = _department_members(session, department_id)
        notify(session, members, unit_id=objective_set.unit_id, instance_id=job.instance.id,
               kind="objectives_published",
               title=Phrase("Quality objectives for your department: %(title)s", title=objective_set.title),
               body=lines, link=f"/units/{job.instance.unit.code}/objectives", now=job.now)  # fmt: skip
        notified += [user.username for user in members]
    return notified


# --- the yearly follow-up: each department reports progress, the secretary consolidates, the leader evaluates


FOLLOWUP_KEY = "quality_objectives_followup"
"""The process that alone may load and record the progress of a unit's objectives
(bpmn/quality-objectives-followup.bpmn)."""
LOAD_FOLLOWUP_JOB = "eiso.load_objectives_followup"
RECORD_PROGRESS_JOB = "eiso.record_objectives_progress"
PROGRESS_STATUSES = ("achieved", "on_track", "at_risk", "not_achieved")


class ObjectiveProgress(Base):
    """What a department reported on one objective in a yearly follow-up, as the leader accepted it."""

    __tablename__ = "objective_progress"
    __table_args__ = (Index("ix_objective_progress_unit_year", "unit_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    objective_id: Mapped[int] = mapped_column(ForeignKey("quality_objectives.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    status: Mapped[str] = mapped_column(String(20))  # achieved | on_track | at_risk | not_achieved
    result: Mapped[str] = mapped_column(Text, default="")
    evaluation: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime]
    objective: Mapped[QualityObjective] = relationship()


def _set_of_year(session: Session, unit_id: int, year: int) -> ObjectiveSet | None:
    stmt = (
        select(ObjectiveSet)
        .where(ObjectiveSet.unit_id == unit_id, ObjectiveSet.status == "current", ObjectiveSet.year == year)
        .options(selectinload(ObjectiveSet.items).selectinload(QualityObjective.department))
    )
    return session.scalar(stmt.limit(1))


def load_followup(job: JobContext) -> dict[str, Any]:
    """The objectives of the year to follow up, grouped by responsible department (one report each)."""
    try:
        year = int(job.data.get("year") or 0)
    except (TypeError, ValueError):
        year = 0
    objective_set = _set_of_year(job.session, job.instance.unit_id, year)
    if objective_set is None:
        raise EngineError("This unit has no quality objectives of %(year)s in force; publish them first with the "
                          "quality-objectives process, then follow them up.", year=year)  # fmt: skip
    due: dict[int, dict[str, Any]] = {}
    for item in objective_set.items:
        if item.department is None:
            continue
        report = due.setdefault(item.department.id, {"department": item.department.code,
                                                     "departmentName": item.department.name, "items": []})  # fmt: skip
        report["items"].append({"objectiveId": item.id, "objective": item.objective, "target": item.target,
                                "deadline": item.deadline.isoformat() if item.deadline else None})  # fmt: skip
    if not due:
        raise EngineError("The objectives of %(year)s name no responsible department; nobody can report on them.",
                          year=year)  # fmt: skip
    return {"objectiveSetId": objective_set.id, "objectivesTitle": objective_set.title,
            "reportsDue": list(due.values())}  # fmt: skip


def record_progress(job: JobContext) -> dict[str, Any]:
    """Write the accepted progress of each objective into the register."""
    session, data, instance = job.session, job.data, job.instance
    objective_set = session.get(ObjectiveSet, int(data.get("objectiveSetId") or 0))
    if objective_set is None or objective_set.unit_id != instance.unit_id:
        raise EngineError("The objectives this follow-up reports on are not this unit's; nothing was recorded.")
    known = {item.id: item for item in objective_set.items}
    written = 0
    for report in data.get("departmentReports") or []:
        for row in (report or {}).get("progress") or []:
            item = known.get(_int(row.get("objectiveId")) or 0)
            status = str(row.get("status") or "")
            if item is None or status not in PROGRESS_STATUSES:
                raise EngineError("A progress report names an objective or a status this follow-up does not have; "
                                  "nothing was recorded.")  # fmt: skip
            session.add(ObjectiveProgress(
                unit_id=instance.unit_id, instance_id=instance.id, objective_id=item.id, year=objective_set.year,
                department_id=item.department_id, status=status, result=str(row.get("result") or ""),
                evaluation=str(data.get("evaluation") or ""), recorded_at=job.now,
            ))  # fmt: skip
            written += 1
    session.flush()
    job.record("objectives_progress_recorded", {"objective_set": objective_set.id, "rows": written})
    return {"progressRecorded": written}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class ObjectiveRow:
    """One objective of the register with its latest accepted progress (None before any follow-up)."""

    objective: QualityObjective
    objective_set: ObjectiveSet
    progress: ObjectiveProgress | None


def objective_register(session: Session, unit_ids: set[int], *, unit_id: int | None = None,
                       year: int | None = None, limit: int = 2000) -> list[ObjectiveRow]:  # fmt: skip
    """The objectives in force of these units (the reader's), each with its latest progress: newest year first."""
    wanted = unit_ids if unit_id is None else unit_ids & {unit_id}
    latest = (
        select(ObjectiveProgress.objective_id, func.max(ObjectiveProgress.id).label("latest"))
        .group_by(ObjectiveProgress.objective_id)
        .subquery()
    )
    stmt = (
        select(QualityObjective, ObjectiveSet, ObjectiveProgress)
        .join(ObjectiveSet, ObjectiveSet.id == QualityObjective.set_id)
        .outerjoin(latest, latest.c.objective_id == QualityObjective.id)
        .outerjoin(ObjectiveProgress, ObjectiveProgress.id == latest.c.latest)
        .where(ObjectiveSet.unit_id.in_(wanted), ObjectiveSet.status == "current")
        .options(selectinload(QualityObjective.department), selectinload(ObjectiveSet.unit))
        .order_by(ObjectiveSet.year.desc(), ObjectiveSet.unit_id, QualityObjective.position)
        .limit(limit)
    )
    if year is not None:
        stmt = stmt.where(ObjectiveSet.year == year)
    return [ObjectiveRow(o, s, p) for o, s, p in session.execute(stmt)]


def count_rows(session: Session, viewer: User, unit_id: int) -> int | None:
    """How many rows the register holds for the unit as this person reads them (the ISO home page's list of
    registers); None when they do not read it there."""
    if not viewer.is_active or unit_id not in unit_ids_of(session, viewer):
        return None
    stmt = (
        select(func.count())
        .select_from(QualityObjective)
        .join(ObjectiveSet, ObjectiveSet.id == QualityObjective.set_id)
        .where(ObjectiveSet.unit_id == unit_id, ObjectiveSet.status == "current")
    )
    return session.scalar(stmt) or 0
