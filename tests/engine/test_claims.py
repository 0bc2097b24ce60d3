"""Who holds a task: claiming, handing back and completing, refused for the wrong person with nothing changed,
and exactly one winner when two people take the same task at once (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from engine import Engine
from engine.db import NextClaim, claim, claim_row
from engine.errors import Conflict, NotAllowed, TaskNotReady
from engine.org.models import RoleAssignment, User
from engine.runtime.models import HistoryEvent, ProcessInstance, TaskRow
from tests.conftest import Clock, People
from tests.engine.test_runtime import DRAFT

pytestmark = pytest.mark.usefixtures("library")


@dataclass(frozen=True)
class Snapshot:
    """What a refused command must leave as it was: the task row, the instance's revision, its history."""

    task: tuple[Any, ...]
    revision: int
    history: list[tuple[str, int | None, str | None]]


def snapshot(session: Session, task_id: str) -> Snapshot:
    session.expire_all()
    row = session.get(TaskRow, task_id)
    assert row is not None
    instance = session.get(ProcessInstance, row.instance_id)
    assert instance is not None
    events = session.execute(
        select(HistoryEvent.kind, HistoryEvent.actor_id, HistoryEvent.task_id)
        .where(HistoryEvent.instance_id == row.instance_id)
        .order_by(HistoryEvent.id)
    ).all()
    return Snapshot(
        (row.state, row.assignee_id, row.claimed_at, row.completed_at, row.completed_by_id, row.timing),
        instance.revision,
        [tuple(e) for e in events],  # type: ignore[misc]
    )


def start_objectives(session: Session, people: People, clock: Clock, key: str = "MT-2027") -> ProcessInstance:
    return Engine(session).start("quality_objectives", actor=people.member, unit_id=people.unit.id, now=clock.now,
                                 business_key=key)  # fmt: skip


def open_task(session: Session, instance_id: int) -> TaskRow:
    rows = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == "open")).all()
    assert len(rows) == 1
    return rows[0]


def review_task(session: Session, people: People, clock: Clock) -> TaskRow:
    """The leadership's review, offered to every unit leader of the demo unit and held by nobody yet."""
    instance = start_objectives(session, people, clock)
    Engine(session).complete(open_task(session, instance.id).id, actor=people.member, now=clock.now, variables=DRAFT)
    review = open_task(session, instance.id)
    assert review.assignee_id is None
    return review


# --- the claim helper: one conditional UPDATE -----------------------------------------------------------------


@pytest.mark.parametrize("skip_locked", [False, True], ids=["waits", "skips locked rows"])
def test_claim_changes_only_the_named_row_and_only_while_its_conditions_hold(
    session: Session, people: People, clock: Clock, skip_locked: bool
) -> None:
    """Both ways of claiming: waiting for a row another transaction holds, or passing over it (the sweeps)."""
    first = open_task(session, start_objectives(session, people, clock, "A").id)
    second = open_task(session, start_objectives(session, people, clock, "B").id)
    free = (TaskRow.assignee_id.is_(None), TaskRow.state == "open")

    assert claim(session, TaskRow, first.id, *free, skip_locked=skip_locked, assignee_id=people.member.id) is True
    session.commit()
    session.expire_all()
    assert (first.assignee_id, second.assignee_id) == (people.member.id, None)  # the other open row is untouched

    assert claim(session, TaskRow, first.id, *free, skip_locked=skip_locked, assignee_id=people.leader.id) is False
    session.commit()
    session.expire_all()
    assert first.assignee_id == people.member.id  # the condition no longer held: nothing changed
    assert claim(session, TaskRow, "no-such-task", skip_locked=skip_locked, assignee_id=people.leader.id) is False


