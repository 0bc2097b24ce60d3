"""Stopping and restarting a process's clock, e.g. while a dossier waits for the citizen's supplement.

Two built-in job types for service tasks: ``eiso.pause_clock`` stops the clock of the instance;
``eiso.resume_clock`` restarts it and moves the deadlines on by the working time that passed while
it was stopped: the instance's own deadline, that of each open step (counted from when the step
arrived, if it arrived during the pause), and every timer the instance was waiting for when the clock
stopped (a dossier's apology letter is due one working day before its appointment, and the appointment
moves on). Timers that began during the pause measure the pause itself and stay as they are. Reminders
and escalation leave paused instances alone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from engine.org.calendar_days import calendar_for
from engine.runtime.handlers import JobContext
from engine.runtime.models import HistoryEvent, TaskRow, Timer

PAUSE_JOB = "eiso.pause_clock"
RESUME_JOB = "eiso.resume_clock"


def pause_clock(job: JobContext) -> dict[str, Any]:
    instance = job.instance
    if instance.paused_at is None:
        instance.paused_at = job.now
        waiting = select(Timer.id).where(Timer.instance_id == instance.id, Timer.state == "waiting",
                                         Timer.kind.in_(("date", "duration")))  # fmt: skip
        job.record("clock_paused", {"timers": sorted(job.session.scalars(waiting))})
    return {}


def _timers_at_pause(job: JobContext) -> list[int]:
    """The timers the instance was waiting for when its clock stopped (noted with the pause)."""
    last = (select(HistoryEvent.data)
            .where(HistoryEvent.instance_id == job.instance.id, HistoryEvent.kind == "clock_paused")
            .order_by(HistoryEvent.id.desc()))  # fmt: skip
    data = job.session.scalars(last.limit(1)).first() or {}
    return [int(i) for i in data.get("timers") or [] if isinstance(i, int)]


def resume_clock(job: JobContext) -> dict[str, Any]:
    instance = job.instance
    paused_at = instance.paused_at
    if paused_at is None:
        return {}
    calendar = calendar_for(job.session, instance.unit_id)
    paused = calendar.working_time_between(paused_at, job.now)
    if instance.due_at is not None:
        instance.due_at = calendar.add_working_time(instance.due_at, paused)
    stmt = select(TaskRow).where(
        TaskRow.instance_id == instance.id, TaskRow.state == "open", TaskRow.due_at.is_not(None)
    )
    for task in job.session.scalars(stmt):
        since = max(paused_at, task.created_at)
        task.due_at = calendar.add_working_time(task.due_at, calendar.working_time_between(since, job.now))  # type: ignore[arg-type]
    moved = _timers_at_pause(job)
    if moved:
        waiting = select(Timer).where(Timer.id.in_(moved), Timer.instance_id == instance.id, Timer.state == "waiting")
        for timer in job.session.scalars(waiting):
            timer.due_at = calendar.add_working_time(timer.due_at, paused)
    instance.paused_at = None
    instance.paused_seconds += int(paused.total_seconds())
    job.record("clock_resumed", {"paused_working_hours": round(paused / timedelta(hours=1), 2)})
    return {}
