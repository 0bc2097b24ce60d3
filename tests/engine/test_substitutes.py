"""A substitute while someone is on leave: for the days arranged, the tasks a diagram gives the person by name go
to the substitute (tasks already held stay), both are told, the history says on whose behalf; who may arrange it,
and refusals that change nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Engine
from engine.errors import Conflict, EngineError, NotAllowed, NotFound
from engine.org import substitutes
from engine.org.models import Notice, RoleAssignment, User
from engine.runtime.models import HistoryEvent, TaskRow
from tests.conftest import Clock, People
from tests.engine.test_claims import open_task, start_objectives
from tests.engine.test_runtime import DRAFT

pytestmark = pytest.mark.usefixtures("library")
TODAY = date(2026, 11, 23)  # the clock's day in Hà Nội


def counts(session: Session) -> tuple[int, int]:
    session.expire_all()
    return (session.scalar(select(func.count()).select_from(substitutes.Substitution)) or 0,
            session.scalar(select(func.count()).select_from(Notice)) or 0)  # fmt: skip


def to_record(session: Session, people: People, clock: Clock) -> TaskRow:
    """Draft by ``thuky`` (she becomes its author), approved by the director: the recording task, which the
    diagram gives to the draft's author."""
    eng = Engine(session)
    instance = start_objectives(session, people, clock, f"MT-{clock.now.timestamp()}")
    eng.complete(open_task(session, instance.id).id, actor=people.member, now=clock.now, variables=DRAFT)
    eng.complete(open_task(session, instance.id).id, actor=people.leader, now=clock.now,
                 variables={"decision": "approve"})  # fmt: skip
    return open_task(session, instance.id)


