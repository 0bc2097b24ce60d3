"""The inbox filters at their edges: a task due at exactly the first or the last moment asked for, a
priority at exactly the mark of "high" or "low", the process filter and the search with tasks of two
processes, and search words holding the characters a LIKE pattern treats specially (``%``, ``_``, ``\\``),
which are searched for as they are."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from engine import queries
from engine.org.models import RoleAssignment
from engine.runtime.models import ProcessDefinition, ProcessInstance, TaskCandidate, TaskRow
from engine.runtime.priority import HIGH, LOW
from engine.runtime.queries import TaskFilter
from tests.conftest import Clock, People, make_user
from tests.engine.test_list_paging import start_many

pytestmark = pytest.mark.usefixtures("library")


def found(session: Session, people: People, **given: Any) -> set[str]:
    """What the member finds among the tasks they may claim, and the count the inbox shows for it."""
    filters = TaskFilter(**given)
    lines = queries.task_page(session, people.member, "claimable", filters=filters).lines
    if not given.get("text"):  # a search is not counted
        assert queries.task_count(session, people.member, "claimable", filters=filters) == len(lines)
    return {line.id for line in lines}


def shape(session: Session, task_id: str, **values: Any) -> None:
    session.execute(update(TaskRow).where(TaskRow.id == task_id).values(**values))


def test_a_task_due_at_the_first_moment_asked_for_is_in_and_one_due_at_the_end_is_out(
    session: Session, people: People, clock: Clock
) -> None:
    tasks = start_many(session, people, clock, 4)
    start, end = clock.now + timedelta(days=1), clock.now + timedelta(days=2)
    for task_id, due in zip(tasks, [start - timedelta(seconds=1), start, end - timedelta(seconds=1), end],
                            strict=True):  # fmt: skip
        shape(session, task_id, due_at=due)
    session.commit()
    assert found(session, people, due_from=start, due_before=end) == {tasks[1], tasks[2]}
    assert found(session, people, due_before=start) == {tasks[0]}  # late by "due before now": now itself is not late
    assert found(session, people, due_from=end) == {tasks[3]}


def test_a_priority_at_exactly_the_mark_counts_as_high_or_low_and_not_as_normal(
    session: Session, people: People, clock: Clock
) -> None:
    tasks = start_many(session, people, clock, 6)
    for task_id, priority in zip(tasks, [HIGH + 1, HIGH, HIGH - 1, LOW + 1, LOW, LOW - 1], strict=True):
        shape(session, task_id, priority=priority)
    session.commit()
    assert found(session, people, priority="high") == {tasks[0], tasks[1]}
    assert found(session, people, priority="normal") == {tasks[2], tasks[3]}
    assert found(session, people, priority="low") == {tasks[4], tasks[5]}


def _second_process(session: Session, task_id: str) -> str:
    """Put the task's instance under another process of the library; its key."""
    instance_id = session.scalar(select(TaskRow.instance_id).where(TaskRow.id == task_id))
    others = select(ProcessDefinition).where(ProcessDefinition.key != "quality_objectives",
                                             ProcessDefinition.executable.is_(True))  # fmt: skip
    other = session.scalars(others).first()
    assert other is not None
    session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id).values(definition_id=other.id))
    return other.key


def test_the_process_filter_and_the_search_by_process_name_keep_to_each_tasks_own_process(
    session: Session, people: People, clock: Clock
) -> None:
    ours = start_many(session, people, clock, 3)
    other_key = _second_process(session, ours[2])
    for task_id in ours:
        shape(session, task_id, name="Xử lý")  # no task name holds the process names searched below
    session.commit()
    objectives = session.scalars(select(ProcessDefinition.name).where(ProcessDefinition.key == "quality_objectives"))
    other_name = session.scalar(select(ProcessDefinition.name).where(ProcessDefinition.key == other_key))
    assert found(session, people, process="quality_objectives") == {ours[0], ours[1]}
    assert found(session, people, process=other_key) == {ours[2]}
    assert found(session, people, text=next(iter(objectives)).lower()) == {ours[0], ours[1]}
    assert found(session, people, text=str(other_name).lower()) == {ours[2]}


