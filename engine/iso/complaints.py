"""The register of complaints and feedback (TCVN ISO 9001:2015, 9.1.2) and the jobs of the complaint process.

``bpmn/complaint-handling.bpmn`` records what a citizen, a business or a member of staff raised
(``register_complaint``, numbered ``PA-<year>-<n>`` per unit), gives it to a department with a time limit in
working days counted on the unit's calendar from the moment it was received (``assign_complaint``), keeps the
approved answer and whether it came on time (``answer_complaint``), and the complainant's satisfaction
(``close_complaint``). The register lists every complaint of a person's units with its on-time result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ForeignKey, Index, Integer, Select, String, Text, UniqueConstraint, and_, case, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload
from sqlalchemy.sql import ColumnElement

from engine.db import Base
from engine.errors import EngineError, NotFound, Phrase
from engine.org.calendar_days import calendar_for
from engine.org.models import Department, Unit, User
from engine.org.notices import notify
from engine.org.numbering import next_number
from engine.org.people import department_heads, units_in_view, users_with_role
from engine.runtime.handlers import JobContext
from engine.runtime.queries import (
    REGISTER_COUNT_CAP,
    REGISTER_PAGE_SIZE,
    ListOrder,
    keyset_page,
    keyset_query,
    register_count,
)

from .job_data import one_of as _one_of
from .job_data import row_of
from .job_data import text as _text

PROCESS_KEY = "complaint_handling"
"""The process that alone writes the register of complaints (``bpmn/complaint-handling.bpmn``)."""
REGISTER_JOB = "eiso.register_complaint"
ASSIGN_JOB = "eiso.assign_complaint"
ANSWER_JOB = "eiso.answer_complaint"
CLOSE_JOB = "eiso.close_complaint"

KINDS = ("complaint", "suggestion", "feedback", "praise")
SOURCES = ("citizen", "business", "staff", "agency")
CHANNELS = ("in_person", "phone", "email", "portal", "post", "box")
FINDINGS = ("justified", "partly", "unjustified", "noted")
SATISFACTION = ("very_satisfied", "satisfied", "neutral", "dissatisfied")
STATUSES = ("received", "assigned", "answered", "closed")
TIMELINESS = ("on_time", "late", "overdue", "pending")
"""On time or late: answered by or after the time limit; overdue: not answered and past it; pending: neither."""
MAX_ANSWER_DAYS = 45
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


class Complaint(Base):
    """One complaint, suggestion or piece of feedback, from its receipt to the complainant's satisfaction."""

    __tablename__ = "complaints"
    __table_args__ = (
        UniqueConstraint("unit_id", "code"),
        Index("ix_complaints_unit_received", "unit_id", "received_at", "id"),  # the register, newest first
        Index("ix_complaints_unit_status", "unit_id", "status"),
        Index("ix_complaints_unit_department", "unit_id", "department_id"),
        # the register's summary (``summary``) read from the index alone, for a unit and a year of receipt
        Index("ix_complaints_unit_summary", "unit_id", "received_at", "answered_at", "on_time", "due_at",
              "satisfaction"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), unique=True)
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(12))
    channel: Mapped[str] = mapped_column(String(12))
    complainant: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text)
    dossier_code: Mapped[str] = mapped_column(String(60), default="")
    received_at: Mapped[datetime]
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    answer_days: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime | None]
    assigned_at: Mapped[datetime | None]
    finding: Mapped[str] = mapped_column(String(12), default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    actions: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    on_time: Mapped[bool | None]
    satisfaction: Mapped[str] = mapped_column(String(16), default="")  # empty: not asked, or not reached
    satisfaction_note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(10))
    unit: Mapped[Unit] = relationship()
    department: Mapped[Department | None] = relationship()
    received_by: Mapped[User | None] = relationship()

    def timeliness(self, now: datetime) -> str:
        """``on_time``, ``late``, ``overdue`` or ``pending`` (see ``TIMELINESS``)."""
        if self.on_time is not None:
            return "on_time" if self.on_time else "late"
        return "overdue" if self.due_at is not None and self.due_at < now else "pending"


# --- reading the register -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintFilter:
    """What a register page asks for; None: any. ``year`` is the year of receipt (Hà Nội time)."""

    unit_id: int | None = None
    year: int | None = None
    status: str | None = None
    department_id: int | None = None
    kind: str | None = None
    source: str | None = None
    timeliness: str | None = None


def _where(session: Session, viewer: User, filters: ComplaintFilter, now: datetime) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Complaint.unit_id.in_(units_in_view(session, viewer, filters.unit_id))]
    if filters.year is not None:
        start, end = datetime(filters.year, 1, 1, tzinfo=LOCAL), datetime(filters.year + 1, 1, 1, tzinfo=LOCAL)
        where += [Complaint.received_at >= start, Complaint.received_at < end]
    for column, value in ((Complaint.status, filters.status), (Complaint.kind, filters.kind),
                          (Complaint.source, filters.source)):  # fmt: skip
        if value:
            where.append(column == value)
    if filters.department_id is not None:
        where.append(Complaint.department_id == filters.department_id)
    if filters.timeliness:
        where.append(_timeliness(filters.timeliness, now))
    return where


