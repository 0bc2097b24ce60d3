"""The risk register and the shipped risk-management process: an assessment fills the register with scored,
prioritised and treated risks; monitoring goes round quarter after quarter for as long as risks stay open,
keeping each round in every risk's history; another unit sees none of it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Deployer, Engine, sweep_timers
from engine.errors import EngineError, NotAllowed, NotFound
from engine.expressions.dmn import load_dmn
from engine.iso import risks
from engine.iso.risks import Risk, RiskAssessment, RiskFilter, RiskReview
from engine.org.models import Notice, Unit, User
from engine.runtime.handlers import JobContext
from engine.runtime.models import DecisionDefinition, ProcessInstance, Timer
from tests.conftest import Clock, People, library_files, make_user
from tests.iso_flows import (
    UnitPeople,
    assessed,
    decision,
    identified,
    monitored,
    open_tasks,
    reported,
    risk_plan,
    run_risk_assessment,
    treated,
)

BPMN = Path(__file__).parents[2] / "bpmn"


@pytest.fixture
def demo(session: Session, unit: Unit, users: dict[str, User], clock: Clock) -> UnitPeople:
    Deployer(session).deploy(library_files(), actor=None, now=clock.now, source="library")
    return UnitPeople(unit, users["thuky"], users["giamdoc"],
                      {"vp": users["truongphong"], "qlkh": users["truongphong2"], "qlcn": users["truongphong3"]})


def assess(session: Session, demo: UnitPeople, clock: Clock) -> ProcessInstance:
    return run_risk_assessment(session, Engine(session), demo, clock.now, ["vp", "qlkh"])


def review_due(session: Session, instance_id: int) -> Timer:
    return session.scalars(select(Timer).where(Timer.instance_id == instance_id, Timer.state == "waiting")).one()


def monitoring_round(session: Session, demo: UnitPeople, instance_id: int, **changes: object) -> None:
    """Fire the waiting review timer through the scheduler's sweep, then work the monitoring task."""
    timer = review_due(session, instance_id)
    assert sweep_timers(session, timer.due_at).fired == 1
    [task] = open_tasks(session, instance_id, "monitor_risks")
    engine = Engine(session)
    data = engine.task_data(task)
    engine.complete(task.id, actor=demo.secretary, now=timer.due_at,
                    post=monitored(data["monitoredRisks"], **changes))  # type: ignore[arg-type]


def by_code(session: Session) -> dict[str, Risk]:
    session.expire_all()
    return {r.code: r for r in session.scalars(select(Risk))}


def test_the_library_deploys_the_process_its_forms_and_its_decision_without_a_warning(
    session: Session, unit: Unit, clock: Clock
) -> None:
    result = Deployer(session).deploy(library_files(), actor=None, now=clock.now, source="library")
    assert result.warnings == []
    assert "risk_management" in {d.key for d in result.definitions}
    assert session.scalar(select(DecisionDefinition.decision_key)) == "riskPriority"


@pytest.mark.parametrize(("severity", "likelihood", "level", "treat"), [
    (1, 1, "low", False), (2, 2, "low", False), (1, 5, "medium", False), (3, 3, "medium", False),
    (2, 5, "high", True), (4, 4, "high", True), (3, 5, "high", True), (4, 5, "critical", True),
    (5, 5, "critical", True),
])  # fmt: skip
def test_the_decision_table_gives_each_score_its_level(severity: int, likelihood: int, level: str, treat: bool) -> None:
    model = load_dmn((BPMN / "risk-priority.dmn").read_bytes(), "risk-priority.dmn")
    result = model.evaluate("riskPriority", {"severity": severity, "likelihood": likelihood}).value()
    assert result["score"] == severity * likelihood
    assert (result["level"], result["treatmentRequired"]) == (level, treat)
    assert result["priority"] == risks.LEVELS.index(level) + 1


