"""The register of ad hoc work (công việc đột xuất): jobs a leader assigns to departments with a deadline.

Written by the ad hoc work process (``bpmn/adhoc-assignment.bpmn``) through its built-in jobs, which only
that process may use:

- ``eiso.assignment_open`` when the leader assigns the job: the job's row, one part per department
  (status ``assigned``), a notice to each department's head;
- ``eiso.assignment_department`` as each department's part starts: the department's specialists, whom its
  head may hand the job to;
- ``eiso.assignment_handover`` when the head hands the job to a specialist (``handed_over``);
- ``eiso.assignment_report`` when the department reports (``reported``, who and when);
- ``eiso.assignment_review`` when the leader accepts (``accepted``, on time or late against the deadline)
  or returns the report (``returned``, with the reason, counted);
- ``eiso.assignment_close`` when every department's report is accepted: the job is ``done``, on time when
  every department's accepted report came by the deadline.

A report is on time when it was sent on or before the deadline day (Hà Nội time); the report the leader
accepted counts. Everything is read unit by unit, as the other registers are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Select, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from engine.db import Base
from engine.errors import EngineError, NotFound, Phrase
from engine.org.models import Department, RoleAssignment, Unit, User
from engine.org.notices import notify
from engine.org.people import department_heads, roles_in_unit, users_with_role
from engine.runtime.handlers import JobContext
from engine.runtime.queries import REGISTER_PAGE_SIZE, ListOrder, keyset_page, keyset_query

from .job_data import row_of
from .job_data import text as _text

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
PROCESS_KEY = "adhoc_assignment"
"""The process that alone may write the register (bpmn/adhoc-assignment.bpmn)."""
OPEN_JOB = "eiso.assignment_open"
DEPARTMENT_JOB = "eiso.assignment_department"
HANDOVER_JOB = "eiso.assignment_handover"
REPORT_JOB = "eiso.assignment_report"
REVIEW_JOB = "eiso.assignment_review"
CLOSE_JOB = "eiso.assignment_close"
JOBS = (OPEN_JOB, DEPARTMENT_JOB, HANDOVER_JOB, REPORT_JOB, REVIEW_JOB, CLOSE_JOB)

STATUSES = ("in_progress", "done")
PART_STATUSES = ("assigned", "handed_over", "reported", "returned", "accepted")


class Assignment(Base):
    """A job a leader assigned to one or more departments, with its deadline."""

    __tablename__ = "adhoc_assignments"
    __table_args__ = (
        Index("ix_adhoc_assignments_unit_year", "unit_id", "year", "status"),
        Index("ix_adhoc_assignments_unit_assigned", "unit_id", "assigned_at", "id"),  # the list, newest first
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[date]
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12))  # in_progress | done
    finished_at: Mapped[datetime | None]
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    assigned_by: Mapped[User | None] = relationship()
    parts: Mapped[list[AssignmentPart]] = relationship(
        back_populates="assignment", order_by="AssignmentPart.id", cascade="all, delete-orphan"
    )

    def overdue(self, today: date) -> bool:
        return self.status == "in_progress" and self.deadline < today


class AssignmentPart(Base):
    """One department's share of an assigned job: who handles it, its report, the leader's verdict."""

    __tablename__ = "adhoc_assignment_parts"
    __table_args__ = (Index("ix_adhoc_assignment_parts_department", "department_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("adhoc_assignments.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    status: Mapped[str] = mapped_column(String(12), default="assigned")
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the specialist it was handed to
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[datetime | None]
    report: Mapped[str] = mapped_column(Text, default="")
    returns: Mapped[int] = mapped_column(Integer, default=0)
    return_reason: Mapped[str] = mapped_column(Text, default="")
    accepted_at: Mapped[datetime | None]
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    assignment: Mapped[Assignment] = relationship(back_populates="parts")
    department: Mapped[Department] = relationship()
    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id])
    reported_by: Mapped[User | None] = relationship(foreign_keys=[reported_by_id])


def local_date(moment: datetime) -> date:
    return moment.astimezone(LOCAL).date()


# --- reading ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentFilter:
    year: int | None = None
    status: str | None = None  # in_progress, done, or overdue
    department_id: int | None = None
    on_time: bool | None = None


def _member_unit(session: Session, viewer: User, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None or not viewer.is_active or not roles_in_unit(session, viewer, unit_id):
        raise NotFound("Unit %(id)s does not exist.", id=unit_id)
    return unit


ASSIGNMENT_ORDER = ListOrder(((Assignment.assigned_at, True, False), (Assignment.id, True, False)))
"""The list's order: newest first, the id breaking ties (``ix_adhoc_assignments_unit_assigned``)."""


