"""The register of management reviews (TCVN ISO 9001:2015, 9.3) and the jobs of the review process.

A review is written by the management-review process (``bpmn/management-review.bpmn``) in three steps,
each a built-in job of that process only:

- ``eiso.review_notice`` once the leader approved the notice: the review row (status ``reporting``) and a
  notice to the head of each department and to the leaders;
- ``eiso.review_reports`` once every department reported: what each department reported on the inputs of
  9.3.2 (status ``consolidating``), and the unit's people for the meeting's action owners;
- ``eiso.review_conclude`` once the leader approved the conclusion: the consolidated inputs, the meeting's
  and the leader's conclusion, the decisions and the actions with their owners and due dates (status
  ``concluded``), and a notice to each action's owner.

After that the actions live here: their owners, the ISO secretary and the leaders mark how far each one is
(``set_action_status``). Everything is read unit by unit: a person sees the reviews of the units they belong
to, and another unit's review or action does not exist for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, ForeignKey, Index, Integer, Select, String, Text, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from engine.db import Base
from engine.errors import EngineError, NotAllowed, NotFound, Phrase
from engine.org.models import Department, RoleAssignment, Unit, User
from engine.org.notices import notify
from engine.org.people import department_heads, holds, roles_in_unit, unit_ids_of, users_with_role
from engine.runtime.handlers import JobContext
from engine.runtime.models import TaskRow
from engine.runtime.queries import REGISTER_PAGE_SIZE, ListOrder, keyset_page, keyset_query

from .job_data import day as _date
from .job_data import row_of
from .job_data import text as _text

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
PROCESS_KEY = "management_review"
"""The process that alone may write the register (bpmn/management-review.bpmn)."""
NOTICE_JOB = "eiso.review_notice"
REPORTS_JOB = "eiso.review_reports"
CONCLUDE_JOB = "eiso.review_conclude"
REPORT_TASK = "department_report"

TOPICS = (
    "previous_actions",
    "context_changes",
    "customer_feedback",
    "objectives",
    "process_performance",
    "nonconformities",
    "monitoring",
    "audit_results",
    "providers",
    "resources",
    "risk_actions",
    "improvement",
)
"""The inputs of a management review (TCVN ISO 9001:2015, 9.3.2 a–f), in the standard's order."""

TOPIC_LABELS = {
    "previous_actions": "a) Hành động từ các lần xem xét trước",
    "context_changes": "b) Thay đổi các vấn đề bên ngoài, nội bộ",
    "customer_feedback": "c1) Sự hài lòng, phản hồi của người dân, tổ chức",
    "objectives": "c2) Mức độ đạt mục tiêu chất lượng",
    "process_performance": "c3) Kết quả thực hiện các quá trình",
    "nonconformities": "c4) Sự không phù hợp, hành động khắc phục",
    "monitoring": "c5) Kết quả theo dõi, đo lường",
    "audit_results": "c6) Kết quả đánh giá",
    "providers": "c7) Nhà cung cấp bên ngoài",
    "resources": "d) Nguồn lực",
    "risk_actions": "e) Hành động giải quyết rủi ro và cơ hội",
    "improvement": "f) Cơ hội cải tiến",
    "proposals": "Kiến nghị, đề xuất",
}
"""How the secretary's consolidation form names each input (the forms are in Vietnamese)."""

STATUSES = ("reporting", "consolidating", "concluded")
ACTION_STATUSES = ("open", "in_progress", "done", "cancelled")
MANAGERS = frozenset({"iso_secretary", "unit_leader"})


