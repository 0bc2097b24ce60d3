"""The register of nonconformities and their corrective actions (TCVN ISO 9001:2015, 10.2), written by the
corrective-action process's jobs (``bpmn/corrective-action.bpmn``).

A corrective action starts from a nonconformity: one found by an internal audit (the audit process calls
this process once per nonconformity) or one found elsewhere (a complaint, a management review, the
monitoring of a process) and reported by hand. Its steps, and the job that records each:

- ``eiso.corrective_action_opened``: the nonconformity is numbered (``KPH-2027-003``) and enters the register;
- the department head makes the correction, analyses the root cause and plans the actions;
- ``eiso.corrective_action_planned``: correction, cause, actions, owner and due date;
- the department carries the actions out;
- ``eiso.corrective_action_implemented``: what was done, with evidence files;
- the ISO secretary or an internal auditor verifies the effectiveness;
- ``eiso.corrective_action_verified``: effective → closed; not effective → reopened, back to the root cause.

Readers: the unit's ISO secretaries, leaders and internal auditors read every row; a department head reads
the rows of their own department.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, ForeignKey, Index, Integer, Select, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from engine.db import Base
from engine.errors import EngineError, Phrase
from engine.org.calendar_days import calendar_for
from engine.org.models import Department, Unit, User
from engine.org.numbering import next_number
from engine.org.people import member_in
from engine.org.scopes import ReaderScope, narrow, reader_scope
from engine.runtime.handlers import JobContext
from engine.runtime.queries import REGISTER_PAGE_SIZE, ListOrder, keyset_page, keyset_query

from .job_data import day as _date
from .job_data import row_of
from .job_data import rows as _rows
from .job_data import text as _text

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PROCESS_KEY = "corrective_action"
"""The process that alone writes this register (``bpmn/corrective-action.bpmn``)."""
OPEN_JOB = "eiso.corrective_action_opened"
PLAN_JOB = "eiso.corrective_action_planned"
IMPLEMENTED_JOB = "eiso.corrective_action_implemented"
VERIFIED_JOB = "eiso.corrective_action_verified"
JOBS = (OPEN_JOB, PLAN_JOB, IMPLEMENTED_JOB, VERIFIED_JOB)

SOURCES = ("audit", "complaint", "management_review", "monitoring", "other")
STATUSES = ("open", "in_progress", "awaiting_verification", "reopened", "closed")
"""open: waiting for the correction, cause and plan; in_progress: planned, being carried out;
awaiting_verification: carried out; reopened: found not effective, cause and plan again; closed: effective."""
VERIFICATIONS = ("effective", "not_effective")
WHOLE_UNIT_READERS = ("iso_secretary", "unit_leader", "internal_auditor")
DEPARTMENT_READERS = ("department_head",)
SERIES = "corrective_action"


class CorrectiveAction(Base):
    """A nonconformity and the action that removes its cause: one row per corrective-action instance."""

    __tablename__ = "corrective_actions"
    __table_args__ = (
        Index("ix_corrective_actions_unit_year", "unit_id", "year", "id"),  # the list, newest first
        Index("ix_corrective_actions_unit_status", "unit_id", "status"),
        Index("ix_corrective_actions_department", "department_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), unique=True)
    code: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("audit_findings.id"), index=True)
    finding_code: Mapped[str] = mapped_column(String(40), default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    description: Mapped[str] = mapped_column(Text)
    requirement: Mapped[str] = mapped_column(String(300), default="")
    detected_on: Mapped[date | None] = mapped_column(Date)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    correction: Mapped[str] = mapped_column(Text, default="")
    corrected_on: Mapped[date | None] = mapped_column(Date)
    root_cause: Mapped[str] = mapped_column(Text, default="")
    cause_method: Mapped[str] = mapped_column(String(40), default="")
    actions: Mapped[list[Any]] = mapped_column(default=list)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    implementation: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    implemented_at: Mapped[datetime | None]
    verification: Mapped[str] = mapped_column(String(16), default="")
    verification_note: Mapped[str] = mapped_column(Text, default="")
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None]
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(24))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    unit: Mapped[Unit] = relationship()
    department: Mapped[Department] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    reported_by: Mapped[User | None] = relationship(foreign_keys=[reported_by_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])

    def overdue(self, today: date) -> bool:
        return self.status != "closed" and self.due_on is not None and self.due_on < today


# --- who reads, and what ---------------------------------------------------------------------------------


def readers(session: Session, viewer: User | None) -> ReaderScope:
    return reader_scope(session, viewer, whole_unit_roles=WHOLE_UNIT_READERS, department_roles=DEPARTMENT_READERS)


def may_read(session: Session, viewer: User | None) -> bool:
    return bool(readers(session, viewer).unit_ids)


@dataclass(frozen=True)
class ActionFilter:
    """What the register page asks for; every field optional (``None``: all)."""

    unit: str | None = None
    year: int | None = None
    department: str | None = None
    source: str | None = None
    status: str | None = None
    overdue: bool = False

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> ActionFilter:
        """From the page's query string; a value that names nothing is refused with the field named."""
        given = {k: (args.get(k) or "").strip() or None for k in ("unit", "year", "department", "source", "status",
                                                                 "overdue")}  # fmt: skip
        if given["source"] and given["source"] not in SOURCES:
            raise EngineError("'%(value)s' is not a source of nonconformities; use one of: %(choices)s.",
                          value=str(given["source"])[:40], choices=", ".join(SOURCES))
        if given["status"] and given["status"] not in STATUSES:
            raise EngineError("'%(value)s' is not a status of this register; use one of: %(choices)s.",
                          value=str(given["status"])[:40], choices=", ".join(STATUSES))
        if given["overdue"] not in (None, "0", "1"):
            raise EngineError("'overdue' is 1 (only overdue actions) or 0; found '%(value)s'.",
                              value=str(given["overdue"])[:20])  # fmt: skip
        return cls(given["unit"], _year(given["year"]), given["department"], given["source"], given["status"],
                   given["overdue"] == "1")  # fmt: skip


