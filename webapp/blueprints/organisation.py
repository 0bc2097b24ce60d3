"""Organisation pages: units, their departments and people, roles, leavers, the import of a sheet of people,
and the audit log. For a unit's administrators (their unit) and system administrators (every unit); the
engine (``engine.admin``) checks who may do what, these pages only ask and show."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import (
    DEPARTMENT_ROLES,
    PROVINCES,
    ROLES,
    Conflict,
    Department,
    ImportRefused,
    InvalidFields,
    admin,
    people_import,
)

from ..auth import login_required
from ..downloads import as_attachment
from ..errors import N_, translated
from ..extensions import now, sa_session
from ..ids import as_id

bp = Blueprint("organisation", __name__, url_prefix="/organisation")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ACTIONS = {
    "unit.created": N_("Unit created"), "unit.updated": N_("Unit changed"),
    "department.created": N_("Department created"), "department.updated": N_("Department changed"),
    "department.deleted": N_("Department deleted"), "person.created": N_("Person added"),
    "person.updated": N_("Person's details changed"), "person.moved": N_("Person moved to another department"),
    "person.roles": N_("Roles changed"), "person.password_set": N_("Password set by an administrator"),
    "person.deactivated": N_("Account deactivated"), "person.reactivated": N_("Account activated again"),
    "people.imported": N_("People imported from a sheet"),
    "person.created_by_sign_on": N_("Person added at their first single sign-on"),
    "token.issued": N_("API token made"), "token.revoked": N_("API token revoked"),
}  # fmt: skip
FIELDS = {
    "code": N_("Code"), "name": N_("Name"), "short_name": N_("Short name"), "electronic_code": N_("Electronic code"),
    "province": N_("Province"), "quality_policy": N_("Quality policy"), "username": N_("User name"),
    "full_name": N_("Full name"), "title": N_("Title"), "email": N_("E-mail"), "department": N_("Department"),
    "roles": N_("Roles"), "active": N_("Active"), "system_roles": N_("Roles above the units"),
}  # fmt: skip


def action_name(action: str) -> str:
    """An audit entry's action as a reader says it; an action of a later kind of change as it is written."""
    return _(ACTIONS[action]) if action in ACTIONS else action


def field_name(name: str) -> str:
    return _(FIELDS[name]) if name in FIELDS else name


def audit_value(value: Any) -> str:
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    text = str(value)
    return text if len(text) <= 120 else text[:119] + "…"


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"action_name": action_name, "field_name": field_name, "audit_value": audit_value}


def field_errors(error: InvalidFields) -> dict[str, str]:
    """Each wrong field's problem in the reader's language."""
    return {p.field: _(p.template, **p.params) if p.params else _(p.template) for p in error.problems}


def _form(*names: str) -> dict[str, Any]:
    """The named fields of the posted form (only these: the engine refuses fields it does not know)."""
    return {name: request.form.get(name, "") for name in names if name in request.form}


def _secret(page: str) -> Response:
    """A page that shows a password: never kept by the browser's or a proxy's cache."""
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused() -> None:
    flash(_("Some fields are not right; correct the ones marked below. Nothing was changed."), "error")


# --- units ---------------------------------------------------------------------------------------------------------


@bp.get("")
@login_required
def index() -> Any:
    units = admin.administered_units(sa_session(), g.user)
    system = admin.is_system_admin(sa_session(), g.user)
    if not units and not system:
        abort(403, _("Only administrators manage the organisation."))
    return render_template("organisation/index.html", units=units, system=system, provinces=PROVINCES)


@bp.route("/units/new", methods=["GET", "POST"])
@login_required
def new_unit() -> Any:
    if not admin.is_system_admin(sa_session(), g.user):
        abort(403, _("Only system administrators may create units."))
    values, errors, status = {"province": ""}, {}, 200
    if request.method == "POST":
        values = _form(*admin.UNIT_FIELDS)
        try:
            unit = admin.create_unit(sa_session(), values, actor=g.user, now=now())
        except InvalidFields as error:
            _refused()
            errors, status = field_errors(error), 422
        else:
            flash(_("Unit %(name)s created. Add its departments and its administrator now.", name=unit.name),
                  "success")  # fmt: skip
            return redirect(url_for("organisation.unit", unit_id=unit.id))
    return render_template("organisation/unit_new.html", values=values, errors=errors, provinces=PROVINCES), status


