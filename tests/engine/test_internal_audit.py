"""The internal audit (bpmn/internal-audit.bpmn) through the engine: its programme, plans and rounds, the
audit of each department by its auditor, the findings register, the leader's conclusion and the corrective
action started for each nonconformity; every return loop; the yearly start in every unit; unit walls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Deployer, EngineError, FormInvalid, NotAllowed, NotFound, ProcessInstance, audits
from engine.iso.audits import AuditAssignment, AuditFilter, AuditFinding, AuditProgramme, AuditRound
from engine.iso.corrective_actions import CorrectiveAction
from engine.org.models import RoleAssignment, Unit, User
from engine.runtime.models import HistoryEvent, StartTimer, TaskCandidate
from engine.runtime.sweeps import sweep_timers
from tests.conftest import Clock, library_files, make_unit, make_user
from tests.engine.audit_steps import PROGRAMME, Steps, finding, plan


@pytest.fixture
def people(session: Session, unit: Unit, users: dict[str, User], library: None) -> dict[str, User]:
    """The demo unit's people and a second internal auditor."""
    return {**users, "danhgiavien2": make_user(session, "danhgiavien2", unit, ("internal_auditor",),
                                              full_name="Võ Thị Kiểm")}  # fmt: skip


@pytest.fixture
def steps(session: Session, clock: Clock, people: dict[str, User]) -> Steps:
    return Steps(session, clock, people)


def count(session: Session, table: type) -> int:
    return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_the_processes_and_forms_deploy_without_a_warning(session: Session, unit: Unit, clock: Clock) -> None:
    result = Deployer(session).deploy(library_files(), actor=None, now=clock.now, source="library")

    assert {"internal_audit", "corrective_action"} <= {d.key for d in result.definitions}
    assert result.warnings == []


def test_programme_returned_then_approved_enters_the_register(session: Session, steps: Steps) -> None:
    audit = steps.start_audit()
    draft = steps.one(audit, "draft_programme")
    assert steps.engine.task_data(draft)["year"] == 2027  # planned in November: next year's programme

    steps.do(audit, "draft_programme", "thuky", **PROGRAMME)
    steps.do(audit, "review_programme", "giamdoc", programmeDecision="return",
             programmeReturnReason="Bổ sung phạm vi: Phòng Quản lý Công nghệ")
    again = steps.one(audit, "draft_programme")
    assert steps.engine.task_data(again)["programmeReturnReason"].startswith("Bổ sung phạm vi")
    assert count(session, AuditProgramme) == 0  # nothing enters the register before the approval

    steps.do(audit, "draft_programme", "thuky", **{**PROGRAMME, "scope": "Cả ba phòng"})
    steps.do(audit, "review_programme", "giamdoc", programmeDecision="approve")

    programme = session.scalars(select(AuditProgramme)).one()
    assert (programme.year, programme.scope, programme.status) == (2027, "Cả ba phòng", "approved")
    assert programme.instance_id == audit.id and programme.approved_by_id == steps.people["giamdoc"].id
    assert steps.open(audit)[0].element_id == "draft_plan"


def test_a_returned_plan_is_drafted_again_with_the_auditors_of_that_moment(session: Session, unit: Unit,
                                                                         steps: Steps) -> None:  # fmt: skip
    audit = steps.start_audit()
    steps.approve_programme(audit)
    first = steps.engine.task_data(steps.one(audit, "draft_plan"))["auditors"]
    steps.do(audit, "draft_plan", "thuky", **plan(("vp", "danhgiavien", "2027-05-11")))
    make_user(steps.session, "danhgiavien3", unit, ("internal_auditor",), full_name="Đinh Văn Mới")
    steps.do(audit, "review_plan", "giamdoc", planDecision="return", planReturnReason="Thiếu Phòng Quản lý Khoa học")
    assert count(session, AuditRound) == 0

    again = steps.engine.task_data(steps.one(audit, "draft_plan"))
    assert [a["value"] for a in first] == ["danhgiavien", "danhgiavien2"]
    assert [a["value"] for a in again["auditors"]] == ["danhgiavien3", "danhgiavien", "danhgiavien2"]  # Đinh, Phan, Võ
    assert again["planReturnReason"] == "Thiếu Phòng Quản lý Khoa học"


def test_the_plan_offers_only_the_unit_s_internal_auditors(session: Session, steps: Steps) -> None:
    audit = steps.start_audit()
    steps.approve_programme(audit)
    draft = steps.one(audit, "draft_plan")

    with pytest.raises(FormInvalid) as refused:
        steps.do(audit, "draft_plan", "thuky", **plan(("vp", "chuyenvien", "2027-05-11")))

    assert "auditPlan[0].auditor" in refused.value.errors
    assert steps.one(audit, "draft_plan").id == draft.id


