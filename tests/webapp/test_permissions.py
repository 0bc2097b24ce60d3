"""Who may use every route of the app, walked from Flask's URL map: web pages, /api/v1 and /engine-rest.

``ROUTES`` lists every rule of the URL map (but ``static``) with, per HTTP method, who may use it and how
its URL and body name objects of the demo unit. Each entry is requested by four callers:

- ``anonymous``: API routes answer 401, pages send to /login (public routes answer as for anyone);
- ``outsider``: an account with no role in any unit;
- ``other_unit``: an account holding every role (admin, leader, ISO secretary…) in another unit;
- ``member``: the demo unit's person the route is for (``Case.by``, else the access level's usual person).

A caller the route is not for gets the case's ``refusal``: 404 when the URL names an object of another
unit (its existence must not leak), 403 otherwise; the outsider may also get 403 from a route's role gate,
which says nothing about the object. A refused write changes no row. Nobody ever gets a 500.
A route added to the app without an entry here fails ``test_every_route_has_an_entry``.

Rules the code does not meet yet are still written here, marked ``xfail(strict=True)`` with the rule:
they turn into failures, to be unmarked, the day the rule is enforced.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine import ExternalJob, ProcessDefinition, ProcessInstance, SourceFile, TaskRow
from tests.conftest import POSTGRES_URL, _postgres, _truncate
from tests.webapp.permission_world import (
    ASSIGN_KEY,
    DOSSIER_PHONE,
    DRAFT,
    JOB_TYPE,
    MESSAGE_KEY,
    MESSAGE_NAME,
    OTHER_KEY,
    OWN_KEY,
    SHARED_KEY,
    World,
    basic,
    build,
    process,
    user_task,
)

# --- the rules ------------------------------------------------------------------------------------------

CALLERS = ("anonymous", "outsider", "other_unit", "member")
ACCOUNTS = {"outsider": "khach", "other_unit": "thuky_bmt"}
EVERYONE = frozenset(CALLERS)
SIGNED_IN = frozenset(CALLERS[1:])
ANY_UNIT = frozenset(("other_unit", "member"))
ALLOWED: dict[str, frozenset[str]] = {
    "public": EVERYONE,  # no log-in
    "unknown": EVERYONE,  # an address that names nothing: 404 for everyone
    "signed_in": SIGNED_IN,  # any account; what it shows is scoped to the caller's units
    "admin_anywhere": ANY_UNIT,  # an administrator of some unit (calendar, outbox, workers' own lists)
    "register_reader": ANY_UNIT,  # reads an ISO register in some unit; the rows are those of the caller's units
    "deployer_anywhere": ANY_UNIT,  # an administrator or ISO secretary of some unit (the upload page)
    "member": frozenset(("member",)),  # a member of the unit owning the object
    "starter": frozenset(("member",)),  # a member who may start the process in that unit
    "owner": frozenset(("member",)),  # the person the object is for (a notice)
    "deployer": frozenset(("member",)),  # an administrator or ISO secretary of that unit
    "unit_admin": frozenset(("member",)),  # an administrator of that unit (workers, messages, moves)
    "unit_leader": frozenset(("member",)),
    "system_admin": frozenset(("member",)),  # the shared library: system_admin, never a unit's admin
    "province_admin": frozenset(("member",)),  # the province's calendar
}
BY = {"unit_admin": "quantri", "admin_anywhere": "quantri", "unit_leader": "giamdoc", "system_admin": "admin",
      "province_admin": "admin"}  # fmt: skip

SHARED_LIBRARY = "the shared library is changed only by system administrators (system_admin), not a unit's admin"
LIBRARY_PAGES = "a unit's library pages, versions, diffs and diagram files are visible only to its members (404)"
DEFINITIONS_API = "a unit's process definitions and deployments are visible only to its members (404)"
MIGRATIONS = "a unit's instance migrations are for its own administrators; another unit's get 404"
WORKERS = "workers act only within the units where their account holds admin (another unit's job: 404)"
MESSAGES = "messages are sent only within the units where the sender holds admin"
INSTANCES_API = "another unit's instances are not found (404), as on the pages and /api/v1"
STARTS = "another unit's own process is not found (404) when started by id or key"


@dataclass(frozen=True)
class Case:
    """One way to use a route: who may, and the URL and body that name the demo unit's objects."""

    access: str
    path: str  # formatted with the world's ids and what ``make`` returns
    body: Callable[[World, dict[str, Any]], Any] | None = None
    send: str = "form"  # form, multipart or json
    refusal: int = 403
    make: Callable[[World], dict[str, Any]] | None = None  # fresh objects, for requests that use them up
    by: str | None = None
    ok: int | None = None  # the status every allowed caller gets, when it is one status
    xfail: Mapping[str, str] = field(default_factory=dict)  # caller -> the rule not enforced yet
    variant: str = ""
    after: Callable[[World], None] | None = None  # puts back what a successful request changed

    def person(self) -> str:
        return self.by or BY.get(self.access, "thuky")


def refused(*callers: str, rule: str) -> dict[str, str]:
    return dict.fromkeys(callers, rule)


def fill(value: Any, names: Mapping[str, Any]) -> Any:
    """``"{unit}"`` alone is the id itself (a number in JSON); inside a longer text it is formatted in."""
    if isinstance(value, dict):
        return {k: fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, names) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in names:
        return names[value[1:-1]]
    return value.format(**names) if isinstance(value, str) else value


def form(values: Mapping[str, Any]) -> Callable[[World, dict[str, Any]], Any]:
    return lambda world, made: fill(values, {**world.ids, **made})


def files(make_files: Callable[[World], list[SourceFile]], **fields: str) -> Callable[[World, dict[str, Any]], Any]:
    def body(world: World, made: dict[str, Any]) -> dict[str, Any]:
        given = {k: v.format(**world.ids) for k, v in fields.items()}
        return {"files": [(io.BytesIO(f.content), f.filename) for f in make_files(world)], **given}

    return body


def camunda_files(make_files: Callable[[World], list[SourceFile]], **fields: str) -> Callable[..., Any]:
    """Camunda Modeler's multipart deployment: one part per file, named by the file."""
    def body(world: World, made: dict[str, Any]) -> dict[str, Any]:
        parts: dict[str, Any] = {f.filename: (io.BytesIO(f.content), f.filename) for f in make_files(world)}
        return {**parts, "deployment-name": "permissions", **{k: v.format(**world.ids) for k, v in fields.items()}}

    return body


def task(claimed: bool = False) -> Callable[[World], dict[str, Any]]:
    return lambda world: {"task": world.open_task(claimed_by="thuky" if claimed else None)}


def job(incident: bool = False) -> Callable[[World], dict[str, Any]]:
    return lambda world: {"job": world.locked_job(incident=incident)}


WORKER = {"workerId": "w-demo"}
START_FORM = {"subject": ["Biên bản"], "kind": ["minutes"]}
CAMUNDA_START = {"variables": {"subject": {"value": "Biên bản", "type": "String"},
                               "kind": {"value": "minutes", "type": "String"}}}  # fmt: skip
DEMO_DAY = {"day": "{day}", "scope": "{unit}", "kind": "off", "note": "Nghỉ bù"}
NEW_PASSWORD = {"current_password": "demo", "new_password": "mat-khau-moi-26", "confirm_password": "mat-khau-moi-26"}


def a_day(world: World) -> dict[str, Any]:
    """A day no calendar has yet."""
    return {"day": (date(2031, 1, 1) + timedelta(days=next(world.serial))).isoformat()}


def a_message(world: World) -> dict[str, Any]:
    return {"ref": world.message_ref()}


def a_number(world: World) -> dict[str, Any]:
    return {"n": next(world.serial)}


def a_token(world: World) -> dict[str, Any]:
    return {"token": world.api_token()[0]}


def with_ids(factory: Callable[[World], Any], name: str) -> Callable[[World], dict[str, Any]]:
    return lambda world: {name: factory(world)}


NEW_UNIT = {"name": "Ủy ban nhân dân xã mới", "code": "{code}", "province": "dak-lak"}
DEMO_UNIT = {"name": "Sở Khoa học và Công nghệ tỉnh Đắk Lắk", "short_name": "SKHCN"}  # as it is: changes nothing
NEW_PERSON = {"username": "{username}", "full_name": "Người mới", "department": "vp", "roles": ["specialist"],
              "password": "mat-khau-nguoi-moi"}  # fmt: skip


def unit_code(world: World) -> dict[str, Any]:
    return {"code": world.name("xa-moi-")}


def department_code(world: World) -> dict[str, Any]:
    return {"code": world.name("to")}


def username(world: World) -> dict[str, Any]:
    return {"username": world.name("canbo")}