class ManagementReview(Base):
    """One management review of a unit: the notice, the inputs as reported, the conclusion."""

    __tablename__ = "management_reviews"
    __table_args__ = (
        Index("ix_management_reviews_unit_year", "unit_id", "year", "status"),
        Index("ix_management_reviews_unit_list", "unit_id", "year", "id"),  # the list, newest year first
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    notice_number: Mapped[str] = mapped_column(String(100), default="")
    meeting_date: Mapped[date | None] = mapped_column(Date)
    topics: Mapped[list[Any]] = mapped_column(default=list)
    notice_text: Mapped[str] = mapped_column(Text, default="")
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)  # topic -> the consolidated text
    meeting_conclusion: Mapped[str] = mapped_column(Text, default="")
    conclusion: Mapped[str] = mapped_column(Text, default="")  # the leader's final conclusion
    status: Mapped[str] = mapped_column(String(16))  # reporting | consolidating | concluded
    opened_at: Mapped[datetime]
    concluded_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by: Mapped[User | None] = relationship()
    reports: Mapped[list[ReviewReport]] = relationship(
        back_populates="review", order_by="ReviewReport.id", cascade="all, delete-orphan"
    )
    decisions: Mapped[list[ReviewDecision]] = relationship(
        back_populates="review", order_by="ReviewDecision.position", cascade="all, delete-orphan"
    )
    actions: Mapped[list[ReviewAction]] = relationship(
        back_populates="review", order_by="ReviewAction.position", cascade="all, delete-orphan"
    )


class ReviewReport(Base):
    """What one department reported for the review, input by input (9.3.2)."""

    __tablename__ = "review_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("management_reviews.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    department_name: Mapped[str] = mapped_column(String(300))
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[datetime | None]
    items: Mapped[dict[str, Any]] = mapped_column(default=dict)  # topic -> text
    proposals: Mapped[str] = mapped_column(Text, default="")
    review: Mapped[ManagementReview] = relationship(back_populates="reports")
    reported_by: Mapped[User | None] = relationship()


class ReviewDecision(Base):
    __tablename__ = "review_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("management_reviews.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    review: Mapped[ManagementReview] = relationship(back_populates="decisions")


class ReviewAction(Base):
    """An action the review decided: what, who owns it (a person or a department), by when, how far."""

    __tablename__ = "review_actions"
    __table_args__ = (
        Index("ix_review_actions_unit_status", "unit_id", "status", "due_date"),
        Index("ix_review_actions_unit_due", "unit_id", text("(due_date IS NULL)"), "due_date", "id"),  # the list
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("management_reviews.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    owner_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | in_progress | done | cancelled
    done_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime | None]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review: Mapped[ManagementReview] = relationship(back_populates="actions")
    owner_department: Mapped[Department | None] = relationship()
    owner_user: Mapped[User | None] = relationship(foreign_keys=[owner_user_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])

    def overdue(self, today: date) -> bool:
        return self.status in ("open", "in_progress") and self.due_date is not None and self.due_date < today


# --- reading ------------------------------------------------------------------------------------------


def local_date(moment: datetime) -> date:
    return moment.astimezone(LOCAL).date()


def _member_unit(session: Session, viewer: User, unit_id: int) -> Unit:
    """The unit, when the viewer belongs to it; to anyone else it does not exist."""
    unit = session.get(Unit, unit_id)
    if unit is None or not viewer.is_active or not roles_in_unit(session, viewer, unit_id):
        raise NotFound("Unit %(id)s does not exist.", id=unit_id)
    return unit


def viewer_units(session: Session, viewer: User) -> list[Unit]:
    """The units whose registers a person reads: those they hold a role in (none for an inactive account)."""
    if not viewer.is_active:
        return []
    ids = unit_ids_of(session, viewer)
    return list(session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.name))) if ids else []


@dataclass(frozen=True)
class ReviewFilter:
    year: int | None = None
    status: str | None = None


REVIEW_ORDER = ListOrder(((ManagementReview.year, True, False), (ManagementReview.id, True, False)))
"""The list's order: newest year first, the id breaking ties (``ix_management_reviews_unit_list``)."""


def _reviews(session: Session, viewer: User, unit_id: int, filters: ReviewFilter) -> Select[Any]:
    _member_unit(session, viewer, unit_id)
    stmt = select(ManagementReview).where(ManagementReview.unit_id == unit_id)
    if filters.year is not None:
        stmt = stmt.where(ManagementReview.year == filters.year)
    if filters.status:
        stmt = stmt.where(ManagementReview.status == filters.status)
    return stmt.options(selectinload(ManagementReview.actions))


