"""The organisation under /api/v1 (HTTP Basic): units, departments, people, roles, leavers, the import of a
sheet, and the audit log. The same engine calls as the pages (``engine.admin``), which check the rights."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, request

from engine import (
    PROVINCES,
    AuditEntry,
    Department,
    Unit,
    User,
    admin,
    people_import,
    province_name,
)

from ..downloads import as_attachment
from ..extensions import now, sa_session
from ..ids import as_id, id_field
from ..json_body import json_object
from .api import basic_auth
from .organisation import XLSX

bp = Blueprint("organisation_api", __name__, url_prefix="/api/v1")


def _unit(u: Unit) -> dict[str, Any]:
    return {"id": u.id, "code": u.code, "name": u.name, "short_name": u.short_name,
            "electronic_code": u.electronic_code, "province": u.province or None,
            "province_name": province_name(u.province) or None, "quality_policy": u.quality_policy}  # fmt: skip


def _department(d: Department, people: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": d.id, "unit_id": d.unit_id, "code": d.code, "name": d.name, "active": d.is_active}
    if people is not None:
        out["people"] = people
    return out


def _person(p: User, roles: list[str] | None = None) -> dict[str, Any]:
    if roles is None:
        roles = admin.role_codes(sa_session(), p.unit_id, [p.id]).get(p.id, []) if p.unit_id else []
    return {"id": p.id, "username": p.username, "full_name": p.full_name, "title": p.title, "email": p.email,
            "unit_id": p.unit_id, "department": p.department.code if p.department else None, "roles": roles,
            "active": p.is_active, "must_change_password": p.must_change_password}  # fmt: skip


def _entry(e: AuditEntry) -> dict[str, Any]:
    return {"id": e.id, "at": e.at.isoformat(), "actor": e.actor.username if e.actor else None,
            "actor_name": e.actor_name, "unit_id": e.unit_id, "action": e.action,
            "subject": {"kind": e.subject_kind, "id": e.subject_id, "name": e.subject_name},
            "changes": e.changes, "details": e.details}  # fmt: skip


# --- units and departments -----------------------------------------------------------------------------------------


@bp.get("/units")
@basic_auth
def units() -> Any:
    """The units the caller administers (every unit for a system administrator)."""
    return jsonify([_unit(u) for u in admin.administered_units(sa_session(), g.user)])


@bp.post("/units")
@basic_auth
def create_unit() -> Any:
    created = admin.create_unit(sa_session(), json_object(required=True), actor=g.user, now=now())
    return jsonify(_unit(created)), 201


@bp.get("/units/<int:unit_id>")
@basic_auth
def unit(unit_id: int) -> Any:
    found = admin.administered_unit(sa_session(), g.user, unit_id)
    return jsonify(_unit(found))


@bp.patch("/units/<int:unit_id>")
@basic_auth
def update_unit(unit_id: int) -> Any:
    changed = admin.update_unit(sa_session(), unit_id, json_object(required=True), actor=g.user, now=now())
    return jsonify(_unit(changed))


@bp.get("/provinces")
@basic_auth
def provinces() -> Any:
    return jsonify([{"code": code, "name": name} for code, name in PROVINCES.items()])


@bp.get("/units/<int:unit_id>/departments")
@basic_auth
def departments(unit_id: int) -> Any:
    found = admin.departments_of(sa_session(), unit_id, actor=g.user)
    people = admin.people_of(sa_session(), unit_id, actor=g.user)
    counts = {d.id: sum(1 for p in people if p.department_id == d.id and p.is_active) for d in found}
    return jsonify([_department(d, counts[d.id]) for d in found])


@bp.post("/units/<int:unit_id>/departments")
@basic_auth
def create_department(unit_id: int) -> Any:
    created = admin.create_department(sa_session(), unit_id, json_object(required=True), actor=g.user, now=now())
    return jsonify(_department(created)), 201


@bp.patch("/departments/<int:department_id>")
@basic_auth
def update_department(department_id: int) -> Any:
    changed = admin.update_department(sa_session(), department_id, json_object(required=True), actor=g.user,
                                      now=now())  # fmt: skip
    return jsonify(_department(changed))


@bp.delete("/departments/<int:department_id>")
@basic_auth
def delete_department(department_id: int) -> Any:
    admin.delete_department(sa_session(), department_id, actor=g.user, now=now())
    return "", 204


# --- people --------------------------------------------------------------------------------------------------------


@bp.get("/units/<int:unit_id>/people")
@basic_auth
def people(unit_id: int) -> Any:
    found = admin.people_of(sa_session(), unit_id, actor=g.user)
    roles = admin.role_codes(sa_session(), unit_id, [p.id for p in found])
    return jsonify([_person(p, roles.get(p.id, [])) for p in found])


@bp.post("/units/<int:unit_id>/people")
@basic_auth
def create_person(unit_id: int) -> Any:
    person, password = admin.create_person(sa_session(), unit_id, json_object(required=True), actor=g.user,
                                           now=now())  # fmt: skip
    body = _person(person)
    if password:
        body["password"] = password  # generated: given once, here
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@bp.get("/people/<int:person_id>")
@basic_auth
def person(person_id: int) -> Any:
    return jsonify(_person(admin.managed_person(sa_session(), g.user, person_id)))


@bp.patch("/people/<int:person_id>")
@basic_auth
def update_person(person_id: int) -> Any:
    changed = admin.update_person(sa_session(), person_id, json_object(required=True), actor=g.user, now=now())
    return jsonify(_person(changed))


@bp.put("/people/<int:person_id>/roles")
@basic_auth
def set_roles(person_id: int) -> Any:
    body = json_object(required=True)
    unit_id = body.get("unit_id")
    if unit_id is not None and id_field(unit_id) is None:
        abort(400, "'unit_id' must be a unit's id (an integer).")
    roles = admin.set_roles(sa_session(), person_id, body.get("roles"), actor=g.user, now=now(), unit_id=unit_id)
    return jsonify({"person_id": person_id, "roles": roles})


@bp.post("/people/<int:person_id>/password")
@basic_auth
def set_password(person_id: int) -> Any:
    password = json_object().get("password") or ""
    if not isinstance(password, str):
        abort(400, "'password' must be text.")
    generated = admin.set_password(sa_session(), person_id, password, actor=g.user, now=now())
    response = jsonify({"person_id": person_id, **({"password": generated} if generated else {})})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/people/<int:person_id>/deactivate")
@basic_auth
def deactivate(person_id: int) -> Any:
    result = admin.deactivate_person(sa_session(), person_id, actor=g.user, now=now())
    return jsonify({**_person(result.person), "notified": result.notified, "tasks_returned": [
        {"id": t.id, "name": t.name, "unit_id": t.unit_id, "instance_id": t.instance_id,
         "fell_to_admins": t.fell_to_admins} for t in result.returned]})  # fmt: skip


@bp.post("/people/<int:person_id>/reactivate")
@basic_auth
def reactivate(person_id: int) -> Any:
    return jsonify(_person(admin.reactivate_person(sa_session(), person_id, actor=g.user, now=now())))


# --- import --------------------------------------------------------------------------------------------------------


def _sheet() -> tuple[str, bytes]:
    """The uploaded sheet: the multipart field ``file``, or the whole body (``?filename=`` names it)."""
    upload = request.files.get("file")
    if upload is not None:
        return upload.filename or "sheet", upload.read()
    if request.mimetype == "multipart/form-data":
        abort(400, "Send the sheet in the multipart field 'file'.")
    content = request.get_data()
    if not content:
        abort(400, "Send the sheet (.xlsx or .csv) as the field 'file' of a multipart body, or as the body itself.")
    default = "sheet.xlsx" if request.mimetype == XLSX or content.startswith(b"PK") else "sheet.csv"
    return request.args.get("filename") or default, content


@bp.post("/units/<int:unit_id>/people/import")
@basic_auth
def import_people(unit_id: int) -> Any:
    admin.administered_unit(sa_session(), g.user, unit_id)  # who may, before reading the sheet
    filename, content = _sheet()
    dry_run = (request.args.get("dry_run") or request.form.get("dry_run") or "") in ("1", "true")
    if dry_run:  # a refused row is answered 422 with the report (webapp/errors.py), and nothing is imported
        report = people_import.check_import(sa_session(), unit_id, filename, content, actor=g.user)
    else:
        report = people_import.import_people(sa_session(), unit_id, filename, content, actor=g.user, now=now())
    response = jsonify(report.as_dict())
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if dry_run else 201


@bp.get("/units/<int:unit_id>/people/import-template")
@basic_auth
def import_template(unit_id: int) -> Any:
    content = people_import.template_xlsx(sa_session(), unit_id, actor=g.user)
    return as_attachment(Response(content, mimetype=XLSX), "mau-nhap-nhan-su.xlsx")


# --- the audit log -------------------------------------------------------------------------------------------------


@bp.get("/audit")
@basic_auth
def audit() -> Any:
    def number(name: str) -> int | None:
        raw = request.args.get(name)
        if raw is None or raw == "":
            return None
        value = as_id(raw)
        if value is None:
            abort(400, f"'{name}' must be a positive whole number.")
        return value

    entries = admin.audit_log(sa_session(), actor=g.user, unit_id=number("unit_id"), limit=number("limit") or 100,
                              before_id=number("before"))  # fmt: skip
    return jsonify([_entry(e) for e in entries])
