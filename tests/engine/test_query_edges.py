"""The edges of the read side: the list of tasks a person delegated and waits for, the running instances the
Camunda list shows, who sees which instance (department heads, people who held, owned or completed a task, people
who left a unit), the library's lines, the instance pages, an instance's steps and the inbox's process filter.
Each test names what a person would see go wrong if the rule behind it changed."""

from __future__ import annotations

import re
from datetime import timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import delete, event, func, insert, inspect, select, text, update
from sqlalchemy.orm import Session

from engine import Engine, queries
from engine.errors import InstanceNotFound
from engine.org.models import Department, RoleAssignment, User
from engine.runtime.models import HistoryEvent, ProcessDefinition, ProcessInstance, TaskRow
from engine.runtime.queries import InboxOptions
from tests.conftest import Clock, People, make_user, statements

pytestmark = pytest.mark.usefixtures("library")

KEY = "quality_objectives"


def start(session: Session, people: People, clock: Clock, name: str, actor: User | None = None,
          unit_id: int | None = None) -> tuple[ProcessInstance, str]:  # fmt: skip
    """A quality-objectives instance and the id of its one open task (the draft)."""
    instance = Engine(session).start(KEY, actor=actor or people.member, unit_id=unit_id or people.unit.id,
                                     now=clock.now, business_key=name)  # fmt: skip
    task_id = session.scalars(select(TaskRow.id).where(TaskRow.instance_id == instance.id)).one()
    return instance, task_id


def tweak(session: Session, task_id: str, **values: Any) -> None:
    session.execute(update(TaskRow).where(TaskRow.id == task_id).values(**values))
    session.commit()


AS_RECEIVED = InboxOptions()


def delegated(session: Session, user: User, options: InboxOptions = AS_RECEIVED) -> list[str]:
    return [line.id for line in queries.delegated_lines(session, user, options)]


# --- the tasks a person delegated ----------------------------------------------------------------------


