"""The internal audit register (TCVN ISO 9001:2015, 9.2): programmes, rounds with their plans, the audit of
each department, and the findings, written by the internal-audit process's jobs (``bpmn/internal-audit.bpmn``).

The process, step by step, and the job that records each step:

- ``eiso.audit_prepare``: the unit's internal auditors (the options of the plan's auditor list) and, for a
  new programme, the year it is for;
- ``eiso.audit_programme_approved``: the leader approved the yearly programme → an ``AuditProgramme``;
- ``eiso.audit_plan_approved``: the leader approved the detailed plan of a round → an ``AuditRound`` and one
  ``AuditAssignment`` per department (its auditor, date and deadline), handed to the multi-instance audit;
- ``eiso.audit_findings_recorded``: an auditor finished a department → its checklist, evidence files and
  ``AuditFinding`` rows (nonconformity, observation or opportunity for improvement);
- ``eiso.audit_round_concluded``: the leader concluded the round → the conclusion, the findings noted or
  sent to corrective action (one ``corrective_action`` instance per nonconformity), notices to the
  departments;
- ``eiso.audit_finding_closed``: a nonconformity's corrective action was verified effective.

Readers: the unit's ISO secretaries, leaders and internal auditors read every row; a department head
reads the programmes and the findings of their own department.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, ForeignKey, Index, Integer, Select, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship, selectinload

from engine.db import Base
from engine.errors import EngineError, Phrase
from engine.org.calendar_days import calendar_for
from engine.org.models import Department, Unit, User
from engine.org.notices import notify
from engine.org.people import department_heads, member_in, roles_in_unit, users_with_role
from engine.org.scopes import ReaderScope, narrow, reader_scope
from engine.runtime.handlers import JobContext
from engine.runtime.models import ProcessInstance
from engine.runtime.queries import REGISTER_PAGE_SIZE, ListOrder, keyset_page, keyset_query

from .job_data import day as _date
from .job_data import rows as _rows
from .job_data import text as _text

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PROCESS_KEY = "internal_audit"
"""The process that alone writes this register (``bpmn/internal-audit.bpmn``)."""
PREPARE_JOB = "eiso.audit_prepare"
PROGRAMME_JOB = "eiso.audit_programme_approved"
PLAN_JOB = "eiso.audit_plan_approved"
FINDINGS_JOB = "eiso.audit_findings_recorded"
CONCLUSION_JOB = "eiso.audit_round_concluded"
CLOSE_FINDING_JOB = "eiso.audit_finding_closed"
JOBS = (PREPARE_JOB, PROGRAMME_JOB, PLAN_JOB, FINDINGS_JOB, CONCLUSION_JOB, CLOSE_FINDING_JOB)

NONCONFORMITY, OBSERVATION, IMPROVEMENT = "nonconformity", "observation", "improvement"
CLASSIFICATIONS = (NONCONFORMITY, OBSERVATION, IMPROVEMENT)
FINDING_STATUSES = ("open", "corrective_action", "noted", "closed")
"""open: recorded, the round not concluded; corrective_action: a nonconformity being corrected; noted: an
observation or opportunity for improvement the leader took note of; closed: corrected and verified."""
PROGRAMME_STATUSES = ("approved", "in_progress", "concluded")
ROUND_STATUSES = ("planned", "audited", "concluded")
DECISIONS = ("close", "further_audit")
WHOLE_UNIT_READERS = ("iso_secretary", "unit_leader", "internal_auditor")
DEPARTMENT_READERS = ("department_head",)
AUDIT_DAYS_TO_REPORT = 2  # working days after the audit day to record its findings


class AuditProgramme(Base):
    """A unit's approved internal audit programme of one year (objectives, scope, criteria, timing)."""

    __tablename__ = "audit_programmes"
    __table_args__ = (Index("ix_audit_programmes_unit_year", "unit_id", "year", "id"),)  # the list, newest first
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    objectives: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(Text, default="")
    criteria: Mapped[str] = mapped_column(Text, default="")
    expected_time: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(16))
    approved_at: Mapped[datetime]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    concluded_at: Mapped[datetime | None]
    unit: Mapped[Unit] = relationship()
    rounds: Mapped[list[AuditRound]] = relationship(back_populates="programme", order_by="AuditRound.number")