def list_reviews(
    session: Session, viewer: User, unit_id: int, filters: ReviewFilter = ReviewFilter(), limit: int = 500
) -> list[ManagementReview]:
    stmt = _reviews(session, viewer, unit_id, filters)
    return list(session.scalars(stmt.order_by(*REVIEW_ORDER.order_by()).limit(limit)))


def review_page_query(session: Session, viewer: User, unit_id: int, filters: ReviewFilter,
                      after: list[Any] | None = None, limit: int = REGISTER_PAGE_SIZE) -> Select[Any]:  # fmt: skip
    return keyset_query(_reviews(session, viewer, unit_id, filters), REVIEW_ORDER, after, limit)


def review_page(session: Session, viewer: User, unit_id: int, filters: ReviewFilter, after: list[Any] | None = None,
                limit: int = REGISTER_PAGE_SIZE) -> tuple[list[ManagementReview], list[Any] | None]:  # fmt: skip
    """One page of the unit's reviews after the one whose key is ``after`` and the key of the next page (None:
    the last); a person who is not a member of the unit is refused, as for the whole list."""
    return keyset_page(session, _reviews(session, viewer, unit_id, filters), REVIEW_ORDER, after, limit)


def review_years(session: Session, viewer: User, unit_id: int) -> list[int]:
    _member_unit(session, viewer, unit_id)
    stmt = select(ManagementReview.year).where(ManagementReview.unit_id == unit_id).distinct()
    return sorted(session.scalars(stmt), reverse=True)


def get_review(session: Session, viewer: User, review_id: int) -> ManagementReview:
    """A review with its reports, decisions and actions; another unit's does not exist for the viewer."""
    stmt = (
        select(ManagementReview)
        .where(ManagementReview.id == review_id)
        .options(
            selectinload(ManagementReview.reports).selectinload(ReviewReport.reported_by),
            selectinload(ManagementReview.decisions),
            selectinload(ManagementReview.actions).selectinload(ReviewAction.owner_department),
            selectinload(ManagementReview.actions).selectinload(ReviewAction.owner_user),
        )
    )
    review = session.scalar(stmt)
    if review is None or not viewer.is_active or not roles_in_unit(session, viewer, review.unit_id):
        raise NotFound("Management review %(id)s does not exist.", id=review_id)
    return review


@dataclass(frozen=True)
class ActionFilter:
    year: int | None = None
    status: str | None = None  # one of ACTION_STATUSES, or "overdue"
    department_id: int | None = None


ACTION_ORDER = ListOrder(((ReviewAction.due_date, False, True), (ReviewAction.id, False, False)))
"""The actions' order: soonest due first, those without a due date last, the id breaking ties
(``ix_review_actions_unit_due``)."""


def _actions(session: Session, viewer: User, unit_id: int, filters: ActionFilter, today: date) -> Select[Any]:
    _member_unit(session, viewer, unit_id)
    stmt = select(ReviewAction).join(ManagementReview).where(ReviewAction.unit_id == unit_id)
    if filters.year is not None:
        stmt = stmt.where(ManagementReview.year == filters.year)
    if filters.status == "overdue":
        stmt = stmt.where(ReviewAction.status.in_(("open", "in_progress")), ReviewAction.due_date < today)
    elif filters.status:
        stmt = stmt.where(ReviewAction.status == filters.status)
    if filters.department_id is not None:
        stmt = stmt.where(ReviewAction.owner_department_id == filters.department_id)
    return stmt.options(
        selectinload(ReviewAction.review),
        selectinload(ReviewAction.owner_department),
        selectinload(ReviewAction.owner_user),
    )


def list_actions(
    session: Session, viewer: User, unit_id: int, filters: ActionFilter, today: date, limit: int = 1000
) -> list[ReviewAction]:
    stmt = _actions(session, viewer, unit_id, filters, today)
    return list(session.scalars(stmt.order_by(*ACTION_ORDER.order_by()).limit(limit)))


def action_page_query(session: Session, viewer: User, unit_id: int, filters: ActionFilter, today: date,
                      after: list[Any] | None = None, limit: int = REGISTER_PAGE_SIZE) -> Select[Any]:  # fmt: skip
    return keyset_query(_actions(session, viewer, unit_id, filters, today), ACTION_ORDER, after, limit)


