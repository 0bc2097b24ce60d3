"""What eISO's records look like to Camunda 7 REST clients: ids, dates, DTOs and error bodies.

Camunda ids are opaque strings; eISO's are whole numbers (the job's id is already a UUID). A
process definition's id is ``key:version:number`` like Camunda's ``key:version:uuid``, so clients
that split it still find the key and version. A tenant is a unit, named by its code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import g, request
from sqlalchemy import select

from engine import DecisionDefinition, Deployment, ExternalJob, ProcessDefinition, ProcessInstance, Unit, queries

from ..extensions import now, sa_session
from ..ids import is_id
from ..json_body import json_object as strict_json_object

CAMUNDA_VERSION = "7.21.0"  # the Camunda 7 REST API this subset follows; Modeler lints diagrams for it
ERROR_DETAILS_SEPARATOR = "\n\n"  # a failure's message and details are kept as one text, message first


class CamundaError(Exception):
    """Answered as Camunda's error body ``{"type", "message"}`` (plus ``details`` for parse errors)."""

    def __init__(self, status: int, kind: str, message: str, headers: list[tuple[str, str]] | None = None,
                 **extra: Any) -> None:  # fmt: skip
        super().__init__(message)
        self.status, self.kind, self.message, self.extra = status, kind, message, extra
        self.headers = headers or []

    def body(self) -> dict[str, Any]:
        return {"type": self.kind, "message": self.message, **self.extra}


def invalid(message: str) -> CamundaError:
    return CamundaError(400, "InvalidRequestException", message)


def not_found(message: str) -> CamundaError:
    return CamundaError(404, "InvalidRequestException", message)


def camunda_time(moment: datetime | None) -> str | None:
    """Camunda's default date format, ``yyyy-MM-dd'T'HH:mm:ss.SSSZ`` (eISO keeps UTC)."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + moment.strftime("%z")


def definition_id(definition: ProcessDefinition) -> str:
    return definition_id_of(definition.key, definition.version, definition.id)


def definition_id_of(key: str, version: int, number: int) -> str:
    """Camunda's process definition id, ``key:version:number``, from the three columns."""
    return f"{key}:{version}:{number}"


def find_definition(camunda_id: str) -> ProcessDefinition:
    """The runnable definition named by ``key:version:number`` (or just the number)."""
    number = camunda_id.rsplit(":", 1)[-1]
    found = sa_session().get(ProcessDefinition, int(number)) if is_id(number) else None
    if found is None or not found.executable or camunda_id not in (number, definition_id(found)) \
            or not queries.may_read_definition(sa_session(), g.user, found):  # another unit's: not there
        raise not_found(f"No matching process definition with id {camunda_id}.")
    return found


def unit_by_code(code: str | None) -> Unit | None:
    """The unit a Camunda tenant id names (None when no tenant is given)."""
    if not code:
        return None
    unit = sa_session().scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise invalid(f"No unit has the code '{code}': give the code of an eISO unit as the tenant id.")
    return unit


def _tenant(unit: Unit | None) -> str | None:
    return unit.code if unit is not None else None


def link(path: str, rel: str = "self", method: str = "GET") -> dict[str, str]:
    return {"method": method, "href": f"{request.url_root}engine-rest{path}", "rel": rel}


def definition_dto(d: ProcessDefinition) -> dict[str, Any]:
    """Camunda's ProcessDefinitionDto; ``suspended`` is true for every version but the active one
    (a draft waiting for approval, a returned or a superseded version cannot be started)."""
    return {
        "id": definition_id(d), "key": d.key, "category": None, "description": d.description or None,
        "name": d.name, "version": d.version, "resource": d.bpmn_file.filename, "deploymentId": str(d.deployment_id),
        "diagram": None, "suspended": d.status != "active", "tenantId": _tenant(d.unit),
        "versionTag": d.version_tag, "historyTimeToLive": None, "startableInTasklist": not d.started_by_system,
        "eisoStatus": d.status,
    }  # fmt: skip