def a_department(world: World) -> dict[str, Any]:
    return {"fresh": world.department()}


def a_person(world: World) -> dict[str, Any]:
    return {"fresh": world.person()}


def a_leaver(world: World) -> dict[str, Any]:
    return {"fresh": world.person(active=False)}


def people_sheet(**fields: str) -> Callable[[World, dict[str, Any]], Any]:
    """A CSV sheet of one new person (``username`` from ``make``), as a multipart upload."""
    def body(world: World, made: dict[str, Any]) -> dict[str, Any]:
        sheet = f"username,full_name,department,roles\n{made['username']},Người mới,vp,specialist\n".encode()
        return {"file": (io.BytesIO(sheet), "nhan-su.csv"), **fields}

    return body


TASK_PAGE = "/tasks/{task}"
REASSIGN = {"assignee": "thuky", "reason": "Cân đối công việc trong Văn phòng"}
DELEGATE = {"delegate": "chuyenvien", "note": "Nhờ chị soạn giúp"}
LEAVE = {"unit_id": "{unit}", "person": "thuky", "substitute": "chuyenvien", "starts_on": "{first}",
         "ends_on": "{first}", "note": "Nghỉ phép"}


def leave_days(world: World) -> dict[str, Any]:
    """A day of leave no substitution has yet."""
    return {"first": (date(2031, 1, 1) + timedelta(days=next(world.serial))).isoformat()}
ALL = ("GET", "POST", "PUT", "DELETE", "PATCH")

