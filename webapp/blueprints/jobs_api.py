"""Worker API for external jobs (/api/v1/jobs): fetch and lock, complete, fail; retry for administrators.

Workers authenticate as an eISO account holding the ``admin`` role (an integration account), with HTTP
Basic or an API token of the ``jobs`` scope (``webapp/api_auth.py``), and work on the jobs of the units
where it holds that role (a token: of its one unit); another unit's job answers 404.
Bodies and answers are JSON; errors use the API's usual ``{"status", "message"}`` shape.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, g, jsonify

from engine import Engine, NotAllowed, complete_job, fail_job, fetch_and_lock, queries, retry_job, throw_job_error

from ..extensions import engine as app_engine
from ..extensions import now, sa_session
from ..idempotency import idempotent
from ..ids import MAX_REQUEST_INT, in_request_range
from ..json_body import json_object
from .api import basic_auth

bp = Blueprint("jobs_api", __name__, url_prefix="/api/v1/jobs")


def _body() -> dict[str, Any]:
    return json_object(required=True)


def _worker() -> Engine:
    if not queries.is_admin(sa_session(), g.user):
        raise NotAllowed("Only integration accounts (role admin) may work on jobs.")
    return app_engine()


def _int(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if not in_request_range(value):
        abort(400, f"'{name}' must be a whole number up to {MAX_REQUEST_INT:,}.")
    return value


@bp.post("/fetch-and-lock")
@basic_auth
def fetch() -> Any:
    engine, body = _worker(), _body()
    topics = body.get("topics")
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        abort(400, "'topics' must be a list of job types.")
    lock = timedelta(milliseconds=_int(body, "lockDuration", 300_000))
    jobs = fetch_and_lock(engine, str(body.get("workerId") or ""), topics, actor=g.user,
                          max_jobs=_int(body, "maxJobs", 10), lock=lock, now=now())  # fmt: skip
    return jsonify(jobs)


@bp.post("/<job_id>/complete")
@basic_auth
@idempotent
def complete(job_id: str) -> Any:
    engine, body = _worker(), _body()
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        abort(400, "'variables' must be an object.")
    complete_job(engine, job_id, str(body.get("workerId") or ""), variables, actor=g.user,
                 now=now())  # fmt: skip
    return jsonify({"id": job_id, "state": "completed"})


@bp.post("/<job_id>/failure")
@basic_auth
def failure(job_id: str) -> Any:
    engine, body = _worker(), _body()
    job = fail_job(engine, job_id, str(body.get("workerId") or ""), str(body.get("errorMessage") or ""),
                   actor=g.user, retries=_int(body, "retries", 0),
                   retry_after=timedelta(milliseconds=_int(body, "retryTimeout", 0)), now=now())  # fmt: skip
    return jsonify({"id": job.id, "state": job.state, "retries": job.retries})


@bp.post("/<job_id>/bpmn-error")
@basic_auth
def bpmn_error(job_id: str) -> Any:
    engine, body = _worker(), _body()
    variables = body.get("variables") or {}
    if not isinstance(variables, dict) or not isinstance(body.get("errorCode"), str) or not body["errorCode"]:
        abort(400, "Send the 'errorCode' the diagram's error events catch, and 'variables' as an object if any.")
    caught = throw_job_error(engine, job_id, str(body.get("workerId") or ""), body["errorCode"],
                             str(body.get("errorMessage") or ""), variables, actor=g.user, now=now())  # fmt: skip
    return jsonify({"id": job_id, "state": "completed" if caught else "incident", "caught": caught})


@bp.post("/<job_id>/retry")
@basic_auth
def retry(job_id: str) -> Any:
    job = retry_job(_worker(), job_id, actor=g.user, retries=_int(_body(), "retries", 3), now=now())
    return jsonify({"id": job.id, "state": job.state, "retries": job.retries})
