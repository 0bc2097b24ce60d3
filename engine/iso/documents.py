"""The register of controlled documents (TCVN ISO 9001:2015, 7.5) and the jobs of the document-control process.

Each controlled document of a unit (a procedure, an instruction, a regulation…) is known by its code (mã hiệu)
and has issues (lần ban hành): the current one and those it superseded, each with its change summary (the
revision log), its seven sections, its signed file, who drafted, reviewed and approved it, and the departments
it was distributed to. ``bpmn/document-control.bpmn`` checks a proposal's code against this register
(``check_document``) and, once the leader approved and the secretary issued it, records the new issue
(``issue_document``): the previous issue becomes superseded and the departments concerned are told.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, Select, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from engine.db import Base
from engine.errors import EngineError, NotFound, Phrase
from engine.org.models import Department, RoleAssignment, Unit, User
from engine.org.notices import notify
from engine.org.people import holds, roles_in_unit, unit_ids_of, units_in_view
from engine.runtime.handlers import JobContext
from engine.runtime.models import ProcessInstance, StoredFile, TaskRow
from engine.runtime.queries import (
    REGISTER_COUNT_CAP,
    REGISTER_PAGE_SIZE,
    WHOLE_UNIT_ROLES,
    ListOrder,
    keyset_page,
    keyset_query,
    may_view_instance,
    register_count,
)

from .job_data import day as _date
from .job_data import text as _text

PROCESS_KEY = "document_control"
"""The process that alone writes the register of controlled documents (``bpmn/document-control.bpmn``)."""
CHECK_JOB = "eiso.check_document"
ISSUE_JOB = "eiso.issue_document"

KINDS = ("procedure", "instruction", "regulation", "manual", "form", "other")
CHANGE_TYPES = ("new", "revise")
ISSUE_STATUSES = ("current", "superseded")
SECTIONS = ("purpose", "scope", "references", "definitions", "steps", "forms", "records")
"""The seven sections of a controlled document, in order."""
SIGN_OFF = {"drafted": "draft_document", "reviewed": "review_document", "approved": "approve_document"}
"""Who signs an issue off (soạn thảo, xem xét, phê duyệt): whoever last completed these steps of its process."""


class ControlledDocument(Base):
    """A document of a unit's quality management system, known by its code; its issues hold the content."""

    __tablename__ = "controlled_documents"
    __table_args__ = (
        UniqueConstraint("unit_id", "code"),
        Index("ix_controlled_documents_unit_department", "unit_id", "department_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    unit: Mapped[Unit] = relationship()
    department: Mapped[Department | None] = relationship()
    issues: Mapped[list[DocumentIssue]] = relationship(back_populates="document", order_by="DocumentIssue.number")

    @property
    def current(self) -> DocumentIssue | None:
        return next((i for i in reversed(self.issues) if i.status == "current"), None)


class DocumentIssue(Base):
    """One issue (lần ban hành) of a controlled document: its content as approved, and its place in the log."""

    __tablename__ = "document_issues"
    __table_args__ = (
        UniqueConstraint("document_id", "number"),
        Index("ix_document_issues_unit_status", "unit_id", "status"),
        Index("ix_document_issues_unit_issued", "unit_id", "issued_on", "id"),  # the register, newest first
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("controlled_documents.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), unique=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))  # current | superseded
    change_type: Mapped[str] = mapped_column(String(8))
    change_summary: Mapped[str] = mapped_column(Text, default="")
    changed_sections: Mapped[list[Any]] = mapped_column(default=list)
    title: Mapped[str] = mapped_column(String(300))
    decision_number: Mapped[str] = mapped_column(String(100), default="")
    issued_on: Mapped[date]
    effective_on: Mapped[date | None] = mapped_column(Date)
    sections: Mapped[dict[str, Any]] = mapped_column(default=dict)
    files: Mapped[list[Any]] = mapped_column(default=list)
    distribution: Mapped[list[Any]] = mapped_column(default=list)  # [{"code", "name"}] of the departments
    drafted_by: Mapped[str] = mapped_column(String(200), default="")
    reviewed_by: Mapped[str] = mapped_column(String(200), default="")
    approved_by: Mapped[str] = mapped_column(String(200), default="")
    registered_at: Mapped[datetime]
    superseded_at: Mapped[datetime | None]
    document: Mapped[ControlledDocument] = relationship(back_populates="issues")


# --- reading the register -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueFilter:
    """What a register page asks for; None: any. ``year`` is the year of issue."""

    unit_id: int | None = None
    year: int | None = None
    status: str | None = None
    kind: str | None = None
    department_id: int | None = None


ISSUE_ORDER = ListOrder(((DocumentIssue.issued_on, True, False), (DocumentIssue.id, True, False)))
"""The register's order: newest issue first, the id breaking ties (``ix_document_issues_unit_issued``)."""


def _issues(session: Session, viewer: User, filters: IssueFilter) -> Select[Any]:
    """The issues of the viewer's units' documents that match (unordered)."""
    where: list[Any] = [DocumentIssue.unit_id.in_(units_in_view(session, viewer, filters.unit_id))]
    if filters.year is not None:
        where += [DocumentIssue.issued_on >= date(filters.year, 1, 1), DocumentIssue.issued_on <= date(filters.year,
                                                                                                       12, 31)]
    if filters.status:
        where.append(DocumentIssue.status == filters.status)
    if filters.kind:
        where.append(ControlledDocument.kind == filters.kind)
    if filters.department_id is not None:
        where.append(ControlledDocument.department_id == filters.department_id)
    base = select(DocumentIssue).join(ControlledDocument, ControlledDocument.id == DocumentIssue.document_id)
    return base.where(*where)


_ISSUE_LINE = (selectinload(DocumentIssue.document).selectinload(ControlledDocument.department),
               selectinload(DocumentIssue.document).selectinload(ControlledDocument.unit))  # fmt: skip


def find_issues(session: Session, viewer: User, filters: IssueFilter, *, limit: int | None = None,
                offset: int = 0) -> tuple[list[DocumentIssue], int]:  # fmt: skip
    """The issues of the viewer's units' documents that match, newest issue first, and how many in all (the
    export; the register's pages are ``issue_page``)."""
    base = _issues(session, viewer, filters)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    stmt = base.options(*_ISSUE_LINE).order_by(*ISSUE_ORDER.order_by()).offset(offset)
    return list(session.scalars(stmt.limit(limit) if limit is not None else stmt)), total


def issue_page_query(session: Session, viewer: User, filters: IssueFilter, after: list[Any] | None = None,
                     limit: int = REGISTER_PAGE_SIZE) -> Select[Any]:  # fmt: skip
    return keyset_query(_issues(session, viewer, filters), ISSUE_ORDER, after, limit)


def issue_page(session: Session, viewer: User, filters: IssueFilter, after: list[Any] | None = None,
               limit: int = REGISTER_PAGE_SIZE) -> tuple[list[DocumentIssue], list[Any] | None]:  # fmt: skip
    """One page of the register after the issue whose key is ``after``, and the key of the next page (None:
    the last page); BadPageLink when ``after`` is not a key of this list."""
    return keyset_page(session, _issues(session, viewer, filters).options(*_ISSUE_LINE), ISSUE_ORDER, after, limit)


def count_issues(session: Session, viewer: User, filters: IssueFilter, cap: int = REGISTER_COUNT_CAP) -> int:
    """How many issues match, counting no further than ``cap + 1``."""
    return register_count(session, _issues(session, viewer, filters), DocumentIssue.id, cap)


def unit_wide(session: Session, issue: DocumentIssue) -> bool:
    """Whether the issue went to the whole unit: its distribution names every department of the unit."""
    codes = set(session.scalars(select(Department.code).where(Department.unit_id == issue.unit_id)))
    return bool(codes) and codes <= {d.get("code") for d in issue.distribution}


def receives(session: Session, viewer: User, issue: DocumentIssue) -> bool:
    """Whether the person reads the issue's files: those the issue was issued to (the people of its receiving
    departments and of the owning department; everyone of the unit when it went to the whole unit), the
    unit's leaders, ISO secretaries and internal auditors, and the people of the process that issued it.
    Nobody of another unit."""
    roles = roles_in_unit(session, viewer, issue.unit_id) if viewer.is_active else set()
    if not roles:
        return False
    if roles & set(WHOLE_UNIT_ROLES) or unit_wide(session, issue):
        return True
    codes = {d.get("code") for d in issue.distribution}
    receiving = set(session.scalars(select(Department.id).where(Department.unit_id == issue.unit_id,
                                                                Department.code.in_(sorted(codes)))))  # fmt: skip
    if issue.document.department_id is not None:
        receiving.add(issue.document.department_id)
    own = set(session.scalars(select(RoleAssignment.department_id).where(
        holds(viewer), RoleAssignment.unit_id == issue.unit_id, RoleAssignment.department_id.is_not(None))))
    home = session.get(Department, viewer.department_id) if viewer.department_id is not None else None
    if home is not None and home.unit_id == issue.unit_id:
        own.add(home.id)
    if receiving & own:
        return True
    instance = session.get(ProcessInstance, issue.instance_id)
    return instance is not None and may_view_instance(session, viewer, instance)


def readable_issues(session: Session, viewer: User, document: ControlledDocument) -> set[int]:
    """The ids of the document's issues whose files the person reads (``receives``)."""
    return {i.id for i in document.issues if receives(session, viewer, i)}


def issued_file(session: Session, viewer: User, document_id: int, file_id: str) -> StoredFile:
    """A file of an issue of the document, for a person it was issued to (``receives``); to anyone else, and
    for a file that is not one of the document's issues', it does not exist."""
    document = session.get(ControlledDocument, document_id)
    issue = next((i for i in document.issues if any(f.get("id") == file_id for f in i.files)), None) if document \
        else None  # fmt: skip
    stored = session.get(StoredFile, file_id) if issue is not None else None
    if (issue is None or stored is None or stored.instance_id != issue.instance_id or stored.state != "attached"
            or not receives(session, viewer, issue)):  # fmt: skip
        raise NotFound("File %(id)s does not exist.", id=file_id)
    return stored


def document_for(session: Session, viewer: User, document_id: int) -> ControlledDocument:
    """One document with all its issues, for a person of its unit; to anyone else it does not exist."""
    document = session.get(ControlledDocument, document_id)
    if document is None or document.unit_id not in units_in_view(session, viewer, None):
        raise NotFound("Document %(id)s does not exist.", id=document_id)
    return document


# --- the process's jobs ---------------------------------------------------------------------------------


def _code(value: Any) -> str:
    code = _text(value, 40).upper()
    if not code:
        raise EngineError("The document has no code (mã hiệu).")
    return code


def _document(session: Session, unit_id: int, code: str) -> ControlledDocument | None:
    stmt = select(ControlledDocument).where(ControlledDocument.unit_id == unit_id, ControlledDocument.code == code)
    return session.scalar(stmt)


def check_document(job: JobContext) -> dict[str, Any]:
    """Whether the proposal fits the register: a new code for a new document, a current one to revise.

    ``documentProblem`` says what to correct (the process sends the draft back), else None; ``issueNumber``
    is the issue the proposal would become."""
    data = job.data
    code = _code(data.get("code"))
    change = data.get("changeType")
    if change not in CHANGE_TYPES:
        raise EngineError("changeType must be one of %(allowed)s, not '%(value)s'.", allowed=", ".join(CHANGE_TYPES),
                          value=change)  # fmt: skip
    document = _document(job.session, job.instance.unit_id, code)
    current = document.current if document is not None else None
    problem = None
    if change == "new" and current is not None:
        problem = (f"Mã {code} đã là tài liệu “{current.title}” (lần ban hành {current.number}). Chọn “Sửa đổi, "
                   "bổ sung” để ban hành lần mới, hoặc đặt mã khác.")
    elif change == "revise" and current is None:
        problem = (f"Chưa có tài liệu mã {code} đang có hiệu lực để sửa đổi. Kiểm tra lại mã, hoặc chọn “Ban hành "
                   "mới”.")
    number = max((i.number for i in document.issues), default=0) + 1 if document is not None else 1
    return {"code": code, "documentProblem": problem, "issueNumber": number}


def issue_document(job: JobContext) -> dict[str, Any]:
    """Record the approved issue as the document's current one, supersede the previous, tell the departments."""
    session, data, instance = job.session, job.data, job.instance
    code = _code(data.get("code"))
    kind = data.get("kind")
    if kind not in KINDS:
        raise EngineError("kind must be one of %(allowed)s, not '%(value)s'.", allowed=", ".join(KINDS), value=kind)
    issued_on = _date(data.get("issueDate"), "issueDate")
    if issued_on is None:
        raise EngineError("The issue has no date of issue (issueDate).")
    departments = {d.code: d for d in session.scalars(select(Department).where(Department.unit_id == instance.unit_id))}
    owner = departments.get(str(data.get("ownerDepartment") or ""))
    document = _document(session, instance.unit_id, code)
    if document is None:
        document = ControlledDocument(unit_id=instance.unit_id, code=code, created_at=job.now, title="", kind=kind)
        session.add(document)
    document.title, document.kind, document.updated_at = _text(data.get("title"), 300), kind, job.now
    document.department_id = owner.id if owner else None
    previous = document.current
    issue = DocumentIssue(
        document=document, unit_id=instance.unit_id, instance_id=instance.id,
        number=max((i.number for i in document.issues), default=0) + 1, status="current",
        change_type=str(data.get("changeType") or "new"), change_summary=_text(data.get("changeSummary"), 4000),
        changed_sections=[s for s in data.get("changedSections") or [] if s in SECTIONS],
        title=document.title, decision_number=_text(data.get("decisionNumber"), 100), issued_on=issued_on,
        effective_on=_date(data.get("effectiveDate"), "effectiveDate"), sections=_sections(data),
        files=[_file(f) for f in data.get("documentFiles") or [] if isinstance(f, Mapping)],
        distribution=[{"code": c, "name": departments[c].name} for c in data.get("distribution") or []
                      if c in departments],
        registered_at=job.now, **_sign_off(session, instance.id),
    )  # fmt: skip
    if previous is not None:
        previous.status, previous.superseded_at = "superseded", job.now
    session.add(issue)
    session.flush()
    notified = _distribute(session, job, document, issue, departments)
    job.record("document_issued", {"document": document.id, "code": code, "issue": issue.number,
                                   "superseded": previous.number if previous else None, "notified_users": notified})
    return {"documentId": document.id, "issueNumber": issue.number}


def _sections(data: Mapping[str, Any]) -> dict[str, Any]:
    def listed(name: str, keys: tuple[str, ...]) -> list[dict[str, str]]:
        items = data.get(name) or []
        return [{k: _text(item.get(k), 2000) for k in keys} for item in items if isinstance(item, Mapping)]

    return {
        "purpose": _text(data.get("purpose"), 4000), "scope": _text(data.get("scope"), 4000),
        "references": _text(data.get("references"), 4000), "definitions": _text(data.get("definitions"), 4000),
        "steps": listed("steps", ("responsible", "work", "timeLimit", "output")),
        "forms": listed("formsList", ("formCode", "formName")),
        "records": listed("records", ("recordName", "keeper", "retention")),
    }  # fmt: skip


def _file(reference: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": str(reference.get("id") or ""), "name": _text(reference.get("name"), 300),
            "size": reference.get("size")}  # fmt: skip


def _sign_off(session: Session, instance_id: int) -> dict[str, str]:
    """The names of who last completed the drafting, the review and the approval of this instance."""
    names = {}
    for field, element in SIGN_OFF.items():
        stmt = select(User).join(TaskRow, TaskRow.completed_by_id == User.id).where(
            TaskRow.instance_id == instance_id, TaskRow.element_id == element, TaskRow.state == "completed")
        person = session.scalar(stmt.order_by(TaskRow.completed_at.desc()).limit(1))
        names[f"{field}_by"] = f"{person.full_name}{' – ' + person.title if person.title else ''}" if person else ""
    return names


def _distribute(session: Session, job: JobContext, document: ControlledDocument, issue: DocumentIssue,
                departments: Mapping[str, Department]) -> list[str]:  # fmt: skip
    """Every active member of the departments the issue is distributed to (and of the owning one) is told."""
    ids = {departments[d["code"]].id for d in issue.distribution}
    if document.department_id is not None:
        ids.add(document.department_id)
    stmt = select(User).outerjoin(RoleAssignment, RoleAssignment.user_id == User.id).where(
        (User.department_id.in_(ids)) | (RoleAssignment.department_id.in_(ids)), User.is_active.is_(True))
    members = [u for u in session.scalars(stmt.distinct()) if _member(session, u, issue.unit_id)]
    title = (Phrase("Document issued %(code)s: %(title)s", code=document.code, title=document.title)
             if issue.number == 1 else
             Phrase("Document issued (issue %(number)s) %(code)s: %(title)s", number=issue.number, code=document.code,
                    title=document.title))  # fmt: skip
    body: list[Phrase | str] = [issue.change_summary]
    if issue.decision_number:
        body.append(Phrase("Decision number: %(number)s", number=issue.decision_number))
    sent = notify(session, members, unit_id=issue.unit_id, instance_id=issue.instance_id, kind="document_issued",
                  title=title, body=body,
                  link=f"/iso/documents/{document.id}", now=job.now)  # fmt: skip
    by_id = {u.id: u.username for u in members}
    return sorted(by_id[n.user_id] for n in sent)


def _member(session: Session, user: User, unit_id: int) -> bool:
    return unit_id in unit_ids_of(session, user)
