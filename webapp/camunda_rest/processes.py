"""Camunda 7 REST: process definitions, starting instances, reading an instance, correlating messages.

A definition starts in a unit: the unit owning it, else the tenant in the path
(``/process-definition/key/{key}/tenant-id/{unit code}/start``), else the caller's only unit. Only
the active version starts (people always start the active one; drafts wait for approval).
Messages are sent by integration accounts (role ``admin``), as with ``/api/v1/messages``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request
from sqlalchemy import func, select

from engine import (
    DefinitionNotFound,
    InstanceNotFound,
    NoOneWaiting,
    NotAllowed,
    ProcessDefinition,
    ProcessInstance,
    Unit,
    correlate,
    queries,
    roles_in_unit,
    send_signal,
    unit_ids_of,
)

from ..blueprints.api import basic_auth
from ..errors import translated
from ..extensions import engine as app_engine
from ..extensions import now, sa_session
from ..idempotency import idempotent
from ..ids import is_id
from .shapes import (
    bool_arg,
    definition_dto,
    find_definition,
    instance_dto,
    int_arg,
    invalid,
    json_object,
    not_found,
    unit_by_code,
)
from .variables import from_camunda

bp = Blueprint("camunda_processes", __name__)


# --- process definitions -------------------------------------------------------------------------


TEXT_FILTERS = {"key": ProcessDefinition.key, "name": ProcessDefinition.name,
                "versionTag": ProcessDefinition.version_tag}  # fmt: skip
NUMBER_FILTERS = {"version": ProcessDefinition.version, "deploymentId": ProcessDefinition.deployment_id}


def _definition_query() -> Any:
    """Runnable definitions filtered as Camunda's query parameters say (the ones eISO can honour)."""
    stmt = select(ProcessDefinition).where(ProcessDefinition.executable.is_(True))
    args = request.args
    stmt = stmt.where(*(column == args[name] for name, column in TEXT_FILTERS.items() if args.get(name)))
    stmt = stmt.where(*(column == int_arg(name) for name, column in NUMBER_FILTERS.items() if args.get(name)))
    if args.get("keysIn"):
        stmt = stmt.where(ProcessDefinition.key.in_(args["keysIn"].split(",")))
    if args.get("keyLike"):
        stmt = stmt.where(ProcessDefinition.key.like(args["keyLike"]))
    if bool_arg("active") or bool_arg("suspended"):
        stmt = stmt.where(ProcessDefinition.is_active if bool_arg("active") else ~ProcessDefinition.is_active)
    if bool_arg("latestVersion"):
        stmt = _latest_versions(stmt)
    readable = queries.visible_units(sa_session(), g.user)  # the shared library's and the account's units'
    if readable is not None:
        stmt = stmt.where(ProcessDefinition.unit_id.is_(None) | ProcessDefinition.unit_id.in_(readable))
    return _tenant_filter(stmt)


def _latest_versions(stmt: Any) -> Any:
    runnable = ProcessDefinition.executable.is_(True)
    newest = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v"))
              .where(runnable).group_by(ProcessDefinition.key).subquery())  # fmt: skip
    return stmt.join(newest, (newest.c.key == ProcessDefinition.key) & (newest.c.v == ProcessDefinition.version))


def _tenant_filter(stmt: Any) -> Any:
    codes = [c for c in request.args.get("tenantIdIn", "").split(",") if c]
    without = bool_arg("withoutTenantId")
    if not codes and not without:
        return stmt
    in_units = ProcessDefinition.unit_id.in_(select(Unit.id).where(Unit.code.in_(codes)))
    if without and codes:
        return stmt.where(in_units | ProcessDefinition.unit_id.is_(None))
    return stmt.where(ProcessDefinition.unit_id.is_(None) if without else in_units)


@bp.get("/process-definition")
@basic_auth
def definitions() -> Any:
    limit = int_arg("maxResults")
    stmt = _definition_query().order_by(ProcessDefinition.key, ProcessDefinition.version)
    stmt = stmt.offset(max(0, int_arg("firstResult", 0) or 0)).limit(None if limit is None else max(0, limit))
    return jsonify([definition_dto(d) for d in sa_session().scalars(stmt)])


@bp.get("/process-definition/count")
@basic_auth
def count_definitions() -> Any:
    found = sa_session().scalar(select(func.count()).select_from(_definition_query().subquery()))
    return jsonify({"count": found})