ACTION_ORDER = ListOrder(((CorrectiveAction.year, True, False), (CorrectiveAction.id, True, False)))
"""Newest year first, the id breaking ties (``ix_corrective_actions_unit_year``)."""


def _actions(session: Session, viewer: User, filters: ActionFilter, today: date) -> Select[Any]:
    scope = narrow(session, readers(session, viewer), unit_code=filters.unit, department_code=filters.department)
    stmt = select(CorrectiveAction).where(scope.condition(CorrectiveAction.unit_id, CorrectiveAction.department_id))
    if filters.year is not None:
        stmt = stmt.where(CorrectiveAction.year == filters.year)
    if filters.source is not None:
        stmt = stmt.where(CorrectiveAction.source == filters.source)
    if filters.status is not None:
        stmt = stmt.where(CorrectiveAction.status == filters.status)
    if filters.overdue:
        stmt = stmt.where(CorrectiveAction.status != "closed", CorrectiveAction.due_on < today)
    return stmt.options(
        joinedload(CorrectiveAction.unit), joinedload(CorrectiveAction.department), joinedload(CorrectiveAction.owner),
        joinedload(CorrectiveAction.verified_by),
    )  # fmt: skip


def actions(session: Session, viewer: User, filters: ActionFilter, *, today: date,
            limit: int = 500) -> list[CorrectiveAction]:  # fmt: skip
    """The corrective actions the viewer reads (a department head: their department's), newest first."""
    stmt = _actions(session, viewer, filters, today).order_by(*ACTION_ORDER.order_by())
    return list(session.scalars(stmt.limit(limit)).unique())


