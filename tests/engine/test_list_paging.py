"""Paged inbox lists (keyset): pages that neither repeat nor skip a task when sort keys tie, filters that
combine, the same unit walls as the whole lists, capped counts, and the plans the lists run with: each list
walks an index in its own order on SQLite and on PostgreSQL (no full scan of the task table, no sort of it)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Select, func, insert, select, text, update
from sqlalchemy.orm import Session

from engine import Engine, dossiers, queries
from engine.dossiers.dossiers import Dossier, DossierFilter
from engine.org.models import Notice
from engine.runtime.models import ProcessInstance, TaskCandidate, TaskRow
from engine.runtime.queries import InboxOptions, TaskFilter
from tests.conftest import Clock, People, statements

pytestmark = pytest.mark.usefixtures("library")


def start_many(session: Session, people: People, clock: Clock, count: int, unit_id: int | None = None) -> list[str]:
    """``count`` quality-objectives drafts started in the same second (their tasks tie on the received time)."""
    engine = Engine(session)
    actor = people.member if unit_id is None else people.outsider_member
    made = []
    for n in range(count):
        instance = engine.start("quality_objectives", actor=actor, unit_id=unit_id or people.unit.id, now=clock.now,
                                business_key=f"MT-{unit_id}-{n}")  # fmt: skip
        made.append(instance)
    return [session.scalars(TaskRow.__table__.select().where(TaskRow.instance_id == i.id)).one() for i in made]


NO_FILTER = TaskFilter()


def walk(session: Session, user: Any, which: str, options: InboxOptions, filters: TaskFilter = NO_FILTER,
         limit: int = 3) -> list[list[str]]:  # fmt: skip
    pages, after = [], None
    while True:
        page = queries.task_page(session, user, which, options, filters, after, limit)
        pages.append([line.id for line in page.lines])
        if page.next_after is None:
            return pages
        after = page.next_after


@pytest.mark.parametrize("sort", ["received", "priority"])
def test_pages_neither_repeat_nor_skip_a_task_when_received_and_due_times_tie(
    session: Session, people: People, clock: Clock, sort: str
) -> None:
    ours = start_many(session, people, clock, 8)
    start_many(session, people, clock, 2, unit_id=people.other_unit.id)  # the other unit's, behind the wall
    due = clock.now + timedelta(days=3)
    # ties everywhere: the same received time, half the same due moment, two priorities, a few without due date
    for n, task_id in enumerate(ours):
        session.execute(update(TaskRow).where(TaskRow.id == task_id).values(
            priority=80 if n % 2 else 50, due_at=None if n % 3 == 0 else due))  # fmt: skip
    session.commit()
    options = InboxOptions(sort=sort)
    whole = [t.id for t in queries.claimable_tasks(session, people.member, options)]
    assert sorted(whole) == sorted(ours)
    pages = walk(session, people.member, "claimable", options)
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [t for p in pages for t in p] == whole  # same order as the whole list: nothing twice, nothing left out
    assert queries.task_count(session, people.member, "claimable") == 8
    assert [t for p in walk(session, people.outsider_member, "claimable", options) for t in p] != whole
    assert not set(t for p in walk(session, people.outsider_member, "claimable", options) for t in p) & set(ours)


def test_a_claimed_task_leaves_the_claimable_pages_and_joins_mine_without_shifting_the_next_page(
    session: Session, people: People, clock: Clock
) -> None:
    ours = start_many(session, people, clock, 5)
    first = queries.task_page(session, people.member, "claimable", limit=2)
    Engine(session).claim(first.lines[0].id, actor=people.member, now=clock.now)
    rest = walk(session, people.member, "claimable", InboxOptions(), limit=2)
    second = queries.task_page(session, people.member, "claimable", after=first.next_after, limit=2)
    expected = [t.id for t in queries.claimable_tasks(session, people.member)]
    assert [line.id for line in second.lines] == expected[1:3]  # the page after the first is still the same
    assert [t for p in rest for t in p] == expected and len(expected) == 4
    mine = queries.task_page(session, people.member, "mine")
    assert [line.id for line in mine.lines] == [first.lines[0].id] and mine.next_after is None
    assert mine.lines[0].assignee_username == people.member.username and mine.lines[0].process_key
    assert set(ours) == set(expected) | {first.lines[0].id}


def test_filters_combine_and_each_narrows(session: Session, people: People, clock: Clock) -> None:
    ours = start_many(session, people, clock, 6)
    now = clock.now
    values = [  # priority, due in hours, name
        (80, -2, "Thẩm định mục tiêu"), (80, 5, "Thẩm định mục tiêu"), (20, -1, "Thẩm định mục tiêu"),
        (80, -3, "Soạn mục tiêu"), (50, None, "Soạn mục tiêu"), (80, 30, "Soạn mục tiêu"),
    ]  # fmt: skip
    for task_id, (priority, hours, name) in zip(ours, values, strict=True):
        session.execute(update(TaskRow).where(TaskRow.id == task_id).values(
            priority=priority, name=name, due_at=None if hours is None else now + timedelta(hours=hours)))  # fmt: skip
    session.commit()

    def found(**given: Any) -> set[str]:
        lines = queries.task_page(session, people.member, "claimable", filters=TaskFilter(**given)).lines
        counted = queries.task_count(session, people.member, "claimable", filters=TaskFilter(**given))
        assert counted == (None if given.get("text") else len(lines))  # a text search is not counted
        return {line.id for line in lines}

    late = found(due_before=now)
    assert late == {ours[0], ours[2], ours[3]}
    assert found(priority="high") == {ours[0], ours[1], ours[3], ours[5]}
    assert found(priority="low") == {ours[2]} and found(priority="normal") == {ours[4]}
    assert found(text="thẩm định") == {ours[0], ours[1], ours[2]}
    assert found(text="THẨM ĐỊNH".lower()) == found(text="thẩm định")
    assert found(due_before=now, priority="high", text="thẩm") == {ours[0]}  # all three at once
    assert found(due_from=now, due_before=now + timedelta(hours=24)) == {ours[1]}
    assert found(process="quality_objectives") == set(ours)
    assert found(process="no_such_process") == set()
    assert found(text="objectives") == set() and found(text="mục tiêu chất lượng") <= set(ours)
    assert found(text="100%") == set()  # a % is a character searched for, not a wildcard


def test_a_page_link_that_does_not_fit_the_list_is_refused(session: Session, people: People, clock: Clock) -> None:
    start_many(session, people, clock, 3)
    page = queries.task_page(session, people.member, "claimable", limit=1)
    assert page.next_after is not None and len(page.next_after) == 2
    for bad in ([], ["x", "y"], [page.next_after[0]], [1, page.next_after[1]], [page.next_after[0], 7],
                page.next_after + [1]):  # fmt: skip
        with pytest.raises(queries.BadPageLink) as refused:
            queries.task_page(session, people.member, "claimable", after=bad)
        assert str(refused.value) == BAD_LINK
    with pytest.raises(queries.BadPageLink) as refused:  # a received-order link given to the priority order
        queries.task_page(session, people.member, "claimable", InboxOptions(sort="priority"), after=page.next_after)
    assert str(refused.value) == BAD_LINK


BAD_LINK = "This page link does not belong to this list. Open the list again from its first page."


def test_counts_stop_at_the_cap(
    session: Session, people: People, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_many(session, people, clock, 4)
    monkeypatch.setitem(queries.COUNT_CAPS, "claimable", 2)
    assert queries.task_count(session, people.member, "claimable") == 3  # "2+"
    assert queries.inbox_counts(session, people.member).claimable == 3
    assert queries.task_count(session, people.member, "mine") == 0


# --- plans ---------------------------------------------------------------------------------------------


def plan(session: Session, stmt: Select[Any], sorts: bool = False) -> str:
    """The database's plan for ``stmt`` as one text. PostgreSQL: sequential and bitmap scans and sorts off, so
    that a plan on a small table, or on the statistics earlier tests left behind, shows the index the list would
    walk on a big one; a sort still appears (at a prohibitive cost) when no index gives the list's order.
    ``sorts``: leave sorts on, for a list meant to sort a few rows found by their ids."""
    connection = session.connection()
    compiled = stmt.compile(dialect=connection.dialect).construct_expanded_state()  # IN lists written out
    if connection.dialect.name == "sqlite":
        params = tuple(compiled.parameters[name] for name in compiled.positiontup or ())
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + compiled.statement, params).all()
        return "\n".join(str(row[-1]) for row in rows)
    for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort", "enable_incremental_sort"):
        on = sorts and "sort" in setting  # (SET LOCAL lasts to the transaction's end: said each time)
        connection.execute(text(f"SET LOCAL {setting} = {'on' if on else 'off'}"))
    rows = connection.exec_driver_sql("EXPLAIN " + compiled.statement, compiled.parameters).all()
    return "\n".join(str(row[0]) for row in rows)


def assert_walks_index(found: str, index: str, table: str) -> None:
    assert index in found, found
    assert f"SCAN {table}\n" not in found + "\n" and f"Seq Scan on {table} " not in found, found
    assert "TEMP B-TREE FOR ORDER BY" not in found, found  # SQLite: no sort of the rows
    # PostgreSQL: no Sort or Incremental Sort node, at the top or below ("->  Sort  (cost=…")
    assert not re.search(r"(^|->)\s*(Incremental )?Sort\b", found, re.MULTILINE), found


def fill(session: Session, people: People, clock: Clock, count: int = 20_000) -> None:
    """Enough rows for the planner to weigh: open tasks offered behind the wall (the other unit's secretaries),
    open tasks the demo secretary holds and may claim, and completed ones; then fresh statistics."""
    instance = Engine(session).start("quality_objectives", actor=people.member, unit_id=people.unit.id,
                                     now=clock.now, business_key="MT-FILL")  # fmt: skip
    rows, candidates = [], []
    for n in range(count):
        kind = n % 10
        task_id = f"fill-{n:06d}"
        rows.append({"id": task_id, "instance_id": instance.id, "element_id": "draft", "name": f"Việc {n}",
                     "kind": "user", "unit_id": people.other_unit.id if kind < 2 else people.unit.id,
                     "candidate_roles": ["iso_secretary"], "assignee_id": people.member.id if kind == 2 else None,
                     "state": "completed" if kind > 3 else "open", "priority": 50, "escalation_level": 0,
                     "created_at": clock.now - timedelta(minutes=n), "due_at": None})  # fmt: skip
        candidates.append({"task_id": task_id, "role": "iso_secretary"})
    session.execute(insert(TaskRow), rows)
    session.execute(insert(TaskCandidate), candidates)
    session.commit()
    session.execute(text("ANALYZE"))


def test_a_persons_own_list_walks_its_index_in_list_order(session: Session, people: People, clock: Clock) -> None:
    fill(session, people, clock)
    first = queries.task_page_query(session, people.member, "mine")
    assert_walks_index(plan(session, first), "ix_tasks_list", "tasks")
    later = queries.task_page_query(session, people.member, "mine", after=[clock.now.isoformat(), "0"])
    assert_walks_index(plan(session, later), "ix_tasks_list", "tasks")
    filtered = plan(session, queries.task_page_query(session, people.member, "mine",
                                                     filters=TaskFilter(priority="high", text="mục")))  # fmt: skip
    assert "SCAN tasks\n" not in filtered + "\n" and "Seq Scan on tasks " not in filtered, filtered  # an index

def test_the_claimable_list_by_priority_walks_the_tasks_index_for_someone_offered_many(
    session: Session, people: People, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(session, people, clock)
    monkeypatch.setattr(queries, "FEW_OFFERS", 100)  # the secretary's 2,000 open offers: many
    by_priority = queries.task_page_query(session, people.member, "claimable", InboxOptions(sort="priority"))
    found = plan(session, by_priority)
    assert_walks_index(found, "ix_tasks_list_priority", "tasks")
    if session.get_bind().dialect.name == "sqlite":  # each line's offer checked from its index alone
        assert "COVERING INDEX ix_task_candidates_offer" in found, found


def test_the_claimable_list_walks_the_persons_offers_in_list_order(
    session: Session, people: People, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One range of the offers' index per role the person holds and one for the offers by name, each in the
    list's order and each stopping after a page; only those few rows are merged and sorted."""
    fill(session, people, clock)
    for after in (None, [clock.now.isoformat(), "0"]):
        found = plan(session, queries.task_page_query(session, people.member, "claimable", after=after))
        assert "ix_task_candidates_claimable_role" in found and "ix_task_candidates_claimable_user" in found, found
        for table in ("tasks", "task_candidates"):
            assert f"SCAN {table}\n" not in found + "\n" and f"Seq Scan on {table} " not in found, found
        # one sort, of the merged pages only (a range read out of order would sort inside its branch)
        assert found.count("TEMP B-TREE FOR ORDER BY") <= 1, found
        assert len(re.findall(r"(^|->)\s*(Incremental )?Sort\s+\(", found, re.MULTILINE)) <= 1, found
    filtered = plan(session, queries.task_page_query(session, people.member, "claimable",
                                                     filters=TaskFilter(priority="high", text="mục")))  # fmt: skip
    assert "SCAN tasks\n" not in filtered + "\n" and "Seq Scan on tasks " not in filtered, filtered
    # a filter that looks selective (a due week and a priority) still reads the person's offers first: not a
    # walk of the tasks' index across everyone's tasks with the offers joined to it
    week = TaskFilter(priority="high", due_from=clock.now, due_before=clock.now + timedelta(days=7))
    monkeypatch.setattr(queries, "FEW_OFFERS", 5000)  # the secretary's 2,000 offers: few enough for it
    found = plan(session, queries.task_page_query(session, people.member, "claimable", filters=week))
    # (the count reads the same ranges) each range of offers is the outer side: the first index named
    first = re.search(r"ix_task_candidates_claimable_role|ix_tasks_\w+", found)
    assert first is not None and first.group() == "ix_task_candidates_claimable_role", found


def test_the_unfiltered_claimable_list_looks_up_each_offers_task_by_its_key_whatever_the_planner_expects(
    session: Session, people: People, clock: Clock
) -> None:
    """The offers' copies follow their task, so nearly every offer passes the task's check and a page is found
    after a page of offers (with a filter no index serves, after a page of matches). PostgreSQL's planner cannot
    know that: with fresh statistics it expected few offers to pass and joined every offer of the range to every
    open task of the unit (a department head's inbox at 50 ms, 55–85 ms filtered by due date or process). The
    pages and their counts look up each offer's task by its key, in the offers' order, even when the planner
    would rather join: here it may not use a nested loop at all."""
    fill(session, people, clock, 2000)
    member = people.member
    process = TaskFilter(process="quality_objectives", due_before=clock.now + timedelta(days=400))

    def pages_and_counts() -> None:
        page = queries.task_page(session, member, "claimable", limit=5)
        queries.task_page(session, member, "claimable", after=page.next_after, limit=5)
        queries.task_count(session, member, "claimable")
        queries.task_page(session, member, "claimable", filters=process, limit=5)
        queries.task_count(session, member, "claimable", filters=process)

    with statements(session) as seen:
        pages_and_counts()
    sent = [(sql, values) for sql, values in seen if "task_candidates" in sql]
    assert len(sent) == 5, sent
    connection = session.connection()
    for sql, values in sent:
        if connection.dialect.name == "sqlite":
            found = "\n".join(str(row[-1]) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, values))
            assert "CORRELATED" in found and re.search(r"SEARCH tasks USING \w* ?INDEX \w+ \(id=\?\)", found), found
        else:
            connection.execute(text("SET LOCAL enable_nestloop = off"))
            found = "\n".join(str(row[0]) for row in connection.exec_driver_sql("EXPLAIN " + sql, values))
            lines = found.splitlines()
            reads = [n for n, line in enumerate(lines) if re.search(r"Scan .*\bon tasks\b", line)]
            assert reads and "SubPlan" in found, found
            for n in reads:  # the tasks are only looked up by key, one offer at a time: never scanned to join
                assert "Index Scan using pk_tasks on tasks" in lines[n], found
                assert re.search(r"Index Cond: \(\(id\)::text = \(task_candidates(_\d+)?\.task_id", lines[n + 1]), found
        assert "ix_task_candidates_claimable_role" in found, found


