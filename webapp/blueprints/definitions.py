"""The process library: every deployed process by owning unit, its versions with their status, files,
diagram and differences, uploads (drafts under change control, documentation diagrams), and moving
running instances between versions."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from engine import (
    DefinitionNotFound,
    DeployedFile,
    DeploymentRejected,
    DeploymentResult,
    EngineError,
    InstanceNotFound,
    ProcessInstance,
    SourceFile,
    expand_upload,
    instance_moves,
    queries,
    versions,
)

from ..auth import login_required
from ..downloads import as_attachment, safe_filename
from ..errors import translated
from ..extensions import deployer, now, sa_session
from ..i18n import say

bp = Blueprint("definitions", __name__)

VIEWER_SCRIPT = "vendor/bpmn-js/bpmn-navigated-viewer.production.min.js"
CONTENT_TYPES = {"bpmn": "application/xml", "dmn": "application/xml", "form": "application/json"}


@bp.app_template_filter("engine_message")
def engine_message(error: EngineError) -> str:
    """An engine error's sentence in the reader's language."""
    return translated(error)


@bp.get("/definitions")
@login_required
def index() -> Any:
    groups = queries.library_groups(sa_session(), g.user)
    return render_template("definitions/index.html", groups=groups, may_deploy=_may_deploy_somewhere())


@bp.get("/definitions/<key>")
@login_required
def process(key: str) -> Any:
    instance = _instance_to_overlay(key)
    wanted = request.args.get("version", type=int) or (instance.definition.version if instance else None)
    all_versions = queries.definition_versions(sa_session(), key, g.user)
    if not all_versions:
        raise DefinitionNotFound(key)
    selected = next((v for v in all_versions if v.definition.version == wanted), None) if wanted else all_versions[0]
    if selected is None:
        abort(404, _("Version %(version)s of this process does not exist.", version=wanted))
    definitions = [v.definition for v in all_versions]
    return render_template(
        "definitions/process.html",
        versions=all_versions,
        selected=selected.definition,
        forms=queries.forms_used(sa_session(), definitions),
        reviews=versions.reviews_for(sa_session(), [d.id for d in definitions]),
        base=versions.comparison_base(sa_session(), selected.definition),
        instance=instance,
        element_states=queries.element_states(sa_session(), instance.id) if instance else {},
        viewer_available=viewer_available(),
        may_deploy=_may_deploy_somewhere(),
        is_owner=versions.may_deploy(sa_session(), g.user, selected.definition.unit_id),
        may_migrate=instance_moves.may_migrate(sa_session(), g.user, selected.definition),
    )


@bp.get("/definitions/<key>/versions/<int:version>/diff")
@login_required
def diff(key: str, version: int) -> Any:
    compared = versions.comparison(sa_session(), key, version, request.args.get("against", type=int), viewer=g.user)
    return render_template("definitions/diff.html", compared=compared, viewer_available=viewer_available())


@bp.get("/definitions/<key>/versions/<int:version>/files/<int:file_id>")
@login_required
def download(key: str, version: int, file_id: int) -> Any:
    found = queries.definition_file(sa_session(), key, version, file_id, g.user)
    if found is None:
        abort(404, _("This version of the process has no such file."))
    return send_model_file(found)


def send_model_file(found: DeployedFile) -> Any:
    response = send_file(
        io.BytesIO(found.content),
        mimetype=CONTENT_TYPES.get(found.kind, "application/octet-stream"),
        as_attachment=True,
        download_name=safe_filename(found.filename),
        etag=found.content_hash,
    )
    return as_attachment(response, found.filename)


@bp.route("/definitions/upload", methods=["GET", "POST"])
@login_required
def upload() -> Any:
    targets = versions.deploy_targets(sa_session(), g.user)
    if not targets:
        abort(403, _("Only administrators and ISO secretaries may deploy processes."))
    if request.method == "GET":
        return _upload_page(targets)
    unit_id = request.form.get("unit_id", type=int)
    if not versions.may_deploy(sa_session(), g.user, unit_id):
        abort(403, _("You may not deploy processes for this unit."))
    try:
        result = deployer().deploy(
            _uploaded_files(), actor=g.user, now=now(), source="upload", unit_id=unit_id,
            as_documentation=request.form.get("as_documentation") == "1",
            change_summary=request.form.get("change_summary", ""),
        )  # fmt: skip
    except DeploymentRejected as exc:
        return _upload_page(targets, exc), 422
    _flash_result(result)
    return redirect(_landing(result))


def _upload_page(targets: list[Any], refused: DeploymentRejected | None = None) -> str:
    return render_template("definitions/upload.html", targets=targets, problems=refused.problems if refused else [],
                           chosen=request.form.get("unit_id", ""), summary=request.form.get("change_summary", ""),
                           documentation=request.form.get("as_documentation") == "1")  # fmt: skip


@bp.get("/definitions/<key>/migrations")
@login_required
def migrations(key: str) -> Any:
    current = _require_migrator(key)
    session = sa_session()
    recent = instance_moves.recent_migrations(session, key, g.user)
    revertible = {m.id: instance_moves.revertible(session, m) for m in recent}
    overview = instance_moves.overview(session, key, g.user)
    return render_template("definitions/migrations.html", current=current, overview=overview, recent=recent,
                           revertible=revertible)  # fmt: skip


@bp.post("/definitions/<key>/migrations")
@login_required
def migrate(key: str) -> Any:
    _require_migrator(key)
    chosen = request.form.getlist("instance", type=int)
    outcomes = instance_moves.migrate_many(sa_session(), chosen, actor=g.user, now=now())
    for outcome in outcomes:
        if outcome.error is None:
            flash(_("Process #%(id)s now runs on the active version.", id=outcome.instance_id), "success")
        else:
            flash(_("Process #%(id)s was not moved: %(reason)s", id=outcome.instance_id,
                    reason=translated(outcome.error)), "error")  # fmt: skip
    if not outcomes:
        flash(_("Choose the processes to move."), "info")
    return redirect(url_for("definitions.migrations", key=key))


@bp.post("/definitions/<key>/migrations/<int:migration_id>/revert")
@login_required
def revert(key: str, migration_id: int) -> Any:
    _require_migrator(key)
    moved_back = instance_moves.revert(sa_session(), migration_id, actor=g.user, now=now())
    flash(_("Process #%(id)s is back on its previous version.", id=moved_back.instance_id), "success")
    return redirect(url_for("definitions.migrations", key=key))


def _require_migrator(key: str) -> Any:
    """The process's current version, when the user may move its instances between versions."""
    all_versions = queries.definition_versions(sa_session(), key, g.user)
    if not all_versions:
        raise DefinitionNotFound(key)
    current = next((v.definition for v in all_versions if v.definition.status == "active"), all_versions[0].definition)
    if not instance_moves.may_migrate(sa_session(), g.user, current):
        abort(403, _("Only an administrator of the process's unit may move its instances between versions."))
    return current


