"""The delivery sweep: outbox messages out to their channels, each at most once at a time.

For every configured channel (``email`` today; iGate and the document system next), the sweep claims
the oldest due message (``engine.outbox.claim_next``: a conditional UPDATE, ``SKIP LOCKED`` on
PostgreSQL, committed before anything is sent), hands it to the channel with its idempotency key, and
records the outcome in a transaction of its own:

- sent: ``delivered``;
- a temporary ``TransportError`` (or any unexpected error): tried again after an exponential backoff;
- a permanent one, or the last attempt: ``failed``, and in the same transaction every administrator of
  the message's unit gets a notice (never by mail when the failed message was a mail) and the message
  is listed, with a retry button, on ``/admin/outbox``.

A worker that dies while sending leaves the message claimed until its lease runs out; then it is sent
again with the same key, which the receiver uses to drop the duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from connectors.errors import TransportError
from engine import notices, outbox

log = logging.getLogger(__name__)


class Channel(Protocol):
    """One outside system: sends one message's payload, raising ``TransportError`` when it cannot."""

    @property
    def name(self) -> str: ...

    def send(self, key: str, payload: dict[str, Any]) -> None: ...


@dataclass
class Delivery:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    expired: int = 0


def deliver(session: Session, channels: Mapping[str, Channel], clock: Callable[[], datetime], *,
            limit: int = 200) -> Delivery:  # fmt: skip
    """Send up to ``limit`` due messages of these channels. ``clock`` gives the time at each step, so a
    long sweep never claims with a stale time."""
    result = Delivery(expired=outbox.expire(session, clock()))
    session.commit()
    names = sorted(channels)
    for _ in range(limit):
        message = outbox.claim_next(session, clock(), names)
        if message is None:
            break
        _send(session, channels[message.channel], message, clock, result)
    return result


def _send(session: Session, channel: Channel, message: outbox.Claimed, clock: Callable[[], datetime],
          result: Delivery) -> None:  # fmt: skip
    try:
        channel.send(message.key, message.payload)
    except TransportError as exc:
        _failed(session, message, str(exc), clock(), exc.permanent, result)
    except Exception as exc:  # a defect in a channel must not stop the sweep; the message is tried again
        log.exception("channel %s failed on message %s", message.channel, message.id)
        _failed(session, message, f"{exc.__class__.__name__}: {exc}", clock(), False, result)
    else:
        outbox.delivered(session, message, clock())
        session.commit()
        result.sent += 1


def _failed(session: Session, message: outbox.Claimed, error: str, now: datetime, permanent: bool,
            result: Delivery) -> None:  # fmt: skip
    if outbox.attempt_failed(session, message, error, now, permanent=permanent):
        notices.report_failed_delivery(session, message.id, now)
        result.failed += 1
    else:
        result.retry += 1
    session.commit()