def _assignments(session: Session, viewer: User, unit_id: int, filters: AssignmentFilter, today: date) -> Select[Any]:
    _member_unit(session, viewer, unit_id)
    stmt = select(Assignment).where(Assignment.unit_id == unit_id)
    if filters.year is not None:
        stmt = stmt.where(Assignment.year == filters.year)
    if filters.status == "overdue":
        stmt = stmt.where(Assignment.status == "in_progress", Assignment.deadline < today)
    elif filters.status:
        stmt = stmt.where(Assignment.status == filters.status)
    if filters.on_time is not None:
        stmt = stmt.where(Assignment.on_time.is_(filters.on_time))
    if filters.department_id is not None:
        parts = select(AssignmentPart.assignment_id).where(AssignmentPart.department_id == filters.department_id)
        stmt = stmt.where(Assignment.id.in_(parts))
    return stmt.options(
        selectinload(Assignment.parts).selectinload(AssignmentPart.department), selectinload(Assignment.assigned_by)
    )


def list_assignments(
    session: Session, viewer: User, unit_id: int, filters: AssignmentFilter, today: date, limit: int = 1000
) -> list[Assignment]:
    stmt = _assignments(session, viewer, unit_id, filters, today)
    return list(session.scalars(stmt.order_by(*ASSIGNMENT_ORDER.order_by()).limit(limit)))


def assignment_page_query(session: Session, viewer: User, unit_id: int, filters: AssignmentFilter, today: date,
                          after: list[Any] | None = None, limit: int = REGISTER_PAGE_SIZE) -> Select[Any]:  # fmt: skip
    return keyset_query(_assignments(session, viewer, unit_id, filters, today), ASSIGNMENT_ORDER, after, limit)


def assignment_page(session: Session, viewer: User, unit_id: int, filters: AssignmentFilter, today: date,
                    after: list[Any] | None = None,
                    limit: int = REGISTER_PAGE_SIZE) -> tuple[list[Assignment], list[Any] | None]:  # fmt: skip
    """One page of the unit's ad hoc work after the one whose key is ``after``, and the next page's key."""
    stmt = _assignments(session, viewer, unit_id, filters, today)
    return keyset_page(session, stmt, ASSIGNMENT_ORDER, after, limit)


def assignment_years(session: Session, viewer: User, unit_id: int) -> list[int]:
    _member_unit(session, viewer, unit_id)
    stmt = select(Assignment.year).where(Assignment.unit_id == unit_id).distinct()
    return sorted(session.scalars(stmt), reverse=True)


def get_assignment(session: Session, viewer: User, assignment_id: int) -> Assignment:
    stmt = (
        select(Assignment)
        .where(Assignment.id == assignment_id)
        .options(
            selectinload(Assignment.parts).selectinload(AssignmentPart.department),
            selectinload(Assignment.parts).selectinload(AssignmentPart.handler),
            selectinload(Assignment.parts).selectinload(AssignmentPart.reported_by),
            selectinload(Assignment.assigned_by),
        )
    )
    found = session.scalar(stmt)
    if found is None or not viewer.is_active or not roles_in_unit(session, viewer, found.unit_id):
        raise NotFound("Assigned job %(id)s does not exist.", id=assignment_id)
    return found


# --- the process's jobs -----------------------------------------------------------------------------------


def _deadline(value: Any) -> date:
    try:
        return date.fromisoformat(str(value or "")[:10])
    except ValueError:
        raise EngineError("The deadline '%(value)s' is not a date (expected YYYY-MM-DD).", value=value)


def _assignment_of(job: JobContext) -> Assignment:
    return row_of(job, Assignment, Phrase("The assigned job of this process has not been recorded."))


def _part_of(job: JobContext) -> AssignmentPart:
    assignment = _assignment_of(job)
    code = _text(job.data.get("department"))
    for part in assignment.parts:
        if part.department.code == code:
            return part
    raise EngineError("The department '%(code)s' has no part in this job.", code=code)



