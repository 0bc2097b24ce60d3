"""Completing a task: what it refuses before anything changes, the language its form errors are in when
the caller names none, and who a completion that starts a called process is recorded for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import Engine
from engine.data_check import InvalidData
from engine.errors import Conflict, FormInvalid, TaskNotReady
from engine.org.models import CalendarDay, Unit, User
from engine.runtime import advance
from engine.runtime.models import HistoryEvent, ProcessInstance, TaskDraft, TaskRow
from engine.runtime.sweeps import sweep_timers
from tests.conftest import Clock, People
from tests.engine.test_call_activities import children, start_c8
from tests.engine.test_claims import Snapshot, open_task, snapshot, start_objectives
from tests.engine.test_events import MODES, deploy, engine_for, events, open_tasks
from tests.engine.test_runtime import DRAFT

pytestmark = pytest.mark.usefixtures("library")

EMPTY_OBJECTIVE = {**DRAFT, "objectives": [{"objective": ""}]}


def test_form_errors_are_in_vietnamese_unless_the_caller_asks_otherwise(
    session: Session, people: People, clock: Clock
) -> None:
    draft = open_task(session, start_objectives(session, people, clock).id)
    engine = Engine(session)
    with pytest.raises(FormInvalid) as vietnamese:
        engine.complete(draft.id, actor=people.member, now=clock.now, variables=EMPTY_OBJECTIVE)
    assert vietnamese.value.errors["objectives[0].objective"] == "Trường này là bắt buộc."
    with pytest.raises(FormInvalid) as english:
        engine.complete(draft.id, actor=people.member, now=clock.now, variables=EMPTY_OBJECTIVE, locale="en")
    assert english.value.errors["objectives[0].objective"] == "This field is required."


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({1: "một"}, "The key '1' is not text; object keys must be text."),
        ({"so_ban": 2**70}, "'so_ban' is a whole number beyond 64 bits; send it as text or a smaller number."),
    ],
)
def test_variables_that_cannot_be_stored_are_refused_and_nothing_changes(
    session: Session, people: People, clock: Clock, extra: dict[object, object], message: str
) -> None:
    """Checked before the form: a form would pass the fields it knows and drop the rest unseen."""
    draft = open_task(session, start_objectives(session, people, clock).id)
    before = snapshot(session, draft.id)
    with pytest.raises(InvalidData) as refused:
        Engine(session).complete(draft.id, actor=people.member, now=clock.now,
                                 variables={**DRAFT, **extra})  # type: ignore[dict-item]  # fmt: skip
    assert str(refused.value) == message
    assert snapshot(session, draft.id) == before


def _refused_as_overtaken(session: Session, people: People, clock: Clock, draft: TaskRow, before: Snapshot) -> None:
    """The draft's completion is refused as overtaken by someone else's change, word for word, and leaves the
    task, the instance's revision and its history as they were."""
    with pytest.raises(Conflict) as refused:
        Engine(session).complete(draft.id, actor=people.member, now=clock.now, variables=DRAFT)
    assert refused.value.message == ("Someone else changed this process at the same moment; "
                                     "reload the page and try again.")  # fmt: skip
    assert snapshot(session, draft.id) == before