def action_page(session: Session, viewer: User, unit_id: int, filters: ActionFilter, today: date,
                after: list[Any] | None = None,
                limit: int = REGISTER_PAGE_SIZE) -> tuple[list[ReviewAction], list[Any] | None]:  # fmt: skip
    """One page of the unit's review actions after the one whose key is ``after``, and the next page's key."""
    return keyset_page(session, _actions(session, viewer, unit_id, filters, today), ACTION_ORDER, after, limit)


def may_update_action(session: Session, viewer: User, action: ReviewAction) -> bool:
    """The ISO secretary and the leaders of the unit, the person who owns the action, and the head of the
    department that owns it."""
    if not viewer.is_active:
        return False
    roles = roles_in_unit(session, viewer, action.unit_id)
    if roles & MANAGERS:
        return True
    if not roles:
        return False
    if action.owner_user_id == viewer.id:
        return True
    if action.owner_department_id is None:
        return False
    heads = (
        select(func.count())
        .select_from(RoleAssignment)
        .where(
            holds(viewer),
            RoleAssignment.unit_id == action.unit_id,
            RoleAssignment.role == "department_head",
            RoleAssignment.department_id == action.owner_department_id,
        )
    )
    return bool(session.scalar(heads))


def set_action_status(
    session: Session,
    viewer: User,
    action_id: int,
    status: str,
    *,
    note: str = "",
    done_on: date | None = None,
    now: datetime,
) -> ReviewAction:
    """Record how far an action is. Refused: another unit's action (NotFound), someone who neither owns it
    nor manages the unit's system (NotAllowed), an unknown status or a completion date in the future."""
    action = session.get(ReviewAction, action_id)
    if action is None or not viewer.is_active or not roles_in_unit(session, viewer, action.unit_id):
        raise NotFound("Action %(id)s does not exist.", id=action_id)
    if not may_update_action(session, viewer, action):
        raise NotAllowed(
            "Only the action's owner, the head of its department, the ISO secretary or a leader may update this action."
        )
    if status not in ACTION_STATUSES:
        raise EngineError(
            "Unknown status '%(status)s'; choose one of: %(choices)s.",
            status=status,
            choices=", ".join(ACTION_STATUSES),
        )
    if len(note) > 2000:
        raise EngineError("The note is too long (at most %(max)s characters).", max=2000)
    today = local_date(now)
    if status == "done":
        finished = done_on or today
        if finished > today:
            raise EngineError(
                "The completion date %(day)s is in the future; enter the day the action was done.",
                day=finished.strftime("%d/%m/%Y"),
            )
        action.done_on = finished
    else:
        action.done_on = None
    action.status = status
    action.note = note.strip()
    action.updated_at = now
    action.updated_by_id = viewer.id
    session.commit()
    return action


# --- the process's jobs -----------------------------------------------------------------------------------


def _review_of(job: JobContext) -> ManagementReview:
    missing = Phrase("The management review of this process has not been opened (no notice was sent).")
    return row_of(job, ManagementReview, missing)



