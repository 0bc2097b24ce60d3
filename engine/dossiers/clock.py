"""Stopping and restarting a process's clock, e.g. while a dossier waits for the citizen's supplement.

Two built-in job types for service tasks: ``eiso.pause_clock`` stops the clock of the instance;
``eiso.resume_clock`` restarts it and moves the deadlines on by the working time that passed while
it was stopped: the instance's own deadline, and that of each open step (counted from when the step
arrived, if it arrived during the pause). Reminders and escalation leave paused instances alone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from engine.org.calendar_days import calendar_for
from engine.runtime.handlers import JobContext
from engine.runtime.models import TaskRow

PAUSE_JOB = "eiso.pause_clock"
RESUME_JOB = "eiso.resume_clock"


def pause_clock(job: JobContext) -> dict[str, Any]:
    instance = job.instance
    if instance.paused_at is None:
        instance.paused_at = job.now
        job.record("clock_paused", {})
    return {}


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
    instance.paused_at = None
    instance.paused_seconds += int(paused.total_seconds())
    job.record("clock_resumed", {"paused_working_hours": round(paused / timedelta(hours=1), 2)})
    return {}
