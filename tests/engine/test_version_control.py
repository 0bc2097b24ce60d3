"""Version control with two units: who may deploy where, what the public portal shows, which version a draft is
compared with, and an older draft approved after a newer version went live."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Deployer, Engine, SourceFile, versions
from engine.errors import NotFound
from engine.org.models import Unit, User
from engine.runtime.models import HistoryEvent, ProcessDefinition
from tests.conftest import FIXTURES, Clock, People, make_unit
from tests.engine.test_versions import CHANGED, review_task

pytestmark = pytest.mark.usefixtures("library")
KEY = "quality_objectives"


def changed(marker: str = "") -> list[SourceFile]:
    """The changed quality-objectives files; ``marker`` renames the first task to make yet another version."""
    files = [SourceFile(p.name, p.read_bytes()) for p in sorted(CHANGED.iterdir())]
    if marker:
        old, new = "Soạn thảo mục tiêu".encode(), marker.encode()
        files = [SourceFile(f.filename, f.content.replace(old, new)) for f in files]
    return files


def upload(session: Session, actor: User, unit: Unit, clock: Clock, marker: str = "") -> ProcessDefinition:
    result = Deployer(session).deploy(changed(marker), actor=actor, now=clock.now, unit_id=unit.id)
    return result.definitions[0]


def statuses(session: Session, key: str = KEY) -> dict[int, str]:
    session.expire_all()
    stmt = select(ProcessDefinition.version, ProcessDefinition.status).where(ProcessDefinition.key == key)
    return dict(session.execute(stmt).all())  # type: ignore[arg-type]


def decide(session: Session, draft: ProcessDefinition, leader: User, clock: Clock, decision: str) -> None:
    variables = {"decision": decision, "returnReason": "Chưa đạt."} if decision == "return" else {"decision": decision}
    Engine(session).complete(review_task(session, draft).id, actor=leader, now=clock.now, variables=variables)


def test_who_may_deploy_where(session: Session, people: People, users: dict[str, User]) -> None:
    assert versions.may_deploy(session, users["admin"], None)
    assert versions.may_deploy(session, people.member, people.unit.id)  # the ISO secretary, for her unit
    assert not versions.may_deploy(session, people.member, None)
    assert not versions.may_deploy(session, people.member, people.other_unit.id)
    assert not versions.may_deploy(session, people.leader, people.unit.id)
    assert not versions.may_deploy(session, people.outsider_member, people.unit.id)
    assert not versions.may_deploy(session, people.nobody, None)
    assert versions.deploy_targets(session, people.member) == [people.unit]
    # another unit's administrator is not a system administrator: the shared library is not theirs
    assert not versions.may_deploy(session, people.outsider_member, None)
    assert versions.deploy_targets(session, people.outsider_member) == [people.other_unit]
    board = make_unit(session, "bqlda", "Ban Quản lý dự án")  # sorts before both by name, created last
    # the system administrator: the shared library, then every unit by name
    assert versions.deploy_targets(session, users["admin"]) == [None, board, people.unit, people.other_unit]
    assert versions.deploy_targets(session, people.nobody) == []


def test_only_an_administrator_of_a_unit_allowing_it_deploys_without_review(
    session: Session, people: People, users: dict[str, User]
) -> None:
    assert versions.goes_live_at_once(session, None, None)  # the shared library
    assert not versions.goes_live_at_once(session, users["admin"], people.unit)  # the unit does not allow it
    people.unit.allow_direct_deploy = True
    session.commit()
    assert versions.goes_live_at_once(session, users["admin"], people.unit)
    assert not versions.goes_live_at_once(session, people.member, people.unit)  # not an administrator
    assert not versions.goes_live_at_once(session, people.outsider_member, people.unit)  # admin elsewhere
    assert not versions.goes_live_at_once(session, None, people.unit)


def test_the_public_portal_shows_only_the_units_active_procedures(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    people.other_unit.allow_direct_deploy = True
    session.commit()
    rework = [SourceFile("rework_loop.bpmn", (FIXTURES / "rework_loop.bpmn").read_bytes())]
    theirs = Deployer(session).deploy(rework, actor=people.outsider_member, now=clock.now,
                                      unit_id=people.other_unit.id).definitions[0]  # fmt: skip
    assert theirs.status == "active"
    draft = upload(session, users["admin"], people.unit, clock)
    assert draft.status == "draft"

    def shown(unit: Unit) -> dict[str, int]:
        return {d.key: d.version for d in versions.published(session, unit.id)}

    ours = shown(people.unit)
    assert ours[KEY] == 1  # the shared active version, not the draft
    assert "rework_loop" not in ours  # another unit's own procedure
    assert shown(people.other_unit)["rework_loop"] == theirs.version
    assert versions.published_procedure(session, people.unit.id, "rework_loop") is None
    assert versions.published_procedure(session, people.other_unit.id, "rework_loop") is not None
    names = [d.name for d in versions.published(session, people.unit.id)]
    assert names == sorted(names)

    decide(session, draft, people.leader, clock, "return")
    assert statuses(session) == {1: "active", 2: "returned"}
    assert shown(people.unit)[KEY] == 1  # a returned version is never published

    second = upload(session, users["admin"], people.unit, clock, "Dự thảo mục tiêu")
    decide(session, second, people.leader, clock, "approve")
    assert statuses(session) == {1: "active", 2: "returned", 3: "active"}  # the shared line stays for others
    assert shown(people.unit)[KEY] == 3  # the unit's own version replaces the shared one on its page
    assert shown(people.other_unit)[KEY] == 1  # the other unit still runs and publishes the shared one


def test_approving_an_older_draft_after_a_newer_version_went_live_keeps_the_newer(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    older = upload(session, users["admin"], people.unit, clock)
    people.unit.allow_direct_deploy = True
    session.commit()
    newer = upload(session, users["admin"], people.unit, clock, "Dự thảo mục tiêu")
    assert statuses(session) == {1: "active", 2: "draft", 3: "active"}

    decide(session, older, people.leader, clock, "approve")
    assert statuses(session) == {1: "active", 2: "superseded", 3: "active"}
    from engine.org.models import Notice

    links = set(session.scalars(select(Notice.link).where(Notice.kind == "version_activated")))
    assert f"/definitions/{KEY}?version={older.version}" not in links  # nobody is told of a version that never ran
    assert f"/definitions/{KEY}?version={newer.version}" in links
    assert Engine(session).active_definition(KEY, people.unit.id).id == newer.id


def test_a_draft_is_compared_with_the_active_version_and_the_active_one_with_its_predecessor(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    returned = upload(session, users["admin"], people.unit, clock)
    decide(session, returned, people.leader, clock, "return")
    draft = upload(session, users["admin"], people.unit, clock, "Dự thảo mục tiêu")
    assert versions.comparison(session, KEY, draft.version).old.version == 1  # not the returned version 2
    assert versions.review_variables(session, draft)["activeVersion"] == 1
    assert versions.comparison(session, KEY, draft.version, against=returned.version).old.version == 2

    decide(session, draft, people.leader, clock, "approve")
    assert versions.comparison(session, KEY, 3).old.version == 2  # the active one: with the version before it
    assert versions.comparison(session, KEY, 2).old.version == 1
    with pytest.raises(NotFound):
        versions.comparison(session, KEY, 1)
    with pytest.raises(NotFound):
        versions.comparison(session, KEY, 3, against=3)
    with pytest.raises(NotFound):
        versions.comparison(session, KEY, 9)


def test_each_owner_has_its_own_line_of_a_key(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    assert versions.ownership_problem(session, "no_such_process", people.unit.id, True, "x.bpmn") is None
    assert versions.ownership_problem(session, KEY, people.other_unit.id, True, "x.bpmn") is None  # shared: any unit
    people.unit.allow_direct_deploy = True
    session.commit()
    owned = upload(session, users["admin"], people.unit, clock)
    assert (owned.unit_id, owned.status) == (people.unit.id, "active")
    assert versions.ownership_problem(session, KEY, people.unit.id, True, "x.bpmn") is None
    # the other unit deploys its own line of the key, which never touches the first unit's
    assert versions.ownership_problem(session, KEY, people.other_unit.id, True, "x.bpmn") is None
    problem = versions.ownership_problem(session, KEY, people.unit.id, False, "x.bpmn")
    assert problem is not None and problem.file == "x.bpmn"
    assert problem.message == (
        "Process id 'quality_objectives' is already deployed as an executable process; a documentation diagram "
        "cannot replace it. Give the diagram another process id."
    )
    assert versions.ownership_problem(session, KEY, people.other_unit.id, False, "x.bpmn") is None  # its own line


def test_a_comparison_shows_only_versions_the_viewer_may_read(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    people.other_unit.allow_direct_deploy = True
    session.commit()
    theirs = upload(session, people.outsider_member, people.other_unit, clock, "Bản của đơn vị khác")
    draft = upload(session, users["admin"], people.unit, clock)
    assert (theirs.status, draft.status) == ("active", "draft")

    mine = versions.comparison(session, KEY, draft.version, viewer=people.member)
    assert (mine.old.version, mine.new.id) == (1, draft.id)
    assert versions.comparison(session, KEY, theirs.version, against=1, viewer=people.outsider_member).new == theirs

    def refused(version: int, against: int | None, viewer: User | None, key: str = KEY) -> str:
        with pytest.raises(NotFound) as caught:
            versions.comparison(session, key, version, against, viewer=viewer)
        return str(caught.value)

    unknown = "Version %s of 'quality_objectives' does not exist."
    assert refused(draft.version, None, people.outsider_member) == unknown % draft.version
    assert refused(draft.version, theirs.version, people.member) == unknown % theirs.version
    assert refused(theirs.version, None, people.nobody) == unknown % theirs.version
    other_key = f"Version {draft.version} of 'rework_loop' does not exist."
    assert refused(draft.version, None, None, key="rework_loop") == other_key
    first = "Version 1 of 'quality_objectives' has no earlier version to compare with."
    assert refused(1, None, people.member) == first


def test_a_returned_draft_is_recorded_with_its_reason_and_the_uploader_told_where_to_look(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    from engine.org.models import Notice
    from engine.runtime.models import HistoryEvent

    draft = upload(session, people.member, people.unit, clock)
    decide(session, draft, people.leader, clock, "return")
    review = versions.review_of(session, draft.id)
    assert review is not None
    assert versions.reviews_for(session, [draft.id, 1]) == {draft.id: review}  # the shared version 1 had none
    event = session.scalars(select(HistoryEvent).where(HistoryEvent.kind == "version_returned")).one()
    assert event.instance_id == review.instance_id
    assert event.data == {"definition_id": draft.id, "key": KEY, "version": draft.version, "reason": "Chưa đạt.",
                          "notified_users": ["thuky"]}  # fmt: skip
    notice = session.scalars(select(Notice).where(Notice.kind == "version_returned")).one()
    told = (notice.user_id, notice.unit_id, notice.instance_id)
    assert told == (people.member.id, people.unit.id, review.instance_id)
    assert notice.link == f"/definitions/{KEY}?version={draft.version}"


def test_a_draft_stored_by_a_tool_is_returned_without_telling_anyone(
    session: Session, people: People, clock: Clock
) -> None:
    from engine.org.models import Notice

    draft = Deployer(session).deploy(changed(), actor=None, now=clock.now, unit_id=people.unit.id).definitions[0]
    assert draft.status == "draft"
    decide(session, draft, people.leader, clock, "return")
    assert statuses(session)[draft.version] == "returned"
    assert session.scalars(select(Notice).where(Notice.kind == "version_returned")).all() == []


def test_the_public_portal_lists_procedures_by_name(session: Session, people: People, clock: Clock) -> None:
    people.other_unit.allow_direct_deploy = True
    session.commit()
    fixtures = [SourceFile(n, (FIXTURES / n).read_bytes()) for n in ("rework_loop.bpmn", "supplement.bpmn")]
    Deployer(session).deploy(fixtures, actor=people.outsider_member, now=clock.now, unit_id=people.other_unit.id)
    listed = [d.key for d in versions.published(session, people.other_unit.id)]
    # "Giải quyết hồ sơ…", "Kiểm soát…", "Phê duyệt mục tiêu…", "Quản lý rủi ro", "Rework loop", "Tiếp nhận…":
    # not the order of their ids
    assert listed == ["supplement", "document_control", "quality_objectives", "risk_management", "rework_loop",
                      "complaint_handling"]


def test_a_change_control_job_decides_its_own_draft_once_and_refuses_anything_else_word_for_word(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    from engine.errors import EngineError
    from engine.runtime.handlers import JobContext
    from engine.runtime.models import ProcessInstance

    first = upload(session, people.member, people.unit, clock)
    second = upload(session, people.member, people.unit, clock, "Dự thảo mục tiêu")
    reviews = [versions.review_of(session, d.id) for d in (first, second)]
    instances = [session.get(ProcessInstance, r.instance_id) for r in reviews if r is not None]
    assert len(instances) == 2 and all(instances)
    name = first.name
    shown = Engine(session).task_data(review_task(session, first))
    assert (shown["changeSummary"], shown["activeVersion"]) == ("(không có mô tả)", 1)  # the uploader wrote none

    def job(instance: ProcessInstance | None, data: dict[str, object]) -> JobContext:
        assert instance is not None
        return JobContext(session, instance, "decide", data, None, clock.now)

    def refusal(context: JobContext) -> str:
        with pytest.raises(EngineError) as caught:
            versions.activate_version(context)
        return str(caught.value)

    no_draft = "This change-control process names no draft version (definitionId)."
    assert refusal(job(instances[0], {})) == no_draft
    assert refusal(job(instances[0], {"definitionId": 99999})) == no_draft
    assert refusal(job(instances[0], {"definitionId": 1})) == no_draft  # the shared version: never reviewed
    assert refusal(job(instances[1], {"definitionId": first.id})) == (
        f"This process may not decide on version {first.version} of '{name}'; only its own change-control review "
        "does. Nothing was changed."
    )

    approve = job(instances[0], {"definitionId": first.id})
    assert versions.activate_version(approve) == {"versionStatus": "active"}
    kind, data = approve.events[0]
    assert kind == "version_activated" and data["notified_users"] == sorted(data["notified_users"])
    assert "thuky" in data["notified_users"]  # the ISO secretary starts the process in her unit
    assert {k: v for k, v in data.items() if k != "notified_users"} == {
        "definition_id": first.id, "key": KEY, "version": first.version, "status": "active", "superseded": None}
    review = versions.review_of(session, first.id)
    assert review is not None and (review.decision, review.reason, review.decided_by_id) == ("approved", "", None)
    assert review.decided_at is not None and review.decided_at.replace(tzinfo=None) == clock.now.replace(tzinfo=None)
    assert refusal(approve) == f"Version {first.version} of '{name}' is active, not a draft; nothing was changed."

    back = job(instances[1], {"definitionId": second.id})
    assert versions.return_version(back) == {"versionStatus": "returned"}
    assert back.events[0][1]["reason"] == ""  # no reason given: none recorded
    assert back.events[0][1]["notified_users"] == ["thuky"]


def test_an_activation_notice_reaches_the_units_starters_and_holders_of_open_older_tasks_only(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    from tests.engine.test_runtime import DRAFT, open_task

    engine = Engine(session)
    ours = engine.start(KEY, actor=people.member, unit_id=people.unit.id, now=clock.now)
    engine.complete(open_task(session, ours.id).id, actor=people.member, now=clock.now, variables=DRAFT)
    engine.claim(open_task(session, ours.id).id, actor=users["giamdoc"], now=clock.now)  # holds the review
    engine.start(KEY, actor=people.member, unit_id=people.unit.id, now=clock.now)  # a draft for thuky
    users["phogiamdoc"].is_active = False  # a leader who left: offered nothing any more
    held = engine.start(KEY, actor=people.outsider_member, unit_id=people.other_unit.id, now=clock.now)
    engine.claim(open_task(session, held.id).id, actor=people.outsider_member, now=clock.now)
    offered = engine.start(KEY, actor=people.outsider_member, unit_id=people.other_unit.id, now=clock.now)
    assert open_task(session, offered.id).assignee_id is None
    session.commit()  # the other unit: one draft held by its secretary, one offered to its secretaries

    draft = upload(session, users["admin"], people.unit, clock)
    decide(session, draft, users["giamdoc"], clock, "approve")
    event = session.scalars(select(HistoryEvent).where(HistoryEvent.kind == "version_activated")).one()
    # thuky starts the process and holds a draft; giamdoc holds the review of the instance still on version 1
    assert event.data["notified_users"] == ["giamdoc", "thuky"]


def test_a_version_deployed_directly_by_a_units_administrator_is_announced_at_once(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    from engine.org.models import Notice

    people.unit.allow_direct_deploy = True
    session.commit()
    live = upload(session, users["admin"], people.unit, clock)
    assert live.status == "active"
    notices = session.scalars(select(Notice).where(Notice.kind == "version_activated")).all()
    assert {(n.user_id, n.unit_id, n.instance_id) for n in notices} == {(people.member.id, people.unit.id, None)}
    assert notices[0].link == f"/definitions/{KEY}?version={live.version}"
    assert notices[0].body.splitlines()[0].startswith("- ")  # no summary given: the changes come first
