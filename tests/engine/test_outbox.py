"""The outbox and the notices writer on SQLite and PostgreSQL: a notice and its mail are written by one
transaction or not at all; claims, backoff, leases, expiry and an administrator's retry move with the clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Engine, notices, outbox
from engine.org.models import Notice, Unit, User
from engine.outbox import OutboxMessage
from engine.runtime.models import ProcessInstance
from tests.conftest import Clock
from tests.engine.test_runtime import DRAFT, open_task

RECORD = {"decisionNumber": "12/QĐ-SKHCN", "effectiveDate": "2027-01-02"}


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def message(session: Session, key: str) -> OutboxMessage:
    session.expire_all()
    return session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).one()


def test_each_notice_gets_its_mail_in_the_same_transaction(session: Session, unit: Unit, users: dict[str, User],
                                                           clock: Clock) -> None:  # fmt: skip
    users["chuyenvien"].email = ""  # no address: the notice only
    written = notices.notify(session, [users["thuky"], users["chuyenvien"], users["thuky"]], unit_id=unit.id,
                             kind="task_reminder", title="Sắp đến hạn: Xem xét", body="Phê duyệt mục tiêu",
                             link="/tasks/abc", now=clock.now)  # fmt: skip
    session.rollback()  # nothing was committed: neither the notices nor their mails exist
    assert len(written) == 2 and (count(session, Notice), count(session, OutboxMessage)) == (0, 0)

    written = notices.notify(session, [users["thuky"], users["giamdoc"]], unit_id=unit.id, kind="task_reminder",
                             title="Sắp đến hạn: Xem xét", link="/tasks/abc", now=clock.now)  # fmt: skip
    session.commit()
    mail = message(session, f"notice-{written[0].id}")
    assert (mail.channel, mail.state, mail.unit_id, mail.attempts) == ("email", "pending", unit.id, 0)
    assert mail.payload == {"notice_id": written[0].id, "to": "thuky@skhcn.example.vn", "to_name": "Lê Thị Mai Anh",
                            "title": "Sắp đến hạn: Xem xét", "body": "", "link": "/tasks/abc", "locale": None,
                            "texts": {"title": {"template": "%(text)s", "params": {"text": "Sắp đến hạn: Xem xét"}},
                                      "body": []}}  # fmt: skip
    assert mail.expires_at == clock.now + notices.MAIL_MAX_AGE
    notices.notify(session, [users["giamdoc"]], unit_id=unit.id, kind="x", title="Chỉ trong hộp thư", now=clock.now,
                   email=False)  # fmt: skip
    session.commit()
    assert (count(session, Notice), count(session, OutboxMessage)) == (3, 2)


@pytest.mark.usefixtures("library")
def test_a_command_that_fails_to_commit_leaves_no_notice_and_no_mail(
    session: Session, unit: Unit, users: dict[str, User], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    eng = Engine(session)
    instance = eng.start("quality_objectives", actor=users["thuky"], unit_id=unit.id, now=clock.now)
    eng.complete(open_task(session, instance.id).id, actor=users["thuky"], now=clock.now, variables=DRAFT)
    eng.complete(open_task(session, instance.id).id, actor=users["giamdoc"], now=clock.now,
                 variables={"decision": "approve"})  # fmt: skip
    record = open_task(session, instance.id)  # completing it publishes the objectives and notifies departments
    before = (count(session, Notice), count(session, OutboxMessage))  # the author was told of the approval
    assert before == (1, 1)
    real_commit = session.commit

    def crash_after_flush() -> None:
        session.flush()
        raise RuntimeError("power cut")

    monkeypatch.setattr(session, "commit", crash_after_flush)
    with pytest.raises(RuntimeError):
        eng.complete(record.id, actor=users["thuky"], now=clock.now, variables=RECORD)
    monkeypatch.setattr(session, "commit", real_commit)
    session.rollback()
    assert (count(session, Notice), count(session, OutboxMessage)) == before

    eng.complete(record.id, actor=users["thuky"], now=clock.now, variables=RECORD)
    assert session.get(ProcessInstance, instance.id).status == "completed"  # type: ignore[union-attr]
    to = {p["to"] for p in session.scalars(select(OutboxMessage.payload))}
    assert count(session, Notice) == count(session, OutboxMessage) == 1 + 7  # Văn phòng's 4, Quản lý Khoa học's 3
    assert "truongphong2@skhcn.example.vn" in to and len(to) == 7


def pending_mail(session: Session, unit: Unit, users: dict[str, User], clock: Clock) -> str:
    written = notices.notify(session, [users["thuky"]], unit_id=unit.id, kind="k", title="T", now=clock.now)
    session.commit()
    return f"notice-{written[0].id}"


def test_temporary_failures_back_off_exponentially_then_fail(session: Session, unit: Unit, users: dict[str, User],
                                                              clock: Clock) -> None:  # fmt: skip
    key = pending_mail(session, unit, users, clock)
    waits = []
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        claimed = outbox.claim_next(session, clock.now, ["email"])
        assert claimed is not None and (claimed.key, claimed.attempt) == (key, attempt)
        assert outbox.claim_next(session, clock.now, ["email"]) is None  # held: nobody else gets it
        failed = outbox.attempt_failed(session, claimed, "451 try later", clock.now, permanent=False)
        session.commit()
        if failed:
            break
        due = message(session, key).next_attempt_at
        waits.append(due - clock.now)
        assert outbox.claim_next(session, due - timedelta(seconds=1), ["email"]) is None  # not before its time
        clock.now = due
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert attempt == outbox.MAX_ATTEMPTS and failed
    assert (message(session, key).state, message(session, key).last_error) == ("failed", "451 try later")
    assert outbox.claim_next(session, clock.advance(days=1), ["email"]) is None


def test_a_permanent_error_fails_at_once_and_an_administrator_retries(
    session: Session, unit: Unit, users: dict[str, User], clock: Clock
) -> None:
    key = pending_mail(session, unit, users, clock)
    claimed = outbox.claim_next(session, clock.now, ["email"])
    assert claimed is not None
    assert outbox.attempt_failed(session, claimed, "550 no such mailbox", clock.now, permanent=True)
    session.commit()
    assert [m.idempotency_key for m in outbox.failed_messages(session, [unit.id])] == [key]
    assert outbox.failed_messages(session, [unit.id + 1]) == []
    assert outbox.retry(session, message(session, key).id, clock.advance(hours=1), unit_ids={unit.id})
    assert not outbox.retry(session, message(session, key).id, clock.now, unit_ids={unit.id})  # only a failed one
    again = outbox.claim_next(session, clock.now, ["email"])
    assert again is not None and (again.key, again.attempt) == (key, 1)  # a fresh round, the same key
    assert outbox.delivered(session, again, clock.now)
    session.commit()
    assert message(session, key).state == "delivered" and message(session, key).delivered_at == clock.now


def test_a_worker_that_died_while_sending_loses_the_message_when_its_lease_runs_out(
    session: Session, unit: Unit, users: dict[str, User], clock: Clock
) -> None:
    key = pending_mail(session, unit, users, clock)
    dead = outbox.claim_next(session, clock.now, ["email"])
    assert dead is not None
    assert outbox.claim_next(session, clock.now + outbox.LEASE - timedelta(seconds=1), ["email"]) is None
    alive = outbox.claim_next(session, clock.advance(seconds=outbox.LEASE.total_seconds()), ["email"])
    assert alive is not None and (alive.key, alive.attempt) == (key, 2)
    assert not outbox.delivered(session, dead, clock.now)  # the late worker's mark changes nothing
    assert outbox.delivered(session, alive, clock.now)
    session.commit()
    assert message(session, key).attempts == 2


def test_a_mail_that_could_not_go_out_in_time_expires_quietly(session: Session, unit: Unit, users: dict[str, User],
                                                               clock: Clock) -> None:  # fmt: skip
    key = pending_mail(session, unit, users, clock)
    later = clock.now + notices.MAIL_MAX_AGE
    assert outbox.claim_next(session, later, ["email"]) is None  # mail not configured for three days: too late
    assert outbox.expire(session, later) == 1
    session.commit()
    assert message(session, key).state == "expired" and outbox.failed_messages(session, [unit.id]) == []


def test_other_channels_are_left_alone(session: Session, unit: Unit, clock: Clock) -> None:
    outbox.enqueue(session, unit_id=unit.id, channel="igate", key="hs-1", payload={"dossier": 1}, now=clock.now)
    session.commit()
    assert outbox.claim_next(session, clock.now, ["email"]) is None
    claimed = outbox.claim_next(session, clock.now, ["email", "igate"])
    assert claimed is not None and (claimed.channel, claimed.payload) == ("igate", {"dossier": 1})
