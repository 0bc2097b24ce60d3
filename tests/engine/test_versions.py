"""Versions under change control (TCVN ISO 9001:2015, 7.5.3): a changed quality-objectives process uploaded
for the demo unit is a draft until the unit leader approves it in the change-control process; the diff
names exactly what changed; documentation diagrams are kept and published but never run. On SQLite and
PostgreSQL, straight and with save/reload between steps."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Deployer, Engine, SourceFile, queries, versions
from engine.errors import DefinitionNotFound, DeploymentRejected, FormInvalid, NotAllowed
from engine.org.models import Notice, Unit, User
from engine.runtime.engine import WorkflowCache
from engine.runtime.models import FormDefinition, HistoryEvent, ProcessDefinition, ProcessInstance, TaskRow
from tests.conftest import CORPUS, FIXTURES, Clock, make_unit, make_user
from tests.wording import body_vi

pytestmark = pytest.mark.usefixtures("library")

CHANGED = FIXTURES / "versions"
MIWG = CORPUS / "miwg-reference" / "A.1.0.bpmn"
DRAFT = {
    "year": 2027, "title": "Mục tiêu chất lượng năm 2027", "plan": "",
    "objectives": [{"objective": "100% hồ sơ đúng hạn", "target": "≥ 100%", "department": "vp",
                    "deadline": "2027-12-31"}],
}  # fmt: skip
SUMMARY = "Thêm bước kiểm tra thể thức; đổi tên bước xem xét; thêm trường căn cứ."


@pytest.fixture(params=["straight", "reload"])
def eng(request: pytest.FixtureRequest, session: Session) -> Engine:
    return Engine(session, cache=WorkflowCache() if request.param == "straight" else None)


def changed_files() -> list[SourceFile]:
    return [SourceFile(p.name, p.read_bytes()) for p in sorted(CHANGED.iterdir())]


def upload_change(session: Session, actor: User, unit: Unit, now: datetime) -> ProcessDefinition:
    result = Deployer(session).deploy(changed_files(), actor=actor, now=now, unit_id=unit.id, change_summary=SUMMARY)
    assert [d.version for d in result.definitions] == [2]
    return result.definitions[0]


def open_tasks(session: Session, instance_id: int) -> list[TaskRow]:
    stmt = select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == "open")
    return list(session.scalars(stmt.order_by(TaskRow.created_at, TaskRow.id)))


def only_task(session: Session, instance_id: int) -> TaskRow:
    rows = open_tasks(session, instance_id)
    assert len(rows) == 1, [r.element_id for r in rows]
    return rows[0]


def start(eng: Engine, users: dict[str, User], unit: Unit, now: datetime) -> ProcessInstance:
    return eng.start("quality_objectives", actor=users["thuky"], unit_id=unit.id, now=now)


def review_task(session: Session, definition: ProcessDefinition) -> TaskRow:
    review = versions.review_of(session, definition.id)
    assert review is not None
    return only_task(session, review.instance_id)


def kinds(session: Session, instance_id: int) -> list[str]:
    stmt = select(HistoryEvent.kind).where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.id)
    return list(session.scalars(stmt))


def run_to_end(eng: Engine, session: Session, users: dict[str, User], instance: ProcessInstance, now: datetime,
               steps: dict[str, tuple[str, dict[str, Any]]]) -> list[str]:  # fmt: skip
    """Complete whatever is open with ``steps[element] = (who, variables)`` until the instance ends."""
    seen = []
    while rows := open_tasks(session, instance.id):
        who, variables = steps[rows[0].element_id]
        seen.append(rows[0].element_id)
        eng.complete(rows[0].id, actor=users[who], now=now, variables=variables)
    return seen


OLD_STEPS = {
    "draft_objectives": ("thuky", DRAFT),
    "review_objectives": ("giamdoc", {"decision": "approve"}),
    "record_objectives": ("thuky", {"decisionNumber": "12/QĐ-SKHCN", "effectiveDate": "2027-01-02"}),
    "check_format": ("truongphong", {}),
}


def test_a_changed_version_is_a_draft_until_the_leader_approves_it(
    eng: Engine, session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    running = start(eng, users, unit, clock.now)
    draft = upload_change(session, users["admin"], unit, clock.advance(hours=1))
    assert (draft.status, draft.unit_id, draft.change_summary) == ("draft", unit.id, SUMMARY)
    assert eng.active_definition("quality_objectives").version == 1
    assert start(eng, users, unit, clock.now).definition.version == 1  # drafts are never started

    task = review_task(session, draft)
    assert (task.element_id, task.candidate_roles, task.form.form_key if task.form else None) == (
        "review_change", ["unit_leader"], "change-control-review")
    data = eng.task_data(task)
    assert (data["processKey"], data["version"], data["activeVersion"]) == ("quality_objectives", 2, 1)
    assert data["diffUrl"] == "/definitions/quality_objectives/versions/2/diff"
    assert (data["definitionId"], data["processName"], data["documentation"], data["changeSummary"]) == (
        draft.id, "Phê duyệt mục tiêu chất lượng", False, SUMMARY)
    control = session.get(ProcessInstance, task.instance_id)
    assert control is not None  # started in the uploader's name, named after the version it decides
    assert (control.business_key, control.started_by_id, control.unit_id) == (
        "quality_objectives v2", users["admin"].id, unit.id)
    assert {"change": "Thêm bước", "element": "Kiểm tra thể thức văn bản trước khi ban hành", "detail": ""} in (
        data["changes"])

    eng.complete(task.id, actor=users["giamdoc"], now=clock.advance(hours=2), variables={"decision": "approve"})
    session.expire_all()
    statuses = dict(session.execute(select(ProcessDefinition.version, ProcessDefinition.status)
                                    .where(ProcessDefinition.key == "quality_objectives")).all())  # fmt: skip
    assert statuses == {1: "active", 2: "active"}  # the shared line stays for other units; the unit runs its own
    assert eng.active_definition("quality_objectives", unit.id).version == 2
    assert eng.active_definition("quality_objectives").version == 1
    review = versions.review_of(session, draft.id)
    assert review is not None and (review.decision, review.decided_by_id) == ("approved", users["giamdoc"].id)
    history = kinds(session, review.instance_id)
    assert history[0] == "instance_started" and history[-1] == "instance_completed"
    assert {"task_completed", "gateway_taken", "version_activated", "job_completed"} <= set(history)

    newer = start(eng, users, unit, clock.now)
    assert newer.definition.version == 2
    # the running instance finishes on version 1, never meeting the new step
    assert run_to_end(eng, session, users, running, clock.now, OLD_STEPS) == [
        "draft_objectives", "review_objectives", "record_objectives"]
    assert run_to_end(eng, session, users, newer, clock.now, OLD_STEPS) == [
        "draft_objectives", "review_objectives", "check_format", "record_objectives"]


def test_people_concerned_get_a_notice_with_what_changed(
    eng: Engine, session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    at_review = start(eng, users, unit, clock.now)
    eng.complete(only_task(session, at_review.id).id, actor=users["thuky"], now=clock.now, variables=DRAFT)
    draft = upload_change(session, users["admin"], unit, clock.now)
    eng.complete(review_task(session, draft).id, actor=users["phogiamdoc"], now=clock.advance(hours=1),
                 variables={"decision": "approve"})  # fmt: skip

    notices = session.scalars(select(Notice).where(Notice.kind == "version_activated")).all()
    notified = {session.get(User, n.user_id).username for n in notices}  # type: ignore[union-attr]
    # thuky may start it; the leaders are offered the review of the instance still on version 1
    assert notified == {"thuky", "giamdoc", "phogiamdoc"}
    body = body_vi(notices[0])
    assert SUMMARY in body and "Thêm bước: Kiểm tra thể thức văn bản trước khi ban hành" in body
    assert "Thêm trường: Căn cứ xây dựng mục tiêu (legalBasis)" in body
    assert notices[0].link == "/definitions/quality_objectives?version=2"
    assert body.splitlines() == [  # the uploader's summary, then one line per change, its detail in brackets
        SUMMARY,
        "- Thêm bước: Kiểm tra thể thức văn bản trước khi ban hành",
        "- Sửa bước: Lãnh đạo xem xét, phê duyệt mục tiêu chất lượng (tên: Xem xét, phê duyệt mục tiêu → Lãnh đạo "
        "xem xét, phê duyệt mục tiêu chất lượng)",
        "- Sửa luồng: Phê duyệt (đến bước: notify_approved → check_format)",
        "- Thêm trường: Căn cứ xây dựng mục tiêu (legalBasis) (quality-objectives-draft)",
    ]
    review = versions.review_of(session, draft.id)
    assert review is not None and {n.instance_id for n in notices} == {review.instance_id}


def test_a_returned_draft_keeps_the_reason_and_the_uploader_is_told(
    eng: Engine, session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    draft = upload_change(session, users["thuky"], unit, clock.now)  # the ISO secretary submits the change
    task = review_task(session, draft)
    with pytest.raises(FormInvalid) as caught:
        eng.complete(task.id, actor=users["giamdoc"], now=clock.now, variables={"decision": "return"})
    assert "returnReason" in caught.value.errors

    reason = "Bước kiểm tra thể thức cần giao cho Văn phòng."
    eng.complete(task.id, actor=users["giamdoc"], now=clock.advance(hours=1),
                 variables={"decision": "return", "returnReason": reason})  # fmt: skip
    session.expire_all()
    returned = session.get(ProcessDefinition, draft.id)
    assert returned is not None and returned.status == "returned"
    review = versions.review_of(session, draft.id)
    assert review is not None and (review.decision, review.reason) == ("returned", reason)
    assert eng.active_definition("quality_objectives").version == 1
    notice = session.scalars(select(Notice).where(Notice.kind == "version_returned")).one()
    assert (notice.user_id, notice.body) == (users["thuky"].id, reason)
    assert "version_returned" in kinds(session, review.instance_id)


def test_a_unit_may_let_its_administrators_deploy_without_approval(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    unit.allow_direct_deploy = True
    session.commit()
    by_secretary = upload_change(session, users["thuky"], unit, clock.now)
    assert by_secretary.status == "draft"  # only administrators skip the review
    files = [SourceFile("rework_loop.bpmn", (FIXTURES / "rework_loop.bpmn").read_bytes())]
    result = Deployer(session).deploy(files, actor=users["admin"], now=clock.now, unit_id=unit.id)
    assert [(d.key, d.status) for d in result.definitions] == [("rework_loop", "active")]
    assert versions.review_of(session, result.definitions[0].id) is None


def test_the_diff_names_exactly_the_added_task_the_renamed_task_and_the_added_field(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    draft = upload_change(session, users["admin"], unit, clock.now)
    compared = versions.comparison(session, "quality_objectives", draft.version)
    assert compared.old.version == 1
    diff = compared.diff
    assert [(e.element_id, e.changes) for e in diff.added] == [("check_format", ())]
    renamed = ("name", "Xem xét, phê duyệt mục tiêu", "Lãnh đạo xem xét, phê duyệt mục tiêu chất lượng")
    assert [(e.element_id, [(c.attribute, c.old, c.new) for c in e.changes]) for e in diff.changed] == [
        ("review_objectives", [renamed])
    ]
    assert diff.removed == ()
    assert [(f.form_key, [a.key for a in f.added], f.removed, f.changed) for f in diff.forms] == [
        ("quality-objectives-draft", ["legalBasis"], (), ())
    ]
    assert [e.element_id for e in diff.flows_added] == ["flow_checked"]  # the way to and from the new step
    assert [(e.element_id, e.changes[0].new) for e in diff.flows_changed] == [("flow_approved", "check_format")]
    assert diff.new_markers() == {"check_format": "added", "flow_checked": "added", "review_objectives": "changed",
                                  "flow_approved": "changed"}  # fmt: skip
    assert diff.old_markers() == {}


def test_another_unit_deploying_the_same_key_gets_a_line_of_its_own_and_changes_nothing_of_the_first(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    other = make_unit(session, code="stp", name="Sở Tư pháp")
    other_admin = make_user(session, "admin_stp", other, roles=("admin",))
    unit.allow_direct_deploy = other.allow_direct_deploy = True
    session.commit()
    rework = [SourceFile("rework_loop.bpmn", (FIXTURES / "rework_loop.bpmn").read_bytes())]
    Deployer(session).deploy(rework, actor=users["admin"], now=clock.now, unit_id=unit.id)
    engine = Engine(session)
    running = engine.start("rework_loop", actor=users["thuky"], unit_id=unit.id, now=clock.now)
    changed = [SourceFile("rework_loop.bpmn", (FIXTURES / "rework_loop.bpmn").read_bytes().replace(b"Rework", b"Redo"))]
    with pytest.raises(NotAllowed):  # a unit's admin deploys for the unit only
        Deployer(session).deploy(changed, actor=other_admin, now=clock.now, unit_id=unit.id)
    Deployer(session).deploy(changed, actor=other_admin, now=clock.now, unit_id=other.id)

    mine, theirs = engine.active_definition("rework_loop", unit.id), engine.active_definition("rework_loop", other.id)
    assert (mine.unit_id, mine.version, mine.status) == (unit.id, 1, "active")
    assert (theirs.unit_id, theirs.version, theirs.status) == (other.id, 2, "active")
    assert engine.may_start(users["thuky"], mine, unit.id) and not engine.may_start(users["thuky"], theirs, unit.id)
    session.refresh(running)
    assert running.definition_id == mine.id and running.status == "running"


def test_change_control_is_never_started_by_hand(eng: Engine, session: Session, users: dict[str, User]) -> None:
    control = eng.active_definition(versions.CHANGE_CONTROL_KEY)
    assert control.started_by_system
    assert versions.CHANGE_CONTROL_KEY not in {d.key for d, _ in queries.startable(session, users["giamdoc"])}


# --- documentation diagrams --------------------------------------------------------------------------


@pytest.mark.skipif(not MIWG.exists(), reason="no shared corpus")
def test_a_reference_diagram_is_kept_as_documentation_with_the_reasons_it_cannot_run(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    file = SourceFile(MIWG.name, MIWG.read_bytes())
    with pytest.raises(DeploymentRejected, match="No executable process"):
        Deployer(session).deploy([file], actor=users["admin"], now=clock.now)
    result = Deployer(session).deploy([file], actor=users["admin"], now=clock.now, as_documentation=True)
    documented = result.definitions[0]
    assert (documented.key, documented.name, documented.executable, documented.status) == (
        "WFP-6-", "A.1.0", False, "active")
    assert documented.spec_json == "" and documented.bpmn_file.content == MIWG.read_bytes()
    assert [p["message"] for p in documented.problems][0].startswith("No executable process")
    assert {"Task 1", "Task 2"} <= {n["name"] for n in documented.elements["nodes"].values()}
    with pytest.raises(DefinitionNotFound):
        Engine(session).active_definition("WFP-6-")  # never run
    again = Deployer(session).deploy([file], actor=users["admin"], now=clock.now, as_documentation=True)
    assert again.definitions == [] and [d.id for d in again.unchanged] == [documented.id]


def test_documentation_cannot_replace_an_executable_process(
    session: Session, users: dict[str, User], clock: Clock
) -> None:
    quality = SourceFile("quality-objectives.bpmn", (CHANGED / "quality-objectives.bpmn").read_bytes())
    with pytest.raises(DeploymentRejected, match="already deployed as an executable process"):
        Deployer(session).deploy([quality], actor=users["admin"], now=clock.now, as_documentation=True)
    form = SourceFile("x.form", Path(CHANGED / "quality-objectives-draft.form").read_bytes())
    with pytest.raises(DeploymentRejected, match="there is none among these files"):
        Deployer(session).deploy([form], actor=users["admin"], now=clock.now, as_documentation=True)


def test_a_folder_kept_as_documentation_keeps_its_forms_as_files_and_never_puts_them_into_use(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    before = Engine(session).start("quality_objectives", actor=users["thuky"], unit_id=unit.id, now=clock.now)
    live_form = only_task(session, before.id).form_id
    forms_before = session.scalar(select(func.count()).select_from(FormDefinition))
    changed_form = (CHANGED / "quality-objectives-draft.form").read_bytes()  # the live form's id, other fields
    folder = [SourceFile(MIWG.name, MIWG.read_bytes()) if MIWG.exists() else
              SourceFile("rework_loop.bpmn", (FIXTURES / "rework_loop.bpmn").read_bytes()),
              SourceFile("quality-objectives-draft.form", changed_form),
              SourceFile("broken.form", b"{ not json")]  # fmt: skip
    result = Deployer(session).deploy(folder, actor=users["admin"], now=clock.now, as_documentation=True)
    assert [d.executable for d in result.definitions] == [False]
    said = {(p.file, p.severity) for p in result.warnings}
    assert {("quality-objectives-draft.form", "warning"), ("broken.form", "warning")} <= said
    assert any("not put into use" in p.message for p in result.warnings if p.file == "broken.form")
    assert {f.filename for f in result.deployment.files} >= {"quality-objectives-draft.form", "broken.form"}
    assert session.scalar(select(func.count()).select_from(FormDefinition)) == forms_before  # nothing in use
    instance = Engine(session).start("quality_objectives", actor=users["thuky"], unit_id=unit.id, now=clock.now)
    assert live_form is not None and only_task(session, instance.id).form_id == live_form


def test_a_units_first_version_of_a_new_process_is_reviewed_too(
    eng: Engine, session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    files = [SourceFile("rework_loop.bpmn", (FIXTURES / "rework_loop.bpmn").read_bytes())]
    first = Deployer(session).deploy(files, actor=users["thuky"], now=clock.now, unit_id=unit.id).definitions[0]
    assert first.status == "draft"
    with pytest.raises(DefinitionNotFound):
        eng.active_definition("rework_loop")
    task = review_task(session, first)
    data = eng.task_data(task)
    assert (data["activeVersion"], data["changes"]) == (None, [])
    eng.complete(task.id, actor=users["giamdoc"], now=clock.now, variables={"decision": "approve"})
    assert eng.active_definition("rework_loop").unit_id == unit.id