def test_an_assessment_fills_the_register_with_scored_prioritised_and_treated_risks(
    session: Session, demo: UnitPeople, clock: Clock, users: dict[str, User]
) -> None:
    instance = assess(session, demo, clock)
    found = by_code(session)
    assert sorted(found) == ["RR-2027-001", "RR-2027-002", "RR-2027-003", "RR-2027-004"]
    high, low = found["RR-2027-001"], found["RR-2027-002"]
    assert (high.score, high.level, high.priority, high.treatment_required) == (16, "high", 2, True)
    assert (high.treatment, high.owner, high.due_date.isoformat()) == ("reduce", "Phạm Văn Hùng", "2027-06-30")
    assert (high.action_status, high.status, high.department.code) == ("not_started", "open", "vp")
    assert (low.score, low.level, low.treatment, low.action_status, low.owner) == (2, "low", "accept", "none", "")
    assert found["RR-2027-003"].department.code == "qlkh"
    assert [(v.round, v.level, v.reviewer_id) for v in high.reviews] == [(0, "high", users["thuky"].id)]
    assessment = session.scalars(select(RiskAssessment)).one()
    assert (assessment.instance_id, assessment.status, assessment.monitoring_interval) == (instance.id,
                                                                                           "monitoring", "P3M")
    assert assessment.starts_on.isoformat() == "2027-01-05" and assessment.methods == ["interview", "data"]
    told = session.scalars(select(User.username).join(Notice, Notice.user_id == User.id)
                           .where(Notice.kind == "risks_registered")).all()  # fmt: skip
    assert sorted(told) == ["giamdoc", "phogiamdoc", "truongphong", "truongphong2"]  # not qlcn: it has no risk
    assert review_due(session, instance.id).due_at == clock.now + relativedelta(months=3)


def test_only_the_heads_of_the_chosen_departments_identify_and_each_only_their_own(
    session: Session, demo: UnitPeople, clock: Clock, users: dict[str, User]
) -> None:
    engine = Engine(session)
    instance = engine.start("risk_management", actor=demo.secretary, unit_id=demo.unit.id, now=clock.now)
    [plan] = open_tasks(session, instance.id)
    engine.complete(plan.id, actor=demo.secretary, now=clock.now, post=risk_plan(["vp", "qlkh"]))
    [approve] = open_tasks(session, instance.id)
    with pytest.raises(NotAllowed):  # the secretary does not approve her own plan
        engine.complete(approve.id, actor=demo.secretary, now=clock.now, post=decision("approve"))
    engine.complete(approve.id, actor=demo.leader, now=clock.now, post=decision("approve"))
    tasks = open_tasks(session, instance.id, "identify_risks")
    departments = {engine.task_data(t)["department"]["value"]: t for t in tasks}
    assert sorted(departments) == ["qlkh", "vp"]  # qlcn was not chosen
    assert not any(engine.may_work(t, users["truongphong3"]) for t in tasks)
    assert engine.may_work(departments["vp"], users["truongphong"])
    with pytest.raises(NotAllowed):
        engine.complete(departments["qlkh"].id, actor=users["truongphong"], now=clock.now, post=identified("vp"))
    assert len(open_tasks(session, instance.id, "identify_risks")) == 2


def test_each_risk_keeps_the_department_that_identified_it_whatever_order_the_heads_finish_in(
    session: Session, demo: UnitPeople, clock: Clock
) -> None:
    engine = Engine(session)
    instance = engine.start("risk_management", actor=demo.secretary, unit_id=demo.unit.id, now=clock.now)
    [plan] = open_tasks(session, instance.id)
    engine.complete(plan.id, actor=demo.secretary, now=clock.now, post=risk_plan(["vp", "qlkh", "qlcn"]))
    [approve] = open_tasks(session, instance.id)
    engine.complete(approve.id, actor=demo.leader, now=clock.now, post=decision("approve"))
    tasks = {engine.task_data(t)["department"]["value"]: t for t in open_tasks(session, instance.id)}
    for code in ("qlcn", "vp", "qlkh"):  # not the order of the plan
        engine.complete(tasks[code].id, actor=demo.heads[code], now=clock.now, post=identified(code))
    [assess_task] = open_tasks(session, instance.id)
    listed = engine.task_data(assess_task)["allRisks"]
    assert all(r["description"].endswith(f"({r['department']})") for r in listed) and len(listed) == 6
    engine.complete(assess_task.id, actor=demo.secretary, now=clock.now, post=assessed(listed))
    groups = {}
    for task in open_tasks(session, instance.id, "plan_treatment"):
        group = engine.task_data(task)["group"]
        groups[group["department"]["value"]] = (task, group)
        assert all(r["department"] == group["department"]["value"] for r in group["risks"])
    for code in ("qlkh", "qlcn", "vp"):
        task, group = groups[code]
        engine.complete(task.id, actor=demo.heads[code], now=clock.now, post=treated(group, owner=f"Trưởng {code}"))
    [report] = open_tasks(session, instance.id)
    engine.complete(report.id, actor=demo.secretary, now=clock.now, post=reported())
    for risk in by_code(session).values():
        assert risk.description.endswith(f"({risk.department.code})")
        assert risk.owner in ("", f"Trưởng {risk.department.code}")


