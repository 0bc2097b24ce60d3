"""BPMN timers as Camunda Modeler writes them, fired from the database by the scheduler.

A timer's definition (``timeDate``, ``timeDuration`` or ``timeCycle``) may be an ISO 8601 date-time,
duration or repeating interval (``R3/PT1H``, ``R/2027-01-01T08:00:00+07:00/P1Y``), a cron expression
(Camunda 8: six Spring-style fields, seconds first, or five classic fields), or an expression (FEEL
``=...``, JUEL ``${...}``) that evaluates to one of these. Durations here are calendar time, as BPMN
says, not working time.

SpiffWorkflow would evaluate timer text as Python and compare it with the wall clock. Our event
definitions below never evaluate anything and never read the clock: a timer fires when the engine
sets ``event_fired`` on its task, which happens when the sweep finds its row in ``timers`` due.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from dateutil.relativedelta import relativedelta
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update

from engine.errors import Count, ExpressionError
from engine.runtime.models import ProcessDefinition, StartTimer
from engine.runtime.queries import in_line
from engine.runtime.script_engine import check_expression, evaluate_expression

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+(?:\.\d+)?)Y)?(?:(?P<months>\d+(?:\.\d+)?)M)?(?:(?P<weeks>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<days>\d+(?:\.\d+)?)D)?(?:T(?=\d)(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
MIN_PERIOD = timedelta(minutes=1)  # a cycle faster than this would flood the instance
MAX_CYCLES = 100_000  # R<n>/...: more rounds than this is "for ever" in practice


class TimerError(ExpressionError):
    """A timer definition that cannot be understood."""


@dataclass(frozen=True)
class Schedule:
    """When a timer fires first, and how it repeats (``cycles`` None: for ever; 0: once)."""

    first: datetime
    period: str | None = None
    """An ISO 8601 duration; years and months are calendar years and months."""
    cycles: int | None = 0
    cron: str | None = None

    def following(self, previous: datetime) -> datetime | None:
        """The occurrence after the one due at ``previous``."""
        if self.cron:
            return cron_next(self.cron, previous)
        return add_duration(previous, self.period) if self.period else None


def parse_duration(text: str) -> relativedelta:
    match = _DURATION.match(text.strip())
    if not match:
        raise TimerError("'%(text)s' is not an ISO 8601 duration such as PT4H or P3D.", text=text)
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    whole_years, whole_months = int(parts.get("years", 0)), int(parts.get("months", 0))
    return relativedelta(
        years=whole_years, months=whole_months,
        days=parts.get("days", 0) + 7 * parts.get("weeks", 0), hours=parts.get("hours", 0),
        minutes=parts.get("minutes", 0), seconds=parts.get("seconds", 0),
    )  # fmt: skip


def add_duration(moment: datetime, text: str, times: int = 1) -> datetime:
    step = parse_duration(text)
    try:
        for _ in range(abs(times)):
            moment = moment + step if times > 0 else moment - step
    except (OverflowError, ValueError):  # past the year 9999, or a number too large to count with
        raise TimerError("The duration '%(text)s' reaches beyond the year 9999; give a shorter one.", text=text[:100])
    return moment


def parse_moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TimerError("'%(text)s' is not an ISO 8601 date-time such as 2027-01-05T08:00:00+07:00.", text=text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)).astimezone(UTC)


def _cron_trigger(text: str) -> CronTrigger:
    fields = text.split()
    if len(fields) == 5:
        fields = ["0", *fields]
    if len(fields) != 6:
        raise TimerError("'%(text)s' is not a cron expression (5 or 6 fields).", text=text)
    second, minute, hour, day, month, weekday = [f.replace("?", "*") for f in fields]
    try:
        return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month,
                           day_of_week=weekday, timezone=LOCAL_TZ)  # fmt: skip
    except ValueError as exc:
        raise TimerError("'%(text)s' is not a valid cron expression: %(reason)s", text=text, reason=str(exc))


def cron_next(text: str, after: datetime) -> datetime:
    fire = _cron_trigger(text).get_next_fire_time(None, after + timedelta(seconds=1))
    if fire is None:
        raise TimerError("The cron expression '%(text)s' never fires.", text=text)
    return fire.astimezone(UTC)


def _cycle(text: str, now: datetime) -> Schedule:
    parts = text.strip().split("/")
    count = parts[0][1:]
    cycles = None if count in ("", "-1") else int(count) if count.isascii() and count.isdigit() else -2
    if cycles == -2 or len(parts) not in (2, 3):
        raise TimerError("'%(text)s' is not a repeating interval such as R3/PT1H.", text=text)
    if cycles is not None and cycles > MAX_CYCLES:
        raise TimerError(
            "The cycle '%(text)s' repeats more than %(limit)s times; leave the count out to repeat for ever.",
            text=text[:100],
            limit=Count(MAX_CYCLES),
        )
    if len(parts) == 2:
        period = parts[1]
        start = add_duration(now, period)
    elif parts[1].startswith("P"):  # R/duration/end: count back from the end
        period = parts[1]
        start = add_duration(parse_moment(parts[2]), period, -(cycles or 1))
    else:
        start, period = parse_moment(parts[1]), parts[2]
    if add_duration(start, period) - start < MIN_PERIOD:
        raise TimerError("The cycle '%(text)s' repeats faster than once a minute.", text=text)
    return Schedule(start, period, None if cycles is None else cycles - 1)


def schedule(kind: str, value: str, now: datetime) -> Schedule:
    """The schedule of a timer definition whose (evaluated) value is ``value``."""
    text = str(value).strip()
    if kind == "date":
        return Schedule(parse_moment(text))
    if kind == "duration":
        return Schedule(add_duration(now, text))
    if text.startswith("R"):
        return _cycle(text, now)
    return Schedule(cron_next(text, now), cycles=None, cron=text)


def timer_value(expression: str, data: Mapping[str, Any]) -> str:
    """Literal timer text as it is; an expression evaluated to text."""
    text = expression.strip()
    if text.startswith(("=", "${", "#{")):
        result = evaluate_expression(text, data)
        if isinstance(result, datetime):
            return result.isoformat()
        return "" if result is None else str(result)
    return text


def check_timer(kind: str, expression: str) -> None:
    """Deploy-time check: expressions must parse; literal values must be understood now."""
    text = (expression or "").strip()
    if not text:
        raise TimerError("The timer has no value; set its date, duration or cycle.")
    if text.startswith(("=", "${", "#{")):
        check_expression(text)
    else:
        schedule(kind, text, datetime(2030, 1, 1, tzinfo=UTC))


# --- event definitions fired by the engine -----------------------------------------------------


class EisoTimeDate(TimeDateEventDefinition):
    def has_fired(self, my_task: Any) -> bool:
        return bool(my_task._get_internal_data("event_fired", False))


class EisoDuration(DurationTimerEventDefinition):
    def has_fired(self, my_task: Any) -> bool:
        return bool(my_task._get_internal_data("event_fired", False))


class EisoCycle(CycleTimerEventDefinition):
    """A repeating timer: each occurrence the engine fires spawns one path (non-interrupting).

    On a boundary, each round's path is attached beside the activity (to the task before it), not under the
    timer: when the activity completes, its timer stops and is cancelled with its subtree, but the work its
    rounds started goes on, as in Camunda."""

    def has_fired(self, my_task: Any) -> bool:
        return bool(my_task._get_internal_data("event_fired", False))

    def cycle_complete(self, my_task: Any) -> bool:
        occurred = bool(my_task.internal_data.pop("cycle_occurred", False))
        return occurred

    def update_task(self, my_task: Any) -> None:
        if self.cycle_complete(my_task):
            split = my_task.parent
            on_boundary = split is not None and isinstance(split.task_spec, BoundaryEventSplit)
            anchor = split.parent if on_boundary and split.parent is not None else my_task
            for output in my_task.task_spec.outputs:
                if anchor is not my_task and isinstance(output, BoundaryEventJoin):
                    continue  # the activity's own join: only the host's path goes there
                child = anchor._add_child(output, TaskState.FUTURE)
                child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)
                child.task_spec._update(child)


TIMER_CLASSES = {"date": EisoTimeDate, "duration": EisoDuration, "cycle": EisoCycle}


def timer_kind(definition: Any) -> str | None:
    for kind, cls in TIMER_CLASSES.items():
        if isinstance(definition, cls):
            return kind
    return None


def schedule_start_timers(session: Any, definition: Any, now: datetime) -> None:
    """Plan the first firing of each timer start event of a newly active definition, and stop the
    start timers of the versions it replaces: those of its own line only (a unit's own version leaves the
    shared version's rounds running for the other units)."""
    older = select(ProcessDefinition.id).where(ProcessDefinition.key == definition.key, in_line(definition.unit_id),
                                               ProcessDefinition.id != definition.id)  # fmt: skip
    session.execute(update(StartTimer).where(StartTimer.definition_id.in_(older), StartTimer.state == "waiting")
                    .values(state="cancelled").execution_options(synchronize_session=False))  # fmt: skip
    for element_id, node in definition.elements["nodes"].items():
        timer = node.get("timer")
        if node["type"] != "startEvent" or not timer or node.get("in_event_subprocess"):
            continue  # an event subprocess's timer runs inside an instance, planned when the instance starts
        planned = schedule(timer["kind"], timer_value(timer["expression"], {}), now)
        session.add(StartTimer(definition_id=definition.id, element_id=element_id, due_at=planned.first,
                               period=planned.period, cron=planned.cron, cycles_left=planned.cycles,
                               state="waiting"))  # fmt: skip