def test_an_auditor_who_lost_the_role_stops_the_approval_and_nothing_changes(
    session: Session, steps: Steps, people: dict[str, User]
) -> None:
    audit = steps.start_audit()
    steps.approve_programme(audit)
    steps.do(audit, "draft_plan", "thuky", **plan(("vp", "danhgiavien2", "2027-05-11")))
    session.execute(RoleAssignment.__table__.delete().where(RoleAssignment.user_id == people["danhgiavien2"].id))
    session.commit()

    with pytest.raises(EngineError, match="danhgiavien2"):
        steps.do(audit, "review_plan", "giamdoc", planDecision="approve")

    session.rollback()
    assert steps.one(audit, "review_plan").state == "open"
    assert count(session, AuditRound) == 0 and count(session, AuditAssignment) == 0


def test_each_department_is_audited_by_its_own_auditor_and_the_findings_are_registered(
    session: Session, steps: Steps, people: dict[str, User]
) -> None:
    audit = steps.start_audit()
    steps.approve_programme(audit)
    steps.approve_plan(audit, plan(("vp", "danhgiavien", "2027-05-11"), ("qlkh", "danhgiavien2", "2027-05-12")))

    tasks = {steps.engine.task_data(t)["audit"]["department"]: t for t in steps.open(audit, "audit_department")}
    assert set(tasks) == {"vp", "qlkh"}
    candidates = session.scalars(select(TaskCandidate).where(TaskCandidate.task_id == tasks["vp"].id)).all()
    assert [c.user_id for c in candidates] == [people["danhgiavien"].id]
    # two working days after the audit day, at the close of business (Hà Nội)
    assert tasks["vp"].due_at == datetime(2027, 5, 13, 10, 0, tzinfo=UTC)
    with pytest.raises(NotAllowed):  # the other auditor may not record this department's audit
        steps.do_task(tasks["vp"], "danhgiavien2", **{"auditSummary": "Không phải việc của tôi", "findings": []})
    session.rollback()

    steps.audit_department(audit, "vp", "danhgiavien", finding("nonconformity", "Hồ sơ lưu trữ thiếu chữ ký duyệt"),
                           finding("improvement", "Nên số hóa sổ theo dõi văn bản đến"))  # fmt: skip
    audit_round = session.scalars(select(AuditRound)).one()
    assert audit_round.status == "planned"  # one department still to audit
    steps.audit_department(audit, "qlkh", "danhgiavien2", finding("observation", "Biểu mẫu cũ vẫn còn được dùng"))

    session.expire_all()
    found = session.scalars(select(AuditFinding).order_by(AuditFinding.id)).all()
    assert [(f.code, f.classification, f.department.code, f.status) for f in found] == [
        ("ĐG2027/1-01", "nonconformity", "vp", "open"),
        ("ĐG2027/1-02", "improvement", "vp", "open"),
        ("ĐG2027/1-03", "observation", "qlkh", "open"),
    ]
    assert found[0].evidence.startswith("Hồ sơ số 12/2027") and found[0].clause == "7.5.3"
    assert session.get(AuditRound, audit_round.id).status == "audited"
    assignment = found[0].assignment
    assert assignment.status == "audited" and assignment.checklist[0]["result"] == "nonconform"
    conclude = steps.one(audit, "conclude_round")
    results = steps.engine.task_data(conclude)["auditResults"]
    assert sorted((r["department"], r["nonconformities"], r["observations"], r["improvements"]) for r in results) == [
        ("Phòng Quản lý Khoa học", 0, 1, 0), ("Văn phòng Sở", 1, 0, 1)]  # fmt: skip