ROUTES: dict[tuple[str, str], dict[str, Case | list[Case]]] = {
    # --- sign-in and the account -------------------------------------------------------------------------
    ("auth.login", "/login"): {
        "GET": Case("public", "/login"),
        "POST": Case("public", "/login", form({"username": "thuky", "password": "demo"})),
    },
    ("auth.logout", "/logout"): {"POST": Case("public", "/logout")},
    ("expired.resume", "/login/resume"): {
        "POST": Case("public", "/login/resume", form({"_resume_username": "thuky", "_resume_password": "demo",
                                                      "_resend_to": "/notices", "ghi_chu": "Đã xem"})),
    },
    ("auth.set_language", "/language/<code>"): {"POST": Case("public", "/language/en", form({"next": "/units"}))},
    # single sign-on is public where a provider is set (tests/webapp/test_sso.py); this world has none: 404
    ("sso.start", "/login/oidc"): {"GET": Case("unknown", "/login/oidc", ok=404)},
    ("sso.callback", "/login/oidc/callback"): {"GET": Case("unknown", "/login/oidc/callback?code=x&state=y", ok=404)},
    ("auth.change_password", "/account/password"): {
        "GET": Case("signed_in", "/account/password"),
        "POST": Case("signed_in", "/account/password", form(NEW_PASSWORD), after=World.reset_passwords),
    },
    # --- the inbox, tasks and files ------------------------------------------------------------------------
    ("inbox.index", "/"): {"GET": Case("signed_in", "/")},
    ("inbox.notices", "/notices"): {"GET": Case("signed_in", "/notices")},
    ("inbox.read_notice", "/notices/<int:notice_id>/read"): {
        "POST": Case("owner", "/notices/{notice}/read", refusal=404, make=with_ids(World.notice, "notice")),
    },
    ("inbox.task", "/tasks/<task_id>"): {"GET": Case("member", "/tasks/{task}", refusal=404)},
    ("inbox.submit", "/tasks/<task_id>"): {
        "POST": Case("member", TASK_PAGE, form({"_draft": "1"}), refusal=404, make=task(claimed=True)),
    },
    ("inbox.conditions", "/tasks/<task_id>/conditions"): {
        "POST": Case("member", "/tasks/{task}/conditions", form({"year": "2027"}), refusal=404),
    },
    ("inbox.claim", "/tasks/<task_id>/claim"): {
        "POST": Case("member", "/tasks/{task}/claim", refusal=404, make=task()),
    },
    ("inbox.unclaim", "/tasks/<task_id>/unclaim"): {
        "POST": Case("member", "/tasks/{task}/unclaim", refusal=404, make=task(claimed=True)),
    },
    ("inbox.bulk_claim", "/tasks/bulk-claim"): {
        "POST": Case("member", "/tasks/bulk-claim", form({"task_id": ["{task}"]}), refusal=404, make=task()),
    },
    ("inbox.reassign", "/tasks/<task_id>/reassign"): {
        "POST": Case("unit_leader", "/tasks/{task}/reassign", form(REASSIGN), refusal=404, make=task()),
    },
    ("inbox.delegate", "/tasks/<task_id>/delegate"): {
        "POST": Case("member", "/tasks/{task}/delegate", form(DELEGATE), refusal=404, make=task(claimed=True)),
    },
    ("inbox.substitutions", "/substitutes"): {"GET": Case("signed_in", "/substitutes")},
    ("inbox.arrange_substitute", "/substitutes"): {
        "POST": Case("member", "/substitutes", form(LEAVE), make=leave_days),
    },
    ("inbox.cancel_substitute", "/substitutes/<int:substitution_id>/cancel"): {
        "POST": Case("member", "/substitutes/{substitution}/cancel", refusal=404,
                     make=with_ids(World.substitution, "substitution")),
    },
    ("inbox.download", "/files/<file_id>"): {"GET": Case("member", "/files/{file}", refusal=404)},
    # --- starting processes, instances -----------------------------------------------------------------------
    ("processes.catalogue", "/processes"): {"GET": Case("signed_in", "/processes")},
    ("processes.start_form", "/processes/<key>/start"): {
        "GET": Case("starter", "/processes/evidence/start?unit_id={unit}"),
    },
    ("processes.start", "/processes/<key>/start"): {
        "POST": Case("starter", "/processes/evidence/start", form({"unit_id": "{unit}", **START_FORM})),
    },
    ("processes.start_conditions", "/processes/<key>/conditions"): {
        "POST": Case("starter", "/processes/evidence/conditions", form({"unit_id": "{unit}", "urgent": "true"})),
    },
    ("processes.instances", "/instances"): {"GET": Case("signed_in", "/instances")},
    ("processes.instance", "/instances/<int:instance_id>"): {
        "GET": Case("member", "/instances/{file_instance}", refusal=404),
    },
    # --- the process library -----------------------------------------------------------------------------------
    ("definitions.index", "/definitions"): {"GET": Case("signed_in", "/definitions")},
    ("definitions.process", "/definitions/<key>"): {
        "GET": [
            Case("member", f"/definitions/{OWN_KEY}?version=3", refusal=404, variant="own-draft"),
            Case("signed_in", f"/definitions/{SHARED_KEY}", variant="shared"),
        ],
    },
    ("definitions.diff", "/definitions/<key>/versions/<int:version>/diff"): {
        "GET": Case("member", f"/definitions/{OWN_KEY}/versions/3/diff", refusal=404),
    },
    ("definitions.download", "/definitions/<key>/versions/<int:version>/files/<int:file_id>"): {
        "GET": [
            Case("member", f"/definitions/{OWN_KEY}/versions/2/files/{{own_bpmn_file}}", refusal=404,
                 variant="diagram"),
            Case("member", f"/definitions/{OWN_KEY}/versions/2/files/{{own_form_file}}", refusal=404, variant="form"),
        ],
    },
    ("definitions.upload", "/definitions/upload"): {
        "GET": Case("deployer_anywhere", "/definitions/upload"),
        "POST": [
            Case("deployer", "/definitions/upload", files(World.draft_upload, unit_id="{unit}", change_summary="Sửa"),
                 send="multipart", variant="unit"),
            Case("system_admin", "/definitions/upload", files(World.shared_upload), send="multipart", variant="shared"),
        ],
    },
    ("definitions.migrations", "/definitions/<key>/migrations"): {
        "GET": Case("unit_admin", f"/definitions/{OWN_KEY}/migrations", refusal=404),
    },
    ("definitions.migrate", "/definitions/<key>/migrations"): {
        "POST": Case("unit_admin", f"/definitions/{OWN_KEY}/migrations", form({"instance": "{instance}"}),
                     refusal=404, make=with_ids(World.waiting_instance, "instance")),
    },
    ("definitions.revert", "/definitions/<key>/migrations/<int:migration_id>/revert"): {
        "POST": Case("unit_admin", f"/definitions/{OWN_KEY}/migrations/{{migration}}/revert", refusal=404,
                     make=with_ids(World.migration, "migration")),
    },
    # --- the public portal --------------------------------------------------------------------------------------
    ("portal.units", "/units"): {"GET": Case("public", "/units")},
    ("portal.processes", "/units/<code>/processes"): {"GET": Case("public", "/units/{unit_code}/processes")},
    ("portal.procedure", "/units/<code>/processes/<key>"): {
        "GET": Case("public", f"/units/{{unit_code}}/processes/{OWN_KEY}"),
    },
    ("portal.diagram", "/units/<code>/processes/<key>/diagram"): {
        "GET": Case("public", f"/units/{{unit_code}}/processes/{OWN_KEY}/diagram"),
    },
    ("objectives.public", "/units/<code>/objectives"): {"GET": Case("public", "/units/{unit_code}/objectives")},
    # --- the ISO registers: a unit's members only; another unit's review, action or job does not exist ------------
    ("reviews.index", "/iso/reviews"): {"GET": Case("member", "/iso/reviews?unit={unit_code}", refusal=404)},
    ("reviews.export", "/iso/reviews/export"): {
        "GET": Case("member", "/iso/reviews/export?unit={unit_code}&format=csv", refusal=404),
    },
    ("reviews.detail", "/iso/reviews/<int:review_id>"): {"GET": Case("member", "/iso/reviews/{review}", refusal=404)},
    ("reviews.actions", "/iso/reviews/actions"): {
        "GET": Case("member", "/iso/reviews/actions?unit={unit_code}&status=overdue", refusal=404),
    },
    ("reviews.export_actions", "/iso/reviews/actions/export"): {
        "GET": Case("member", "/iso/reviews/actions/export?unit={unit_code}&format=csv", refusal=404),
    },
    ("reviews.update_action", "/iso/reviews/actions/<int:action_id>"): {
        "POST": Case("member", "/iso/reviews/actions/{review_action}", refusal=404,
                     body=form({"status": "in_progress", "note": "Đang làm"})),
    },
    ("assignments.index", "/iso/assignments"): {
        "GET": Case("member", "/iso/assignments?unit={unit_code}", refusal=404),
    },
    ("assignments.export", "/iso/assignments/export"): {
        "GET": Case("member", "/iso/assignments/export?unit={unit_code}&format=csv", refusal=404),
    },
    ("assignments.detail", "/iso/assignments/<int:assignment_id>"): {
        "GET": Case("member", "/iso/assignments/{assignment}", refusal=404),
    },
    # --- the ISO registers: the caller's units only; naming another unit's code is 404 -------------------------
    ("audits.programmes", "/iso/audits"): {"GET": [
        Case("register_reader", "/iso/audits?year=2027", variant="own-units"),
        Case("member", "/iso/audits?unit={unit_code}&export=csv", refusal=404, variant="unit-export"),
    ]},
    ("audits.findings", "/iso/audits/findings"): {"GET": [
        Case("register_reader", "/iso/audits/findings?classification=nonconformity", variant="own-units"),
        Case("member", "/iso/audits/findings?unit={unit_code}&department=vp", refusal=404, variant="unit"),
        Case("member", "/iso/audits/findings?unit={unit_code}&export=csv", refusal=404, variant="unit-export"),
    ]},
    ("corrective_actions.index", "/iso/corrective-actions"): {"GET": [
        Case("register_reader", "/iso/corrective-actions?overdue=1", variant="own-units"),
        Case("member", "/iso/corrective-actions?unit={unit_code}&status=open", refusal=404, variant="unit"),
        Case("member", "/iso/corrective-actions?unit={unit_code}&export=csv", refusal=404, variant="unit-export"),
    ]},
    # the ISO home page and the registers: a unit's people; another unit's ?unit= is not found
    ("iso_home.index", "/iso"): {"GET": [Case("member", "/iso?unit={unit}", refusal=404, variant="unit"),
                                         Case("signed_in", "/iso", variant="own-units")]},
    ("policy_register.index", "/iso/policies"): {"GET": Case("member", "/iso/policies?unit={unit}&format=csv",
                                                             refusal=404)},
    ("objectives.register", "/iso/objectives"): {"GET": Case("member", "/iso/objectives?unit={unit}",
                                                             refusal=404)},
    # --- the ISO registers: any account reads its own units' rows; one row only in its unit ------------------
    ("risks.register", "/iso/risks"): {
        "GET": [Case("signed_in", "/iso/risks?year=2027&status=open"),
                Case("signed_in", "/iso/risks?format=csv", variant="export")],
    },
    ("risks.risk", "/iso/risks/<int:risk_id>"): {"GET": Case("member", "/iso/risks/{risk}", refusal=404)},
    ("documents.register", "/iso/documents"): {
        "GET": [Case("signed_in", "/iso/documents?status=current&kind=procedure"),
                Case("signed_in", "/iso/documents?format=csv", variant="export")],
    },
    ("documents.document", "/iso/documents/<int:document_id>"): {
        "GET": Case("member", "/iso/documents/{document}", refusal=404),
    },
    ("documents.file", "/iso/documents/<int:document_id>/files/<file_id>"): {
        "GET": Case("member", "/iso/documents/{document}/files/{document_file}", refusal=404),
    },
    ("complaints.register", "/iso/complaints"): {
        "GET": [Case("signed_in", "/iso/complaints?timeliness=on_time&status=closed"),
                Case("signed_in", "/iso/complaints?format=csv", variant="export")],
    },
    ("complaints.complaint", "/iso/complaints/<int:complaint_id>"): {
        "GET": Case("member", "/iso/complaints/{complaint}", refusal=404),
    },
    # --- dossiers: the unit's people who may see each one; another unit's does not exist; the public lookup ----
    ("dossiers.index", "/dossiers"): {
        "GET": [Case("signed_in", "/dossiers?status=1&timing=open"),
                Case("signed_in", "/dossiers?format=xlsx", variant="export")],
    },
    ("dossiers.receive", "/dossiers/receive"): {"GET": Case("signed_in", "/dossiers/receive")},
    ("dossiers.logbook", "/dossiers/logbook"): {
        "GET": Case("signed_in", "/dossiers/logbook?from=2020-01-01&to=2100-12-31"),
    },
    ("dossiers.dossier", "/dossiers/<code>"): {"GET": Case("member", "/dossiers/{dossier}", refusal=404)},
    ("dossiers.form", "/dossiers/<code>/forms/<kind>"): {
        "GET": Case("member", "/dossiers/{dossier}/forms/control-slip", refusal=404),
    },
    ("dossiers.form_pdf", "/dossiers/<code>/forms/<kind>.pdf"): {
        "GET": Case("member", "/dossiers/{dossier}/forms/receipt.pdf", refusal=404),
    },
    ("dossiers.control_slip_xlsx", "/dossiers/<code>/forms/control-slip.xlsx"): {
        "GET": Case("member", "/dossiers/{dossier}/forms/control-slip.xlsx", refusal=404),
    },
    ("dossiers.lookup_form", "/lookup"): {"GET": Case("public", "/lookup")},
    ("dossiers.lookup", "/lookup"): {
        "POST": Case("public", "/lookup", form({"code": "{dossier}", "phone": DOSSIER_PHONE})),
    },
    ("dossiers.rate", "/lookup/rating"): {  # the result is not returned yet: refused, nothing written
        "POST": Case("public", "/lookup/rating", form({"code": "{dossier}", "phone": DOSSIER_PHONE, "rating": "3"}),
                     ok=409),
    },
    # --- administration ------------------------------------------------------------------------------------------
    ("admin.calendar", "/admin/calendar"): {
        "GET": Case("admin_anywhere", "/admin/calendar"),
    },
    ("admin.add_day", "/admin/calendar"): {
        "POST": [
            Case("unit_admin", "/admin/calendar", form(DEMO_DAY), make=a_day, variant="unit"),
            Case("province_admin", "/admin/calendar", form({**DEMO_DAY, "scope": "province"}), make=a_day,
                 variant="province"),
        ],
    },
    ("admin.remove_day", "/admin/calendar/<int:entry_id>/delete"): {
        "POST": [
            Case("unit_admin", "/admin/calendar/{entry}/delete", refusal=404, variant="unit",
                 make=with_ids(World.calendar_entry, "entry")),
            Case("province_admin", "/admin/calendar/{entry}/delete", variant="province",
                 make=with_ids(lambda world: world.calendar_entry(province=True), "entry")),
        ],
    },
    ("admin.outbox_failed", "/admin/outbox"): {"GET": Case("admin_anywhere", "/admin/outbox")},
    ("admin.retry_message", "/admin/outbox/<int:message_id>/retry"): {
        "POST": Case("unit_admin", "/admin/outbox/{message}/retry", refusal=404,
                     make=with_ids(World.failed_message, "message")),
    },
    ("tokens.index", "/admin/tokens"): {"GET": Case("admin_anywhere", "/admin/tokens")},
    ("tokens.create", "/admin/tokens"): {
        "POST": Case("unit_admin", "/admin/tokens", form({"name": "iGate {n}", "holder": "{unit}:quantri",
                                                          "scopes": "jobs"}), make=a_number, ok=201),
    },
    ("tokens.revoke", "/admin/tokens/<int:token_id>/revoke"): {
        "POST": Case("unit_admin", "/admin/tokens/{token}/revoke", refusal=404, make=a_token),
    },
    # --- /api/v1 ---------------------------------------------------------------------------------------------------
    ("api_tokens.list_tokens", "/api/v1/tokens"): {"GET": Case("admin_anywhere", "/api/v1/tokens")},
    ("api_tokens.create_token", "/api/v1/tokens"): {
        "POST": Case("unit_admin", "/api/v1/tokens", form({"name": "Worker {n}", "unit_id": "{unit}",
                                                           "scopes": ["jobs"]}), send="json", make=a_number, ok=201),
    },
    ("api_tokens.revoke_token", "/api/v1/tokens/<int:token_id>"): {
        "DELETE": Case("unit_admin", "/api/v1/tokens/{token}", refusal=404, make=a_token),
    },
    ("api.openapi", "/api/v1/openapi.json"): {"GET": Case("public", "/api/v1/openapi.json")},
    ("api.definitions", "/api/v1/process-definitions"): {"GET": Case("signed_in", "/api/v1/process-definitions")},
    ("api.start", "/api/v1/process-definitions/<key>/start"): {
        "POST": Case("starter", "/api/v1/process-definitions/quality_objectives/start", form({"unit_id": "{unit}"}),
                     send="json"),
    },
    ("api.tasks", "/api/v1/tasks"): {"GET": Case("signed_in", "/api/v1/tasks")},
    ("api.instances", "/api/v1/instances"): {"GET": Case("signed_in", "/api/v1/instances")},
    # the ISO registers, read-only: the caller's own units' rows; another unit's ?unit= or row is not found
    ("registers_api.registers", "/api/v1/registers"): {"GET": Case("signed_in", "/api/v1/registers")},
    ("registers_api.rows", "/api/v1/registers/<name>"): {"GET": [
        Case("signed_in", "/api/v1/registers/risks?status=open"),
        Case("member", "/api/v1/registers/policies?unit={unit}", refusal=404, variant="unit"),
        Case("member", "/api/v1/registers/reviews?unit={unit_code}", refusal=404, variant="unit-code"),
    ]},
    ("registers_api.row", "/api/v1/registers/<name>/<int:row_id>"): {
        "GET": Case("member", "/api/v1/registers/risks/{risk}", refusal=404),
    },
    ("api.task", "/api/v1/tasks/<task_id>"): {"GET": Case("member", "/api/v1/tasks/{task}", refusal=404)},
    ("api.claim", "/api/v1/tasks/<task_id>/claim"): {
        "POST": Case("member", "/api/v1/tasks/{task}/claim", refusal=404, make=task()),
    },
    ("api.unclaim", "/api/v1/tasks/<task_id>/unclaim"): {
        "POST": Case("member", "/api/v1/tasks/{task}/unclaim", refusal=404, make=task(claimed=True)),
    },
    ("api.bulk_claim", "/api/v1/tasks/bulk-claim"): {
        "POST": Case("member", "/api/v1/tasks/bulk-claim", form({"task_ids": ["{task}"]}), send="json", refusal=404,
                     make=task()),
    },
    ("api.reassign", "/api/v1/tasks/<task_id>/reassign"): {
        "POST": Case("unit_leader", "/api/v1/tasks/{task}/reassign", form(REASSIGN), send="json", refusal=404,
                     make=task()),
    },
    ("api.delegate", "/api/v1/tasks/<task_id>/delegate"): {
        "POST": Case("member", "/api/v1/tasks/{task}/delegate", form(DELEGATE), send="json", refusal=404,
                     make=task(claimed=True)),
    },
    ("api.resolve", "/api/v1/tasks/<task_id>/resolve"): {
        "POST": Case("member", "/api/v1/tasks/{task}/resolve", form({"variables": {"year": 2027}, "note": "Xong"}),
                     send="json", refusal=404, by="chuyenvien", make=lambda world: {"task": world.delegated_task()}),
    },
    ("api.substitutions", "/api/v1/substitutes"): {"GET": Case("signed_in", "/api/v1/substitutes")},
    ("api.arrange_substitute", "/api/v1/substitutes"): {
        "POST": Case("member", "/api/v1/substitutes", form(LEAVE), send="json", make=leave_days, ok=201),
    },
    ("api.cancel_substitute", "/api/v1/substitutes/<int:substitution_id>/cancel"): {
        "POST": Case("member", "/api/v1/substitutes/{substitution}/cancel", refusal=404,
                     make=with_ids(World.substitution, "substitution")),
    },
    ("api.complete", "/api/v1/tasks/<task_id>/complete"): {
        "POST": Case("member", "/api/v1/tasks/{task}/complete", form({"variables": DRAFT}), send="json", refusal=404,
                     make=task(claimed=True)),
    },
    ("api.instance", "/api/v1/instances/<int:instance_id>"): {
        "GET": Case("member", "/api/v1/instances/{file_instance}", refusal=404),
    },
    ("api.deploy", "/api/v1/deployments"): {
        "POST": [
            Case("deployer", "/api/v1/deployments", files(World.draft_upload, unit_id="{unit}"), send="multipart",
                 variant="unit"),
            Case("system_admin", "/api/v1/deployments", files(World.shared_upload), send="multipart", variant="shared"),
        ],
    },
    ("jobs_api.fetch", "/api/v1/jobs/fetch-and-lock"): {
        "POST": Case("admin_anywhere", "/api/v1/jobs/fetch-and-lock",
                     form({"workerId": "w-fetch", "topics": ["khong.co.viec"], "lockDuration": 1000}), send="json"),
    },
    ("jobs_api.complete", "/api/v1/jobs/<job_id>/complete"): {
        "POST": Case("unit_admin", "/api/v1/jobs/{job}/complete", form(WORKER), send="json", refusal=404, make=job()),
    },
    ("jobs_api.failure", "/api/v1/jobs/<job_id>/failure"): {
        "POST": Case("unit_admin", "/api/v1/jobs/{job}/failure", form({**WORKER, "errorMessage": "lỗi", "retries": 1}),
                     send="json", refusal=404, make=job()),
    },
    ("jobs_api.bpmn_error", "/api/v1/jobs/<job_id>/bpmn-error"): {
        "POST": Case("unit_admin", "/api/v1/jobs/{job}/bpmn-error", form({**WORKER, "errorCode": "KHONG_DAT"}),
                     send="json", refusal=404, make=job()),
    },
    ("jobs_api.retry", "/api/v1/jobs/<job_id>/retry"): {
        "POST": Case("unit_admin", "/api/v1/jobs/{job}/retry", form({"retries": 1}), send="json", refusal=404,
                     make=job(incident=True)),
    },
    ("messages_api.publish", "/api/v1/messages"): {
        "POST": Case("unit_admin", "/api/v1/messages", send="json", make=a_message,
                     body=form({"name": MESSAGE_NAME, "correlationKey": "{ref}", "unit_id": "{unit}"})),
    },
    ("signals_api.signal", "/api/v1/signals"): {
        "POST": Case("unit_admin", "/api/v1/signals", form({"name": "tin_hieu", "unit_id": "{unit}"}), send="json"),
    },
    # --- the organisation: pages ----------------------------------------------------------------------------------
    ("organisation.index", "/organisation"): {"GET": Case("admin_anywhere", "/organisation")},
    ("organisation.new_unit", "/organisation/units/new"): {
        "GET": Case("system_admin", "/organisation/units/new"),
        "POST": Case("system_admin", "/organisation/units/new", form(NEW_UNIT), make=unit_code),
    },
    ("organisation.unit", "/organisation/units/<int:unit_id>"): {
        "GET": Case("unit_admin", "/organisation/units/{unit}", refusal=404),
    },
    ("organisation.update_unit", "/organisation/units/<int:unit_id>"): {
        "POST": Case("unit_admin", "/organisation/units/{unit}", form(DEMO_UNIT), refusal=404),
    },
    ("organisation.add_department", "/organisation/units/<int:unit_id>/departments"): {
        "POST": Case("unit_admin", "/organisation/units/{unit}/departments", form({"code": "{code}", "name": "Tổ"}),
                     refusal=404, make=department_code),
    },
    ("organisation.update_department", "/organisation/departments/<int:department_id>"): {
        "POST": Case("unit_admin", "/organisation/departments/{department}", form({"name": "Văn phòng Sở"}),
                     refusal=404),
    },
    ("organisation.delete_department", "/organisation/departments/<int:department_id>/delete"): {
        "POST": Case("unit_admin", "/organisation/departments/{fresh}/delete", refusal=404, make=a_department),
    },
    ("organisation.people", "/organisation/units/<int:unit_id>/people"): {
        "GET": Case("unit_admin", "/organisation/units/{unit}/people", refusal=404),
    },
    ("organisation.new_person", "/organisation/units/<int:unit_id>/people/new"): {
        "GET": Case("unit_admin", "/organisation/units/{unit}/people/new", refusal=404),
        "POST": Case("unit_admin", "/organisation/units/{unit}/people/new", form(NEW_PERSON), refusal=404,
                     make=username),
    },
    ("organisation.person", "/organisation/people/<int:person_id>"): {
        "GET": Case("unit_admin", "/organisation/people/{person}", refusal=404),
    },
    ("organisation.update_person", "/organisation/people/<int:person_id>"): {
        "POST": Case("unit_admin", "/organisation/people/{person}", form({"title": "Chuyên viên"}), refusal=404),
    },
    ("organisation.set_roles", "/organisation/people/<int:person_id>/roles"): {
        "POST": Case("unit_admin", "/organisation/people/{fresh}/roles", form({"roles": ["iso_secretary"]}),
                     refusal=404, make=a_person),
    },
    ("organisation.set_password", "/organisation/people/<int:person_id>/password"): {
        "POST": Case("unit_admin", "/organisation/people/{fresh}/password", form({"password": "mat-khau-moi-26"}),
                     refusal=404, make=a_person),
    },
    ("organisation.deactivate", "/organisation/people/<int:person_id>/deactivate"): {
        "POST": Case("unit_admin", "/organisation/people/{fresh}/deactivate", refusal=404, make=a_person),
    },
    ("organisation.reactivate", "/organisation/people/<int:person_id>/reactivate"): {
        "POST": Case("unit_admin", "/organisation/people/{fresh}/reactivate", refusal=404, make=a_leaver),
    },
    ("organisation.import_people", "/organisation/units/<int:unit_id>/import"): {
        "GET": Case("unit_admin", "/organisation/units/{unit}/import", refusal=404),
        "POST": Case("unit_admin", "/organisation/units/{unit}/import", people_sheet(action="import"),
                     send="multipart", refusal=404, make=username),
    },
    ("organisation.import_template", "/organisation/units/<int:unit_id>/import/template.xlsx"): {
        "GET": Case("unit_admin", "/organisation/units/{unit}/import/template.xlsx", refusal=404),
    },
    ("organisation.audit", "/organisation/audit"): {
        "GET": [Case("admin_anywhere", "/organisation/audit"),
                Case("unit_admin", "/organisation/audit?unit={unit}", refusal=404, variant="unit")],
    },
    # --- the organisation: /api/v1 --------------------------------------------------------------------------------
    ("organisation_api.units", "/api/v1/units"): {"GET": Case("signed_in", "/api/v1/units")},
    ("organisation_api.create_unit", "/api/v1/units"): {
        "POST": Case("system_admin", "/api/v1/units", form(NEW_UNIT), send="json", make=unit_code),
    },
    ("organisation_api.unit", "/api/v1/units/<int:unit_id>"): {
        "GET": Case("unit_admin", "/api/v1/units/{unit}", refusal=404),
    },
    ("organisation_api.update_unit", "/api/v1/units/<int:unit_id>"): {
        "PATCH": Case("unit_admin", "/api/v1/units/{unit}", form(DEMO_UNIT), send="json", refusal=404),
    },
    ("organisation_api.provinces", "/api/v1/provinces"): {"GET": Case("signed_in", "/api/v1/provinces")},
    ("organisation_api.departments", "/api/v1/units/<int:unit_id>/departments"): {
        "GET": Case("unit_admin", "/api/v1/units/{unit}/departments", refusal=404),
    },
    ("organisation_api.create_department", "/api/v1/units/<int:unit_id>/departments"): {
        "POST": Case("unit_admin", "/api/v1/units/{unit}/departments", form({"code": "{code}", "name": "Tổ"}),
                     send="json", refusal=404, make=department_code),
    },
    ("organisation_api.update_department", "/api/v1/departments/<int:department_id>"): {
        "PATCH": Case("unit_admin", "/api/v1/departments/{department}", form({"name": "Văn phòng Sở"}), send="json",
                      refusal=404),
    },
    ("organisation_api.delete_department", "/api/v1/departments/<int:department_id>"): {
        "DELETE": Case("unit_admin", "/api/v1/departments/{fresh}", refusal=404, make=a_department),
    },
    ("organisation_api.people", "/api/v1/units/<int:unit_id>/people"): {
        "GET": Case("unit_admin", "/api/v1/units/{unit}/people", refusal=404),
    },
    ("organisation_api.create_person", "/api/v1/units/<int:unit_id>/people"): {
        "POST": Case("unit_admin", "/api/v1/units/{unit}/people", form(NEW_PERSON), send="json", refusal=404,
                     make=username),
    },
    ("organisation_api.person", "/api/v1/people/<int:person_id>"): {
        "GET": Case("unit_admin", "/api/v1/people/{person}", refusal=404),
    },
    ("organisation_api.update_person", "/api/v1/people/<int:person_id>"): {
        "PATCH": Case("unit_admin", "/api/v1/people/{person}", form({"title": "Chuyên viên"}), send="json",
                      refusal=404),
    },
    ("organisation_api.set_roles", "/api/v1/people/<int:person_id>/roles"): {
        "PUT": Case("unit_admin", "/api/v1/people/{fresh}/roles", form({"roles": ["iso_secretary"]}), send="json",
                    refusal=404, make=a_person),
    },
    ("organisation_api.set_password", "/api/v1/people/<int:person_id>/password"): {
        "POST": Case("unit_admin", "/api/v1/people/{fresh}/password", form({"password": "mat-khau-moi-26"}),
                     send="json", refusal=404, make=a_person),
    },
    ("organisation_api.deactivate", "/api/v1/people/<int:person_id>/deactivate"): {
        "POST": Case("unit_admin", "/api/v1/people/{fresh}/deactivate", send="json", refusal=404, make=a_person),
    },
    ("organisation_api.reactivate", "/api/v1/people/<int:person_id>/reactivate"): {
        "POST": Case("unit_admin", "/api/v1/people/{fresh}/reactivate", send="json", refusal=404, make=a_leaver),
    },
    ("organisation_api.import_people", "/api/v1/units/<int:unit_id>/people/import"): {
        "POST": Case("unit_admin", "/api/v1/units/{unit}/people/import", people_sheet(), send="multipart",
                     refusal=404, make=username),
    },
    ("organisation_api.import_template", "/api/v1/units/<int:unit_id>/people/import-template"): {
        "GET": Case("unit_admin", "/api/v1/units/{unit}/people/import-template", refusal=404),
    },
    ("organisation_api.audit", "/api/v1/audit"): {
        "GET": [Case("admin_anywhere", "/api/v1/audit"),
                Case("unit_admin", "/api/v1/audit?unit_id={unit}", refusal=404, variant="unit")],
    },
    # --- /engine-rest (Camunda 7 REST) --------------------------------------------------------------------------------
    ("camunda_rest.version", "/engine-rest/version"): {"GET": Case("public", "/engine-rest/version")},
    ("camunda_rest.engines", "/engine-rest/engine"): {"GET": Case("public", "/engine-rest/engine")},
    ("camunda_rest.unknown_path", "/engine-rest/<path:unknown>"): {
        method: Case("unknown", "/engine-rest/case-instance/1", ok=404) for method in ALL
    },
    ("camunda_rest.deployments", "/engine-rest/deployment"): {"GET": Case("signed_in", "/engine-rest/deployment")},
    ("camunda_rest.deployment", "/engine-rest/deployment/<deployment_id>"): {
        "GET": Case("member", "/engine-rest/deployment/{own_deployment}", refusal=404),
    },
    ("camunda_rest.create_deployment", "/engine-rest/deployment/create"): {
        "POST": [
            Case("deployer", "/engine-rest/deployment/create", camunda_files(World.draft_upload,
                 **{"tenant-id": "{unit_code}"}), send="multipart", variant="unit"),  # fmt: skip
            Case("system_admin", "/engine-rest/deployment/create", camunda_files(World.shared_upload),
                 send="multipart", variant="shared"),
        ],
    },
    ("camunda_rest.camunda_external_tasks.fetch", "/engine-rest/external-task/fetchAndLock"): {
        "POST": Case("admin_anywhere", "/engine-rest/external-task/fetchAndLock", send="json",
                     body=form({"workerId": "w-fetch", "topics": [{"topicName": "khong.co.viec", "lockDuration": 1}]})),
    },
    ("camunda_rest.camunda_external_tasks.tasks", "/engine-rest/external-task"): {
        "GET": Case("admin_anywhere", "/engine-rest/external-task"),
    },
    ("camunda_rest.camunda_external_tasks.task", "/engine-rest/external-task/<task_id>"): {
        "GET": Case("unit_admin", "/engine-rest/external-task/{job}", refusal=404),
    },
    ("camunda_rest.camunda_external_tasks.error_details", "/engine-rest/external-task/<task_id>/errorDetails"): {
        "GET": Case("unit_admin", "/engine-rest/external-task/{job}/errorDetails", refusal=404),
    },
    ("camunda_rest.camunda_external_tasks.complete", "/engine-rest/external-task/<task_id>/complete"): {
        "POST": Case("unit_admin", "/engine-rest/external-task/{job}/complete", form(WORKER), send="json",
                     refusal=404, make=job()),
    },
    ("camunda_rest.camunda_external_tasks.failure", "/engine-rest/external-task/<task_id>/failure"): {
        "POST": Case("unit_admin", "/engine-rest/external-task/{job}/failure", send="json", refusal=404,
                     body=form({**WORKER, "errorMessage": "lỗi", "retries": 1, "retryTimeout": 0}), make=job()),
    },
    ("camunda_rest.camunda_external_tasks.bpmn_error", "/engine-rest/external-task/<task_id>/bpmnError"): {
        "POST": Case("unit_admin", "/engine-rest/external-task/{job}/bpmnError", send="json", refusal=404,
                     body=form({**WORKER, "errorCode": "KHONG_DAT"}), make=job()),
    },
    ("camunda_rest.camunda_external_tasks.count_tasks", "/engine-rest/external-task/count"): {
        "GET": Case("admin_anywhere", "/engine-rest/external-task/count"),
    },
    ("camunda_rest.camunda_external_tasks.unlock", "/engine-rest/external-task/<task_id>/unlock"): {
        "POST": Case("unit_admin", "/engine-rest/external-task/{job}/unlock", send="json", refusal=404, make=job()),
    },
    ("camunda_rest.camunda_external_tasks.extend", "/engine-rest/external-task/<task_id>/extendLock"): {
        "POST": Case("unit_admin", "/engine-rest/external-task/{job}/extendLock", send="json",
                     body=form({**WORKER, "newDuration": 60000}), refusal=404, make=job()),
    },
    ("camunda_rest.camunda_processes.definitions", "/engine-rest/process-definition"): {
        "GET": Case("signed_in", "/engine-rest/process-definition"),
    },
    ("camunda_rest.camunda_processes.count_definitions", "/engine-rest/process-definition/count"): {
        "GET": Case("signed_in", "/engine-rest/process-definition/count"),
    },
    ("camunda_rest.camunda_processes.definition", "/engine-rest/process-definition/<definition_id>"): {
        "GET": Case("member", "/engine-rest/process-definition/{own_camunda_id}", refusal=404),
    },
    ("camunda_rest.camunda_processes.definition_xml", "/engine-rest/process-definition/<definition_id>/xml"): {
        "GET": Case("member", "/engine-rest/process-definition/{own_camunda_id}/xml", refusal=404),
    },
    ("camunda_rest.camunda_processes.start_by_id", "/engine-rest/process-definition/<definition_id>/start"): {
        "POST": Case("starter", "/engine-rest/process-definition/{own_camunda_id}/start", form(CAMUNDA_START),
                     send="json", refusal=404),
    },
    ("camunda_rest.camunda_processes.definition_by_key", "/engine-rest/process-definition/key/<key>"): {
        "GET": Case("member", f"/engine-rest/process-definition/key/{OWN_KEY}", refusal=404),
    },
    ("camunda_rest.camunda_processes.definition_by_key",
     "/engine-rest/process-definition/key/<key>/tenant-id/<tenant>"): {
        "GET": Case("member", f"/engine-rest/process-definition/key/{OWN_KEY}/tenant-id/{{unit_code}}", refusal=404,
                    variant="tenant"),
    },
    ("camunda_rest.camunda_processes.start_by_key", "/engine-rest/process-definition/key/<key>/start"): {
        "POST": Case("starter", f"/engine-rest/process-definition/key/{OWN_KEY}/start", form(CAMUNDA_START),
                     send="json", refusal=404),
    },
    ("camunda_rest.camunda_processes.start_by_key",
     "/engine-rest/process-definition/key/<key>/tenant-id/<tenant>/start"): {
        "POST": Case("starter", f"/engine-rest/process-definition/key/{SHARED_KEY}/tenant-id/{{unit_code}}/start",
                     form({}), send="json", variant="tenant"),
    },
    ("camunda_rest.camunda_processes.instance", "/engine-rest/process-instance/<instance_id>"): {
        "GET": Case("member", "/engine-rest/process-instance/{file_instance}", refusal=404),
    },
    ("camunda_rest.camunda_runtime.instances", "/engine-rest/process-instance"): {
        "GET": Case("signed_in", "/engine-rest/process-instance"),
        "POST": Case("signed_in", "/engine-rest/process-instance", form({"processDefinitionKey": OWN_KEY}),
                     send="json"),
    },
    ("camunda_rest.camunda_runtime.count_instances", "/engine-rest/process-instance/count"): {
        "GET": Case("signed_in", "/engine-rest/process-instance/count"),
        "POST": Case("signed_in", "/engine-rest/process-instance/count", form({}), send="json"),
    },
    ("camunda_rest.camunda_runtime.instance_variables", "/engine-rest/process-instance/<instance_id>/variables"): {
        "GET": Case("member", "/engine-rest/process-instance/{file_instance}/variables", refusal=404),
    },
    ("camunda_rest.camunda_runtime.instance_variable",
     "/engine-rest/process-instance/<instance_id>/variables/<name>"): {
        "GET": Case("member", "/engine-rest/process-instance/{file_instance}/variables/subject", refusal=404),
    },
    ("camunda_rest.camunda_runtime.tasks", "/engine-rest/task"): {
        "GET": Case("signed_in", "/engine-rest/task"),
        "POST": Case("signed_in", "/engine-rest/task", form({"unassigned": True}), send="json"),
    },
    ("camunda_rest.camunda_runtime.count_tasks", "/engine-rest/task/count"): {
        "GET": Case("signed_in", "/engine-rest/task/count"),
        "POST": Case("signed_in", "/engine-rest/task/count", form({}), send="json"),
    },
    ("camunda_rest.camunda_runtime.task", "/engine-rest/task/<task_id>"): {
        "GET": Case("member", "/engine-rest/task/{review_task}", refusal=404),
    },
    ("camunda_rest.camunda_processes.message", "/engine-rest/message"): {
        "POST": Case("unit_admin", "/engine-rest/message", send="json", make=a_message,
                     body=form({"messageName": MESSAGE_NAME, "tenantId": "{unit_code}",
                                "correlationKeys": {"maHoSo": {"value": "{ref}", "type": "String"}}})),
    },
    ("camunda_rest.camunda_processes.signal", "/engine-rest/signal"): {
        "POST": Case("unit_admin", "/engine-rest/signal", form({"name": "tin_hieu", "tenantId": "{unit_code}"}),
                     send="json"),
    },
}
NOT_WALKED = {"static"}  # files anyone may fetch