def action_page_query(session: Session, viewer: User, filters: ActionFilter, *, today: date,
                      after: list[Any] | None = None, limit: int = REGISTER_PAGE_SIZE) -> Select[Any]:  # fmt: skip
    return keyset_query(_actions(session, viewer, filters, today), ACTION_ORDER, after, limit)


def action_page(session: Session, viewer: User, filters: ActionFilter, *, today: date, after: list[Any] | None = None,
                limit: int = REGISTER_PAGE_SIZE) -> tuple[list[CorrectiveAction], list[Any] | None]:  # fmt: skip
    """One page of the corrective actions after the one whose key is ``after``, and the key of the next page."""
    return keyset_page(session, _actions(session, viewer, filters, today), ACTION_ORDER, after, limit)


def for_findings(session: Session, finding_ids: Sequence[int]) -> dict[int, CorrectiveAction]:
    """The corrective action of each audit finding that has one (the findings register shows them)."""
    if not finding_ids:
        return {}
    stmt = select(CorrectiveAction).where(CorrectiveAction.finding_id.in_(list(finding_ids)))
    return {row.finding_id: row for row in session.scalars(stmt) if row.finding_id is not None}


def readable_units(session: Session, viewer: User) -> list[Unit]:
    ids = readers(session, viewer).unit_ids
    return list(session.scalars(select(Unit).where(Unit.id.in_(sorted(ids))).order_by(Unit.name))) if ids else []


# --- the process's jobs ----------------------------------------------------------------------------------


