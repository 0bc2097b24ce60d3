"""External jobs: service and send tasks and message throw events whose job type no built-in handler
knows wait for a worker.

A worker (another system, or a connector) asks for jobs of its topics with ``fetch_and_lock``, does
the work, then reports ``complete_job`` (with variables) or ``fail_job`` (with the retries left). A
lock expires, so a worker that dies does not hold a job for ever; a job whose retries run out becomes
an ``incident`` in the instance's history and waits for an administrator (``retry_job``).
Every command takes the acting account: it works only on the jobs of instances of the units where the
account holds ``admin``; another unit's job answers as if it did not exist (``JobNotFound``).
This mirrors Camunda 7 external tasks (C7 ``camunda:type="external" camunda:topic``) and Camunda 8
job workers (``zeebe:taskDefinition type``, ``retries``, task headers).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import JSON, ForeignKey, Index, Integer, Select, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.data_check import check_variables
from engine.db import Base, claim
from engine.errors import Conflict, EngineError, NotAllowed, NotFound
from engine.org.models import User
from engine.org.people import administered_unit_ids
from engine.runtime.command import Command, Commands, write_history
from engine.runtime.events import deliver, error_event, run_task
from engine.runtime.iomapping import on_completion, shadowed, with_inputs
from engine.runtime.models import HistoryEvent, ProcessInstance

DEFAULT_RETRIES = 3
MAX_LOCK = timedelta(hours=24)


class ExternalJob(Base):
    """A step (service or send task, message throw event…) waiting for an external worker."""

    __tablename__ = "external_jobs"
    __table_args__ = (Index("ix_external_jobs_topic_state", "job_type", "state"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the workflow task's id
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    job_type: Mapped[str] = mapped_column(String(200))
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(12))  # open | completed | incident | cancelled
    retries: Mapped[int] = mapped_column(Integer)
    locked_by: Mapped[str | None] = mapped_column(String(200))
    lock_expires_at: Mapped[datetime | None]
    error_message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class JobNotFound(NotFound):
    def __init__(self, job_id: str) -> None:
        super().__init__("Job %(id)s does not exist.", id=job_id)


def job_row(task: Any, node: dict[str, Any], instance: ProcessInstance, now: datetime) -> ExternalJob:
    retries = str(node.get("retries") or DEFAULT_RETRIES)
    return ExternalJob(
        id=str(task.id), instance_id=instance.id, element_id=node.get("id", ""), name=node.get("name", ""),
        job_type=node.get("job_type") or "", headers=dict(node.get("headers") or {}), state="open",
        retries=int(retries) if retries.isdigit() else DEFAULT_RETRIES, created_at=now,
    )  # fmt: skip


def _lock_free(now: datetime) -> Any:
    return or_(ExternalJob.lock_expires_at.is_(None), ExternalJob.lock_expires_at < now)


def _node(instance: ProcessInstance, element_id: str) -> dict[str, Any]:
    return dict(instance.definition.elements["nodes"].get(element_id, {}))


def _covered(session: Session, actor: User) -> set[int]:
    units = administered_unit_ids(session, actor)
    if not units:
        raise NotAllowed("Only integration accounts (role admin) may work on jobs.")
    return units


def covered_jobs(session: Session, actor: User) -> Select[ExternalJob]:
    """The jobs of the units the account covers, as a query to narrow further."""
    units = _covered(session, actor)
    return select(ExternalJob).join(ProcessInstance, ProcessInstance.id == ExternalJob.instance_id).where(
        ProcessInstance.unit_id.in_(units))  # fmt: skip


def covered_job(session: Session, job_id: str, actor: User) -> ExternalJob:
    """One job of a unit the account covers; ``JobNotFound`` for any other, as if it did not exist."""
    stmt = covered_jobs(session, actor).where(ExternalJob.id == job_id).execution_options(populate_existing=True)
    job = session.scalar(stmt)
    if job is None:
        raise JobNotFound(job_id)
    return job


def fetch_and_lock(engine: Commands, worker_id: str, topics: list[str], *, actor: User, max_jobs: int,
                   lock: timedelta, now: datetime) -> list[dict[str, Any]]:  # fmt: skip
    """Lock up to ``max_jobs`` open jobs of these topics, in the units ``actor`` covers, for this worker and
    return them with their data.

    Each job is claimed in a command of its own, so two workers never get the same job."""
    if not worker_id or not topics or not 0 < max_jobs <= 100 or not timedelta(0) < lock <= MAX_LOCK:
        raise EngineError("Give a workerId, at least one topic, maxJobs 1..100 and a lock of at most 24 hours.")
    with engine.command(now=now, actor=actor) as command:
        candidates = command.session.scalars(
            covered_jobs(command.session, actor).with_only_columns(ExternalJob.id)
            .where(ExternalJob.job_type.in_(topics), ExternalJob.state == "open", ExternalJob.retries > 0,
                   _lock_free(now))
            .order_by(ExternalJob.created_at, ExternalJob.id)
            .limit(max_jobs)
        ).all()  # fmt: skip
    locked = []
    for job_id in candidates:
        with engine.command(now=now, actor=actor) as command:
            free = (ExternalJob.state == "open", _lock_free(now))
            if claim(command.session, ExternalJob, job_id, *free, locked_by=worker_id, lock_expires_at=now + lock):
                locked.append(_describe(command, job_id))
    return locked


def _describe(command: Command, job_id: str) -> dict[str, Any]:
    job = command.session.get(ExternalJob, job_id, populate_existing=True)
    assert job is not None
    instance = command.session.get(ProcessInstance, job.instance_id)
    assert instance is not None
    workflow = command.load(instance)
    command.saved(instance, workflow)  # read only: back to the cache as it was
    node = _node(instance, job.element_id)
    data = with_inputs(node.get("io"), workflow.get_task_from_id(uuid.UUID(job.id)).data)
    units_list = instance.unit.department_choices()
    if data.get("departments") == units_list:  # the unit's list eISO gives every instance, not the process's own
        data.pop("departments")
    return {
        "id": job.id, "topic": job.job_type, "instance_id": job.instance_id, "element_id": job.element_id,
        "business_key": instance.business_key, "retries": job.retries, "headers": job.headers,
        "lock_expires_at": job.lock_expires_at.isoformat() if job.lock_expires_at else None,
        "variables": data,
    }  # fmt: skip


def _locked_job(command: Command, job_id: str, worker_id: str, actor: User, now: datetime, *,
                expired_ok: bool = True) -> ExternalJob:  # fmt: skip
    """The job, when this worker holds it. A worker may still report a job whose lock ran out while no
    other worker took it (as in Camunda 7); extending a lock needs one that has not run out."""
    job = covered_job(command.session, job_id, actor)
    if job.state != "open":
        raise Conflict("Job %(id)s is not open any more (%(state)s).", id=job_id, state=job.state)
    expired = job.lock_expires_at is None or job.lock_expires_at < now
    if job.locked_by != worker_id or (expired and not expired_ok):
        raise Conflict("Job %(id)s is not locked by worker '%(worker)s'; fetch and lock it first.", id=job_id,
                       worker=worker_id)  # fmt: skip
    return job


def complete_job(engine: Commands, job_id: str, worker_id: str, variables: dict[str, Any], *, actor: User,
                 now: datetime) -> None:  # fmt: skip
    """The worker did the job: its variables enter the process (through output mappings) and it moves on."""
    check_variables(variables)
    with engine.command(now=now, actor=actor) as command:
        job = _locked_job(command, job_id, worker_id, actor, now)
        step = command.open(job.instance_id)
        task = step.workflow.get_task_from_id(uuid.UUID(job.id))
        if not task.has_state(TaskState.READY):
            raise Conflict("The process is not waiting for job %(id)s any more.", id=job_id)
        node = _node(step.instance, job.element_id)
        data = with_inputs(node.get("io"), task.data)
        flowing = on_completion(node.get("io"), data, variables, shadowed(node.get("io"), task.data))
        task.data.clear()
        task.data.update(flowing)
        run_task(task)
        job.state, job.completed_at = "completed", now
        step.recorder.add("job_completed", element=(job.element_id, job.name),
                          data={"job_type": job.job_type, "worker": worker_id, "output": variables})  # fmt: skip
        command.proceed(step)


def throw_job_error(engine: Commands, job_id: str, worker_id: str, error_code: str, message: str,
                    variables: dict[str, Any], *, actor: User, now: datetime) -> bool:  # fmt: skip
    """The worker reports a business error (Camunda 7 ``bpmnError``, Camunda 8 "throw error").

    The error boundary event on the task (or on an enclosing subprocess, or an error event
    subprocess) that catches ``error_code`` takes the process on, with ``variables`` as data. When
    nothing catches it the job becomes an incident, as in Camunda 8, and waits for an administrator.
    Returns whether the error was caught.
    """
    if not error_code:
        raise EngineError("Give the error code the diagram's error events catch.")
    check_variables(variables)
    with engine.command(now=now, actor=actor) as command:
        job = _locked_job(command, job_id, worker_id, actor, now)
        step = command.open(job.instance_id)
        instance, recorder = step.instance, step.recorder
        task = step.workflow.get_task_from_id(uuid.UUID(job.id))
        if not task.has_state(TaskState.READY):
            raise Conflict("The process is not waiting for job %(id)s any more.", id=job_id)
        payload = {**task.data, **variables}
        caught = deliver(task, error_event(error_code, payload))
        data = {"job_type": job.job_type, "worker": worker_id, "code": error_code, "message": message[:4000],
                "variables": variables}  # fmt: skip
        job.error_message = f"{error_code}: {message}"[:4000]
        if caught is None:
            job.state, job.locked_by, job.lock_expires_at = "incident", None, None
            uncaught = f"No event catches the error {error_code!r}."
            data.update(job=job.id, error=uncaught)
            recorder.add("incident", element=(job.element_id, job.name), data=data)
            write_history(command.session, recorder.events)
            return False
        catcher = _node(instance, str(caught.task_spec.bpmn_id)).get("error") or {}
        for name, value in ((catcher.get("code_variable"), error_code), (catcher.get("message_variable"), message)):
            if name:  # Camunda 7 camunda:errorCodeVariable / errorMessageVariable
                caught.internal_data.setdefault(caught.task_spec.event_definition.name, {})[name] = value
        job.state, job.completed_at = "completed", now
        recorder.add("job_error_thrown", element=(job.element_id, job.name), data=data)
        command.proceed(step)
    return True


def fail_job(engine: Commands, job_id: str, worker_id: str, error: str, *, actor: User, retries: int,
             retry_after: timedelta, now: datetime) -> ExternalJob:  # fmt: skip
    """The worker could not do the job: try again later, or raise an incident when no retries are left."""
    if retries < 0:
        raise EngineError("The number of retries left cannot be negative; give 0 to raise an incident.")
    with engine.command(now=now, actor=actor) as command:
        job = _locked_job(command, job_id, worker_id, actor, now)
        job.retries = max(0, retries)
        job.error_message = error[:4000]
        job.locked_by, job.lock_expires_at = None, (now + retry_after if retries > 0 else None)
        if job.retries == 0:
            job.state = "incident"
            command.session.add(HistoryEvent(instance_id=job.instance_id, at=now, kind="incident",
                                            element_id=job.element_id, element_name=job.name,
                                            data={"job": job.id, "error": job.error_message}))  # fmt: skip
    return job


def extend_lock(engine: Commands, job_id: str, worker_id: str, *, actor: User, lock: timedelta,
                now: datetime) -> ExternalJob:  # fmt: skip
    """The worker needs longer: its lock now ends ``lock`` from now (only while it still holds the lock)."""
    if not timedelta(0) < lock <= MAX_LOCK:
        raise EngineError("Give a new lock duration of more than 0 and at most 24 hours.")
    with engine.command(now=now, actor=actor) as command:
        job = _locked_job(command, job_id, worker_id, actor, now, expired_ok=False)
        job.lock_expires_at = now + lock
    return job


def unlock_job(engine: Commands, job_id: str, *, actor: User, now: datetime) -> ExternalJob:
    """Release a job's lock (Camunda 7 ``unlock``): any worker of the unit may fetch it again at once."""
    with engine.command(now=now, actor=actor) as command:
        job = covered_job(command.session, job_id, actor)
        if job.state != "open":
            raise Conflict("Job %(id)s is not open any more (%(state)s).", id=job_id, state=job.state)
        job.locked_by, job.lock_expires_at = None, None
    return job


def retry_job(engine: Commands, job_id: str, *, actor: User, retries: int, now: datetime) -> ExternalJob:
    """After an incident was dealt with: give the job new retries so workers fetch it again."""
    with engine.command(now=now, actor=actor) as command:
        job = covered_job(command.session, job_id, actor)
        if job.state != "incident":
            raise Conflict("Only a job with an incident can be retried.")
        job.state, job.retries, job.lock_expires_at = "open", max(1, retries), None
        command.session.add(HistoryEvent(instance_id=job.instance_id, at=now, kind="job_retried", actor_id=actor.id,
                                        element_id=job.element_id, element_name=job.name,
                                        data={"job": job.id, "retries": job.retries}))  # fmt: skip
    return job