# --- walking the table ------------------------------------------------------------------------------------------


def cases() -> Iterator[tuple[str, str, str, Case]]:
    for (endpoint, rule), methods in ROUTES.items():
        for method, listed in methods.items():
            for case in listed if isinstance(listed, list) else [listed]:
                yield endpoint, rule, method, case


def checks() -> Iterator[Any]:
    for endpoint, _rule, method, case in cases():
        name = f"{endpoint}:{case.variant}" if case.variant else endpoint
        for caller in CALLERS:
            marks = [pytest.mark.xfail(strict=True, reason=case.xfail[caller])] if caller in case.xfail else []
            yield pytest.param(method, case, caller, id=f"{name}-{method}-{caller}", marks=marks)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build(tmp_path_factory.mktemp("permissions"))


def is_api(path: str) -> bool:
    return path.startswith(("/api/", "/engine-rest/"))


def call(world: World, method: str, case: Case, caller: str,
         credentials: dict[str, str] | None = None) -> tuple[TestResponse, str, bool]:  # fmt: skip
    """The caller's request, its path, and whether any row changed (looked at when the request is refused).
    API requests send the caller's password, or ``credentials`` (an API token) when given."""
    made = case.make(world) if case.make else {}
    path = case.path.format(**{**world.ids, **made})
    body = case.body(world, made) if case.body else None
    account = None if caller == "anonymous" else ACCOUNTS.get(caller, case.person())
    client = world.client(None if is_api(path) else account)
    options: dict[str, Any] = {"headers": credentials or (basic(account) if is_api(path) and account else {})}
    if body is not None:
        options["json" if case.send == "json" else "data"] = body
    if case.send == "multipart":
        options["content_type"] = "multipart/form-data"
    look = caller not in ALLOWED[case.access] and method != "GET"
    before = world.snapshot() if look else None
    response = client.open(path, method=method, **options)
    changed = look and world.snapshot() != before
    if case.after is not None:
        case.after(world)
    return response, path, changed


