"""A Camunda 7 REST subset under /engine-rest, so Camunda Modeler deploys and Camunda clients work.

Every endpoint maps onto what eISO already does: deployments go through the same ``Deployer``,
validation and change control as the upload page and ``POST /api/v1/deployments``; starts,
messages and external tasks are the engine's own commands. Authentication is HTTP Basic with eISO
accounts (the API's helper); answers and errors have Camunda's shapes and status codes. Requests
come cross-origin (Camunda Modeler), so every answer allows any origin and CORS preflight needs no
credentials; nothing here reads the session cookie, so CSRF does not apply.

This module holds what every endpoint shares (CORS, errors, unknown paths), the engine and version
check, and deployments; ``camunda_processes`` and ``camunda_external_tasks`` hold the rest.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from engine import (
    Conflict,
    Deployment,
    DeploymentRejected,
    EngineError,
    EngineStateError,
    ExpressionError,
    FormInvalid,
    NotAllowed,
    NotFound,
    Problem,
    SourceFile,
    Unit,
    expand_upload,
    queries,
    versions,
)

from ..blueprints.api import basic_auth
from ..errors import database_unavailable, retry_after, translated
from ..extensions import deployer, now, sa_session
from ..i18n import say
from ..ids import is_id
from ..security import basic_challenge_allowed
from . import external_tasks, processes, runtime
from .shapes import (
    CAMUNDA_VERSION,
    CamundaError,
    deployment_dto,
    deployment_tenant,
    int_arg,
    invalid,
    not_found,
    unit_by_code,
    with_definitions,
)
from .variables import VariableInvalid

bp = Blueprint("camunda_rest", __name__, url_prefix="/engine-rest")
bp.register_blueprint(processes.bp)
bp.register_blueprint(external_tasks.bp)
bp.register_blueprint(runtime.bp)
BLUEPRINTS = (bp, processes.bp, external_tasks.bp, runtime.bp)  # all exempt from CSRF (no cookies here)

CORS_PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Accept, Accept-Language, Idempotency-Key",
    "Access-Control-Max-Age": "600",
}
DEPLOYMENT_FIELDS = {"deployment-name", "deployment-source", "enable-duplicate-filtering", "deploy-changed-only",
                     "tenant-id", "deployment-activation-time", "change-summary"}  # fmt: skip
CAMUNDA_SUFFIXES = {".bpmn20.xml": ".bpmn", ".dmn11.xml": ".dmn"}
RESOURCE_SUFFIXES = (".bpmn", ".form", ".dmn", ".zip", *CAMUNDA_SUFFIXES)


# --- shared: CORS, errors, unknown paths -------------------------------------------------------


@bp.after_request
def _cors(response: Any) -> Any:
    # Credentials travel in the Authorization header only (never cookies), so any origin may call.
    response.headers["Access-Control-Allow-Origin"] = "*"
    if request.method == "OPTIONS":
        response.headers.update(CORS_PREFLIGHT)
    return response


@bp.errorhandler(CamundaError)
def _camunda_error(exc: CamundaError) -> Any:
    response = jsonify(exc.body())
    if exc.status == 401 and basic_challenge_allowed():
        response.headers["WWW-Authenticate"] = 'Basic realm="eISO"'
    response.headers.extend(exc.headers)
    return response, exc.status


@bp.errorhandler(VariableInvalid)
def _variable_invalid(exc: VariableInvalid) -> Any:
    return _camunda_error(invalid(str(exc)))


@bp.errorhandler(EngineError)
def _engine_error(exc: EngineError) -> Any:
    return _camunda_error(camunda_error(exc))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    kind = {401: "AuthenticationException", 403: "AuthorizationException",
            503: "ProcessEngineException"}.get(status, "InvalidRequestException")  # fmt: skip
    return _camunda_error(CamundaError(status, kind, exc.description or exc.name, headers=retry_after(exc)))


@bp.errorhandler(OperationalError)
def _database_error(exc: OperationalError) -> Any:
    return _http_error(database_unavailable(exc))


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Any:
    current_app.logger.exception("Camunda REST request failed: %s %s", request.method, request.path)
    message = "eISO could not handle this request; the error is in the server log."
    return _camunda_error(CamundaError(500, "ProcessEngineException", message))


def camunda_error(exc: EngineError) -> CamundaError:
    """An engine error as Camunda reports the same situation."""
    message = translated(exc)
    if isinstance(exc, DeploymentRejected):
        return parse_exception(exc.problems)
    if isinstance(exc, NotAllowed):
        user = g.get("user")
        return CamundaError(403, "AuthorizationException", message, userId=user.username if user else None,
                            missingAuthorizations=[])  # fmt: skip
    if isinstance(exc, NotFound):
        return not_found(message)
    if isinstance(exc, FormInvalid):
        fields = "; ".join(f"{path}: {error}" for path, error in exc.errors.items())
        return CamundaError(400, "InvalidRequestException", f"{message} {fields}", details={"fieldErrors": exc.errors})
    if isinstance(exc, ExpressionError | EngineStateError):
        return CamundaError(500, "ProcessEngineException", message)  # the process could not go on (Camunda: 500)
    if isinstance(exc, Conflict):
        return CamundaError(409, "OptimisticLockingException", message)
    return invalid(message)


def parse_exception(problems: list[Problem]) -> CamundaError:
    """Camunda's ParseException: a message Modeler shows (each problem with file, line, element and
    reason) and ``details`` per file with Camunda's problem objects."""
    about_bpmn = any(p.file.lower().endswith(".bpmn") for p in problems)
    head = "ENGINE-09005 Could not parse BPMN process. Errors:" if about_bpmn else "eISO could not deploy the files:"
    details: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for p in problems:
        report = details.setdefault(p.file or "deployment", {"errors": [], "warnings": []})
        report["errors" if p.severity == "error" else "warnings"].append({
            "message": say(p.text), "line": p.line, "column": None, "mainElementId": p.element_id,
            "elementIds": [p.element_id] if p.element_id else [],
        })  # fmt: skip
    return CamundaError(400, "ParseException", "\n".join([head, *map(_problem_line, problems)]), details=details)