def test_the_leader_returns_the_plan_with_a_reason_and_the_secretary_resubmits(
    session: Session, demo: UnitPeople, clock: Clock
) -> None:
    engine = Engine(session)
    instance = engine.start("risk_management", actor=demo.secretary, unit_id=demo.unit.id, now=clock.now)
    for reason in ("Thiếu nguồn lực thực hiện", "Chưa nêu phòng Quản lý Công nghệ"):
        [plan] = open_tasks(session, instance.id, "plan_assessment")
        engine.complete(plan.id, actor=demo.secretary, now=clock.now, post=risk_plan(["vp"]))
        [approve] = open_tasks(session, instance.id, "approve_plan")
        engine.complete(approve.id, actor=demo.leader, now=clock.now, post=decision("return", reason))
        [again] = open_tasks(session, instance.id)
        assert again.element_id == "plan_assessment" and engine.task_data(again)["returnReason"] == reason
    [plan] = open_tasks(session, instance.id)
    engine.complete(plan.id, actor=demo.secretary, now=clock.now, post=risk_plan(["vp", "qlcn"]))
    [approve] = open_tasks(session, instance.id)
    engine.complete(approve.id, actor=demo.leader, now=clock.now, post=decision("approve"))
    assert len(open_tasks(session, instance.id, "identify_risks")) == 2
    assert session.scalar(select(func.count()).select_from(Risk)) == 0  # nothing is registered before the report


def test_monitoring_goes_round_every_quarter_keeping_each_round_until_it_is_stopped(
    session: Session, demo: UnitPeople, clock: Clock
) -> None:
    instance = assess(session, demo, clock)
    sizes = {}
    for quarter in range(1, 13):  # three years of quarterly reviews
        monitoring_round(session, demo, instance.id, close=("RR-2027-004",) if quarter == 2 else ())
        if quarter in (4, 12):
            sizes[quarter] = len(session.get(ProcessInstance, instance.id).state)  # type: ignore[union-attr]
    assert sizes[12] < 1.3 * sizes[4]  # finished rounds are cut: the stored state does not grow with the years
    found = by_code(session)
    assert [v.round for v in found["RR-2027-001"].reviews] == list(range(13))
    assert [v.round for v in found["RR-2027-004"].reviews] == [0, 1, 2]  # closed at round 2, then not reviewed
    assert found["RR-2027-004"].status == "closed" and found["RR-2027-004"].closed_at is not None
    assert found["RR-2027-001"].action_status == "in_progress"
    [task_timer] = [review_due(session, instance.id)]
    assert task_timer.due_at.date() == (clock.now + relativedelta(months=39)).date()
    monitoring_round(session, demo, instance.id, stop=True)
    session.expire_all()
    assert session.get(ProcessInstance, instance.id).status == "completed"  # type: ignore[union-attr]
    assessment = session.scalars(select(RiskAssessment)).one()
    assert (assessment.status, assessment.review_rounds) == ("closed", 13)
    statuses = {code: risk.status for code, risk in by_code(session).items()}
    assert statuses == {"RR-2027-001": "transferred", "RR-2027-002": "transferred", "RR-2027-003": "transferred",
                        "RR-2027-004": "closed"}  # still open when monitoring stopped: for the next assessment
    assert session.scalar(select(func.count()).select_from(RiskReview)) == 4 + 2 * 4 + 11 * 3  # round 0, then open ones


