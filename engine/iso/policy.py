"""The register of quality policies (TCVN ISO 9001:2015, 5.2) and its publishing job.

A unit's quality policy is issued, and later revised, by the quality-policy process
(``bpmn/quality-policy.bpmn``): the ISO secretary drafts it, the unit leader approves or returns it, the
secretary records the decision that issues it, and the job ``eiso.publish_policy`` makes it the unit's
current policy. Earlier policies stay in the register as superseded, each with its issue number (lần ban
hành), decision, effective date and the instance that produced it. A unit with no policy in the register
yet shows the text kept on the unit (``units.quality_policy``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, extract, func, select, update
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from engine.db import Base
from engine.errors import EngineError, Phrase
from engine.org.models import Unit, User
from engine.org.notices import notify
from engine.org.people import unit_ids_of, users_with_role
from engine.runtime.handlers import JobContext
from engine.runtime.models import ProcessInstance

from .job_data import day as _date

PROCESS_KEY = "quality_policy"
"""The process that alone may publish a unit's quality policy (bpmn/quality-policy.bpmn)."""
PUBLISH_JOB = "eiso.publish_policy"
STATUSES = ("current", "superseded")


class QualityPolicy(Base):
    """One issue of a unit's quality policy."""

    __tablename__ = "quality_policies"
    __table_args__ = (Index("ix_quality_policies_unit_status", "unit_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), unique=True)
    issue: Mapped[int] = mapped_column(Integer)  # lần ban hành: 1 for the first policy, then 2, 3...
    text: Mapped[str] = mapped_column(Text)
    change_note: Mapped[str] = mapped_column(Text, default="")
    decision_number: Mapped[str] = mapped_column(String(100), default="")
    effective_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))  # current | superseded
    published_at: Mapped[datetime]
    unit: Mapped[Unit] = relationship()
    instance: Mapped[ProcessInstance] = relationship()


def current_policy(session: Session, unit_id: int) -> QualityPolicy | None:
    """The unit's policy in force, if the register has one."""
    stmt = select(QualityPolicy).where(QualityPolicy.unit_id == unit_id, QualityPolicy.status == "current")
    return session.scalar(stmt.order_by(QualityPolicy.issue.desc()).limit(1))


def policy_text(session: Session, unit: Unit) -> str:
    """What the public portal shows as the unit's policy: the register's current one, else the unit's own text."""
    current = current_policy(session, unit.id)
    return current.text if current is not None else unit.quality_policy


@dataclass(frozen=True)
class PolicyFilter:
    """The register page's filters: the unit (one of the reader's), the year of the effective date, the status."""

    unit_id: int | None = None
    year: int | None = None
    status: str | None = None


def policies(session: Session, unit_ids: set[int], where: PolicyFilter = PolicyFilter(),
             limit: int = 1000) -> list[QualityPolicy]:  # fmt: skip
    """The register's rows for these units (the reader's), newest issue first."""
    wanted = unit_ids if where.unit_id is None else unit_ids & {where.unit_id}
    stmt = select(QualityPolicy).where(QualityPolicy.unit_id.in_(wanted)).options(joinedload(QualityPolicy.unit))
    if where.year is not None:
        stmt = stmt.where(extract("year", QualityPolicy.effective_date) == where.year)
    if where.status in STATUSES:
        stmt = stmt.where(QualityPolicy.status == where.status)
    stmt = stmt.order_by(QualityPolicy.unit_id, QualityPolicy.issue.desc()).limit(limit)
    return list(session.scalars(stmt))


def publish_policy(job: JobContext) -> dict[str, Any]:
    """Make the approved policy the unit's current one (the earlier one is superseded) and tell the unit."""
    session, data, instance = job.session, job.data, job.instance
    text = str(data.get("policyText") or "").strip()
    if not text:
        raise EngineError("The approved policy has no text; nothing was published.")
    session.execute(
        update(QualityPolicy)
        .where(QualityPolicy.unit_id == instance.unit_id, QualityPolicy.status == "current")
        .values(status="superseded")
    )
    issued = session.scalar(select(func.max(QualityPolicy.issue)).where(QualityPolicy.unit_id == instance.unit_id))
    policy = QualityPolicy(
        unit_id=instance.unit_id, instance_id=instance.id, issue=(issued or 0) + 1, text=text,
        change_note=str(data.get("changeNote") or ""), decision_number=str(data.get("decisionNumber") or ""),
        effective_date=_date(data.get("effectiveDate")), status="current", published_at=job.now,
    )  # fmt: skip
    session.add(policy)
    session.flush()
    people = [u for role in ("unit_leader", "iso_secretary", "department_head")
              for u in users_with_role(session, instance.unit_id, role)]  # fmt: skip
    notify(session, people, unit_id=instance.unit_id, instance_id=instance.id, kind="policy_published",
           title=(Phrase("Quality policy, issue %(issue)s: %(decision)s", issue=policy.issue,
                         decision=policy.decision_number) if policy.decision_number
                  else Phrase("Quality policy, issue %(issue)s", issue=policy.issue)),
           body=text, link=f"/units/{instance.unit.code}/objectives", now=job.now)  # fmt: skip
    job.record("policy_published", {"policy": policy.id, "issue": policy.issue})
    return {"policyId": policy.id, "policyIssue": policy.issue}


def count_rows(session: Session, viewer: User, unit_id: int) -> int | None:
    """How many rows the register holds for the unit as this person reads them (the ISO home page's list of
    registers); None when they do not read it there."""
    if not viewer.is_active or unit_id not in unit_ids_of(session, viewer):
        return None
    stmt = select(func.count()).select_from(QualityPolicy).where(QualityPolicy.unit_id == unit_id)
    return session.scalar(stmt) or 0
