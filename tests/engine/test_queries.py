"""The read side with two units: every list (inbox, claimable, notices, instances, startable processes) shows a
person only what belongs to them and their units, in the order the inbox promises."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine, NotAllowed, queries
from engine.org.models import Notice, RoleAssignment, Unit, User
from engine.runtime.models import ProcessDefinition, ProcessInstance, TaskRow
from engine.runtime.queries import InboxOptions
from tests.conftest import Clock, People, make_user
from tests.engine.test_runtime import DRAFT

pytestmark = pytest.mark.usefixtures("library")


def start_in(session: Session, actor: User, unit_id: int, clock: Clock, key: str) -> ProcessInstance:
    return Engine(session).start("quality_objectives", actor=actor, unit_id=unit_id, now=clock.now, business_key=key)


def open_task(session: Session, instance: ProcessInstance) -> TaskRow:
    rows = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id, TaskRow.state == "open")).all()
    assert len(rows) == 1
    return rows[0]


@pytest.fixture
def two_units(session: Session, people: People, clock: Clock) -> tuple[ProcessInstance, ProcessInstance]:
    """The quality-objectives process running in the demo unit and in the other unit, one draft task each."""
    ours = start_in(session, people.member, people.unit.id, clock, "MT-SKHCN")
    clock.advance(minutes=5)
    theirs = start_in(session, people.outsider_member, people.other_unit.id, clock, "MT-BMT")
    return ours, theirs


def ids(rows: list[TaskRow] | list[ProcessInstance]) -> list[object]:
    return [r.id for r in rows]


def test_claimable_tasks_are_those_of_the_persons_roles_in_the_tasks_unit(
    session: Session, people: People, two_units: tuple[ProcessInstance, ProcessInstance]
) -> None:
    ours, theirs = (open_task(session, i) for i in two_units)
    assert ids(queries.claimable_tasks(session, people.member)) == [ours.id]
    assert ids(queries.claimable_tasks(session, people.outsider_member)) == [theirs.id]
    assert queries.claimable_tasks(session, people.nobody) == []
    assert queries.claimable_tasks(session, people.leader) == []  # leaders review; they do not draft
    counts = queries.inbox_counts(session, people.member)
    assert (counts.mine, counts.claimable, counts.unread_notices) == (0, 1, 0)
    assert queries.inbox_counts(session, people.nobody) == queries.InboxCounts(0, 0, 0)


def test_a_role_held_in_another_unit_offers_no_task_here(
    session: Session, people: People, clock: Clock, two_units: tuple[ProcessInstance, ProcessInstance]
) -> None:
    """A leader here who is an ISO secretary of the other unit is offered that unit's draft, not this one's."""
    both = make_user(session, "hai_vai", people.unit, ("unit_leader",))
    session.add(RoleAssignment(user_id=both.id, unit_id=people.other_unit.id, role="iso_secretary"))
    session.commit()
    ours, theirs = (open_task(session, i) for i in two_units)
    assert ids(queries.claimable_tasks(session, both)) == [theirs.id]
    assert queries.inbox_counts(session, both).claimable == 1
    with pytest.raises(NotAllowed):
        Engine(session).claim(ours.id, actor=both, now=clock.now)


def test_a_task_offered_to_one_person_by_name_reaches_only_them(
    session: Session, people: People, users: dict[str, User], two_units: tuple[ProcessInstance, ProcessInstance]
) -> None:
    ours = open_task(session, two_units[0])
    ours.candidate_roles = []
    for candidate in session.scalars(select(queries.TaskCandidate).where(queries.TaskCandidate.task_id == ours.id)):
        candidate.role, candidate.user_id = None, users["chuyenvien"].id
    session.commit()
    assert ids(queries.claimable_tasks(session, users["chuyenvien"])) == [ours.id]
    assert queries.claimable_tasks(session, people.member) == []


def test_my_tasks_are_the_open_tasks_i_hold(
    session: Session, people: People, clock: Clock, two_units: tuple[ProcessInstance, ProcessInstance]
) -> None:
    ours, theirs = (open_task(session, i) for i in two_units)
    eng = Engine(session)
    eng.claim(ours.id, actor=people.member, now=clock.now)
    eng.claim(theirs.id, actor=people.outsider_member, now=clock.now)
    assert ids(queries.my_tasks(session, people.member)) == [ours.id]
    assert ids(queries.my_tasks(session, people.outsider_member)) == [theirs.id]
    assert queries.claimable_tasks(session, people.member) == []  # a held task is no longer offered
    assert queries.inbox_counts(session, people.member) == queries.InboxCounts(1, 0, 0)

    eng.complete(ours.id, actor=people.member, now=clock.now, variables=DRAFT)
    assert queries.my_tasks(session, people.member) == []  # completed tasks leave the list
    assert queries.inbox_counts(session, people.member).mine == 0


def test_the_inbox_sorts_by_arrival_or_by_priority_then_due_date_and_filters_by_follow_up(
    session: Session, people: People, clock: Clock
) -> None:
    instances = []
    for n in range(4):
        instances.append(start_in(session, people.member, people.unit.id, clock, f"MT-{n}"))
        clock.advance(minutes=1)
    rows = [open_task(session, i) for i in instances]
    base = clock.now
    for row, priority, due, follow in zip(
        rows, (50, 80, 80, 20), (None, 8, 4, 1), (None, -1, 0, 1), strict=True
    ):
        row.priority = priority
        row.due_at = base + timedelta(hours=due) if due is not None else None
        row.follow_up_at = base + timedelta(hours=follow) if follow is not None else None
    session.commit()
    by_received = queries.claimable_tasks(session, people.member)
    assert ids(by_received) == ids(rows)
    by_priority = queries.claimable_tasks(session, people.member, InboxOptions(sort="priority"))
    assert ids(by_priority) == [rows[2].id, rows[1].id, rows[0].id, rows[3].id]
    due_now = queries.claimable_tasks(session, people.member, InboxOptions(follow_up_by=base))
    assert ids(due_now) == [rows[1].id, rows[2].id]  # follow-up at or before the moment, none without a date


def test_notices_are_the_persons_own_newest_first_and_unread_ones_are_counted(
    session: Session, people: People, clock: Clock
) -> None:
    def notice(user: User, minutes: int, read: bool = False) -> Notice:
        made = Notice(user_id=user.id, unit_id=people.unit.id, kind="test", title=f"{user.username} {minutes}",
                      created_at=clock.now + timedelta(minutes=minutes),
                      read_at=clock.now if read else None)  # fmt: skip
        session.add(made)
        return made

    old, new, read = notice(people.member, 1), notice(people.member, 3), notice(people.member, 2, read=True)
    notice(people.outsider_member, 4)
    session.commit()
    assert ids(queries.notices(session, people.member)) == [new.id, read.id, old.id]  # type: ignore[arg-type]
    assert ids(queries.notices(session, people.member, limit=2)) == [new.id, read.id]  # type: ignore[arg-type]
    assert queries.inbox_counts(session, people.member).unread_notices == 2
    assert queries.notices(session, people.nobody) == []

    queries.mark_notice_read(session, old.id, people.member, clock.now + timedelta(hours=1))
    queries.mark_notice_read(session, read.id, people.member, clock.now + timedelta(hours=1))
    session.expire_all()
    assert old.read_at == clock.now + timedelta(hours=1)
    assert read.read_at == clock.now  # reading again keeps the first time it was read
    assert queries.inbox_counts(session, people.member).unread_notices == 1


def test_instances_and_their_pages_are_for_members_of_the_instances_unit(
    session: Session, people: People, users: dict[str, User], clock: Clock,
    two_units: tuple[ProcessInstance, ProcessInstance],
) -> None:  # fmt: skip
    ours, theirs = two_units
    clock.advance(minutes=1)
    newer = start_in(session, people.member, people.unit.id, clock, "MT-newer")
    assert ids(queries.instances_for(session, people.member)) == [newer.id, ours.id]
    assert ids(queries.instances_for(session, users["giamdoc"])) == [newer.id, ours.id]  # the unit's leader
    assert queries.instances_for(session, users["chuyenvien"]) == []  # a specialist sees only their own work
    assert ids(queries.instances_for(session, people.member, limit=1)) == [newer.id]
    assert ids(queries.instances_for(session, people.outsider_member)) == [theirs.id]
    assert queries.instances_for(session, people.nobody) == []
    assert queries.may_view_instance(session, users["danhgiavien"], ours)  # the internal auditor reads it all
    assert not queries.may_view_instance(session, users["chuyenvien"], ours)
    assert not queries.may_view_instance(session, people.outsider_member, ours)
    assert not queries.may_view_instance(session, people.nobody, theirs)


def test_startable_processes_are_offered_in_the_units_where_the_person_holds_a_starter_role(
    session: Session, people: People, users: dict[str, User], two_units: tuple[ProcessInstance, ProcessInstance]
) -> None:
    def units_for(user: User) -> list[int] | None:
        return dict((d.key, u) for d, u in queries.startable(session, user)).get("quality_objectives")

    assert units_for(people.member) == [people.unit.id]
    assert units_for(people.outsider_member) == [people.other_unit.id]
    assert units_for(users["chuyenvien"]) is None  # a specialist is not among the starters
    assert queries.startable(session, people.nobody) == []


def test_only_the_latest_active_executable_version_is_offered(session: Session, people: People) -> None:
    active = {d.key: d for d in queries.active_definitions(session, [people.unit.id])}
    current = active["quality_objectives"]
    assert current.status == "active"
    assert "change_control" in active
    for status, executable in (("draft", True), ("active", False), ("returned", True), ("superseded", True)):
        clone = ProcessDefinition(**{c.key: getattr(current, c.key) for c in ProcessDefinition.__table__.columns
                                     if c.key not in ("id", "version", "status", "executable")},
                                  version=session.scalar(select(ProcessDefinition.version)
                                                         .order_by(ProcessDefinition.version.desc()).limit(1)) + 1,
                                  status=status, executable=executable)  # fmt: skip
        session.add(clone)
        session.commit()
        offered = {d.key: d.id for d in queries.active_definitions(session, [people.unit.id])}
        assert offered["quality_objectives"] == current.id, status
    names = [d.name for d in queries.active_definitions(session, [people.unit.id])]
    assert names == sorted(names)


def test_an_instances_steps_and_history_are_its_own_in_order(
    session: Session, people: People, clock: Clock, two_units: tuple[ProcessInstance, ProcessInstance]
) -> None:
    ours, theirs = two_units
    draft = open_task(session, ours)
    clock.advance(minutes=1)
    Engine(session).complete(draft.id, actor=people.member, now=clock.now, variables=DRAFT)
    review = open_task(session, ours)
    assert ids(queries.instance_tasks(session, ours.id)) == [draft.id, review.id]
    assert ids(queries.instance_tasks(session, theirs.id)) == [open_task(session, theirs).id]
    events = [(e.kind, e.task_id) for e in queries.history(session, ours.id)]
    assert events == [("instance_started", None), ("task_created", draft.id), ("task_claimed", draft.id),
                      ("task_completed", draft.id), ("task_created", review.id)]  # fmt: skip
    assert [e.kind for e in queries.history(session, theirs.id)] == ["instance_started", "task_created"]
    assert queries.element_states(session, ours.id) == {"draft_objectives": "completed",
                                                        "review_objectives": "open"}  # fmt: skip
    assert queries.element_states(session, theirs.id) == {"draft_objectives": "open"}


def test_administrators_are_those_with_the_admin_role(session: Session, people: People, users: dict[str, User]) -> None:
    assert queries.is_admin(session, users["admin"])
    assert queries.is_admin(session, people.outsider_member)  # admin of the other unit
    assert not queries.is_admin(session, people.member)
    assert not queries.is_admin(session, people.nobody)


def test_the_library_shows_each_person_the_shared_lines_and_their_own_units_lines_only(
    session: Session, people: People, users: dict[str, User], clock: Clock,
    two_units: tuple[ProcessInstance, ProcessInstance],
) -> None:  # fmt: skip
    from engine import Deployer
    from tests.engine.test_ownership import direct, files

    key = "quality_objectives"
    first = queries.active_definition(session, key)
    shared = Deployer(session).deploy(files("quality-objectives.bpmn", replace=("Soạn", "Chuẩn bị")),
                                      actor=users["admin"], now=clock.now, unit_id=None).definitions[0]  # fmt: skip
    two_units[1].status = "completed"  # the other unit's instance of the first shared version is done
    direct(session, people.other_unit)
    theirs = Deployer(session).deploy(files("quality-objectives.bpmn", replace=("Soạn", "Viết")),
                                      actor=people.outsider_member, now=clock.now,
                                      unit_id=people.other_unit.id).definitions[0]  # fmt: skip
    Engine(session).start(key, actor=people.outsider_member, unit_id=people.other_unit.id, now=clock.now)
    draft = Deployer(session).deploy(files("quality-objectives.bpmn", replace=("Soạn", "Lập")),
                                     actor=people.member, now=clock.now, unit_id=people.unit.id).definitions[0]
    assert (theirs.status, draft.status) == ("active", "draft")

    def lines(viewer: User) -> dict[tuple[int | None, str], tuple[int, int, int, int, tuple[int, ...]]]:
        return {(s.definition.unit_id, s.definition.key): (s.definition.version, s.versions, s.running, s.completed,
                                                           s.drafts)
                for s in queries.definition_summaries(session, viewer)}  # fmt: skip

    mine = lines(people.member)
    assert mine[(None, key)] == (shared.version, 2, 1, 0, ())  # ours; the other unit's instance is not counted
    assert mine[(people.unit.id, key)] == (draft.version, 1, 0, 0, (draft.version,))  # no active one: the draft
    assert (people.other_unit.id, key) not in mine
    outsider = lines(people.outsider_member)
    assert outsider[(None, key)] == (shared.version, 2, 0, 1, ())  # done before the unit had its own line
    assert outsider[(people.other_unit.id, key)] == (theirs.version, 1, 1, 0, ())
    assert (people.unit.id, key) not in outsider
    assert set(lines(people.nobody)) == {k for k in mine if k[0] is None}
    everything = lines(users["admin"])  # the system administrator reads every unit's lines
    assert {(None, key), (people.unit.id, key), (people.other_unit.id, key)} <= set(everything)
    assert everything[(None, key)] == (shared.version, 2, 1, 1, ())  # both units' instances
    assert everything[(people.other_unit.id, key)] == (theirs.version, 1, 1, 0, ())
    names = [s.definition.name for s in queries.definition_summaries(session, people.member)]
    assert names == sorted(names)

    groups = queries.library_groups(session, people.member)
    assert [g.unit.id if g.unit else None for g in groups] == [None, people.unit.id]
    assert [s.definition.id for s in groups[1].summaries] == [draft.id]
    assert [g.unit.id if g.unit else None for g in queries.library_groups(session, users["admin"])] == [
        None, *sorted((people.unit.id, people.other_unit.id), key=lambda i: session.get(Unit, i).name)]  # type: ignore[union-attr]

    def versions(viewer: User) -> list[tuple[int, str | None]]:
        return [(v.definition.version, v.deployed_by.username if v.deployed_by else None)
                for v in queries.definition_versions(session, key, viewer)]  # fmt: skip

    assert versions(people.member) == [(draft.version, "thuky"), (shared.version, "admin"), (first.version, None)]
    assert versions(people.outsider_member) == [(theirs.version, "thuky_bmt"), (shared.version, "admin"),
                                                (first.version, None)]  # fmt: skip
    assert versions(people.nobody) == [(shared.version, "admin"), (first.version, None)]
    assert [v for v, _ in versions(users["admin"])] == [draft.version, theirs.version, shared.version, first.version]

    assert queries.may_read_definition(session, people.nobody, shared)
    assert queries.may_read_definition(session, people.outsider_member, theirs)
    assert not queries.may_read_definition(session, people.member, theirs)
    assert queries.may_read_definition(session, users["admin"], theirs)
    assert queries.visible_units(session, users["admin"]) is None
    assert queries.visible_units(session, people.member) == {people.unit.id}

    # the other unit: a newer draft of its line, and a second process whose name sorts before every other
    people.other_unit.allow_direct_deploy = False
    session.commit()
    newer = Deployer(session).deploy(files("quality-objectives.bpmn", replace=("Soạn", "Thảo")),
                                     actor=people.outsider_member, now=clock.now,
                                     unit_id=people.other_unit.id).definitions[0]  # fmt: skip
    direct(session, people.other_unit)
    Deployer(session).deploy(files("supplement.bpmn"), actor=people.outsider_member, now=clock.now,
                             unit_id=people.other_unit.id)  # fmt: skip
    assert newer.status == "draft"
    assert lines(people.outsider_member)[(people.other_unit.id, key)] == (theirs.version, 2, 1, 0, (newer.version,))
    summaries = queries.definition_summaries(session, users["admin"])
    assert len(summaries) == len({(s.definition.unit_id, s.definition.key) for s in summaries})  # a row per line
    ordered = [(s.definition.name, s.definition.key) for s in summaries]
    keys = [key for _, key in ordered]  # "Giải quyết hồ sơ…" before "Phê duyệt mục tiêu…", deployed before it
    assert ordered == sorted(ordered) and keys.index("supplement") < keys.index("quality_objectives")
    # units by name ("Sở …" before "UBND …"), although the other unit's first process comes first
    assert [g.unit.id if g.unit else None for g in queries.library_groups(session, users["admin"])] == [
        None, people.unit.id, people.other_unit.id]
    assert {d.unit_id for d in queries.active_definitions(session, [people.unit.id])} == {None}


def test_a_versions_files_are_its_diagram_and_its_forms_for_those_who_may_read_it(
    session: Session, people: People, clock: Clock
) -> None:
    from engine import Deployer
    from tests.engine.test_ownership import direct, files

    shared = queries.active_definition(session, "quality_objectives")
    direct(session, people.other_unit)
    theirs = Deployer(session).deploy(files("quality-objectives.bpmn", replace=("Soạn", "Viết")),
                                      actor=people.outsider_member, now=clock.now,
                                      unit_id=people.other_unit.id).definitions[0]  # fmt: skip
    used = queries.forms_used(session, [shared, theirs])
    form_keys = [u.form.form_key for u in used[shared.id]]
    assert form_keys == sorted(form_keys) and "quality-objectives-draft" in form_keys
    assert [u.form.id for u in used[theirs.id]] == [u.form.id for u in used[shared.id]]  # the shared forms
    form_file = next(u.file for u in used[shared.id] if u.file is not None)
    for u in used[shared.id]:  # each form with the very file it was deployed from
        assert u.file is not None and (u.file.kind, u.file.content_hash) == ("form", u.form.content_hash)

    def fetch(definition: ProcessDefinition, file_id: int, viewer: User) -> int | None:
        found = queries.definition_file(session, definition.key, definition.version, file_id, viewer)
        return found.id if found is not None else None

    assert fetch(shared, shared.bpmn_file_id, people.nobody) == shared.bpmn_file_id
    assert fetch(shared, form_file.id, people.member) == form_file.id
    assert fetch(theirs, theirs.bpmn_file_id, people.outsider_member) == theirs.bpmn_file_id
    assert fetch(theirs, form_file.id, people.outsider_member) == form_file.id
    assert fetch(theirs, theirs.bpmn_file_id, people.member) is None  # another unit's version
    assert fetch(shared, theirs.bpmn_file_id, people.member) is None  # a file of another version
    assert queries.definition_file(session, "quality_objectives", 999, shared.bpmn_file_id, people.member) is None
    assert queries.forms_used(session, []) == {}


def test_the_instances_a_call_activity_started_are_listed_on_the_callers_page(
    session: Session, users: dict[str, User], clock: Clock
) -> None:
    from tests.engine.test_call_activities import start_c8
    from tests.engine.test_events import MODES

    _, parent_id = start_c8(session, clock, users, users["thuky"].roles[0].unit, MODES[0])
    (child,) = queries.called_instances(session, parent_id)
    assert (child.parent_instance_id, child.definition.key) == (parent_id, "appraisal_child_c8")
    assert queries.called_instances(session, child.id) == []


def test_a_units_documentation_diagram_of_a_shared_key_leaves_the_unit_running_the_shared_version(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    from engine import Deployer
    from tests.engine.test_ownership import direct, files

    direct(session, people.unit)
    documented = files("quality-objectives.bpmn", replace=('isExecutable="true"', 'isExecutable="false"'))
    doc = Deployer(session).deploy(documented, actor=users["admin"], now=clock.now, unit_id=people.unit.id,
                                   as_documentation=True)  # fmt: skip
    assert [(d.unit_id, d.executable, d.status) for d in doc.definitions] == [(people.unit.id, False, "active")]
    runs = queries.runnable(session, "quality_objectives", people.unit.id)
    assert (runs.unit_id, runs.executable) == (None, True)


def test_a_key_nobody_runs_is_named_in_the_refusal(session: Session, people: People) -> None:
    from engine.errors import DefinitionNotFound

    for find in (lambda: queries.runnable(session, "no_such_process", people.unit.id),
                 lambda: queries.active_definition(session, "no_such_process")):  # fmt: skip
        with pytest.raises(DefinitionNotFound) as refused:
            find()
        assert str(refused.value) == "No active process definition with key 'no_such_process'. Deploy it first."


def test_a_key_deployed_only_as_documentation_says_so_instead_of_deploy_it_first(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    from engine import Deployer
    from engine.errors import DefinitionNotFound
    from tests.engine.probes import probe

    people.unit.allow_direct_deploy = True
    session.commit()
    Deployer(session).deploy([probe("so_do_tham_khao", "Sơ đồ", {"a": 'candidateUsers="thuky"'}, executable=False)],
                             actor=users["admin"], now=clock.now, unit_id=people.unit.id,
                             as_documentation=True)  # fmt: skip
    expected = ("'so_do_tham_khao' is deployed as a documentation diagram only, so it cannot be started; deploy a "
                "runnable version (tick 'Executable' in Camunda Modeler) to start it.")  # fmt: skip
    for find in (lambda: queries.runnable(session, "so_do_tham_khao", people.unit.id),
                 lambda: queries.active_definition(session, "so_do_tham_khao")):  # fmt: skip
        with pytest.raises(DefinitionNotFound) as refused:
            find()
        assert str(refused.value) == expected
    # another unit does not run the first unit's documentation either: for it the key is simply not there
    with pytest.raises(DefinitionNotFound) as elsewhere:
        queries.runnable(session, "so_do_tham_khao", people.other_unit.id)
    assert str(elsewhere.value).endswith("Deploy it first.")


# --- orders, ties and limits; what a diagram overlay shows; the start list of a person in two units ------


def test_instances_are_listed_newest_start_first_ties_by_newest_and_only_the_latest_hundred(
    session: Session, people: People, clock: Clock
) -> None:
    first = start_in(session, people.member, people.unit.id, clock, "A")
    same_moment = start_in(session, people.member, people.unit.id, clock, "B")
    clock.advance(hours=-1)
    earlier_but_created_later = start_in(session, people.member, people.unit.id, clock, "C")
    assert ids(queries.instances_for(session, people.member)) == [same_moment.id, first.id,
                                                                   earlier_but_created_later.id]  # fmt: skip
    for n in range(98):
        clock.advance(seconds=1)
        start_in(session, people.member, people.unit.id, clock, f"N{n}")
    listed = queries.instances_for(session, people.member)
    assert len(listed) == 100 and earlier_but_created_later.id not in ids(listed)  # 101 started: the oldest left


def test_a_diagram_shows_an_element_open_while_any_of_its_tasks_is_open_and_never_a_cancelled_one(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    from engine.runtime.sweeps import sweep_timers
    from tests.conftest import deploy_fixture

    deploy_fixture(session, clock.now, "review_mi_c8.bpmn", "timer_boundary.bpmn")
    engine = Engine(session)
    reviews = engine.start("review_mi_c8", actor=people.member, unit_id=people.unit.id, now=clock.now)
    last = next(t for t in queries.claimable_tasks(session, users["truongphong3"]) if t.instance_id == reviews.id)
    engine.complete(last.id, actor=users["truongphong3"], now=clock.now, variables={"report": "Báo cáo qlcn"})
    assert queries.element_states(session, reviews.id) == {"report": "open"}  # two of three still open
    late = engine.start("timer_boundary", actor=people.member, unit_id=people.unit.id, now=clock.now)
    sweep_timers(session, clock.now + timedelta(hours=2, minutes=1))
    session.expire_all()
    states = queries.element_states(session, late.id)
    assert "work" not in states  # interrupted by its deadline: cancelled, not shown as done
    assert states["take_over"] == "open"


def test_a_person_in_two_units_starts_each_units_own_version_there_and_the_shared_one_elsewhere(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    from engine import Deployer
    from tests.engine.probes import probe

    people.other_unit.allow_direct_deploy = True
    session.commit()
    Deployer(session).deploy([probe("quality_objectives", "Mục tiêu (riêng)", {"a": 'candidateUsers="thuky_bmt"'},
                                    starters="iso_secretary")],
                             actor=people.outsider_member, now=clock.now, unit_id=people.other_unit.id)  # fmt: skip
    both = people.outsider_member
    both.roles.append(RoleAssignment(unit=people.unit, role="iso_secretary"))
    session.commit()
    offered = {(d.key, d.unit_id): units for d, units in queries.startable(session, both)}
    assert offered[("quality_objectives", people.other_unit.id)] == [people.other_unit.id]
    assert offered[("quality_objectives", None)] == [people.unit.id]  # the shared one only where no own version
    # a unit that runs its own version is offered no shared one at all
    runs = [(d.key, d.unit_id) for d in queries.active_definitions(session, [people.other_unit.id])]
    assert ("quality_objectives", None) not in runs and ("quality_objectives", people.other_unit.id) in runs


def test_the_library_lists_every_draft_of_a_line_and_the_start_list_sorts_by_name_then_key(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    from engine import Deployer
    from tests.engine.probes import probe

    for key, name in (("zz_b", "Cấp phép"), ("aa_b", "Cấp phép"), ("aa_a", "Tiếp nhận")):
        Deployer(session).deploy([probe(key, name, {"a": 'candidateGroups="iso_secretary"'})], actor=None,
                                 now=clock.now)  # fmt: skip
    for marker in ("x", "y"):
        Deployer(session).deploy([probe("aa_a", f"Tiếp nhận {marker}", {"a": 'candidateUsers="thuky"'})],
                                 actor=users["admin"], now=clock.now, unit_id=people.unit.id)  # fmt: skip
    keys = [d.key for d in queries.active_definitions(session, [people.unit.id]) if d.key in ("zz_b", "aa_b", "aa_a")]
    assert keys == ["aa_b", "zz_b", "aa_a"]  # by name ("Cấp phép" before "Tiếp nhận"), then by key
    summaries = [s for s in queries.definition_summaries(session, people.member) if s.definition.key in
                 ("zz_b", "aa_b", "aa_a") and s.definition.unit_id is None]  # fmt: skip
    assert [s.definition.key for s in summaries] == ["aa_b", "zz_b", "aa_a"]
    own_line = [s for s in queries.definition_summaries(session, people.member)
                if s.definition.key == "aa_a" and s.definition.unit_id == people.unit.id]  # fmt: skip
    assert [s.drafts for s in own_line] == [(2, 3)]  # both drafts waiting, oldest first


def test_a_form_is_shown_with_the_file_of_its_own_deployment_when_another_carries_the_same_bytes(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    from engine import Deployer
    from tests.engine.probes import form, probe

    task = {"a": 'candidateGroups="iso_secretary"'}
    first = Deployer(session).deploy([probe("one_form", "Một", task, forms={"a": "shared-form"}),
                                      form("shared-form", "x")], actor=None, now=clock.now)  # fmt: skip
    Deployer(session).deploy([probe("other_form", "Hai", task, forms={"a": "shared-form"}), form("shared-form", "x")],
                             actor=None, now=clock.now)  # fmt: skip
    definition = first.definitions[0]
    used = queries.forms_used(session, [definition])[definition.id]
    assert [(u.form.form_key, u.file.deployment_id if u.file else None) for u in used] == [
        ("shared-form", definition.deployment_id)
    ]
