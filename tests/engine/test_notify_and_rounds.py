"""The engine's general pieces under the quality processes, on SQLite and PostgreSQL: notices from a diagram
(``eiso.notify``), the completer's name for return loops (``completedByVariable``), decisions that start
empty on a later round, and what a completed task keeps of the data its form read."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Deployer, Engine, FormInvalid, HistoryEvent, ProcessInstance, SourceFile, TaskRow
from engine.org.models import Notice, Unit, User
from engine.runtime import rounds
from tests.conftest import Clock, People
from tests.engine.test_runtime import DRAFT
from tests.webapp.permission_world import process
from tests.wording import body_vi, title_vi

pytestmark = pytest.mark.usefixtures("library")


def _notify_process(to: str, to_roles: str = "") -> SourceFile:
    headers = f'<zeebe:header key="to" value="{to}" /><zeebe:header key="title" value="Hồ sơ {{{{ma}}}} đã xong" />'
    if to_roles:
        headers += f'<zeebe:header key="toRoles" value="{to_roles}" />'
    task = (f'<bpmn:sendTask id="s1" name="Báo tin"><bpmn:extensionElements><zeebe:taskDefinition type="eiso.notify" />'
            f'<zeebe:taskHeaders>{headers}</zeebe:taskHeaders></bpmn:extensionElements></bpmn:sendTask>')  # fmt: skip
    return process("bao_tin", "Báo tin", task)


def _titles(session: Session, user: User) -> list[str]:
    return list(session.scalars(select(Notice.title).where(Notice.user_id == user.id)))


def test_a_diagram_notifies_named_people_and_roles_of_its_unit(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    Deployer(session).deploy([_notify_process("=nguoiNhan", "unit_leader")], actor=None, now=clock.now)
    instance = Engine(session).start("bao_tin", actor=users["admin"], unit_id=people.unit.id, now=clock.now,
                                     variables={"nguoiNhan": "chuyenvien", "ma": "HS-01"})  # fmt: skip
    assert instance.status == "completed"
    for name in ("chuyenvien", "giamdoc", "phogiamdoc"):
        assert _titles(session, users[name]) == ["Hồ sơ HS-01 đã xong"], name
    assert _titles(session, users["thuky"]) == []
    kinds = list(session.scalars(select(HistoryEvent.kind).where(HistoryEvent.instance_id == instance.id)))
    assert "notice_sent" in kinds and "incident" not in kinds


def test_a_notice_to_nobody_in_the_unit_is_reported(session: Session, people: People, users: dict[str, User],
                                                     clock: Clock) -> None:  # fmt: skip
    Deployer(session).deploy([_notify_process("=nguoiNhan")], actor=None, now=clock.now)
    engine = Engine(session)
    # a person of another unit is nobody here: the notice reaches no one, and that is said
    instance = engine.start("bao_tin", actor=users["admin"], unit_id=people.unit.id, now=clock.now,
                            variables={"nguoiNhan": people.outsider_member.username, "ma": "HS-02"})  # fmt: skip
    assert _titles(session, people.outsider_member) == []
    incident = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance.id,
                                                          HistoryEvent.kind == "incident")).one()  # fmt: skip
    assert incident.data["not_found"] == [people.outsider_member.username]
    told = session.scalars(select(Notice).where(Notice.user_id == users["admin"].id)).all()
    assert [title_vi(n) for n in told] == ["Thông báo không đến được người nhận: Hồ sơ HS-02 đã xong"]
    assert body_vi(told[0]).endswith(": " + people.outsider_member.username)


def test_the_returned_draft_goes_back_to_its_author(session: Session, people: People, users: dict[str, User],
                                                    clock: Clock) -> None:  # fmt: skip
    engine = Engine(session)
    instance = engine.start("quality_objectives", actor=users["thuky"], unit_id=people.unit.id, now=clock.now)

    def open_task() -> TaskRow:
        session.expire_all()
        return session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id,
                                                     TaskRow.state == "open")).one()  # fmt: skip

    draft = open_task()
    assert draft.assignee_id is None  # the first round is for every ISO secretary
    engine.complete(draft.id, actor=users["thuky"], now=clock.now, variables=DRAFT)
    review = open_task()
    assert engine.task_data(review)["draftAuthor"] == "thuky"
    engine.complete(review.id, actor=users["giamdoc"], now=clock.now,
                    variables={"decision": "return", "returnReason": "Bổ sung kế hoạch."})  # fmt: skip
    redraft = open_task()
    assert redraft.element_id == "draft_objectives" and redraft.assignee_id == users["thuky"].id
    assert engine.task_data(redraft)["title"] == DRAFT["title"]  # the draft itself is kept to edit
    engine.complete(redraft.id, actor=users["thuky"], now=clock.now, variables=DRAFT)

    second = open_task()
    data = engine.task_data(second)
    assert "decision" not in data and "returnReason" not in data  # the first review's decision is not offered
    with pytest.raises(FormInvalid) as refused:
        engine.complete(second.id, actor=users["giamdoc"], now=clock.now, variables={})
    assert "decision" in refused.value.errors
    assert open_task().id == second.id  # nothing moved
    engine.complete(second.id, actor=users["giamdoc"], now=clock.now, variables={"decision": "approve"})
    completed = session.scalars(select(HistoryEvent).where(HistoryEvent.task_id == second.id,
                                                           HistoryEvent.kind == "task_completed")).one()  # fmt: skip
    assert completed.data["changed"]["decision"]["to"] == "approve"
    assert completed.data["seen"]["title"] == DRAFT["title"] and completed.data["seen"]["year"] == DRAFT["year"]
    assert engine.completed_data(second)["objectives"] == DRAFT["objectives"]


def test_decision_keys_are_what_a_flow_reads_and_what_depends_on_it(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    engine = Engine(session)
    instance = engine.start("quality_objectives", actor=users["thuky"], unit_id=people.unit.id, now=clock.now)
    draft = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id)).one()
    engine.complete(draft.id, actor=users["thuky"], now=clock.now, variables=DRAFT)
    review = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id,
                                                   TaskRow.state == "open")).one()  # fmt: skip
    elements = session.get(ProcessInstance, instance.id).definition.elements
    assert rounds.decision_keys(engine.task_form(review), elements) == {"decision", "returnReason"}
    assert rounds.decision_keys(engine.task_form(draft), elements) == set()  # the draft has no decision
    assert rounds.earlier_keys(session, review) == set()  # first round: nothing is left out
    assert session.get(Unit, people.unit.id) is not None
