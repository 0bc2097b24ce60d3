"""Camunda 7 REST: external tasks, the protocol of Camunda's external task clients (Java, Python, JS).

Each call is the engine's job command (``engine.jobs``): fetch and lock, complete, failure, BPMN
error, extend lock. Workers use an integration account (role ``admin``) and see and act on the jobs of
the units where it holds that role only, as with ``/api/v1/jobs``; another unit's task answers 404.
``fetchAndLock`` long-polls: with ``asyncResponseTimeout`` it waits up to that long (at most
``MAX_LONG_POLL``) for a job, asking the database twice a second. Each waiting worker holds one of the
server's threads meanwhile, so only ``long_poll_slots`` workers wait at once (``eiso run`` keeps them below
half its threads); a worker beyond them gets one look and an answer at once, and polls again after its own
pause, as Camunda's clients do after an empty answer.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import func, select

from engine import (
    Conflict,
    Engine,
    ExternalJob,
    JobNotFound,
    NotAllowed,
    ProcessInstance,
    complete_job,
    covered_job,
    covered_jobs,
    extend_lock,
    fail_job,
    fetch_and_lock,
    queries,
    throw_job_error,
    unlock_job,
)

from ..blueprints.api import basic_auth
from ..errors import translated
from ..extensions import engine as app_engine
from ..extensions import now, sa_session
from ..idempotency import idempotent
from ..ids import MAX_REQUEST_INT, in_request_range
from .shapes import (
    ERROR_DETAILS_SEPARATOR,
    CamundaError,
    bool_arg,
    external_task_dto,
    int_arg,
    invalid,
    json_object,
)
from .variables import from_camunda, to_camunda

bp = Blueprint("camunda_external_tasks", __name__)

MAX_LONG_POLL = 30.0  # seconds a fetchAndLock may wait for work
POLL_INTERVAL = 0.5
MAX_TASKS = 100
UNSUPPORTED_TOPIC_FILTERS = ("businessKey", "processDefinitionId", "processDefinitionIdIn", "processDefinitionKey",
                             "processDefinitionKeyIn", "processDefinitionVersionTag", "tenantIdIn",
                             "processVariables")  # fmt: skip


@bp.errorhandler(Conflict)
def _not_locked(exc: Conflict) -> Any:
    # Camunda answers 400 when the worker does not hold the task's lock or the task moved on.
    error = CamundaError(400, "BadUserRequestException", translated(exc))
    return jsonify(error.body()), 400


def _worker() -> Engine:
    if not queries.is_admin(sa_session(), g.user):
        raise NotAllowed("Only integration accounts (role admin) may work on external tasks.")
    return app_engine()


def _text(body: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise invalid(f"'{name}' must be given as text.")
    return value


def _whole(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if value is None:
        return default
    if not in_request_range(value):
        raise invalid(f"'{name}' must be a whole number up to {MAX_REQUEST_INT:,}.")
    return value


# --- fetch and lock ------------------------------------------------------------------------------


def _topics(body: dict[str, Any]) -> list[dict[str, Any]]:
    topics = body.get("topics")
    if not isinstance(topics, list) or not topics or not all(isinstance(t, dict) for t in topics):
        raise invalid("'topics' must be a list of {topicName, lockDuration, variables}.")
    for topic in topics:
        _text(topic, "topicName", required=True)
        if _whole(topic, "lockDuration", 0) <= 0:
            raise invalid(f"Give topic '{topic['topicName']}' a lockDuration in milliseconds.")
        for name in UNSUPPORTED_TOPIC_FILTERS:
            if topic.get(name):
                raise invalid(f"eISO does not filter external tasks by '{name}' (topic '{topic['topicName']}').")
        if topic.get("variables") is not None and not isinstance(topic["variables"], list):
            raise invalid("A topic's 'variables' must be a list of variable names.")
    return topics


def _lock_some(engine: Engine, worker_id: str, topics: list[dict[str, Any]], max_tasks: int) -> list[dict[str, Any]]:
    locked: list[dict[str, Any]] = []
    for topic in topics:
        wanted = max_tasks - len(locked)
        if wanted <= 0:
            break
        jobs = fetch_and_lock(engine, worker_id, [topic["topicName"]], actor=g.user, max_jobs=wanted,
                              lock=timedelta(milliseconds=topic["lockDuration"]), now=now())  # fmt: skip
        locked += [_locked_dto(job, topic) for job in jobs]
    return locked


def _locked_dto(job: dict[str, Any], topic: dict[str, Any]) -> dict[str, Any]:
    """Camunda's LockedExternalTaskDto: the task, its variables (after input mappings) and properties."""
    row = sa_session().get(ExternalJob, job["id"])
    instance = sa_session().get(ProcessInstance, job["instance_id"])
    assert row is not None and instance is not None
    dto = external_task_dto(row, instance)
    dto["variables"] = to_camunda(job["variables"], topic.get("variables"))
    if topic.get("includeExtensionProperties"):
        node = instance.definition.elements["nodes"].get(row.element_id, {})
        dto["extensionProperties"] = {**(node.get("properties") or {}), **(row.headers or {})}
    return dto


