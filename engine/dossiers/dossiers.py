"""The register of dossiers (hồ sơ thủ tục hành chính) worked through the one-stop procedure processes.

A procedure process (``bpmn/procedure-*.bpmn``, marked by its ``procedureCode`` property) keeps its dossier
row in step through three built-in jobs:

- ``eiso.dossier_receive`` right after the start form: gives the dossier its code (the unit's code, the
  date received, a sequence that is never given twice nor skipped: ``engine.org.numbering``), records the
  applicant and the appointment date (the process's legal time limit on the unit's calendar), and hands the
  process the lists its forms choose from;
- ``eiso.dossier_status`` with the task header ``status`` (1–10, the national portal's codes): moves the
  dossier on; 5 counts a supplement request, 9 ends the processing, classifies it and numbers its result
  document (NĐ 30/2020, ``05/GXN-SKHCN``: the procedure's property ``resultDocumentType``, QĐ when it has
  none; one series per unit, type and year, never given twice nor skipped), 10 returns the result;
- ``eiso.dossier_apology``: records the apology letter and the new appointment date.

The on-time rule is the national portal's: processing ended (status 9) no later than the appointment date
moved on by the working time the clock was stopped for supplements (``engine.dossiers.clock``); early when
on an earlier working day; late after it, or whenever more than one supplement was requested. Steps and
their timing are the process's task rows (``tasks``: created, claimed, completed, by whom, due, timing), so
reports are SQL over ``dossiers`` joined to ``tasks`` by ``instance_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Text,
    and_,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engine.db import Base
from engine.errors import Conflict, EngineError, NotFound
from engine.library.procedure_limits import PROCEDURE_PROPERTY
from engine.org.calendar import WORKING_DAY, classify
from engine.org.calendar_days import calendar_for
from engine.org.models import Department, RoleAssignment, Unit, User
from engine.org.numbering import document_number, next_number
from engine.org.people import holds
from engine.runtime.handlers import JobContext
from engine.runtime.models import FormDefinition, HistoryEvent, ProcessInstance, TaskCandidate, TaskRow

RECEIVE_JOB = "eiso.dossier_receive"
STATUS_JOB = "eiso.dossier_status"
APOLOGY_JOB = "eiso.dossier_apology"

STATUSES = {
    1: "Mới đăng ký", 2: "Được tiếp nhận", 3: "Không được tiếp nhận", 4: "Đang xử lý", 5: "Yêu cầu bổ sung",
    6: "Yêu cầu thực hiện nghĩa vụ tài chính", 7: "Công dân yêu cầu rút hồ sơ", 8: "Dừng xử lý",
    9: "Đã xử lý xong", 10: "Đã trả kết quả",
}  # fmt: skip
"""The dossier status codes of the national public-service portal (TrangThaiHoSo)."""
FINISHED = 9
RETURNED = 10
CLOSED = frozenset({3, 8, 10})
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
CHANNELS = {1: "Trực tiếp", 2: "Trực tuyến", 3: "Qua dịch vụ bưu chính"}


class Dossier(Base):
    """One citizen's or business's dossier of an administrative procedure, from receipt to result."""

    __tablename__ = "dossiers"
    __table_args__ = (
        Index("ix_dossiers_unit_status", "unit_id", "status"),
        Index("ix_dossiers_unit_received", "unit_id", "received_at", "id"),  # a unit's list, newest first
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), unique=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    procedure_code: Mapped[str] = mapped_column(String(60))
    procedure_name: Mapped[str] = mapped_column(String(400))
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_phone: Mapped[str] = mapped_column(String(20))
    applicant_address: Mapped[str] = mapped_column(String(300), default="", server_default="")
    documents: Mapped[list[Any] | None] = mapped_column(default=list)  # received, as the start form names them
    channel: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime]
    appointment_at: Mapped[datetime | None]  # the date promised at receipt (NgayHenTra)
    due_at: Mapped[datetime | None]  # the appointment moved on by the time the clock was stopped
    new_appointment_at: Mapped[datetime | None]  # promised again in the apology letter (Mẫu 04)
    apology_reason: Mapped[str] = mapped_column(Text, default="")
    supplement_request: Mapped[str] = mapped_column(Text, default="", server_default="")  # the latest one
    refusal_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    stop_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    result_number: Mapped[str] = mapped_column(String(60), default="", server_default="")  # Số: 05/GXN-SKHCN
    supplement_requested_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]  # end of processing (NgayKetThucXuLy)
    returned_at: Mapped[datetime | None]  # result handed to the applicant (NgayTra)
    closed_at: Mapped[datetime | None]  # refused or stopped
    supplements: Mapped[int] = mapped_column(Integer, default=0)
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    timing: Mapped[str | None] = mapped_column(String(10))  # early | on_time | late, at the end of processing
    rating: Mapped[int | None] = mapped_column(Integer)  # 1 dissatisfied … 3 very satisfied
    rating_comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime | None]
    unit: Mapped[Unit] = relationship()
    instance: Mapped[ProcessInstance] = relationship()


RATINGS = {3: "Rất hài lòng", 2: "Hài lòng", 1: "Không hài lòng"}


# --- job handlers ---------------------------------------------------------------------------------


def _procedure(job: JobContext) -> dict[str, Any]:
    properties = dict((job.instance.definition.elements or {}).get("process", {}).get("properties") or {})
    if not properties.get(PROCEDURE_PROPERTY):
        raise EngineError("Only an administrative-procedure process (one with the property %(name)s) keeps "
                          "dossiers.", name=PROCEDURE_PROPERTY)  # fmt: skip
    return properties


def _dossier_of(session: Session, instance_id: int) -> Dossier:
    dossier = session.scalar(select(Dossier).where(Dossier.instance_id == instance_id))
    if dossier is None:
        raise EngineError("This process has no dossier yet: its first step must be the job %(job)s.", job=RECEIVE_JOB)
    return dossier


def _text(data: Any, key: str, limit: int) -> str:
    return str(data.get(key) or "").strip()[:limit]


def dossier_code(session: Session, unit: Unit, received: date) -> str:
    """The next dossier code of the unit on that day: ``<electronic code>-<yymmdd>-<sequence of 4 digits>``, the
    unit's electronic identification code (e.g. ``000.00.01.H22``) or, until it is entered, its short name."""
    day = received.strftime("%y%m%d")
    number = next_number(session, unit.id, f"dossier:{day}", received.year)
    return f"{unit.electronic_code or unit.short_name or unit.code.upper()}-{day}-{number:04d}"