class AuditRound(Base):
    """One audit round of a programme: its approved detailed plan, and the leader's conclusion."""

    __tablename__ = "audit_rounds"
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("audit_programmes.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    criteria: Mapped[str] = mapped_column(Text, default="")
    procedure: Mapped[str] = mapped_column(Text, default="")
    checklist: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16))
    approved_at: Mapped[datetime]
    conclusion: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str] = mapped_column(String(16), default="")
    concluded_at: Mapped[datetime | None]
    concluded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    programme: Mapped[AuditProgramme] = relationship(back_populates="rounds")
    assignments: Mapped[list[AuditAssignment]] = relationship(back_populates="round", order_by="AuditAssignment.id")


class AuditAssignment(Base):
    """The audit of one department in a round: its auditor and date, then the checklist and evidence."""

    __tablename__ = "audit_assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("audit_rounds.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    auditor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    audit_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # planned | audited
    checklist: Mapped[list[Any]] = mapped_column(default=list)
    evidence: Mapped[list[Any]] = mapped_column(default=list)  # file references, as in the process data
    summary: Mapped[str] = mapped_column(Text, default="")
    audited_at: Mapped[datetime | None]
    round: Mapped[AuditRound] = relationship(back_populates="assignments")
    department: Mapped[Department] = relationship()
    auditor: Mapped[User] = relationship()


