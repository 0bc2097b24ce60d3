"""What the scheduler runs: fire due timers and timer start events, oldest first.

Each firing is its own transaction that chooses the oldest due timer nobody else is firing and claims it
in one conditional UPDATE (``engine.db.NextClaim``), so any number of workers may sweep one database, each taking
the next free timer; timers that came due while nothing was running fire at the next
sweep, in order of their due time. A firing that fails is retried at later sweeps; after
``MAX_ATTEMPTS`` the timer is marked failed and an ``incident`` appears in the instance's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.errors import EngineError
from engine.runtime.engine import Engine
from engine.runtime.models import HistoryEvent, StartTimer, Timer

MAX_ATTEMPTS = 5


@dataclass
class TimerSweep:
    fired: int = 0
    started: int = 0
    failed: int = 0
    more: bool = False  # the sweep stopped at its limit with timers still due: sweep again at once


def _record_failure(session: Session, timer_id: int, error: Exception, now: datetime) -> bool:
    timer = session.get(Timer, timer_id, populate_existing=True)
    if timer is None or timer.state != "waiting":
        return False
    attempts = timer.attempts + 1
    failed = attempts >= MAX_ATTEMPTS
    session.execute(update(Timer).where(Timer.id == timer_id, Timer.state == "waiting").values(
        attempts=attempts, last_error=str(error)[:2000], state="failed" if failed else "waiting"))  # fmt: skip
    if failed:
        session.add(HistoryEvent(instance_id=timer.instance_id, at=now, kind="incident", element_id=timer.element_id,
                                 data={"timer": timer.id, "error": str(error)[:2000]}))  # fmt: skip
    session.commit()
    return failed


def sweep_timers(session: Session, now: datetime, *, limit: int = 500) -> TimerSweep:
    result = TimerSweep()
    engine = Engine(session)
    failed: set[int] = set()  # tried in this sweep and failed: they wait for the next one
    for _ in range(limit):
        claimed: list[int] = []
        try:
            if engine.fire_next_timer(now=now, passing_over=failed, claimed=claimed) is None:
                break
            result.fired += 1
        except (EngineError, ValueError, LookupError) as exc:
            if not claimed:
                raise
            failed.add(claimed[0])
            result.failed += _record_failure(session, claimed[0], exc, now)
    else:
        result.more = True  # the limit came first
    starts = select(StartTimer.id).where(StartTimer.state == "waiting", StartTimer.due_at <= now)
    start_ids = list(session.scalars(starts.order_by(StartTimer.due_at, StartTimer.id).limit(limit)))
    for start_id in start_ids:
        result.started += len(engine.start_by_timer(start_id, now=now))
    result.more = result.more or len(start_ids) == limit
    return result