def receive_dossier(job: JobContext) -> dict[str, Any]:
    properties = _procedure(job)
    session, instance, data = job.session, job.instance, job.data
    name, phone = _text(data, "applicantName", 200), _text(data, "applicantPhone", 20)
    if not name or not phone:
        raise EngineError("A dossier needs the applicant's name and phone number (applicantName, applicantPhone).")
    calendar = calendar_for(session, instance.unit_id)
    unit = session.get(Unit, instance.unit_id)
    assert unit is not None
    code = dossier_code(session, unit, job.now.astimezone(calendar.tz).date())
    channel = int(str(data.get("channel") or "1")) if str(data.get("channel") or "1") in ("1", "2", "3") else 1
    dossier = Dossier(
        unit_id=unit.id, instance_id=instance.id, code=code, procedure_code=str(properties[PROCEDURE_PROPERTY]),
        procedure_name=instance.definition.name, applicant_name=name, applicant_phone=phone, channel=channel,
        applicant_address=_text(data, "applicantAddress", 300), documents=_documents(session, instance, data),
        status=1, received_at=job.now, appointment_at=instance.due_at, due_at=instance.due_at,
    )  # fmt: skip
    session.add(dossier)
    session.flush()
    instance.business_key = code
    lead = str(properties.get("leadDepartment") or "")
    apology_at = None
    if instance.due_at is not None:
        left = calendar.working_time_between(job.now, instance.due_at)
        apology_at = calendar.add_working_time(job.now, max(left - WORKING_DAY, left / 2))
    job.record("dossier_received", {"code": code})
    return {
        "dossierCode": code, "dossierStatus": 1, "procedureName": instance.definition.name,
        "leadSpecialists": _specialists(session, unit.id, lead),
        "otherDepartments": _departments(session, unit.id, lead),
        "apologyAt": apology_at.astimezone(calendar.tz).isoformat() if apology_at else None,
    }  # fmt: skip