def test_the_conclusion_starts_a_corrective_action_per_nonconformity_and_tells_the_departments(
    session: Session, steps: Steps, people: dict[str, User]
) -> None:
    from engine.org.models import Notice
    from tests.wording import title_vi

    audit = steps.start_audit()
    steps.approve_programme(audit)
    steps.approve_plan(audit, plan(("vp", "danhgiavien", "2027-05-11"), ("qlkh", "danhgiavien2", "2027-05-12")))
    steps.audit_department(audit, "vp", "danhgiavien", finding("nonconformity", "Hồ sơ lưu trữ thiếu chữ ký duyệt"),
                           finding("nonconformity", "Sổ theo dõi văn bản đến ghi thiếu ngày"))  # fmt: skip
    steps.audit_department(audit, "qlkh", "danhgiavien2", finding("observation", "Biểu mẫu cũ vẫn còn được dùng"))

    steps.do(audit, "conclude_round", "giamdoc", conclusionDecision="close",
             conclusion="Hệ thống được duy trì; Văn phòng khắc phục hai sự không phù hợp trong tháng 6")

    actions = [c for c in steps.children(audit) if c.definition.key == "corrective_action"]
    assert len(actions) == 2 and all(a.unit_id == audit.unit_id for a in actions)
    rows = session.scalars(select(CorrectiveAction).order_by(CorrectiveAction.id)).all()
    assert [(r.code, r.source, r.department.code, r.status, r.finding_code) for r in rows] == [
        ("KPH-2027-001", "audit", "vp", "open", "ĐG2027/1-01"), ("KPH-2027-002", "audit", "vp", "open", "ĐG2027/1-02")]
    assert rows[0].reported_by_id == people["danhgiavien"].id
    correction = steps.one(actions[0], "record_correction")
    assert correction.candidate_roles == ["department_head:vp"]
    found = {f.code: f.status for f in session.scalars(select(AuditFinding))}
    assert found == {"ĐG2027/1-01": "corrective_action", "ĐG2027/1-02": "corrective_action", "ĐG2027/1-03": "noted"}
    programme = session.scalars(select(AuditProgramme)).one()
    assert programme.status == "concluded" and programme.rounds[0].decision == "close"
    told = {n.user_id: title_vi(n) for n in session.scalars(select(Notice).where(Notice.kind == "audit_concluded"))}
    assert set(told) == {people["truongphong"].id, people["truongphong2"].id}
    assert "2 sự không phù hợp" in told[people["truongphong"].id]
    assert session.get(ProcessInstance, audit.id).status == "running"  # until the nonconformities are closed


def test_a_further_audit_round_then_closed_nonconformities_complete_the_programme(
    session: Session, steps: Steps
) -> None:
    audit = steps.start_audit()
    steps.approve_programme(audit)
    steps.approve_plan(audit, plan(("vp", "danhgiavien", "2027-05-11")))
    steps.audit_department(audit, "vp", "danhgiavien", finding("nonconformity", "Hồ sơ lưu trữ thiếu chữ ký duyệt"))
    steps.do(audit, "conclude_round", "giamdoc", conclusionDecision="further_audit",
             conclusion="Đánh giá bổ sung Phòng Quản lý Khoa học trong tháng 6")
    assert steps.one(audit, "draft_plan").state == "open"  # the next round is planned while the action runs

    steps.approve_plan(audit, plan(("qlkh", "danhgiavien2", "2027-06-15"), title="Đợt 2 năm 2027"))
    steps.audit_department(audit, "qlkh", "danhgiavien2")
    steps.do(audit, "conclude_round", "giamdoc", conclusionDecision="close",
             conclusion="Kết thúc chương trình năm 2027")

    rounds = session.scalars(select(AuditRound).order_by(AuditRound.number)).all()
    assert [(r.number, r.title, r.status, r.decision) for r in rounds] == [
        (1, "Đợt 1 năm 2027", "concluded", "further_audit"), (2, "Đợt 2 năm 2027", "concluded", "close")]
    assert session.get(ProcessInstance, audit.id).status == "running"
    action = next(c for c in steps.children(audit) if c.definition.key == "corrective_action")
    steps.correct(action, "truongphong", verifier="danhgiavien")

    session.expire_all()
    assert session.get(ProcessInstance, audit.id).status == "completed"
    closed = session.scalars(select(AuditFinding)).one()
    assert (closed.status, closed.closed_at is not None) == ("closed", True)
    kinds = list(session.scalars(select(HistoryEvent.kind).where(HistoryEvent.instance_id == audit.id)))
    assert kinds.count("audit_plan_approved") == 2 and kinds.count("audit_round_concluded") == 2
    assert "audit_finding_closed" in kinds