def test_a_process_changed_at_the_same_moment_answers_reload_and_changes_nothing(
    session: Session, people: People, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = open_task(session, start_objectives(session, people, clock).id)
    before = snapshot(session, draft.id)

    def overtaken() -> None:
        raise StaleDataError("UPDATE statement on table 'process_instances' expected to update 1 row(s); "
                             "0 were matched.")  # fmt: skip

    with monkeypatch.context() as patched:
        patched.setattr(session, "commit", overtaken)
        _refused_as_overtaken(session, people, clock, draft, before)


def test_a_step_saved_over_a_row_written_since_it_was_read_answers_reload_and_changes_nothing(
    session: Session, people: People, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The instance's row is written only if its revision is still the one the step read: a write by someone
    else in between (here made in the same transaction, where the row's lock cannot keep it out) refuses the
    completion with the same answer as any other overtaken change, and nothing of it stays."""
    draft = open_task(session, start_objectives(session, people, clock).id)
    before = snapshot(session, draft.id)
    rows = ProcessInstance.__table__
    real_dump = advance.dump_state

    def written_meanwhile(workflow: BpmnWorkflow) -> str:
        session.execute(update(rows).where(rows.c.id == draft.instance_id).values(revision=rows.c.revision + 1))
        return real_dump(workflow)

    monkeypatch.setattr(advance, "dump_state", written_meanwhile)
    _refused_as_overtaken(session, people, clock, draft, before)
    monkeypatch.undo()  # the same completion, nobody in between: saved once, one revision on
    Engine(session).complete(draft.id, actor=people.member, now=clock.now, variables=DRAFT)
    after = snapshot(session, draft.id)
    assert after.revision == before.revision + 1 and after.task[0] == "completed"
    # what the step did is in the history once, in the order it happened (on PostgreSQL written with the row)
    written = after.history[len(before.history):]
    assert [(kind, actor, task) for kind, actor, task in written] == [
        ("task_claimed", people.member.id, draft.id), ("task_completed", people.member.id, draft.id),
        ("task_created", people.member.id, written[2][2]),
    ]
    assert written[2][2] not in (None, draft.id)


@pytest.mark.parametrize("mode", MODES)
def test_the_call_a_completion_starts_is_recorded_for_the_person_who_completed(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    deploy(session, clock, "call_child_c8.bpmn")
    deploy(session, clock, "call_after_task_c8.bpmn")
    engine = engine_for(session, mode)
    parent = engine.start("dossier_checked_c8", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                          variables={"dossier": "HS-043"})  # fmt: skip
    check = open_tasks(session, parent.id)["check"]
    engine.complete(check.id, actor=users["chuyenvien"], now=clock.advance(minutes=5), variables={})
    (child,) = children(session, parent.id)
    (started,) = events(session, parent.id, "call_started")
    assert (started.data["instance"], started.actor_id, started.at) == (child.id, users["chuyenvien"].id, clock.now)
    first = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == child.id)
                            .order_by(HistoryEvent.id)).first()  # fmt: skip
    assert first is not None and first.actor_id == users["chuyenvien"].id


def test_a_task_row_the_process_no_longer_waits_for_is_refused_in_words(
    session: Session, people: People, clock: Clock
) -> None:
    """The read model said open, the workflow has moved on (a row left behind): refused, nothing changes."""
    draft = open_task(session, start_objectives(session, people, clock).id)
    engine = Engine(session)
    engine.complete(draft.id, actor=people.member, now=clock.now, variables=DRAFT)
    session.execute(update(TaskRow).where(TaskRow.id == draft.id).values(state="open", completed_at=None,
                                                                         completed_by_id=None))  # fmt: skip
    session.commit()
    before = snapshot(session, draft.id)
    with pytest.raises(TaskNotReady) as refused:
        engine.complete(draft.id, actor=people.member, now=clock.advance(minutes=1), variables=DRAFT)
    assert (refused.value.message, refused.value.task_id) == ("The process is not waiting for this task any more.",
                                                             draft.id)  # fmt: skip
    assert snapshot(session, draft.id) == before


def test_a_completed_task_says_who_completed_it_and_when(session: Session, people: People, clock: Clock) -> None:
    """A second completion, or a claim, of a finished task: the answer names the person and the local time."""
    draft = open_task(session, start_objectives(session, people, clock).id)
    engine = Engine(session)
    done_at = clock.advance(hours=3)  # 04:30 UTC, 11:30 in Hà Nội: the answer gives the local time
    engine.complete(draft.id, actor=people.member, now=done_at, variables=DRAFT)
    local = done_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%H:%M %d/%m/%Y")
    expected = f"This task was already completed by {people.member.full_name} at {local}; nothing was changed."
    before = snapshot(session, draft.id)
    for attempt in (
        lambda: engine.complete(draft.id, actor=people.member, now=clock.advance(minutes=1), variables=DRAFT),
        lambda: engine.claim(draft.id, actor=people.leader, now=clock.advance(minutes=1)),
    ):
        with pytest.raises(TaskNotReady) as refused:
            attempt()
        assert (str(refused.value), refused.value.task_id) == (expected, draft.id)
    assert snapshot(session, draft.id) == before


@pytest.mark.parametrize("mode", MODES)
def test_a_task_the_process_cancelled_says_the_process_moved_on(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    engine, parent_id = start_c8(session, clock, users, unit, mode)
    (child,) = children(session, parent_id)
    appraise = open_tasks(session, child.id)["appraise"]
    assert sweep_timers(session, clock.now + timedelta(days=5, minutes=1)).fired == 1  # the call timed out
    before = snapshot(session, appraise.id)
    with pytest.raises(TaskNotReady) as refused:
        engine.complete(appraise.id, actor=users["chuyenvien"], now=clock.now, variables={"approved": True})
    assert (str(refused.value), refused.value.task_id) == (
        "This task is no longer active (the process moved on); nothing was changed.", appraise.id)
    assert snapshot(session, appraise.id) == before


def test_completing_an_unclaimed_task_takes_it_first_and_adds_nothing_else_to_the_data(
    session: Session, people: People, clock: Clock
) -> None:
    instance = start_objectives(session, people, clock)
    draft = open_task(session, instance.id)
    assert draft.assignee_id is None  # offered to the ISO secretaries, taken by none
    engine = Engine(session)
    engine.complete(draft.id, actor=people.member, now=clock.advance(minutes=10), variables=DRAFT)
    (claimed,) = events(session, instance.id, "task_claimed")
    assert (claimed.element_id, claimed.element_name, claimed.task_id, claimed.actor_id) == (
        "draft_objectives", "Soạn thảo mục tiêu chất lượng", draft.id, people.member.id)
    review = open_task(session, instance.id)  # its diagram names no variable for who completes it
    engine.complete(review.id, actor=people.leader, now=clock.advance(minutes=20), variables={"decision": "approve"})
    assert set(engine.instance_variables(review.instance)) == {
        "departments", "draftAuthor", "initiator", "objectives", "plan", "title", "unit", "year", "decision",
        "notified"}


# Due Tuesday 1 December 2026 at 17:00 in Hà Nội; completed that day at 07:00, before its working hours start.
DUE_DAY_0700 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("unit_day_off", "timing"), [(False, "early"), (True, "on_time")])
def test_a_completion_on_the_due_day_is_judged_by_the_units_working_hours(
    session: Session, people: People, clock: Clock, unit_day_off: bool, timing: str
) -> None:
    """Early means before the due day's working hours begin (07:30 in the national calendar); a day the unit
    itself has off has no working hours, so there the due day counts from midnight."""
    draft = open_task(session, start_objectives(session, people, clock).id)
    assert draft.due_at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    if unit_day_off:
        session.add(CalendarDay(unit_id=people.unit.id, day=date(2026, 12, 1), kind="off", note="Nghỉ bù"))
        session.commit()
    done = Engine(session).complete(draft.id, actor=people.member, now=DUE_DAY_0700, variables=DRAFT)
    assert done.timing == timing


def test_completing_a_task_removes_its_own_draft_and_no_other(session: Session, people: People, clock: Clock) -> None:
    engine = Engine(session)
    first = open_task(session, start_objectives(session, people, clock, key="MT-2027").id)
    second = open_task(session, start_objectives(session, people, clock, key="MT-2028").id)
    for row in (first, second):
        engine.save_draft(row.id, {"title": f"Nháp {row.id[:4]}"}, actor=people.member, now=clock.now)
    engine.complete(first.id, actor=people.member, now=clock.advance(minutes=5), variables=DRAFT)
    left = session.scalars(select(TaskDraft.task_id)).all()
    assert left == [second.id]