def _documents(session: Session, instance: ProcessInstance, data: Any) -> list[str]:
    """The documents ticked on the start form, by the names the form gives them (their values otherwise)."""
    chosen = data.get("documents") or []
    if not isinstance(chosen, list):
        chosen = [chosen]
    names: dict[str, str] = {}
    for node in (instance.definition.elements or {}).get("nodes", {}).values():
        if node.get("type") == "startEvent" and node.get("form_definition_id"):
            form = session.get(FormDefinition, node["form_definition_id"])
            for component in (form.schema or {}).get("components", []) if form else []:
                if component.get("key") == "documents":
                    names = {str(v.get("value")): str(v.get("label")) for v in component.get("values") or []}
    return [names.get(str(value), str(value))[:400] for value in chosen[:50]]


def _specialists(session: Session, unit_id: int, department_code: str) -> list[dict[str, str]]:
    stmt = (
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .join(Department, Department.id == RoleAssignment.department_id)
        .where(RoleAssignment.unit_id == unit_id, RoleAssignment.role == "specialist",
               Department.code == department_code, User.is_active.is_(True))
        .order_by(User.full_name)
        .distinct()
    )  # fmt: skip
    return [{"label": u.full_name, "value": u.username} for u in session.scalars(stmt)]


def _departments(session: Session, unit_id: int, except_code: str) -> list[dict[str, str]]:
    stmt = select(Department).where(Department.unit_id == unit_id, Department.code != except_code)
    return [{"label": d.name, "value": d.code} for d in session.scalars(stmt.order_by(Department.id))]


def set_status(job: JobContext) -> dict[str, Any]:
    _procedure(job)
    session, instance, now = job.session, job.instance, job.now
    node = dict(instance.definition.elements["nodes"].get(job.element_id, {}))
    raw = str((node.get("headers") or {}).get("status") or "")
    if not raw.isdigit() or int(raw) not in STATUSES:
        raise EngineError("The task header 'status' of %(element)s must be a dossier status 1–10, not '%(value)s'.",
                          element=job.element_id, value=raw)  # fmt: skip
    status = int(raw)
    dossier = _dossier_of(session, instance.id)
    if status == 4 and dossier.accepted_at is None:
        status = 1  # a supplement received before the dossier was accepted: back at the desk
    if status == 2:
        dossier.accepted_at = now
    elif status == 5:
        dossier.supplements += 1
        dossier.supplement_request = _text(job.data, "supplementRequest", 4000)
        dossier.supplement_requested_at = now
    elif status in (3, 8):
        dossier.closed_at = now
        if status == 3:
            dossier.refusal_reason = _text(job.data, "refusalReason", 4000)
        else:
            dossier.stop_reason = _text(job.data, "stopReason", 4000)
    elif status == FINISHED:
        _finish(session, dossier, instance, now)
        if dossier.closed_at is None and not dossier.result_number:
            kind = str(_procedure(job).get("resultDocumentType") or "QĐ")
            year = now.astimezone(calendar_for(session, instance.unit_id).tz).year
            dossier.result_number = document_number(session, dossier.unit, kind, year)
    elif status == RETURNED:
        dossier.returned_at = now
    dossier.status = status
    job.record("dossier_status", {"code": dossier.code, "status": status, "timing": dossier.timing})
    return {"dossierStatus": status, **({"resultNumber": dossier.result_number} if dossier.result_number else {})}


def _finish(session: Session, dossier: Dossier, instance: ProcessInstance, now: datetime) -> None:
    """End of processing: the national portal's on-time rule."""
    dossier.finished_at = now
    dossier.paused_seconds = instance.paused_seconds
    dossier.due_at = instance.due_at  # moved on by every stop of the clock
    timing = classify(now, instance.due_at, cal=calendar_for(session, instance.unit_id))
    dossier.timing = "late" if dossier.supplements > 1 else timing


