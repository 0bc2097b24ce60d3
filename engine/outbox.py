"""The outbox: messages for other systems, written in the same transaction as the state they report.

A command that changes something another system must hear about (a notice to mail, later a dossier
for iGate) adds an ``OutboxMessage`` with ``enqueue`` before it commits: the message exists exactly
when the change does. Connectors deliver them after commit (``connectors/delivery.py``):

- a message is ``pending`` until a worker claims it (``claim_next``: a conditional UPDATE on its state,
  attempts and due time, so one worker wins) and marks it ``sending`` with a lease of ``LEASE``; a
  worker that dies while sending leaves a lease that runs out, and the message is claimed again;
- delivered, it is ``delivered``; a temporary error puts it back to ``pending`` with an exponential
  backoff (``backoff``); a permanent error, or ``MAX_ATTEMPTS`` attempts, makes it ``failed`` until an
  administrator retries it (``retry``);
- a message with ``expires_at`` that could not go out in time is ``expired`` (a mail copy of an inbox
  notice is worth nothing a week later); nobody is alerted about that.

Each message carries an idempotency key, unique per channel, that goes with every attempt so the
receiving system can drop a duplicate after a crash between sending and marking.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base, claim
from engine.errors import NotFound

MAX_ATTEMPTS = 8
"""Attempts before a message that keeps failing temporarily is given up (1+2+4+…+64 minutes: about 2 hours)."""
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)
LEASE = timedelta(minutes=5)
"""How long a claimed message stays with its worker; far longer than any transport's timeout."""

STATES = ("pending", "sending", "delivered", "failed", "expired")


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("channel", "idempotency_key"),
        Index("ix_outbox_messages_due", "state", "next_attempt_at"),
        Index("ix_outbox_messages_unit_state", "unit_id", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    channel: Mapped[str] = mapped_column(String(40))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


def enqueue(session: Session, *, unit_id: int, channel: str, key: str, payload: dict[str, Any], now: datetime,
            expires_at: datetime | None = None) -> OutboxMessage:  # fmt: skip
    """Add a message to the caller's transaction; it goes out only if that transaction commits."""
    message = OutboxMessage(unit_id=unit_id, channel=channel, idempotency_key=key, payload=payload, state="pending",
                            attempts=0, next_attempt_at=now, last_error="", created_at=now,
                            expires_at=expires_at)  # fmt: skip
    session.add(message)
    return message


def backoff(attempts: int) -> timedelta:
    """The wait after the given number of failed attempts: 1, 2, 4, 8 … minutes, at most ``LONGEST_WAIT``."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


@dataclass(frozen=True)
class Claimed:
    """A message this worker holds: send it, then ``delivered`` or ``attempt_failed`` with these values."""

    id: int
    unit_id: int
    channel: str
    key: str
    payload: dict[str, Any]
    attempt: int


def _due(now: datetime, channels: list[str]) -> Any:
    waiting = (OutboxMessage.state == "pending") | (OutboxMessage.state == "sending")  # a lapsed lease
    not_expired = or_(OutboxMessage.expires_at.is_(None), OutboxMessage.expires_at > now)
    return (waiting, OutboxMessage.next_attempt_at <= now, OutboxMessage.channel.in_(channels), not_expired)


def claim_next(session: Session, now: datetime, channels: list[str]) -> Claimed | None:
    """Claim the oldest due message of these channels and commit the claim; None when nothing is due.

    On PostgreSQL the candidate is read with ``FOR UPDATE SKIP LOCKED``, so workers pick different rows
    instead of queueing behind each other; the conditional UPDATE decides in every case.
    """
    for _ in range(20):  # another worker may win the row we read; read the next one
        stmt = select(OutboxMessage).where(*_due(now, channels)).order_by(OutboxMessage.next_attempt_at,
                                                                         OutboxMessage.id)  # fmt: skip
        message = session.scalars(stmt.limit(1).with_for_update(skip_locked=True)).first()
        if message is None:
            session.commit()
            return None
        seen = message.attempts
        won = claim(session, OutboxMessage, message.id, *_due(now, channels), OutboxMessage.attempts == seen,
                    state="sending", attempts=seen + 1, next_attempt_at=now + LEASE)  # fmt: skip
        claimed = Claimed(message.id, message.unit_id, message.channel, message.idempotency_key,
                          dict(message.payload), seen + 1)  # fmt: skip
        session.commit()
        if won:
            return claimed
    return None


def _held(message: Claimed) -> tuple[Any, ...]:
    """This worker still holds the message: nobody claimed it again after its lease ran out."""
    return (OutboxMessage.state == "sending", OutboxMessage.attempts == message.attempt)


def delivered(session: Session, message: Claimed, now: datetime) -> bool:
    """Mark the message delivered (in the caller's transaction)."""
    return claim(session, OutboxMessage, message.id, *_held(message), state="delivered", delivered_at=now,
                 last_error="")  # fmt: skip


def attempt_failed(session: Session, message: Claimed, error: str, now: datetime, *, permanent: bool) -> bool:
    """Record a failed attempt (in the caller's transaction); True when the message is now ``failed``."""
    failed = permanent or message.attempt >= MAX_ATTEMPTS
    values: dict[str, Any] = {"state": "failed"} if failed else {
        "state": "pending", "next_attempt_at": now + backoff(message.attempt)}  # fmt: skip
    return claim(session, OutboxMessage, message.id, *_held(message), last_error=error[:2000], **values) and failed


def expire(session: Session, now: datetime) -> int:
    """Mark waiting messages past their ``expires_at`` as expired (in the caller's transaction)."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.state == "pending", OutboxMessage.expires_at <= now)
        .values(state="expired")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def retry(session: Session, message_id: int, now: datetime, *, unit_ids: Collection[int]) -> bool:
    """An administrator of ``unit_ids`` sends a failed message of one of them again: it gets a fresh round
    of attempts, due now. Commits; False when the message is not failed (any more)."""
    done = claim(session, OutboxMessage, message_id, OutboxMessage.state == "failed",
                 OutboxMessage.unit_id.in_(list(unit_ids)), state="pending", attempts=0, next_attempt_at=now,
                 expires_at=None)  # fmt: skip
    session.commit()
    if not done:
        message = session.get(OutboxMessage, message_id)
        if message is None or message.unit_id not in unit_ids:  # another unit's message does not exist for them
            raise NotFound("Outgoing message %(id)s does not exist.", id=message_id)
    return done


def failed_messages(session: Session, unit_ids: list[int], limit: int = 200) -> list[OutboxMessage]:
    """The messages of these units that could not be delivered, newest first."""
    stmt = select(OutboxMessage).where(OutboxMessage.unit_id.in_(unit_ids), OutboxMessage.state == "failed")
    return list(session.scalars(stmt.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(limit)))
