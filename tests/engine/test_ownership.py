"""Process definitions belong to a unit or to the shared library, and no unit reaches another's.

Each test is one attack a second unit tried (its administrator holds every role there), and asserts
that it now does no harm, with what the first unit keeps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Deployer, Engine, SourceFile, instance_moves, queries, versions
from engine.errors import DeploymentRejected, EngineError, InstanceNotFound, NotAllowed
from engine.iso.objectives import current_objectives
from engine.org.models import User
from engine.runtime.handlers import JobContext
from engine.runtime.models import FormDefinition, ProcessDefinition, ProcessInstance, StartTimer, TaskRow
from tests.conftest import FIXTURES, LIBRARY, Clock, People
from tests.engine.test_runtime import DRAFT

pytestmark = pytest.mark.usefixtures("library")

KEY = "quality_objectives"


def files(*names: str, replace: tuple[str, str] | None = None) -> list[SourceFile]:
    """Library or fixture files, with one text replaced (a changed version)."""
    out = []
    for name in names:
        path = LIBRARY / name if (LIBRARY / name).exists() else FIXTURES / name
        content = path.read_bytes()
        if replace:
            content = content.replace(replace[0].encode(), replace[1].encode())
        out.append(SourceFile(path.name, content))
    return out


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def direct(session: Session, *units: object) -> None:
    for unit in units:
        unit.allow_direct_deploy = True  # type: ignore[attr-defined]
    session.commit()


def test_another_units_admin_cannot_replace_a_shared_process_not_even_change_control(
    session: Session, people: People, clock: Clock
) -> None:
    before = count(session, ProcessDefinition)
    for name in ("change-control.bpmn", "quality-objectives.bpmn"):
        hostile = files(name, replace=("unit_leader", "specialist"))
        with pytest.raises(NotAllowed, match="system administrators"):
            Deployer(session).deploy(hostile, actor=people.outsider_member, now=clock.now, unit_id=None)
    assert count(session, ProcessDefinition) == before
    control = Engine(session).active_definition(versions.CHANGE_CONTROL_KEY, people.unit.id)
    assert control.unit_id is None and control.version == 1


def test_a_units_own_version_of_a_shared_key_is_its_own_line_and_leaves_the_first_unit_alone(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    engine = Engine(session)
    running = engine.start(KEY, actor=people.member, unit_id=people.unit.id, now=clock.now)
    direct(session, people.other_unit)
    theirs = Deployer(session).deploy(files("quality-objectives.bpmn", replace=("Soạn", "Viết")),
                                      actor=people.outsider_member, now=clock.now,
                                      unit_id=people.other_unit.id).definitions[0]  # fmt: skip
    assert (theirs.unit_id, theirs.status) == (people.other_unit.id, "active")
    shared = engine.active_definition(KEY, people.unit.id)
    assert shared.unit_id is None and shared.status == "active"  # the first unit still runs the shared one
    assert engine.active_definition(KEY, people.other_unit.id).id == theirs.id
    assert not engine.may_start(people.member, theirs, people.unit.id)
    again = engine.start(KEY, actor=people.member, unit_id=people.unit.id, now=clock.now)
    assert again.definition_id == shared.id
    session.refresh(running)
    assert running.definition_id == shared.id and running.status == "running"
    # and the first unit can still deploy a version of its own
    direct(session, people.unit)
    mine = Deployer(session).deploy(files("quality-objectives.bpmn", replace=("Soạn", "Lập")),
                                    actor=users["admin"], now=clock.now, unit_id=people.unit.id).definitions[0]
    assert engine.active_definition(KEY, people.unit.id).id == mine.id
    assert engine.active_definition(KEY, people.other_unit.id).id == theirs.id


def test_a_diagram_may_not_use_the_jobs_that_decide_versions_or_publish_registers(
    session: Session, people: People, clock: Clock
) -> None:
    direct(session, people.other_unit)
    for job in ("eiso.activate_version", "eiso.return_version", "eiso.publish_objectives"):
        hostile = files("send_result_c8.bpmn", replace=("igate.notify", job))
        assert job.encode() in hostile[0].content
        with pytest.raises(DeploymentRejected) as refused:
            Deployer(session).deploy(hostile, actor=people.outsider_member, now=clock.now,
                                     unit_id=people.other_unit.id)  # fmt: skip
        assert any("belongs to the process" in p.message for p in refused.value.problems)


def test_a_change_control_review_decides_only_its_own_draft(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    first_draft = Deployer(session).deploy(files("quality-objectives.bpmn", replace=("Soạn", "Lập")),
                                           actor=people.member, now=clock.now,
                                           unit_id=people.unit.id).definitions[0]  # fmt: skip
    second = Deployer(session).deploy(files("quality-objectives.bpmn", replace=("Soạn", "Viết")),
                                      actor=people.outsider_member, now=clock.now,
                                      unit_id=people.other_unit.id).definitions[0]  # fmt: skip
    assert (first_draft.status, second.status) == ("draft", "draft")
    their_review = versions.review_of(session, second.id)
    assert their_review is not None
    their_instance = session.get(ProcessInstance, their_review.instance_id)
    assert their_instance is not None
    job = JobContext(session, their_instance, "activate", {"definitionId": first_draft.id}, people.outsider_leader,
                     clock.now)  # fmt: skip
    with pytest.raises(EngineError, match="only its own change-control review"):
        versions.activate_version(job)
    with pytest.raises(EngineError, match="only its own change-control review"):
        versions.return_version(job)
    session.rollback()
    session.refresh(first_draft)
    assert first_draft.status == "draft"
    review = versions.review_of(session, first_draft.id)
    assert review is not None and review.decision is None


def test_another_unit_neither_lists_nor_moves_nor_sees_the_moves_of_the_first_units_instances(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    engine = Engine(session)
    old = engine.start(KEY, actor=people.member, unit_id=people.unit.id, now=clock.now)
    direct(session, people.other_unit, people.unit)
    Deployer(session).deploy(files("quality-objectives.bpmn", replace=("Soạn", "Viết")),
                             actor=people.outsider_member, now=clock.now, unit_id=people.other_unit.id)  # fmt: skip
    assert instance_moves.overview(session, KEY, people.outsider_member) == []
    revision = old.revision
    with pytest.raises(InstanceNotFound):  # to the other unit it does not exist
        instance_moves.migrate(session, old.id, actor=people.outsider_member, now=clock.now)
    with pytest.raises(NotAllowed):  # the first unit's secretary is no administrator
        instance_moves.migrate(session, old.id, actor=people.member, now=clock.now)
    session.refresh(old)
    assert (old.revision, old.definition.unit_id) == (revision, None)
    # the first unit's own new version: its administrator moves its instance, the other unit sees nothing
    Deployer(session).deploy(files("quality-objectives.bpmn", replace=("Soạn", "Lập")), actor=users["admin"],
                             now=clock.now, unit_id=people.unit.id)  # fmt: skip
    (waiting,) = instance_moves.overview(session, KEY, users["admin"])
    assert [c.instance.id for c in waiting.checks] == [old.id]
    assert waiting.checks[0].target is not None and waiting.checks[0].target.unit_id == people.unit.id
    moved = instance_moves.migrate(session, old.id, actor=users["admin"], now=clock.now)
    assert instance_moves.recent_migrations(session, KEY, users["admin"]) == [moved]
    assert instance_moves.recent_migrations(session, KEY, people.outsider_member) == []


def test_form_ids_resolve_to_the_deployment_then_the_units_own_then_the_shared_library(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    direct(session, people.other_unit, people.unit)
    planted = (LIBRARY / "quality-objectives-draft.form").read_bytes().replace("Mục tiêu".encode(), b"Nhap mat khau")
    Deployer(session).deploy([SourceFile("quality-objectives-draft.form", planted)], actor=people.outsider_member,
                             now=clock.now, unit_id=people.other_unit.id)  # fmt: skip
    theirs = session.scalars(select(FormDefinition).where(FormDefinition.unit_id == people.other_unit.id)).one()
    mine = Deployer(session).deploy(files("quality-objectives.bpmn", replace=("Soạn", "Lập")),
                                    actor=users["admin"], now=clock.now, unit_id=people.unit.id).definitions[0]
    used = {n["form_definition_id"] for n in mine.elements["nodes"].values() if n.get("form_definition_id")}
    assert theirs.id not in used
    assert all(session.get(FormDefinition, f).unit_id is None for f in used)  # type: ignore[union-attr]
    # the other unit's own process gets the form it deployed
    their_process = Deployer(session).deploy(files("quality-objectives.bpmn", replace=("Soạn", "Viết")),
                                             actor=people.outsider_member, now=clock.now,
                                             unit_id=people.other_unit.id).definitions[0]  # fmt: skip
    their_used = {n["form_definition_id"] for n in their_process.elements["nodes"].values()
                  if n.get("form_definition_id")}  # fmt: skip
    assert theirs.id in their_used


def test_a_units_timer_start_process_runs_only_in_its_unit_and_a_shared_one_not_where_a_unit_runs_its_own(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    direct(session, people.other_unit)
    Deployer(session).deploy(files("timer_quarterly.bpmn"), actor=people.outsider_member, now=clock.now,
                             unit_id=people.other_unit.id)  # fmt: skip
    quarterly = (StartTimer.state == "waiting", ProcessDefinition.key == "timer_quarterly")  # the library has its own
    timer = session.scalars(select(StartTimer).join(ProcessDefinition).where(*quarterly)).one()
    started = Engine(session).start_by_timer(timer.id, now=timer.due_at + timedelta(minutes=1))
    assert [i.unit_id for i in started] == [people.other_unit.id]
    # a shared one runs in every unit but those running a version of their own
    Deployer(session).deploy(files("timer_quarterly.bpmn"), actor=users["admin"], now=clock.now)
    shared = session.scalars(select(StartTimer).join(ProcessDefinition).where(
        *quarterly, ProcessDefinition.unit_id.is_(None))).one()  # fmt: skip
    started = Engine(session).start_by_timer(shared.id, now=shared.due_at + timedelta(minutes=1))
    assert [i.unit_id for i in started] == [people.unit.id]


def test_the_public_portal_lists_neither_change_control_nor_another_units_procedures(
    session: Session, people: People, clock: Clock
) -> None:
    direct(session, people.other_unit)
    Deployer(session).deploy(files("rework_loop.bpmn"), actor=people.outsider_member, now=clock.now,
                             unit_id=people.other_unit.id)  # fmt: skip
    keys = {d.key for d in versions.published(session, people.unit.id)}
    assert KEY in keys
    assert versions.CHANGE_CONTROL_KEY not in keys and "rework_loop" not in keys
    assert "rework_loop" in {d.key for d in versions.published(session, people.other_unit.id)}


def test_objectives_published_by_one_unit_never_reach_another_units_page(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    engine = Engine(session)
    instance = engine.start(KEY, actor=people.outsider_member, unit_id=people.other_unit.id, now=clock.now)
    draft = {**DRAFT, "objectives": DRAFT["objectives"][:1]}  # its one department, "vp"
    steps = [(people.outsider_member, draft), (people.outsider_leader, {"decision": "approve"}),
             (people.outsider_member, {"decisionNumber": "01/QĐ-UBND", "effectiveDate": "2027-01-05"})]  # fmt: skip
    for actor, variables in steps:
        task = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id,
                                                     TaskRow.state == "open")).one()  # fmt: skip
        engine.complete(task.id, actor=actor, now=clock.now, variables=variables)
    assert current_objectives(session, people.other_unit.id) is not None
    assert current_objectives(session, people.unit.id) is None


def test_startable_lists_for_each_unit_the_version_it_runs(
    session: Session, people: People, users: dict[str, User], clock: Clock
) -> None:
    direct(session, people.other_unit)
    theirs = Deployer(session).deploy(files("quality-objectives.bpmn", replace=("Soạn", "Viết")),
                                      actor=people.outsider_member, now=clock.now,
                                      unit_id=people.other_unit.id).definitions[0]  # fmt: skip
    mine = {d.id for d, _ in queries.startable(session, people.member)}
    assert theirs.id not in mine
    assert Engine(session).active_definition(KEY, people.unit.id).id in mine
    assert theirs.id in {d.id for d, _ in queries.startable(session, people.outsider_member)}


def test_deploying_needs_the_right_to_deploy_for_that_owner(session: Session, people: People, clock: Clock) -> None:
    before = count(session, ProcessDefinition)
    for actor, owner in ((people.member, None), (people.member, people.other_unit.id), (people.leader, people.unit.id),
                         (people.nobody, people.unit.id)):  # fmt: skip
        with pytest.raises(NotAllowed):
            Deployer(session).deploy(files("rework_loop.bpmn"), actor=actor, now=clock.now, unit_id=owner)
    assert count(session, ProcessDefinition) == before