def record_apology(job: JobContext) -> dict[str, Any]:
    _procedure(job)
    dossier = _dossier_of(job.session, job.instance.id)
    calendar = calendar_for(job.session, job.instance.unit_id)
    raw = str(job.data.get("newAppointmentDate") or "")[:10]
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise EngineError("'%(value)s' is not a date (expected YYYY-MM-DD).", value=raw)
    if not calendar.is_working_day(day):
        raise EngineError("The new appointment date %(day)s is not a working day; choose a working day.", day=raw)
    if day <= job.now.astimezone(calendar.tz).date():
        raise EngineError("The new appointment date %(day)s must come after today.", day=raw)
    closing = calendar.close_of_business(day)
    dossier.new_appointment_at = closing
    dossier.apology_reason = _text(job.data, "apologyReason", 4000)
    job.record("dossier_apology", {"code": dossier.code, "new_appointment": closing.isoformat()})
    return {}


# --- queries --------------------------------------------------------------------------------------


def unit_dossiers(
    session: Session, unit_ids: set[int], *, status: int | None = None, limit: int = 200
) -> list[Dossier]:
    stmt = select(Dossier).where(Dossier.unit_id.in_(unit_ids))
    if status is not None:
        stmt = stmt.where(Dossier.status == status)
    return list(session.scalars(stmt.order_by(Dossier.received_at.desc(), Dossier.id.desc()).limit(limit)))


def visible_dossier(session: Session, code: str, unit_ids: set[int]) -> Dossier:
    """A dossier of one of the person's units; another unit's is not found, as if it did not exist."""
    dossier = session.scalar(select(Dossier).where(Dossier.code == code, Dossier.unit_id.in_(unit_ids)))
    if dossier is None:
        raise NotFound("No dossier %(code)s.", code=code)
    return dossier


def lookup(session: Session, code: str, phone: str) -> Dossier:
    """The public lookup: the code and the applicant's phone must both match (the phone's digits, however either
    was written); either wrong is the same answer."""
    code, phone = code.strip()[:80], "".join(ch for ch in phone if ch.isdigit())[:20]
    dossier = session.scalar(select(Dossier).where(Dossier.code == code)) if code and phone else None
    if dossier is None or "".join(ch for ch in dossier.applicant_phone if ch.isdigit()) != phone:
        raise NotFound("No dossier has this code and phone number; check both as written on the receipt.")
    return dossier


@dataclass(frozen=True)
class Step:
    """One hand-over of the dossier: a step of its process, who handed it on, who had it, when, and how it
    kept its time (a row of the process control slip)."""

    name: str
    body: str  # the department that had the dossier
    handler: str  # who completed the step (empty while open)
    received_at: datetime
    completed_at: datetime | None
    due_at: datetime | None
    timing: str | None
    state: str
    handed_at: datetime | None = None  # when the step before handed the dossier on (the step was created)
    handed_by: str = ""  # who completed the step before
    note: str = ""


def steps(session: Session, dossier: Dossier) -> list[Step]:
    created_seq = (select(func.min(HistoryEvent.id))
                   .where(HistoryEvent.instance_id == dossier.instance_id, HistoryEvent.task_id == TaskRow.id)
                   .correlate(TaskRow).scalar_subquery())  # fmt: skip
    stmt = (
        select(TaskRow, User, Department)
        .outerjoin(User, User.id == TaskRow.completed_by_id)
        .outerjoin(Department, Department.id == User.department_id)
        .where(TaskRow.instance_id == dossier.instance_id, TaskRow.kind == "user", TaskRow.state != "cancelled")
        # Steps done in the same second keep the order they were handed on in: the task's creation event.
        .order_by(TaskRow.completed_at.is_(None), TaskRow.completed_at, TaskRow.created_at, created_seq)
    )
    unit_name = session.scalar(select(Unit.name).where(Unit.id == dossier.unit_id)) or ""
    starter = session.scalar(select(User.full_name).join(ProcessInstance, ProcessInstance.started_by_id == User.id)
                             .where(ProcessInstance.id == dossier.instance_id)) or ""  # fmt: skip
    out: list[Step] = []
    for task, user, department in session.execute(stmt):
        body = department.name if department else (unit_name if user else "")  # leaders belong to the unit
        before = [s for s in out if s.completed_at is not None and s.completed_at <= task.created_at]
        out.append(Step(name=task.name, body=body,
                        handler=user.full_name if user else "",
                        received_at=task.claimed_at or task.created_at, completed_at=task.completed_at,
                        due_at=task.due_at, timing=task.timing, state=task.state, handed_at=task.created_at,
                        handed_by=before[-1].handler if before else starter))  # fmt: skip
    return out