def test_monitoring_ends_by_itself_when_every_risk_is_closed(session: Session, demo: UnitPeople, clock: Clock) -> None:
    instance = assess(session, demo, clock)
    monitoring_round(session, demo, instance.id, close=("RR-2027-001", "RR-2027-002", "RR-2027-003", "RR-2027-004"))
    session.expire_all()
    assert session.get(ProcessInstance, instance.id).status == "completed"  # type: ignore[union-attr]
    assert session.scalars(select(RiskAssessment.status)).one() == "closed"
    assert session.scalars(select(Timer).where(Timer.state == "waiting")).all() == []


def test_an_assessment_that_keeps_no_risk_is_reported_and_ends_without_monitoring(
    session: Session, demo: UnitPeople, clock: Clock
) -> None:
    engine = Engine(session)
    instance = engine.start("risk_management", actor=demo.secretary, unit_id=demo.unit.id, now=clock.now)
    [plan] = open_tasks(session, instance.id)
    engine.complete(plan.id, actor=demo.secretary, now=clock.now, post=risk_plan(["vp"]))
    [approve] = open_tasks(session, instance.id)
    engine.complete(approve.id, actor=demo.leader, now=clock.now, post=decision("approve"))
    [identify] = open_tasks(session, instance.id)
    engine.complete(identify.id, actor=demo.heads["vp"], now=clock.now, post=identified("vp"))
    [assess_task] = open_tasks(session, instance.id)  # the secretary finds both are not risks after all
    engine.complete(assess_task.id, actor=demo.secretary, now=clock.now, post={"_rows:allRisks": ["0"]})
    [report] = open_tasks(session, instance.id)
    assert report.element_id == "report_results"  # no department has a risk to treat
    engine.complete(report.id, actor=demo.secretary, now=clock.now, post=reported())
    session.expire_all()
    assert session.get(ProcessInstance, instance.id).status == "completed"  # type: ignore[union-attr]
    assert session.scalars(select(RiskAssessment.status)).one() == "closed"
    assert session.scalars(select(Timer).where(Timer.state == "waiting")).all() == []


def test_a_risk_that_rises_to_a_level_needing_treatment_is_flagged_and_its_people_told(
    session: Session, demo: UnitPeople, clock: Clock
) -> None:
    instance = assess(session, demo, clock)
    monitoring_round(session, demo, instance.id, raise_=("RR-2027-002",))
    raised = by_code(session)["RR-2027-002"]
    assert (raised.score, raised.level, raised.treatment) == (25, "critical", "accept")
    assert risks.untreated(raised) and not risks.untreated(by_code(session)["RR-2027-001"])
    told = session.scalars(select(User.username).join(Notice, Notice.user_id == User.id)
                           .where(Notice.kind == "risks_need_treatment")).all()  # fmt: skip
    assert sorted(told) == ["thuky", "truongphong"]
    assert "RR-2027-002" in session.scalars(select(Notice.body).where(Notice.kind == "risks_need_treatment")).first()


def _context(session: Session, instance: ProcessInstance, data: dict[str, object], clock: Clock) -> JobContext:
    return JobContext(session, instance, "register_risks", data, None, clock.now)


@pytest.mark.parametrize(("change", "says"), [
    ({"severity": 7}, "from 1 to 5"), ({"severity": "4.5"}, "from 1 to 5"), ({"treatment": "ignore"}, "treatment"),
    ({"treatment": "accept"}, "must be treated"), ({"dueDate": "30/06/2027"}, "not a date"),
    ({"level": None}, "no risk level"),
])  # fmt: skip
def test_the_register_refuses_what_it_cannot_keep_and_writes_nothing(
    session: Session, demo: UnitPeople, clock: Clock, change: dict[str, object], says: str
) -> None:
    instance = Engine(session).start("risk_management", actor=demo.secretary, unit_id=demo.unit.id, now=clock.now)
    risk = {"department": "vp", "description": "Trễ hạn", "severity": 4, "likelihood": 4, "score": 16,
            "level": "high", "priority": 2, "treatmentRequired": True, "treatment": "reduce", "action": "Làm thêm",
            "owner": "Ông Hùng", "dueDate": "2027-06-30"}  # fmt: skip
    good = {"year": 2027, "title": "Đánh giá", "treatedRisks": [risk]}
    with pytest.raises(EngineError, match=says):
        risks.register_risks(_context(session, instance, {**good, "treatedRisks": [{**risk, **change}]}, clock))
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Risk)) == 0
    risks.register_risks(_context(session, instance, good, clock))
    assert session.scalar(select(func.count()).select_from(Risk)) == 1


