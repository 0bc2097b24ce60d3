"""The quality-objectives process end to end through the engine, on SQLite and PostgreSQL,
straight (workflow kept between steps) and with save/reload of the state between every step."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Engine
from engine.errors import Conflict, EngineStateError, FormInvalid, NotAllowed, TaskNotReady
from engine.iso.objectives import current_objectives
from engine.org.models import Notice, Unit, User
from engine.runtime.engine import WorkflowCache
from engine.runtime.models import HistoryEvent, ProcessInstance, TaskRow
from tests.conftest import Clock, deploy_fixture

pytestmark = pytest.mark.usefixtures("library")

DRAFT = {
    "year": 2027,
    "title": "Mục tiêu chất lượng năm 2027",
    "objectives": [
        {"objective": "100% hồ sơ TTHC giải quyết đúng hạn", "target": "Tỷ lệ hồ sơ đúng hạn ≥ 100%",
         "department": "vp", "deadline": "2027-12-31"},
        {"objective": "Số hóa hồ sơ lưu trữ", "target": "≥ 90% hồ sơ được số hóa",
         "department": "qlkh", "deadline": "2027-09-30"},
    ],
    "plan": "Triển khai theo quý.",
}  # fmt: skip


@pytest.fixture(params=["straight", "reload"])
def eng(request: pytest.FixtureRequest, session: Session) -> Engine:
    return Engine(session, cache=WorkflowCache() if request.param == "straight" else None)


def open_task(session: Session, instance_id: int) -> TaskRow:
    rows = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == "open")).all()
    assert len(rows) == 1, [r.element_id for r in rows]
    return rows[0]


def start(eng: Engine, users: dict[str, User], unit: Unit, clock: Clock) -> ProcessInstance:
    return eng.start("quality_objectives", actor=users["thuky"], unit_id=unit.id, now=clock.now, business_key="MT-2027")


def kinds(session: Session, instance_id: int) -> list[str]:
    stmt = select(HistoryEvent.kind).where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.id)
    return list(session.scalars(stmt))


def test_objectives_approved_after_one_return(
    eng: Engine, session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    instance = start(eng, users, unit, clock)
    draft = open_task(session, instance.id)
    assert (draft.element_id, draft.candidate_roles) == ("draft_objectives", ["iso_secretary"])

    eng.complete(draft.id, actor=users["thuky"], now=clock.advance(hours=2), variables=DRAFT)
    review = open_task(session, instance.id)
    assert (review.element_id, review.candidate_roles) == ("review_objectives", ["unit_leader"])

    reason = "Chỉ tiêu số hóa cần đo theo quý."
    eng.complete(review.id, actor=users["giamdoc"], now=clock.advance(hours=1),
                 variables={"decision": "return", "returnReason": reason})  # fmt: skip
    redraft = open_task(session, instance.id)
    assert redraft.element_id == "draft_objectives" and redraft.id != draft.id
    data = eng.task_data(redraft)
    assert data["returnReason"] == reason
    assert data["objectives"] == DRAFT["objectives"]  # the previous content comes back filled in

    changed = {**DRAFT, "objectives": [DRAFT["objectives"][0]]}
    eng.complete(redraft.id, actor=users["thuky"], now=clock.advance(hours=1), variables=changed)
    eng.complete(open_task(session, instance.id).id, actor=users["phogiamdoc"], now=clock.advance(hours=1),
                 variables={"decision": "approve"})  # fmt: skip
    record = open_task(session, instance.id)
    assert record.element_id == "record_objectives"
    eng.complete(record.id, actor=users["thuky"], now=clock.advance(hours=1),
                 variables={"decisionNumber": "12/QĐ-SKHCN", "effectiveDate": "2027-01-02"})  # fmt: skip

    session.expire_all()
    finished = session.get(ProcessInstance, instance.id)
    assert finished is not None and finished.status == "completed"
    objectives = current_objectives(session, unit.id)
    assert objectives is not None and objectives.decision_number == "12/QĐ-SKHCN"
    assert [o.objective for o in objectives.items] == ["100% hồ sơ TTHC giải quyết đúng hạn"]
    assert objectives.items[0].department is not None and objectives.items[0].department.code == "vp"
    notified = set(session.scalars(select(User.username).join(Notice, Notice.user_id == User.id)))
    assert notified == {"thuky", "truongphong", "chuyenvien", "chuyenvien2"}  # the Văn phòng department
    history = kinds(session, instance.id)
    assert history[0] == "instance_started" and history[-1] == "instance_completed"
    assert history.count("task_completed") == 5 and history.count("gateway_taken") == 2
    assert "objectives_published" in history


def test_history_names_who_changed_what(eng: Engine, session: Session, users: dict[str, User], unit: Unit,
                                        clock: Clock) -> None:  # fmt: skip
    instance = start(eng, users, unit, clock)
    eng.complete(open_task(session, instance.id).id, actor=users["thuky"], now=clock.now, variables=DRAFT)
    completed = session.scalars(
        select(HistoryEvent).where(HistoryEvent.instance_id == instance.id, HistoryEvent.kind == "task_completed")
    ).one()
    assert completed.actor_id == users["thuky"].id
    assert completed.element_name == "Soạn thảo mục tiêu chất lượng"
    assert completed.data["changed"]["title"] == {"from": None, "to": DRAFT["title"]}
    eng.complete(open_task(session, instance.id).id, actor=users["giamdoc"], now=clock.now,
                 variables={"decision": "return", "returnReason": "Cần bổ sung kế hoạch."})  # fmt: skip
    gateway = session.scalars(
        select(HistoryEvent).where(HistoryEvent.instance_id == instance.id, HistoryEvent.kind == "gateway_taken")
    ).one()
    assert gateway.data["taken"] == [{"flow": "flow_returned", "name": "Trả lại, yêu cầu chỉnh sửa",
                                      "target": "notify_returned"}]  # fmt: skip


def test_invalid_form_changes_nothing(eng: Engine, session: Session, users: dict[str, User], unit: Unit,
                                      clock: Clock) -> None:  # fmt: skip
    instance = start(eng, users, unit, clock)
    draft = open_task(session, instance.id)
    before = kinds(session, instance.id)
    with pytest.raises(FormInvalid) as caught:
        eng.complete(draft.id, actor=users["thuky"], now=clock.now, variables={**DRAFT, "year": 1990, "title": ""})
    assert set(caught.value.errors) >= {"year", "title"}
    session.expire_all()
    assert open_task(session, instance.id).id == draft.id
    assert kinds(session, instance.id) == before
    assert session.get(ProcessInstance, instance.id).revision == instance.revision  # type: ignore[union-attr]


def test_review_return_needs_a_reason(eng: Engine, session: Session, users: dict[str, User], unit: Unit,
                                      clock: Clock) -> None:  # fmt: skip
    instance = start(eng, users, unit, clock)
    eng.complete(open_task(session, instance.id).id, actor=users["thuky"], now=clock.now, variables=DRAFT)
    review = open_task(session, instance.id)
    with pytest.raises(FormInvalid) as caught:
        eng.complete(review.id, actor=users["giamdoc"], now=clock.now, variables={"decision": "return"})
    assert "returnReason" in caught.value.errors


def test_only_candidates_may_work_a_task(eng: Engine, session: Session, users: dict[str, User], unit: Unit,
                                         clock: Clock) -> None:  # fmt: skip
    instance = start(eng, users, unit, clock)
    draft = open_task(session, instance.id)
    with pytest.raises(NotAllowed):
        eng.complete(draft.id, actor=users["chuyenvien"], now=clock.now, variables=DRAFT)
    with pytest.raises(NotAllowed):
        eng.claim(draft.id, actor=users["giamdoc"], now=clock.now)
    with pytest.raises(NotAllowed):
        eng.start("quality_objectives", actor=users["chuyenvien"], unit_id=unit.id, now=clock.now)


def test_claim_unclaim_and_held_tasks(eng: Engine, session: Session, users: dict[str, User], unit: Unit,
                                      clock: Clock) -> None:  # fmt: skip
    instance = start(eng, users, unit, clock)
    eng.complete(open_task(session, instance.id).id, actor=users["thuky"], now=clock.now, variables=DRAFT)
    review = open_task(session, instance.id)
    eng.claim(review.id, actor=users["giamdoc"], now=clock.now)
    with pytest.raises(Conflict):
        eng.claim(review.id, actor=users["phogiamdoc"], now=clock.now)
    with pytest.raises(NotAllowed):
        eng.complete(review.id, actor=users["phogiamdoc"], now=clock.now, variables={"decision": "approve"})
    eng.unclaim(review.id, actor=users["giamdoc"], now=clock.now)
    eng.complete(review.id, actor=users["phogiamdoc"], now=clock.now, variables={"decision": "approve"})
    assert kinds(session, instance.id).count("task_claimed") == 3  # draft (implicit), review (explicit, implicit)


def test_completing_a_completed_task_is_a_conflict(eng: Engine, session: Session, users: dict[str, User],
                                                   unit: Unit, clock: Clock) -> None:  # fmt: skip
    instance = start(eng, users, unit, clock)
    draft = open_task(session, instance.id)
    eng.complete(draft.id, actor=users["thuky"], now=clock.now, variables=DRAFT)
    with pytest.raises(TaskNotReady, match="already completed by Lê Thị Mai Anh"):
        eng.complete(draft.id, actor=users["thuky"], now=clock.now, variables=DRAFT)


def test_failure_before_commit_leaves_nothing_behind(eng: Engine, session: Session, users: dict[str, User],
                                                     unit: Unit, clock: Clock,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    instance = start(eng, users, unit, clock)
    draft = open_task(session, instance.id)
    revision, events = instance.revision, kinds(session, instance.id)
    real_commit = session.commit

    def crash_after_flush() -> None:
        session.flush()  # everything of the command is written to the transaction ...
        raise RuntimeError("power cut")  # ... and then the commit never happens

    monkeypatch.setattr(session, "commit", crash_after_flush)
    with pytest.raises(RuntimeError):
        eng.complete(draft.id, actor=users["thuky"], now=clock.now, variables=DRAFT)
    monkeypatch.setattr(session, "commit", real_commit)

    session.expire_all()
    assert session.get(ProcessInstance, instance.id).revision == revision  # type: ignore[union-attr]
    assert kinds(session, instance.id) == events
    assert session.get(TaskRow, draft.id).state == "open"  # type: ignore[union-attr]
    assert session.scalar(select(func.count()).select_from(TaskRow)) == 1
    eng.complete(draft.id, actor=users["thuky"], now=clock.now, variables=DRAFT)  # and it still works
    assert open_task(session, instance.id).element_id == "review_objectives"


def test_two_simultaneous_completions_one_wins(session: Session, users: dict[str, User], unit: Unit,
                                               clock: Clock) -> None:  # fmt: skip
    instance = start(Engine(session), users, unit, clock)
    draft_id = open_task(session, instance.id).id
    bind = session.get_bind()
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []

    def worker() -> None:
        with Session(bind) as own:
            actor = own.get(User, users["thuky"].id)
            barrier.wait()
            try:
                Engine(own).complete(draft_id, actor=actor, now=clock.now, variables=DRAFT)  # type: ignore[arg-type]
                outcomes.append("ok")
            except Conflict as exc:
                outcomes.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(map(str, outcomes)).count("ok") == 1, outcomes
    assert len(outcomes) == 2
    session.expire_all()
    events = kinds(session, instance.id)
    assert events.count("task_completed") == 1
    assert open_task(session, instance.id).element_id == "review_objectives"


def test_rework_loop_never_ends_silently(session: Session, users: dict[str, User], unit: Unit, clock: Clock) -> None:
    deploy_fixture(session, clock.now, "rework_loop.bpmn")
    eng = Engine(session, max_depth=40)
    instance = eng.start("rework_loop", actor=users["thuky"], unit_id=unit.id, now=clock.now)
    with pytest.raises(EngineStateError, match="loop too many times"):
        for _ in range(30):
            eng.complete(open_task(session, instance.id).id, actor=users["thuky"], now=clock.now,
                         variables={"again": True})  # fmt: skip
    session.expire_all()
    assert session.get(ProcessInstance, instance.id).status == "running"  # type: ignore[union-attr]
    assert open_task(session, instance.id).element_id == "work"
