"""Moving running quality-objectives instances from version 1 to the approved version 2 (a task added, a
task renamed, a form field added), and back: what can move and why not, task rows that follow, history,
and a revert only while nothing happened since. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine, instance_moves
from engine.errors import Conflict, NotAllowed
from engine.org.models import Unit, User
from engine.runtime.engine import WorkflowCache
from engine.runtime.models import HistoryEvent, ProcessDefinition, ProcessInstance, TaskRow
from tests.conftest import Clock
from tests.engine.test_versions import DRAFT, OLD_STEPS, only_task, review_task, run_to_end, upload_change

pytestmark = pytest.mark.usefixtures("library")


@pytest.fixture(params=["straight", "reload"])
def eng(request: pytest.FixtureRequest, session: Session) -> Engine:
    return Engine(session, cache=WorkflowCache() if request.param == "straight" else None)


@pytest.fixture
def three(eng: Engine, session: Session, users: dict[str, User], unit: Unit, clock: Clock) -> list[ProcessInstance]:
    """Instances on version 1 waiting at the draft, the review and the record step; then version 2 approved."""
    waiting = []
    for steps in (0, 1, 2):
        instance = eng.start("quality_objectives", actor=users["thuky"], unit_id=unit.id, now=clock.now)
        for element in ("draft_objectives", "review_objectives")[:steps]:
            who, variables = OLD_STEPS[element]
            eng.complete(only_task(session, instance.id).id, actor=users[who], now=clock.now, variables=variables)
        waiting.append(instance)
    draft = upload_change(session, users["admin"], unit, clock.advance(hours=1))
    eng.complete(review_task(session, draft).id, actor=users["giamdoc"], now=clock.advance(hours=1),
                 variables={"decision": "approve"})  # fmt: skip
    return waiting


def reload(session: Session, instance: ProcessInstance) -> ProcessInstance:
    session.expire_all()
    found = session.get(ProcessInstance, instance.id)
    assert found is not None
    return found


def events(session: Session, instance_id: int, kind: str) -> list[HistoryEvent]:
    stmt = select(HistoryEvent).where(HistoryEvent.instance_id == instance_id, HistoryEvent.kind == kind)
    return list(session.scalars(stmt.order_by(HistoryEvent.id)))


def test_each_older_instance_says_whether_it_can_move_and_why_not(
    session: Session, three: list[ProcessInstance], users: dict[str, User]
) -> None:
    (older,) = instance_moves.overview(session, "quality_objectives", users["admin"])
    assert older.definition.version == 1
    checks = {c.instance.id: c for c in older.checks}
    at_draft, at_review, at_record = (checks[i.id] for i in three)
    assert at_draft.possible and at_review.possible and at_draft.target and at_draft.target.version == 2
    assert not at_record.possible
    reasons = [r.message for r in at_record.reasons]
    assert reasons == [
        "The step 'Xem xét, phê duyệt mục tiêu' was already started or completed and is changed in version 2.",
        "The step 'Lãnh đạo phê duyệt?' was already started or completed and is changed in version 2.",
        "The step 'Báo người soạn: dự thảo được phê duyệt' was already started or completed and is changed in "
        "version 2.",
    ]


def test_a_migration_and_its_revert_on_the_real_change(
    eng: Engine, session: Session, users: dict[str, User], clock: Clock, three: list[ProcessInstance]
) -> None:
    at_review = three[1]
    row_before = only_task(session, at_review.id)
    assert row_before.name == "Xem xét, phê duyệt mục tiêu"

    moved = instance_moves.migrate(session, at_review.id, actor=users["admin"], now=clock.advance(minutes=5))
    instance = reload(session, at_review)
    assert instance.definition.version == 2 and moved.revision_after == instance.revision
    row = only_task(session, at_review.id)
    assert (row.id, row.element_id, row.name) == (row_before.id, "review_objectives",
                                                  "Lãnh đạo xem xét, phê duyệt mục tiêu chất lượng")  # fmt: skip
    (event,) = events(session, at_review.id, "instance_migrated")
    assert (event.data["from_version"], event.data["to_version"], event.actor_id) == (1, 2, users["admin"].id)
    assert instance_moves.revertible(session, moved)

    instance_moves.revert(session, moved.id, actor=users["admin"], now=clock.advance(minutes=5))
    instance = reload(session, at_review)
    assert instance.definition.version == 1 and only_task(session, at_review.id).name == "Xem xét, phê duyệt mục tiêu"
    (reverted,) = events(session, at_review.id, "migration_reverted")
    assert (reverted.data["from_version"], reverted.data["to_version"]) == (2, 1)

    again = instance_moves.migrate(session, at_review.id, actor=users["admin"], now=clock.advance(minutes=5))
    # the migrated instance now meets the step version 2 added
    assert run_to_end(eng, session, users, reload(session, at_review), clock.now, OLD_STEPS) == [
        "review_objectives", "check_format", "record_objectives"]
    assert reload(session, at_review).status == "completed"
    session.expire_all()
    with pytest.raises(Conflict, match="can no longer be moved back"):
        instance_moves.revert(session, again.id, actor=users["admin"], now=clock.now)


def test_a_migrated_draft_step_shows_the_new_form(
    eng: Engine, session: Session, users: dict[str, User], clock: Clock, three: list[ProcessInstance]
) -> None:
    at_draft = three[0]
    old_form = only_task(session, at_draft.id).form
    instance_moves.migrate(session, at_draft.id, actor=users["admin"], now=clock.now)
    session.expire_all()
    row = only_task(session, at_draft.id)
    assert row.form is not None and old_form is not None
    assert (row.form.form_key, row.form.version, old_form.version) == ("quality-objectives-draft", 2, 1)
    form = eng.task_form(row)
    assert form is not None and "legalBasis" in {f.key for f in form.fields}
    eng.complete(row.id, actor=users["thuky"], now=clock.now, variables={**DRAFT, "legalBasis": "Chính sách 2027"})
    assert only_task(session, at_draft.id).name == "Lãnh đạo xem xét, phê duyệt mục tiêu chất lượng"


def test_an_instance_that_cannot_move_is_left_exactly_as_it_was(
    session: Session, users: dict[str, User], clock: Clock, three: list[ProcessInstance]
) -> None:
    at_record = three[2]
    before = (at_record.revision, at_record.state, at_record.definition_id)
    with pytest.raises(Conflict, match="is changed in version 2"):
        instance_moves.migrate(session, at_record.id, actor=users["admin"], now=clock.now)
    instance = reload(session, at_record)
    assert (instance.revision, instance.state, instance.definition_id) == before
    assert events(session, at_record.id, "instance_migrated") == []


def test_only_administrators_move_instances_and_only_until_something_happens(
    eng: Engine, session: Session, users: dict[str, User], clock: Clock, three: list[ProcessInstance]
) -> None:
    at_draft = three[0]
    with pytest.raises(NotAllowed):
        instance_moves.migrate(session, at_draft.id, actor=users["thuky"], now=clock.now)
    moved = instance_moves.migrate(session, at_draft.id, actor=users["admin"], now=clock.now)
    eng.claim(only_task(session, at_draft.id).id, actor=users["thuky"], now=clock.advance(minutes=1))
    session.expire_all()
    assert not instance_moves.revertible(session, session.get(type(moved), moved.id))  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        instance_moves.migrate(session, at_draft.id, actor=users["admin"], now=clock.now)  # already on version 2


def test_moving_many_reports_each_instance(
    session: Session, users: dict[str, User], clock: Clock, three: list[ProcessInstance]
) -> None:
    outcomes = instance_moves.migrate_many(session, [i.id for i in three], actor=users["admin"], now=clock.now)
    assert [o.error is None for o in outcomes] == [True, True, False]
    versions = select(ProcessInstance.id, ProcessDefinition.version).join(
        ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id
    )
    on = dict(session.execute(versions).all())
    assert [on[i.id] for i in three] == [2, 2, 1]
    waiting = instance_moves.overview(session, "quality_objectives", users["admin"])
    assert waiting[0].checks[0].instance.id == three[2].id
    open_rows = session.scalars(select(TaskRow).where(TaskRow.state == "open")).all()
    assert all(r.name for r in open_rows)