# --- reading the register: filters and unit walls ----------------------------------------------------------------


@pytest.fixture
def other(session: Session, people: People) -> UnitPeople:
    """The other unit (one department, ``vp``) with its own secretary, leader and head."""
    head = make_user(session, "truongphong_bmt", people.other_unit, ("department_head",), "vp")
    return UnitPeople(people.other_unit, people.outsider_member, people.outsider_leader, {"vp": head})


def test_each_unit_reads_only_its_own_risks_however_it_filters(
    session: Session, demo: UnitPeople, other: UnitPeople, people: People, clock: Clock
) -> None:
    assess(session, demo, clock)
    theirs = run_risk_assessment(session, Engine(session), other, clock.now, ["vp"])
    mine, total = risks.find_risks(session, demo.secretary, RiskFilter())
    assert total == 4 and {r.unit_id for r in mine} == {demo.unit.id}
    their_rows, their_total = risks.find_risks(session, other.secretary, RiskFilter())
    assert their_total == 2 and {r.instance_id for r in their_rows} == {theirs.id}
    assert [r.code for r in their_rows] == ["RR-2027-001", "RR-2027-002"]  # numbered in their own series
    with pytest.raises(NotFound):  # another unit, asked for by its id, does not exist for them
        risks.find_risks(session, demo.secretary, RiskFilter(unit_id=other.unit.id))
    assert risks.find_risks(session, people.nobody, RiskFilter()) == ([], 0)
    with pytest.raises(NotFound):
        risks.risk_for(session, demo.secretary, their_rows[0].id)
    with pytest.raises(NotFound):
        risks.risk_for(session, people.nobody, mine[0].id)
    assert risks.risk_for(session, other.leader, their_rows[0].id).code == "RR-2027-001"
    assert [a.unit_id for a in risks.assessments_of(session, demo.leader)] == [demo.unit.id]


def test_the_filters_each_narrow_the_register(session: Session, demo: UnitPeople, clock: Clock) -> None:
    instance = assess(session, demo, clock)
    monitoring_round(session, demo, instance.id, close=("RR-2027-002",))
    clock.advance(days=400)
    run_risk_assessment(session, Engine(session), demo, clock.now, ["qlcn"], year=2028)
    qlkh = session.scalar(select(Risk.department_id).where(Risk.code == "RR-2027-003"))
    first = session.scalar(select(RiskAssessment.id).where(RiskAssessment.year == 2027))

    def codes(**given: object) -> list[str]:
        found, total = risks.find_risks(session, demo.leader, RiskFilter(**given))  # type: ignore[arg-type]
        assert total == len(found)
        return [r.code for r in found]

    assert codes() == ["RR-2027-001", "RR-2027-003", "RR-2028-001", "RR-2027-002", "RR-2027-004", "RR-2028-002"]
    assert codes(year=2028) == ["RR-2028-001", "RR-2028-002"]
    assert codes(status="closed") == ["RR-2027-002"]
    assert codes(level="low", status="open") == ["RR-2027-004", "RR-2028-002"]
    assert codes(department_id=qlkh) == ["RR-2027-003", "RR-2027-004"]
    assert codes(assessment_id=first, level="high") == ["RR-2027-001", "RR-2027-003"]
    assert codes(unit_id=demo.unit.id, year=2026) == []
    page, total = risks.find_risks(session, demo.leader, RiskFilter(), limit=2, offset=2)
    assert [r.code for r in page] == ["RR-2028-001", "RR-2027-002"] and total == 6


def test_monitoring_waits_three_months_by_calendar_not_working_days(
    session: Session, demo: UnitPeople, clock: Clock
) -> None:
    instance = assess(session, demo, clock)
    timer = review_due(session, instance.id)
    assert sweep_timers(session, timer.due_at - timedelta(minutes=1)).fired == 0
    assert open_tasks(session, instance.id) == []
    assert sweep_timers(session, timer.due_at).fired == 1
    assert [t.element_id for t in open_tasks(session, instance.id)] == ["monitor_risks"]