def test_the_instance_and_notice_lists_use_their_indexes(session: Session, people: People, clock: Clock) -> None:
    fill(session, people, clock, 600)
    model = session.scalars(select(ProcessInstance)).first()
    assert model is not None
    session.execute(insert(ProcessInstance), [
        {"definition_id": model.definition_id, "unit_id": people.other_unit.id if n % 20 else people.unit.id,
         "status": "running", "state": "{}", "revision": 1, "started_at": clock.now - timedelta(minutes=n),
         "updated_at": clock.now, "paused_seconds": 0} for n in range(3000)])  # fmt: skip
    session.add_all(Notice(user_id=people.outsider_member.id if n % 5 else people.member.id, unit_id=people.unit.id,
                           kind="test", title=f"{n}", created_at=clock.now - timedelta(minutes=n))
                    for n in range(3000))  # fmt: skip
    session.commit()
    session.execute(text("ANALYZE"))
    found = plan(session, queries.instances_query(session, people.leader, 100))
    assert_walks_index(found, "ix_process_instances_unit_started", "process_instances")
    assert_walks_index(plan(session, queries.notices_query(people.member)), "ix_notices_user_created", "notices")
    assert len(queries.instances_for(session, people.leader)) == 100  # the newest hundred of the leader's unit
    # the next pages walk the same indexes from where the previous page stopped
    _, after = queries.instance_page(session, people.leader, None, 50)
    assert after is not None
    later = plan(session, queries.instance_page_query(session, people.leader, after, 50))
    assert_walks_index(later, "ix_process_instances_unit_started", "process_instances")
    _, seen = queries.notice_page(session, people.member, None, 50)
    assert seen is not None
    assert_walks_index(plan(session, queries.notice_page_query(people.member, seen, 50)), "ix_notices_user_created",
                       "notices")  # fmt: skip


