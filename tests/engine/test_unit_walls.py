"""Units are walls: another unit's accounts, and people of no unit, can neither read nor change a unit's
work through the engine. Each attack is refused and leaves every row and the history as they were."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine, outbox, queries
from engine.errors import InstanceNotFound, NotAllowed, NotFound, TaskNotFound
from engine.library.deploy import Deployer, SourceFile
from engine.org.calendar_days import remove_calendar_day, set_calendar_day
from engine.org.models import Notice, User
from engine.org.notices import notify
from engine.org.people import PROVINCE_ADMIN, grant_system_role
from engine.outbox import OutboxMessage
from engine.runtime.jobs import (
    ExternalJob,
    JobNotFound,
    complete_job,
    covered_job,
    covered_jobs,
    extend_lock,
    fail_job,
    fetch_and_lock,
    retry_job,
    throw_job_error,
)
from engine.runtime.messages import NoOneWaiting, correlate
from engine.runtime.models import (
    HistoryEvent,
    ProcessInstance,
    StoredFile,
    TaskCandidate,
    TaskRow,
)
from engine.runtime.signals import send_signal
from tests.conftest import FIXTURES, Clock, People, make_user, snapshot
from tests.conftest import integration_account as admin

pytestmark = pytest.mark.usefixtures("library")
LOCK = timedelta(minutes=5)


def deploy(session: Session, clock: Clock, path: str) -> None:
    source = FIXTURES / path
    Deployer(session).deploy([SourceFile(source.name, source.read_bytes())], actor=None, now=clock.now)


def start_dossier(session: Session, clock: Clock, people: People) -> tuple[Engine, int]:
    """An instance of the demo unit waiting for its worker (``igate-verify``) and for a message."""
    deploy(session, clock, "events/dossier_events_c8.bpmn")
    engine = Engine(session)
    instance = engine.start("dossier_events_c8", actor=people.member, unit_id=people.unit.id, now=clock.now,
                            variables={"dossier": "HS-001"})  # fmt: skip
    return engine, instance.id


def strangers(people: People) -> list[User]:
    """The other unit's administrator (a worker account there) and the account of no unit."""
    return [people.outsider_member, people.nobody]


# --- external jobs --------------------------------------------------------------------------------------


def test_another_units_worker_fetches_none_of_the_units_jobs(session: Session, people: People, clock: Clock) -> None:
    engine, _ = start_dossier(session, clock, people)
    before = snapshot(session)
    assert fetch_and_lock(engine, "bmt", ["igate-verify"], actor=people.outsider_member, max_jobs=10, lock=LOCK,
                          now=clock.now) == []  # fmt: skip
    with pytest.raises(NotAllowed):
        fetch_and_lock(engine, "khach", ["igate-verify"], actor=people.nobody, max_jobs=10, lock=LOCK, now=clock.now)
    with pytest.raises(NotAllowed):  # a member of the unit who is not its integration account
        fetch_and_lock(engine, "thuky", ["igate-verify"], actor=people.member, max_jobs=10, lock=LOCK, now=clock.now)
    assert snapshot(session) == before
    [job] = fetch_and_lock(engine, "igate", ["igate-verify"], actor=admin(session), max_jobs=10, lock=LOCK,
                           now=clock.now)  # fmt: skip
    assert job["business_key"] is None and job["instance_id"] == engine.session.scalar(select(ProcessInstance.id))


def test_another_units_worker_cannot_read_a_job_of_the_unit(session: Session, people: People, clock: Clock) -> None:
    start_dossier(session, clock, people)
    job_id = session.scalars(select(ExternalJob.id)).one()
    assert covered_job(session, job_id, admin(session)).id == job_id
    with pytest.raises(JobNotFound):  # as if it did not exist
        covered_job(session, job_id, people.outsider_member)
    assert session.scalars(covered_jobs(session, people.outsider_member)).all() == []
    with pytest.raises(NotAllowed):
        covered_jobs(session, people.nobody)