def test_the_yearly_start_opens_a_programme_in_every_unit(session: Session, clock: Clock, people: dict[str, User],
                                                        unit: Unit) -> None:  # fmt: skip
    other = make_unit(session, "ubnd-phuong-tan-an", "UBND phường Tân An", (("vp", "Văn phòng"),))
    secretary = make_user(session, "thuky_tanan", other, ("iso_secretary",), "vp")
    yearly = (StartTimer.state == "waiting", StartTimer.element_id == "start_yearly")
    timer = session.scalars(select(StartTimer).where(*yearly)).one()
    assert timer.due_at == datetime(2027, 1, 5, 1, 0, tzinfo=UTC)  # 08:00 on 5 January in Hà Nội

    assert sweep_timers(session, timer.due_at - timedelta(minutes=1)).started == 0
    assert sweep_timers(session, timer.due_at + timedelta(minutes=1)).started == 2

    started = session.scalars(select(ProcessInstance).order_by(ProcessInstance.unit_id)).all()
    assert [i.unit_id for i in started] == [unit.id, other.id] and all(i.started_by_id is None for i in started)
    steps = Steps(session, clock, {**people, "thuky_tanan": secretary})
    drafts = [steps.one(i, "draft_programme") for i in started]
    assert [steps.engine.task_data(d)["year"] for d in drafts] == [2027, 2027]
    assert steps.engine.is_candidate(drafts[1], secretary) and not steps.engine.is_candidate(drafts[0], secretary)
    assert not steps.engine.is_candidate(drafts[1], people["thuky"])
    following = session.scalars(select(StartTimer).where(StartTimer.state == "waiting")).all()
    assert [t.due_at for t in following if t.element_id == "start_yearly"] == [datetime(2028, 1, 5, 1, 0, tzinfo=UTC)]


def _audited(steps: Steps) -> ProcessInstance:
    audit = steps.start_audit()
    steps.approve_programme(audit)
    steps.approve_plan(audit, plan(("vp", "danhgiavien", "2027-05-11"), ("qlkh", "danhgiavien2", "2027-05-12")))
    steps.audit_department(audit, "vp", "danhgiavien", finding("nonconformity", "Hồ sơ lưu trữ thiếu chữ ký duyệt"))
    steps.audit_department(audit, "qlkh", "danhgiavien2", finding("observation", "Biểu mẫu cũ vẫn còn được dùng"),
                           finding("improvement", "Nên lập danh mục hồ sơ điện tử"))  # fmt: skip
    return audit


def test_who_reads_the_findings_register(session: Session, steps: Steps, people: dict[str, User]) -> None:
    _audited(steps)
    other = make_unit(session)
    outsider = make_user(session, "thuky_bmt", other, ("iso_secretary", "unit_leader", "internal_auditor"), "vp")

    def codes(who: User, **given: str) -> list[str]:
        filters = AuditFilter.parse(given, statuses=audits.FINDING_STATUSES)
        return [f.code for f in audits.findings(session, who, filters)]

    everything = ["ĐG2027/1-03", "ĐG2027/1-02", "ĐG2027/1-01"]
    for reader in ("thuky", "giamdoc", "danhgiavien", "danhgiavien2"):
        assert codes(people[reader]) == everything, reader
    assert codes(people["truongphong"]) == ["ĐG2027/1-01"]  # a department head: their department only
    assert codes(people["truongphong2"]) == ["ĐG2027/1-03", "ĐG2027/1-02"]
    assert codes(people["truongphong3"]) == []
    # a department head reads the unit's programmes (no department of their own)
    assert [p.year for p in audits.programmes(session, people["truongphong3"], AuditFilter())] == [2027]
    assert not audits.may_read(session, people["chuyenvien"]) and codes(people["chuyenvien"]) == []
    assert codes(outsider) == [] and audits.programmes(session, outsider, AuditFilter()) == []
    with pytest.raises(NotFound):  # another unit's register does not exist for them
        codes(outsider, unit="skhcn-daklak")


def test_the_findings_register_filters(session: Session, steps: Steps, people: dict[str, User]) -> None:
    _audited(steps)
    thuky = people["thuky"]

    def codes(**given: str) -> list[str]:
        filters = AuditFilter.parse(given, statuses=audits.FINDING_STATUSES)
        return [f.code for f in audits.findings(session, thuky, filters)]

    assert codes(classification="nonconformity") == ["ĐG2027/1-01"]
    assert codes(department="qlkh") == ["ĐG2027/1-03", "ĐG2027/1-02"]
    assert codes(department="qlkh", classification="improvement") == ["ĐG2027/1-03"]
    assert codes(year="2027", unit="skhcn-daklak", status="open") == ["ĐG2027/1-03", "ĐG2027/1-02", "ĐG2027/1-01"]
    assert codes(year="2026") == [] and codes(status="closed") == []
    assert codes(department="qlkh", unit="skhcn-daklak") == ["ĐG2027/1-03", "ĐG2027/1-02"]
    # a department head filtering another department gets nothing, not that department's rows
    head = audits.findings(session, people["truongphong"], AuditFilter(department="qlkh"))
    assert head == []