def _timeliness(value: str, now: datetime) -> ColumnElement[bool]:
    unanswered = Complaint.answered_at.is_(None)
    return {
        "on_time": Complaint.on_time.is_(True),
        "late": Complaint.on_time.is_(False),
        "overdue": and_(unanswered, Complaint.due_at < now),
        "pending": and_(unanswered, (Complaint.due_at.is_(None)) | (Complaint.due_at >= now)),
    }[value]


COMPLAINT_ORDER = ListOrder(((Complaint.received_at, True, False), (Complaint.id, True, False)))
"""The register's order: newest received first, the id breaking ties (``ix_complaints_unit_received``)."""
_COMPLAINT_LINE = (selectinload(Complaint.department), selectinload(Complaint.unit))


def find_complaints(session: Session, viewer: User, filters: ComplaintFilter, *, now: datetime,
                    limit: int | None = None, offset: int = 0) -> tuple[list[Complaint], int]:  # fmt: skip
    """The complaints of the viewer's units that match, newest first, and how many match in all (the export;
    the register's pages are ``complaint_page``)."""
    base = select(Complaint).where(*_where(session, viewer, filters, now))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    stmt = base.options(*_COMPLAINT_LINE).order_by(*COMPLAINT_ORDER.order_by()).offset(offset)
    return list(session.scalars(stmt.limit(limit) if limit is not None else stmt)), total


def complaint_page_query(session: Session, viewer: User, filters: ComplaintFilter, *, now: datetime,
                         after: list[Any] | None = None, limit: int = REGISTER_PAGE_SIZE) -> Select[Any]:  # fmt: skip
    return keyset_query(select(Complaint).where(*_where(session, viewer, filters, now)), COMPLAINT_ORDER, after,
                        limit)  # fmt: skip


def complaint_page(session: Session, viewer: User, filters: ComplaintFilter, *, now: datetime,
                   after: list[Any] | None = None,
                   limit: int = REGISTER_PAGE_SIZE) -> tuple[list[Complaint], list[Any] | None]:  # fmt: skip
    """One page of the register after the complaint whose key is ``after``, and the key of the next page (None:
    the last page); BadPageLink when ``after`` is not a key of this list."""
    stmt = select(Complaint).where(*_where(session, viewer, filters, now)).options(*_COMPLAINT_LINE)
    return keyset_page(session, stmt, COMPLAINT_ORDER, after, limit)


def count_complaints(session: Session, viewer: User, filters: ComplaintFilter, *, now: datetime,
                     cap: int = REGISTER_COUNT_CAP) -> int:  # fmt: skip
    """How many complaints match, counting no further than ``cap + 1``."""
    return register_count(session, select(Complaint).where(*_where(session, viewer, filters, now)), Complaint.id, cap)


@dataclass(frozen=True)
class Summary:
    """The figures of what a filter selects: how many were answered, on time, and how people felt."""

    total: int
    answered: int
    on_time: int
    overdue: int
    asked: int  # complainants reached for their satisfaction
    satisfied: int  # very satisfied or satisfied

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.answered if self.answered else None

    @property
    def satisfied_share(self) -> float | None:
        return self.satisfied / self.asked if self.asked else None


