"""The risk register (TCVN ISO 9001:2015, 6.1) and the jobs of the risk-management process.

``bpmn/risk-management.bpmn`` plans an assessment, has the departments identify their risks, scores each
risk with the decision table ``bpmn/risk-priority.dmn`` and has the departments plan the treatment. When
the secretary reports, ``register_risks`` writes the assessment and its risks here; every monitoring round
after that (a timer loop, quarterly by default) ends in ``review_risks``, which keeps the round in each
risk's review history and updates the risk. Lists come from these tables, never from the workflows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from engine.db import Base
from engine.errors import EngineError, NotFound, Phrase
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

from .job_data import day as _date
from .job_data import one_of as _one_of
from .job_data import text as _text

PROCESS_KEY = "risk_management"
"""The process that alone writes the risk register (``bpmn/risk-management.bpmn``)."""
REGISTER_JOB = "eiso.register_risks"
REVIEW_JOB = "eiso.review_risks"

LEVELS = ("critical", "high", "medium", "low")
"""Risk levels as the decision table ``riskPriority`` gives them, highest first."""
LEVEL_NAMES = {"critical": "Rất cao", "high": "Cao", "medium": "Trung bình", "low": "Thấp"}
"""The levels as the shipped (Vietnamese) forms show them, in the process data."""
LEVEL_PHRASES = {"critical": Phrase("Very high"), "high": Phrase("High"), "medium": Phrase("Medium"),
                 "low": Phrase("Low")}  # fmt: skip
"""The levels in a notice, in its reader's language."""
STATUSES = ("open", "closed", "transferred")
"""Open: monitored; closed: under control; transferred: still open when its assessment's monitoring ended, to be
taken up by the next assessment."""
REVIEWED_STATUSES = ("open", "closed")
TREATMENTS = ("reduce", "avoid", "transfer", "accept")
ACTION_STATUSES = ("not_started", "in_progress", "done", "none")
EFFECTIVENESS = ("effective", "not_effective", "not_evaluated")
ASSESSMENT_STATUSES = ("monitoring", "closed")