def open_review(job: JobContext) -> dict[str, Any]:
    """The approved notice: the review's row, and a notice to each department head and to the leaders."""
    session, data, instance = job.session, job.data, job.instance
    topics = [t for t in (data.get("topics") or TOPICS) if t in TOPICS]
    review = session.scalar(select(ManagementReview).where(ManagementReview.instance_id == instance.id))
    if review is None:
        review = ManagementReview(unit_id=instance.unit_id, instance_id=instance.id, opened_at=job.now)
        session.add(review)
    review.year = int(data.get("year") or local_date(job.now).year)
    review.title = _text(data.get("title"), 300)
    review.notice_number = _text(data.get("noticeNumber"), 100)
    review.meeting_date = _date(data.get("meetingDate"))
    review.topics = topics
    review.notice_text = _text(data.get("noticeText"))
    review.status = "reporting"
    session.flush()
    departments = session.scalars(
        select(Department).where(Department.unit_id == instance.unit_id).order_by(Department.id)
    ).all()
    meeting = (Phrase("Meeting on %(date)s.", date=review.meeting_date.strftime("%d/%m/%Y")) if review.meeting_date
               else Phrase("Meeting date not set yet."))  # fmt: skip
    body: list[Phrase | str] = [meeting, review.notice_text.strip()]
    notified: list[str] = []
    for department in departments:
        heads = department_heads(session, instance.unit_id, department.id)
        notify(
            session,
            heads,
            unit_id=instance.unit_id,
            instance_id=instance.id,
            kind="review_notice",
            title=Phrase("Management review notice: %(title)s — %(department)s to report", title=review.title,
                         department=department.name),
            body=body,
            link="/",
            now=job.now,
        )
        notified += [user.username for user in heads]
    leaders = users_with_role(session, instance.unit_id, "unit_leader")
    notify(
        session,
        leaders,
        unit_id=instance.unit_id,
        instance_id=instance.id,
        kind="review_notice",
        title=Phrase("Management review notice: %(title)s", title=review.title),
        body=body,
        link=f"/iso/reviews/{review.id}",
        now=job.now,
    )
    job.record("review_opened", {"review": review.id, "notified_users": notified + [u.username for u in leaders]})
    return {"reviewId": review.id}


def _reporters(session: Session, instance_id: int) -> dict[str, tuple[int | None, datetime | None]]:
    """Who completed each department's report task, and when (by the department named in its candidates)."""
    rows = session.scalars(
        select(TaskRow)
        .where(TaskRow.instance_id == instance_id, TaskRow.element_id == REPORT_TASK, TaskRow.state == "completed")
        .order_by(TaskRow.completed_at)
    )
    found: dict[str, tuple[int | None, datetime | None]] = {}
    for row in rows:
        for group in row.candidate_roles or []:
            role, _, code = str(group).partition(":")
            if role == "department_head" and code:
                found[code] = (row.completed_by_id, row.completed_at)
    return found


def unit_people(session: Session, unit_id: int) -> list[dict[str, str]]:
    """The unit's active people as form options: name and title, user name."""
    stmt = (
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.unit_id == unit_id, User.is_active.is_(True))
        .distinct()
    )
    people = sorted(session.scalars(stmt), key=lambda u: (u.full_name, u.username))
    return [{"label": f"{u.full_name} — {u.title}" if u.title else u.full_name, "value": u.username} for u in people]


def record_reports(job: JobContext) -> dict[str, Any]:
    """Every department reported: keep what each one said (9.3.2) with who reported and when."""
    session, data, instance = job.session, job.data, job.instance
    review = _review_of(job)
    departments = {d.code: d for d in session.scalars(select(Department).where(Department.unit_id == instance.unit_id))}
    reporters = _reporters(session, instance.id)
    review.reports.clear()
    session.flush()
    rows: list[dict[str, str]] = []
    for report in data.get("departmentReports") or []:
        if not isinstance(report, Mapping):
            continue
        code = _text(report.get("department"))
        department = departments.get(code)
        given = report.get("items")
        items: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        reporter_id, reported_at = reporters.get(code, (None, None))
        kept = ReviewReport(
            department_id=department.id if department else None,
            department_name=department.name if department else _text(report.get("departmentName"), 300) or code,
            reported_by_id=reporter_id,
            reported_at=reported_at,
            items={k: _text(items[k]) for k in TOPICS if _text(items.get(k))},
            proposals=_text(items.get("proposals")),
        )
        review.reports.append(kept)
        reporter = session.get(User, reporter_id) if reporter_id else None
        said = [*kept.items.items(), *([("proposals", kept.proposals)] if kept.proposals else [])]
        rows += [
            {
                "department": kept.department_name,
                "topic": TOPIC_LABELS[k],
                "text": text,
                "reporter": reporter.full_name if reporter else "",
            }
            for k, text in said
        ]
    review.status = "consolidating"
    session.flush()
    job.record("review_reports_recorded", {"review": review.id, "reports": len(review.reports)})
    return {"staff": unit_people(session, instance.unit_id), "reportRows": rows}