ATTACKS = {
    "complete": lambda e, j, w, a, now: complete_job(e, j, w, {"verified": True}, actor=a, now=now),
    "fail": lambda e, j, w, a, now: fail_job(e, j, w, "down", actor=a, retries=0, retry_after=timedelta(0), now=now),
    "bpmn error": lambda e, j, w, a, now: throw_job_error(e, j, w, "DOSSIER_INVALID", "", {}, actor=a, now=now),
    "extend lock": lambda e, j, w, a, now: extend_lock(e, j, w, actor=a, lock=timedelta(hours=24), now=now),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_another_units_worker_cannot_act_on_a_locked_job_of_the_unit(session: Session, people: People, clock: Clock,
                                                                     attack: str) -> None:  # fmt: skip
    engine, _ = start_dossier(session, clock, people)
    [job] = fetch_and_lock(engine, "igate", ["igate-verify"], actor=admin(session), max_jobs=1, lock=LOCK,
                           now=clock.now)  # fmt: skip
    before = snapshot(session)
    with pytest.raises(JobNotFound):  # the worker id is guessed right; the unit is not the account's
        ATTACKS[attack](engine, job["id"], "igate", people.outsider_member, clock.now)
    with pytest.raises(NotAllowed):
        ATTACKS[attack](engine, job["id"], "igate", people.nobody, clock.now)
    assert snapshot(session) == before


def test_another_units_administrator_cannot_retry_a_job_with_an_incident(session: Session, people: People,
                                                                         clock: Clock) -> None:  # fmt: skip
    engine, _ = start_dossier(session, clock, people)
    [job] = fetch_and_lock(engine, "igate", ["igate-verify"], actor=admin(session), max_jobs=1, lock=LOCK,
                           now=clock.now)  # fmt: skip
    fail_job(engine, job["id"], "igate", "iGate down", actor=admin(session), retries=0, retry_after=timedelta(0),
             now=clock.now)  # fmt: skip
    before = snapshot(session)
    assert ("incident", 0) in [(state, retries) for _, state, retries, *_ in before["jobs"]]
    for stranger in strangers(people):
        with pytest.raises((JobNotFound, NotAllowed)):
            retry_job(engine, job["id"], actor=stranger, retries=3, now=clock.now)
    assert snapshot(session) == before
    retried = retry_job(engine, job["id"], actor=admin(session), retries=3, now=clock.now)
    assert (retried.state, retried.retries) == ("open", 3)


# --- messages and signals ---------------------------------------------------------------------------------


def test_a_message_from_another_unit_reaches_none_of_the_units_instances(session: Session, people: People,
                                                                         clock: Clock) -> None:  # fmt: skip
    engine, instance_id = start_dossier(session, clock, people)
    before = snapshot(session)
    assert ("waiting",) in [(state,) for _, state in before["subscriptions"]]
    for unit in (None, people.other_unit):  # nothing waits in the sender's own unit
        with pytest.raises(NoOneWaiting):
            correlate(engine, "dossier-withdrawn", "HS-001", {"withdrawn_by": "x"}, actor=people.outsider_member,
                      unit=unit, now=clock.now)  # fmt: skip
    for not_a_sender in (people.nobody, people.member):
        with pytest.raises(NotAllowed):
            correlate(engine, "dossier-withdrawn", "HS-001", {}, actor=not_a_sender, unit=None, now=clock.now)
    assert snapshot(session) == before
    reached = correlate(engine, "dossier-withdrawn", "HS-001", {}, actor=admin(session), unit=None, now=clock.now)
    assert reached.correlated == [instance_id]


def test_a_message_starts_processes_only_in_a_unit_the_sender_administers(session: Session, people: People,
                                                                          clock: Clock) -> None:  # fmt: skip
    deploy(session, clock, "supplement_message.bpmn")
    engine = Engine(session)
    before = snapshot(session)
    for sender in (people.outsider_member, people.member, people.nobody):
        with pytest.raises(NotAllowed):
            correlate(engine, "dossier_received", None, {"dossierCode": "HS-9"}, actor=sender, unit=people.unit,
                      now=clock.now)  # fmt: skip
    assert snapshot(session) == before
    own = correlate(engine, "dossier_received", None, {"dossierCode": "HS-9"}, actor=people.outsider_member,
                    unit=people.other_unit, now=clock.now)  # fmt: skip
    [started] = own.started
    assert session.get(ProcessInstance, started).unit_id == people.other_unit.id  # type: ignore[union-attr]


def test_another_units_administrator_cannot_signal_the_units_processes(session: Session, people: People,
                                                                       clock: Clock) -> None:  # fmt: skip
    deploy(session, clock, "events/policy_signals_c7.bpmn")
    engine = Engine(session)
    engine.start("document_review_c7", actor=people.member, unit_id=people.unit.id, now=clock.now)
    before = snapshot(session)
    for stranger in (people.outsider_member, people.nobody, people.member):
        with pytest.raises(NotAllowed):
            send_signal(engine, "policy-changed", {}, actor=stranger, unit_id=people.unit.id, now=clock.now)
    assert snapshot(session) == before
    assert send_signal(engine, "policy-changed", {}, actor=admin(session), unit_id=people.unit.id,
                       now=clock.now).delivered  # fmt: skip


# --- the working calendar ---------------------------------------------------------------------------------


def test_only_a_province_administrator_changes_the_province_calendar(session: Session, people: People) -> None:
    before = snapshot(session)
    for editor in (people.outsider_member, people.member, people.leader, people.nobody):  # unit admins included
        with pytest.raises(NotAllowed):
            set_calendar_day(session, None, date(2027, 3, 3), "off", "Nghỉ", actor=editor)
    assert snapshot(session) == before
    entry = set_calendar_day(session, None, date(2027, 3, 3), "off", "Nghỉ", actor=admin(session))
    before = snapshot(session)
    for editor in (people.outsider_member, people.member, people.nobody):
        with pytest.raises(NotAllowed):  # the province's days are everyone's to see, the province's to change
            remove_calendar_day(session, entry.id, actor=editor)
    assert snapshot(session) == before


def test_a_units_calendar_is_changed_by_its_own_administrators_only(session: Session, people: People) -> None:
    entry = set_calendar_day(session, people.unit.id, date(2027, 3, 6), "working", "Làm bù", actor=admin(session))
    before = snapshot(session)
    for editor in (people.outsider_member, people.outsider_leader, people.member, people.nobody):
        with pytest.raises(NotAllowed):
            set_calendar_day(session, people.unit.id, date(2027, 3, 13), "working", "", actor=editor)
        with pytest.raises(NotAllowed if editor is people.member else NotFound):  # to strangers it is not there
            remove_calendar_day(session, entry.id, actor=editor)
    assert snapshot(session) == before
    own = set_calendar_day(session, people.other_unit.id, date(2027, 3, 13), "off", "", actor=people.outsider_member)
    assert own.unit_id == people.other_unit.id
    with pytest.raises(NotFound):
        remove_calendar_day(session, 999_999, actor=admin(session))


# --- who a diagram gives a task to ------------------------------------------------------------------------


def start_named(session: Session, clock: Clock, people: People, **names: str) -> tuple[Engine, TaskRow]:
    """An instance of the demo unit whose task names people by user name (``assignee_name``, ``candidate_names``)."""
    deploy(session, clock, "assignment_names_c8.bpmn")
    engine = Engine(session)
    instance = engine.start("assignment_names", actor=people.member, unit_id=people.unit.id, now=clock.now,
                            variables=dict(names))  # fmt: skip
    return engine, session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id)).one()