@pytest.mark.parametrize(("names", "text"), [
    (["Đạt 100% kế hoạch", "Giảm 1000 ngày chờ"], "100%"),
    (["Mã hồ sơ so_1", "Mã hồ sơ sox1"], "so_1"),
    (["Thư mục A\\B", "Thư mục AB"], "a\\b"),
])  # fmt: skip
def test_the_characters_a_like_pattern_treats_specially_are_searched_for_as_written(
    session: Session, people: People, clock: Clock, names: list[str], text: str
) -> None:
    tasks = start_many(session, people, clock, 2)
    for task_id, name in zip(tasks, names, strict=True):
        shape(session, task_id, name=name)
    session.commit()
    assert found(session, people, text=text) == {tasks[0]}


@pytest.mark.parametrize(("names", "text"), [
    (["Đạt 100% kế hoạch", "Giảm 1000 ngày chờ"], "100%"),
    (["Hồ sơ loại_1", "Hồ sơ loạix1"], "loại_1"),
])  # fmt: skip
def test_the_characters_a_like_pattern_treats_specially_are_searched_for_as_written_in_process_names_too(
    session: Session, people: People, clock: Clock, names: list[str], text: str
) -> None:
    tasks = start_many(session, people, clock, 2)
    other_key = _second_process(session, tasks[1])
    for task_id in tasks:
        shape(session, task_id, name="Xử lý")
    for key, name in zip(("quality_objectives", other_key), names, strict=True):
        session.execute(update(ProcessDefinition).where(ProcessDefinition.key == key).values(name=name))
    session.commit()
    assert found(session, people, text=text) == {tasks[0]}


def offer_only_to(session: Session, task_id: str, role: str) -> None:
    session.execute(delete(TaskCandidate).where(TaskCandidate.task_id == task_id))
    session.add(TaskCandidate(task_id=task_id, role=role))


def test_a_role_held_in_one_unit_offers_nothing_of_another_unit_the_person_also_belongs_to(
    session: Session, people: People, clock: Clock
) -> None:
    both = make_user(session, "hai_don_vi", people.unit, ("specialist",))
    session.add(RoleAssignment(user_id=both.id, unit_id=people.other_unit.id, role="unit_leader"))
    (ours,) = start_many(session, people, clock, 1)
    (theirs,) = start_many(session, people, clock, 1, unit_id=people.other_unit.id)
    offer_only_to(session, ours, "specialist")
    offer_only_to(session, theirs, "specialist")  # a specialist of the other unit, which this person is not
    session.commit()
    lines = queries.task_page(session, both, "claimable").lines
    assert [line.id for line in lines] == [ours]
    assert queries.task_count(session, both, "claimable") == 1


def test_a_task_is_claimable_only_when_it_is_offered_to_the_person_or_a_role_they_hold(
    session: Session, people: People, clock: Clock
) -> None:
    specialist = make_user(session, "chuyen_vien_x", people.unit, ("specialist",))
    offered, not_offered = start_many(session, people, clock, 2)
    offer_only_to(session, offered, "specialist")
    offer_only_to(session, not_offered, "unit_leader")
    session.commit()
    assert [line.id for line in queries.task_page(session, specialist, "claimable").lines] == [offered]


def test_the_follow_up_list_holds_the_tasks_whose_follow_up_moment_has_come_that_very_moment_included(
    session: Session, people: People, clock: Clock
) -> None:
    tasks = start_many(session, people, clock, 4)
    moment = clock.now + timedelta(days=2)
    for task_id, follow_up in zip(tasks, [moment - timedelta(seconds=1), moment, moment + timedelta(seconds=1),
                                          None], strict=True):  # fmt: skip
        shape(session, task_id, follow_up_at=follow_up)
    session.commit()
    options = queries.InboxOptions(follow_up_by=moment)
    lines = queries.task_page(session, people.member, "claimable", options).lines
    assert {line.id for line in lines} == {tasks[0], tasks[1]}
