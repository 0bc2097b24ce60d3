"""Who is told when a new version goes live, which version a draft is compared with, and what the start
timers of a process do when a unit runs a version of its own. Small processes written for each case."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Deployer, Engine, SourceFile, versions
from engine.errors import DeploymentRejected
from engine.org.models import Notice, Unit, User
from engine.runtime.models import HistoryEvent, ProcessDefinition, ProcessInstance, StartTimer, TaskRow
from tests.conftest import Clock, People, make_user
from tests.engine.probes import form, probe
from tests.engine.test_version_control import decide
from tests.wording import body_vi

pytestmark = pytest.mark.usefixtures("library")

KEY = "probe"


def shared(session: Session, clock: Clock, *files: SourceFile) -> ProcessDefinition:
    return Deployer(session).deploy(list(files), actor=None, now=clock.now).definitions[0]


def own(session: Session, users: dict[str, User], unit: Unit, clock: Clock, *files: SourceFile,
        documentation: bool = False) -> ProcessDefinition:  # fmt: skip
    return Deployer(session).deploy(list(files), actor=users["admin"], now=clock.now, unit_id=unit.id,
                                    as_documentation=documentation).definitions[0]  # fmt: skip


def open_task(session: Session, instance: ProcessInstance, element_id: str) -> TaskRow:
    return session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id, TaskRow.element_id == element_id,
                                                 TaskRow.state == "open")).one()  # fmt: skip


def told(session: Session, key: str = KEY) -> list[str]:
    """Who got the notice that a version of ``key`` went live."""
    session.expire_all()
    stmt = select(User.username).join(Notice, Notice.user_id == User.id).where(
        Notice.kind == "version_activated", Notice.link.startswith(f"/definitions/{key}?"))  # fmt: skip
    return sorted(session.scalars(stmt))


def test_a_new_version_is_announced_to_its_starters_and_to_who_holds_or_is_offered_open_work_on_it(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    work = {
        "named": 'candidateUsers="chuyenvien3"',  # offered to one person by name
        "by_role": 'candidateGroups="internal_auditor"',  # offered to a role
        "held": 'candidateGroups="department_head"',  # claimed by one department head
        "done": 'candidateGroups="unit_leader"',  # finished by the director
        "leaver": 'candidateUsers="chuyenvien6"',  # claimed by someone who has since left
    }
    shared(session, clock, probe(KEY, "Quy trình thử", work, starters="iso_secretary"))
    elsewhere = {"named": 'candidateUsers="chuyenvien5"', "by_role": 'candidateGroups="admin"',
                 "held": 'candidateUsers="chuyenvien4"'}  # fmt: skip
    shared(session, clock, probe("elsewhere", "Quy trình khác", elsewhere))
    engine = Engine(session)
    running = engine.start(KEY, actor=people.member, unit_id=people.unit.id, now=clock.now)
    engine.claim(open_task(session, running, "held").id, actor=users["truongphong"], now=clock.now)
    engine.complete(open_task(session, running, "done").id, actor=users["giamdoc"], now=clock.now)
    engine.claim(open_task(session, running, "leaver").id, actor=users["chuyenvien6"], now=clock.now)
    other = engine.start("elsewhere", actor=people.member, unit_id=people.unit.id, now=clock.now)
    engine.claim(open_task(session, other, "held").id, actor=users["chuyenvien4"], now=clock.now)
    theirs = engine.start(KEY, actor=people.outsider_member, unit_id=people.other_unit.id, now=clock.now)
    assert open_task(session, theirs, "by_role").assignee_id is None
    users["chuyenvien6"].is_active = False
    make_user(session, "thuky_cu", people.unit, ("iso_secretary",)).is_active = False  # a secretary who left
    session.commit()

    people.unit.allow_direct_deploy = True
    live = own(session, users, people.unit, clock, probe(KEY, "Quy trình thử (sửa)", work, starters="iso_secretary"))
    assert live.status == "active"
    # the secretary may start it; the auditor and chuyenvien3 are offered work, truongphong holds some.
    # Not: the director (his step is done), the other heads (held by truongphong), the leaver, the former
    # secretary, those with work on another process, the other unit's people.
    assert told(session) == ["chuyenvien3", "danhgiavien", "thuky", "truongphong"]


def test_people_working_on_a_newer_shared_version_are_told_when_the_units_own_version_is_approved(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    shared(session, clock, probe(KEY, "Quy trình thử", {"a": 'candidateGroups="unit_leader"'}))
    draft = own(session, users, people.unit, clock,
                probe(KEY, "Quy trình thử", {"a": 'candidateUsers="thuky"'}, starters="iso_secretary"))
    assert draft.status == "draft" and draft.version == 2
    newer = shared(session, clock, probe(KEY, "Quy trình thử", {"a": 'candidateUsers="chuyenvien3"'}))
    assert newer.version == 3  # the shared line moved on while the unit's draft waited
    running = Engine(session).start(KEY, actor=people.member, unit_id=people.unit.id, now=clock.now)
    assert running.definition_id == newer.id
    decide(session, draft, people.leader, clock, "approve")
    assert told(session) == ["chuyenvien3", "thuky"]  # the unit ran version 3 until now; thuky starts the new one
    # the review shows what changes for the unit: against the shared version it ran, whatever its number
    assert versions.comparison_base(session, draft).id == newer.id


def test_a_documentation_diagram_going_live_tells_nobody(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    people.unit.allow_direct_deploy = True
    doc = own(session, users, people.unit, clock, probe("doc_only", "Sơ đồ tham khảo", {"a": 'candidateUsers="thuky"'},
                                                       executable=False), documentation=True)  # fmt: skip
    assert doc.status == "active" and not doc.executable
    assert told(session, "doc_only") == []


def test_the_notice_lists_the_changes_against_the_units_previous_own_version_and_the_event_names_it(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    tasks = {"a": 'candidateGroups="unit_leader"', "b": 'candidateGroups="unit_leader"'}
    shared(session, clock, probe(KEY, "Quy trình thử", tasks))
    people.unit.allow_direct_deploy = True
    with_c = {**tasks, "c": 'candidateUsers="thuky"'}
    first = own(session, users, people.unit, clock, probe(KEY, "Quy trình thử", with_c))
    people.unit.allow_direct_deploy = False
    second = own(session, users, people.unit, clock,
                 probe(KEY, "Quy trình thử", {**tasks, "c": 'candidateUsers="thuky"', "d": 'candidateUsers="thuky"'}))
    decide(session, second, people.leader, clock, "approve")
    notice = session.scalars(select(Notice).where(Notice.link == f"/definitions/{KEY}?version={second.version}")
                             .order_by(Notice.id)).first()  # fmt: skip
    assert notice is not None
    assert "- Thêm bước: Bước d" in body_vi(notice).splitlines()
    assert "- Step added: Bước d" in notice.body.splitlines()  # an English reader's words
    assert "- Thêm bước: Bước c" not in body_vi(notice).splitlines()  # that came with the unit's first own version
    event = session.scalars(select(HistoryEvent).where(HistoryEvent.kind == "version_activated")).one()
    assert (event.data["version"], event.data["superseded"], event.data["status"]) == (second.version, first.version,
                                                                                       "active")  # fmt: skip
    # directly deployed: the same comparison, against the unit's own version before
    people.unit.allow_direct_deploy = True
    third = own(session, users, people.unit, clock, probe(KEY, "Quy trình thử", with_c))
    notice = session.scalars(select(Notice).where(Notice.link == f"/definitions/{KEY}?version={third.version}")).first()
    assert notice is not None and body_vi(notice).splitlines() == ["- Bỏ bước: Bước d"]


def test_which_version_each_version_is_compared_with(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    def variant(n: int) -> SourceFile:
        return probe(KEY, "Quy trình thử", {f"s{i}": 'candidateGroups="unit_leader"' for i in range(n)})

    v1 = shared(session, clock, variant(1))
    people.unit.allow_direct_deploy = True
    v2 = own(session, users, people.unit, clock, variant(2))  # the unit's first own version, live at once
    assert versions.comparison_base(session, v2).id == v1.id  # against the shared one it ran
    v3 = shared(session, clock, variant(3))
    shared(session, clock, probe("elsewhere", "Khác", {"a": 'candidateGroups="admin"'}))
    shared(session, clock, probe("elsewhere", "Khác", {"a": 'candidateGroups="specialist"'}))  # elsewhere v2
    v4 = shared(session, clock, variant(4))
    # the shared active version against the one before it in its own line: not the unit's v2, not elsewhere v2
    assert versions.comparison_base(session, v4).id == v3.id
    assert versions.comparison_base(session, v3).id == v1.id
    people.unit.allow_direct_deploy = False
    v5 = own(session, users, people.unit, clock, variant(5))
    decide(session, v5, people.leader, clock, "return")
    v6 = own(session, users, people.unit, clock, variant(6))
    # a draft against the unit's active version, not its returned draft nor the shared line
    assert versions.comparison_base(session, v6).id == v2.id
    assert versions.comparison_base(session, v5).id == v2.id


def test_a_units_own_version_of_a_timer_started_process_leaves_the_other_units_rounds_running(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    cycle = "R/PT1H"
    shared(session, clock, probe(KEY, "Báo cáo hằng giờ", {"a": 'candidateGroups="unit_leader"'}, start_timer=cycle))
    clock.advance(minutes=10)
    people.unit.allow_direct_deploy = True
    ours = own(session, users, people.unit, clock,
               probe(KEY, "Báo cáo hằng giờ (đơn vị)", {"a": 'candidateGroups="unit_leader"'}, start_timer=cycle))
    waiting = session.scalars(select(StartTimer).join(ProcessDefinition).where(
        StartTimer.state == "waiting", ProcessDefinition.key == KEY).order_by(StartTimer.id)).all()  # fmt: skip
    assert [(t.definition.unit_id, t.due_at) for t in waiting] == [
        (None, clock.now - timedelta(minutes=10) + timedelta(hours=1)),
        (people.unit.id, clock.now + timedelta(hours=1)),  # counted from the moment the unit's version went live
    ]
    started = Engine(session).start_by_timer(waiting[0].id, now=waiting[0].due_at)
    assert [i.unit_id for i in started] == [people.other_unit.id]  # the shared rounds go on, for the others
    started = Engine(session).start_by_timer(waiting[1].id, now=waiting[1].due_at)
    assert [(i.unit_id, i.definition_id) for i in started] == [(people.unit.id, ours.id)]


def test_an_approved_timer_started_version_counts_its_first_round_from_the_approval(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    shared(session, clock, probe(KEY, "Báo cáo", {"a": 'candidateGroups="unit_leader"'}, start_timer="R/PT2H"))
    draft = own(session, users, people.unit, clock,
                probe(KEY, "Báo cáo (đơn vị)", {"a": 'candidateGroups="unit_leader"'}, start_timer="R/PT2H"))
    clock.advance(days=1)
    decide(session, draft, people.leader, clock, "approve")
    timer = session.scalars(select(StartTimer).where(StartTimer.definition_id == draft.id)).one()
    assert (timer.state, timer.due_at) == ("waiting", clock.now + timedelta(hours=2))


def test_a_unit_with_its_own_change_control_sends_its_drafts_through_it(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    from tests.conftest import LIBRARY

    control = (LIBRARY / "change-control.bpmn").read_bytes()
    people.unit.allow_direct_deploy = True
    theirs = own(session, users, people.unit, clock, SourceFile("change-control.bpmn", control.replace(
        "Xem xét".encode(), "Thẩm định".encode())))  # fmt: skip
    assert theirs.status == "active" and theirs.unit_id == people.unit.id
    people.unit.allow_direct_deploy = False
    draft = own(session, users, people.unit, clock, probe(KEY, "Quy trình thử", {"a": 'candidateUsers="thuky"'}))
    review = versions.review_of(session, draft.id)
    assert review is not None
    instance = session.get(ProcessInstance, review.instance_id)
    assert instance is not None and instance.definition_id == theirs.id
    assert instance.started_by_id == users["admin"].id
    started = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance.id)
                              .order_by(HistoryEvent.id)).first()  # fmt: skip
    assert started is not None and started.actor_id == users["admin"].id  # in the uploader's name
    # the other unit's drafts still go through the shared one
    other = Deployer(session).deploy([probe(KEY, "Quy trình thử", {"a": 'candidateUsers="thuky_bmt"'})],
                                     actor=people.outsider_member, now=clock.now,
                                     unit_id=people.other_unit.id).definitions[0]  # fmt: skip
    review = versions.review_of(session, other.id)
    assert review is not None
    instance = session.get(ProcessInstance, review.instance_id)
    assert instance is not None and instance.definition.unit_id is None


def test_a_failing_review_leaves_no_draft_and_no_review_behind(
    session: Session, people: People, users: dict[str, User], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.library import versions as module

    real = module.review_variables
    calls = []

    def second_fails(session: Session, definition: ProcessDefinition) -> dict[str, object]:
        calls.append(definition.key)
        if len(calls) == 2:
            raise RuntimeError("the second review cannot start")
        return real(session, definition)

    monkeypatch.setattr(module, "review_variables", second_fails)
    before = session.scalar(select(ProcessInstance.id).order_by(ProcessInstance.id.desc()).limit(1))
    files = [probe("first_probe", "Một", {"a": 'candidateUsers="thuky"'}),
             probe("second_probe", "Hai", {"a": 'candidateUsers="thuky"'})]  # fmt: skip
    with pytest.raises(RuntimeError):
        Deployer(session).deploy(files, actor=users["admin"], now=clock.now, unit_id=people.unit.id)
    session.rollback()
    assert calls == ["first_probe", "second_probe"]
    keys = set(session.scalars(select(ProcessDefinition.key)))
    assert not keys & {"first_probe", "second_probe"}
    assert session.scalar(select(ProcessInstance.id).order_by(ProcessInstance.id.desc()).limit(1)) == before


def test_a_documentation_diagram_may_follow_a_documentation_version_while_a_runnable_draft_waits(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    def doc(name: str) -> SourceFile:
        return probe("ho_so", name, {"a": 'candidateUsers="thuky"'}, executable=False)

    people.unit.allow_direct_deploy = True
    first = own(session, users, people.unit, clock, doc("Sơ đồ"), documentation=True)
    assert (first.status, first.executable) == ("active", False)
    people.unit.allow_direct_deploy = False
    runnable = own(session, users, people.unit, clock, probe("ho_so", "Chạy", {"a": 'candidateUsers="thuky"'}))
    assert runnable.status == "draft"
    # the live version is documentation: another documentation version may replace it
    later = own(session, users, people.unit, clock, doc("Sơ đồ (sửa)"), documentation=True)
    assert later.status == "draft" and not later.executable
    # once the runnable one is live, documentation can no longer replace it, whatever drafts wait
    decide(session, runnable, people.leader, clock, "approve")
    with pytest.raises(DeploymentRejected, match="already deployed as an executable process"):
        own(session, users, people.unit, clock, doc("Sơ đồ (lần ba)"), documentation=True)


def test_a_form_used_by_only_one_of_two_versions_is_shown_as_added_or_removed(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    tasks = {"a": 'candidateGroups="unit_leader"', "b": 'candidateGroups="unit_leader"'}
    v1 = shared(session, clock, probe(KEY, "Thử", tasks, forms={"a": "form-a"}), form("form-a", "x"))
    v2 = shared(session, clock, probe(KEY, "Thử", tasks, forms={"b": "form-b"}), form("form-a", "x"),
                form("form-b", "y", "z"))
    diff = versions.comparison(session, KEY, v2.version).diff
    by_key = {f.form_key: f for f in diff.forms}
    assert sorted(by_key) == ["form-a", "form-b"]
    assert [f.key for f in by_key["form-b"].added] == ["y", "z"] and not by_key["form-b"].removed
    assert [f.key for f in by_key["form-a"].removed] == ["x"] and not by_key["form-a"].added
    back = versions.comparison(session, KEY, v1.version, v2.version).diff
    assert {f.form_key: [c.key for c in f.removed] for f in back.forms} == {"form-a": [], "form-b": ["y", "z"]}


def test_the_public_portal_orders_procedures_of_the_same_name_by_their_key(
    session: Session, people: People, clock: Clock
) -> None:
    for key in ("zz_thu_tuc", "aa_thu_tuc"):
        shared(session, clock, probe(key, "Cấp giấy phép", {"a": 'candidateGroups="unit_leader"'}))
    listed = [d.key for d in versions.published(session, people.unit.id) if d.name == "Cấp giấy phép"]
    assert listed == ["aa_thu_tuc", "zz_thu_tuc"]