def _unit_page(unit_id: int, *, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
               department_values: dict[str, Any] | None = None, department_errors: dict[str, str] | None = None,
               status: int = 200) -> Any:  # fmt: skip
    unit = admin.administered_unit(sa_session(), g.user, unit_id)
    departments = admin.departments_of(sa_session(), unit_id, actor=g.user)
    people = admin.people_of(sa_session(), unit_id, actor=g.user)
    staff = {d.id: sum(1 for p in people if p.department_id == d.id and p.is_active) for d in departments}
    shown = values if values is not None else {name: getattr(unit, name) or "" for name in admin.UNIT_FIELDS}
    return render_template("organisation/unit.html", unit=unit, departments=departments, staff=staff,
                           people_count=sum(1 for p in people if p.is_active), values=shown, errors=errors or {},
                           department_values=department_values or {}, department_errors=department_errors or {},
                           provinces=PROVINCES, system=admin.is_system_admin(sa_session(), g.user)), status  # fmt: skip


@bp.get("/units/<int:unit_id>")
@login_required
def unit(unit_id: int) -> Any:
    return _unit_page(unit_id)


@bp.post("/units/<int:unit_id>")
@login_required
def update_unit(unit_id: int) -> Any:
    values = _form(*admin.UNIT_FIELDS)
    try:
        admin.update_unit(sa_session(), unit_id, values, actor=g.user, now=now())
    except InvalidFields as error:
        _refused()
        return _unit_page(unit_id, values=values, errors=field_errors(error), status=422)
    flash(_("The unit's details are saved."), "success")
    return redirect(url_for("organisation.unit", unit_id=unit_id))


# --- departments ---------------------------------------------------------------------------------------------------


@bp.post("/units/<int:unit_id>/departments")
@login_required
def add_department(unit_id: int) -> Any:
    values = _form("code", "name")
    try:
        department = admin.create_department(sa_session(), unit_id, values, actor=g.user, now=now())
    except InvalidFields as error:
        _refused()
        return _unit_page(unit_id, department_values=values, department_errors=field_errors(error), status=422)
    flash(_("Department %(name)s created.", name=department.name), "success")
    return redirect(url_for("organisation.unit", unit_id=unit_id) + "#departments")


@bp.post("/departments/<int:department_id>")
@login_required
def update_department(department_id: int) -> Any:
    department = admin.managed_department(sa_session(), g.user, department_id)
    unit_id = department.unit_id
    try:
        changed = admin.update_department(sa_session(), department_id, _form("name", "active"), actor=g.user,
                                          now=now())  # fmt: skip
    except InvalidFields as error:
        flash(" ".join(field_errors(error).values()), "error")
        return _unit_page(unit_id, status=422)
    except Conflict as refused:  # people still work there: said on the unit's page, which lists them
        flash(translated(refused), "error")
        return _unit_page(unit_id, status=409)
    flash(_("Department %(name)s saved.", name=changed.name), "success")
    return redirect(url_for("organisation.unit", unit_id=unit_id) + "#departments")


@bp.post("/departments/<int:department_id>/delete")
@login_required
def delete_department(department_id: int) -> Any:
    department = admin.managed_department(sa_session(), g.user, department_id)
    unit_id, name = department.unit_id, department.name
    try:
        admin.delete_department(sa_session(), department_id, actor=g.user, now=now())
    except Conflict as refused:
        flash(translated(refused), "error")
        return _unit_page(unit_id, status=409)
    flash(_("Department %(name)s deleted.", name=name), "success")
    return redirect(url_for("organisation.unit", unit_id=unit_id) + "#departments")