@pytest.mark.parametrize("returning", [True, False], ids=["update returning", "update then read"])
@pytest.mark.parametrize("skip_locked", [False, True], ids=["waits", "skips locked rows"])
def test_claim_row_hands_back_the_row_as_changed_and_nothing_when_it_is_not_the_callers(
    session: Session, people: People, clock: Clock, skip_locked: bool, returning: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both where the database says what it changed (``UPDATE … RETURNING``) and where it cannot."""
    monkeypatch.setattr(session.get_bind().dialect, "update_returning", returning)
    first = open_task(session, start_objectives(session, people, clock, "A").id)
    second = open_task(session, start_objectives(session, people, clock, "B").id)
    free = (TaskRow.assignee_id.is_(None), TaskRow.state == "open")
    assert first.assignee_id is None  # the session holds the row as it was before the claim

    got = claim_row(session, TaskRow, first.id, *free, skip_locked=skip_locked, assignee_id=people.member.id)
    assert got is first and got.assignee_id == people.member.id  # the session's row, brought up to date
    session.commit()
    session.expire_all()
    assert (first.assignee_id, second.assignee_id) == (people.member.id, None)

    assert claim_row(session, TaskRow, first.id, *free, skip_locked=skip_locked, assignee_id=people.leader.id) is None
    session.commit()
    session.expire_all()
    assert first.assignee_id == people.member.id  # the condition no longer held: nothing changed
    assert claim_row(session, TaskRow, "no-such-task", skip_locked=skip_locked, assignee_id=people.leader.id) is None


@pytest.mark.parametrize("returning", [True, False], ids=["update returning", "update then read"])
def test_claim_row_passes_over_a_row_another_transaction_holds_at_once(
    session: Session, people: People, clock: Clock, returning: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: no row is held while another transaction claims")
    monkeypatch.setattr(session.get_bind().dialect, "update_returning", returning)
    task = open_task(session, start_objectives(session, people, clock, "A").id)
    session.commit()
    with Session(session.get_bind()) as holder, Session(session.get_bind()) as other:
        holder.execute(select(TaskRow.id).where(TaskRow.id == task.id).with_for_update())
        other.execute(text("SET lock_timeout = '3s'"))  # waiting for the row would end in an error
        assert claim_row(other, TaskRow, task.id, TaskRow.state == "open", skip_locked=True,
                         assignee_id=people.member.id) is None  # fmt: skip
        other.rollback()
        # without skip_locked the claim waits for the holder (and here gives up after the lock timeout)
        other.execute(text("SET lock_timeout = '200ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            claim_row(other, TaskRow, task.id, TaskRow.state == "open", assignee_id=people.member.id)
        other.rollback()
        holder.rollback()
    got = claim_row(session, TaskRow, task.id, TaskRow.state == "open", skip_locked=True, assignee_id=people.member.id)
    assert got is not None and got.assignee_id == people.member.id


@pytest.mark.parametrize("returning", [True, False], ids=["update returning", "choose then update"])
def test_next_claim_takes_the_first_row_in_order_that_meets_the_conditions_until_none_is_left(
    session: Session, people: People, clock: Clock, returning: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session.get_bind().dialect, "update_returning", returning)
    tasks = [open_task(session, start_objectives(session, people, clock, key).id) for key in ("A", "B", "C", "D")]
    taken_already = max(tasks, key=lambda t: t.id)
    taken_already.assignee_id = people.leader.id
    session.commit()
    free = (TaskRow.assignee_id.is_(None), TaskRow.state == "open")
    newest_first = (TaskRow.id.desc(),)
    others = sorted((t for t in tasks if t is not taken_already), key=lambda t: t.id, reverse=True)
    assert [t.assignee_id for t in others] == [None] * 3  # the session holds the rows as they were before

    order = []
    claim_newest = NextClaim(TaskRow, *free, order_by=newest_first, assignee_id=people.member.id)
    while (got := claim_newest(session, {})) is not None:
        assert got.assignee_id == people.member.id  # handed back as claimed, the session's row brought up to date
        order.append(got.id)
        session.commit()
    assert order == [t.id for t in others]  # each free row once, in the order asked for; the held one passed over
    session.expire_all()
    assert taken_already.assignee_id == people.leader.id
    assert {t.assignee_id for t in others} == {people.member.id}


@pytest.mark.parametrize("returning", [True, False], ids=["update returning", "choose then update"])
def test_next_claim_chooses_by_the_rows_it_joins(
    session: Session, people: People, clock: Clock, returning: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A condition on a joined table (a timer's instance) picks among the rows it joins, and only them."""
    monkeypatch.setattr(session.get_bind().dialect, "update_returning", returning)
    tasks = {key: open_task(session, start_objectives(session, people, clock, key).id) for key in ("A", "B", "C")}
    session.commit()
    its_instance = (ProcessInstance, ProcessInstance.id == TaskRow.instance_id)
    wanted = (TaskRow.state == "open", TaskRow.assignee_id.is_(None), ProcessInstance.business_key.in_(["A", "B"]))
    got = [NextClaim(TaskRow, *wanted, order_by=(TaskRow.id.desc(),), joined=[its_instance],
                     assignee_id=people.member.id)(session, {}) for _ in range(3)]  # fmt: skip
    assert [t.id if t else None for t in got] == [*sorted([tasks["A"].id, tasks["B"].id], reverse=True), None]
    session.commit()
    session.expire_all()
    assert tasks["C"].assignee_id is None


def test_next_claim_without_returning_goes_on_to_the_next_row_when_the_chosen_one_was_taken_meanwhile(
    session: Session, people: People, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the row is chosen, then claimed, another caller may take it in between: the next one is taken."""
    import engine.db

    if session.get_bind().dialect.name == "postgresql":
        pytest.skip("PostgreSQL locks the row it chooses: nobody takes it in between")

    monkeypatch.setattr(session.get_bind().dialect, "update_returning", False)
    first = open_task(session, start_objectives(session, people, clock, "A").id)
    second = open_task(session, start_objectives(session, people, clock, "B").id)
    session.commit()
    free = (TaskRow.state == "open", TaskRow.assignee_id.is_(None))
    chosen: list[object] = []
    real_claim_row = engine.db.claim_row

    def another_caller_first(s: Session, model: Any, row_id: object, *conditions: Any, **values: Any) -> Any:
        chosen.append(row_id)
        if len(chosen) == 1:  # someone else takes the row this caller chose
            with Session(session.get_bind()) as other:
                assert claim(other, TaskRow, row_id, *free, assignee_id=people.leader.id)
                other.commit()
        return real_claim_row(s, model, row_id, *conditions, **values)

    monkeypatch.setattr(engine.db, "claim_row", another_caller_first)
    got = NextClaim(TaskRow, *free, order_by=(TaskRow.id,), assignee_id=people.member.id)(session, {})
    oldest, newest = sorted([first.id, second.id])
    assert chosen == [oldest, newest] and got is not None and got.id == newest
    assert NextClaim(TaskRow, *free, order_by=(TaskRow.id,), assignee_id=people.member.id)(session, {}) is None
    session.commit()
    session.expire_all()
    holders = {t.id: t.assignee_id for t in (first, second)}
    assert holders == {oldest: people.leader.id, newest: people.member.id}


@pytest.mark.parametrize("returning", [True, False], ids=["update returning", "choose then update"])
def test_next_claim_passes_over_a_row_another_transaction_holds_to_the_next_one(
    session: Session, people: People, clock: Clock, returning: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers sweeping together: each takes the next free row instead of waiting for the other's."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: no row is held while another transaction claims")
    monkeypatch.setattr(session.get_bind().dialect, "update_returning", returning)
    first = open_task(session, start_objectives(session, people, clock, "A").id)
    second = open_task(session, start_objectives(session, people, clock, "B").id)
    session.commit()
    oldest_first, free = (TaskRow.id,), (TaskRow.state == "open", TaskRow.assignee_id.is_(None))
    held, other = sorted([first.id, second.id])
    with Session(session.get_bind()) as holder, Session(session.get_bind()) as worker:
        holder.execute(select(TaskRow.id).where(TaskRow.id == held).with_for_update())
        worker.execute(text("SET lock_timeout = '3s'"))  # waiting for the held row would end in an error
        got = NextClaim(TaskRow, *free, order_by=oldest_first, assignee_id=people.member.id)(worker, {})
        assert got is not None and got.id == other
        # the held row stays the holder's
        assert NextClaim(TaskRow, *free, order_by=oldest_first, assignee_id=people.member.id)(worker, {}) is None
        worker.commit()
        holder.rollback()
    got = NextClaim(TaskRow, *free, order_by=oldest_first, assignee_id=people.leader.id)(session, {})
    assert got is not None and got.id == held  # free again once the holder let it go


# --- refusals leave everything as it was -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["outsider_member", "outsider_leader", "nobody", "member"])
def test_only_a_leader_of_the_tasks_unit_may_take_the_review(
    session: Session, people: People, clock: Clock, who: str
) -> None:
    """The other unit's leader holds the same role, but in another unit: the task is not offered to them."""
    review = review_task(session, people, clock)
    before = snapshot(session, review.id)
    actor = getattr(people, who)
    with pytest.raises(NotAllowed, match=r"^You are not among the people who may take this task\.$"):
        Engine(session).claim(review.id, actor=actor, now=clock.now)
    with pytest.raises(NotAllowed, match=r"^This task is not yours to complete: claim it first, or ask its holder\.$"):
        Engine(session).complete(review.id, actor=actor, now=clock.now, variables={"decision": "approve"})
    assert snapshot(session, review.id) == before


def test_a_held_task_is_refused_to_others_and_handed_back_only_by_its_holder(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    review = review_task(session, people, clock)
    eng = Engine(session)
    held = eng.claim(review.id, actor=people.leader, now=clock.now)
    assert (held.assignee_id, held.claimed_at) == (people.leader.id, clock.now)
    before = snapshot(session, review.id)

    with pytest.raises(Conflict, match=r"^This task is already held by Nguyễn Văn Thành\.$"):
        eng.claim(review.id, actor=users["phogiamdoc"], now=clock.advance(minutes=1))
    with pytest.raises(NotAllowed, match=r"^Only the person holding a task can hand it back\.$"):
        eng.unclaim(review.id, actor=users["phogiamdoc"], now=clock.now)
    with pytest.raises(NotAllowed):
        eng.complete(review.id, actor=users["phogiamdoc"], now=clock.now, variables={"decision": "approve"})
    assert snapshot(session, review.id) == before

    assert eng.claim(review.id, actor=people.leader, now=clock.now).assignee_id == people.leader.id
    assert snapshot(session, review.id) == before  # taking a task one already holds records nothing

    eng.unclaim(review.id, actor=people.leader, now=clock.now)
    after = snapshot(session, review.id)
    assert after.task[1:3] == (None, None)
    assert after.history[-1] == ("task_unclaimed", people.leader.id, review.id)


def test_a_completed_task_can_be_neither_taken_nor_handed_back(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    review = review_task(session, people, clock)
    eng = Engine(session)
    eng.complete(review.id, actor=people.leader, now=clock.now, variables={"decision": "approve"})
    before = snapshot(session, review.id)
    assert before.task[:2] == ("completed", people.leader.id)
    for command in (eng.claim, eng.unclaim):
        with pytest.raises(TaskNotReady, match="already completed by Nguyễn Văn Thành"):
            command(review.id, actor=users["phogiamdoc"], now=clock.now)
    with pytest.raises(TaskNotReady):
        eng.claim(review.id, actor=people.leader, now=clock.now)
    assert snapshot(session, review.id) == before


def test_completing_an_unheld_task_takes_it_for_the_actor(session: Session, people: People, clock: Clock) -> None:
    review = review_task(session, people, clock)
    Engine(session).complete(review.id, actor=people.leader, now=clock.now, variables={"decision": "approve"})
    after = snapshot(session, review.id)
    assert after.task[:5] == ("completed", people.leader.id, clock.now, clock.now, people.leader.id)
    assert [e for e in after.history if e[2] == review.id][-2:] == [
        ("task_claimed", people.leader.id, review.id),
        ("task_completed", people.leader.id, review.id),
    ]


# --- two people at once ------------------------------------------------------------------------------------------


def test_a_claim_on_a_stale_page_loses_to_the_one_already_made(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    """The deputy's request read the task while it was free; the director took it before her UPDATE ran."""
    review = review_task(session, people, clock)
    bind = session.get_bind()
    with Session(bind, expire_on_commit=False) as deputy_session, Session(bind) as director_session:
        deputy = deputy_session.get(User, users["phogiamdoc"].id)
        stale = deputy_session.get(TaskRow, review.id)
        assert stale is not None and stale.assignee_id is None
        deputy_session.commit()  # the read is over; the row stays in the session as it was read
        director = director_session.get(User, people.leader.id)
        assert director is not None and deputy is not None
        Engine(director_session).claim(review.id, actor=director, now=clock.now)

        deputy_session.get(TaskRow, review.id)  # the stale row: assignee still None in this session
        with pytest.raises(Conflict, match=r"^Someone else took this task a moment ago\.$"):
            Engine(deputy_session).claim(review.id, actor=deputy, now=clock.now)
    after = snapshot(session, review.id)
    assert after.task[1] == people.leader.id
    assert [e[:2] for e in after.history].count(("task_claimed", people.leader.id)) == 1
    assert not any(e[0] == "task_claimed" and e[1] == users["phogiamdoc"].id for e in after.history)


def test_two_leaders_claiming_at_once_exactly_one_holds_the_task(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    review = review_task(session, people, clock)
    bind = session.get_bind()
    barrier = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def take(username: str, now: datetime) -> None:
        with Session(bind) as own:
            actor = own.get(User, users[username].id)
            assert actor is not None
            own.get(TaskRow, review.id)  # both read the task while it is free
            barrier.wait()
            try:
                outcomes[username] = Engine(own).claim(review.id, actor=actor, now=now).assignee_id
            except Conflict as exc:
                outcomes[username] = exc

    threads = [threading.Thread(target=take, args=(name, clock.now)) for name in ("giamdoc", "phogiamdoc")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [name for name, result in outcomes.items() if not isinstance(result, Exception)]
    assert len(outcomes) == 2 and len(winners) == 1, outcomes
    winner = users[winners[0]]
    assert outcomes[winners[0]] == winner.id
    after = snapshot(session, review.id)
    assert after.task[1] == winner.id
    assert [e[0] for e in after.history].count("task_claimed") == 2  # the draft (implicit) and the review, once


# --- a database that is busy: a clear conflict, everything as it was ------------------------------------------


@pytest.mark.parametrize(("reason", "answer"), [
    ("database is locked", "The process is being changed by someone else right now; try again in a moment."),
    ("could not serialize access due to concurrent update",
     "The process is being changed by someone else right now; try again in a moment."),
    ("deadlock detected",  # PostgreSQL ended this transaction to free another that waited for it
     "The process is being changed by someone else right now; try again in a moment."),
    ("disk I/O error", None),  # not a conflict: the database's own error goes up as it is
])  # fmt: skip
def test_a_busy_database_answers_try_again_and_changes_nothing(
    session: Session, people: People, clock: Clock, monkeypatch: pytest.MonkeyPatch, reason: str, answer: str | None
) -> None:
    review = review_task(session, people, clock)
    before = snapshot(session, review.id)

    def busy() -> None:
        raise OperationalError("UPDATE tasks SET assignee_id=?", {}, Exception(reason))

    with monkeypatch.context() as patched:
        patched.setattr(session, "commit", busy)
        if answer is None:
            with pytest.raises(OperationalError, match="disk I/O error"):
                Engine(session).claim(review.id, actor=people.leader, now=clock.now)
        else:
            with pytest.raises(Conflict) as refused:
                Engine(session).claim(review.id, actor=people.leader, now=clock.now)
            assert refused.value.message == answer
    assert snapshot(session, review.id) == before


def test_a_holder_who_left_the_unit_can_no_longer_hand_its_task_back(
    session: Session, people: People, clock: Clock
) -> None:
    """Units are walls for the holder too: once their roles there are gone, the unit's leaders reassign it."""
    review = review_task(session, people, clock)
    Engine(session).claim(review.id, actor=people.leader, now=clock.now)
    session.execute(delete(RoleAssignment).where(RoleAssignment.user_id == people.leader.id,
                                                 RoleAssignment.unit_id == people.unit.id))  # fmt: skip
    session.commit()
    before = snapshot(session, review.id)
    with pytest.raises(NotAllowed, match=r"^Only the person holding a task can hand it back\.$"):
        Engine(session).unclaim(review.id, actor=people.leader, now=clock.advance(minutes=1))
    assert snapshot(session, review.id) == before