@bp.get("/process-definition/<definition_id>")
@basic_auth
def definition(definition_id: str) -> Any:
    return jsonify(definition_dto(find_definition(definition_id)))


@bp.get("/process-definition/<definition_id>/xml")
@basic_auth
def definition_xml(definition_id: str) -> Any:
    found = find_definition(definition_id)
    return jsonify({"id": definition_dto(found)["id"], "bpmn20Xml": found.bpmn_file.content.decode("utf-8", "replace")})


@bp.get("/process-definition/key/<key>")
@bp.get("/process-definition/key/<key>/tenant-id/<tenant>")
@basic_auth
def definition_by_key(key: str, tenant: str | None = None) -> Any:
    """The version that starts by this key: the active one (Camunda: the latest)."""
    return jsonify(definition_dto(_active(key, unit_by_code(tenant))))


def _active(key: str, unit: Unit | None) -> ProcessDefinition:
    """The version the tenant (or the account's only unit) runs: its own line first, then the shared one."""
    session = sa_session()
    if unit is None:
        units = unit_ids_of(session, g.user)
        unit_id = next(iter(units)) if len(units) == 1 else None
    else:
        unit_id = unit.id
    tenant = f" for the tenant '{unit.code}'" if unit is not None else ""
    try:
        found = app_engine().active_definition(key, unit_id)
    except DefinitionNotFound:
        raise not_found(f"No process definition with key '{key}'{tenant}.")
    if not queries.may_read_definition(session, g.user, found):  # another unit's own version: not there
        raise not_found(f"No process definition with key '{key}'{tenant}.")
    return found


# --- starting and reading instances --------------------------------------------------------------


@bp.post("/process-definition/<definition_id>/start")
@basic_auth
@idempotent
def start_by_id(definition_id: str) -> Any:
    found = find_definition(definition_id)
    if found.status != "active":
        raise invalid(f"Version {found.version} of '{found.key}' is {found.status}: only the active version of a "
                      "process starts (a unit's new version starts once its leader has approved it).")  # fmt: skip
    return _start(found, None)


@bp.post("/process-definition/key/<key>/start")
@bp.post("/process-definition/key/<key>/tenant-id/<tenant>/start")
@basic_auth
@idempotent
def start_by_key(key: str, tenant: str | None = None) -> Any:
    unit = unit_by_code(tenant)
    return _start(_active(key, unit), unit)


def _start(definition: ProcessDefinition, tenant: Unit | None) -> Any:
    body = json_object()
    business_key = body.get("businessKey")
    if business_key is not None and not isinstance(business_key, str):
        raise invalid("'businessKey' must be text.")
    for field in ("startInstructions", "skipIoMappings", "skipCustomListeners", "caseInstanceId"):
        if body.get(field):
            raise invalid(f"eISO starts a process at its start event only: '{field}' is not supported.")
    variables = from_camunda(body.get("variables"))
    locale = request.accept_languages.best_match(["vi", "en"]) or "vi"
    instance = app_engine().start(
        definition.key, actor=g.user, unit_id=_start_unit(definition, tenant), now=now(), business_key=business_key,
        variables=variables, locale=locale,
    )  # fmt: skip
    return jsonify(instance_dto(instance))


def _start_unit(definition: ProcessDefinition, tenant: Unit | None) -> int:
    if tenant is not None:
        return tenant.id
    if definition.unit_id is not None:
        return definition.unit_id
    units = unit_ids_of(sa_session(), g.user)
    if len(units) != 1:
        raise invalid(f"'{definition.key}' belongs to the shared library and you belong to {len(units)} units: say "
                      f"which one with POST /process-definition/key/{definition.key}/tenant-id/{{unit code}}/start.")
    return next(iter(units))


@bp.get("/process-instance/<instance_id>")
@basic_auth
def instance(instance_id: str) -> Any:
    if not is_id(instance_id):
        raise not_found(f"Process instance with id {instance_id} does not exist.")
    try:
        found = queries.visible_instance(sa_session(), g.user, int(instance_id))
    except InstanceNotFound:
        raise not_found(f"Process instance with id {instance_id} does not exist.") from None
    return jsonify(instance_dto(found))


# --- messages ------------------------------------------------------------------------------------