def sent_to_log_in(response: TestResponse) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(("method", "case", "caller"), list(checks()))
def test_permission(world: World, method: str, case: Case, caller: str) -> None:
    response, path, changed = call(world, method, case, caller)
    status = response.status_code
    said = f"{method} {path} as {caller}: {status} {response.get_data()[:300].decode(errors='replace')}"
    assert status < 500, said
    if caller in ALLOWED[case.access]:
        assert status == case.ok if case.ok else status < 400, said
        assert not sent_to_log_in(response), said
    elif caller == "anonymous":
        assert (status == 401) if is_api(path) else sent_to_log_in(response), said
    else:
        assert status == case.refusal or (caller == "outsider" and status == 403), said
    assert not changed, f"{said}: a refused request changed the data"


ABOVE_THE_UNITS = {"system_admin", "province_admin"}  # roles a token never carries
TOKEN_MANAGEMENT = ("api_tokens.", "organisation_api.")  # routes no token may use: they need the password


def token_checks() -> Iterator[Any]:
    for endpoint, _rule, method, case in cases():
        if not is_api(case.path) or case.access in ("public", "unknown"):
            continue
        name = f"{endpoint}:{case.variant}" if case.variant else endpoint
        for caller in ("other_unit", "member"):
            marks = [pytest.mark.xfail(strict=True, reason=case.xfail[caller])] if caller in case.xfail else []
            yield pytest.param(endpoint, method, case, caller, id=f"{name}-{method}-{caller}-token", marks=marks)