def _problem_line(p: Problem) -> str:
    where = [f"resource {p.file}"] if p.file else []
    where += [f"line {p.line}"] if p.line else []
    if p.element_id:
        where.append(f"element {p.element_id}" + (f" '{p.element_name}'" if p.element_name else ""))
    return " | ".join([f"* {say(p.text)}", *where])


@bp.route("/<path:unknown>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def unknown_path(unknown: str) -> Any:
    allowed = _methods_for(request.path)
    if allowed:  # the path exists, not with this method: 405 with the methods it has, as Camunda answers
        raise MethodNotAllowed(valid_methods=allowed, description=f"{request.method} is not allowed on "
                               f"/engine-rest/{unknown}; use {', '.join(allowed)}.")  # fmt: skip
    raise not_found(f"eISO does not offer {request.method} /engine-rest/{unknown}: it answers the subset of the "
                    "Camunda 7 REST API listed in its README (deployments, process definitions, external tasks, "
                    "messages).")  # fmt: skip


def _methods_for(path: str) -> list[str]:
    adapter = current_app.url_map.bind_to_environ(request.environ)
    found = []
    for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
        try:
            endpoint, _ = adapter.match(path, method=method)
        except HTTPException:
            continue
        if endpoint != request.endpoint:
            found.append(method)
    return found


# --- engine, version, deployments ----------------------------------------------------------------


@bp.get("/version")
def version() -> Any:
    return jsonify({"version": CAMUNDA_VERSION})


@bp.get("/engine")
def engines() -> Any:
    return jsonify([{"name": "default"}])


@bp.get("/deployment")
@basic_auth
def deployments() -> Any:
    """The connection check of Camunda Modeler (``?maxResults=0``) and a plain list otherwise."""
    stmt = select(Deployment)
    readable = queries.visible_units(sa_session(), g.user)  # the shared library's and the account's units'
    if readable is not None:
        stmt = stmt.where(Deployment.unit_id.is_(None) | Deployment.unit_id.in_(readable))
    for field, column in (("id", Deployment.id), ("name", Deployment.name), ("source", Deployment.source)):
        if request.args.get(field):
            stmt = stmt.where(column == (int_arg(field) if field == "id" else request.args[field]))
    if request.args.get("nameLike"):
        stmt = stmt.where(Deployment.name.like(request.args["nameLike"]))
    limit = int_arg("maxResults")
    if limit is not None and limit <= 0:
        return jsonify([])
    stmt = stmt.order_by(Deployment.id).offset(max(0, int_arg("firstResult", 0) or 0)).limit(limit)
    return jsonify([deployment_dto(d, deployment_tenant(d)) for d in sa_session().scalars(stmt)])


@bp.get("/deployment/<deployment_id>")
@basic_auth
def deployment(deployment_id: str) -> Any:
    found = sa_session().get(Deployment, int(deployment_id)) if is_id(deployment_id) else None
    readable = queries.visible_units(sa_session(), g.user)
    if found is None or (found.unit_id is not None and readable is not None and found.unit_id not in readable):
        raise not_found(f"Deployment with id '{deployment_id}' does not exist.")
    return jsonify(deployment_dto(found, deployment_tenant(found)))


@bp.post("/deployment/create")
@basic_auth
def create_deployment() -> Any:
    """Camunda Modeler's Deploy: the same rules as the upload page (a unit's version is a draft for
    its leader to approve unless the unit allows direct deploys). The tenant id names the unit."""
    unit = unit_by_code(request.form.get("tenant-id"))
    unit_id = unit.id if unit is not None else None
    if not versions.may_deploy(sa_session(), g.user, unit_id):
        raise CamundaError(403, "AuthorizationException", _refusal(unit), userId=g.user.username,
                           missingAuthorizations=[])  # fmt: skip
    name = request.form.get("deployment-name", "").strip()
    source = request.form.get("deployment-source", "").strip() or "engine-rest"
    result = deployer().deploy(
        _resources(), actor=g.user, now=now(), name=name[:300], source=source[:100], unit_id=unit_id,
        change_summary=request.form.get("change-summary") or f"{source}: {name}",
    )  # fmt: skip
    # Unchanged processes are listed too: eISO deploys only what changed, and Modeler starts the first one.
    processes = result.definitions + result.unchanged
    return jsonify(with_definitions(result.deployment, processes, unit.code if unit is not None else None))


def _resources() -> list[SourceFile]:
    """Every part but the deployment's own fields is a file; its name (the part's file name, else the
    part's name) decides its kind. Camunda's ``.bpmn20.xml`` and ``.dmn11.xml`` are ``.bpmn`` and ``.dmn``."""
    parts = [(f.filename or name, f.read()) for name, f in request.files.items(multi=True)]
    parts += [(name, text.encode()) for name, text in request.form.items(multi=True)
              if name not in DEPLOYMENT_FIELDS and name.lower().endswith(RESOURCE_SUFFIXES)]  # fmt: skip
    return [source for name, content in parts for source in expand_upload(_eiso_name(name), content)]


def _eiso_name(filename: str) -> str:
    for suffix, ours in CAMUNDA_SUFFIXES.items():
        if filename.lower().endswith(suffix):
            return filename[: -len(suffix)] + ours
    return filename


def _refusal(unit: Unit | None) -> str:
    if unit is not None:
        return (f"You may not deploy processes for the unit '{unit.code}': only its administrators and ISO "
                "secretaries may.")  # fmt: skip
    codes = [t.code for t in versions.deploy_targets(sa_session(), g.user) if t is not None]
    if codes:
        return ("Only administrators deploy to the shared library. To deploy for your unit, give its code as the "
                f"tenant id (Camunda Modeler: Tenant ID): {', '.join(codes)}.")  # fmt: skip
    return "Only administrators and ISO secretaries may deploy processes."