UNSUPPORTED_MESSAGE_FIELDS = ("processInstanceId", "localCorrelationKeys", "processVariablesLocal")


@bp.post("/message")
@basic_auth
@idempotent
def message() -> Any:
    """Correlate a message: to every instance waiting for it (with this key and business key), and
    start the processes with a message start event of that name in the tenant's unit."""
    if not queries.is_admin(sa_session(), g.user):
        raise NotAllowed("Only integration accounts (role admin) may send messages.")
    body = json_object()
    name = body.get("messageName")
    if not isinstance(name, str) or not name:
        raise invalid("Give the 'messageName'.")
    for field in UNSUPPORTED_MESSAGE_FIELDS:
        if body.get(field):
            raise invalid(f"eISO does not correlate by '{field}'; use 'businessKey' or one entry in "
                          "'correlationKeys' (the message's correlation key).")  # fmt: skip
    business_key = body.get("businessKey")
    if business_key is not None and not isinstance(business_key, str):
        raise invalid("'businessKey' must be text.")
    try:
        result = correlate(app_engine(), name, _correlation_key(body.get("correlationKeys")),
                           from_camunda(body.get("processVariables")), actor=g.user, unit=_message_unit(body),
                           now=now(), business_key=business_key)  # fmt: skip
    except NoOneWaiting as exc:  # Camunda: 400 "Cannot correlate message …"
        raise invalid(f"Cannot correlate message '{name}': {translated(exc)}")
    if not body.get("resultEnabled"):
        return "", 204
    return jsonify(_results(result.correlated, result.started))


@bp.post("/signal")
@basic_auth
@idempotent
def signal() -> Any:
    """Camunda 7 ``POST /signal``: broadcast to the waiting instances of one unit (the tenant's, else the
    sender's only unit) and start its processes with that signal start event. Signals never cross units."""
    body = json_object()
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise invalid("Give the signal's 'name'.")
    if body.get("executionId"):
        raise invalid("eISO broadcasts signals to a unit; it does not deliver them to one 'executionId'.")
    unit = _message_unit(body)
    if unit is None:
        raise invalid("Give the unit's code as 'tenantId': a signal reaches the processes of one unit only.")
    if "admin" not in roles_in_unit(sa_session(), g.user, unit.id):
        raise NotAllowed("Only the unit's integration accounts (role admin) may send it signals.")
    engine = app_engine()
    send_signal(engine, name, from_camunda(body.get("variables")), actor=g.user, unit_id=unit.id, now=now())
    return "", 204


def _correlation_key(keys: Any) -> str | None:
    """Camunda correlates on process variables; eISO on the one correlation key the diagram gives the
    message (C8 ``zeebe:subscription correlationKey``). One entry's value stands for that key."""
    values = from_camunda(keys)
    if len(values) > 1:
        raise invalid("eISO correlates a message on one key: give one entry in 'correlationKeys'.")
    value = next(iter(values.values()), None)
    return None if value is None else str(value)


def _message_unit(body: dict[str, Any]) -> Unit | None:
    """Where a message start event starts its process: the tenant's unit, else the sender's only unit
    (``withoutTenantId`` too: shared-library processes also start in a unit)."""
    tenant = body.get("tenantId")
    if tenant is not None and not isinstance(tenant, str):
        raise invalid("'tenantId' must be text.")
    if tenant:
        return unit_by_code(tenant)
    units = unit_ids_of(sa_session(), g.user)
    return sa_session().get(Unit, next(iter(units))) if len(units) == 1 else None


def _results(correlated: list[int], started: list[int]) -> list[dict[str, Any]]:
    """Camunda's MessageCorrelationResultWithVariableDto, one per instance reached or started (without
    variables: ``variablesInResultEnabled`` is not supported)."""
    out = []
    for kind, ids in (("Execution", correlated), ("ProcessDefinition", started)):
        for instance_id in ids:
            found = sa_session().get(ProcessInstance, instance_id)
            assert found is not None
            dto = instance_dto(found)
            execution = {"id": dto["id"], "processInstanceId": dto["id"], "ended": dto["ended"],
                         "tenantId": dto["tenantId"]}  # fmt: skip
            out.append({"resultType": kind, "execution": execution if kind == "Execution" else None,
                        "processInstance": dto if kind == "ProcessDefinition" else None})  # fmt: skip
    return out