@pytest.mark.parametrize(("given", "named"), [
    ({"classification": "major"}, "major"), ({"status": "done"}, "done"), ({"year": "27"}, "27"),
    ({"year": "năm"}, "năm"),
])  # fmt: skip
def test_a_filter_naming_nothing_is_refused_with_the_value_named(given: dict[str, str], named: str) -> None:
    with pytest.raises(EngineError) as refused:
        AuditFilter.parse(given, statuses=audits.FINDING_STATUSES)
    assert named in str(refused.value.params)


def test_an_unknown_unit_or_department_is_named(session: Session, steps: Steps, people: dict[str, User]) -> None:
    with pytest.raises(NotFound):
        audits.findings(session, people["thuky"], AuditFilter(unit="khong-co"))
    with pytest.raises(EngineError, match="department"):
        audits.findings(session, people["thuky"], AuditFilter(department="khong-co"))


def test_a_second_unit_runs_its_own_audit_and_sees_nothing_of_the_first(session: Session, clock: Clock,
                                                                      people: dict[str, User]) -> None:  # fmt: skip
    _audited(Steps(session, clock, people))
    other = make_unit(session, "ubnd-phuong-tan-an", "UBND phường Tân An", (("vp", "Văn phòng"), ("tp", "Tư pháp")))
    theirs = {
        "thuky_ta": make_user(session, "thuky_ta", other, ("iso_secretary",), "vp"),
        "chutich_ta": make_user(session, "chutich_ta", other, ("unit_leader",)),
        "dgv_ta": make_user(session, "dgv_ta", other, ("internal_auditor",)),
        "truongtp_ta": make_user(session, "truongtp_ta", other, ("department_head",), "tp"),
    }
    steps = Steps(session, clock, theirs)
    audit = steps.start_audit("thuky_ta")
    assert [a["value"] for a in steps.engine.task_data(steps.one(audit, "draft_programme"))["auditors"]] == ["dgv_ta"]
    steps.approve_programme(audit, "thuky_ta", "chutich_ta")
    steps.approve_plan(audit, plan(("tp", "dgv_ta", "2027-05-11")), "thuky_ta", "chutich_ta")
    steps.audit_department(audit, "tp", "dgv_ta", finding("nonconformity", "Sổ hộ tịch ghi sai thông tin"))
    steps.do(audit, "conclude_round", "chutich_ta", conclusionDecision="close", conclusion="Khắc phục trong tháng 6")

    mine = audits.findings(session, theirs["thuky_ta"], AuditFilter())
    assert [(f.code, f.unit_id) for f in mine] == [("ĐG2027/1-01", other.id)]
    assert [p.unit_id for p in audits.programmes(session, theirs["thuky_ta"], AuditFilter())] == [other.id]
    assert other.id not in {f.unit_id for f in audits.findings(session, people["thuky"], AuditFilter())}
    action = session.scalars(select(CorrectiveAction).where(CorrectiveAction.unit_id == other.id)).one()
    assert action.code == "KPH-2027-001"  # each unit numbers its own nonconformities
    correction = steps.one(session.get(ProcessInstance, action.instance_id), "record_correction")
    assert steps.engine.is_candidate(correction, theirs["truongtp_ta"])
    assert not steps.engine.is_candidate(correction, people["truongphong"])


def test_a_job_never_writes_into_another_audit_s_register(session: Session, steps: Steps) -> None:
    """The register's jobs take their rows from their own instance: data naming another audit's department
    audit, round or finding is refused and nothing is written."""
    from engine import JobContext

    first = _audited(steps)
    second = steps.start_audit()
    assignment = session.scalars(select(AuditAssignment)).first()
    audit_round = session.scalars(select(AuditRound)).one()
    found = session.scalars(select(AuditFinding)).first()
    assert assignment is not None and found is not None and first.id != second.id

    def run(handler: object, data: dict[str, object]) -> None:
        context = JobContext(session, second, "step", data, None, steps.clock.now)
        with pytest.raises(EngineError):
            handler(context)  # type: ignore[operator]
        session.rollback()

    run(audits.record_findings, {"audit": {"assignmentId": assignment.id}, "findings": [
        {"classification": "nonconformity", "description": "Ghi vào cuộc đánh giá khác", "evidence": "x"}]})
    run(audits.record_conclusion, {"roundId": audit_round.id, "conclusionDecision": "close", "conclusion": "Khác"})
    run(audits.close_finding, {"nonconformity": {"findingId": found.id}})
    run(audits.record_plan, {"auditPlan": [{"department": "vp", "auditor": "danhgiavien"}]})  # no programme yet

    assert count(session, AuditFinding) == 3 and session.get(AuditRound, audit_round.id).status == "audited"
    assert {f.status for f in session.scalars(select(AuditFinding))} == {"open"}