# --- people --------------------------------------------------------------------------------------------------------


@bp.get("/units/<int:unit_id>/people")
@login_required
def people(unit_id: int) -> Any:
    unit = admin.administered_unit(sa_session(), g.user, unit_id)
    found = admin.people_of(sa_session(), unit_id, actor=g.user)
    return render_template("organisation/people.html", unit=unit, people=found,
                           roles=admin.role_codes(sa_session(), unit_id, [p.id for p in found]))  # fmt: skip


def _open_departments(unit_id: int) -> list[Department]:
    return [d for d in admin.departments_of(sa_session(), unit_id, actor=g.user) if d.is_active]


@bp.route("/units/<int:unit_id>/people/new", methods=["GET", "POST"])
@login_required
def new_person(unit_id: int) -> Any:
    unit = admin.administered_unit(sa_session(), g.user, unit_id)
    values: dict[str, Any] = {"roles": []}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {**_form("username", "full_name", "title", "email", "department", "password"),
                  "roles": request.form.getlist("roles")}  # fmt: skip
        try:
            person, password = admin.create_person(sa_session(), unit_id, values, actor=g.user, now=now())
        except InvalidFields as error:
            _refused()
            errors, status = field_errors(error), 422
        else:
            if password:
                return _secret(render_template("organisation/password_given.html", person=person, password=password,
                                               created=True))  # fmt: skip
            flash(_("%(name)s can log in now with the password you gave; they choose their own at the first log-in.",
                    name=person.full_name), "success")  # fmt: skip
            return redirect(url_for("organisation.person", person_id=person.id))
    return render_template("organisation/person_new.html", unit=unit, values=values, errors=errors,
                           departments=_open_departments(unit_id), roles=ROLES,
                           department_roles=DEPARTMENT_ROLES), status  # fmt: skip


def _person_page(person_id: int, *, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                 status: int = 200) -> Any:  # fmt: skip
    person = admin.managed_person(sa_session(), g.user, person_id)
    departments = _open_departments(person.unit_id) if person.unit_id is not None else []
    held = admin.role_codes(sa_session(), person.unit_id, [person.id]).get(person.id, []) if person.unit_id else []
    shown = values if values is not None else {"full_name": person.full_name, "title": person.title,
                                               "email": person.email,
                                               "department": person.department.code if person.department else ""}
    return render_template("organisation/person.html", person=person, values=shown, errors=errors or {},
                           departments=departments, held=held, roles=ROLES), status  # fmt: skip


@bp.get("/people/<int:person_id>")
@login_required
def person(person_id: int) -> Any:
    return _person_page(person_id)


@bp.post("/people/<int:person_id>")
@login_required
def update_person(person_id: int) -> Any:
    values = _form("full_name", "title", "email", "department")
    try:
        admin.update_person(sa_session(), person_id, values, actor=g.user, now=now())
    except InvalidFields as error:
        _refused()
        return _person_page(person_id, values=values, errors=field_errors(error), status=422)
    flash(_("Saved."), "success")
    return redirect(url_for("organisation.person", person_id=person_id))


@bp.post("/people/<int:person_id>/roles")
@login_required
def set_roles(person_id: int) -> Any:
    roles = request.form.getlist("roles")
    added = request.form.get("add_role", "")
    if added:
        department = request.form.get("add_department", "")
        roles.append(f"{added}:{department}" if department else added)
    try:
        admin.set_roles(sa_session(), person_id, roles, actor=g.user, now=now())
    except InvalidFields as error:
        flash(" ".join(field_errors(error).values()), "error")
        return _person_page(person_id, status=422)
    flash(_("Roles saved: new tasks reach the person by these roles."), "success")
    return redirect(url_for("organisation.person", person_id=person_id) + "#roles")