def candidates(session: Session, row: TaskRow) -> tuple[set[str], set[int]]:
    found = session.scalars(select(TaskCandidate).where(TaskCandidate.task_id == row.id)).all()
    return {c.role for c in found if c.role}, {c.user_id for c in found if c.user_id}


def test_a_diagram_cannot_give_a_task_to_another_units_person(session: Session, people: People,
                                                              clock: Clock) -> None:  # fmt: skip
    engine, row = start_named(session, clock, people, assignee_name="thuky_bmt")
    assert row.assignee_id is None and candidates(session, row) == ({"admin"}, set())  # it falls to the admins
    [incident] = session.scalars(select(HistoryEvent).where(HistoryEvent.kind == "incident")).all()
    assert (incident.task_id, incident.data["not_found"], incident.data["fell_to_admins"]) == (row.id, ["thuky_bmt"],
                                                                                               True)  # fmt: skip
    notices = session.scalars(select(Notice).where(Notice.kind == "assignee_not_found")).all()
    assert {n.user_id for n in notices} == {admin(session).id} and "thuky_bmt" in notices[0].title
    before = snapshot(session)
    outsider = people.outsider_member
    assert not engine.may_work(row, outsider) and not engine.is_candidate(row, outsider)
    assert queries.my_tasks(session, outsider) == [] and queries.claimable_tasks(session, outsider) == []
    with pytest.raises(NotAllowed):
        engine.claim(row.id, actor=outsider, now=clock.now)
    with pytest.raises(NotAllowed):
        engine.complete(row.id, actor=outsider, now=clock.now, variables={})
    with pytest.raises(TaskNotFound):  # as if there were no such task
        engine.visible_task(row.id, outsider)
    assert snapshot(session) == before
    assert engine.claim(row.id, actor=admin(session), now=clock.now).assignee_id == admin(session).id


