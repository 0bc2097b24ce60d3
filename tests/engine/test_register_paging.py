"""The ISO registers a page at a time (keyset): every register's pages, walked to the end, hold the rows of its
whole list in the same order, none twice and none left out, when sort keys tie; a filter narrows every page;
another unit's rows are on none of a person's pages (even from a page key of theirs); a key that does not fit
the list is refused; and each list walks the index made for its order on SQLite and on PostgreSQL, on its first
page and on a later one (no scan of the table, no sort)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.orm import Session

from engine import NotFound, queries
from engine.iso import assignments, audits, complaints, corrective_actions, documents, reviews, risks
from engine.org.models import Department, User
from engine.runtime.models import ProcessInstance
from tests.conftest import Clock, People
from tests.engine.test_list_paging import add_instances, plan, start_many
from tests.engine.test_list_paging import assert_walks_index as walks_index

pytestmark = pytest.mark.usefixtures("library")

TODAY = date(2026, 11, 20)


def assert_walks_index(found: str, index: str, table: str) -> None:
    """The plan reads ``table`` through ``index`` and sorts nothing (SQLite: no temporary B-tree; PostgreSQL:
    no Sort or Incremental Sort node)."""
    walks_index(found, index, table)
    assert " Sort " not in found and not found.startswith("Sort"), found


def _department(session: Session, unit_id: int) -> int:
    found = session.scalar(select(Department.id).where(Department.unit_id == unit_id).order_by(Department.id))
    assert found is not None
    return found


def _instances(session: Session, people: People, clock: Clock, count: int) -> list[tuple[int, int]]:
    """``count`` new instances (a third in the other unit): (instance id, unit id)."""
    start_many(session, people, clock, 1)
    by_unit = add_instances(session, people, clock, count)
    return sorted((i, unit_id) for unit_id, ids in by_unit.items() for i in ids)


# --- filling each register with rows whose sort keys tie ---------------------------------------------------


def fill_risks(session: Session, people: People, clock: Clock, count: int) -> None:
    made = _instances(session, people, clock, count)
    assessments = {}
    for unit_id in (people.unit.id, people.other_unit.id):
        instance_id = next(i for i, u in made if u == unit_id)
        assessments[unit_id] = session.scalar(insert(risks.RiskAssessment).values(
            unit_id=unit_id, instance_id=instance_id, year=2026, title="Đánh giá rủi ro", status="monitoring",
            registered_at=clock.now).returning(risks.RiskAssessment.id))  # fmt: skip
    session.execute(insert(risks.Risk), [
        {"unit_id": unit_id, "assessment_id": assessments[unit_id], "instance_id": instance_id,
         "code": f"RR-{n}", "description": "Rủi ro", "severity": 3, "likelihood": 3, "score": 9 if n % 2 else 6,
         "level": "high" if n % 5 else "low", "priority": 1 + n % 3, "treatment_required": True,
         "treatment": "reduce", "action_status": "not_started", "status": "open", "identified_at": clock.now}
        for n, (instance_id, unit_id) in enumerate(made)])  # fmt: skip


def fill_complaints(session: Session, people: People, clock: Clock, count: int) -> None:
    session.execute(insert(complaints.Complaint), [
        {"unit_id": unit_id, "instance_id": instance_id, "code": f"PA-{n}", "kind": "complaint", "source": "citizen",
         "channel": "phone", "complainant": "Người dân", "subject": "Phản ánh", "content": "Nội dung",
         "received_at": clock.now - timedelta(minutes=n % 2), "status": "received" if n % 4 else "answered"}
        for n, (instance_id, unit_id) in enumerate(_instances(session, people, clock, count))])  # fmt: skip


def fill_documents(session: Session, people: People, clock: Clock, count: int) -> None:
    made = _instances(session, people, clock, count)
    docs = {unit_id: session.scalar(insert(documents.ControlledDocument).values(
        unit_id=unit_id, code="QT-01", title="Quy trình", kind="procedure", created_at=clock.now,
        updated_at=clock.now).returning(documents.ControlledDocument.id))
        for unit_id in (people.unit.id, people.other_unit.id)}  # fmt: skip
    session.execute(insert(documents.DocumentIssue), [
        {"document_id": docs[unit_id], "unit_id": unit_id, "instance_id": instance_id, "number": n,
         "status": "current" if n % 3 else "superseded", "change_type": "revise", "title": "Quy trình",
         "issued_on": TODAY - timedelta(days=n % 2), "registered_at": clock.now}
        for n, (instance_id, unit_id) in enumerate(made)])  # fmt: skip


def fill_reviews(session: Session, people: People, clock: Clock, count: int) -> None:
    session.execute(insert(reviews.ManagementReview), [
        {"unit_id": unit_id, "instance_id": instance_id, "year": 2026 - n % 2, "title": f"Xem xét {n}",
         "status": "reporting" if n % 4 else "concluded", "opened_at": clock.now}
        for n, (instance_id, unit_id) in enumerate(_instances(session, people, clock, count))])  # fmt: skip


def fill_review_actions(session: Session, people: People, clock: Clock, count: int) -> None:
    made = _instances(session, people, clock, 3)
    held = {}
    for instance_id, unit_id in made:
        held[unit_id] = session.scalar(insert(reviews.ManagementReview).values(
            unit_id=unit_id, instance_id=instance_id, year=2026, title="Xem xét", status="concluded",
            opened_at=clock.now).returning(reviews.ManagementReview.id))  # fmt: skip
    units = [people.other_unit.id if n % 3 == 0 else people.unit.id for n in range(count)]
    session.execute(insert(reviews.ReviewAction), [
        {"review_id": held[unit_id], "unit_id": unit_id, "position": n, "text": f"Hành động {n}",
         "due_date": None if n % 3 == 1 else TODAY + timedelta(days=n % 2),
         "status": "open" if n % 4 else "done"} for n, unit_id in enumerate(units)])  # fmt: skip


def fill_assignments(session: Session, people: People, clock: Clock, count: int) -> None:
    session.execute(insert(assignments.Assignment), [
        {"unit_id": unit_id, "instance_id": instance_id, "year": 2026, "title": f"Việc {n}", "deadline": TODAY,
         "assigned_at": clock.now - timedelta(minutes=n % 2), "status": "in_progress" if n % 4 else "done"}
        for n, (instance_id, unit_id) in enumerate(_instances(session, people, clock, count))])  # fmt: skip


def fill_programmes(session: Session, people: People, clock: Clock, count: int) -> None:
    session.execute(insert(audits.AuditProgramme), [
        {"unit_id": unit_id, "instance_id": instance_id, "year": 2026 - n % 2, "title": f"Chương trình {n}",
         "status": "approved" if n % 4 else "concluded", "approved_at": clock.now}
        for n, (instance_id, unit_id) in enumerate(_instances(session, people, clock, count))])  # fmt: skip


def fill_findings(session: Session, people: People, clock: Clock, count: int) -> None:
    made = _instances(session, people, clock, 3)
    places = {}
    for instance_id, unit_id in made:
        programme = session.scalar(insert(audits.AuditProgramme).values(
            unit_id=unit_id, instance_id=instance_id, year=2026, title="Chương trình", status="in_progress",
            approved_at=clock.now).returning(audits.AuditProgramme.id))  # fmt: skip
        round_id = session.scalar(insert(audits.AuditRound).values(
            programme_id=programme, unit_id=unit_id, number=1, title="Đợt 1", status="audited",
            approved_at=clock.now).returning(audits.AuditRound.id))  # fmt: skip
        department = _department(session, unit_id)
        assignment = session.scalar(insert(audits.AuditAssignment).values(
            round_id=round_id, department_id=department, auditor_id=people.leader.id,
            status="audited").returning(audits.AuditAssignment.id))  # fmt: skip
        places[unit_id] = (instance_id, round_id, assignment, department)
    units = [people.other_unit.id if n % 3 == 0 else people.unit.id for n in range(count)]
    session.execute(insert(audits.AuditFinding), [
        {"unit_id": unit_id, "instance_id": places[unit_id][0], "round_id": places[unit_id][1],
         "assignment_id": places[unit_id][2], "department_id": places[unit_id][3], "year": 2026 - n % 2,
         "code": f"PH-{n}", "classification": "nonconformity" if n % 2 else "observation", "description": "Phát hiện",
         "status": "open", "recorded_at": clock.now} for n, unit_id in enumerate(units)])  # fmt: skip


def fill_corrective(session: Session, people: People, clock: Clock, count: int) -> None:
    departments = {u: _department(session, u) for u in (people.unit.id, people.other_unit.id)}
    session.execute(insert(corrective_actions.CorrectiveAction), [
        {"unit_id": unit_id, "instance_id": instance_id, "code": f"KP-{n}", "year": 2026 - n % 2,
         "source": "audit" if n % 2 else "complaint", "department_id": departments[unit_id],
         "description": "Điểm không phù hợp", "status": "open", "opened_at": clock.now}
        for n, (instance_id, unit_id) in enumerate(_instances(session, people, clock, count))])  # fmt: skip


# --- the registers --------------------------------------------------------------------------------------------


Page = tuple[list[Any], list[Any] | None]


@dataclass(frozen=True)
class Register:
    name: str
    table: str
    index: str
    fill: Callable[[Session, People, Clock, int], None]
    page: Callable[[Session, User, People, list[Any] | None, int], Page]
    query: Callable[[Session, User, People, list[Any] | None, int], Any]
    whole: Callable[[Session, User, People], list[Any]]
    narrowed: Callable[[Session, User, People, list[Any] | None, int], Page]  # one filter applied
    matches: Callable[[Any], bool]  # a row that filter keeps
    by_unit: bool = False  # a register of one unit at a time (``?unit=<code>``)


def _own(people: People, viewer: User) -> int:
    return people.other_unit.id if viewer.id in (people.outsider_leader.id, people.outsider_member.id) \
        else people.unit.id  # fmt: skip


NO_AUDIT = audits.AuditFilter()
NO_ACTION = corrective_actions.ActionFilter()

REGISTERS = [
    Register(
        "risks", "risks", "ix_risks_unit_priority", fill_risks,
        lambda s, v, p, after, limit: risks.risk_page(s, v, risks.RiskFilter(), after, limit),
        lambda s, v, p, after, limit: risks.risk_page_query(s, v, risks.RiskFilter(), after, limit),
        lambda s, v, p: risks.find_risks(s, v, risks.RiskFilter())[0],
        lambda s, v, p, after, limit: risks.risk_page(s, v, risks.RiskFilter(level="high"), after, limit),
        lambda r: r.level == "high",
    ),
    Register(
        "complaints", "complaints", "ix_complaints_unit_received", fill_complaints,
        lambda s, v, p, after, limit: complaints.complaint_page(s, v, complaints.ComplaintFilter(), now=p_now(),
                                                                after=after, limit=limit),
        lambda s, v, p, after, limit: complaints.complaint_page_query(s, v, complaints.ComplaintFilter(), now=p_now(),
                                                                      after=after, limit=limit),
        lambda s, v, p: complaints.find_complaints(s, v, complaints.ComplaintFilter(), now=p_now())[0],
        lambda s, v, p, after, limit: complaints.complaint_page(s, v, complaints.ComplaintFilter(status="received"),
                                                                now=p_now(), after=after, limit=limit),
        lambda r: r.status == "received",
    ),
    Register(
        "documents", "document_issues", "ix_document_issues_unit_issued", fill_documents,
        lambda s, v, p, after, limit: documents.issue_page(s, v, documents.IssueFilter(), after, limit),
        lambda s, v, p, after, limit: documents.issue_page_query(s, v, documents.IssueFilter(), after, limit),
        lambda s, v, p: documents.find_issues(s, v, documents.IssueFilter())[0],
        lambda s, v, p, after, limit: documents.issue_page(s, v, documents.IssueFilter(status="current"), after,
                                                           limit),
        lambda r: r.status == "current",
    ),
    Register(
        "reviews", "management_reviews", "ix_management_reviews_unit_list", fill_reviews,
        lambda s, v, p, after, limit: reviews.review_page(s, v, _own(p, v), reviews.ReviewFilter(), after, limit),
        lambda s, v, p, after, limit: reviews.review_page_query(s, v, _own(p, v), reviews.ReviewFilter(), after,
                                                                limit),
        lambda s, v, p: reviews.list_reviews(s, v, _own(p, v)),
        lambda s, v, p, after, limit: reviews.review_page(s, v, _own(p, v), reviews.ReviewFilter(status="reporting"),
                                                          after, limit),
        lambda r: r.status == "reporting", by_unit=True,
    ),
    Register(
        "review actions", "review_actions", "ix_review_actions_unit_due", fill_review_actions,
        lambda s, v, p, after, limit: reviews.action_page(s, v, _own(p, v), reviews.ActionFilter(), TODAY, after,
                                                          limit),
        lambda s, v, p, after, limit: reviews.action_page_query(s, v, _own(p, v), reviews.ActionFilter(), TODAY,
                                                                after, limit),
        lambda s, v, p: reviews.list_actions(s, v, _own(p, v), reviews.ActionFilter(), TODAY),
        lambda s, v, p, after, limit: reviews.action_page(s, v, _own(p, v), reviews.ActionFilter(status="open"),
                                                          TODAY, after, limit),
        lambda r: r.status == "open", by_unit=True,
    ),
    Register(
        "assignments", "adhoc_assignments", "ix_adhoc_assignments_unit_assigned", fill_assignments,
        lambda s, v, p, after, limit: assignments.assignment_page(s, v, _own(p, v), assignments.AssignmentFilter(),
                                                                  TODAY, after, limit),
        lambda s, v, p, after, limit: assignments.assignment_page_query(
            s, v, _own(p, v), assignments.AssignmentFilter(), TODAY, after, limit),
        lambda s, v, p: assignments.list_assignments(s, v, _own(p, v), assignments.AssignmentFilter(), TODAY),
        lambda s, v, p, after, limit: assignments.assignment_page(
            s, v, _own(p, v), assignments.AssignmentFilter(status="done"), TODAY, after, limit),
        lambda r: r.status == "done", by_unit=True,
    ),
    Register(
        "audit programmes", "audit_programmes", "ix_audit_programmes_unit_year", fill_programmes,
        lambda s, v, p, after, limit: audits.programme_page(s, v, NO_AUDIT, after, limit),
        lambda s, v, p, after, limit: audits.programme_page_query(s, v, NO_AUDIT, after, limit),
        lambda s, v, p: audits.programmes(s, v, NO_AUDIT),
        lambda s, v, p, after, limit: audits.programme_page(s, v, audits.AuditFilter(year=2026), after, limit),
        lambda r: r.year == 2026,
    ),
    Register(
        "audit findings", "audit_findings", "ix_audit_findings_unit_year", fill_findings,
        lambda s, v, p, after, limit: audits.finding_page(s, v, NO_AUDIT, after, limit),
        lambda s, v, p, after, limit: audits.finding_page_query(s, v, NO_AUDIT, after, limit),
        lambda s, v, p: audits.findings(s, v, NO_AUDIT),
        lambda s, v, p, after, limit: audits.finding_page(s, v, audits.AuditFilter(classification="observation"),
                                                          after, limit),
        lambda r: r.classification == "observation",
    ),
    Register(
        "corrective actions", "corrective_actions", "ix_corrective_actions_unit_year", fill_corrective,
        lambda s, v, p, after, limit: corrective_actions.action_page(s, v, NO_ACTION, today=TODAY, after=after,
                                                                     limit=limit),
        lambda s, v, p, after, limit: corrective_actions.action_page_query(s, v, NO_ACTION, today=TODAY,
                                                                           after=after, limit=limit),
        lambda s, v, p: corrective_actions.actions(s, v, NO_ACTION, today=TODAY),
        lambda s, v, p, after, limit: corrective_actions.action_page(
            s, v, corrective_actions.ActionFilter(source="audit"), today=TODAY, after=after, limit=limit),
        lambda r: r.source == "audit",
    ),
]  # fmt: skip


def p_now() -> datetime:
    return datetime(2026, 11, 20, 3, 0).astimezone()


def walk(find: Callable[[list[Any] | None, int], Page], limit: int) -> list[list[int]]:
    pages, after = [], None
    while True:
        rows, after = find(after, limit)
        pages.append([r.id for r in rows])
        if after is None:
            return pages
        assert len(pages) < 100


@pytest.mark.parametrize("register", REGISTERS, ids=lambda r: r.name)
def test_pages_hold_the_whole_list_in_order_when_keys_tie_and_stop_at_the_unit_wall(
    session: Session, people: People, clock: Clock, register: Register
) -> None:
    register.fill(session, people, clock, 30)
    session.commit()
    whole = [r.id for r in register.whole(session, people.leader, people)]
    assert len(whole) >= 15
    pages = walk(lambda after, limit: register.page(session, people.leader, people, after, limit), 4)
    assert [i for p in pages for i in p] == whole  # nothing twice, nothing left out, the whole list's order
    assert all(len(p) == 4 for p in pages[:-1]) and len(pages) == -(-len(whole) // 4)
    # the other unit's people see their own rows only, on every page, even from a page key of ours
    theirs = [r.id for r in register.whole(session, people.outsider_leader, people)]
    outsider = walk(lambda after, limit: register.page(session, people.outsider_leader, people, after, limit), 3)
    assert [i for p in outsider for i in p] == theirs and theirs and not set(theirs) & set(whole)
    _, ours = register.page(session, people.leader, people, None, 4)
    rows, _ = register.page(session, people.outsider_leader, people, ours, 4)
    assert rows and not {r.id for r in rows} & set(whole)
    if register.by_unit:  # the other unit's leader asking for the demo unit's register: there is no such unit
        as_if_ours = replace(people, outsider_leader=people.leader)  # ``_own`` names the demo unit for them
        with pytest.raises(NotFound):
            register.page(session, people.outsider_leader, as_if_ours, None, 4)


@pytest.mark.parametrize("register", REGISTERS, ids=lambda r: r.name)
def test_a_filter_narrows_every_page(session: Session, people: People, clock: Clock, register: Register) -> None:
    register.fill(session, people, clock, 30)
    session.commit()
    kept = [r.id for r in register.whole(session, people.leader, people) if register.matches(r)]
    assert 2 < len(kept) < len(register.whole(session, people.leader, people))
    pages = walk(lambda after, limit: register.narrowed(session, people.leader, people, after, limit), 2)
    assert [i for p in pages for i in p] == kept


@pytest.mark.parametrize("register", REGISTERS[:3], ids=lambda r: r.name)
def test_a_page_key_that_does_not_fit_the_list_is_refused(
    session: Session, people: People, clock: Clock, register: Register
) -> None:
    register.fill(session, people, clock, 6)
    session.commit()
    rows, good = register.page(session, people.leader, people, None, 1)
    assert good is not None and len(rows) == 1  # a page of one holds one line
    for bad in ([], [*good, 1], ["2026-13-45", 1] if len(good) == 2 else ["x", 1, 1], [True] * len(good),
                [None] * len(good), "not a list"):  # fmt: skip
        with pytest.raises(queries.BadPageLink) as refused:
            register.page(session, people.leader, people, bad, 4)
        assert str(refused.value) == BAD_LINK


def test_a_register_page_longer_than_the_usual_page_holds_every_line_asked_for(
    session: Session, people: People, clock: Clock
) -> None:
    register = REGISTERS[0]
    fill_risks(session, people, clock, 180)
    session.commit()
    whole = [r.id for r in register.whole(session, people.leader, people)]
    limit = queries.REGISTER_PAGE_SIZE + 5
    assert len(whole) > limit
    rows, after = register.page(session, people.leader, people, None, limit)
    assert [r.id for r in rows] == whole[:limit] and after is not None
    rest, more = register.page(session, people.leader, people, after, limit)
    assert [r.id for r in rest] == whole[limit:] and more is None


BAD_LINK = "This page link does not belong to this list. Open the list again from its first page."


def test_register_counts_stop_one_past_the_cap(session: Session, people: People, clock: Clock) -> None:
    fill_risks(session, people, clock, 30)
    session.commit()
    ours = len(risks.find_risks(session, people.leader, risks.RiskFilter())[0])
    theirs = len(risks.find_risks(session, people.outsider_leader, risks.RiskFilter())[0])
    assert ours > 6 and theirs > 6
    assert risks.count_risks(session, people.leader, risks.RiskFilter()) == ours
    assert risks.count_risks(session, people.leader, risks.RiskFilter(), cap=5) == 6  # "5+"
    assert risks.count_risks(session, people.outsider_leader, risks.RiskFilter()) == theirs
    assert risks.count_risks(session, people.leader, risks.RiskFilter(level="low")) == len(
        risks.find_risks(session, people.leader, risks.RiskFilter(level="low"))[0])  # fmt: skip


@pytest.mark.parametrize("register", REGISTERS, ids=lambda r: r.name)
def test_each_register_walks_its_index_on_every_page(
    session: Session, people: People, clock: Clock, register: Register
) -> None:
    register.fill(session, people, clock, 1500)
    session.commit()
    session.execute(text("ANALYZE"))
    first = plan(session, register.query(session, people.leader, people, None, 100))
    assert_walks_index(first, register.index, register.table)
    _, after = register.page(session, people.leader, people, None, 100)
    assert after is not None
    later = plan(session, register.query(session, people.leader, people, after, 100))
    assert_walks_index(later, register.index, register.table)


def test_the_camunda_instance_list_walks_its_index_in_id_order_and_loads_no_workflow(
    session: Session, people: People, clock: Clock
) -> None:
    start_many(session, people, clock, 1)
    by_unit = add_instances(session, people, clock, 3000)
    session.execute(text("ANALYZE"))
    listed = queries.running_instances_query(session, people.leader).order_by(ProcessInstance.id)
    assert_walks_index(plan(session, listed.offset(200).limit(100)), "ix_process_instances_unit_status",
                       "process_instances")  # fmt: skip
    rows = list(session.scalars(listed))
    assert [r.id for r in rows] == sorted(by_unit[people.unit.id])  # the whole unit's, in id order
    assert "state" in inspect(rows[0]).unloaded and rows[0].definition.key == "quality_objectives"
    theirs = [r.id for r in session.scalars(queries.running_instances_query(session, people.outsider_leader))]
    assert sorted(theirs) == sorted(by_unit[people.other_unit.id])


@pytest.mark.parametrize("year", [None, 2026], ids=["every year", "one year"])
def test_the_complaint_summary_reads_its_index_alone_and_counts_only_the_viewers_unit(
    session: Session, people: People, clock: Clock, year: int | None
) -> None:
    """The summary above the register aggregates every complaint the filters select: from an index holding what
    it counts, not from the rows with their texts (a unit's complaints of many years)."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    fill_complaints(session, people, clock, 2000 if postgresql else 40)
    session.commit()
    if postgresql:  # the planner's statistics, and the visibility map an index-only scan relies on
        with session.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE complaints"))
    filters = complaints.ComplaintFilter(year=year)
    stmt = complaints.summary_query(session, people.leader, filters, now=p_now())
    found = plan(session, stmt)
    if not postgresql:
        assert "USING COVERING INDEX ix_complaints_unit_summary" in found, found
    else:
        assert "Index Only Scan using ix_complaints_unit_summary" in found, found
    figures = complaints.summary(session, people.leader, filters, now=p_now())
    ours = [c for c in session.scalars(select(complaints.Complaint)) if c.unit_id == people.unit.id]
    assert 0 < figures.total == len(ours) < (2000 if postgresql else 40)  # not the other unit's complaints