# --- who sees which dossier -----------------------------------------------------------------------

WHOLE_UNIT_ROLES = frozenset({"unit_leader", "iso_secretary", "internal_auditor", "admin"})
"""Roles that see every dossier of their unit, as they see every process instance of it: its leaders, the
secretary who keeps the registers, its internal auditors, its administrators. A department head sees the
dossiers their department has had; a specialist those they had, received or may take (the one-stop desk's
specialists are the candidates of every dossier's first check)."""
TIMINGS = ("early", "on_time", "late", "open")


@dataclass(frozen=True)
class DossierFilter:
    unit_id: int | None = None
    status: int | None = None
    procedure: str | None = None  # the procedure's code
    received_from: date | None = None
    received_to: date | None = None
    timing: str | None = None  # early | on_time | late | open (processing not finished)


def _handled_by(people: ColumnElement[bool]) -> ColumnElement[bool]:
    """A step of the dossier's process was held, done or offered by these people."""
    task = and_(TaskRow.instance_id == Dossier.instance_id,
                or_(TaskRow.assignee_id.in_(select(User.id).where(people)),
                    TaskRow.completed_by_id.in_(select(User.id).where(people)),
                    select(TaskCandidate.id).where(TaskCandidate.task_id == TaskRow.id,
                                                   TaskCandidate.user_id.in_(select(User.id).where(people)))
                    .exists()))  # fmt: skip
    started = exists().where(ProcessInstance.id == Dossier.instance_id,
                             ProcessInstance.started_by_id.in_(select(User.id).where(people)))  # fmt: skip
    return or_(exists().where(task), started)


def visibility(session: Session, viewer: User) -> ColumnElement[bool]:
    """The dossiers this person may see, as a condition on ``dossiers``; never another unit's."""
    if not viewer.is_active:
        return false()
    rows = session.execute(select(RoleAssignment.unit_id, RoleAssignment.role, RoleAssignment.department_id)
                           .where(holds(viewer))).all()  # fmt: skip
    whole = {unit for unit, role, _ in rows if role in WHOLE_UNIT_ROLES}
    conditions: list[ColumnElement[bool]] = [Dossier.unit_id.in_(whole)] if whole else []
    members = {unit for unit, _, _ in rows} - whole
    if members:
        conditions.append(and_(Dossier.unit_id.in_(members), _handled_by(User.id == viewer.id)))
    heads = {(unit, department or viewer.department_id) for unit, role, department in rows
             if role == "department_head" and unit not in whole}  # fmt: skip
    for unit, department in heads:
        if department is not None:
            conditions.append(and_(Dossier.unit_id == unit, _handled_by(User.department_id == department)))
    return or_(*conditions) if conditions else false()


def _where(session: Session, viewer: User, filters: DossierFilter) -> list[ColumnElement[bool]]:
    where = [visibility(session, viewer)]
    if filters.unit_id is not None:
        where.append(Dossier.unit_id == filters.unit_id)
    if filters.status is not None:
        where.append(Dossier.status == filters.status)
    if filters.procedure:
        where.append(Dossier.procedure_code == filters.procedure)
    if filters.received_from is not None or filters.received_to is not None:
        cal = calendar_for(session, filters.unit_id) if filters.unit_id else None
        tz = cal.tz if cal else LOCAL
        if filters.received_from is not None:
            where.append(Dossier.received_at >= datetime.combine(filters.received_from, time(), tz))
        if filters.received_to is not None:
            where.append(Dossier.received_at < datetime.combine(filters.received_to + timedelta(days=1), time(), tz))
    if filters.timing == "open":
        where.append(Dossier.timing.is_(None))
    elif filters.timing is not None:
        where.append(Dossier.timing == filters.timing)
    return where