def test_candidate_users_of_another_unit_are_left_out_and_reported(session: Session, people: People,
                                                                   clock: Clock) -> None:  # fmt: skip
    engine, row = start_named(session, clock, people, candidate_names="thuky_bmt, chuyenvien")
    specialist = session.scalars(select(User).where(User.username == "chuyenvien")).one()
    assert candidates(session, row) == (set(), {specialist.id})  # reaches someone: no fall to the admins
    [incident] = session.scalars(select(HistoryEvent).where(HistoryEvent.kind == "incident")).all()
    assert (incident.data["not_found"], incident.data["fell_to_admins"]) == (["thuky_bmt"], False)
    with pytest.raises(NotAllowed):
        engine.claim(row.id, actor=people.outsider_member, now=clock.now)
    assert engine.claim(row.id, actor=specialist, now=clock.now).assignee_id == specialist.id


def test_a_task_named_for_a_member_of_the_unit_goes_to_that_member(session: Session, people: People,
                                                                   clock: Clock) -> None:  # fmt: skip
    _, row = start_named(session, clock, people, assignee_name="thuky")
    assert row.assignee_id == people.member.id and candidates(session, row) == (set(), set())
    assert session.scalars(select(HistoryEvent).where(HistoryEvent.kind == "incident")).all() == []
    assert session.scalars(select(Notice).where(Notice.kind == "assignee_not_found")).all() == []


def test_a_row_holding_another_units_person_gives_that_person_nothing(session: Session, people: People,
                                                                      clock: Clock) -> None:  # fmt: skip
    """A task row written before names were looked up in the unit: its holder from elsewhere gets nothing."""
    engine, row = start_named(session, clock, people, assignee_name="thuky")
    row.assignee_id = people.outsider_member.id
    session.add(TaskCandidate(task_id=row.id, user_id=people.outsider_member.id))
    session.commit()
    before = snapshot(session)
    outsider = people.outsider_member
    assert queries.my_tasks(session, outsider) == [] and queries.inbox_counts(session, outsider).mine == 0
    assert not engine.may_work(row, outsider) and not engine.is_candidate(row, outsider)
    with pytest.raises(NotAllowed):
        engine.complete(row.id, actor=outsider, now=clock.now, variables={})
    with pytest.raises(NotAllowed):
        engine.save_draft(row.id, {"x": 1}, actor=outsider, now=clock.now)
    with pytest.raises(NotAllowed):
        engine.unclaim(row.id, actor=outsider, now=clock.now)
    assert snapshot(session) == before


# --- reads: lists, pages, data, files, notices ------------------------------------------------------------