def test_the_instance_list_of_someone_who_sees_their_own_work_reads_it_from_its_indexes(
    session: Session, people: People, users: dict[str, Any], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A specialist's instance list starts from her own work: each part read from an index that holds the
    instance after the person (or the offer's unit and role), in order and without a sort, and the page's
    instances by their ids, not by walking the unit."""
    fill(session, people, clock)
    specialist = users["chuyenvien"]
    instance = session.scalars(select(ProcessInstance)).first()
    assert instance is not None
    rows = [{"id": f"own-{n:05d}", "instance_id": instance.id, "element_id": "draft", "name": "Việc",
             "kind": "user", "unit_id": people.unit.id, "candidate_roles": ["specialist"],
             "assignee_id": specialist.id if n % 3 == 0 else None, "owner_id": specialist.id if n % 7 == 0 else None,
             "completed_by_id": specialist.id if n % 3 == 1 else None,
             "state": "completed" if n % 3 == 1 else "open", "priority": 50, "escalation_level": 0,
             "created_at": clock.now, "due_at": None} for n in range(600)]  # fmt: skip
    session.execute(insert(TaskRow), rows)
    session.execute(insert(TaskCandidate), [{"task_id": r["id"], "role": "specialist"} for r in rows])
    session.execute(insert(ProcessInstance), [  # the unit's other instances, none of them hers
        {"definition_id": instance.definition_id, "unit_id": people.unit.id, "status": "running", "state": "{}",
         "revision": 1, "started_at": clock.now - timedelta(minutes=n), "updated_at": clock.now,
         "paused_seconds": 0} for n in range(3000)])  # fmt: skip
    session.commit()
    session.execute(text("ANALYZE"))
    parts = queries.own_work_parts(session, specialist)
    assert parts is not None
    expected = [("ix_task_candidates_open_role", "task_candidates"),
                ("ix_task_candidates_open_user", "task_candidates"),
                ("ix_process_instances_started_by", "process_instances"), ("ix_tasks_assignee_work", "tasks"),
                ("ix_tasks_owner_work", "tasks"), ("ix_tasks_completed_by", "tasks")]  # fmt: skip
    assert len(parts) == len(expected)
    for part, (index, table) in zip(parts, expected, strict=True):
        assert_walks_index(plan(session, part), index, table)
    found = plan(session, queries.instances_query(session, specialist, 50), sorts=True)
    assert "INTEGER PRIMARY KEY" in found or "pk_process_instances" in found, found  # her instances by id
    assert "ix_process_instances_unit_started" not in found, found  # not the unit's walk
    # the walk (past OWN_WORK) checks each instance with a probe of an index per part of the rule, not by
    # reading the instance's tasks
    monkeypatch.setattr(queries, "OWN_WORK", 0)
    walked = plan(session, queries.instances_query(session, specialist, 50))
    assert "ix_process_instances_unit_started" in walked, walked
    for table in ("tasks", "task_candidates"):
        assert f"SCAN {table}\n" not in walked + "\n" and f"Seq Scan on {table} " not in walked, walked
    if session.get_bind().dialect.name == "sqlite":  # (PostgreSQL may hash each part's instances once instead)
        for index in ("ix_tasks_assignee_work", "ix_tasks_owner_work", "ix_tasks_completed_by",
                      "ix_task_candidates_instance"):
            assert f"COVERING INDEX {index}" in walked, (index, walked)
        assert "ix_tasks_instance_state" not in walked, walked


@pytest.mark.parametrize("few_offers", [500, 0], ids=["from-offers", "tasks-walk"])
def test_a_row_of_another_unit_naming_the_person_shows_in_none_of_their_pages(
    session: Session, people: People, clock: Clock, monkeypatch: pytest.MonkeyPatch, few_offers: int
) -> None:
    """A task of a unit where the person holds no role never reaches their lists, even when its row names
    them as holder or as the one it is offered to (the unit wall is part of every page and count), whether
    the ranked lists are read from the person's offers or, past ``FEW_OFFERS``, from the tasks' indexes."""
    monkeypatch.setattr(queries, "FEW_OFFERS", few_offers)
    held, offered = start_many(session, people, clock, 2, unit_id=people.other_unit.id)
    session.execute(update(TaskRow).where(TaskRow.id == held).values(assignee_id=people.member.id))
    session.execute(update(TaskCandidate).where(TaskCandidate.task_id == offered).values(
        role=None, user_id=people.member.id))  # fmt: skip
    session.commit()
    high = TaskFilter(priority="normal")
    for which in ("mine", "claimable"):
        for sort in ("received", "priority"):
            assert queries.task_page(session, people.member, which, InboxOptions(sort=sort)).lines == []
        assert queries.task_page(session, people.member, which, filters=high).lines == []
        assert queries.task_count(session, people.member, which) == 0
        assert queries.task_count(session, people.member, which, filters=high) == 0
    # the same rows in the person's own unit do reach them: the refusal above is the wall, not the rows
    session.execute(update(TaskRow).where(TaskRow.id.in_([held, offered])).values(unit_id=people.unit.id))
    session.commit()
    assert [line.id for line in queries.task_page(session, people.member, "mine").lines] == [held]
    for sort in ("received", "priority"):
        page = queries.task_page(session, people.member, "claimable", InboxOptions(sort=sort))
        assert [line.id for line in page.lines] == [offered]
    assert [line.id for line in queries.task_page(session, people.member, "claimable", filters=high).lines] == [
        offered]  # fmt: skip


def test_an_offer_left_claimable_by_mistake_never_shows_a_held_or_finished_task(
    session: Session, people: People, clock: Clock
) -> None:
    """The claimable list reads the offers' copy of their task's state, and checks the task itself: an offer
    still marked claimable after its task was taken or finished (a repair by hand, a fault) hides nothing and
    shows nothing more: the task is in none of the person's claimable pages and counts, filtered or not."""
    free, held, finished = start_many(session, people, clock, 3)
    session.execute(update(TaskRow).where(TaskRow.id == held).values(assignee_id=people.leader.id))
    session.execute(update(TaskRow).where(TaskRow.id == finished).values(state="completed"))
    session.execute(update(TaskCandidate).where(TaskCandidate.task_id.in_([held, finished])).values(claimable=True))
    session.commit()
    assert session.scalar(select(func.count()).where(TaskCandidate.claimable.is_(True))) >= 3  # the copies lie
    process = TaskFilter(process="quality_objectives")
    for options in (InboxOptions(), InboxOptions(sort="priority")):
        for filters in (NO_FILTER, process):
            page = queries.task_page(session, people.member, "claimable", options, filters)
            assert [line.id for line in page.lines] == [free], (options, filters)
            assert walk(session, people.member, "claimable", options, filters, limit=1) == [[free]]
            assert queries.task_count(session, people.member, "claimable", options, filters) == 1


def add_instances(session: Session, people: People, clock: Clock, count: int) -> dict[int, list[int]]:
    """``count`` instances, a third in the other unit, started at two moments only (ties on every page)."""
    model = session.scalars(select(ProcessInstance)).first()
    assert model is not None
    session.execute(insert(ProcessInstance), [
        {"definition_id": model.definition_id, "unit_id": people.other_unit.id if n % 3 == 0 else people.unit.id,
         "status": "running", "state": "{}", "revision": 1, "started_at": clock.now - timedelta(minutes=n % 2),
         "updated_at": clock.now, "paused_seconds": 0} for n in range(count)])  # fmt: skip
    session.commit()
    by_unit: dict[int, list[int]] = {}
    newest = (ProcessInstance.started_at.desc(), ProcessInstance.id.desc())
    for unit_id, instance_id in session.execute(select(ProcessInstance.unit_id, ProcessInstance.id).order_by(*newest)):
        by_unit.setdefault(unit_id, []).append(instance_id)
    return by_unit


def walk_newest(page: Any, limit: int) -> list[list[int]]:
    pages, after = [], None
    while True:
        rows, after = page(after, limit)
        pages.append([row.id for row in rows])
        if after is None:
            return pages


def test_instance_pages_neither_repeat_nor_skip_when_start_times_tie_and_keep_the_unit_wall(
    session: Session, people: People, clock: Clock
) -> None:
    start_many(session, people, clock, 1)  # a definition to point at
    by_unit = add_instances(session, people, clock, 30)
    ours, theirs = by_unit[people.unit.id], by_unit[people.other_unit.id]
    pages = walk_newest(lambda after, limit: queries.instance_page(session, people.leader, after, limit), 4)
    assert [len(p) for p in pages] == [4] * (len(ours) // 4) + ([len(ours) % 4] if len(ours) % 4 else [])
    assert [i for p in pages for i in p] == ours  # newest first, the id breaking ties: nothing twice or left out
    # a member of the other unit walks only that unit's instances, on every page
    outsider = walk_newest(lambda after, limit: queries.instance_page(session, people.outsider_member, after, limit), 3)
    assert [i for p in outsider for i in p] == theirs
    assert len(outsider) > 1
    # a key taken from the leader's page 2 gives the outsider nothing of the leader's unit either
    _, after = queries.instance_page(session, people.leader, None, 4)
    rows, _ = queries.instance_page(session, people.outsider_member, after, 4)
    assert rows and not {r.id for r in rows} & set(ours)


def test_notice_pages_neither_repeat_nor_skip_when_times_tie_and_show_only_the_persons_own(
    session: Session, people: People, clock: Clock
) -> None:
    session.add_all(Notice(user_id=people.outsider_member.id if n % 4 == 0 else people.member.id,
                           unit_id=people.unit.id, kind="test", title=f"{n}",
                           created_at=clock.now - timedelta(minutes=n % 2)) for n in range(21))  # fmt: skip
    session.commit()
    newest = (Notice.created_at.desc(), Notice.id.desc())
    mine = list(session.scalars(select(Notice.id).where(Notice.user_id == people.member.id).order_by(*newest)))
    pages = walk_newest(lambda after, limit: queries.notice_page(session, people.member, after, limit), 4)
    assert [i for p in pages for i in p] == mine and len(pages) == 4
    theirs = walk_newest(lambda after, limit: queries.notice_page(session, people.outsider_member, after, limit), 2)
    assert not {i for p in theirs for i in p} & set(mine) and len(theirs) == 3


def test_a_newest_first_page_key_that_is_not_a_moment_and_an_id_is_refused() -> None:
    assert queries.instant_key(["2026-01-02T03:04:05", 7]) == (datetime(2026, 1, 2, 3, 4, 5), 7)
    for raw in (["2026-01-02T03:04:05"], ["yesterday", 7], ["2026-01-02T03:04:05", "7"],
                ["2026-01-02T03:04:05", True], [7, "2026-01-02T03:04:05"]):  # fmt: skip
        with pytest.raises(queries.BadPageLink) as refused:
            queries.instant_key(raw)
        assert str(refused.value) == BAD_LINK


def add_dossiers(session: Session, people: People, clock: Clock, count: int) -> dict[int, list[int]]:
    """A dossier for each of ``count`` new instances (a third in the other unit), received at two moments."""
    by_unit = add_instances(session, people, clock, count)
    instances = session.execute(select(ProcessInstance.id, ProcessInstance.unit_id)).all()
    session.execute(insert(Dossier), [
        {"unit_id": unit_id, "instance_id": instance_id, "code": f"HS-{instance_id}", "procedure_code": "1.001",
         "procedure_name": "Thủ tục", "applicant_name": "Người nộp", "applicant_phone": "0900000000", "status": 2,
         "received_at": clock.now - timedelta(minutes=instance_id % 2)}
        for instance_id, unit_id in instances])  # fmt: skip
    session.commit()
    newest = (Dossier.received_at.desc(), Dossier.id.desc())
    found: dict[int, list[int]] = {}
    for unit_id, dossier_id in session.execute(select(Dossier.unit_id, Dossier.id).order_by(*newest)):
        found.setdefault(unit_id, []).append(dossier_id)
    assert set(found) == set(by_unit)
    return found


def test_dossier_pages_neither_repeat_nor_skip_when_receipt_times_tie_and_keep_the_unit_wall(
    session: Session, people: People, clock: Clock
) -> None:
    start_many(session, people, clock, 1)
    by_unit = add_dossiers(session, people, clock, 30)
    ours, theirs = by_unit[people.unit.id], by_unit[people.other_unit.id]
    whole = DossierFilter()
    pages = walk_newest(lambda after, limit: dossiers.dossier_page(session, people.leader, whole, after, limit), 4)
    assert [i for p in pages for i in p] == ours and len(pages) == -(-len(ours) // 4)
    outsider = walk_newest(lambda after, limit: dossiers.dossier_page(session, people.outsider_leader, whole, after,
                                                                      limit), 3)  # fmt: skip
    assert [i for p in outsider for i in p] == theirs and len(outsider) > 1
    _, after = dossiers.dossier_page(session, people.leader, whole, None, 4)
    rows, _ = dossiers.dossier_page(session, people.outsider_leader, whole, after, 4)
    assert rows and not {r.id for r in rows} & set(ours)
    assert dossiers.count_dossiers(session, people.leader, whole) == len(ours)
    assert dossiers.count_dossiers(session, people.leader, whole, cap=5) == 6  # one past the cap: "5+"
    assert dossiers.count_dossiers(session, people.outsider_leader, whole) == len(theirs)


def test_the_dossier_list_walks_its_index_on_every_page(session: Session, people: People, clock: Clock) -> None:
    start_many(session, people, clock, 1)
    add_dossiers(session, people, clock, 3000)
    session.execute(text("ANALYZE"))
    whole = DossierFilter()
    first = plan(session, dossiers.dossier_page_query(session, people.leader, whole, None, 100))
    assert_walks_index(first, "ix_dossiers_unit_received", "dossiers")
    _, after = dossiers.dossier_page(session, people.leader, whole, None, 100)
    assert after is not None
    later = plan(session, dossiers.dossier_page_query(session, people.leader, whole, after, 100))
    assert_walks_index(later, "ix_dossiers_unit_received", "dossiers")


def test_the_priority_order_pages_through_tasks_of_one_priority_by_due_moment_then_those_without(
    session: Session, people: People, clock: Clock
) -> None:
    tasks = start_many(session, people, clock, 5)
    dues = [clock.now + timedelta(hours=h) for h in (5, 1, 3)] + [None, None]
    for task_id, due in zip(tasks, dues, strict=True):  # one priority: the due moment orders, no due date last
        session.execute(update(TaskRow).where(TaskRow.id == task_id).values(priority=60, due_at=due))
    session.commit()
    pages = walk(session, people.member, "claimable", InboxOptions(sort="priority"), limit=2)
    assert [t for page in pages for t in page][:3] == [tasks[1], tasks[2], tasks[0]]
    assert sorted(t for page in pages for t in page) == sorted(tasks)  # none skipped, none twice


def test_a_page_of_one_and_a_list_that_fills_its_last_page_exactly(session: Session, people: People,
                                                                   clock: Clock) -> None:  # fmt: skip
    tasks = start_many(session, people, clock, 4)
    assert [len(p) for p in walk(session, people.member, "claimable", InboxOptions(), limit=1)] == [1, 1, 1, 1]
    pages = walk(session, people.member, "claimable", InboxOptions(), limit=2)
    assert [len(p) for p in pages] == [2, 2]  # no empty third page behind a "next" link
    assert sorted(t for page in pages for t in page) == sorted(tasks)


def test_the_claimable_list_follows_each_task_whatever_changes_it(session: Session, people: People,
                                                                  clock: Clock) -> None:  # fmt: skip
    """The list is read from the offers' copies of their task: a claim, a hand-back, a completion, and a
    write of the task's row outside the engine's commands (a repair in SQL) each show at once."""
    from tests.conftest import make_user
    from tests.engine.test_runtime import DRAFT

    engine = Engine(session)
    second = make_user(session, "thuky_hai", people.unit, ("iso_secretary",))
    a, b, c = sorted(start_many(session, people, clock, 3))

    def offered(user: Any = second) -> tuple[list[str], int | None]:
        session.commit()
        lines = [line.id for line in queries.task_page(session, user, "claimable").lines]
        return lines, queries.task_count(session, user, "claimable")

    assert offered() == ([a, b, c], 3)
    engine.claim(a, actor=people.member, now=clock.now)
    assert offered() == ([b, c], 2)
    assert a in [line.id for line in queries.task_page(session, people.member, "mine").lines]
    engine.unclaim(a, actor=people.member, now=clock.now)
    assert offered() == ([a, b, c], 3)
    engine.claim(b, actor=second, now=clock.now)
    engine.complete(b, actor=second, now=clock.now, variables=DRAFT)
    assert offered() == ([a, c], 2)
    assert b not in offered(people.member)[0]
    session.execute(update(TaskRow).where(TaskRow.id == c).values(state="cancelled"))
    assert offered() == ([a], 1)
    session.execute(update(TaskRow).where(TaskRow.id == c).values(state="open"))
    assert offered() == ([a, c], 2)
    session.execute(update(TaskRow).where(TaskRow.id == a).values(assignee_id=people.leader.id))
    assert offered() == ([c], 1)
    # an offer written later (an administrator's role added to a task) starts from its task's state
    session.add_all([TaskCandidate(task_id=a, role="admin"), TaskCandidate(task_id=c, role="admin")])
    admin = make_user(session, "quantri_hai", people.unit, ("admin",))
    assert offered(admin) == ([c], 1)
    # offered to the person by name and to two roles they hold: one line, counted once
    session.add_all([TaskCandidate(task_id=c, role="specialist"), TaskCandidate(task_id=c, user_id=people.member.id)])
    assert offered(people.member) == ([c], 1)


def test_a_ranked_claimable_list_walks_the_offers_only_when_they_are_few(
    session: Session, people: People, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The offers' index is in received order and knows no priority: the priority order, or a priority filter
    few tasks pass, would read every offer of a person who may claim thousands, so past ``FEW_OFFERS`` those
    lists walk the tasks' indexes. Either way the same lines in the same order, and the same count."""
    ours = start_many(session, people, clock, 3)
    for n, task_id in enumerate(ours):  # priorities 80, 50, 20: the priority order is the reverse of the ids'
        session.execute(update(TaskRow).where(TaskRow.id == task_id).values(priority=80 - 30 * n))
    session.commit()
    normal = TaskFilter(priority="normal")
    ranked = InboxOptions(sort="priority")

    def read(options: InboxOptions, filters: TaskFilter) -> tuple[str, list[str], int | None]:
        found = plan(session, queries.task_page_query(session, people.member, "claimable", options, filters))
        lines = [line.id for line in queries.task_page(session, people.member, "claimable", options, filters).lines]
        return found, lines, queries.task_count(session, people.member, "claimable", options, filters)

    monkeypatch.setattr(queries, "FEW_OFFERS", 3)  # the secretary's three offers: few enough
    found, lines, count = read(InboxOptions(), normal)
    assert "ix_task_candidates_claimable_role" in found and (lines, count) == ([ours[1]], 1), found
    found, lines, count = read(ranked, NO_FILTER)
    # read from the offers (on a few rows the planner may pick any of their indexes), not the unit's queue
    assert "ix_tasks_list" not in found and "task_candidates" in found and (lines, count) == (ours, 3), found
    assert walk(session, people.member, "claimable", ranked, limit=1) == [[ours[0]], [ours[1]], [ours[2]]]
    monkeypatch.setattr(queries, "FEW_OFFERS", 2)
    found, lines, count = read(InboxOptions(), normal)
    assert "ix_task_candidates_claimable" not in found and "ix_tasks_list" in found, found
    assert (lines, count) == ([ours[1]], 1)
    found, lines, count = read(ranked, NO_FILTER)
    assert "ix_task_candidates_claimable" not in found and "ix_tasks_list_priority" in found, found
    assert (lines, count) == (ours, 3)
    by_follow_up = InboxOptions(follow_up_by=clock.now + timedelta(days=1))  # the follow-up date: indexed too
    found = plan(session, queries.task_page_query(session, people.member, "claimable", by_follow_up))
    assert "ix_task_candidates_claimable" not in found, found
    # without those the list stops after a page of offers, however many there are; and so it does with the
    # filters no index of the tasks serves (due date, process, words)
    for other in (NO_FILTER, TaskFilter(due_before=clock.now + timedelta(days=400), process="quality_objectives",
                                        text="mục")):  # fmt: skip
        found = plan(session, queries.task_page_query(session, people.member, "claimable", filters=other))
        assert "ix_task_candidates_claimable_role" in found, found