@bp.post("/people/<int:person_id>/password")
@login_required
def set_password(person_id: int) -> Any:
    try:
        generated = admin.set_password(sa_session(), person_id, request.form.get("password", ""), actor=g.user,
                                       now=now())  # fmt: skip
    except InvalidFields as error:
        flash(" ".join(field_errors(error).values()), "error")
        return _person_page(person_id, status=422)
    person = admin.managed_person(sa_session(), g.user, person_id)
    if generated:
        return _secret(render_template("organisation/password_given.html", person=person, password=generated,
                                       created=False))  # fmt: skip
    flash(_("New password set; %(name)s was logged out everywhere and chooses their own at the next log-in.",
            name=person.full_name), "success")  # fmt: skip
    return redirect(url_for("organisation.person", person_id=person_id))


@bp.post("/people/<int:person_id>/deactivate")
@login_required
def deactivate(person_id: int) -> Any:
    result = admin.deactivate_person(sa_session(), person_id, actor=g.user, now=now())
    flash(_("%(name)s's account is deactivated: they cannot log in any more.", name=result.person.full_name),
          "success")  # fmt: skip
    if result.returned:
        flash(_("%(count)s open task(s) went back to their pool: %(tasks)s. Told: %(people)s.",
                count=len(result.returned), tasks=", ".join(t.name for t in result.returned),
                people=", ".join(result.notified) or "—"), "info")  # fmt: skip
    return redirect(url_for("organisation.person", person_id=person_id))


@bp.post("/people/<int:person_id>/reactivate")
@login_required
def reactivate(person_id: int) -> Any:
    person = admin.reactivate_person(sa_session(), person_id, actor=g.user, now=now())
    flash(_("%(name)s's account is active again; their roles are as they were.", name=person.full_name), "success")
    return redirect(url_for("organisation.person", person_id=person_id))


# --- import --------------------------------------------------------------------------------------------------------


@bp.route("/units/<int:unit_id>/import", methods=["GET", "POST"])
@login_required
def import_people(unit_id: int) -> Any:
    unit = admin.administered_unit(sa_session(), g.user, unit_id)
    page = {"unit": unit, "columns": people_import.COLUMNS, "departments": _open_departments(unit_id),
            "roles": ROLES, "max_rows": people_import.MAX_ROWS,
            "headings": {c.key: c.heading for c in people_import.COLUMNS}}  # fmt: skip
    if request.method == "GET":
        return render_template("organisation/import.html", **page)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose the sheet to import (.xlsx or .csv)."), "error")
        return render_template("organisation/import.html", **page), 400
    content, filename = upload.read(), upload.filename
    try:
        if request.form.get("action") == "import":
            report = people_import.import_people(sa_session(), unit_id, filename, content, actor=g.user, now=now())
        else:
            report = people_import.check_import(sa_session(), unit_id, filename, content, actor=g.user)
    except ImportRefused as refused:
        return render_template("organisation/import.html", report=refused.report, **page), 422
    return _secret(render_template("organisation/import.html", report=report, **page))


@bp.get("/units/<int:unit_id>/import/template.xlsx")
@login_required
def import_template(unit_id: int) -> Any:
    content = people_import.template_xlsx(sa_session(), unit_id, actor=g.user)
    unit = admin.administered_unit(sa_session(), g.user, unit_id)
    return as_attachment(Response(content, mimetype=XLSX), f"mau-nhap-nhan-su-{unit.code}.xlsx")


# --- the audit log -------------------------------------------------------------------------------------------------


@bp.get("/audit")
@login_required
def audit() -> Any:
    unit_id = as_id(request.args.get("unit", "")) if request.args.get("unit") else None
    if request.args.get("unit") and unit_id is None:
        abort(404)
    before = as_id(request.args.get("before", "")) if request.args.get("before") else None
    entries = admin.audit_log(sa_session(), actor=g.user, unit_id=unit_id, limit=100, before_id=before)
    units = admin.administered_units(sa_session(), g.user)
    return render_template("organisation/audit.html", entries=entries, units=units, unit_id=unit_id,
                           unit_names={u.id: u.name for u in units},
                           older=entries[-1].id if len(entries) == 100 else None)  # fmt: skip
