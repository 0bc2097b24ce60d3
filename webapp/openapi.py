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

UNIT_ID = [{"name": "unit_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
PERSON_ID = [{"name": "person_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
DEPARTMENT_ID = [{"name": "department_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
INVALID = {"422": _json(_ref("Error"), "Fields to correct (field_errors names each one); nothing was changed")}
CONFLICT = {"409": _json(_ref("Error"), "Refused by a rule of the organisation (see message); nothing was changed")}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


ORGANISATION_PATHS: dict[str, Any] = {
    "/units": {
        "get": _op("The units the caller administers (every unit for a system administrator)",
                   {"200": _json({"type": "array", "items": _ref("Unit")}, "Units")}),
        "post": _op("Create a unit (system administrators)", {"201": _json(_ref("Unit"), "Created")},
                    extra=INVALID, requestBody=_body(_ref("UnitFields"))),
    },
    "/units/{unit_id}": {
        "get": _op("A unit the caller administers", {"200": _json(_ref("Unit"), "Unit")}, parameters=UNIT_ID),
        "patch": _op("Change a unit's fields (only those sent); code and province by system administrators only",
                     {"200": _json(_ref("Unit"), "Changed")}, extra=INVALID, parameters=UNIT_ID,
                     requestBody=_body(_ref("UnitFields"))),
    },
    "/provinces": {"get": _op("The provinces a unit may belong to (codes and names)", {"200": _json(
        {"type": "array", "items": {"type": "object", "properties": {"code": {"type": "string"},
                                                                      "name": {"type": "string"}}}}, "Provinces")})},
    "/units/{unit_id}/departments": {
        "get": _op("The unit's departments, open and closed, with their active people",
                   {"200": _json({"type": "array", "items": _ref("Department")}, "Departments")}, parameters=UNIT_ID),
        "post": _op("Add a department", {"201": _json(_ref("Department"), "Created")}, extra=INVALID,
                    parameters=UNIT_ID, requestBody=_body({"type": "object", "required": ["code", "name"],
                                                           "properties": {"code": {"type": "string"},
                                                                          "name": {"type": "string"}}})),
    },
    "/departments/{department_id}": {
        "patch": _op("Rename a department, or close it (active false: only when nobody active works in it) or open "
                     "it again; its code never changes", {"200": _json(_ref("Department"), "Changed")},
                     extra={**INVALID, **CONFLICT}, parameters=DEPARTMENT_ID,
                     requestBody=_body({"type": "object", "properties": {"name": {"type": "string"},
                                                                         "active": {"type": "boolean"}}})),
        "delete": _op("Delete a department nobody ever belonged to and no record names", {"204": {
            "description": "Deleted"}}, extra=CONFLICT, parameters=DEPARTMENT_ID),
    },
    "/units/{unit_id}/people": {
        "get": _op("The unit's people (accounts of the unit), active ones first",
                   {"200": _json({"type": "array", "items": _ref("Person")}, "People")}, parameters=UNIT_ID),
        "post": _op("Add a person with roles; without a password one is generated and returned once (password)",
                    {"201": _json(_ref("Person"), "Created")}, extra=INVALID, parameters=UNIT_ID,
                    requestBody=_body(_ref("PersonFields"))),
    },
    "/units/{unit_id}/people/import": {"post": _op(
        "Import people and roles from a sheet (.xlsx or .csv; the multipart field 'file' or the body itself): all "
        "or nothing. dry_run=1 only checks. Refused rows: 422 with report.problems (row, column, message)",
        {"201": _json(_ref("ImportReport"), "Imported (generated passwords given once)"),
         "200": _json(_ref("ImportReport"), "Checked (dry_run), nothing imported")},
        extra={"400": _json(_ref("Error"), "Not a sheet of people (the reason)"),
               "422": _json(_ref("Error"), "Rows refused: see report; nobody was imported")},
        parameters=[*UNIT_ID, {"name": "dry_run", "in": "query", "schema": {"type": "string", "enum": ["1", "true"]}},
                    {"name": "filename", "in": "query", "schema": {"type": "string"},
                     "description": "the sheet's name when the body is the file itself"}],
        requestBody={"content": {
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "file": {"type": "string", "format": "binary"}}}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {
                "type": "string", "format": "binary"}},
            "text/csv": {"schema": {"type": "string"}}}})},
    "/units/{unit_id}/people/import-template": {"get": _op(
        "The sheet to fill in (.xlsx) with the unit's departments and the roles",
        {"200": {"description": "The workbook", "content": {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {
                "type": "string", "format": "binary"}}}}}, parameters=UNIT_ID)},
    "/people/{person_id}": {
        "get": _op("A person the caller manages", {"200": _json(_ref("Person"), "Person")}, parameters=PERSON_ID),
        "patch": _op("Change a person's full name, title, e-mail, or department (a move: their department roles "
                     "move along)", {"200": _json(_ref("Person"), "Changed")}, extra=INVALID, parameters=PERSON_ID,
                     requestBody=_body({"type": "object", "properties": {
                         "full_name": {"type": "string"}, "title": {"type": "string"}, "email": {"type": "string"},
                         "department": {"type": "string", "description": "a department code; empty: none"}}})),
    },
    "/people/{person_id}/roles": {"put": _op(
        "Make the person's roles in a unit exactly these (role or role:department, as processes name them)",
        {"200": _json({"type": "object", "properties": {"person_id": {"type": "integer"}, "roles": {
            "type": "array", "items": {"type": "string"}}}}, "Roles held now")},
        extra={**INVALID, **CONFLICT}, parameters=PERSON_ID,
        requestBody=_body({"type": "object", "required": ["roles"], "properties": {
            "roles": {"type": "array", "items": {"type": "string"}, "examples": [["iso_secretary", "specialist:vp"]]},
            "unit_id": {"type": "integer", "description": "another unit than the person's own (system administrators)"},
        }}))},
    "/people/{person_id}/password": {"post": _op(
        "Set a new initial password (empty: generated and returned once); every session of the person ends",
        {"200": _json({"type": "object", "properties": {"person_id": {"type": "integer"},
                                                        "password": {"type": "string"}}}, "Set")},
        extra=INVALID, parameters=PERSON_ID,
        requestBody={"content": {"application/json": {"schema": {"type": "object", "properties": {
            "password": {"type": "string"}}}}}})},
    "/people/{person_id}/deactivate": {"post": _op(
        "Deactivate a leaver: no more log-in, sessions end, open tasks back to their pool (to the administrators "
        "when nobody else could take one), the department head told",
        {"200": _json({"allOf": [_ref("Person"), {"type": "object", "properties": {
            "notified": {"type": "array", "items": {"type": "string"}},
            "tasks_returned": {"type": "array", "items": {"type": "object"}}}}]}, "Deactivated")},
        extra=CONFLICT, parameters=PERSON_ID)},
    "/people/{person_id}/reactivate": {"post": _op(
        "Activate a deactivated account again", {"200": _json(_ref("Person"), "Active")}, extra=CONFLICT,
        parameters=PERSON_ID)},
    "/audit": {"get": _op(
        "The organisation's audit log, newest first: the units the caller administers (all for a system "
        "administrator)", {"200": _json({"type": "array", "items": _ref("AuditEntry")}, "Entries")},
        extra={"400": _json(_ref("Error"), "Bad parameter")},
        parameters=[{"name": "unit_id", "in": "query", "schema": {"type": "integer"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 500, "default": 100}},
                    {"name": "before", "in": "query", "schema": {"type": "integer"},
                     "description": "entries older than this entry id (paging)"}])},
}

ORGANISATION_SCHEMAS: dict[str, Any] = {
    "UnitFields": {"type": "object", "properties": {
        "code": {"type": "string", "pattern": "^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$"},
        "name": {"type": "string", "maxLength": 300}, "short_name": {"type": "string", "maxLength": 40},
        "electronic_code": {"type": "string", "description": "letters, digits, dots, hyphens; unique",
                            "examples": ["000.00.24.H22"]},
        "province": {"type": "string", "description": "a code of GET /provinces"},
        "quality_policy": {"type": "string"}}},
    "Unit": {"type": "object", "properties": {
        "id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"},
        "short_name": {"type": "string"}, "electronic_code": {"type": ["string", "null"]},
        "province": {"type": ["string", "null"]}, "province_name": {"type": ["string", "null"]},
        "quality_policy": {"type": "string"}}},
    "Department": {"type": "object", "properties": {
        "id": {"type": "integer"}, "unit_id": {"type": "integer"}, "code": {"type": "string"},
        "name": {"type": "string"}, "active": {"type": "boolean"}, "people": {"type": "integer"}}},
    "PersonFields": {"type": "object", "required": ["username", "full_name"], "properties": {
        "username": {"type": "string"}, "full_name": {"type": "string"}, "title": {"type": "string"},
        "email": {"type": "string"}, "department": {"type": "string", "description": "a department code"},
        "roles": {"type": "array", "items": {"type": "string"}}, "password": {"type": "string", "minLength": 8}}},
    "Person": {"type": "object", "properties": {
        "id": {"type": "integer"}, "username": {"type": "string"}, "full_name": {"type": "string"},
        "title": {"type": "string"}, "email": {"type": "string"}, "unit_id": {"type": ["integer", "null"]},
        "department": {"type": ["string", "null"]}, "roles": {"type": "array", "items": {"type": "string"}},
        "active": {"type": "boolean"}, "must_change_password": {"type": "boolean"},
        "password": {"type": "string", "description": "only when generated, once"}}},
    "ImportReport": {"type": "object", "properties": {
        "filename": {"type": "string"}, "imported": {"type": "boolean"}, "people": {"type": "integer"},
        "checked_rows": {"type": "integer"}, "refused_rows": {"type": "array", "items": {"type": "integer"}},
        "problems": {"type": "array", "items": {"type": "object", "properties": {
            "row": {"type": "integer"}, "column": {"type": "string"}, "message": {"type": "string"}}}},
        "ignored_columns": {"type": "array", "items": {"type": "string"}},
        "rows": {"type": "array", "items": {"type": "object"}}}},
    "AuditEntry": {"type": "object", "properties": {
        "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
        "actor": {"type": ["string", "null"]}, "actor_name": {"type": "string"},
        "unit_id": {"type": ["integer", "null"]}, "action": {"type": "string"},
        "subject": {"type": "object"}, "changes": {"type": "object", "description": "field: [before, after]"},
        "details": {"type": "object"}}},
}


_REGISTER = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
              "description": "a register's name, as GET /registers lists them (risks, documents, reviews...)"}]