def summary_query(session: Session, viewer: User, filters: ComplaintFilter, *, now: datetime) -> Select[Any]:
    """One aggregate query over the same rows as ``find_complaints``; for a unit, or a unit and a year, it reads
    ``ix_complaints_unit_summary`` alone (the rows, with their texts, are not read)."""
    def count(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return select(
        func.count(), count(Complaint.answered_at.is_not(None)), count(Complaint.on_time.is_(True)),
        count(_timeliness("overdue", now)), count(Complaint.satisfaction != ""),
        count(Complaint.satisfaction.in_(("very_satisfied", "satisfied"))),
    ).select_from(Complaint).where(*_where(session, viewer, filters, now))  # fmt: skip


def summary(session: Session, viewer: User, filters: ComplaintFilter, *, now: datetime) -> Summary:
    """The figures of what the filters select."""
    return Summary(*(int(v or 0) for v in session.execute(summary_query(session, viewer, filters, now=now)).one()))


def complaint_for(session: Session, viewer: User, complaint_id: int) -> Complaint:
    """One complaint, for a person of its unit; to anyone else it does not exist."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or complaint.unit_id not in units_in_view(session, viewer, None):
        raise NotFound("Complaint %(id)s does not exist.", id=complaint_id)
    return complaint


# --- the process's jobs ---------------------------------------------------------------------------------


def _complaint(job: JobContext) -> Complaint:
    return row_of(job, Complaint, Phrase("This process has not recorded its complaint in the register yet."))


def register_complaint(job: JobContext) -> dict[str, Any]:
    """Number the complaint (``PA-<year>-<n>``, per unit and year of receipt) and put it in the register."""
    data, unit_id = job.data, job.instance.unit_id
    year = job.now.astimezone(LOCAL).year
    code = f"PA-{year}-{next_number(job.session, unit_id, 'complaint', year):04d}"
    complaint = Complaint(
        unit_id=unit_id, instance_id=job.instance.id, code=code, kind=_one_of(data.get("kind"), KINDS, "kind"),
        source=_one_of(data.get("source"), SOURCES, "source"),
        channel=_one_of(data.get("channel"), CHANNELS, "channel"),
        complainant=_text(data.get("complainantName"), 200) or "Không rõ", phone=_text(data.get("phone"), 200),
        email=_text(data.get("email"), 200), subject=_text(data.get("subject"), 300) or "?",
        content=_text(data.get("content"), 8000), dossier_code=_text(data.get("dossierCode"), 60),
        received_at=job.now, received_by_id=job.actor.id if job.actor else None, status="received",
    )  # fmt: skip
    job.session.add(complaint)
    job.session.flush()
    job.record("complaint_registered", {"complaint": complaint.id, "code": code})
    return {"complaintCode": code, "complaintId": complaint.id}


def assign_complaint(job: JobContext) -> dict[str, Any]:
    """Give the complaint to a department, with its time limit counted in the unit's working days."""
    session, data = job.session, job.data
    complaint = _complaint(job)
    code = str(data.get("assignedDepartment") or "")
    department = session.scalar(select(Department).where(Department.unit_id == complaint.unit_id,
                                                         Department.code == code))  # fmt: skip
    if department is None:
        raise EngineError("The unit has no department '%(code)s' to answer the complaint.", code=code)
    days = _answer_days(data.get("answerDays"))
    due = calendar_for(session, complaint.unit_id).add_working_days(complaint.received_at, days)
    complaint.department_id, complaint.answer_days, complaint.due_at = department.id, days, due
    complaint.assigned_at, complaint.status = job.now, "assigned"
    heads = department_heads(session, complaint.unit_id, department.id)
    notify(session, heads, unit_id=complaint.unit_id, instance_id=job.instance.id, kind="complaint_assigned",
           title=Phrase("Complaint %(code)s given to your department: %(subject)s", code=complaint.code,
                        subject=complaint.subject),
           body=Phrase("Answer due: %(due)s (%(days)s working days)", due=f"{due.astimezone(LOCAL):%H:%M %d/%m/%Y}",
                       days=days),
           link=f"/iso/complaints/{complaint.id}", now=job.now)  # fmt: skip
    job.record("complaint_assigned", {"complaint": complaint.id, "department": code, "due_at": due.isoformat()})
    return {"answerDueAt": due.isoformat()}


def _answer_days(value: Any) -> int:
    whole = not isinstance(value, bool) and isinstance(value, int | float) and value == int(value)
    if not whole or not 1 <= value <= MAX_ANSWER_DAYS:
        raise EngineError("The time limit must be from 1 to %(most)s working days, not '%(value)s'.",
                          most=MAX_ANSWER_DAYS, value=value)  # fmt: skip
    return int(value)


def answer_complaint(job: JobContext) -> dict[str, Any]:
    """Keep the approved answer, and whether it came by the time limit."""
    data = job.data
    complaint = _complaint(job)
    if complaint.due_at is None:
        raise EngineError("The complaint has no time limit yet; it must be given to a department first.")
    complaint.finding = _one_of(data.get("finding"), FINDINGS, "finding")
    complaint.answer, complaint.actions = _text(data.get("answer"), 8000), _text(data.get("actions"), 4000)
    complaint.answered_at, complaint.on_time, complaint.status = job.now, job.now <= complaint.due_at, "answered"
    job.record("complaint_answered", {"complaint": complaint.id, "on_time": complaint.on_time})
    return {"answeredOnTime": complaint.on_time}


def close_complaint(job: JobContext) -> dict[str, Any]:
    """Keep the complainant's satisfaction; a dissatisfied one reaches the ISO secretaries and the leaders."""
    session, data = job.session, job.data
    complaint = _complaint(job)
    contacted = _one_of(data.get("contacted"), ("yes", "no"), "contacted") == "yes"
    complaint.satisfaction = _one_of(data.get("satisfaction"), SATISFACTION, "satisfaction") if contacted else ""
    complaint.satisfaction_note = _text(data.get("satisfactionNote"), 2000)
    complaint.closed_at, complaint.status = job.now, "closed"
    notified: list[str] = []
    if complaint.satisfaction == "dissatisfied":
        people = users_with_role(session, complaint.unit_id, "iso_secretary")
        people += users_with_role(session, complaint.unit_id, "unit_leader")
        sent = notify(session, people, unit_id=complaint.unit_id, instance_id=job.instance.id,
                      kind="complaint_dissatisfied",
                      title=Phrase("The complainant is not satisfied: %(code)s", code=complaint.code),
                      body=complaint.satisfaction_note or complaint.subject, link=f"/iso/complaints/{complaint.id}",
                      now=job.now)  # fmt: skip
        by_id = {u.id: u.username for u in people}
        notified = sorted(by_id[n.user_id] for n in sent)
    job.record("complaint_closed", {"complaint": complaint.id, "satisfaction": complaint.satisfaction,
                                    "notified_users": notified})  # fmt: skip
    return {}