def open_action(job: JobContext) -> dict[str, Any]:
    """Number the nonconformity and enter it in the register. It comes from the audit (``nonconformity``)
    or from the start form of a nonconformity found elsewhere (its fields at the top of the data)."""
    session, instance = job.session, job.instance
    given = job.data.get("nonconformity")
    nc: dict[str, Any] = dict(given) if isinstance(given, dict) else {
        k: job.data.get(k) for k in ("source", "department", "description", "requirement", "detectedOn")}  # fmt: skip
    source = str(nc.get("source") or "")
    if source not in SOURCES:
        raise EngineError("'%(value)s' is not a source of nonconformities; use one of: %(choices)s.",
                          value=str(source)[:40], choices=", ".join(SOURCES))
    named = str(nc.get("department") or "")
    department = session.scalar(select(Department).where(Department.unit_id == instance.unit_id,
                                                         Department.code == named))  # fmt: skip
    if department is None:
        raise EngineError("The nonconformity names the department '%(code)s', which this unit does not have.",
                          code=str(nc.get("department") or "-"))  # fmt: skip
    detected = _date(nc.get("detectedOn")) or job.now.astimezone(LOCAL_TZ).date()
    year = detected.year
    code = f"KPH-{year}-{next_number(session, instance.unit_id, SERIES, year):03d}"
    reporter = member_in(session, instance.unit_id, str(nc.get("reportedBy"))) if nc.get("reportedBy") else None
    reporter = reporter or job.actor or instance.started_by
    finding_id = nc.get("findingId") if isinstance(nc.get("findingId"), int) else None
    row = CorrectiveAction(
        unit_id=instance.unit_id, instance_id=instance.id, code=code, year=year, source=source, finding_id=finding_id,
        finding_code=_text(nc.get("findingCode"), 40), department_id=department.id,
        description=_text(nc.get("description")) or "-", requirement=_text(nc.get("requirement"), 300),
        detected_on=detected, reported_by_id=reporter.id if reporter else None,
        status="open", opened_at=job.now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    job.record("corrective_action_opened", {"corrective_action": row.id, "code": code})
    normalized = {**nc, "code": code, "source": source, "department": department.code,
                  "departmentName": department.name, "detectedOn": detected.isoformat()}  # fmt: skip
    return {"nonconformity": normalized, "correctiveAction": {"id": row.id, "code": code}}


def record_plan(job: JobContext) -> dict[str, Any]:
    """Correction, root cause and the action plan: the owner is who planned it, the due date the latest action's."""
    session, data = job.session, job.data
    row = _row(job)
    planned = [a for a in _rows(data.get("actions")) if _text(a.get("action"))]
    if not planned:
        raise EngineError("The action plan has no action; add at least one action with its due date.")
    row.correction, row.corrected_on = _text(data.get("correction")), _date(data.get("correctionDate"))
    row.root_cause, row.cause_method = _text(data.get("rootCause")), _text(data.get("causeMethod"), 40)
    row.actions = [{"action": _text(a.get("action")), "owner": _text(a.get("owner"), 200),
                    "dueDate": a.get("dueDate")} for a in planned]  # fmt: skip
    dues = [d for d in (_date(a.get("dueDate")) for a in planned) if d is not None]
    row.due_on = max(dues) if dues else None
    row.owner_id = job.actor.id if job.actor else row.owner_id
    row.status = "in_progress"
    due_at = None
    if row.due_on is not None:
        calendar = calendar_for(session, row.unit_id)
        due_at = calendar.add_working_days(datetime.combine(row.due_on, datetime.min.time(), tzinfo=LOCAL_TZ), 0)
    job.record("corrective_action_planned", {"corrective_action": row.id, "due_on": _iso(row.due_on)})
    action = {"id": row.id, "code": row.code, "dueOn": _iso(row.due_on),
              "dueAt": due_at.isoformat() if due_at else None}
    return {"correctiveAction": action, "verification": None, "verificationNote": None}


def record_implementation(job: JobContext) -> dict[str, Any]:
    """The department carried the actions out: what was done and its evidence, waiting for verification."""
    row = _row(job)
    row.implementation = _text(job.data.get("implementation"))
    results = _rows(job.data.get("actions"))
    row.actions = [{**a, "result": _text(results[i].get("result")) if i < len(results) else "",
                    "done": bool(results[i].get("done")) if i < len(results) else False}
                   for i, a in enumerate(row.actions)]  # fmt: skip
    row.evidence = _rows(job.data.get("evidenceFiles"))
    row.implemented_at, row.status = job.now, "awaiting_verification"
    job.record("corrective_action_implemented", {"corrective_action": row.id})
    return {}


def record_verification(job: JobContext) -> dict[str, Any]:
    """Effective: the nonconformity is closed. Not effective: it is reopened, back to its root cause."""
    row = _row(job)
    result = str(job.data.get("verification") or "")
    if result not in VERIFICATIONS:
        raise EngineError("'%(value)s' is not a verification result; use one of: %(choices)s.",
                          value=str(result)[:40], choices=", ".join(VERIFICATIONS))
    row.verification, row.verification_note = result, _text(job.data.get("verificationNote"))
    row.verified_at, row.verified_by_id = job.now, job.actor.id if job.actor else None
    if result == "effective":
        row.status, row.closed_at = "closed", job.now
    else:
        row.status, row.reopened = "reopened", row.reopened + 1
    job.record("corrective_action_verified", {"corrective_action": row.id, "verification": result})
    return {}


# --- helpers ---------------------------------------------------------------------------------------------


def _row(job: JobContext) -> CorrectiveAction:
    missing = Phrase("This corrective action was never entered in the register; its first step is missing.")
    return row_of(job, CorrectiveAction, missing)



def _year(text: str | None) -> int | None:
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and 2000 <= int(text) <= 2100):
        raise EngineError("The year '%(value)s' is not a year between 2000 and 2100.", value=text[:20])
    return int(text)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def count_rows(session: Session, viewer: User, unit_id: int) -> int | None:
    """How many rows the register holds for the unit as this person reads them (the ISO home page's list of
    registers); None when they do not read it there."""
    scope = readers(session, viewer).of_unit(unit_id)
    if not scope.unit_ids:
        return None
    condition = scope.condition(CorrectiveAction.unit_id, CorrectiveAction.department_id)
    return session.scalar(select(func.count()).select_from(CorrectiveAction).where(condition)) or 0