def bearer(world: World, holder: str, unit: str) -> dict[str, str]:
    """An API token with every scope for ``holder`` in ``unit`` (made once per world)."""
    made: dict[tuple[str, str], str] = world.ids.setdefault("tokens", {})
    if (holder, unit) not in made:
        made[holder, unit] = world.api_token(holder, unit)[1]
    return {"Authorization": f"Bearer {made[holder, unit]}"}


@pytest.mark.parametrize(("endpoint", "method", "case", "caller"), list(token_checks()))
def test_permission_with_a_token(world: World, endpoint: str, method: str, case: Case, caller: str) -> None:
    """The same table with an API token of every scope instead of the password: the other unit's person's
    token is refused as that person is (404 for the demo unit's objects); the demo unit's person's token may
    do what the person may, except what needs a role above the units; no token manages tokens."""
    holder, unit = ("thuky_bmt", "other_unit") if caller == "other_unit" else (case.person(), "unit")
    response, path, changed = call(world, method, case, caller, bearer(world, holder, unit))
    status = response.status_code
    said = f"{method} {path} with {holder}'s token: {status} {response.get_data(as_text=True)[:300]}"
    assert status < 500, said
    if endpoint.startswith(TOKEN_MANAGEMENT) or (caller == "member" and case.access in ABOVE_THE_UNITS):
        assert status == 403, said
    elif caller in ALLOWED[case.access]:
        assert status == case.ok if case.ok else status < 400, said
    else:
        assert status == case.refusal, said
    assert not (changed and status >= 400), f"{said}: a refused request changed the data"


