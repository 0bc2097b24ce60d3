"""OpenAPI 3.1 description of /api/v1."""

from __future__ import annotations

from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "401": _json(_ref("Error"), "No or wrong credentials"),
    "403": _json(_ref("Error"), "Not allowed for this user or unit"),
    "404": _json(_ref("Error"), "Not found"),
}
TASK_ID = [{"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}]


def _op(summary: str, ok: dict[str, Any], *, extra: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": {**ok, **ERRORS, **(extra or {})}, **more}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "eISO API", "version": "1.0.0",
             "description": "Processes, tasks and instances of eISO. HTTP Basic with an eISO account, or an API "
                            "token (Authorization: Bearer, or HTTP Basic with the user name __token__ and the token "
                            "as the password) for what its scopes allow: start, tasks, deploy, jobs. Starts, "
                            "task and job completions, messages and signals accept an Idempotency-Key header: a "
                            "retry with the same key within 24 hours gets the first answer (Idempotent-Replayed: "
                            "true), the same key with another body 422."},  # fmt: skip
    "servers": [{"url": "/api/v1"}],
    "security": [{"basic": []}, {"token": []}],
    "paths": {
        "/process-definitions": {"get": _op("Active process definitions", {"200": _json(
            {"type": "array", "items": _ref("Definition")}, "Definitions")})},
        "/process-definitions/{key}/start": {"post": _op(
            "Start an instance", {"201": _json(_ref("Instance"), "Started")},
            extra={"400": _json(_ref("Error"), "Bad body")},
            parameters=[{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}],
            requestBody={"content": {"application/json": {"schema": _ref("StartRequest")}}})},
        "/tasks": {"get": _op("My tasks and the tasks I may claim", {"200": _json(
            {"type": "object", "properties": {"mine": {"type": "array", "items": _ref("Task")},
                                              "claimable": {"type": "array", "items": _ref("Task")}}},
            "Tasks")}, parameters=[
                {"name": "sort", "in": "query", "schema": {"type": "string", "enum": ["received", "priority"],
                                                           "default": "received"},
                 "description": "received: oldest first; priority: higher priority first, then nearest due date"},
                {"name": "follow_up", "in": "query", "schema": {"type": "string", "enum": ["1"]},
                 "description": "1: only the tasks whose follow-up date has come"}])},
        "/tasks/{task_id}": {"get": _op("A task with its form schema and current data",
                                        {"200": _json(_ref("TaskDetail"), "Task")}, parameters=TASK_ID)},
        "/tasks/{task_id}/claim": {"post": _op("Claim a task", {"200": _json(_ref("Task"), "Claimed")},
                                               extra={"409": _json(_ref("Error"), "Held by someone else")},
                                               parameters=TASK_ID)},
        "/tasks/{task_id}/unclaim": {"post": _op("Hand a task back", {"200": _json(_ref("Task"), "Released")},
                                                 parameters=TASK_ID)},
        "/tasks/{task_id}/complete": {"post": _op(
            "Complete a task with variables validated by its form", {"200": _json(_ref("Task"), "Completed")},
            extra={"409": _json(_ref("Error"), "Already completed or changed concurrently"),
                   "422": _json(_ref("Error"), "Invalid form data; see field_errors")},
            parameters=TASK_ID,
            requestBody={"content": {"application/json": {"schema": {"type": "object", "properties": {
                "variables": {"type": "object"}}}}}})},
        "/instances/{instance_id}": {"get": _op(
            "An instance with its tasks and history", {"200": _json(_ref("Instance"), "Instance")},
            parameters=[{"name": "instance_id", "in": "path", "required": True, "schema": {"type": "integer"}}])},
        "/jobs/fetch-and-lock": {"post": _op(
            "Lock open external jobs of some topics for a worker (integration accounts)",
            {"200": _json({"type": "array", "items": _ref("Job")}, "Locked jobs with their variables")},
            extra={"400": _json(_ref("Error"), "Bad body")},
            requestBody={"content": {"application/json": {"schema": {
                "type": "object", "required": ["workerId", "topics"], "properties": {
                    "workerId": {"type": "string"}, "topics": {"type": "array", "items": {"type": "string"}},
                    "maxJobs": {"type": "integer"}, "lockDuration": {"type": "integer", "description": "ms"}}}}}})},
        "/jobs/{job_id}/complete": {"post": _op(
            "Complete a locked job with variables", {"200": _json({"type": "object"}, "Completed")},
            extra={"409": _json(_ref("Error"), "Not locked by this worker, or no longer open")},
            parameters=[{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            requestBody={"content": {"application/json": {"schema": {"type": "object", "properties": {
                "workerId": {"type": "string"}, "variables": {"type": "object"}}}}}})},
        "/jobs/{job_id}/failure": {"post": _op(
            "Report a failure: retries left (0 raises an incident) and when to retry",
            {"200": _json({"type": "object"}, "Recorded")},
            extra={"409": _json(_ref("Error"), "Not locked by this worker")},
            parameters=[{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            requestBody={"content": {"application/json": {"schema": {"type": "object", "properties": {
                "workerId": {"type": "string"}, "errorMessage": {"type": "string"}, "retries": {"type": "integer"},
                "retryTimeout": {"type": "integer", "description": "ms"}}}}}})},
        "/jobs/{job_id}/bpmn-error": {"post": _op(
            "Report a business error: the error event that catches its code takes the process on; if none does, "
            "the job becomes an incident", {"200": _json({"type": "object", "properties": {
                "state": {"type": "string"}, "caught": {"type": "boolean"}}}, "Recorded")},
            extra={"409": _json(_ref("Error"), "Not locked by this worker")},
            parameters=[{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            requestBody={"content": {"application/json": {"schema": {"type": "object", "required": ["errorCode"],
                "properties": {"workerId": {"type": "string"}, "errorCode": {"type": "string"},
                               "errorMessage": {"type": "string"}, "variables": {"type": "object"}}}}}})},
        "/messages": {"post": _op(
            "Deliver a message to the processes of the sender's units that wait for it (by name and correlation "
            "key), and start those that begin with it in the unit named (unit admins; an Idempotency-Key header "
            "makes a retry safe)",
            {"200": _json({"type": "object", "properties": {
                "correlated": {"type": "array", "items": {"type": "integer"}},
                "started": {"type": "array", "items": {"type": "integer"}}}}, "Delivered")},
            extra={"404": _json(_ref("Error"), "No process waits for it and none starts with it")},
            requestBody={"content": {"application/json": {"schema": {"type": "object", "required": ["name"],
                "properties": {"name": {"type": "string"}, "correlationKey": {"type": "string"},
                               "unit_id": {"type": "integer", "description": "the unit whose processes it may start"},
                               "variables": {"type": "object"}}}}}})},
        "/signals": {"post": _op(
            "Broadcast a signal to a unit's waiting processes, and start those that begin with it (unit admins)",
            {"200": _json({"type": "object", "properties": {
                "delivered": {"type": "array", "items": {"type": "integer"}},
                "started": {"type": "array", "items": {"type": "integer"}}}}, "Delivered")},
            requestBody={"content": {"application/json": {"schema": {"type": "object", "required": ["name", "unit_id"],
                "properties": {"name": {"type": "string"}, "unit_id": {"type": "integer"},
                               "variables": {"type": "object"}}}}}})},
        "/jobs/{job_id}/retry": {"post": _op(
            "Give a job with an incident new retries", {"200": _json({"type": "object"}, "Open again")},
            parameters=[{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}])},
        "/deployments": {"post": _op(
            "Deploy .bpmn and .form files: administrators to the shared library, a unit's administrators and ISO "
            "secretaries to the unit (drafts until its leader approves them)",
            {"201": _json({"type": "object"}, "Deployed")},
            extra={"422": _json(_ref("Error"), "Refused; see problems")},
            requestBody={"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
                "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                "name": {"type": "string"},
                "unit_id": {"type": "integer", "description": "owning unit; omitted: the shared library"},
                "change_summary": {"type": "string", "description": "what changed, for the reviewer"},
                "as_documentation": {"type": "string", "enum": ["1"],
                                     "description": "store non-executable diagrams as documentation"}}}}}})},
        "/tokens": {
            "get": _op("The API tokens of the units the caller administers (never the tokens themselves)",
                       {"200": _json({"type": "array", "items": _ref("ApiToken")}, "Tokens")},
                       security=[{"basic": []}]),
            "post": _op(
                "Make an API token acting as its holder (default: the caller) within one unit, for some scopes; the "
                "answer holds the token, shown this once (a unit's administrators, system administrators; with the "
                "password only)", {"201": _json({"allOf": [_ref("ApiToken"), {"type": "object", "properties": {
                    "token": {"type": "string", "description": "send as Authorization: Bearer"}}}]}, "Made")},
                extra={"400": _json(_ref("Error"), "Bad body, unknown scope or holder"),
                       "409": _json(_ref("Error"), "The unit has an active token of that name")},
                security=[{"basic": []}],
                requestBody={"content": {"application/json": {"schema": {
                    "type": "object", "required": ["name", "unit_id", "scopes"], "properties": {
                        "name": {"type": "string", "maxLength": 100}, "unit_id": {"type": "integer"},
                        "scopes": {"type": "array", "items": {"type": "string",
                                                              "enum": ["start", "tasks", "deploy", "jobs"]}},
                        "holder": {"type": "string", "description": "user name of the person it acts as"}}}}}}),
        },
        "/tokens/{token_id}": {"delete": _op(
            "Revoke a token: refused from the next call on", {"200": _json(_ref("ApiToken"), "Revoked")},
            security=[{"basic": []}],
            parameters=[{"name": "token_id", "in": "path", "required": True, "schema": {"type": "integer"}}])},
    },
    "components": {
        "securitySchemes": {"basic": {"type": "http", "scheme": "basic"},
                            "token": {"type": "http", "scheme": "bearer", "description": "an eISO API token"}},
        "schemas": {
            "Error": {"type": "object", "required": ["status", "message"], "properties": {
                "status": {"type": "integer"}, "error": {"type": "string"}, "message": {"type": "string"},
                "field_errors": {"type": "object", "additionalProperties": {"type": "string"}},
                "problems": {"type": "array", "items": {"type": "object"}}}},
            "ApiToken": {"type": "object", "properties": {
                "id": {"type": "integer"}, "name": {"type": "string"}, "unit_id": {"type": "integer"},
                "unit_code": {"type": "string"}, "holder": {"type": "string"},
                "scopes": {"type": "array", "items": {"type": "string"}},
                "starts_with": {"type": "string", "description": "the token's first characters, to recognise it"},
                "created_at": {"type": "string", "format": "date-time"}, "created_by": {"type": ["string", "null"]},
                "last_used_at": {"type": ["string", "null"], "format": "date-time",
                                 "description": "to within a minute"},
                "last_used_from": {"type": ["string", "null"]},
                "revoked_at": {"type": ["string", "null"], "format": "date-time"},
                "revoked_by": {"type": ["string", "null"]}, "active": {"type": "boolean"}}},
            "Definition": {"type": "object", "properties": {
                "id": {"type": "integer"}, "key": {"type": "string"}, "version": {"type": "integer"},
                "name": {"type": "string"}, "description": {"type": "string"}, "dialect": {"type": "string"},
                "starter_roles": {"type": "array", "items": {"type": "string"}},
                "status": {"type": "string", "enum": ["draft", "active", "returned", "superseded"]},
                "unit_id": {"type": ["integer", "null"]}, "executable": {"type": "boolean"},
                "version_tag": {"type": ["string", "null"], "description":
                                "the diagram's versionTag (Camunda 7 attribute, Camunda 8 zeebe:versionTag)"}}},
            "Job": {"type": "object", "properties": {
                "id": {"type": "string"}, "topic": {"type": "string"}, "instance_id": {"type": "integer"},
                "element_id": {"type": "string"}, "business_key": {"type": ["string", "null"]},
                "retries": {"type": "integer"}, "headers": {"type": "object"}, "variables": {"type": "object"},
                "lock_expires_at": {"type": ["string", "null"], "format": "date-time"}}},
            "StartRequest": {"type": "object", "properties": {
                "unit_id": {"type": "integer"}, "business_key": {"type": "string"}, "variables": {"type": "object"}}},
            "Task": {"type": "object", "properties": {
                "id": {"type": "string"}, "name": {"type": "string"}, "element_id": {"type": "string"},
                "instance_id": {"type": "integer"}, "process_key": {"type": "string"}, "unit_id": {"type": "integer"},
                "state": {"type": "string", "enum": ["open", "completed", "cancelled"]},
                "candidate_roles": {"type": "array", "items": {"type": "string"}},
                "assignee": {"type": ["string", "null"]}, "created_at": {"type": "string", "format": "date-time"},
                "completed_at": {"type": ["string", "null"]}, "due_at": {"type": ["string", "null"]},
                "form_key": {"type": ["string", "null"]}, "timing": {"type": ["string", "null"]},
                "priority": {"type": "integer", "minimum": 0, "maximum": 100,
                             "description": "higher first; 50 when the diagram gives none"},
                "follow_up_at": {"type": ["string", "null"], "format": "date-time",
                                 "description": "when to look at the task again (the diagram's followUpDate)"}}},
            "TaskDetail": {"allOf": [_ref("Task"), {"type": "object", "properties": {
                "form": {"type": ["object", "null"]}, "data": {"type": ["object", "null"]},
                "externalForm": {"type": ["string", "null"], "description": "address of a form kept outside eISO "
                                                                            "(Camunda 8 externalReference)"}}}]},
            "Instance": {"type": "object", "properties": {
                "id": {"type": "integer"}, "process_key": {"type": "string"}, "version": {"type": "integer"},
                "unit_id": {"type": "integer"}, "business_key": {"type": ["string", "null"]},
                "status": {"type": "string"}, "revision": {"type": "integer"},
                "due_at": {"type": ["string", "null"], "format": "date-time"},
                "timing": {"type": ["string", "null"], "enum": ["early", "on_time", "late", None]},
                "paused_since": {"type": ["string", "null"], "format": "date-time"},
                "tasks": {"type": "array", "items": _ref("Task")},
                "history": {"type": "array", "items": {"type": "object"}}}},
        },
    },
}  # fmt: skip
