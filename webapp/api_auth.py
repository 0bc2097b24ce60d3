"""Who calls /api/v1 and /engine-rest: an API token or an account's password, never the session cookie.

- ``Authorization: Bearer <token>``: an API token (``engine/org/tokens.py``). No password hash is checked.
- HTTP Basic with the user name ``__token__`` and the token as the password: the same, for Camunda clients
  that only know Basic.
- HTTP Basic with a user name and password: the account, under the log-in limits; credentials verified a
  moment ago are remembered for ``EISO_BASIC_AUTH_CACHE_SECONDS`` (``engine/org/credential_cache.py``).

Every failure answers alike (401, one sentence): an unknown account, a wrong password, an unknown,
revoked or malformed token, a token whose holder was deactivated. Failed tokens count against the
client address's log-in limit (they name no account); while the address is locked they are answered 429.
A valid token is served even then: 256 random bits are not guessed, and a worker behind the same address
as a password guesser keeps working.

What a token may be used for is decided here, in one table: ``ROUTE_SCOPES`` names, for every API route
that takes credentials, the scopes any one of which lets a token call it. A route missing from the table
refuses tokens (``tests/webapp/test_api_tokens.py`` checks that none is missing). What the token's holder
may do in the token's unit is then decided by the engine, as for any account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, abort, current_app, g, request
from flask_babel import gettext as _

from engine import User, VerifiedCredentials, login_guard, tokens

from .auth import LockedOut, sign_in
from .extensions import now, sa_session

F = TypeVar("F", bound=Callable[..., Any])
TOKEN_USERNAME = "__token__"  # noqa: S105 - the documented user name that says "the password is a token"
CREDENTIALS = "eiso_credentials"

_START, _TASKS, _DEPLOY, _JOBS = tokens.START, tokens.TASKS, tokens.DEPLOY, tokens.JOBS
_READ_DEFINITIONS = frozenset({_START, _DEPLOY})
_READ_INSTANCES = frozenset({_START, _TASKS})
_EXTERNAL_TASKS = "camunda_rest.camunda_external_tasks."
_PROCESSES = "camunda_rest.camunda_processes."
_RUNTIME = "camunda_rest.camunda_runtime."
ROUTE_SCOPES: Mapping[str, frozenset[str]] = {
    # /api/v1
    "api.definitions": _READ_DEFINITIONS,
    "api.start": frozenset({_START}),
    "api.tasks": frozenset({_TASKS}),
    "api.task": frozenset({_TASKS}),
    "api.claim": frozenset({_TASKS}),
    "api.unclaim": frozenset({_TASKS}),
    "api.bulk_claim": frozenset({_TASKS}),
    "api.reassign": frozenset({_TASKS}),
    "api.delegate": frozenset({_TASKS}),
    "api.resolve": frozenset({_TASKS}),
    "api.substitutions": frozenset({_TASKS}),
    "api.arrange_substitute": frozenset({_TASKS}),
    "api.cancel_substitute": frozenset({_TASKS}),
    "api.complete": frozenset({_TASKS}),
    "api.instances": _READ_INSTANCES,
    "api.instance": _READ_INSTANCES,
    "api.deploy": frozenset({_DEPLOY}),
    # the ISO registers, read-only: read as instances are (what the instances wrote)
    "registers_api.registers": _READ_INSTANCES,
    "registers_api.rows": _READ_INSTANCES,
    "registers_api.row": _READ_INSTANCES,
    "jobs_api.fetch": frozenset({_JOBS}),
    "jobs_api.complete": frozenset({_JOBS}),
    "jobs_api.failure": frozenset({_JOBS}),
    "jobs_api.bpmn_error": frozenset({_JOBS}),
    "jobs_api.retry": frozenset({_JOBS}),
    "messages_api.publish": frozenset({_START}),
    "signals_api.signal": frozenset({_START}),
    "api_tokens.list_tokens": frozenset(),  # tokens never manage tokens
    "api_tokens.create_token": frozenset(),
    "api_tokens.revoke_token": frozenset(),
    # organisation administration needs the administrator's own password, as tokens do
    **{"organisation_api." + name: frozenset() for name in (
        "units", "create_unit", "unit", "update_unit", "departments", "create_department", "update_department",
        "delete_department", "people", "create_person", "person", "update_person", "set_roles", "set_password",
        "deactivate", "reactivate", "import_people", "import_template", "audit", "provinces")},
    # /engine-rest
    "camunda_rest.deployments": frozenset({_DEPLOY}),
    "camunda_rest.deployment": frozenset({_DEPLOY}),
    "camunda_rest.create_deployment": frozenset({_DEPLOY}),
    _PROCESSES + "definitions": _READ_DEFINITIONS,
    _PROCESSES + "count_definitions": _READ_DEFINITIONS,
    _PROCESSES + "definition": _READ_DEFINITIONS,
    _PROCESSES + "definition_xml": _READ_DEFINITIONS,
    _PROCESSES + "definition_by_key": _READ_DEFINITIONS,
    _PROCESSES + "start_by_id": frozenset({_START}),
    _PROCESSES + "start_by_key": frozenset({_START}),
    _PROCESSES + "instance": _READ_INSTANCES,
    _PROCESSES + "message": frozenset({_START}),
    _PROCESSES + "signal": frozenset({_START}),
    **{_RUNTIME + name: _READ_INSTANCES for name in (
        "instances", "count_instances", "instance_variables", "instance_variable")},
    **{_RUNTIME + name: frozenset({_TASKS}) for name in ("tasks", "count_tasks", "task")},
    **{_EXTERNAL_TASKS + name: frozenset({_JOBS}) for name in (
        "fetch", "tasks", "count_tasks", "task", "error_details", "complete", "failure", "bpmn_error", "unlock",
        "extend")},
}  # fmt: skip


def _refusal() -> str:
    return _("Send the credentials of an active eISO account (HTTP Basic) or an API token "
             "(Authorization: Bearer).")  # fmt: skip


def remembered() -> VerifiedCredentials:
    return cast(VerifiedCredentials, current_app.extensions[CREDENTIALS])


def _token_user(secret: str) -> User:
    """The token's holder, acting within the token's unit, once the route's scope is checked."""
    db, address, current = sa_session(), request.remote_addr or "", now()
    grant = tokens.authenticate_token(db, secret, current, address)
    if grant is None:  # a locked address is told so; otherwise the failure counts towards locking it
        until = login_guard.locked_until(db, None, address, current) or \
            login_guard.record_failure(db, None, address, current)
        if until is not None:
            raise LockedOut(until, current)
        abort(401, _refusal())
    tokens.require_scope(grant, ROUTE_SCOPES.get(request.endpoint or "", frozenset()))
    g.api_token = grant
    return grant.user


def api_user() -> User:
    """The account this API request acts as (for a token: its holder within its unit); 401 otherwise."""
    scheme, _space, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return _token_user(value.strip())
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        if auth.username == TOKEN_USERNAME:
            return _token_user(auth.password or "")
        user = sign_in(auth.username or "", auth.password or "", remembered())
        if user is not None:
            return user
    abort(401, _refusal())


def api_auth(view: F) -> F:
    """For every /api/v1 and /engine-rest view that acts for someone: ``g.user`` is that account."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        g.user = api_user()
        return view(*args, **kwargs)

    wrapped.takes_credentials = True  # type: ignore[attr-defined]
    return cast(F, wrapped)


def register(app: Flask) -> None:
    settings = app.config["EISO_SETTINGS"]
    app.extensions[CREDENTIALS] = VerifiedCredentials(ttl=settings.basic_auth_cache_seconds)