def test_every_route_has_an_entry(world: World) -> None:
    """A route added without a permission entry, or an entry whose route is gone, fails here."""
    routed = {(r.endpoint, r.rule, m) for r in world.app.url_map.iter_rules() if r.endpoint not in NOT_WALKED
              for m in (r.methods or set()) - {"HEAD", "OPTIONS"}}  # fmt: skip
    listed = {(endpoint, rule, method) for endpoint, rule, method, _ in cases()}
    assert routed - listed == set(), "routes without an entry in ROUTES: add who may use them"
    assert listed - routed == set(), "entries in ROUTES for routes the app no longer has"


def test_every_rule_the_table_names_is_a_real_access_level() -> None:
    assert {case.access for *_, case in cases()} <= set(ALLOWED)


# --- the attacks of "Units are walls", each by name --------------------------------------------------------------

OTHER_ADMIN = basic("thuky_bmt")  # every role in the other unit, admin included; nothing in the demo unit


def active_shared(world: World, key: str) -> Any:
    return world.read(select(ProcessDefinition.id).where(ProcessDefinition.key == key, ProcessDefinition.unit_id.is_(
        None), ProcessDefinition.status == "active"))  # fmt: skip


def test_another_units_admin_cannot_replace_a_shared_process(world: World) -> None:
    before = active_shared(world, SHARED_KEY)
    client = world.app.test_client()
    for path, body in (("/api/v1/deployments", files(World.shared_upload)(world, {})),
                       ("/engine-rest/deployment/create", camunda_files(World.shared_upload)(world, {}))):  # fmt: skip
        response = client.post(path, headers=OTHER_ADMIN, data=body, content_type="multipart/form-data")
        assert response.status_code == 403, response.get_data(as_text=True)
    upload = world.client("thuky_bmt").post("/definitions/upload", data=files(World.shared_upload)(world, {}),
                                                 content_type="multipart/form-data")  # fmt: skip
    assert upload.status_code == 403
    assert active_shared(world, SHARED_KEY) == before


def test_another_unit_cannot_approve_or_return_a_draft(world: World) -> None:
    review = world.ids["review_task"]
    leader = world.client("thuky_bmt")  # the other unit's leader
    for decision in ({"decision": "approve"}, {"decision": "return", "returnReason": "Không đạt"}):
        assert leader.post(f"/tasks/{review}", data=decision).status_code == 404
        assert leader.post(f"/tasks/{review}/claim").status_code == 404
        api = world.app.test_client().post(f"/api/v1/tasks/{review}/complete", headers=OTHER_ADMIN,
                                           json={"variables": decision})  # fmt: skip
        assert api.status_code == 404
    status = world.read(select(ProcessDefinition.status).where(ProcessDefinition.key == OWN_KEY,
                                                               ProcessDefinition.version == 3))  # fmt: skip
    assert status == "draft"


def test_taking_over_a_shared_key_makes_only_the_units_own_line(world: World) -> None:
    key = f"chung_{next(world.serial)}"
    admin = world.app.test_client()
    shared = process(key, "Quy trình chung", user_task(1, "Bước chung"))
    response = admin.post("/api/v1/deployments", headers=basic("admin"), content_type="multipart/form-data",
                          data={"files": [(io.BytesIO(shared.content), shared.filename)]})  # fmt: skip
    assert response.status_code == 201
    before = active_shared(world, key)
    theirs = process(key, "Quy trình chung (bản của phường)", user_task(1, "Bước riêng"))
    taken = admin.post("/api/v1/deployments", headers=OTHER_ADMIN, content_type="multipart/form-data",
                       data={"files": [(io.BytesIO(theirs.content), theirs.filename)],
                             "unit_id": str(world.ids["other_unit"])})  # fmt: skip
    assert taken.status_code == 201
    assert active_shared(world, key) == before
    started = admin.post(f"/api/v1/process-definitions/{key}/start", headers=basic("thuky"),
                         json={"unit_id": world.ids["unit"]})  # fmt: skip
    assert started.status_code == 201 and started.json["process_key"] == key
    assert started.json["tasks"][0]["name"] == "Bước chung"  # the demo unit still runs the shared version


def test_another_units_instances_are_neither_listed_nor_moved(world: World) -> None:
    instance = world.waiting_instance()
    other = world.client("thuky_bmt")
    listed = other.get("/instances").get_data(as_text=True)
    assert f'href="/instances/{instance}"' not in listed
    assert f'href="/instances/{world.ids["file_instance"]}"' not in listed
    # the other unit's administrator names the demo unit's instance under a process of their own
    assert other.post("/definitions/bmt_rieng/migrations", data={"instance": instance}).status_code == 302
    version = world.read(select(ProcessDefinition.version).join(ProcessInstance).where(ProcessInstance.id == instance))
    assert version == 1
    assert other.get(f"/instances/{instance}").status_code == 404