def open_assignment(job: JobContext) -> dict[str, Any]:
    """The leader assigned the job: its row, one part per chosen department, a notice to each head."""
    session, data, instance = job.session, job.data, job.instance
    departments = {d.code: d for d in session.scalars(select(Department).where(Department.unit_id == instance.unit_id))}
    chosen = [str(code) for code in data.get("assignedDepartments") or []]
    unknown = [code for code in chosen if code not in departments]
    if not chosen or unknown:
        raise EngineError(
            "Choose the departments of this unit the job goes to (unknown: %(codes)s).", codes=", ".join(unknown) or "—"
        )
    assignment = Assignment(
        unit_id=instance.unit_id,
        instance_id=instance.id,
        year=local_date(job.now).year,
        title=_text(data.get("title"), 300),
        content=_text(data.get("content")),
        deadline=_deadline(data.get("deadline")),
        assigned_by_id=job.actor.id if job.actor else None,
        assigned_at=job.now,
        status="in_progress",
    )
    for code in dict.fromkeys(chosen):
        assignment.parts.append(AssignmentPart(department_id=departments[code].id, status="assigned"))
    session.add(assignment)
    session.flush()
    notified: list[str] = []
    for code in dict.fromkeys(chosen):
        heads = department_heads(session, instance.unit_id, departments[code].id)
        notify(
            session,
            heads,
            unit_id=instance.unit_id,
            instance_id=instance.id,
            kind="assignment",
            title=Phrase("Work for %(department)s: %(title)s, due %(due)s", department=departments[code].name,
                         title=assignment.title, due=assignment.deadline.strftime("%d/%m/%Y")),
            body=assignment.content,
            link="/",
            now=job.now,
        )
        notified += [u.username for u in heads]
    job.record("assignment_opened", {"assignment": assignment.id, "notified_users": notified})
    return {"assignmentId": assignment.id}


def start_department(job: JobContext) -> dict[str, Any]:
    """A department's part starts: its name and its specialists (whom the head may hand the job to)."""
    part = _part_of(job)
    stmt = (
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(
            RoleAssignment.unit_id == job.instance.unit_id,
            RoleAssignment.role == "specialist",
            RoleAssignment.department_id == part.department_id,
            User.is_active.is_(True),
        )
        .distinct()
    )
    people = sorted(job.session.scalars(stmt), key=lambda u: (u.full_name, u.username))
    return {
        "departmentName": part.department.name,
        "specialists": [{"label": u.full_name, "value": u.username} for u in people],
    }


def hand_over(job: JobContext) -> dict[str, Any]:
    part = _part_of(job)
    specialist = job.session.scalar(select(User).where(User.username == _text(job.data.get("specialist"))))
    part.status = "handed_over"
    part.handler_id = specialist.id if specialist else None
    job.session.flush()
    return {}


def record_report(job: JobContext) -> dict[str, Any]:
    part = _part_of(job)
    part.status = "reported"
    part.report = _text(job.data.get("report"))
    part.reported_at = job.now
    part.reported_by_id = job.actor.id if job.actor else None
    job.session.flush()
    return {"decision": None}  # the leader decides afresh on each report


def record_review(job: JobContext) -> dict[str, Any]:
    part = _part_of(job)
    if job.data.get("decision") == "accept":
        part.status = "accepted"
        part.accepted_at = job.now
        reported = part.reported_at or job.now
        part.on_time = local_date(reported) <= part.assignment.deadline
    else:
        part.status = "returned"
        part.returns += 1
        part.return_reason = _text(job.data.get("returnReason"))  # the rework task carries it to the reporter
    job.session.flush()
    return {}


def close_assignment(job: JobContext) -> dict[str, Any]:
    """Every department's report was accepted: the job is done, on time when every part was."""
    assignment = _assignment_of(job)
    assignment.status = "done"
    assignment.finished_at = job.now
    assignment.on_time = all(part.on_time for part in assignment.parts)
    leaders = [u for u in [assignment.assigned_by] if u is not None and u.is_active]
    if not leaders:
        leaders = users_with_role(job.session, job.instance.unit_id, "unit_leader")
    verdict = Phrase("On time") if assignment.on_time else Phrase("Late")
    notify(
        job.session,
        leaders,
        unit_id=job.instance.unit_id,
        instance_id=job.instance.id,
        kind="assignment",
        title=Phrase("Work done (%(verdict)s): %(title)s", verdict=verdict, title=assignment.title),
        link=f"/iso/assignments/{assignment.id}",
        now=job.now,
    )
    job.session.flush()
    job.record("assignment_closed", {"assignment": assignment.id, "on_time": assignment.on_time})
    return {}


def count_rows(session: Session, viewer: User, unit_id: int) -> int | None:
    """How many rows the register holds for the unit as this person reads them (the ISO home page's list of
    registers); None when they do not read it there."""
    if not viewer.is_active or not roles_in_unit(session, viewer, unit_id):
        return None
    return session.scalar(select(func.count()).select_from(Assignment).where(Assignment.unit_id == unit_id)) or 0
