"""The register of controlled documents and the shipped document-control process: a proposal is checked against
the register, reviewed, approved or returned, and issued; a revision supersedes the issue in force and the
revision log keeps both; the departments concerned are told; another unit sees none of it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Deployer, Engine, FileStore, Upload
from engine.errors import EngineError, NotAllowed, NotFound
from engine.iso import documents
from engine.iso.documents import ControlledDocument, DocumentIssue, IssueFilter
from engine.org.models import Notice, Unit, User
from engine.runtime.handlers import JobContext
from engine.runtime.models import HistoryEvent, ProcessInstance, StoredFile, TaskRow
from tests.conftest import Clock, People, library_files, make_user
from tests.iso_flows import (
    PDF,
    UnitPeople,
    decision,
    document_draft,
    issued,
    open_tasks,
    review,
    run_document_control,
)


@pytest.fixture
def engine(session: Session, tmp_path: object) -> Engine:
    return Engine(session, files=FileStore(tmp_path / "files"))  # type: ignore[operator]


@pytest.fixture
def demo(session: Session, unit: Unit, users: dict[str, User], clock: Clock) -> UnitPeople:
    Deployer(session).deploy(library_files(), actor=None, now=clock.now, source="library")
    return UnitPeople(unit, users["thuky"], users["giamdoc"],
                      {"vp": users["truongphong"], "qlkh": users["truongphong2"], "qlcn": users["truongphong3"]})


def issues(session: Session) -> list[tuple[str, int, str]]:
    session.expire_all()
    stmt = select(ControlledDocument.code, DocumentIssue.number, DocumentIssue.status).join(DocumentIssue.document)
    return [tuple(r) for r in session.execute(stmt.order_by(ControlledDocument.code, DocumentIssue.number))]


def draft_task(session: Session, engine: Engine, author: User, demo: UnitPeople, clock: Clock) -> tuple[int, str]:
    instance = engine.start("document_control", actor=author, unit_id=demo.unit.id, now=clock.now)
    [task] = open_tasks(session, instance.id)
    return instance.id, task.id


def submit_draft(engine: Engine, task_id: str, author: User, clock: Clock, post: dict[str, list[str]],
                 upload: bool = True) -> None:  # fmt: skip
    files = engine.stash_uploads(task_id, [Upload("documentFiles", "qt.pdf", "application/pdf", PDF)], actor=author,
                                 now=clock.now) if upload else {}  # fmt: skip
    engine.complete(task_id, actor=author, now=clock.now, post=post, files=files)


def test_an_issue_keeps_the_sections_the_file_the_sign_off_and_tells_the_departments(
    session: Session, engine: Engine, demo: UnitPeople, clock: Clock, users: dict[str, User]
) -> None:
    instance = run_document_control(session, engine, demo, clock.now, "QT-05", drafter=users["truongphong"])
    document = session.scalars(select(ControlledDocument)).one()
    issue = document.current
    assert issue is not None and issues(session) == [("QT-05", 1, "current")]
    assert (document.kind, document.department.code, issue.instance_id) == ("procedure", "vp", instance.id)
    assert (issue.decision_number, issue.issued_on.isoformat(), issue.effective_on.isoformat()) == (
        "12/QĐ-SKHCN", "2027-01-05", "2027-01-15")
    assert issue.sections["steps"] == [{"responsible": "Văn phòng", "work": "Tiếp nhận, vào sổ phản ánh",
                                        "timeLimit": "01 ngày", "output": ""}]  # fmt: skip
    assert issue.sections["records"][0]["retention"] == "05 năm" and issue.sections["forms"][0]["formCode"] == "BM-01"
    assert set(issue.sections) == set(documents.SECTIONS)
    assert issue.drafted_by == "Phạm Văn Hùng – Chánh Văn phòng"
    assert (issue.reviewed_by, issue.approved_by) == ("Lê Thị Mai Anh – Thư ký ISO", "Nguyễn Văn Thành – Giám đốc Sở")
    stored = session.get(StoredFile, issue.files[0]["id"])
    assert stored is not None and stored.filename == "QT-05.pdf" and stored.instance_id == instance.id
    assert issue.distribution == [{"code": "vp", "name": "Văn phòng Sở"}]
    told = session.scalars(select(User.username).join(Notice, Notice.user_id == User.id)
                           .where(Notice.kind == "document_issued")).all()  # fmt: skip
    assert sorted(told) == ["chuyenvien", "chuyenvien2", "thuky", "truongphong"]  # the people of the Văn phòng


def test_a_revision_supersedes_the_issue_in_force_and_the_log_keeps_both(
    session: Session, engine: Engine, demo: UnitPeople, clock: Clock
) -> None:
    run_document_control(session, engine, demo, clock.now, "QT-05")
    clock.advance(days=30)
    run_document_control(session, engine, demo, clock.now, "QT-05", change="revise", decision_number="40/QĐ-SKHCN")
    assert issues(session) == [("QT-05", 1, "superseded"), ("QT-05", 2, "current")]
    document = session.scalars(select(ControlledDocument)).one()
    first, second = document.issues
    assert first.superseded_at == clock.now and second.superseded_at is None
    assert (second.change_type, second.changed_sections, second.decision_number) == ("revise", ["steps"],
                                                                                     "40/QĐ-SKHCN")
    assert second.change_summary == "Rút ngắn thời hạn trả lời còn 10 ngày"


@pytest.mark.parametrize(("code", "change", "says"), [
    ("QT-05", "new", "Mã QT-05 đã là tài liệu"), ("QT-99", "revise", "Chưa có tài liệu mã QT-99"),
])  # fmt: skip
def test_a_code_that_does_not_fit_the_register_goes_back_to_the_drafter_with_what_to_correct(
    session: Session, engine: Engine, demo: UnitPeople, clock: Clock, code: str, change: str, says: str
) -> None:
    run_document_control(session, engine, demo, clock.now, "QT-05")
    instance_id, task_id = draft_task(session, engine, demo.secretary, demo, clock)
    submit_draft(engine, task_id, demo.secretary, clock, document_draft(code, change))
    [again] = open_tasks(session, instance_id)
    assert again.element_id == "draft_document" and again.assignee_id == demo.secretary.id
    assert says in engine.task_data(again)["documentProblem"]
    fixed = document_draft("QT-06") if change == "new" else document_draft("QT-05", "revise")
    submit_draft(engine, again.id, demo.secretary, clock, fixed, upload=False)  # the file uploaded first stays
    [review_task] = open_tasks(session, instance_id)
    data = engine.task_data(review_task)
    assert review_task.element_id == "review_document" and data["documentProblem"] is None
    assert data["issueNumber"] == (1 if change == "new" else 2) and data["documentFiles"][0]["name"] == "qt.pdf"


def test_the_review_and_the_approval_each_return_the_draft_and_only_their_people_decide(
    session: Session, engine: Engine, demo: UnitPeople, clock: Clock, users: dict[str, User]
) -> None:
    author = users["chuyenvien"]
    instance_id, task_id = draft_task(session, engine, author, demo, clock)
    with pytest.raises(NotAllowed):  # the draft belongs to who proposed it
        submit_draft(engine, task_id, demo.secretary, clock, document_draft("QT-07"))
    submit_draft(engine, task_id, author, clock, document_draft("QT-07"))
    [check] = open_tasks(session, instance_id)
    with pytest.raises(NotAllowed):
        engine.complete(check.id, actor=author, now=clock.now, post=review("accept"))
    engine.complete(check.id, actor=demo.secretary, now=clock.now, post=review("return", "Thiếu biểu mẫu BM-02"))
    [again] = open_tasks(session, instance_id)
    assert (again.element_id, again.assignee_id) == ("draft_document", author.id)
    assert engine.task_data(again)["reviewReason"] == "Thiếu biểu mẫu BM-02"
    submit_draft(engine, again.id, author, clock, document_draft("QT-07"), upload=False)
    [check] = open_tasks(session, instance_id)
    engine.complete(check.id, actor=demo.secretary, now=clock.now, post=review("accept"))
    [approve] = open_tasks(session, instance_id)
    with pytest.raises(NotAllowed):
        engine.complete(approve.id, actor=demo.secretary, now=clock.now, post=decision("approve"))
    engine.complete(approve.id, actor=demo.leader, now=clock.now, post=decision("return", "Sửa phạm vi áp dụng"))
    [again] = open_tasks(session, instance_id)
    assert again.element_id == "draft_document" and engine.task_data(again)["returnReason"] == "Sửa phạm vi áp dụng"
    assert issues(session) == []  # nothing is issued before the approval and the secretary's issue
    submit_draft(engine, again.id, author, clock, document_draft("QT-07"), upload=False)
    [check] = open_tasks(session, instance_id)
    engine.complete(check.id, actor=demo.secretary, now=clock.now, post=review("accept"))
    [approve] = open_tasks(session, instance_id)
    engine.complete(approve.id, actor=demo.leader, now=clock.now, post=decision("approve"))
    [issue] = open_tasks(session, instance_id)
    engine.complete(issue.id, actor=demo.secretary, now=clock.now, post=issued(distribution=["qlkh", "qlcn"]))
    session.expire_all()
    assert session.get(ProcessInstance, instance_id).status == "completed"  # type: ignore[union-attr]
    assert issues(session) == [("QT-07", 1, "current")]
    issue_row = session.scalars(select(DocumentIssue)).one()
    assert issue_row.drafted_by.startswith("Hoàng Thị Lan")
    assert [d["code"] for d in issue_row.distribution] == ["qlkh", "qlcn"]


@pytest.mark.parametrize(("change", "says"), [
    ({"kind": "poem"}, "kind"), ({"issueDate": ""}, "no date of issue"), ({"issueDate": "5/1/2027"}, "not a date"),
    ({"code": " "}, "no code"),
])  # fmt: skip
def test_the_register_refuses_an_issue_it_cannot_keep_and_writes_nothing(
    session: Session, engine: Engine, demo: UnitPeople, clock: Clock, change: dict[str, str], says: str
) -> None:
    instance = engine.start("document_control", actor=demo.secretary, unit_id=demo.unit.id, now=clock.now)
    good = {"code": "QT-08", "changeType": "new", "kind": "procedure", "title": "Quy trình", "issueDate": "2027-01-05"}
    with pytest.raises(EngineError, match=says):
        documents.issue_document(JobContext(session, instance, "register_issue", {**good, **change}, None, clock.now))
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ControlledDocument)) == 0
    documents.issue_document(JobContext(session, instance, "register_issue", good, None, clock.now))
    assert issues(session) == [("QT-08", 1, "current")]


# --- reading the register: filters and unit walls ----------------------------------------------------------------


@pytest.fixture
def other(session: Session, people: People) -> UnitPeople:
    head = make_user(session, "truongphong_bmt", people.other_unit, ("department_head",), "vp")
    return UnitPeople(people.other_unit, people.outsider_member, people.outsider_leader, {"vp": head})


def test_each_unit_reads_only_its_own_documents_however_it_filters(
    session: Session, engine: Engine, demo: UnitPeople, other: UnitPeople, people: People, clock: Clock
) -> None:
    run_document_control(session, engine, demo, clock.now, "QT-05")
    run_document_control(session, engine, other, clock.now, "QT-05", decision_number="03/QĐ-UBND")
    mine, total = documents.find_issues(session, demo.secretary, IssueFilter())
    theirs, their_total = documents.find_issues(session, other.secretary, IssueFilter())
    assert (total, their_total) == (1, 1)  # the same code in two units: two documents, each its unit's
    assert mine[0].unit_id == demo.unit.id and theirs[0].decision_number == "03/QĐ-UBND"
    with pytest.raises(NotFound):  # another unit, asked for by its id, does not exist for them
        documents.find_issues(session, demo.leader, IssueFilter(unit_id=other.unit.id))
    assert documents.find_issues(session, people.nobody, IssueFilter()) == ([], 0)
    with pytest.raises(NotFound):
        documents.document_for(session, demo.secretary, theirs[0].document_id)
    assert documents.document_for(session, other.leader, theirs[0].document_id).code == "QT-05"


def test_the_filters_each_narrow_the_register(
    session: Session, engine: Engine, demo: UnitPeople, clock: Clock, users: dict[str, User]
) -> None:
    run_document_control(session, engine, demo, clock.now, "QT-05")
    run_document_control(session, engine, demo, clock.now, "QT-05", change="revise")
    instance = engine.start("document_control", actor=demo.secretary, unit_id=demo.unit.id, now=clock.now)
    documents.issue_document(JobContext(session, instance, "register_issue", {
        "code": "HD-01", "changeType": "new", "kind": "instruction", "title": "Hướng dẫn", "ownerDepartment": "qlkh",
        "issueDate": "2028-03-01"}, None, clock.now))  # fmt: skip
    qlkh = session.scalar(select(ControlledDocument.department_id).where(ControlledDocument.code == "HD-01"))

    def rows(**given: object) -> list[tuple[str, int]]:
        found, total = documents.find_issues(session, demo.leader, IssueFilter(**given))  # type: ignore[arg-type]
        assert total == len(found)
        return [(i.document.code, i.number) for i in found]

    assert rows() == [("HD-01", 1), ("QT-05", 2), ("QT-05", 1)]
    assert rows(status="current") == [("HD-01", 1), ("QT-05", 2)]
    assert rows(status="superseded") == [("QT-05", 1)]
    assert rows(year=2028) == [("HD-01", 1)] and rows(year=2027) == [("QT-05", 2), ("QT-05", 1)]
    assert rows(kind="procedure", status="current") == [("QT-05", 2)]
    assert rows(department_id=qlkh) == [("HD-01", 1)]


def test_an_issue_s_files_are_read_by_those_it_is_issued_to(session: Session, engine: Engine, demo: UnitPeople,
                                                            users: dict[str, User], clock: Clock) -> None:  # fmt: skip
    """Issued to the Văn phòng: its people, the unit's leaders, secretaries and auditors read the file; a
    specialist of another department and anyone of another unit do not; issued to every department: all do."""
    run_document_control(session, engine, demo, clock.now, "QT-09")  # distributed to vp, owned by vp
    issue = session.scalars(select(DocumentIssue)).one()
    file_id = issue.files[0]["id"]
    other = make_user(session, "thuky_bmt", _other_unit(session), ("iso_secretary", "unit_leader"), "vp")
    nobody = make_user(session, "cv_khong_phong", demo.unit, ("specialist",), None)

    def reads(who: User) -> bool:
        allowed = documents.receives(session, who, issue)
        try:
            documents.issued_file(session, who, issue.document_id, file_id)
        except NotFound:
            assert not allowed
            return False
        assert allowed
        return True

    assert all(reads(users[u]) for u in ("chuyenvien", "truongphong", "thuky", "giamdoc", "danhgiavien"))
    assert not reads(users["chuyenvien3"]) and not reads(users["truongphong2"]) and not reads(nobody)
    assert not reads(other)
    assert documents.readable_issues(session, users["chuyenvien3"], issue.document) == set()
    issue.distribution = [{"code": d.code, "name": d.name} for d in demo.unit.departments]  # the whole unit
    assert reads(users["chuyenvien3"]) and reads(nobody) and not reads(other)
    with pytest.raises(NotFound):  # a file that is not one of the document's issues'
        documents.issued_file(session, users["thuky"], issue.document_id, "not-a-file")


def _other_unit(session: Session) -> Unit:
    from tests.conftest import make_unit

    return make_unit(session)


def test_the_history_keeps_what_a_step_was_completed_with_and_the_files_it_attached(
    session: Session, engine: Engine, demo: UnitPeople, clock: Clock, users: dict[str, User]
) -> None:
    author = users["truongphong"]
    instance_id, task_id = draft_task(session, engine, author, demo, clock)
    submit_draft(engine, task_id, author, clock, document_draft("QT-07"))
    row = session.get(TaskRow, task_id)
    assert row is not None and row.state == "completed"

    # the instance page lists the attached file with the completion; the task page re-reads its values
    event = session.scalars(select(HistoryEvent).where(HistoryEvent.task_id == task_id,
                                                      HistoryEvent.kind == "task_completed")).one()  # fmt: skip
    assert [f["name"] for f in event.data["files"]] == ["qt.pdf"]
    stored = session.get(StoredFile, event.data["files"][0]["id"])
    assert stored is not None and stored.instance_id == instance_id
    values = engine.submitted_values(row)
    assert (values["code"], values["title"]) == ("QT-07", "Quy trình giải quyết khiếu nại, phản ánh")
    assert engine.completed_data(row)["code"] == "QT-07"