def find_dossiers(session: Session, viewer: User, filters: DossierFilter, *, limit: int | None = None,
                  offset: int = 0) -> tuple[list[Dossier], int]:  # fmt: skip
    """The dossiers the person may see that the filters select, newest first, and how many there are."""
    where = _where(session, viewer, filters)
    total = session.scalar(select(func.count()).select_from(Dossier).where(*where)) or 0
    stmt = select(Dossier).where(*where).order_by(Dossier.received_at.desc(), Dossier.id.desc()).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt)), total


DOSSIER_COUNT_CAP = 1000
"""The dossier list counts no further than this ("1000+"): a count of every dossier of a busy unit over
years would cost more than the page it heads."""


def dossier_page_query(session: Session, viewer: User, filters: DossierFilter,
                       after: tuple[datetime, int] | None = None, limit: int = 100) -> Select[Any]:  # fmt: skip
    """One page of the dossiers the person may see that the filters select, newest first (the id breaking
    ties), after the dossier whose (``received_at``, ``id``) is ``after``; one more than ``limit``, to tell
    whether a next page follows. ``ix_dossiers_unit_received`` serves the order and the page boundary."""
    stmt = select(Dossier).where(*_where(session, viewer, filters))
    if after is not None:
        stmt = stmt.where(tuple_(Dossier.received_at, Dossier.id) < tuple_(literal(after[0], Dossier.received_at.type),
                                                                           literal(after[1], Dossier.id.type)))
    return stmt.order_by(Dossier.received_at.desc(), Dossier.id.desc()).limit(limit + 1)


def dossier_page(session: Session, viewer: User, filters: DossierFilter, after: tuple[datetime, int] | None = None,
                 limit: int = 100) -> tuple[list[Dossier], tuple[datetime, int] | None]:  # fmt: skip
    """The dossiers of one page and the key to give back as ``after`` for the next (None: the last page)."""
    rows = list(session.scalars(dossier_page_query(session, viewer, filters, after, limit)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].received_at, rows[-1].id) if more else None


def count_dossiers(session: Session, viewer: User, filters: DossierFilter, cap: int = DOSSIER_COUNT_CAP) -> int:
    """How many dossiers the list holds, counting no further than ``cap + 1`` (more: show "cap+")."""
    limited = select(Dossier.id).where(*_where(session, viewer, filters)).limit(cap + 1).subquery()
    return session.scalar(select(func.count()).select_from(limited)) or 0


def procedures_of(session: Session, unit_ids: set[int]) -> list[tuple[str, str]]:
    """The procedures the units' dossiers were received under: (code, name), for the list's filter."""
    stmt = (select(Dossier.procedure_code, func.max(Dossier.procedure_name)).where(Dossier.unit_id.in_(unit_ids))
            .group_by(Dossier.procedure_code).order_by(Dossier.procedure_code))  # fmt: skip
    return [(code, name) for code, name in session.execute(stmt)]


def dossier_for(session: Session, viewer: User, code: str) -> Dossier:
    """One dossier the person may see; any other (another unit's, one they had nothing to do with) is not
    found, as if it did not exist."""
    found = session.scalar(select(Dossier).where(Dossier.code == code[:80], visibility(session, viewer)))
    if found is None:
        raise NotFound("No dossier %(code)s.", code=code[:80])
    return found


def rate(session: Session, code: str, phone: str, rating: int, comment: str, now: datetime) -> Dossier:
    """The applicant's satisfaction, once, after the result was returned."""
    dossier = lookup(session, code, phone)
    if rating not in RATINGS:
        raise EngineError("Choose a rating: 3 very satisfied, 2 satisfied or 1 dissatisfied.")
    if dossier.status != RETURNED:
        raise Conflict("The dossier can be rated once its result has been returned.")
    if dossier.rated_at is not None:
        raise Conflict("This dossier has already been rated.")
    dossier.rating, dossier.rating_comment, dossier.rated_at = rating, comment.strip()[:2000], now
    return dossier