def conclude_review(job: JobContext) -> dict[str, Any]:
    """The leader approved the conclusion: keep the inputs, conclusions, decisions and actions; tell owners."""
    session, data, instance = job.session, job.data, job.instance
    review = _review_of(job)
    given = data.get("consolidated")
    consolidated: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    review.inputs = {k: _text(v) for k, v in consolidated.items() if k in TOPICS and _text(v)}
    review.meeting_date = _date(data.get("heldOn")) or review.meeting_date
    review.meeting_conclusion = _text(data.get("meetingConclusion"))
    review.conclusion = _text(data.get("finalConclusion"))
    review.status = "concluded"
    review.concluded_at = job.now
    review.approved_by_id = job.actor.id if job.actor else None
    review.decisions.clear()
    review.actions.clear()
    session.flush()
    for position, item in enumerate(data.get("decisions") or [], start=1):
        text = _text(item.get("decision") if isinstance(item, Mapping) else item)
        if text:
            review.decisions.append(ReviewDecision(position=position, text=text))
    departments = {d.code: d for d in session.scalars(select(Department).where(Department.unit_id == instance.unit_id))}
    people = {u["value"]: u for u in unit_people(session, instance.unit_id)}
    for position, item in enumerate(data.get("actions") or [], start=1):
        if not isinstance(item, Mapping) or not _text(item.get("action")):
            continue
        department = departments.get(_text(item.get("ownerDepartment"))) if item.get("ownerKind") != "person" else None
        owner = None
        if item.get("ownerKind") == "person" and _text(item.get("ownerPerson")) in people:
            owner = session.scalar(select(User).where(User.username == _text(item.get("ownerPerson"))))
        review.actions.append(
            ReviewAction(
                unit_id=instance.unit_id,
                position=position,
                text=_text(item.get("action")),
                owner_department_id=department.id if department else None,
                owner_user_id=owner.id if owner else None,
                due_date=_date(item.get("dueDate")),
                status="open",
            )
        )
    session.flush()
    _notify_owners(job, review)
    job.record(
        "review_concluded", {"review": review.id, "decisions": len(review.decisions), "actions": len(review.actions)}
    )
    return {}


def _notify_owners(job: JobContext, review: ManagementReview) -> None:
    session = job.session
    for action in review.actions:
        if action.owner_user_id is not None:
            owners = [session.get(User, action.owner_user_id)]
        elif action.owner_department_id is not None:
            owners = list(department_heads(session, review.unit_id, action.owner_department_id))
        else:
            owners = []
        reached = [o for o in owners if o is not None and o.is_active]
        due = action.due_date.strftime("%d/%m/%Y") if action.due_date else Phrase("no due date")
        title = Phrase("Action after the management review, due %(due)s", due=due)
        if not reached:  # nobody holds the owner's place: the ISO secretaries find an owner
            reached = users_with_role(session, review.unit_id, "iso_secretary")
            title = Phrase("Action after the management review with no owner, due %(due)s", due=due)
        notify(
            session,
            reached,
            unit_id=review.unit_id,
            instance_id=review.instance_id,
            kind="review_action",
            title=title,
            body=action.text,
            link=f"/iso/reviews/{review.id}",
            now=job.now,
        )


def count_rows(session: Session, viewer: User, unit_id: int) -> int | None:
    """How many rows the register holds for the unit as this person reads them (the ISO home page's list of
    registers); None when they do not read it there."""
    if not viewer.is_active or not roles_in_unit(session, viewer, unit_id):
        return None
    stmt = select(func.count()).select_from(ManagementReview).where(ManagementReview.unit_id == unit_id)
    return session.scalar(stmt) or 0


def count_actions(session: Session, viewer: User, unit_id: int) -> int | None:
    """How many actions the unit's reviews decided, for a person of the unit (None for anyone else)."""
    if not viewer.is_active or not roles_in_unit(session, viewer, unit_id):
        return None
    return session.scalar(select(func.count()).select_from(ReviewAction).where(ReviewAction.unit_id == unit_id)) or 0
