"""Who works a task, changed by people: reassignment by a leader or the head of the department concerned,
delegation that comes back to its owner (Camunda 7), and claiming several tasks at once; every refusal leaves
the task, its history and the notices as they were (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine
from engine.errors import Conflict, EngineError, NotAllowed, TaskNotFound, TaskNotReady
from engine.org import admin
from engine.org.models import Notice, RoleAssignment, User
from engine.runtime import queries
from engine.runtime.models import HistoryEvent, TaskDraft, TaskRow
from tests.conftest import Clock, People
from tests.engine.test_claims import open_task, review_task, snapshot, start_objectives
from tests.engine.test_runtime import DRAFT

pytestmark = pytest.mark.usefixtures("library")


def notices_of(session: Session, user: User) -> list[tuple[str, str]]:
    session.expire_all()
    rows = session.scalars(select(Notice).where(Notice.user_id == user.id).order_by(Notice.id)).all()
    return [(n.kind, n.title) for n in rows]


def all_notices(session: Session) -> list[int]:
    return list(session.scalars(select(Notice.id).order_by(Notice.id)))


def event(session: Session, task_id: str, kind: str) -> HistoryEvent:
    session.expire_all()
    found = session.scalars(select(HistoryEvent).where(HistoryEvent.task_id == task_id, HistoryEvent.kind == kind)
                            .order_by(HistoryEvent.id.desc())).first()  # fmt: skip
    assert found is not None, kind
    return found


def held_draft(session: Session, people: People, clock: Clock) -> TaskRow:
    """The draft of the objectives, held by the ISO secretary ``thuky`` (Văn phòng)."""
    row = open_task(session, start_objectives(session, people, clock).id)
    return Engine(session).claim(row.id, actor=people.member, now=clock.now)


def second_secretary(session: Session, users: dict[str, User], username: str = "chuyenvien") -> User:
    """Make a specialist an ISO secretary too (in her own department), so the draft may go to her."""
    person = users[username]
    session.add(RoleAssignment(user_id=person.id, unit_id=person.unit_id, role="iso_secretary"))
    session.commit()
    return person


# --- reassign -----------------------------------------------------------------------------------------------


def test_a_leader_gives_an_offered_task_to_another_leader_with_the_reason_in_history_and_notices(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    review = review_task(session, people, clock)
    deputy = users["phogiamdoc"]
    Engine(session).claim(review.id, actor=people.leader, now=clock.now)
    row = Engine(session).reassign(review.id, "phogiamdoc", reason="Giám đốc đi công tác", actor=people.leader,
                                   now=clock.advance(minutes=5))  # fmt: skip
    assert (row.assignee_id, row.claimed_at, row.owner_id, row.delegation_state) == (deputy.id, clock.now, None, None)
    done = event(session, review.id, "task_reassigned")
    assert (done.actor_id, done.data) == (people.leader.id, {"from": "giamdoc", "to": "phogiamdoc",
                                                             "reason": "Giám đốc đi công tác"})  # fmt: skip
    assert ("task_reassigned", "A task was given to you: Xem xét, phê duyệt mục tiêu") in notices_of(session, deputy)
    assert queries.my_tasks(session, deputy)[0].id == review.id


def test_the_head_of_the_holders_department_reassigns_within_the_department_only(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    draft = held_draft(session, people, clock)
    colleague = second_secretary(session, users)  # Văn phòng
    outside = second_secretary(session, users, "chuyenvien3")  # Phòng Quản lý Khoa học
    eng = Engine(session)
    before, notices = snapshot(session, draft.id), all_notices(session)
    with pytest.raises(NotAllowed, match="^A department head gives tasks only to the people of their department"):
        eng.reassign(draft.id, outside.username, reason="Cân đối công việc", actor=users["truongphong"],
                     now=clock.now)  # fmt: skip
    with pytest.raises(TaskNotFound):  # another department's head does not see the secretary's work at all
        eng.reassign(draft.id, colleague.username, reason="Cân đối", actor=users["truongphong2"], now=clock.now)
    with pytest.raises(NotAllowed, match="^Only a unit leader, an administrator or the head of the department"):
        eng.reassign(draft.id, colleague.username, reason="Cân đối", actor=colleague, now=clock.now)
    assert snapshot(session, draft.id) == before and all_notices(session) == notices
    assert eng.may_reassign(draft, users["truongphong"]) and not eng.may_reassign(draft, users["truongphong2"])
    assert [u.username for u in eng.reassign_choices(draft, users["truongphong"])] == ["chuyenvien", "thuky"]

    eng.reassign(draft.id, colleague.username, reason="Cân đối công việc", actor=users["truongphong"], now=clock.now)
    assert snapshot(session, draft.id).task[1] == colleague.id
    assert notices_of(session, people.member)[-1] == (
        "task_reassigned", "A task of yours was given to Hoàng Thị Lan: Soạn thảo mục tiêu chất lượng")


@pytest.mark.parametrize("who", ["outsider_member", "outsider_leader", "nobody"])
def test_another_units_people_do_not_find_the_task(session: Session, people: People, clock: Clock,
                                                    who: str) -> None:  # fmt: skip
    draft = held_draft(session, people, clock)
    before, notices = snapshot(session, draft.id), all_notices(session)
    with pytest.raises(TaskNotFound):
        Engine(session).reassign(draft.id, "thuky", reason="x", actor=getattr(people, who), now=clock.now)
    assert snapshot(session, draft.id) == before and all_notices(session) == notices


def test_reassign_refuses_a_person_who_may_not_work_it_an_unknown_name_no_reason_and_a_completed_task(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    review = review_task(session, people, clock)
    eng = Engine(session)
    before, notices = snapshot(session, review.id), all_notices(session)
    with pytest.raises(NotAllowed, match=r"^Hoàng Thị Lan may not work this task"):
        eng.reassign(review.id, "chuyenvien", reason="x", actor=people.leader, now=clock.now)
    with pytest.raises(EngineError, match=r"^No active member of this unit has the user name 'chutich_bmt'\.$"):
        eng.reassign(review.id, "chutich_bmt", reason="x", actor=people.leader, now=clock.now)  # another unit's
    with pytest.raises(EngineError, match=r"^Give a reason for the reassignment"):
        eng.reassign(review.id, "phogiamdoc", reason="   ", actor=people.leader, now=clock.now)
    with pytest.raises(NotAllowed):
        eng.reassign(review.id, "phogiamdoc", reason="x", actor=people.member, now=clock.now)  # started it
    assert snapshot(session, review.id) == before and all_notices(session) == notices

    eng.complete(review.id, actor=people.leader, now=clock.now, variables={"decision": "approve"})
    before = snapshot(session, review.id)
    with pytest.raises(TaskNotReady):
        eng.reassign(review.id, "phogiamdoc", reason="x", actor=people.leader, now=clock.now)
    assert snapshot(session, review.id) == before
    assert not eng.may_reassign(session.get(TaskRow, review.id), people.leader)  # type: ignore[arg-type]


# --- delegate and resolve -----------------------------------------------------------------------------------


def test_a_delegated_task_is_worked_by_the_delegate_resolved_back_and_completed_by_its_owner(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    draft = held_draft(session, people, clock)
    helper = users["chuyenvien"]
    eng = Engine(session)
    row = eng.delegate(draft.id, "chuyenvien", note="Nhờ chị soạn giúp", actor=people.member, now=clock.now)
    assert (row.assignee_id, row.owner_id, row.delegation_state) == (helper.id, people.member.id, "pending")
    assert [t.id for t in queries.my_tasks(session, helper)] == [draft.id]
    assert [t.id for t in queries.delegated_tasks(session, people.member)] == [draft.id]
    assert queries.my_tasks(session, people.member) == []
    assert queries.may_view_instance(session, people.member, row.instance)  # the owner still sees it
    assert notices_of(session, helper)[-1] == ("task_delegated", "A task was delegated to you: Soạn thảo mục tiêu "
                                                                 "chất lượng")  # fmt: skip

    before = snapshot(session, draft.id)
    with pytest.raises(NotAllowed, match=r"^This task was delegated to you by Lê Thị Mai Anh: resolve it to give it "
                                         r"back; Lê Thị Mai Anh completes it\.$"):  # fmt: skip
        eng.complete(draft.id, actor=helper, now=clock.now, variables=DRAFT)
    handed_back = r"^A task delegated to you goes back to its owner by resolving it, not by handing it back\.$"
    with pytest.raises(NotAllowed, match=handed_back):
        eng.unclaim(draft.id, actor=helper, now=clock.now)
    with pytest.raises(NotAllowed, match=r"^Only the person a task was delegated to can resolve it\.$"):
        eng.resolve(draft.id, {}, actor=people.member, now=clock.now)
    with pytest.raises(NotAllowed):
        eng.complete(draft.id, actor=people.member, now=clock.now, variables=DRAFT)
    with pytest.raises(EngineError, match=r"^Lê Thị Mai Anh owns this task: resolve it to give it back\.$"):
        eng.delegate(draft.id, "thuky", actor=helper, now=clock.now)
    assert snapshot(session, draft.id) == before

    eng.save_draft(draft.id, {"year": 2027}, actor=helper, now=clock.now)
    back = eng.resolve(draft.id, {"year": 2027, "title": "Bản nháp của chị Lan"}, note="Xong phần mục tiêu",
                       actor=helper, now=clock.advance(hours=1))  # fmt: skip
    assert (back.assignee_id, back.owner_id, back.delegation_state) == (people.member.id, people.member.id,
                                                                        "resolved")  # fmt: skip
    drafts = session.scalars(select(TaskDraft).where(TaskDraft.task_id == draft.id)).all()
    assert [(d.user_id, d.values) for d in drafts] == [(people.member.id, {"year": 2027,
                                                                          "title": "Bản nháp của chị Lan"})]
    assert notices_of(session, people.member)[-1] == ("task_resolved", "A delegated task came back to you: Soạn "
                                                                       "thảo mục tiêu chất lượng")  # fmt: skip
    with pytest.raises(NotAllowed):
        eng.complete(draft.id, actor=helper, now=clock.now, variables=DRAFT)
    eng.complete(draft.id, actor=people.member, now=clock.now, variables=DRAFT)
    kinds = [(e[0], e[1]) for e in snapshot(session, draft.id).history if e[2] == draft.id]
    assert kinds[-3:] == [("task_delegated", people.member.id), ("task_resolved", helper.id),
                          ("task_completed", people.member.id)]  # fmt: skip
    assert event(session, draft.id, "task_delegated").data == {"owner": "thuky", "delegate": "chuyenvien",
                                                                "note": "Nhờ chị soạn giúp"}  # fmt: skip
    assert event(session, draft.id, "task_resolved").data == {"owner": "thuky", "delegate": "chuyenvien",
                                                               "note": "Xong phần mục tiêu"}  # fmt: skip


def test_only_the_holder_delegates_and_only_to_an_active_colleague_of_the_unit(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    draft = held_draft(session, people, clock)
    eng = Engine(session)
    before, notices = snapshot(session, draft.id), all_notices(session)
    with pytest.raises(NotAllowed, match=r"^Only the person holding a task can delegate it\.$"):
        eng.delegate(draft.id, "chuyenvien", actor=users["truongphong"], now=clock.now)  # her head sees it
    with pytest.raises(TaskNotFound):  # a colleague who is not concerned does not even see it
        eng.delegate(draft.id, "chuyenvien", actor=users["chuyenvien2"], now=clock.now)
    with pytest.raises(NotAllowed):
        eng.delegate(draft.id, "chuyenvien", actor=people.leader, now=clock.now)  # sees it, does not hold it
    with pytest.raises(EngineError, match=r"^No active member of this unit has the user name 'thuky_bmt'"):
        eng.delegate(draft.id, "thuky_bmt", actor=people.member, now=clock.now)
    with pytest.raises(EngineError, match=r"^You already hold this task"):
        eng.delegate(draft.id, "thuky", actor=people.member, now=clock.now)
    with pytest.raises(TaskNotFound):
        eng.delegate(draft.id, "thuky_bmt", actor=people.outsider_member, now=clock.now)
    assert snapshot(session, draft.id) == before and all_notices(session) == notices
    assert "thuky" not in [u.username for u in eng.delegate_choices(draft, people.member)]
    assert eng.delegate_choices(draft, users["chuyenvien"]) == []


def test_reassigning_a_delegated_task_ends_the_delegation(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    draft = held_draft(session, people, clock)
    colleague = second_secretary(session, users)
    eng = Engine(session)
    eng.delegate(draft.id, "chuyenvien2", actor=people.member, now=clock.now)
    row = eng.reassign(draft.id, colleague.username, reason="Chị Mai Anh nghỉ phép", actor=people.leader,
                       now=clock.now)  # fmt: skip
    assert (row.assignee_id, row.owner_id, row.delegation_state) == (colleague.id, None, None)
    assert queries.delegated_tasks(session, people.member) == []
    assert notices_of(session, users["chuyenvien2"])[-1][0] == "task_reassigned"
    assert notices_of(session, people.member)[-1][0] == "task_reassigned"  # the owner is told too


# --- bulk claim ---------------------------------------------------------------------------------------------


def test_bulk_claim_takes_the_free_tasks_and_reports_the_one_taken_meanwhile(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    first, second, taken = (review_task(session, people, clock) for _ in range(3))
    outsiders = open_task(session, Engine(session).start(
        "quality_objectives", actor=people.outsider_member, unit_id=people.other_unit.id, now=clock.now).id)
    eng = Engine(session)
    eng.claim(taken.id, actor=users["phogiamdoc"], now=clock.now)
    before_taken, before_outside = snapshot(session, taken.id), snapshot(session, outsiders.id)
    outcomes = eng.claim_many([first.id, taken.id, outsiders.id, second.id, first.id], actor=people.leader,
                              now=clock.now)  # fmt: skip
    assert [(o.task_id, o.claimed) for o in outcomes] == [(first.id, True), (taken.id, False), (outsiders.id, False),
                                                          (second.id, True)]  # fmt: skip
    assert isinstance(outcomes[1].refusal, Conflict)
    assert str(outcomes[1].refusal) == "This task is already held by Trần Thị Hồng Nhung."
    assert isinstance(outcomes[2].refusal, TaskNotFound)
    assert snapshot(session, taken.id) == before_taken and snapshot(session, outsiders.id) == before_outside
    assert {t.id for t in queries.my_tasks(session, people.leader)} == {first.id, second.id}
    with pytest.raises(EngineError, match=r"^Select at least one task to claim\.$"):
        eng.claim_many([" "], actor=people.leader, now=clock.now)


# --- a leaver in a delegation -------------------------------------------------------------------------------


def test_a_delegate_who_leaves_gives_the_task_back_to_its_owner(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    draft = held_draft(session, people, clock)
    helper = users["chuyenvien"]
    Engine(session).delegate(draft.id, "chuyenvien", actor=people.member, now=clock.now)
    admin.deactivate_person(session, helper.id, actor=users["admin"], now=clock.now)
    session.expire_all()
    row = session.get(TaskRow, draft.id)
    assert row is not None
    assert (row.assignee_id, row.owner_id, row.delegation_state) == (people.member.id, people.member.id, "resolved")
    assert event(session, draft.id, "task_returned").data["delegation"] == "back_to_owner"
    assert notices_of(session, people.member)[-1] == ("task_resolved", "A delegated task came back to you: Soạn "
                                                                       "thảo mục tiêu chất lượng")  # fmt: skip
    Engine(session).complete(draft.id, actor=people.member, now=clock.now, variables=DRAFT)  # she can finish it


def test_an_owner_who_leaves_leaves_the_task_with_the_delegate(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    draft = held_draft(session, people, clock)
    helper = users["chuyenvien"]
    Engine(session).delegate(draft.id, "chuyenvien", actor=people.member, now=clock.now)
    admin.deactivate_person(session, people.member.id, actor=users["admin"], now=clock.now)
    session.expire_all()
    row = session.get(TaskRow, draft.id)
    assert row is not None
    assert (row.assignee_id, row.owner_id, row.delegation_state) == (helper.id, None, None)
    assert notices_of(session, helper)[-1] == ("task_delegated", "A task delegated to you is now yours: Soạn thảo "
                                                                 "mục tiêu chất lượng")  # fmt: skip
    Engine(session).complete(draft.id, actor=helper, now=clock.now, variables=DRAFT)  # no owner to wait for