_REGISTER_FILTERS = [
    {"name": "unit", "in": "query", "schema": {"type": "string"},
     "description": "one of the caller's units (its id, or its code for the registers read one unit at a time); "
                    "another unit: 404"},
    {"name": "year", "in": "query", "schema": {"type": "string"}, "description": "a year, e.g. 2027"},
    {"name": "status", "in": "query", "schema": {"type": "string"}, "description": "a status code of the register"},
]
_ROW = {"type": "object", "additionalProperties": True,
        "description": "one row, with the columns of the register's export (dates as ISO 8601)"}
REGISTER_PATHS: dict[str, Any] = {
    "/registers": {"get": _op("The ISO registers this API serves", {"200": _json({"type": "array", "items": {
        "type": "object", "properties": {"name": {"type": "string"}, "title": {"type": "string"},
                                         "rows_by_id": {"type": "boolean"}}}}, "Registers")})},
    "/registers/{name}": {"get": _op(
        "A register's rows of the caller's units, with the same filters as its page (read-only), a page at a time "
        "in the register's order (keyset paging: give back 'next' as 'after' with the same filters)",
        {"200": _json({"type": "object", "properties": {
            "register": {"type": "string"}, "count": {"type": "integer", "description": "rows on this page"},
            "rows": {"type": "array", "items": _ROW},
            "next": {"type": ["string", "null"], "description": "the 'after' of the next page, null on the last "
                     "page (the quality policies and the objectives in force come whole: always null)"}}}, "Rows")},
        extra={"400": _json(_ref("Error"), "A filter that cannot be read, named; a page link altered or made for "
                            "someone else or another register")},
        parameters=_REGISTER + _REGISTER_FILTERS + [
            {"name": "after", "in": "query", "schema": {"type": "string"},
             "description": "the 'next' value of the previous page"},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200,
                                                       "default": 100}, "description": "rows per page"},
        ])},
    "/registers/{name}/{row_id}": {"get": _op(
        "One row of a register, by id (risks, complaints, reviews, ad hoc work); another unit's: 404",
        {"200": _json(_ROW, "Row")},
        parameters=_REGISTER + [{"name": "row_id", "in": "path", "required": True, "schema": {"type": "integer"}}])},
}

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
        "/tasks": {"get": _op(
            "My tasks and the tasks I may claim, a page at a time (keyset paging: give back 'next' as 'after')",
            {"200": _json({"type": "object", "properties": {
                "mine": {"type": "array", "items": _ref("Task")},
                "claimable": {"type": "array", "items": _ref("Task")},
                "next": {"type": "object", "description": "for each list returned: the 'after' of its next page, "
                         "null on the last page", "additionalProperties": {"type": ["string", "null"]}},
                "counts": {"type": "object", "description": "each list's length with these filters, counted up to "
                           "its count_caps + 1 (more than the cap: show it as 'cap+'); null with 'q' (a text "
                           "search is not counted)", "additionalProperties": {"type": ["integer", "null"]}},
                "count_caps": {"type": "object", "description": "where each list's count stops (mine: 1000, "
                               "claimable: 100)", "additionalProperties": {"type": "integer"}}}}, "Tasks")},
            extra={"400": _json(_ref("Error"), "A filter value not offered, or a page link altered or made for "
                                "someone else or another list")},
            parameters=[
                {"name": "list", "in": "query", "schema": {"type": "string", "enum": ["mine", "claimable"]},
                 "description": "only this list (required with 'after'); both when absent"},
                {"name": "after", "in": "query", "schema": {"type": "string"},
                 "description": "the 'next' value of the previous page of the same list, order and person"},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200,
                                                           "default": 50}, "description": "lines per page"},
                {"name": "process", "in": "query", "schema": {"type": "string"},
                 "description": "a process key: only that process's tasks"},
                {"name": "due", "in": "query", "schema": {"type": "string", "enum": ["today", "week", "late"]},
                 "description": "today: due during today (Vietnam time); week: due from today to the end of "
                                "Sunday; late: overdue"},
                {"name": "priority", "in": "query", "schema": {"type": "string", "enum": ["high", "normal", "low"]},
                 "description": "high: 75 or more; low: 25 or less; normal: between"},
                {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200},
                 "description": "words in the task's or the process's name"},
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
        "/tasks/bulk-claim": {"post": _op(
            "Claim several tasks at once; each is claimed or listed with why not",
            {"200": _json({"type": "object", "properties": {
                "claimed": {"type": "array", "items": _ref("Task")},
                "refused": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "string"}, "status": {"type": "integer"}, "message": {"type": "string"}}}}}},
                "Claimed and refused tasks")},
            extra={"400": _json(_ref("Error"), "No task, more than 100, or not a list of ids"),
                   "404": _json({"type": "object"}, "None claimed: every task not found (same body as 200)"),
                   "409": _json({"type": "object"}, "None claimed: taken by others or not offered (same body)")},
            requestBody={"content": {"application/json": {"schema": {"type": "object", "required": ["task_ids"],
                "properties": {"task_ids": {"type": "array", "items": {"type": "string"}, "maxItems": 100}}}}}})},
        "/tasks/{task_id}/reassign": {"post": _op(
            "Give an open task to a member who may work it (unit leader, administrator, or the head of the "
            "department it concerns); the reason is required", {"200": _json(_ref("Task"), "Reassigned")},
            extra={"400": _json(_ref("Error"), "No reason, or no such member"),
                   "403": _json(_ref("Error"), "Not allowed, or the person may not work the task"),
                   "409": _json(_ref("Error"), "Completed or changed concurrently")},
            parameters=TASK_ID,
            requestBody={"content": {"application/json": {"schema": {"type": "object",
                "required": ["assignee", "reason"], "properties": {
                    "assignee": {"type": "string", "description": "user name"},
                    "reason": {"type": "string", "maxLength": 1000}}}}}})},
        "/tasks/{task_id}/delegate": {"post": _op(
            "The holder delegates the task to a colleague of the unit (it comes back when resolved)",
            {"200": _json(_ref("Task"), "Delegated: owner is the holder, assignee the colleague")},
            extra={"400": _json(_ref("Error"), "No such colleague, or oneself"),
                   "403": _json(_ref("Error"), "Not the holder")},
            parameters=TASK_ID,
            requestBody={"content": {"application/json": {"schema": {"type": "object", "required": ["delegate"],
                "properties": {"delegate": {"type": "string", "description": "user name"},
                               "note": {"type": "string", "maxLength": 1000}}}}}})},
        "/tasks/{task_id}/resolve": {"post": _op(
            "The delegate gives the task back to its owner; the variables become the owner's draft",
            {"200": _json(_ref("Task"), "Back with the owner (delegation_state resolved)")},
            extra={"403": _json(_ref("Error"), "Not the delegate of a pending delegation")},
            parameters=TASK_ID,
            requestBody={"content": {"application/json": {"schema": {"type": "object", "properties": {
                "variables": {"type": "object"}, "note": {"type": "string", "maxLength": 1000}}}}}})},
        "/substitutes": {
            "get": _op("The running and coming substitutions that concern me or that I may arrange",
                       {"200": _json({"type": "array", "items": _ref("Substitution")}, "Substitutions")}),
            "post": _op(
                "Arrange a substitute while someone is on leave (the person, their department head, a unit leader "
                "or an administrator): the tasks given to the person by name on those days go to the substitute",
                {"201": _json(_ref("Substitution"), "Arranged")},
                extra={"400": _json(_ref("Error"), "Bad days or unknown people"),
                       "403": _json(_ref("Error"), "Not allowed"),
                       "409": _json(_ref("Error"), "Overlaps a substitution of the same person")},
                requestBody={"content": {"application/json": {"schema": {"type": "object",
                    "required": ["unit_id", "person", "substitute", "starts_on", "ends_on"], "properties": {
                        "unit_id": {"type": "integer"}, "person": {"type": "string"},
                        "substitute": {"type": "string"}, "starts_on": {"type": "string", "format": "date"},
                        "ends_on": {"type": "string", "format": "date"}, "note": {"type": "string"}}}}}})},
        "/substitutes/{substitution_id}/cancel": {"post": _op(
            "Cancel a substitution", {"200": _json(_ref("Substitution"), "Cancelled")},
            extra={"404": _json(_ref("Error"), "Another unit's, or none"),
                   "409": _json(_ref("Error"), "Already cancelled")},
            parameters=[{"name": "substitution_id", "in": "path", "required": True, "schema": {"type": "integer"}}])},
        "/tasks/{task_id}/complete": {"post": _op(
            "Complete a task with variables validated by its form", {"200": _json(_ref("Task"), "Completed")},
            extra={"409": _json(_ref("Error"), "Already completed or changed concurrently"),
                   "422": _json(_ref("Error"), "Invalid form data; see field_errors")},
            parameters=TASK_ID,
            requestBody={"content": {"application/json": {"schema": {"type": "object", "properties": {
                "variables": {"type": "object"}}}}}})},
        "/instances": {"get": _op(
            "The instances I may see, newest first, a page at a time (keyset paging: give back 'next' as 'after')",
            {"200": _json({"type": "object", "properties": {
                "instances": {"type": "array", "items": {"type": "object", "description": "an Instance without "
                              "tasks and history (GET /instances/{instance_id} gives them)"}},
                "next": {"type": ["string", "null"], "description": "the 'after' of the next page, null on the "
                         "last page"}}}, "Instances")},
            extra={"400": _json(_ref("Error"), "A page link altered or made for someone else or another list")},
            parameters=[
                {"name": "after", "in": "query", "schema": {"type": "string"},
                 "description": "the 'next' value of the previous page"},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200,
                                                           "default": 50}, "description": "lines per page"},
            ])},
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
        **ORGANISATION_PATHS,
        **REGISTER_PATHS,
    },
    "components": {
        "securitySchemes": {"basic": {"type": "http", "scheme": "basic"},
                            "token": {"type": "http", "scheme": "bearer", "description": "an eISO API token"}},
        "schemas": {
            "Error": {"type": "object", "required": ["status", "message"], "properties": {
                "status": {"type": "integer"}, "error": {"type": "string"}, "message": {"type": "string"},
                "field_errors": {"type": "object", "additionalProperties": {"type": "string"}},
                "problems": {"type": "array", "items": {"type": "object"}},
                "report": _ref("ImportReport")}},
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
                                 "description": "when to look at the task again (the diagram's followUpDate)"},
                "owner": {"type": ["string", "null"],
                          "description": "who delegated the task and gets it back (Camunda 7 owner)"},
                "delegation_state": {"type": ["string", "null"], "enum": ["pending", "resolved", None]}}},
            "Substitution": {"type": "object", "properties": {
                "id": {"type": "integer"}, "unit_id": {"type": "integer"}, "person": {"type": "string"},
                "substitute": {"type": "string"}, "starts_on": {"type": "string", "format": "date"},
                "ends_on": {"type": "string", "format": "date"}, "note": {"type": "string"},
                "cancelled_at": {"type": ["string", "null"], "format": "date-time"}}},
            "TaskDetail": {"allOf": [_ref("Task"), {"type": "object", "properties": {
                "form": {"type": ["object", "null"]}, "data": {"type": ["object", "null"]},
                "externalForm": {"type": ["string", "null"], "description": "address of a form kept outside eISO "
                                                                            "(Camunda 8 externalReference)"}}}]},
            **ORGANISATION_SCHEMAS,
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
