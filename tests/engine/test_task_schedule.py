"""Task priority, follow-up date and the process's version tag, in both Camunda dialects: read from the
diagram, checked at deploy, evaluated when a task arrives, stored on the task row and in the history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Deployer, Engine, SourceFile
from engine.errors import DeploymentRejected, EngineError
from engine.org.models import Unit, User
from engine.runtime.engine import WorkflowCache
from engine.runtime.models import HistoryEvent, ProcessDefinition
from tests.conftest import FIXTURES, Clock
from tests.engine.test_runtime import open_task

pytestmark = pytest.mark.usefixtures("library")

FIXTURE = {"camunda8": "task_schedule_c8.bpmn", "camunda7": "task_schedule_c7.bpmn"}
KEY = {"camunda8": "task_schedule_c8", "camunda7": "task_schedule_c7"}
# The first task's literal follow-up date: a date-time with its offset (C8), a plain date (C7, local midnight).
LITERAL_FOLLOW_UP = {
    "camunda8": datetime(2026, 11, 25, 2, 0, tzinfo=UTC),
    "camunda7": datetime(2026, 11, 24, 17, 0, tzinfo=UTC),
}
HANDLE = {"urgency": 9, "followUpOn": "2026-11-30T14:00:00", "answerBy": "P2D"}


def _source(dialect: str, *replacements: tuple[str, str]) -> SourceFile:
    text = (FIXTURES / FIXTURE[dialect]).read_text()
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    return SourceFile(FIXTURE[dialect], text.encode())


def _deploy(session: Session, clock: Clock, dialect: str, *replacements: tuple[str, str]) -> Deployer:
    deployer = Deployer(session)
    deployer.deploy([_source(dialect, *replacements)], actor=None, now=clock.now)
    return deployer


def _refused(session: Session, clock: Clock, dialect: str, *replacements: tuple[str, str]) -> list[str]:
    with pytest.raises(DeploymentRejected) as refused:
        _deploy(session, clock, dialect, *replacements)
    return [f"{p.element_id}: {p.message}" for p in refused.value.problems]


@pytest.mark.parametrize("mode", ["straight", "reload"])
@pytest.mark.parametrize("dialect", ["camunda8", "camunda7"])
def test_priority_and_follow_up_are_evaluated_when_each_task_arrives(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, dialect: str, mode: str
) -> None:
    _deploy(session, clock, dialect)
    engine = Engine(session, cache=WorkflowCache() if mode == "straight" else None)
    instance = engine.start(KEY[dialect], actor=users["thuky"], unit_id=unit.id, now=clock.now)

    register = open_task(session, instance.id)  # literal values
    assert (register.priority, register.follow_up_at) == (80, LITERAL_FOLLOW_UP[dialect])

    engine.complete(register.id, actor=users["thuky"], now=clock.now, variables=HANDLE)
    handle = open_task(session, instance.id)  # FEEL / JUEL over the data the first task gave
    assert handle.priority == 90
    assert handle.follow_up_at == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 14:00 in Hà Nội
    assert handle.due_at == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # P2D of working time, by the same code

    engine.complete(handle.id, actor=users["thuky"], now=clock.now, variables={})
    archive = open_task(session, instance.id)  # the diagram says nothing: Camunda's default
    assert (archive.priority, archive.follow_up_at) == (50, None)

    created = session.scalars(
        select(HistoryEvent).where(HistoryEvent.instance_id == instance.id, HistoryEvent.kind == "task_created")
        .order_by(HistoryEvent.id)
    ).all()  # fmt: skip
    assert [(e.data["priority"], e.data["follow_up_at"]) for e in created] == [
        (80, LITERAL_FOLLOW_UP[dialect].isoformat()),
        (90, "2026-11-30T07:00:00+00:00"),
        (50, None),
    ]


@pytest.mark.parametrize("dialect", ["camunda8", "camunda7"])
def test_a_priority_expression_out_of_range_stops_the_step_and_keeps_the_task(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, dialect: str
) -> None:
    _deploy(session, clock, dialect)
    engine = Engine(session)
    instance = engine.start(KEY[dialect], actor=users["thuky"], unit_id=unit.id, now=clock.now)
    register = open_task(session, instance.id)
    with pytest.raises(EngineError, match="whole number from 0 to 100, not '500'"):
        engine.complete(register.id, actor=users["thuky"], now=clock.now, variables={**HANDLE, "urgency": 50})
    session.expire_all()
    assert open_task(session, instance.id).id == register.id  # nothing was saved


def test_a_feel_priority_over_a_missing_variable_keeps_the_default(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    _deploy(session, clock, "camunda8")
    engine = Engine(session)
    instance = engine.start(KEY["camunda8"], actor=users["thuky"], unit_id=unit.id, now=clock.now)
    engine.complete(open_task(session, instance.id).id, actor=users["thuky"], now=clock.now,
                    variables={"followUpOn": None, "answerBy": None})  # fmt: skip
    handle = open_task(session, instance.id)
    assert (handle.priority, handle.follow_up_at, handle.due_at) == (50, None, None)


C8_REFUSALS = [
    ('priority="80"', 'priority="high"', "register: The priority cannot be used: The priority must be a whole number "
                                         "from 0 to 100, not 'high'."),  # fmt: skip
    ('priority="80"', 'priority="500"', "register: The priority cannot be used: The priority must be a whole number "
                                        "from 0 to 100, not '500'."),  # fmt: skip
    ('priority="=urgency * 10"', 'priority="=urgency *"', "handle: The priority cannot be used:"),
    ('followUpDate="2026-11-25T09:00:00+07:00"', 'followUpDate="next week"',
     "register: The follow-up date cannot be used: 'next week' is neither an ISO 8601 date-time"),
]
C7_REFUSALS = [
    ('camunda:priority="80"', 'camunda:priority="high"', "register: The priority cannot be used: The priority must "
                                                         "be a whole number from 0 to 100, not 'high'."),  # fmt: skip
    ('camunda:priority="80"', 'camunda:priority="500"', "register: The priority cannot be used: The priority must "
                                                        "be a whole number from 0 to 100, not '500'."),  # fmt: skip
    ('camunda:priority="${urgency * 10}"', 'camunda:priority="${urgency.max(10)}"',
     "handle: The priority cannot be used:"),
    ('camunda:followUpDate="2026-11-25"', 'camunda:followUpDate="25/11/2026"',
     "register: The follow-up date cannot be used: '25/11/2026' is neither an ISO 8601 date-time"),
]


@pytest.mark.parametrize(
    ("dialect", "old", "new", "expected"),
    [("camunda8", *r) for r in C8_REFUSALS] + [("camunda7", *r) for r in C7_REFUSALS],
)
def test_a_priority_or_follow_up_date_that_cannot_work_is_refused_at_deploy(
    session: Session, clock: Clock, dialect: str, old: str, new: str, expected: str
) -> None:
    problems = _refused(session, clock, dialect, (old, new))
    assert len(problems) == 1 and problems[0].startswith(expected), problems


@pytest.mark.parametrize("dialect", ["camunda8", "camunda7"])
def test_the_version_tag_is_stored_and_a_new_tag_alone_makes_a_new_version(
    session: Session, clock: Clock, dialect: str
) -> None:
    _deploy(session, clock, dialect)
    again = Deployer(session).deploy([_source(dialect)], actor=None, now=clock.now)
    assert [d.version for d in again.unchanged] == [1] and again.definitions == []  # same file: nothing new
    retagged = Deployer(session).deploy([_source(dialect, ('"2.1"', '"2.2"'))], actor=None, now=clock.now)
    assert [(d.version, d.version_tag) for d in retagged.definitions] == [(2, "2.2")]
    stored = session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == KEY[dialect])
                             .order_by(ProcessDefinition.version)).all()  # fmt: skip
    assert [(d.version, d.version_tag, d.status) for d in stored] == [(1, "2.1", "superseded"), (2, "2.2", "active")]


def test_a_process_without_a_version_tag_stores_none(session: Session, clock: Clock) -> None:
    _deploy(session, clock, "camunda7", (' camunda:versionTag="2.1"', ""))
    definition = session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == "task_schedule_c7")).one()
    assert definition.version_tag is None


def test_a_documentation_diagram_keeps_its_version_tag(session: Session, clock: Clock) -> None:
    Deployer(session).deploy([_source("camunda8")], actor=None, now=clock.now, as_documentation=True)
    definition = session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == "task_schedule_c8")).one()
    assert (definition.executable, definition.version_tag) == (False, "2.1")


def test_a_version_tag_longer_than_the_column_is_refused(session: Session, clock: Clock) -> None:
    problems = _refused(session, clock, "camunda8", ('value="2.1"', f'value="{"x" * 101}"'))
    assert problems == ["task_schedule_c8: The version tag is longer than 100 characters; shorten it (e.g. '2.1')."]


def test_task_rows_are_listed_by_priority_then_due_date_from_columns_only(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    from engine import queries

    _deploy(session, clock, "camunda8")
    engine = Engine(session)
    for urgency, answer_by in ((3, "P5D"), (9, "P4D"), (9, "P1D"), (3, None)):
        instance = engine.start(KEY["camunda8"], actor=users["thuky"], unit_id=unit.id, now=clock.now)
        engine.complete(open_task(session, instance.id).id, actor=users["thuky"], now=clock.now,
                        variables={**HANDLE, "urgency": urgency, "answerBy": answer_by})  # fmt: skip
    ordered = queries.claimable_tasks(session, users["thuky"], queries.InboxOptions(sort="priority"))
    assert [(t.priority, t.due_at is not None) for t in ordered] == [(90, True), (90, True), (30, True), (30, False)]
    assert ordered[0].due_at < ordered[1].due_at  # type: ignore[operator]
    to_follow_up = queries.claimable_tasks(session, users["thuky"],
                                           queries.InboxOptions(follow_up_by=datetime(2026, 11, 30, 7, 0, tzinfo=UTC)))
    assert len(to_follow_up) == 4  # every task of the "handle" step follows up on 30 Nov, 14:00
    none_yet = queries.InboxOptions(follow_up_by=datetime(2026, 11, 30, 6, 59, tzinfo=UTC))
    assert queries.claimable_tasks(session, users["thuky"], none_yet) == []