@bp.post("/external-task/fetchAndLock")
@basic_auth
def fetch() -> Any:
    engine, body = _worker(), json_object()
    worker_id, topics = _text(body, "workerId", required=True), _topics(body)
    max_tasks = min(_whole(body, "maxTasks", 10), MAX_TASKS)
    if max_tasks <= 0:
        return jsonify([])
    wait = min(_whole(body, "asyncResponseTimeout", 0) / 1000, MAX_LONG_POLL)
    slots = current_app.extensions["eiso_long_poll"]
    holding = wait > 0 and slots.acquire(blocking=False)  # no free slot: one look, answered at once
    try:
        deadline = time.monotonic() + (wait if holding else 0)
        while True:
            locked = _lock_some(engine, worker_id, topics, max_tasks)
            if locked or time.monotonic() >= deadline:
                return jsonify(locked)
            sa_session().rollback()  # end the read so the next look sees jobs committed since
            time.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))
    finally:
        if holding:
            slots.release()


# --- reading -------------------------------------------------------------------------------------


@bp.get("/external-task")
@basic_auth
def tasks() -> Any:
    stmt = _task_query()
    limit = int_arg("maxResults")
    stmt = stmt.order_by(ExternalJob.created_at, ExternalJob.id).offset(max(0, int_arg("firstResult", 0) or 0))
    jobs = sa_session().scalars(stmt.limit(None if limit is None else max(0, limit))).all()
    return jsonify([_dto(job) for job in jobs])


@bp.get("/external-task/count")
@basic_auth
def count_tasks() -> Any:
    """How many external tasks the list would give (same filters), as Camunda clients ask before paging."""
    return jsonify({"count": sa_session().scalar(select(func.count()).select_from(_task_query().subquery()))})


def _task_query() -> Any:
    _worker()
    stmt = covered_jobs(sa_session(), g.user).where(ExternalJob.state.in_(("open", "incident")))
    for arg, column in (("topicName", ExternalJob.job_type), ("workerId", ExternalJob.locked_by),
                        ("activityId", ExternalJob.element_id), ("externalTaskId", ExternalJob.id)):  # fmt: skip
        if request.args.get(arg):
            stmt = stmt.where(column == request.args[arg])
    if request.args.get("processInstanceId"):
        stmt = stmt.where(ExternalJob.instance_id == int_arg("processInstanceId"))
    if bool_arg("locked"):
        stmt = stmt.where(ExternalJob.state == "open", ExternalJob.lock_expires_at > now(),
                          ExternalJob.locked_by.is_not(None))  # fmt: skip
    if bool_arg("withRetriesLeft"):
        stmt = stmt.where(ExternalJob.retries > 0)
    if bool_arg("noRetriesLeft"):
        stmt = stmt.where(ExternalJob.retries == 0)
    return stmt


def _instance(job: ExternalJob) -> ProcessInstance:
    instance = sa_session().get(ProcessInstance, job.instance_id)
    assert instance is not None
    return instance


def _dto(job: ExternalJob) -> dict[str, Any]:
    return external_task_dto(job, _instance(job))


@bp.get("/external-task/<task_id>")
@basic_auth
def task(task_id: str) -> Any:
    _worker()
    job = covered_job(sa_session(), task_id, g.user)
    if job.state not in ("open", "incident"):
        raise JobNotFound(task_id)
    return jsonify(_dto(job))


@bp.get("/external-task/<task_id>/errorDetails")
@basic_auth
def error_details(task_id: str) -> Any:
    _worker()
    job = covered_job(sa_session(), task_id, g.user)
    if job.state not in ("open", "incident"):
        raise JobNotFound(task_id)
    return external_task_dto(job, _instance(job))["errorDetails"], 200, {"Content-Type": "text/plain; charset=utf-8"}


# --- reporting -----------------------------------------------------------------------------------


@bp.post("/external-task/<task_id>/complete")
@basic_auth
@idempotent
def complete(task_id: str) -> Any:
    engine, body = _worker(), json_object()
    # Local variables reach the task's output mappings like the others (eISO has one scope per task).
    variables = {**from_camunda(body.get("localVariables")), **from_camunda(body.get("variables"))}
    complete_job(engine, task_id, _text(body, "workerId", required=True), variables, actor=g.user,
                 now=now())  # fmt: skip
    return "", 204


@bp.post("/external-task/<task_id>/failure")
@basic_auth
def failure(task_id: str) -> Any:
    engine, body = _worker(), json_object()
    message, details = _text(body, "errorMessage"), _text(body, "errorDetails")
    error = f"{message}{ERROR_DETAILS_SEPARATOR}{details}" if details else message
    fail_job(engine, task_id, _text(body, "workerId", required=True), error, actor=g.user,
             retries=_whole(body, "retries", 0),
             retry_after=timedelta(milliseconds=max(0, _whole(body, "retryTimeout", 0))), now=now())  # fmt: skip
    return "", 204


@bp.post("/external-task/<task_id>/bpmnError")
@basic_auth
def bpmn_error(task_id: str) -> Any:
    engine, body = _worker(), json_object()
    throw_job_error(engine, task_id, _text(body, "workerId", required=True), _text(body, "errorCode", required=True),
                    _text(body, "errorMessage"), from_camunda(body.get("variables")), actor=g.user,
                    now=now())  # fmt: skip
    return "", 204


@bp.post("/external-task/<task_id>/unlock")
@basic_auth
def unlock(task_id: str) -> Any:
    unlock_job(_worker(), task_id, actor=g.user, now=now())
    return "", 204


@bp.post("/external-task/<task_id>/extendLock")
@basic_auth
def extend(task_id: str) -> Any:
    engine, body = _worker(), json_object()
    extend_lock(engine, task_id, _text(body, "workerId", required=True), actor=g.user,
                lock=timedelta(milliseconds=_whole(body, "newDuration", 0)), now=now())  # fmt: skip
    return "", 204