class AuditFinding(Base):
    """A finding of an internal audit: a nonconformity, an observation or an opportunity for improvement."""

    __tablename__ = "audit_findings"
    __table_args__ = (
        Index("ix_audit_findings_unit_year", "unit_id", "year", "id"),  # the list, newest first
        Index("ix_audit_findings_unit_status", "unit_id", "status"),
        Index("ix_audit_findings_department", "department_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("audit_rounds.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("audit_assignments.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    year: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    classification: Mapped[str] = mapped_column(String(16))
    clause: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    unit: Mapped[Unit] = relationship()
    round: Mapped[AuditRound] = relationship()
    assignment: Mapped[AuditAssignment] = relationship()
    department: Mapped[Department] = relationship()


# --- who reads, and what ---------------------------------------------------------------------------------


def readers(session: Session, viewer: User | None) -> ReaderScope:
    return reader_scope(session, viewer, whole_unit_roles=WHOLE_UNIT_READERS, department_roles=DEPARTMENT_READERS)


def may_read(session: Session, viewer: User | None) -> bool:
    """Whether the person reads this register in any unit (the pages' gate; rows are scoped again by unit)."""
    return bool(readers(session, viewer).unit_ids)


@dataclass(frozen=True)
class AuditFilter:
    """What a register page asks for; every field optional (``None``: all)."""

    unit: str | None = None
    year: int | None = None
    department: str | None = None
    classification: str | None = None
    status: str | None = None

    @classmethod
    def parse(cls, args: Mapping[str, str], *, statuses: Sequence[str]) -> AuditFilter:
        """From a page's query string; a value that names nothing is refused with the field named."""
        given = {k: (args.get(k) or "").strip() or None for k in ("unit", "year", "department", "classification",
                                                                 "status")}  # fmt: skip
        if given["classification"] and given["classification"] not in CLASSIFICATIONS:
            raise EngineError("'%(value)s' is not a classification; use one of: %(choices)s.",
                          value=str(given["classification"])[:40], choices=", ".join(CLASSIFICATIONS))
        if given["status"] and given["status"] not in statuses:
            raise EngineError("'%(value)s' is not a status of this register; use one of: %(choices)s.",
                          value=str(given["status"])[:40], choices=", ".join(statuses))
        return cls(given["unit"], parse_year(given["year"]), given["department"], given["classification"],
                   given["status"])  # fmt: skip


def parse_year(text: str | None) -> int | None:
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and 2000 <= int(text) <= 2100):
        raise EngineError("The year '%(value)s' is not a year between 2000 and 2100.", value=text[:20])
    return int(text)



PROGRAMME_ORDER = ListOrder(((AuditProgramme.year, True, False), (AuditProgramme.id, True, False)))
"""Newest year first, the id breaking ties (``ix_audit_programmes_unit_year``)."""
FINDING_ORDER = ListOrder(((AuditFinding.year, True, False), (AuditFinding.id, True, False)))
"""Newest year first, the id breaking ties (``ix_audit_findings_unit_year``)."""


def _programmes(session: Session, viewer: User, filters: AuditFilter) -> Select[Any]:
    scope = narrow(session, readers(session, viewer), unit_code=filters.unit)
    stmt = select(AuditProgramme).where(scope.condition(AuditProgramme.unit_id))
    if filters.year is not None:
        stmt = stmt.where(AuditProgramme.year == filters.year)
    if filters.status is not None:
        stmt = stmt.where(AuditProgramme.status == filters.status)
    rounds = selectinload(AuditProgramme.rounds).selectinload(AuditRound.assignments)
    return stmt.options(joinedload(AuditProgramme.unit), rounds.joinedload(AuditAssignment.department))


def programmes(session: Session, viewer: User, filters: AuditFilter, *, limit: int = 500) -> list[AuditProgramme]:
    """The programmes the viewer reads, newest year first, with their rounds."""
    stmt = _programmes(session, viewer, filters).order_by(*PROGRAMME_ORDER.order_by())
    return list(session.scalars(stmt.limit(limit)).unique())


def programme_page_query(session: Session, viewer: User, filters: AuditFilter, after: list[Any] | None = None,
                         limit: int = REGISTER_PAGE_SIZE) -> Select[Any]:  # fmt: skip
    return keyset_query(_programmes(session, viewer, filters), PROGRAMME_ORDER, after, limit)


def programme_page(session: Session, viewer: User, filters: AuditFilter, after: list[Any] | None = None,
                   limit: int = REGISTER_PAGE_SIZE) -> tuple[list[AuditProgramme], list[Any] | None]:  # fmt: skip
    """One page of the programmes after the one whose key is ``after``, and the key of the next page."""
    return keyset_page(session, _programmes(session, viewer, filters), PROGRAMME_ORDER, after, limit)


def _findings(session: Session, viewer: User, filters: AuditFilter) -> Select[Any]:
    scope = narrow(session, readers(session, viewer), unit_code=filters.unit, department_code=filters.department)
    stmt = select(AuditFinding).where(scope.condition(AuditFinding.unit_id, AuditFinding.department_id))
    if filters.year is not None:
        stmt = stmt.where(AuditFinding.year == filters.year)
    if filters.classification is not None:
        stmt = stmt.where(AuditFinding.classification == filters.classification)
    if filters.status is not None:
        stmt = stmt.where(AuditFinding.status == filters.status)
    return stmt.options(
        joinedload(AuditFinding.unit), joinedload(AuditFinding.department),
        joinedload(AuditFinding.round).joinedload(AuditRound.programme),
        joinedload(AuditFinding.assignment).joinedload(AuditAssignment.auditor),
    )  # fmt: skip


def findings(session: Session, viewer: User, filters: AuditFilter, *, limit: int = 500) -> list[AuditFinding]:
    """The findings the viewer reads (a department head: their department's), newest first."""
    stmt = _findings(session, viewer, filters).order_by(*FINDING_ORDER.order_by())
    return list(session.scalars(stmt.limit(limit)).unique())


def finding_page_query(session: Session, viewer: User, filters: AuditFilter, after: list[Any] | None = None,
                       limit: int = REGISTER_PAGE_SIZE) -> Select[Any]:  # fmt: skip
    return keyset_query(_findings(session, viewer, filters), FINDING_ORDER, after, limit)


def finding_page(session: Session, viewer: User, filters: AuditFilter, after: list[Any] | None = None,
                 limit: int = REGISTER_PAGE_SIZE) -> tuple[list[AuditFinding], list[Any] | None]:  # fmt: skip
    """One page of the findings after the one whose key is ``after``, and the key of the next page."""
    return keyset_page(session, _findings(session, viewer, filters), FINDING_ORDER, after, limit)


def finding_counts(session: Session, round_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per round, how many findings of each classification (one grouped query)."""
    if not round_ids:
        return {}
    stmt = (
        select(AuditFinding.round_id, AuditFinding.classification, func.count())
        .where(AuditFinding.round_id.in_(list(round_ids)))
        .group_by(AuditFinding.round_id, AuditFinding.classification)
    )
    counts: dict[int, dict[str, int]] = {}
    for round_id, classification, n in session.execute(stmt):
        counts.setdefault(round_id, dict.fromkeys(CLASSIFICATIONS, 0))[classification] = n
    return counts


def readable_units(session: Session, viewer: User) -> list[Unit]:
    """The units whose register the viewer reads (a page's unit filter), with their departments."""
    ids = readers(session, viewer).unit_ids
    return list(session.scalars(select(Unit).where(Unit.id.in_(sorted(ids))).order_by(Unit.name))) if ids else []


# --- the process's jobs ----------------------------------------------------------------------------------


def prepare_audit(job: JobContext) -> dict[str, Any]:
    """The unit's internal auditors as the plan's options; the year of a programme not yet given one."""
    auditors = sorted(users_with_role(job.session, job.instance.unit_id, "internal_auditor"),
                      key=lambda u: (_sort_key(u.full_name), u.username))  # fmt: skip
    output: dict[str, Any] = {"auditors": [{"label": u.full_name, "value": u.username} for u in auditors]}
    if not job.data.get("year"):
        today = job.now.astimezone(LOCAL_TZ).date()
        output["year"] = today.year + 1 if today.month >= 10 else today.year  # planned late in the year: next year's
    return output


def record_programme(job: JobContext) -> dict[str, Any]:
    """The leader approved the programme: it enters the register."""
    session, data, instance = job.session, job.data, job.instance
    programme = session.scalar(select(AuditProgramme).where(AuditProgramme.instance_id == instance.id))
    if programme is None:
        programme = AuditProgramme(unit_id=instance.unit_id, instance_id=instance.id, status="approved")
        session.add(programme)
    programme.year = _year(data.get("year"))
    programme.title = _text(data.get("title"), 300) or f"Chương trình đánh giá nội bộ năm {programme.year}"
    programme.objectives = _text(data.get("objectives"))
    programme.scope = _text(data.get("scope"))
    programme.criteria = _text(data.get("criteria"))
    programme.expected_time = _text(data.get("expectedTime"), 300)
    programme.approved_at, programme.approved_by_id = job.now, job.actor.id if job.actor else None
    session.flush()
    job.record("audit_programme_approved", {"programme": programme.id, "year": programme.year})
    return {"programmeId": programme.id}


def record_plan(job: JobContext) -> dict[str, Any]:
    """The leader approved a round's detailed plan: the round and one assignment per department."""
    session, data, instance = job.session, job.data, job.instance
    programme = _programme_of(session, instance)
    departments = {d.code: d for d in instance.unit.departments}
    planned = data.get("auditPlan") or []
    if not isinstance(planned, list) or not planned:
        raise EngineError("The audit plan names no department to audit; return it to the ISO secretary.")
    number = len(programme.rounds) + 1
    audit_round = AuditRound(
        programme=programme, unit_id=instance.unit_id, number=number,
        title=_text(data.get("roundTitle"), 300) or f"Đợt đánh giá {number} năm {programme.year}",
        starts_on=_date(data.get("startsOn")), ends_on=_date(data.get("endsOn")),
        criteria=_text(data.get("roundCriteria")), procedure=_text(data.get("procedure")),
        checklist=_rows(data.get("checklist")), status="planned", approved_at=job.now,
    )  # fmt: skip
    session.add(audit_round)
    calendar = calendar_for(session, instance.unit_id)
    for item in planned:
        department = departments.get(str((item or {}).get("department") or ""))
        if department is None:
            raise EngineError("The plan names the department '%(code)s', which this unit does not have; return "
                              "the plan to the ISO secretary.", code=str((item or {}).get("department")))  # fmt: skip
        auditor = _auditor(session, instance.unit_id, str(item.get("auditor") or ""))
        audit_date = _date(item.get("auditDate"))
        audit_round.assignments.append(AuditAssignment(department=department, auditor=auditor, audit_date=audit_date,
                                                       status="planned"))  # fmt: skip
    programme.status = "in_progress"
    session.flush()
    audits = [_audit_item(a, calendar.add_working_days(_start_of(a.audit_date, job.now), AUDIT_DAYS_TO_REPORT))
              for a in audit_round.assignments]  # fmt: skip
    job.record("audit_plan_approved", {"round": audit_round.id, "number": number, "departments": len(audits)})
    return {"roundId": audit_round.id, "roundNumber": number, "audits": audits, "auditResults": []}


def record_findings(job: JobContext) -> dict[str, Any]:
    """An auditor finished a department: its checklist, evidence and findings enter the register."""
    session, data, instance = job.session, job.data, job.instance
    assignment = _assignment(session, instance, (data.get("audit") or {}).get("assignmentId"))
    audit_round = assignment.round
    assignment.status, assignment.audited_at = "audited", job.now
    assignment.checklist = _rows(data.get("checklist"))
    assignment.evidence = _rows(data.get("evidenceFiles"))
    assignment.summary = _text(data.get("auditSummary"))
    in_round = select(func.count()).select_from(AuditFinding).where(AuditFinding.round_id == audit_round.id)
    taken = session.scalar(in_round)
    counts = dict.fromkeys(CLASSIFICATIONS, 0)
    for position, item in enumerate(_rows(data.get("findings")), start=(taken or 0) + 1):
        classification = str(item.get("classification") or "")
        if classification not in CLASSIFICATIONS:
            raise EngineError("'%(value)s' is not a classification; use one of: %(choices)s.",
                          value=str(classification)[:40], choices=", ".join(CLASSIFICATIONS))
        counts[classification] += 1
        session.add(AuditFinding(
            unit_id=instance.unit_id, instance_id=instance.id, round=audit_round, assignment=assignment,
            department_id=assignment.department_id, year=audit_round.programme.year,
            code=f"ĐG{audit_round.programme.year}/{audit_round.number}-{position:02d}", classification=classification,
            clause=_text(item.get("clause"), 200), description=_text(item.get("description")) or "-",
            evidence=_text(item.get("evidence")), status="open", recorded_at=job.now,
        ))  # fmt: skip
    session.flush()
    if all(a.status == "audited" for a in audit_round.assignments):
        audit_round.status = "audited"
    job.record("audit_findings_recorded", {"assignment": assignment.id, **counts})
    result = {"assignmentId": assignment.id, "department": assignment.department.name,
              "auditor": assignment.auditor.full_name, "nonconformities": counts[NONCONFORMITY],
              "observations": counts[OBSERVATION], "improvements": counts[IMPROVEMENT],
              "summary": assignment.summary}  # fmt: skip
    return {"auditResult": result}


def record_conclusion(job: JobContext) -> dict[str, Any]:
    """The leader concluded a round: findings noted or sent to corrective action, departments told."""
    session, data, instance = job.session, job.data, job.instance
    audit_round = _round(session, instance, data.get("roundId"))
    decision = str(data.get("conclusionDecision") or "")
    if decision not in DECISIONS:
        raise EngineError("'%(value)s' is not a conclusion of an audit round; use one of: %(choices)s.",
                          value=str(decision)[:40], choices=", ".join(DECISIONS))
    audit_round.conclusion, audit_round.decision = _text(data.get("conclusion")), decision
    audit_round.status, audit_round.concluded_at = "concluded", job.now
    audit_round.concluded_by_id = job.actor.id if job.actor else None
    if decision == "close":
        audit_round.programme.status, audit_round.programme.concluded_at = "concluded", job.now
    found = list(session.scalars(select(AuditFinding).where(AuditFinding.round_id == audit_round.id)
                                 .order_by(AuditFinding.id)))  # fmt: skip
    for finding in found:
        finding.status = "corrective_action" if finding.classification == NONCONFORMITY else "noted"
    _tell_departments(session, job, audit_round, found)
    job.record("audit_round_concluded", {"round": audit_round.id, "decision": decision, "findings": len(found)})
    nonconformities = [_nonconformity(f) for f in found if f.classification == NONCONFORMITY]
    return {"nonconformities": nonconformities, "closedFindings": []}


def close_finding(job: JobContext) -> dict[str, Any]:
    """A nonconformity's corrective action was verified effective: the finding is closed."""
    session, data, instance = job.session, job.data, job.instance
    finding_id = (data.get("nonconformity") or {}).get("findingId")
    finding = session.get(AuditFinding, finding_id) if isinstance(finding_id, int) else None
    if finding is None or finding.instance_id != instance.id:
        raise EngineError("The finding %(id)s is not one of this audit's.", id=str(finding_id))
    finding.status, finding.closed_at = "closed", job.now
    job.record("audit_finding_closed", {"finding": finding.id, "code": finding.code})
    return {"closedFinding": finding.id}


# --- helpers ---------------------------------------------------------------------------------------------


def _programme_of(session: Session, instance: ProcessInstance) -> AuditProgramme:
    programme = session.scalar(select(AuditProgramme).where(AuditProgramme.instance_id == instance.id))
    if programme is None:
        raise EngineError("This audit has no approved programme yet; a plan comes after the programme's approval.")
    return programme


def _round(session: Session, instance: ProcessInstance, round_id: Any) -> AuditRound:
    found = session.get(AuditRound, round_id) if isinstance(round_id, int) else None
    if found is None or found.programme.instance_id != instance.id:
        raise EngineError("The audit round %(id)s is not one of this audit's.", id=str(round_id))
    return found


def _assignment(session: Session, instance: ProcessInstance, assignment_id: Any) -> AuditAssignment:
    found = session.get(AuditAssignment, assignment_id) if isinstance(assignment_id, int) else None
    if found is None or found.round.programme.instance_id != instance.id:
        raise EngineError("The department audit %(id)s is not one of this audit's.", id=str(assignment_id))
    return found


def _auditor(session: Session, unit_id: int, username: str) -> User:
    person = member_in(session, unit_id, username) if username else None
    if person is None or "internal_auditor" not in roles_in_unit(session, person, unit_id):
        raise EngineError("'%(name)s' is not an internal auditor of this unit; return the plan to the ISO secretary "
                          "to choose another auditor.", name=username or "-")  # fmt: skip
    return person


def _audit_item(assignment: AuditAssignment, due: datetime) -> dict[str, Any]:
    return {
        "assignmentId": assignment.id, "department": assignment.department.code,
        "departmentName": assignment.department.name, "auditor": assignment.auditor.username,
        "auditorName": assignment.auditor.full_name,
        "auditDate": assignment.audit_date.isoformat() if assignment.audit_date else None,
        "dueAt": due.isoformat(),
    }  # fmt: skip


def _nonconformity(finding: AuditFinding) -> dict[str, Any]:
    """What a corrective action starts from (``bpmn/corrective-action.bpmn``'s ``nonconformity``)."""
    auditor = finding.assignment.auditor
    return {
        "findingId": finding.id, "findingCode": finding.code, "source": "audit",
        "department": finding.department.code, "departmentName": finding.department.name,
        "description": finding.description, "requirement": finding.clause, "evidence": finding.evidence,
        "detectedOn": (finding.assignment.audit_date or finding.recorded_at.astimezone(LOCAL_TZ).date()).isoformat(),
        "reportedBy": auditor.username,
    }  # fmt: skip


def _tell_departments(session: Session, job: JobContext, audit_round: AuditRound, found: list[AuditFinding]) -> None:
    """Each audited department's heads learn the round's conclusion and what was found in their department."""
    names = {NONCONFORMITY: Phrase("nonconformities (found)"), OBSERVATION: Phrase("observations (found)"),
             IMPROVEMENT: Phrase("opportunities for improvement (found)")}  # fmt: skip
    one = {NONCONFORMITY: Phrase("Nonconformity"), OBSERVATION: Phrase("Observation"),
           IMPROVEMENT: Phrase("Opportunity for improvement")}  # fmt: skip
    unit = job.instance.unit
    for assignment in audit_round.assignments:
        mine = [f for f in found if f.department_id == assignment.department_id]
        counts = [Phrase("%(count)s %(what)s", count=sum(f.classification == c for f in mine), what=names[c])
                  for c in CLASSIFICATIONS]  # fmt: skip
        lines = [Phrase("- %(code)s (%(kind)s): %(text)s", code=f.code, kind=one[f.classification],
                        text=f.description) for f in mine]  # fmt: skip
        notify(session, department_heads(session, unit.id, assignment.department_id), unit_id=unit.id,
               instance_id=job.instance.id, kind="audit_concluded",
               title=Phrase("Conclusion of %(round)s: %(department)s has %(counts)s", round=audit_round.title,
                            department=assignment.department.name, counts=counts),
               body=[audit_round.conclusion.strip(), *lines], now=job.now,
               link=f"/iso/audits/findings?unit={unit.code}&department={assignment.department.code}")  # fmt: skip



def _sort_key(name: str) -> str:
    """Vietnamese names in the order of the alphabet: Đ with D, marked letters with their base letter."""
    folded = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in folded if not unicodedata.combining(c)).casefold()


def _year(value: Any) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        year = 0
    if not 2000 <= year <= 2100:
        raise EngineError("The programme's year '%(value)s' is not a year between 2000 and 2100.", value=str(value))
    return year


def _start_of(day: date | None, now: datetime) -> datetime:
    """The audit day's morning (the reporting time counts from it), or now when the plan gives no date."""
    return datetime.combine(day, time(8), tzinfo=LOCAL_TZ) if day else now


def count_rows(session: Session, viewer: User, unit_id: int) -> int | None:
    """How many rows the register holds for the unit as this person reads them (the ISO home page's list of
    registers); None when they do not read it there."""
    scope = readers(session, viewer).of_unit(unit_id)
    if not scope.unit_ids:
        return None
    stmt = select(func.count()).select_from(AuditProgramme).where(scope.condition(AuditProgramme.unit_id))
    return session.scalar(stmt) or 0


def count_findings(session: Session, viewer: User, unit_id: int) -> int | None:
    """How many audit findings of the unit the person reads (a department head: their department's); None
    when they do not read the register there."""
    scope = readers(session, viewer).of_unit(unit_id)
    if not scope.unit_ids:
        return None
    condition = scope.condition(AuditFinding.unit_id, AuditFinding.department_id)
    return session.scalar(select(func.count()).select_from(AuditFinding).where(condition)) or 0