def test_while_on_leave_her_new_tasks_go_to_the_substitute_and_both_are_told(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    held = open_task(session, start_objectives(session, people, clock, "HELD").id)
    Engine(session).claim(held.id, actor=people.member, now=clock.now)
    stand_in = users["chuyenvien"]
    substitutes.arrange(session, actor=people.member, unit_id=people.unit.id, person="thuky",
                        substitute="chuyenvien", starts_on=TODAY, ends_on=TODAY + timedelta(days=4),
                        note="Nghỉ phép năm", now=clock.now)  # fmt: skip
    titles = [n.title for n in session.scalars(select(Notice).where(Notice.user_id == stand_in.id))]
    assert "You stand in for Lê Thị Mai Anh: their new tasks come to you" in titles

    record = to_record(session, people, clock)
    assert record.assignee_id == stand_in.id
    created = session.scalars(select(HistoryEvent).where(HistoryEvent.task_id == record.id,
                                                         HistoryEvent.kind == "task_created")).one()  # fmt: skip
    assert created.data["on_behalf_of"] == {"thuky": "chuyenvien"}
    titles = [n.title for n in session.scalars(select(Notice).where(Notice.user_id == stand_in.id))]
    assert "A task came to you on behalf of Lê Thị Mai Anh: Ghi nhận và phổ biến mục tiêu" in titles
    titles = [n.title for n in session.scalars(select(Notice).where(Notice.user_id == people.member.id))]
    assert "A new task of yours went to your substitute Hoàng Thị Lan: Ghi nhận và phổ biến mục tiêu" in titles
    session.expire_all()
    assert session.get(TaskRow, held.id).assignee_id == people.member.id  # type: ignore[union-attr]

    clock.advance(days=5)  # the leave is over: her tasks are hers again
    assert to_record(session, people, clock).assignee_id == people.member.id


def test_a_cancelled_substitution_gives_her_tasks_back_to_her(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    made = substitutes.arrange(session, actor=users["truongphong"], unit_id=people.unit.id, person="thuky",
                               substitute="chuyenvien", starts_on=TODAY, ends_on=TODAY, now=clock.now)  # fmt: skip
    before = counts(session)
    with pytest.raises(NotAllowed):
        substitutes.cancel(session, made.id, actor=users["chuyenvien2"], now=clock.now)
    with pytest.raises(NotFound):
        substitutes.cancel(session, made.id, actor=people.outsider_member, now=clock.now)
    assert counts(session) == before
    substitutes.cancel(session, made.id, actor=people.member, now=clock.now)
    with pytest.raises(Conflict):
        substitutes.cancel(session, made.id, actor=people.member, now=clock.now)
    assert to_record(session, people, clock).assignee_id == people.member.id


@pytest.mark.parametrize(("who", "error", "message"), [
    ("chuyenvien2", NotAllowed, "^Only the person, the head of their department"),  # a colleague
    ("truongphong2", NotAllowed, "^Only the person, the head of their department"),  # another department's head
    ("thuky_bmt", NotAllowed, "^You may arrange substitutes only in a unit where you hold a role"),
    ("khach", NotAllowed, "^You may arrange substitutes only in a unit where you hold a role"),
])  # fmt: skip
def test_only_she_her_head_or_the_units_leaders_arrange_it(
    session: Session, people: People, users: dict[str, User], clock: Clock, who: str, error: type, message: str
) -> None:
    actor = session.scalar(select(User).where(User.username == who))
    before = counts(session)
    with pytest.raises(error, match=message):
        substitutes.arrange(session, actor=actor, unit_id=people.unit.id, person="thuky",  # type: ignore[arg-type]
                            substitute="chuyenvien", starts_on=TODAY, ends_on=TODAY, now=clock.now)  # fmt: skip
    assert counts(session) == before


def test_bad_ranges_people_and_overlaps_are_refused_with_nothing_changed(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    def arrange(person: str = "thuky", substitute: str = "chuyenvien", start: date = TODAY,
                end: date = TODAY) -> substitutes.Substitution:  # fmt: skip
        return substitutes.arrange(session, actor=people.leader, unit_id=people.unit.id, person=person,
                                   substitute=substitute, starts_on=start, ends_on=end, now=clock.now)  # fmt: skip

    arrange(end=TODAY + timedelta(days=3))
    before = counts(session)
    cases = [
        (Conflict, "^Lê Thị Mai Anh already has a substitute", {"start": TODAY + timedelta(days=3),
                                                                      "end": TODAY + timedelta(days=6)}),
        (EngineError, "^The last day of the leave comes before", {"start": TODAY + timedelta(days=9),
                                                                  "end": TODAY + timedelta(days=8)}),
        (EngineError, "^The leave is already over", {"person": "chuyenvien2", "start": TODAY - timedelta(days=3),
                                                     "end": TODAY - timedelta(days=1)}),
        (EngineError, "^A person cannot be their own substitute", {"person": "chuyenvien2",
                                                                   "substitute": "chuyenvien2"}),
        (EngineError, "^No active member of this unit has the user name 'thuky_bmt'", {"substitute": "thuky_bmt"}),
        (EngineError, "^A substitution lasts at most 366 days", {"person": "chuyenvien2",
                                                                 "end": TODAY + timedelta(days=400)}),
    ]  # fmt: skip
    for error, message, given in cases:
        with pytest.raises(error, match=message):
            arrange(**given)  # type: ignore[arg-type]
    assert counts(session) == before
    assert [s.person.username for s in substitutes.substitutions_for(session, users["chuyenvien"], TODAY)] == ["thuky"]
    assert substitutes.substitutions_for(session, users["chuyenvien2"], TODAY) == []
    assert substitutes.substitutions_for(session, people.outsider_member, TODAY) == []


def test_a_substitution_in_another_unit_leaves_this_units_tasks_alone(
    session: Session, people: People, clock: Clock
) -> None:
    """She also works for the other unit and is on leave there: the demo unit's tasks still come to her."""
    session.add(RoleAssignment(user_id=people.member.id, unit_id=people.other_unit.id, role="specialist"))
    session.commit()
    substitutes.arrange(session, actor=people.member, unit_id=people.other_unit.id, person="thuky",
                        substitute="thuky_bmt", starts_on=TODAY, ends_on=TODAY, now=clock.now)  # fmt: skip
    assert to_record(session, people, clock).assignee_id == people.member.id
    assert substitutes.substitute_on(session, people.other_unit.id, people.member.id, TODAY) is not None