def test_another_units_people_see_nothing_of_the_units_work(session: Session, people: People, clock: Clock) -> None:
    engine, instance_id = start_dossier(session, clock, people)
    objectives = engine.start("quality_objectives", actor=people.member, unit_id=people.unit.id, now=clock.now)
    task = session.scalars(select(TaskRow).where(TaskRow.instance_id == objectives.id)).first()
    assert task is not None
    for stranger in (people.outsider_member, people.outsider_leader, people.nobody):
        assert queries.instances_for(session, stranger) == []
        assert queries.my_tasks(session, stranger) == [] and queries.claimable_tasks(session, stranger) == []
        assert queries.inbox_counts(session, stranger) == queries.InboxCounts(0, 0, 0)
        assert all(people.unit.id not in units for _, units in queries.startable(session, stranger))
        with pytest.raises(InstanceNotFound):  # as if there were no such process
            queries.visible_instance(session, stranger, instance_id)
        with pytest.raises(TaskNotFound):
            engine.visible_task(task.id, stranger)
    with pytest.raises(InstanceNotFound):
        queries.visible_instance(session, people.outsider_member, 999_999)
    assert queries.visible_instance(session, people.leader, instance_id).id == instance_id


def test_another_units_people_cannot_download_the_units_files(session: Session, people: People,
                                                              clock: Clock) -> None:  # fmt: skip
    engine, instance_id = start_dossier(session, clock, people)
    for state, uploader in (("attached", people.member), ("pending", people.member)):
        session.add(StoredFile(id=f"file-{state}", instance_id=instance_id, field="evidence", filename="qd.pdf",
                               content_type="application/pdf", size=3, sha256="0" * 64, storage_key=f"k-{state}",
                               state=state, uploaded_by_id=uploader.id, uploaded_at=clock.now))  # fmt: skip
    session.commit()
    for stranger in (people.outsider_member, people.nobody):
        for file_id in ("file-attached", "file-pending"):
            with pytest.raises(NotFound):  # as if there were no such file
                engine.file_for(file_id, stranger)
    with pytest.raises(NotAllowed):  # a colleague's upload not yet attached is the colleague's only
        engine.file_for("file-pending", people.leader)
    with pytest.raises(NotFound):
        engine.file_for("no-such-file", people.member)
    assert engine.file_for("file-attached", people.leader).filename == "qd.pdf"


def test_nobody_marks_another_persons_notice_read(session: Session, people: People, clock: Clock) -> None:
    [notice] = notify(session, [people.member], unit_id=people.unit.id, kind="test", title="Thông báo", now=clock.now)
    session.commit()
    for stranger in (people.outsider_member, people.leader):
        with pytest.raises(NotFound):
            queries.mark_notice_read(session, notice.id, stranger, clock.now)
    session.expire_all()
    assert session.get(Notice, notice.id).read_at is None  # type: ignore[union-attr]
    assert queries.mark_notice_read(session, notice.id, people.member, clock.now).read_at is not None


def test_another_units_administrator_cannot_send_the_units_failed_messages_again(session: Session, people: People,
                                                                                 clock: Clock) -> None:  # fmt: skip
    message = outbox.enqueue(session, unit_id=people.unit.id, channel="email", key="notice-1", now=clock.now,
                             payload={"to": "thuky@example.vn"})  # fmt: skip
    message.state = "failed"
    session.commit()
    before = session.execute(select(OutboxMessage.state, OutboxMessage.attempts)).all()
    with pytest.raises(NotFound):  # another unit's message does not exist for its administrators
        outbox.retry(session, message.id, clock.now, unit_ids={people.other_unit.id})
    with pytest.raises(NotFound):
        outbox.retry(session, 999_999, clock.now, unit_ids={people.other_unit.id})
    assert session.execute(select(OutboxMessage.state, OutboxMessage.attempts)).all() == before
    assert outbox.retry(session, message.id, clock.now, unit_ids={people.unit.id})


def test_a_province_calendar_administrator_does_not_change_a_units_own_calendar(session: Session,
                                                                                people: People) -> None:  # fmt: skip
    keeper = make_user(session, "lich_tinh", None)  # a role above the units, none in any unit
    grant_system_role(session, keeper, PROVINCE_ADMIN)
    session.commit()
    assert set_calendar_day(session, None, date(2027, 4, 30), "off", "", actor=keeper).unit_id is None
    before = snapshot(session)
    with pytest.raises(NotAllowed):
        set_calendar_day(session, people.unit.id, date(2027, 5, 8), "working", "", actor=keeper)
    assert snapshot(session) == before