def test_the_delegated_list_shows_the_open_tasks_the_person_delegated_and_still_waits_for_only(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    engine = Engine(session)
    member, colleague = people.member, users["chuyenvien"]
    tasks = []
    for n in range(4):
        tasks.append(start(session, people, clock, f"MT-{n}")[1])
        clock.advance(minutes=1)
    waiting, back, cancelled, kept = tasks
    for task_id in tasks:
        engine.claim(task_id, actor=member, now=clock.now)
    for task_id in (waiting, back, cancelled):
        engine.delegate(task_id, colleague.username, actor=member, now=clock.now)
    engine.resolve(back, actor=colleague, now=clock.now)  # came back: the owner holds it again
    tweak(session, cancelled, state="cancelled")  # the process moved on while the colleague had it
    # someone else's delegation in this unit, and a row of the other unit naming the member as owner
    _, others = start(session, people, clock, "MT-X")
    tweak(session, others, owner_id=users["chuyenvien2"].id, assignee_id=colleague.id, delegation_state="pending")
    _, theirs = start(session, people, clock, "MT-BMT", actor=people.outsider_member, unit_id=people.other_unit.id)
    tweak(session, theirs, owner_id=member.id, assignee_id=people.outsider_member.id, delegation_state="pending")

    lines = queries.delegated_lines(session, member)
    assert [line.id for line in lines] == [waiting]
    assert [t.id for t in queries.delegated_tasks(session, member)] == [waiting]
    line = lines[0]
    assert (line.owner_username, line.assignee_username, line.delegation_state) == ("thuky", "chuyenvien", "pending")
    assert (line.state, line.process_key, line.business_key) == ("open", KEY, "MT-0")
    assert delegated(session, users["chuyenvien2"]) == [others]
    assert delegated(session, colleague) == []  # the delegate holds the task; they did not delegate it
    assert delegated(session, people.outsider_member) == []
    assert kept not in delegated(session, member)


def test_the_delegated_list_sorts_like_the_inbox_and_keeps_a_follow_up_due_at_that_very_moment(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    engine = Engine(session)
    rows = []
    for n in range(5):
        _, task_id = start(session, people, clock, f"MT-{n}")
        engine.claim(task_id, actor=people.member, now=clock.now)
        engine.delegate(task_id, "chuyenvien", actor=people.member, now=clock.now)
        rows.append(task_id)
        clock.advance(minutes=1)
    base = clock.now
    # priority, due in hours, follow-up in hours (None: none)
    values = [(50, 8, -1), (80, 8, 0), (80, 4, 1), (80, None, None), (80, 4, -2)]
    for task_id, (priority, due, follow) in zip(rows, values, strict=True):
        tweak(session, task_id, priority=priority, due_at=None if due is None else base + timedelta(hours=due),
              follow_up_at=None if follow is None else base + timedelta(hours=follow))  # fmt: skip

    assert delegated(session, people.member) == rows  # as received, oldest first
    by_priority = delegated(session, people.member, InboxOptions(sort="priority"))
    # the higher priority first; then the nearest due date (none last); then as received
    assert by_priority == [rows[2], rows[4], rows[1], rows[3], rows[0]]
    assert [t.id for t in queries.delegated_tasks(session, people.member, InboxOptions(sort="priority"))] == by_priority
    due_now = delegated(session, people.member, InboxOptions(follow_up_by=base))
    assert due_now == [rows[0], rows[1], rows[4]]  # at or before the moment; a task without a date is not due
    assert delegated(session, people.member, InboxOptions(sort="priority", follow_up_by=base)) == [
        rows[4], rows[1], rows[0]]


def test_the_delegated_list_stops_at_the_largest_page(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    instance, _ = start(session, people, clock, "MT-MANY")
    count = queries.MAX_PAGE_SIZE + 1
    session.execute(insert(TaskRow), [
        {"id": f"giao-{n:04d}", "instance_id": instance.id, "element_id": "draft", "name": f"Việc {n}", "kind": "user",
         "unit_id": people.unit.id, "candidate_roles": [], "assignee_id": users["chuyenvien"].id,
         "owner_id": people.member.id, "delegation_state": "pending", "state": "open", "priority": 50,
         "escalation_level": 0, "created_at": clock.now + timedelta(seconds=count - n)}
        for n in range(count)])  # fmt: skip
    session.commit()
    found = delegated(session, people.member)
    assert len(found) == queries.MAX_PAGE_SIZE
    assert found == [f"giao-{n:04d}" for n in range(count - 1, 0, -1)]  # the oldest ones, oldest first


@pytest.mark.parametrize(("sort", "bad"), [
    ("received", [None, "task-1"]),
    ("received", ["2026-11-23T01:30:00+00:00", None]),
    ("priority", [50, None, None, "task-1"]),
    ("priority", [50, None, "2026-11-23T01:30:00+00:00", None]),
])  # fmt: skip
def test_a_page_link_without_a_received_time_or_a_task_id_is_refused(
    session: Session, people: People, clock: Clock, sort: str, bad: list[Any]
) -> None:
    """Only the due date may be empty in a page link: every task has a received time and an id."""
    start(session, people, clock, "MT-1")
    with pytest.raises(queries.BadPageLink):
        queries.task_page(session, people.member, "claimable", InboxOptions(sort=sort), after=bad)


def test_the_priority_pages_walk_the_due_dates_from_the_nearest_without_skipping_one(
    session: Session, people: People, clock: Clock
) -> None:
    rows = []
    for n in range(4):
        rows.append(start(session, people, clock, f"MT-{n}")[1])
    base = clock.now
    for task_id, hours in zip(rows, (6, 2, None, 4), strict=True):
        tweak(session, task_id, due_at=None if hours is None else base + timedelta(hours=hours))
    pages, after = [], None
    while True:
        page = queries.task_page(session, people.member, "claimable", InboxOptions(sort="priority"), after=after,
                                 limit=1)  # fmt: skip
        pages.append([line.id for line in page.lines])
        if page.next_after is None:
            break
        after = page.next_after
    assert pages == [[rows[1]], [rows[3]], [rows[0]], [rows[2]]]


# --- instances: who sees which, the running list, the pages ---------------------------------------------


def set_instance(session: Session, instance_id: int, **values: Any) -> None:
    session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id).values(**values))
    session.commit()


def seen(session: Session, user: User) -> set[int]:
    """The instances the person may see, by the rule alone (the Camunda lists filter this further)."""
    return set(session.scalars(select(ProcessInstance.id).where(queries.viewable_instances(user))))


def running(session: Session, user: User) -> set[int]:
    return {i.id for i in session.scalars(queries.running_instances_query(session, user)).unique()}


def test_the_running_list_shows_the_running_instances_the_person_may_see_and_loads_what_it_shows(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    specialist = users["chuyenvien"]
    ours, _ = start(session, people, clock, "MT-A")
    done, _ = start(session, people, clock, "MT-B")
    set_instance(session, done.id, status="completed")
    held, held_task = start(session, people, clock, "MT-C")
    tweak(session, held_task, assignee_id=specialist.id)
    theirs, _ = start(session, people, clock, "MT-BMT", actor=people.outsider_member, unit_id=people.other_unit.id)

    assert running(session, people.leader) == {ours.id, held.id}  # the whole unit's, but not the finished one
    assert running(session, specialist) == {held.id}  # a specialist: the work they hold only
    assert running(session, people.outsider_member) == {theirs.id}
    assert done.id in seen(session, people.leader)

    with Session(session.get_bind()) as fresh:  # nothing of the unit or the definitions in memory yet
        leader = fresh.get(User, people.leader.id)
        assert leader is not None
        found = list(fresh.scalars(queries.running_instances_query(fresh, leader)).unique())
        for instance in found:
            assert not {"definition_id", "unit_id", "business_key", "status", "definition",
                        "unit"} & inspect(instance).unloaded  # fmt: skip
            assert {"state"} <= inspect(instance).unloaded  # never the workflow
            assert not {"key", "version"} & inspect(instance.definition).unloaded
            assert "spec_json" in inspect(instance.definition).unloaded  # never the diagram
        with statements(fresh) as sent:
            shown = sorted((i.id, i.business_key, i.status, i.definition.key, i.definition.version, i.unit.code,
                            i.definition_id == i.definition.id, i.unit_id) for i in found)  # fmt: skip
        assert sent == []  # what the list shows was read with the list
    version = queries.active_definition(session, KEY).version
    assert shown == [(ours.id, "MT-A", "running", KEY, version, people.unit.code, True, people.unit.id),
                     (held.id, "MT-C", "running", KEY, version, people.unit.code, True, people.unit.id)]


def test_a_department_head_sees_the_work_of_their_departments_people_by_department_or_by_role(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    head = users["truongphong"]  # head of the demo unit's office (vp)
    office = session.scalars(select(Department).where(Department.unit_id == people.unit.id,
                                                      Department.code == "vp")).one()  # fmt: skip
    # in the office by their account, holding a role that is not scoped to a department
    by_department = make_user(session, "thuky_vp", people.unit, ("iso_secretary",), "vp")
    # in another department by their account, holding a specialist role in the office
    by_role = make_user(session, "chuyenvien_kh", people.unit, ("specialist",), "qlkh")
    session.add(RoleAssignment(user_id=by_role.id, unit_id=people.unit.id, role="specialist",
                               department_id=office.id))  # fmt: skip
    session.commit()
    first, _ = start(session, people, clock, "MT-1", actor=by_department)
    second, _ = start(session, people, clock, "MT-2")
    set_instance(session, second.id, started_by_id=by_role.id)
    elsewhere, _ = start(session, people, clock, "MT-3")
    set_instance(session, elsewhere.id, started_by_id=users["chuyenvien3"].id)  # another department's person

    assert seen(session, head) == {first.id, second.id}
    # the head of the department the second starter's account belongs to sees their work too
    assert seen(session, users["truongphong2"]) == {second.id, elsewhere.id}
    assert {i.id for i in queries.instances_for(session, head)} == {first.id, second.id}
    assert seen(session, by_role) == {second.id}


def test_a_specialist_sees_the_instances_they_hold_own_or_completed_a_task_of_and_no_other(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    specialist, colleague = users["chuyenvien"], users["chuyenvien2"]
    made = [start(session, people, clock, f"MT-{n}") for n in range(4)]
    (holds, t_holds), (owns, t_owns), (completed, t_completed), (other, _) = made
    tweak(session, t_holds, assignee_id=specialist.id)
    tweak(session, t_owns, owner_id=specialist.id, assignee_id=colleague.id, delegation_state="pending")
    tweak(session, t_completed, state="completed", assignee_id=None, completed_by_id=specialist.id,
          completed_at=clock.now)  # fmt: skip
    assert seen(session, specialist) == {holds.id, owns.id, completed.id}
    assert seen(session, colleague) == {owns.id}
    assert other.id in seen(session, people.leader)
    assert running(session, specialist) == {holds.id, owns.id, completed.id}


def test_a_person_who_moved_to_another_unit_no_longer_sees_the_work_they_did_in_the_first(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    mover = users["chuyenvien"]
    instance, task_id = start(session, people, clock, "MT-1")
    tweak(session, task_id, assignee_id=mover.id)
    set_instance(session, instance.id, started_by_id=mover.id)
    assert seen(session, mover) == {instance.id}
    session.execute(delete(RoleAssignment).where(RoleAssignment.user_id == mover.id))
    session.add(RoleAssignment(user_id=mover.id, unit_id=people.other_unit.id, role="specialist"))
    session.commit()
    assert seen(session, mover) == set()
    theirs, _ = start(session, people, clock, "MT-BMT", actor=people.outsider_member, unit_id=people.other_unit.id)
    set_instance(session, theirs.id, started_by_id=mover.id)
    assert seen(session, mover) == {theirs.id}  # the new unit's work they start is theirs to see


def test_an_instance_page_holds_as_many_as_asked_and_a_page_link_in_hanoi_time_is_the_same_moment(
    session: Session, people: People, clock: Clock
) -> None:
    made = []
    for n in range(5):
        made.append(start(session, people, clock, f"MT-{n}")[0].id)
        clock.advance(minutes=1)
    newest = made[::-1]
    rows, after = queries.instance_page(session, people.leader, None, 1)
    assert [r.id for r in rows] == newest[:1] and after is not None and after[1] == newest[0]
    for limit in (1, 2):  # the statement reads one more than the page, to tell whether another follows
        stmt = queries.instance_page_query(session, people.leader, None, limit)
        assert [i.id for i in session.scalars(stmt).unique()] == newest[:limit + 1]
    rows, after = queries.instance_page(session, people.leader, None, 2)
    assert after is not None
    hanoi = after[0].astimezone(timezone(timedelta(hours=7))).isoformat()
    assert hanoi.endswith("+07:00")
    for link in (queries.instant_key([hanoi, after[1]]), queries.instant_key([after[0].isoformat(), after[1]])):
        page, more = queries.instance_page(session, people.leader, link, 2)
        assert [r.id for r in page] == newest[2:4] and more is not None


def test_an_instances_steps_are_listed_as_they_came_the_task_id_breaking_ties_with_their_people_read_along(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    instance, draft = start(session, people, clock, "MT-1")
    common = {"instance_id": instance.id, "element_id": "draft", "name": "Bước", "kind": "user",
              "unit_id": people.unit.id, "candidate_roles": [], "priority": 50, "escalation_level": 0}  # fmt: skip
    later = clock.now + timedelta(hours=1)
    session.execute(insert(TaskRow), [  # inserted in the opposite order of their ids
        {**common, "id": "zz-earliest", "state": "completed", "created_at": clock.now - timedelta(hours=1),
         "completed_at": clock.now, "completed_by_id": users["chuyenvien"].id},
        {**common, "id": "buoc-2", "state": "open", "created_at": later},
        {**common, "id": "buoc-1", "state": "open", "created_at": later, "assignee_id": users["chuyenvien2"].id},
    ])  # fmt: skip
    session.commit()
    steps = queries.instance_tasks(session, instance.id)
    assert [t.id for t in steps] == ["zz-earliest", draft, "buoc-1", "buoc-2"]
    for step in steps:  # who holds and who completed each step come with the list
        assert not {"assignee", "completed_by"} & inspect(step).unloaded
    assert steps[0].completed_by is not None and steps[0].completed_by.username == "chuyenvien"
    assert steps[2].assignee is not None and steps[2].assignee.username == "chuyenvien2"


# --- the library and the inbox's process filter -----------------------------------------------------------


def test_the_library_sorts_lines_of_the_same_name_by_key_and_reads_their_owner_with_them(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    shared = session.scalars(select(ProcessDefinition).where(ProcessDefinition.unit_id.is_(None),
                                                             ProcessDefinition.status == "active")
                             .order_by(ProcessDefinition.id)).all()  # fmt: skip
    # two processes deployed in the opposite order of their keys, renamed alike
    first, second = next((a, b) for n, a in enumerate(shared) for b in shared[n + 1:] if a.key > b.key)
    session.execute(update(ProcessDefinition).where(ProcessDefinition.id.in_([first.id, second.id]))
                    .values(name="Quy trình trùng tên"))  # fmt: skip
    session.commit()
    summaries = queries.definition_summaries(session, people.member)
    same = [s.definition.key for s in summaries if s.definition.name == "Quy trình trùng tên"]
    assert same == [second.key, first.key]
    names = [(s.definition.name, s.definition.key) for s in summaries]
    assert names == sorted(names)
    for summary in summaries:
        assert "unit" not in inspect(summary.definition).unloaded
        assert "spec_json" in inspect(summary.definition).unloaded


def test_the_inbox_process_filter_lists_each_process_of_the_persons_units_once_by_name(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    found = queries.inbox_processes(session, people.member)
    keys = [key for key, _ in found]
    names = [name for _, name in found]
    assert names == sorted(names) and len(set(keys)) == len(keys) > 1
    assert keys != sorted(keys)  # the library's names and keys sort differently: the list follows the names
    runs = queries.active_definition(session, KEY)
    assert (KEY, runs.name) in found
    assert queries.inbox_processes(session, people.nobody) == []
    people.member.is_active = False
    session.commit()
    assert queries.inbox_processes(session, people.member) == []  # a closed account sees no process


# --- counts ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["mine", "claimable"])
def test_an_inbox_count_walks_the_lists_index_in_its_order_and_sorts_nothing(
    session: Session, people: People, clock: Clock, which: str
) -> None:
    """The badge is counted on every page: it must stop at the cap by walking ``ix_tasks_list`` as the first
    page does, never by sorting every open task of the person's units first."""
    engine = Engine(session)
    for n in range(3):
        _, task_id = start(session, people, clock, f"MT-{n}")
        if n == 0:
            engine.claim(task_id, actor=people.member, now=clock.now)
    sent: list[tuple[str, Any]] = []
    bind = session.get_bind()

    def count_statement(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "count(" in statement.lower():
            sent.append((statement, params))

    event.listen(bind, "before_cursor_execute", count_statement)
    try:
        assert queries.task_count(session, people.member, which) == (1 if which == "mine" else 2)
    finally:
        event.remove(bind, "before_cursor_execute", count_statement)
    ((statement, params),) = sent
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        found = "\n".join(str(row[-1]) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                                               params))  # fmt: skip
    else:
        # The planner costs a plan on the table's statistics, which earlier tests leave behind: on a few rows a
        # bitmap scan and a sort cost about as much as the ordered walk, and so does a walk of another index
        # followed by an incremental sort of its ties. With those off the ordered walk is taken whenever the
        # query's order allows it, and a sort still appears when it does not.
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort", "enable_incremental_sort"):
            connection.execute(text(f"SET LOCAL {setting} = off"))
        found = "\n".join(str(row[0]) for row in connection.exec_driver_sql("EXPLAIN " + statement, params))
    assert not re.search(r"(^|->)\s*(Incremental )?Sort\b", found, re.MULTILINE), found  # PostgreSQL: none
    if which == "mine":
        assert re.search(r"\bix_tasks_list\b(?!_)", found), found
        assert "TEMP B-TREE" not in found, found  # SQLite: no sort of the rows, not even of a part of the order
        return
    # what may be claimed: a range of the offers' index per role and one for the offers by name, each stopping
    # one past the cap; only the offers found are put together (a task offered twice counts once)
    assert "ix_task_candidates_claimable_role" in found and "ix_task_candidates_claimable_user" in found, found
    assert "SCAN tasks" not in found and "Seq Scan on task" not in found, found
    assert "FOR ORDER BY" not in found and "FOR DISTINCT" not in found, found


# --- the whole-list queries: members' open tasks, the inbox lists' ties, documentation diagrams ------------


def test_the_members_open_tasks_are_the_open_user_tasks_of_their_units_and_none_for_a_closed_account(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    instance, open_task = start(session, people, clock, "MT-1")
    _, done = start(session, people, clock, "MT-2")
    tweak(session, done, state="completed", completed_at=clock.now, completed_by_id=people.member.id)
    _, theirs = start(session, people, clock, "MT-BMT", actor=people.outsider_member, unit_id=people.other_unit.id)
    session.execute(insert(TaskRow), [{
        "id": "job-1", "instance_id": instance.id, "element_id": "send", "name": "Gửi thư", "kind": "job",
        "unit_id": people.unit.id, "candidate_roles": [], "state": "open", "priority": 50, "escalation_level": 0,
        "created_at": clock.now}])  # fmt: skip
    session.commit()

    def open_tasks(user: User) -> set[str]:
        shape, values = queries.members_shape(user)
        return {t.id for t in session.scalars(queries.members_open_tasks(*shape), values)}

    assert open_tasks(people.member) == {open_task}
    assert open_tasks(people.outsider_member) == {theirs}
    assert open_tasks(people.nobody) == set()
    people.member.is_active = False
    session.commit()
    assert open_tasks(people.member) == set()


def test_a_person_sees_whole_units_only_with_a_whole_unit_role_in_every_unit_of_theirs(
    session: Session, people: People, users: dict[str, User]
) -> None:
    """Who may read the members' open tasks as they are (every open task of their units): someone with a
    role that sees the whole unit in each of their units; a role that sees only one's own work in any one
    unit, no role at all, or a closed account means the viewing rule must be applied to the tasks."""
    assert queries.sees_whole_units(session, people.member)  # ISO secretary (and specialist) of the demo unit
    assert queries.sees_whole_units(session, people.leader)
    assert not queries.sees_whole_units(session, users["chuyenvien"])
    assert not queries.sees_whole_units(session, users["truongphong"])
    assert not queries.sees_whole_units(session, people.nobody)
    # a secretary here and only a specialist in the other unit sees the other unit's own work only
    session.add(RoleAssignment(user=people.member, unit=people.other_unit, role="specialist"))
    session.commit()
    assert not queries.sees_whole_units(session, people.member)
    session.add(RoleAssignment(user=people.member, unit=people.other_unit, role="internal_auditor"))
    session.commit()
    assert queries.sees_whole_units(session, people.member)
    people.member.is_active = False
    session.commit()
    assert not queries.sees_whole_units(session, people.member)


def test_the_whole_inbox_lists_break_a_tie_on_the_received_time_by_task_id_and_read_their_columns_along(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    instance, _ = start(session, people, clock, "MT-1")
    session.execute(insert(TaskRow), [  # inserted in the opposite order of their ids, received together
        {"id": task_id, "instance_id": instance.id, "element_id": "draft", "name": "Soạn", "kind": "user",
         "unit_id": people.unit.id, "candidate_roles": [], "assignee_id": users["chuyenvien"].id,
         "owner_id": people.member.id, "delegation_state": "pending", "state": "open", "priority": 50,
         "escalation_level": 0, "created_at": clock.now + timedelta(minutes=1)}
        for task_id in ("uy-2", "uy-1")])  # fmt: skip
    session.commit()
    found = queries.delegated_tasks(session, people.member)
    assert [t.id for t in found] == ["uy-1", "uy-2"]
    assert delegated(session, people.member) == ["uy-1", "uy-2"]
    for task in found:
        assert not {"instance", "assignee"} & inspect(task).unloaded
        assert "definition" not in inspect(task.instance).unloaded
    assert found[0].instance.definition.key == KEY and found[0].assignee is not None


def test_a_key_the_shared_library_holds_only_as_documentation_says_so_to_a_unit_that_starts_it(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    from engine import Deployer
    from engine.errors import DefinitionNotFound
    from tests.engine.probes import probe

    Deployer(session).deploy([probe("so_do_chung", "Sơ đồ chung", {"a": 'candidateUsers="thuky"'}, executable=False)],
                             actor=users["admin"], now=clock.now, unit_id=None, as_documentation=True)  # fmt: skip
    for unit_id in (people.unit.id, people.other_unit.id):
        with pytest.raises(DefinitionNotFound) as refused:
            queries.runnable(session, "so_do_chung", unit_id)
        assert str(refused.value).startswith("'so_do_chung' is deployed as a documentation diagram only")


def test_a_processs_versions_come_newest_first_with_their_deployment_read_along(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    from engine import Deployer
    from tests.engine.test_ownership import files

    newer = Deployer(session).deploy(files("quality-objectives.bpmn", replace=("Soạn", "Chuẩn bị")),
                                     actor=users["admin"], now=clock.now, unit_id=None).definitions[0]  # fmt: skip
    found = queries.definition_versions(session, KEY, people.member)
    assert [v.definition.version for v in found][0] == newer.version
    assert [v.deployed_by.username if v.deployed_by else None for v in found][:1] == ["admin"]
    for version in found:
        assert "deployment" not in inspect(version.definition).unloaded
        assert "spec_json" in inspect(version.definition).unloaded


def test_an_instance_page_longer_than_the_usual_page_holds_every_line_asked_for(
    session: Session, people: People, clock: Clock
) -> None:
    model, _ = start(session, people, clock, "MT-0")
    count = queries.PAGE_SIZE + 5
    session.execute(insert(ProcessInstance), [
        {"definition_id": model.definition_id, "unit_id": people.unit.id, "status": "running", "state": "{}",
         "revision": 1, "started_at": clock.now - timedelta(minutes=n + 1), "updated_at": clock.now,
         "paused_seconds": 0} for n in range(count)])  # fmt: skip
    session.commit()
    rows, after = queries.instance_page(session, people.leader, None, queries.PAGE_SIZE + 2)
    assert len(rows) == queries.PAGE_SIZE + 2 and after is not None
    rest, more = queries.instance_page(session, people.leader, after, queries.PAGE_SIZE + 2)
    assert len(rest) == count + 1 - len(rows) and more is None


# --- orders and refusals the read side promises, whatever order the rows were stored in ------------------


def test_the_instance_list_shows_the_newest_hundred_and_breaks_a_tie_on_the_start_by_the_newest_id(
    session: Session, people: People, clock: Clock
) -> None:
    model, _ = start(session, people, clock, "MT-0")
    tied = clock.now + timedelta(minutes=5)
    session.execute(insert(ProcessInstance), [
        {"definition_id": model.definition_id, "unit_id": people.unit.id, "status": "running", "state": "{}",
         "revision": 1, "started_at": tied if n < 6 else clock.now - timedelta(minutes=n), "updated_at": clock.now,
         "paused_seconds": 0} for n in range(110)])  # fmt: skip
    session.commit()
    newest = queries.instances_for(session, people.leader)
    assert len(newest) == 100  # the list's default length, whatever the unit holds
    assert newest[6].started_at < newest[5].started_at
    if session.get_bind().dialect.name == "postgresql":  # sorted rather than read along the index, as a plan may
        for setting in ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"):
            session.execute(text(f"SET LOCAL {setting} = off"))
    top = [i.id for i in queries.instances_for(session, people.leader, limit=6)]
    assert top == sorted(top, reverse=True) and top == [i.id for i in newest[:6]]
    assert len(queries.instances_for(session, people.leader, limit=7)) == 7


def test_an_instances_history_and_the_instances_it_called_come_in_id_order_however_they_were_stored(
    session: Session, people: People, clock: Clock
) -> None:
    """Two transactions can write their rows in the other order than their ids were drawn (PostgreSQL keeps a
    table's rows as they were written): the history still reads from the first event, the called instances
    from the first one called."""
    parent, _ = start(session, people, clock, "MT-0")
    first = session.scalar(select(func.max(HistoryEvent.id))) or 0
    events = [first + 30, first + 20, first + 10]  # written newest first
    session.execute(insert(HistoryEvent), [
        {"id": i, "instance_id": parent.id, "at": clock.now, "kind": "note", "data": {}} for i in events])
    top = session.scalar(select(func.max(ProcessInstance.id))) or 0
    called = [top + 30, top + 20, top + 10]
    session.execute(insert(ProcessInstance), [
        {"id": i, "definition_id": parent.definition_id, "unit_id": people.unit.id, "status": "running",
         "state": "{}", "revision": 1, "started_at": clock.now, "updated_at": clock.now, "paused_seconds": 0,
         "parent_instance_id": parent.id} for i in called])  # fmt: skip
    session.commit()
    if session.get_bind().dialect.name == "postgresql":  # read in storage order, as a plan over a large share does
        for setting in ("enable_indexscan", "enable_bitmapscan", "enable_indexonlyscan"):
            session.execute(text(f"SET LOCAL {setting} = off"))
    ids = [e.id for e in queries.history(session, parent.id)]
    assert ids == sorted(ids) and ids[-3:] == sorted(events)
    assert [i.id for i in queries.called_instances(session, parent.id)] == sorted(called)


def test_the_tasks_offered_to_a_person_are_held_or_not_and_only_of_their_units_and_roles(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    """What a Camunda client asking for a candidate's tasks with ``includeAssignedTasks`` gets."""
    engine = Engine(session)
    _, free = start(session, people, clock, "MT-0")
    _, held = start(session, people, clock, "MT-1")
    engine.claim(held, actor=people.member, now=clock.now)
    _, done = start(session, people, clock, "MT-2")
    tweak(session, done, state="completed")
    start(session, people, clock, "MT-BMT", actor=people.outsider_member, unit_id=people.other_unit.id)

    def offered(user: User) -> set[str]:
        return {task.id for task in session.scalars(queries.offered_query(user))}

    assert offered(people.member) == {free, held}
    assert set(session.scalars(queries.claimable_query(people.member).with_only_columns(TaskRow.id))) == {free}
    assert offered(users["giamdoc"]) == set()  # a leader of the unit: the draft is the secretary's to write
    assert offered(people.nobody) == set()


def test_a_missing_or_hidden_instance_is_refused_with_its_number(
    session: Session, people: People, clock: Clock
) -> None:
    instance, _ = start(session, people, clock, "MT-0")
    for viewer, asked in ((people.outsider_member, instance.id), (people.leader, instance.id + 1000)):
        with pytest.raises(InstanceNotFound) as refused:
            queries.visible_instance(session, viewer, asked)
        assert refused.value.instance_id == asked and str(asked) in str(refused.value)
    assert queries.visible_instance(session, people.leader, instance.id).id == instance.id


def test_a_role_taken_away_counts_for_the_lists_at_once_inside_the_same_transaction(
    session: Session, people: People, clock: Clock
) -> None:
    """The lists read the person's roles once per transaction until it writes: a role removed and flushed is
    no longer offered its tasks on the next list, before any commit."""
    _, task_id = start(session, people, clock, "MT-0")
    member = people.member
    assert [line.id for line in queries.task_page(session, member, "claimable").lines] == [task_id]
    held = session.scalars(select(RoleAssignment).where(RoleAssignment.user_id == member.id,
                                                        RoleAssignment.unit_id == people.unit.id)).all()
    kept = [a for a in held if a.role != "iso_secretary"]
    for assignment in held:
        if assignment not in kept:
            session.delete(assignment)
    session.flush()
    assert kept  # still a member of the unit, but no longer the role the draft is offered to
    assert queries.task_page(session, member, "claimable").lines == []
    assert queries.task_count(session, member, "claimable") == 0
    session.rollback()
    assert [line.id for line in queries.task_page(session, member, "claimable").lines] == [task_id]


def test_a_lines_drafts_are_listed_by_version_however_they_were_stored(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    from engine import Deployer
    from tests.engine.test_ownership import files

    drafts = [Deployer(session).deploy(files("quality-objectives.bpmn", replace=("Soạn", f"Soạn {n}")),
                                       actor=people.member, now=clock.now, unit_id=people.unit.id).definitions[0]
              for n in range(2)]  # fmt: skip
    assert [d.status for d in drafts] == ["draft", "draft"]
    low, high = sorted(d.version for d in drafts)
    # the newer draft stored first: swap their numbers through a free one
    spare = high + 100
    for old, new in ((low, spare), (high, low), (spare, high)):
        session.execute(update(ProcessDefinition).where(ProcessDefinition.key == KEY,
                                                        ProcessDefinition.version == old).values(version=new))
    session.commit()
    [line] = [s for s in queries.definition_summaries(session, people.leader)
              if (s.definition.unit_id, s.definition.key) == (people.unit.id, KEY)]  # fmt: skip
    assert line.drafts == (low, high)


def test_a_form_is_shown_with_its_form_file_not_another_file_of_the_same_content(
    session: Session, people: People, clock: Clock
) -> None:
    from engine.runtime.models import DeployedFile, FormDefinition

    shared = queries.active_definition(session, KEY)
    used = queries.forms_used(session, [shared])[shared.id]
    form = used[0].form
    assert used[0].file is not None and used[0].file.kind == "form"
    # the same bytes kept in the same deployment as a file of another kind, after the form's
    session.add(DeployedFile(deployment_id=form.deployment_id, filename="copy.dmn", kind="dmn",
                             content_hash=form.content_hash, content=b"{}"))  # fmt: skip
    session.commit()
    again = {u.form.id: u.file for u in queries.forms_used(session, [shared])[shared.id]}
    assert again[form.id] is not None and again[form.id].kind == "form"
    assert session.get(FormDefinition, form.id) is form