def test_another_units_jobs_are_not_fetched(world: World) -> None:
    job_id = world.unlocked_job()
    client = world.app.test_client()
    fetched = client.post("/api/v1/jobs/fetch-and-lock", headers=OTHER_ADMIN,
                          json={"workerId": "w-bmt", "topics": [JOB_TYPE], "maxJobs": 100, "lockDuration": 60000})
    camunda = client.post("/engine-rest/external-task/fetchAndLock", headers=OTHER_ADMIN, json={
        "workerId": "w-bmt", "maxTasks": 100, "topics": [{"topicName": JOB_TYPE, "lockDuration": 60000}]})  # fmt: skip
    listed = client.get("/engine-rest/external-task", headers=OTHER_ADMIN)
    assert fetched.status_code == camunda.status_code == listed.status_code == 200
    assert fetched.json == camunda.json == [] and job_id not in {j["id"] for j in listed.json}
    assert world.read(select(ExternalJob.locked_by).where(ExternalJob.id == job_id)) is None


def test_another_units_jobs_are_not_completed_or_extended(world: World) -> None:
    client = world.app.test_client()
    for path, body in (("/api/v1/jobs/{}/complete", {"workerId": "w-demo", "variables": {}}),
                       ("/engine-rest/external-task/{}/complete", {"workerId": "w-demo"}),
                       ("/engine-rest/external-task/{}/extendLock", {"workerId": "w-demo", "newDuration": 600000})):
        job_id = world.locked_job()
        lock = world.read(select(ExternalJob.lock_expires_at).where(ExternalJob.id == job_id))
        assert client.post(path.format(job_id), headers=OTHER_ADMIN, json=body).status_code == 404
        assert world.read(select(ExternalJob.state).where(ExternalJob.id == job_id)) == "open"
        assert world.read(select(ExternalJob.lock_expires_at).where(ExternalJob.id == job_id)) == lock


def test_messages_do_not_reach_another_units_instances(world: World) -> None:
    client = world.app.test_client()
    for path, body in (("/api/v1/messages", {"name": MESSAGE_NAME, "correlationKey": "{ref}"}),
                       ("/engine-rest/message", {"messageName": MESSAGE_NAME, "correlationKeys": {
                           "maHoSo": {"value": "{ref}", "type": "String"}}})):  # fmt: skip
        ref = world.message_ref()
        client.post(path, headers=OTHER_ADMIN, json=fill(body, {"ref": ref}))
        waiting = world.read(select(ProcessInstance.id).where(ProcessInstance.business_key.is_(None)).join(
            ProcessDefinition).where(ProcessDefinition.key == MESSAGE_KEY).order_by(ProcessInstance.id.desc()).limit(1))
        reached = world.read(select(TaskRow.id).where(TaskRow.instance_id == waiting))
        assert reached is None, f"{path} reached the demo unit's instance {waiting}"


def whole_inbox(client: Any) -> str:
    """Every page of the inbox's claimable list, one after the other (the list is paged)."""
    page = text = client.get("/").get_data(as_text=True)
    while (following := re.search(r'<a href="([^"]*claimable_after=[^"]*)" rel="next">', page)) is not None:
        page = client.get(html.unescape(following.group(1))).get_data(as_text=True)
        text += page
    return str(text)


def test_the_inbox_does_not_offer_another_units_claimable_tasks(world: World) -> None:
    task_id = world.open_task()  # offered to the demo unit's ISO secretaries; the other's member is one in their unit
    page = whole_inbox(world.client("thuky_bmt"))
    assert f"/tasks/{task_id}" not in page
    listed = world.app.test_client().get("/api/v1/tasks", headers=OTHER_ADMIN).json
    assert task_id not in {t["id"] for t in listed["mine"] + listed["claimable"]}
    assert f"/tasks/{task_id}" in whole_inbox(world.client("thuky"))


def test_tasks_are_not_assigned_to_another_units_people(world: World) -> None:
    client = world.app.test_client()
    started = client.post(f"/api/v1/process-definitions/{ASSIGN_KEY}/start", headers=basic("quantri"),
                          json={"unit_id": world.ids["unit"], "variables": {"nguoiXuLy": "thuky_bmt"}})  # fmt: skip
    [assigned] = started.json["tasks"]
    assert assigned["assignee"] != "thuky_bmt"
    mine = client.get("/api/v1/tasks", headers=OTHER_ADMIN).json
    assert assigned["id"] not in {t["id"] for t in mine["mine"] + mine["claimable"]}
    assert client.get(f"/api/v1/tasks/{assigned['id']}", headers=OTHER_ADMIN).status_code == 404


@pytest.mark.parametrize("username", ["quantri", "thuky_bmt"])
def test_a_units_admin_cannot_edit_the_province_calendar(world: World, username: str) -> None:
    entry = world.calendar_entry(province=True)
    before = world.snapshot()
    admin = world.client(username)
    day = {"day": "2032-02-02", "scope": "province", "kind": "off", "note": "Nghỉ"}
    assert admin.post("/admin/calendar", data=day).status_code == 403
    assert admin.post(f"/admin/calendar/{entry}/delete").status_code == 403
    assert world.snapshot() == before
    assert world.client("admin").post(f"/admin/calendar/{entry}/delete").status_code == 302  # province_admin


def test_another_units_library_drafts_and_diagram_files_are_hidden(world: World) -> None:
    other = world.client("thuky_bmt")
    assert f'data-key="{OWN_KEY}"' not in other.get("/definitions").get_data(as_text=True)
    for path in (f"/definitions/{OWN_KEY}", f"/definitions/{OWN_KEY}?version=3",
                 f"/definitions/{OWN_KEY}/versions/3/diff",
                 f"/definitions/{OWN_KEY}/versions/2/files/{world.ids['own_bpmn_file']}"):  # fmt: skip
        assert other.get(path).status_code == 404, path


def test_another_units_processes_are_not_offered(world: World) -> None:
    listed = world.app.test_client().get("/api/v1/process-definitions", headers=OTHER_ADMIN).json
    assert OWN_KEY not in {d["key"] for d in listed} and SHARED_KEY in {d["key"] for d in listed}
    assert OWN_KEY in {d["key"] for d in world.app.test_client().get("/api/v1/process-definitions",
                                                                    headers=basic("thuky")).json}  # fmt: skip
    assert f"/processes/{OWN_KEY}/" not in world.client("thuky_bmt").get("/processes").get_data(as_text=True)
    assert f"/processes/{OWN_KEY}/" in world.client("thuky").get("/processes").get_data(as_text=True)


def test_camunda_clients_do_not_see_another_units_definitions_or_deployments(world: World) -> None:
    client = world.app.test_client()
    definitions = client.get(f"/engine-rest/process-definition?key={OWN_KEY}", headers=OTHER_ADMIN).json
    count = client.get(f"/engine-rest/process-definition/count?key={OWN_KEY}", headers=OTHER_ADMIN).json
    deployments = client.get("/engine-rest/deployment", headers=OTHER_ADMIN).json
    assert definitions == [] and count == {"count": 0}
    assert str(world.ids["own_deployment"]) not in {d["id"] for d in deployments}


def test_the_portal_shows_only_active_published_procedures(world: World) -> None:
    anyone = world.app.test_client()
    diagram = anyone.get(f"/units/{world.ids['unit_code']}/processes/{OWN_KEY}/diagram").get_data(as_text=True)
    assert "(bản 2)" in diagram and "(bản 3)" not in diagram  # the active version, never the draft
    listed = anyone.get(f"/units/{world.ids['other_code']}/processes").get_data(as_text=True)
    assert OWN_KEY not in listed
    assert anyone.get(f"/units/{world.ids['other_code']}/processes/{OWN_KEY}").status_code == 404
    assert anyone.get(f"/units/{world.ids['unit_code']}/processes/{OTHER_KEY}").status_code == 404


# --- the same walk on PostgreSQL, for a part of the table ------------------------------------------------------------

POSTGRES_SUBSET = {"inbox.task", "inbox.claim", "inbox.download", "processes.instance", "api.complete", "api.instance",
                   "admin.add_day", "admin.remove_day", "definitions.upload", "jobs_api.complete",
                   "messages_api.publish", "camunda_rest.camunda_processes.instance", "organisation.deactivate",
                   "organisation_api.import_people", "organisation_api.update_unit", "inbox.reassign", "api.delegate",
                   "api.bulk_claim", "api.cancel_substitute"}  # fmt: skip


@pytest.fixture(scope="module")
def pg_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    database = _postgres()
    _truncate(database)
    built = build(tmp_path_factory.mktemp("permissions-pg"), POSTGRES_URL)
    yield built
    built.close()


@pytest.mark.parametrize(("method", "case", "caller"),
                         [p for p in checks() if p.id.rsplit("-", 2)[0].split(":")[0] in POSTGRES_SUBSET])  # fmt: skip
def test_permission_on_postgresql(pg_world: World, method: str, case: Case, caller: str) -> None:
    test_permission(pg_world, method, case, caller)