def _may_deploy_somewhere() -> bool:
    return bool(versions.deploy_targets(sa_session(), g.user))


def viewer_available() -> bool:
    """bpmn-js is copied from npm by scripts/setup; without it the page says so instead of drawing."""
    return Path(current_app.static_folder or "", VIEWER_SCRIPT).is_file()


def _instance_to_overlay(key: str) -> ProcessInstance | None:
    """The instance named by ``?instance=``, if any: it must run this process and the user must see it."""
    instance_id = request.args.get("instance", type=int)
    if instance_id is None:
        return None
    found = sa_session().get(ProcessInstance, instance_id)
    if found is None or found.definition.key != key:
        raise InstanceNotFound(instance_id)
    if not queries.may_view_instance(sa_session(), g.user, found):
        abort(403, _("This process belongs to a unit you are not a member of."))
    return found


def _uploaded_files() -> list[SourceFile]:
    uploads = [f for f in request.files.getlist("files") if f.filename]
    return [source for f in uploads for source in expand_upload(f.filename or "", f.read())]


def _flash_result(result: DeploymentResult) -> None:
    live = [d for d in result.definitions if d.status == "active"]
    drafts = [d for d in result.definitions if d.status == "draft"]
    if live:
        listed = ", ".join(f"{d.name} (v{d.version})" for d in live)
        flash(_("Deployed: %(list)s.", list=listed), "success")
    if drafts:
        listed = ", ".join(f"{d.name} (v{d.version})" for d in drafts)
        flash(_("Draft submitted to the unit leader for approval: %(list)s.", list=listed), "success")
    if result.unchanged:
        listed = ", ".join(f"{d.name} (v{d.version})" for d in result.unchanged)
        flash(_("Unchanged, already deployed: %(list)s.", list=listed), "info")
    if result.forms:
        listed = ", ".join(f"{f.form_key} (v{f.version})" for f in result.forms)
        flash(_("Forms deployed: %(list)s.", list=listed), "success")
    for warning in result.warnings:
        where = f"{warning.file} [{warning.element_id}]" if warning.element_id else warning.file
        flash(_("Warning: %(where)s: %(message)s", where=where, message=say(warning.text)), "warning")


def _landing(result: DeploymentResult) -> str:
    shown = result.definitions + result.unchanged
    if not shown:
        return url_for("definitions.index")
    return url_for("definitions.process", key=shown[0].key, version=shown[0].version)
