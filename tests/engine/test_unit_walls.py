"""Units are walls: another unit's accounts, and people of no unit, can neither read nor change a unit's
work through the engine. Each attack is refused and leaves every row and the history as they were."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine
from engine.errors import NotAllowed, NotFound
from engine.library.deploy import Deployer, SourceFile
from engine.org.calendar_days import remove_calendar_day, set_calendar_day
from engine.org.models import CalendarDay, User
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
from engine.runtime.models import HistoryEvent, MessageSubscription, ProcessInstance, TaskRow
from engine.runtime.signals import send_signal
from tests.conftest import FIXTURES, Clock, People

pytestmark = pytest.mark.usefixtures("library")
LOCK = timedelta(minutes=5)


def deploy(session: Session, clock: Clock, path: str) -> None:
    source = FIXTURES / path
    Deployer(session).deploy([SourceFile(source.name, source.read_bytes())], actor=None, now=clock.now)


def snapshot(session: Session) -> dict[str, Any]:
    """Everything a refused attack must leave as it was: instances, tasks, jobs, subscriptions, history."""
    session.expire_all()

    def rows(stmt: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in session.execute(stmt)]

    return {
        "instances": [(i, r, s, hashlib.sha256(state.encode()).hexdigest()) for i, r, s, state in rows(
            select(ProcessInstance.id, ProcessInstance.revision, ProcessInstance.status, ProcessInstance.state)
            .order_by(ProcessInstance.id))],
        "tasks": rows(select(TaskRow.id, TaskRow.state, TaskRow.assignee_id).order_by(TaskRow.id)),
        "jobs": rows(select(ExternalJob.id, ExternalJob.state, ExternalJob.retries, ExternalJob.locked_by,
                            ExternalJob.lock_expires_at, ExternalJob.error_message).order_by(ExternalJob.id)),
        "subscriptions": rows(select(MessageSubscription.id, MessageSubscription.state)
                              .order_by(MessageSubscription.id)),
        "history": rows(select(HistoryEvent.id, HistoryEvent.kind).order_by(HistoryEvent.id)),
        "calendar": rows(select(CalendarDay.id, CalendarDay.unit_id, CalendarDay.day, CalendarDay.kind)
                         .order_by(CalendarDay.id)),
    }  # fmt: skip


def start_dossier(session: Session, clock: Clock, people: People) -> tuple[Engine, int]:
    """An instance of the demo unit waiting for its worker (``igate-verify``) and for a message."""
    deploy(session, clock, "events/dossier_events_c8.bpmn")
    engine = Engine(session)
    instance = engine.start("dossier_events_c8", actor=people.member, unit_id=people.unit.id, now=clock.now,
                            variables={"dossier": "HS-001"})  # fmt: skip
    return engine, instance.id


def admin(session: Session) -> User:
    found = session.scalar(select(User).where(User.username == "admin"))
    assert found is not None
    return found


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
        with pytest.raises(NotAllowed):
            remove_calendar_day(session, entry.id, actor=editor)
    assert snapshot(session) == before


def test_a_units_calendar_is_changed_by_its_own_administrators_only(session: Session, people: People) -> None:
    entry = set_calendar_day(session, people.unit.id, date(2027, 3, 6), "working", "Làm bù", actor=admin(session))
    before = snapshot(session)
    for editor in (people.outsider_member, people.outsider_leader, people.member, people.nobody):
        with pytest.raises(NotAllowed):
            set_calendar_day(session, people.unit.id, date(2027, 3, 13), "working", "", actor=editor)
        with pytest.raises(NotAllowed):
            remove_calendar_day(session, entry.id, actor=editor)
    assert snapshot(session) == before
    own = set_calendar_day(session, people.other_unit.id, date(2027, 3, 13), "off", "", actor=people.outsider_member)
    assert own.unit_id == people.other_unit.id
    with pytest.raises(NotFound):
        remove_calendar_day(session, 999_999, actor=admin(session))