def decision_dto(d: DecisionDefinition, tenant: str | None) -> dict[str, Any]:
    return {
        "id": f"{d.decision_key}:{d.version}:{d.id}", "key": d.decision_key, "category": None, "name": d.name,
        "version": d.version, "resource": d.dmn_file.filename, "deploymentId": str(d.deployment_id),
        "decisionRequirementsDefinitionId": None, "decisionRequirementsDefinitionKey": None, "tenantId": tenant,
        "versionTag": None, "historyTimeToLive": None,
    }  # fmt: skip


def deployment_dto(deployment: Deployment, tenant: str | None) -> dict[str, Any]:
    return {
        "links": [link(f"/deployment/{deployment.id}")], "id": str(deployment.id), "name": deployment.name,
        "source": deployment.source or None, "deploymentTime": camunda_time(deployment.deployed_at),
        "tenantId": tenant,
    }  # fmt: skip


def deployment_tenant(deployment: Deployment) -> str | None:
    """A deployment belongs to the unit owning its process definitions (None: the shared library)."""
    stmt = select(Unit.code).join(ProcessDefinition, ProcessDefinition.unit_id == Unit.id)
    return sa_session().scalar(stmt.where(ProcessDefinition.deployment_id == deployment.id).limit(1))


def with_definitions(deployment: Deployment, processes: list[ProcessDefinition], tenant: str | None) -> dict[str, Any]:
    """Camunda's DeploymentWithDefinitionsDto: what the files hold, keyed by id (null when nothing)."""
    stmt = select(DecisionDefinition).where(DecisionDefinition.deployment_id == deployment.id)
    decisions = sa_session().scalars(stmt)
    return {
        **deployment_dto(deployment, tenant),
        "deployedProcessDefinitions": {definition_id(d): definition_dto(d) for d in processes} or None,
        "deployedCaseDefinitions": None,
        "deployedDecisionDefinitions": {f"{d.decision_key}:{d.version}:{d.id}": decision_dto(d, tenant)
                                        for d in decisions} or None,
        "deployedDecisionRequirementsDefinitions": None,
    }  # fmt: skip


def instance_dto(i: ProcessInstance) -> dict[str, Any]:
    return {
        "links": [link(f"/process-instance/{i.id}")], "id": str(i.id), "definitionId": definition_id(i.definition),
        "definitionKey": i.definition.key, "businessKey": i.business_key, "caseInstanceId": None,
        "ended": i.status != "running", "suspended": False, "tenantId": _tenant(i.unit),
    }  # fmt: skip


def external_task_dto(job: ExternalJob, instance: ProcessInstance) -> dict[str, Any]:
    """Camunda's ExternalTaskDto (the locked form adds variables and extension properties)."""
    definition = instance.definition
    locked = job.state == "open" and job.lock_expires_at is not None and job.lock_expires_at > now() and job.locked_by
    message, _, details = (job.error_message or "").partition(ERROR_DETAILS_SEPARATOR)
    return {
        "activityId": job.element_id, "activityInstanceId": f"{job.element_id}:{job.id}",
        "errorMessage": message or None, "errorDetails": details, "executionId": job.id, "id": job.id,
        "lockExpirationTime": camunda_time(job.lock_expires_at) if locked else None,
        "processDefinitionId": definition_id(definition), "processDefinitionKey": definition.key,
        "processDefinitionVersionTag": definition.version_tag, "processInstanceId": str(instance.id),
        "tenantId": _tenant(instance.unit), "retries": job.retries, "suspended": False,
        "workerId": job.locked_by if locked else None, "priority": 0, "topicName": job.job_type,
        "businessKey": instance.business_key,
    }  # fmt: skip


def json_object() -> dict[str, Any]:
    """The request's JSON object; an empty body is an empty object (400 for anything but a JSON object)."""
    return strict_json_object()


def int_arg(name: str, default: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not is_id(raw.removeprefix("-")):
        raise invalid(f"Query parameter '{name}' must be a whole number, not '{raw}'.")
    return int(raw)


def bool_arg(name: str) -> bool:
    return request.args.get(name, "").lower() == "true"
