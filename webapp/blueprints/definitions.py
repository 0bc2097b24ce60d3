"""The process library: every deployed process, its versions, files and diagram, and uploads by administrators."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from engine import Deployer, DeploymentResult, SourceFile, queries
from engine.deployment import expand_upload
from engine.errors import DefinitionNotFound, DeploymentRejected, InstanceNotFound
from engine.models import ProcessInstance

from .. import now
from ..auth import login_required
from ..extensions import sa_session

bp = Blueprint("definitions", __name__)

VIEWER_SCRIPT = "vendor/bpmn-js/bpmn-navigated-viewer.production.min.js"
CONTENT_TYPES = {"bpmn": "application/xml", "dmn": "application/xml", "form": "application/json"}


@bp.get("/definitions")
@login_required
def index() -> Any:
    summaries = queries.definition_summaries(sa_session())
    return render_template("definitions/index.html", summaries=summaries, may_deploy=_may_deploy())


@bp.get("/definitions/<key>")
@login_required
def process(key: str) -> Any:
    instance = _instance_to_overlay(key)
    wanted = request.args.get("version", type=int) or (instance.definition.version if instance else None)
    versions = queries.definition_versions(sa_session(), key)
    if not versions:
        raise DefinitionNotFound(key)
    selected = next((v for v in versions if v.definition.version == wanted), None) if wanted else versions[0]
    if selected is None:
        abort(404, _("Version %(version)s of this process does not exist.", version=wanted))
    return render_template(
        "definitions/process.html",
        versions=versions,
        selected=selected.definition,
        forms=queries.forms_used(sa_session(), [v.definition for v in versions]),
        instance=instance,
        element_states=queries.element_states(sa_session(), instance.id) if instance else {},
        viewer_available=_viewer_available(),
        may_deploy=_may_deploy(),
    )


@bp.get("/definitions/<key>/versions/<int:version>/files/<int:file_id>")
@login_required
def download(key: str, version: int, file_id: int) -> Any:
    found = queries.definition_file(sa_session(), key, version, file_id)
    if found is None:
        abort(404, _("This version of the process has no such file."))
    response = send_file(
        io.BytesIO(found.content),
        mimetype=CONTENT_TYPES.get(found.kind, "application/octet-stream"),
        as_attachment=True,
        download_name=found.filename,
        etag=found.content_hash,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"  # uploaded content is never rendered as a page
    return response


@bp.route("/definitions/upload", methods=["GET", "POST"])
@login_required
def upload() -> Any:
    if not _may_deploy():
        abort(403, _("Only administrators may deploy processes."))
    if request.method == "GET":
        return render_template("definitions/upload.html", problems=[])
    try:
        result = Deployer(sa_session()).deploy(_uploaded_files(), actor=g.user, now=now(), source="upload")
    except DeploymentRejected as exc:
        return render_template("definitions/upload.html", problems=exc.problems), 422
    _flash_result(result)
    return redirect(_landing(result))


def _may_deploy() -> bool:
    return queries.is_admin(sa_session(), g.user)


def _viewer_available() -> bool:
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
    if result.definitions:
        listed = ", ".join(f"{d.name} (v{d.version})" for d in result.definitions)
        flash(_("Deployed: %(list)s.", list=listed), "success")
    if result.unchanged:
        listed = ", ".join(f"{d.name} (v{d.version})" for d in result.unchanged)
        flash(_("Unchanged, already deployed: %(list)s.", list=listed), "info")
    if result.forms:
        listed = ", ".join(f"{f.form_key} (v{f.version})" for f in result.forms)
        flash(_("Forms deployed: %(list)s.", list=listed), "success")
    for warning in result.warnings:
        where = f"{warning.file} [{warning.element_id}]" if warning.element_id else warning.file
        flash(_("Warning: %(where)s: %(message)s", where=where, message=warning.message), "warning")


def _landing(result: DeploymentResult) -> str:
    shown = result.definitions + result.unchanged
    if not shown:
        return url_for("definitions.index")
    return url_for("definitions.process", key=shown[0].key, version=shown[0].version)