class RiskAssessment(Base):
    """One run of the risk-management process: the approved plan, the secretary's report, the monitoring."""

    __tablename__ = "risk_assessments"
    __table_args__ = (
        Index("ix_risk_assessments_unit_year", "unit_id", "year"),
        Index("ix_risk_assessments_unit_status", "unit_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    scope: Mapped[str] = mapped_column(Text, default="")
    objectives: Mapped[str] = mapped_column(Text, default="")
    methods: Mapped[list[Any]] = mapped_column(default=list)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text, default="")
    monitoring_interval: Mapped[str] = mapped_column(String(20), default="")
    status: Mapped[str] = mapped_column(String(12))  # monitoring | closed
    registered_at: Mapped[datetime]
    review_rounds: Mapped[int] = mapped_column(Integer, default=0)
    reviewed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    risks: Mapped[list[Risk]] = relationship(back_populates="assessment", order_by="Risk.id")


class Risk(Base):
    """One risk of a unit: where it was identified, its current score and priority, its treatment."""

    __tablename__ = "risks"
    __table_args__ = (
        UniqueConstraint("unit_id", "code"),
        Index("ix_risks_unit_status", "unit_id", "status"),
        Index("ix_risks_unit_level", "unit_id", "level"),
        Index("ix_risks_unit_department", "unit_id", "department_id"),
        Index("ix_risks_unit_priority", "unit_id", "priority", text("(-score)"), "id"),  # the register's order
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    assessment_id: Mapped[int] = mapped_column(ForeignKey("risk_assessments.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    description: Mapped[str] = mapped_column(Text)
    activity: Mapped[str] = mapped_column(String(300), default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    consequence: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[int] = mapped_column(Integer)
    likelihood: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(12))
    priority: Mapped[int] = mapped_column(Integer)
    treatment_required: Mapped[bool] = mapped_column(Boolean)
    treatment: Mapped[str] = mapped_column(String(12))
    action: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(200), default="")
    due_date: Mapped[date | None] = mapped_column(Date)
    action_status: Mapped[str] = mapped_column(String(12))
    effectiveness: Mapped[str] = mapped_column(String(16), default="not_evaluated")
    status: Mapped[str] = mapped_column(String(12))  # open | closed | transferred
    identified_at: Mapped[datetime]
    reviewed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    assessment: Mapped[RiskAssessment] = relationship(back_populates="risks")
    department: Mapped[Department | None] = relationship()
    unit: Mapped[Unit] = relationship()
    reviews: Mapped[list[RiskReview]] = relationship(back_populates="risk", order_by="RiskReview.round")


class RiskReview(Base):
    """A risk as one round left it: round 0 is the assessment, then one row per monitoring round."""

    __tablename__ = "risk_reviews"
    __table_args__ = (UniqueConstraint("risk_id", "round"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risks.id"))
    round: Mapped[int] = mapped_column(Integer)
    reviewed_at: Mapped[datetime]
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    severity: Mapped[int] = mapped_column(Integer)
    likelihood: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(12))
    action_status: Mapped[str] = mapped_column(String(12))
    effectiveness: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(Text, default="")
    risk: Mapped[Risk] = relationship(back_populates="reviews")
    reviewer: Mapped[User | None] = relationship()


# --- reading the register -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskFilter:
    """What a register page asks for; None: any."""

    unit_id: int | None = None
    year: int | None = None
    status: str | None = None
    level: str | None = None
    department_id: int | None = None
    assessment_id: int | None = None


RISK_ORDER = ListOrder(((Risk.priority, False, False), (-Risk.score, False, False), (Risk.id, False, False)))
"""The register's order: highest priority first, then the highest score, the id breaking ties. The score is
sorted as ``-score`` so that the whole key goes one way: one row-value comparison, a range of
``ix_risks_unit_priority`` (SQLite's reflection drops an index column's DESC)."""


def _risks(session: Session, viewer: User, filters: RiskFilter) -> Select[Any]:
    """The risks of the viewer's units that match (unordered); another unit's ``unit_id`` selects nothing."""
    units = units_in_view(session, viewer, filters.unit_id)
    where: list[Any] = [Risk.unit_id.in_(units)]
    if filters.year is not None:  # the year of the assessment (a subquery: no join for the list without it)
        where.append(Risk.assessment_id.in_(select(RiskAssessment.id).where(RiskAssessment.year == filters.year)))
    if filters.status:
        where.append(Risk.status == filters.status)
    if filters.level:
        where.append(Risk.level == filters.level)
    if filters.department_id is not None:
        where.append(Risk.department_id == filters.department_id)
    if filters.assessment_id is not None:
        where.append(Risk.assessment_id == filters.assessment_id)
    return select(Risk).where(*where)


_RISK_LINE = (selectinload(Risk.department), selectinload(Risk.assessment), selectinload(Risk.unit))


def find_risks(session: Session, viewer: User, filters: RiskFilter, *, limit: int | None = None,
               offset: int = 0) -> tuple[list[Risk], int]:  # fmt: skip
    """The risks of the viewer's units that match, highest priority first, and how many match in all (the
    export; the register's pages are ``risk_page``)."""
    base = _risks(session, viewer, filters)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    stmt = base.options(*_RISK_LINE).order_by(*RISK_ORDER.order_by()).offset(offset)
    return list(session.scalars(stmt.limit(limit) if limit is not None else stmt)), total


def risk_page_query(session: Session, viewer: User, filters: RiskFilter, after: list[Any] | None = None,
                    limit: int = REGISTER_PAGE_SIZE) -> Select[Any]:  # fmt: skip
    return keyset_query(_risks(session, viewer, filters), RISK_ORDER, after, limit)


def risk_page(session: Session, viewer: User, filters: RiskFilter, after: list[Any] | None = None,
              limit: int = REGISTER_PAGE_SIZE) -> tuple[list[Risk], list[Any] | None]:  # fmt: skip
    """One page of the register after the risk whose key is ``after``, and the key of the next page (None:
    the last page); BadPageLink when ``after`` is not a key of this list."""
    return keyset_page(session, _risks(session, viewer, filters).options(*_RISK_LINE), RISK_ORDER, after, limit)


def count_risks(session: Session, viewer: User, filters: RiskFilter, cap: int = REGISTER_COUNT_CAP) -> int:
    """How many risks match, counting no further than ``cap + 1``."""
    return register_count(session, _risks(session, viewer, filters), Risk.id, cap)


def risk_for(session: Session, viewer: User, risk_id: int) -> Risk:
    """One risk with its review history, for a person of its unit; to anyone else it does not exist."""
    risk = session.get(Risk, risk_id)
    if risk is None or risk.unit_id not in units_in_view(session, viewer, None):
        raise NotFound("Risk %(id)s does not exist.", id=risk_id)
    return risk


def assessments_of(session: Session, viewer: User) -> list[RiskAssessment]:
    """The assessments of the viewer's units, newest first (for the register's filter)."""
    units = units_in_view(session, viewer, None)
    stmt = select(RiskAssessment).where(RiskAssessment.unit_id.in_(units))
    return list(session.scalars(stmt.order_by(RiskAssessment.year.desc(), RiskAssessment.id.desc())))


# --- the process's jobs ---------------------------------------------------------------------------------


def _scale(value: Any, what: str) -> int:
    """A severity or likelihood on the 1–5 scale."""
    try:
        number = int(value.strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        number = 0
    exact = isinstance(value, str) or (not isinstance(value, bool) and number == value)
    if not exact or not 1 <= number <= 5:
        raise EngineError("%(what)s must be a whole number from 1 to 5, not '%(value)s'.", what=what, value=value)
    return number


@dataclass(frozen=True)
class _Scored:
    """What the decision table ``riskPriority`` gave for one risk."""

    score: int
    level: str
    priority: int
    treatment_required: bool

    @classmethod
    def of(cls, row: Mapping[str, Any], where: str) -> _Scored:
        if not isinstance(row, Mapping) or row.get("level") not in LEVELS:
            raise EngineError("%(where)s has no risk level from the decision table riskPriority; check that "
                              "severity and likelihood are from 1 to 5.", where=where)  # fmt: skip
        return cls(int(row["score"]), str(row["level"]), int(row["priority"]), bool(row["treatmentRequired"]))


def _departments(session: Session, unit_id: int) -> dict[str, Department]:
    return {d.code: d for d in session.scalars(select(Department).where(Department.unit_id == unit_id))}


def register_risks(job: JobContext) -> dict[str, Any]:
    """Write the reported assessment and its risks (each with its first review row) into the register."""
    session, data, instance = job.session, job.data, job.instance
    rows = data.get("treatedRisks")
    if not isinstance(rows, list):
        raise EngineError("The process has no list 'treatedRisks' of assessed risks to register.")
    year = int(data.get("year") or job.now.year)
    assessment = RiskAssessment(
        unit_id=instance.unit_id, instance_id=instance.id, year=year, title=_text(data.get("title"), 300),
        scope=_text(data.get("scope"), 4000), objectives=_text(data.get("objectives"), 4000),
        methods=[str(m) for m in data.get("methods") or []], starts_on=_date(data.get("startDate"), "startDate"),
        ends_on=_date(data.get("endDate"), "endDate"), summary=_text(data.get("summary"), 8000),
        monitoring_interval=_text(data.get("monitoringInterval"), 20), status="monitoring",
        registered_at=job.now,
    )  # fmt: skip
    session.add(assessment)
    session.flush()
    departments = _departments(session, instance.unit_id)
    for number, row in enumerate(rows, start=1):
        session.add(_new_risk(session, job, assessment, departments, row, f"treatedRisks[{number}]"))
    if not rows:  # nothing to monitor: the process ends here
        assessment.status, assessment.closed_at = "closed", job.now
    session.flush()
    notified = _notify_report(session, job, assessment)
    job.record("risks_registered", {"assessment": assessment.id, "risks": len(rows), "notified_users": notified})
    return {"assessmentId": assessment.id, **_monitoring_variables(session, assessment)}


def _new_risk(session: Session, job: JobContext, assessment: RiskAssessment, departments: Mapping[str, Department],
              row: Mapping[str, Any], where: str) -> Risk:  # fmt: skip
    scored = _Scored.of(row, where)
    treatment = _one_of(row.get("treatment"), TREATMENTS, f"{where}.treatment")
    if scored.treatment_required and treatment == "accept":
        raise EngineError("%(where)s is a %(level)s risk and must be treated, not accepted.", where=where,
                          level=LEVEL_NAMES[scored.level])  # fmt: skip
    department = departments.get(str(row.get("department") or ""))
    sequence = next_number(session, assessment.unit_id, "risk", assessment.year)
    risk = Risk(
        unit_id=assessment.unit_id, assessment=assessment, instance_id=assessment.instance_id,
        code=f"RR-{assessment.year}-{sequence:03d}", department_id=department.id if department else None,
        description=_text(row.get("description"), 4000) or "?", activity=_text(row.get("activity"), 300),
        cause=_text(row.get("cause"), 4000), consequence=_text(row.get("consequence"), 4000),
        severity=_scale(row.get("severity"), f"{where}.severity"),
        likelihood=_scale(row.get("likelihood"), f"{where}.likelihood"), score=scored.score, level=scored.level,
        priority=scored.priority, treatment_required=scored.treatment_required, treatment=treatment,
        action="" if treatment == "accept" else _text(row.get("action"), 4000),
        owner="" if treatment == "accept" else _text(row.get("owner"), 200),
        due_date=None if treatment == "accept" else _date(row.get("dueDate"), f"{where}.dueDate"),
        action_status="none" if treatment == "accept" else "not_started", effectiveness="not_evaluated",
        status="open", identified_at=job.now,
    )  # fmt: skip
    risk.reviews.append(_review(risk, 0, job, note=""))
    return risk


def _review(risk: Risk, round_: int, job: JobContext, note: str) -> RiskReview:
    return RiskReview(round=round_, reviewed_at=job.now, reviewer_id=job.actor.id if job.actor else None,
                      severity=risk.severity, likelihood=risk.likelihood, score=risk.score, level=risk.level,
                      action_status=risk.action_status, effectiveness=risk.effectiveness, status=risk.status,
                      note=note)  # fmt: skip


def review_risks(job: JobContext) -> dict[str, Any]:
    """Keep one monitoring round: each reviewed risk's new scores, progress and status, and its history row."""
    session, data = job.session, job.data
    assessment = session.scalar(select(RiskAssessment).where(RiskAssessment.instance_id == job.instance.id))
    if assessment is None:
        raise EngineError("This process has not registered its risks yet; nothing to review.")
    rows, scores = data.get("monitoredRisks"), data.get("reviewPriorities")
    if not isinstance(rows, list) or not isinstance(scores, list) or len(rows) != len(scores):
        raise EngineError("The monitoring round needs 'monitoredRisks' and one 'reviewPriorities' entry for each.")
    by_code = {risk.code: risk for risk in assessment.risks}
    round_ = assessment.review_rounds + 1
    for number, (row, scored_row) in enumerate(zip(rows, scores, strict=True), start=1):
        where = f"monitoredRisks[{number}]"
        risk = by_code.get(str(row.get("code") if isinstance(row, Mapping) else ""))
        if risk is None:
            raise EngineError("%(where)s names no risk of this assessment.", where=where)
        _apply_review(risk, row, _Scored.of(scored_row, where), job, where)
        review = _review(risk, round_, job, note=_text(row.get("note"), 4000))
        review.risk_id = risk.id
        session.add(review)
    assessment.review_rounds, assessment.reviewed_at = round_, job.now
    open_risks = [r for r in assessment.risks if r.status == "open"]
    if data.get("continueMonitoring") == "stop" or not open_risks:
        assessment.status, assessment.closed_at = "closed", job.now
        for risk in open_risks:
            risk.status = "transferred"
    session.flush()
    notified = _notify_untreated(session, job, assessment)
    job.record("risks_reviewed", {"assessment": assessment.id, "round": round_, "reviewed": len(rows),
                                  "open": len(open_risks), "closed_assessment": assessment.status == "closed",
                                  "notified_users": notified})  # fmt: skip
    return _monitoring_variables(session, assessment)


def _apply_review(risk: Risk, row: Mapping[str, Any], scored: _Scored, job: JobContext, where: str) -> None:
    risk.severity = _scale(row.get("severity"), f"{where}.severity")
    risk.likelihood = _scale(row.get("likelihood"), f"{where}.likelihood")
    risk.score, risk.level, risk.priority = scored.score, scored.level, scored.priority
    risk.treatment_required = scored.treatment_required
    risk.treatment = _one_of(row.get("treatment"), TREATMENTS, f"{where}.treatment")
    accepted = risk.treatment == "accept"
    risk.action = "" if accepted else _text(row.get("action"), 4000)
    risk.owner = "" if accepted else _text(row.get("owner"), 200)
    risk.due_date = None if accepted else _date(row.get("dueDate"), f"{where}.dueDate")
    risk.action_status = _one_of(row.get("actionStatus"), ACTION_STATUSES, f"{where}.actionStatus")
    risk.effectiveness = _one_of(row.get("effectiveness"), EFFECTIVENESS, f"{where}.effectiveness")
    status = _one_of(row.get("status"), REVIEWED_STATUSES, f"{where}.status")
    if status == "closed" and risk.status != "closed":
        risk.closed_at = job.now
    risk.status, risk.reviewed_at = status, job.now


def untreated(risk: Risk) -> bool:
    """An open risk whose level requires treatment but that has no treatment action (it rose at a review)."""
    return risk.status == "open" and risk.treatment_required and risk.treatment == "accept"


def _notify_untreated(session: Session, job: JobContext, assessment: RiskAssessment) -> list[str]:
    """Risks that rose to a level needing treatment reach the ISO secretaries and their departments' heads."""
    risks = [r for r in assessment.risks if untreated(r)]
    if not risks:
        return []
    people = users_with_role(session, assessment.unit_id, "iso_secretary")
    people += department_heads(session, assessment.unit_id, *{r.department_id for r in risks})
    lines = [Phrase("- %(code)s (%(level)s, %(score)s points): %(text)s", code=r.code, level=LEVEL_PHRASES[r.level],
                    score=r.score, text=r.description) for r in risks]  # fmt: skip
    sent = notify(session, people, unit_id=assessment.unit_id, instance_id=assessment.instance_id,
                  kind="risks_need_treatment",
                  title=Phrase("Risks that need more treatment: %(title)s", title=assessment.title),
                  body=lines, link=f"/iso/risks?assessment={assessment.id}&status=open", now=job.now)  # fmt: skip
    return _usernames(people, sent)



def _usernames(people: list[User], sent: list[Any]) -> list[str]:
    by_id = {u.id: u.username for u in people}
    return sorted(by_id[n.user_id] for n in sent)


def _monitoring_variables(session: Session, assessment: RiskAssessment) -> dict[str, Any]:
    """The open risks as the next monitoring form shows them, and how many there are."""
    open_risks = [r for r in assessment.risks if r.status == "open"]
    return {
        "monitoredRisks": [_form_row(r) for r in open_risks],
        "openRisks": len(open_risks),
        "reviewRound": assessment.review_rounds,
    }


def _form_row(risk: Risk) -> dict[str, Any]:
    return {
        "code": risk.code, "description": risk.description, "levelName": LEVEL_NAMES[risk.level],
        "treatment": risk.treatment, "action": risk.action, "owner": risk.owner,
        "dueDate": risk.due_date.isoformat() if risk.due_date else None,
        "actionStatus": risk.action_status, "effectiveness": risk.effectiveness, "severity": risk.severity,
        "likelihood": risk.likelihood, "status": risk.status, "note": "",
    }  # fmt: skip


def _notify_report(session: Session, job: JobContext, assessment: RiskAssessment) -> list[str]:
    """The unit's leaders and the heads of the departments concerned read the report in their inbox."""
    heads = department_heads(session, assessment.unit_id, *{r.department_id for r in assessment.risks})
    people = users_with_role(session, assessment.unit_id, "unit_leader") + heads
    counts = {level: sum(1 for r in assessment.risks if r.level == level) for level in LEVELS}
    body = [Phrase("%(level)s: %(count)s", level=LEVEL_PHRASES[level], count=count)
            for level, count in counts.items() if count]  # fmt: skip
    sent = notify(session, people, unit_id=assessment.unit_id, instance_id=assessment.instance_id,
                  kind="risks_registered", title=Phrase("Risk assessment results: %(title)s", title=assessment.title),
                  body=body, link=f"/iso/risks?assessment={assessment.id}", now=job.now)  # fmt: skip
    return _usernames(people, sent)
