"""Versions of a process and their control (TCVN ISO 9001:2015, 7.5.3 control of documented information).

A version deployed for a unit starts as a **draft** and the unit leader reviews it in the library's
``change_control`` process: approving runs ``eiso.activate_version`` (the draft becomes the active
version, the previous one is superseded, the people concerned get a notice), returning runs
``eiso.return_version`` (the draft is marked returned with the reason, the uploader is told). Shared
library versions (no owning unit) and uploads by an administrator of a unit that allows direct
deployment are active at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import EngineError, NotFound, Phrase, Problem
from engine.library.differences import VersionDiff, change_lines, diff_elements, diff_form, summary_rows, with_forms
from engine.library.models import VersionReview
from engine.org.models import RoleAssignment, Unit, User
from engine.org.notices import notify
from engine.org.people import SYSTEM_ADMIN, has_system_role, roles_in_unit
from engine.runtime.engine import Engine
from engine.runtime.handlers import JobContext
from engine.runtime.models import FormDefinition, ProcessDefinition, ProcessInstance, TaskCandidate, TaskRow
from engine.runtime.queries import active_in_line, in_line, may_read_definition
from engine.runtime.timers import schedule_start_timers

CHANGE_CONTROL_KEY = "change_control"
ACTIVATE_JOB = "eiso.activate_version"
RETURN_JOB = "eiso.return_version"
DEPLOYER_ROLES = frozenset({"admin", "iso_secretary"})


# --- who may deploy, and what a new version becomes ---------------------------------------------------


def may_deploy(session: Session, user: User, unit_id: int | None) -> bool:
    """System administrators deploy to the shared library (and may to any unit); a unit's administrators
    and ISO secretaries to their unit. A unit's administrator is not a system administrator."""
    if has_system_role(session, user, SYSTEM_ADMIN):
        return True
    return unit_id is not None and bool(roles_in_unit(session, user, unit_id) & DEPLOYER_ROLES)


def deploy_targets(session: Session, user: User) -> list[Unit | None]:
    """Where the user may deploy: ``None`` (the shared library) first if allowed, then units by name."""
    units = session.scalars(select(Unit).order_by(Unit.name)).all()
    targets: list[Unit | None] = [None] if may_deploy(session, user, None) else []
    return targets + [u for u in units if may_deploy(session, user, u.id)]


def goes_live_at_once(session: Session, actor: User | None, unit: Unit | None) -> bool:
    """Shared-library versions, and a unit administrator's when the unit allows it, skip change control."""
    if unit is None:
        return True
    return unit.allow_direct_deploy and actor is not None and "admin" in roles_in_unit(session, actor, unit.id)


def ownership_problem(
    session: Session, key: str, unit_id: int | None, executable: bool, filename: str
) -> Problem | None:
    """Each owner (a unit, or the shared library) has its own line of versions of a key: a unit's version
    of a shared process is the unit's own and never replaces the shared one for other units. Within a
    line, a documentation diagram does not replace a process that runs."""
    current = _current(session, key, unit_id)
    if current is not None and not executable and current.executable:
        return Problem(filename, Phrase("Process id '%(key)s' is already deployed as an executable process; a "
                                        "documentation diagram cannot replace it. Give the diagram another process id.",
                                        key=key))  # fmt: skip
    return None


def _current(session: Session, key: str, unit_id: int | None) -> ProcessDefinition | None:
    """The active version of a key in one owner's line, or its latest version when none is active."""
    stmt = select(ProcessDefinition).where(ProcessDefinition.key == key, in_line(unit_id))
    order = (ProcessDefinition.status != "active", ProcessDefinition.version.desc())
    return session.scalar(stmt.order_by(*order).limit(1))


def place(session: Session, definition: ProcessDefinition, *, actor: User | None, now: datetime) -> None:
    """Give a newly stored version its status: active at once, or a draft under change control."""
    if goes_live_at_once(session, actor, definition.unit):
        previous = activate(session, definition, now)
        if definition.unit_id is not None:
            notify_activation(session, definition, previous, now, instance_id=None)
        return
    definition.status = "draft"
    request_review(session, definition, actor=actor, now=now)


def activate(session: Session, definition: ProcessDefinition, now: datetime) -> ProcessDefinition | None:
    """Make the version the one people start; returns the version it replaces."""
    previous = active_in_line(session, definition.key, definition.unit_id)
    if previous is not None and previous.version > definition.version:
        definition.status = "superseded"  # a later version went live while this one waited
        return None
    if previous is not None and previous.id != definition.id:
        previous.status = "superseded"
    definition.status = "active"
    session.flush()
    if definition.executable:
        schedule_start_timers(session, definition, now)
    return previous


# --- change control -----------------------------------------------------------------------------------


def request_review(
    session: Session, definition: ProcessDefinition, *, actor: User | None, now: datetime
) -> VersionReview:
    """Start the change-control process for a draft, inside the caller's transaction."""
    engine = Engine(session)
    control = engine.active_definition(CHANGE_CONTROL_KEY, definition.unit_id)
    unit = definition.unit
    if unit is None:
        raise EngineError("Only a unit's own version goes through change control.")
    variables = review_variables(session, definition)
    with engine.command(now=now, actor=actor, commit=False) as command:  # within the deployment's transaction
        instance = command.start(control, unit, actor, business_key=f"{definition.key} v{definition.version}",
                                 variables=variables)  # fmt: skip
    review = VersionReview(definition_id=definition.id, instance_id=instance.id, requested_at=now,
                           requested_by_id=actor.id if actor else None)  # fmt: skip
    session.add(review)
    session.flush()
    return review


def review_variables(session: Session, definition: ProcessDefinition) -> dict[str, Any]:
    """What the leader's review form shows: the version, the uploader's summary and the changes."""
    base = comparison_base(session, definition)
    changes = summary_rows(compare(session, base, definition)) if base is not None else []
    return {
        "definitionId": definition.id,
        "processKey": definition.key,
        "processName": definition.name,
        "version": definition.version,
        "activeVersion": base.version if base is not None else None,
        "documentation": not definition.executable,
        "changeSummary": definition.change_summary or "(không có mô tả)",
        "changes": changes,
        "diffUrl": f"/definitions/{definition.key}/versions/{definition.version}/diff",
    }


def review_of(session: Session, definition_id: int) -> VersionReview | None:
    return session.scalar(select(VersionReview).where(VersionReview.definition_id == definition_id))


def reviews_for(session: Session, definition_ids: list[int]) -> dict[int, VersionReview]:
    stmt = select(VersionReview).where(VersionReview.definition_id.in_(definition_ids))
    return {r.definition_id: r for r in session.scalars(stmt)}


def _reviewed(job: JobContext) -> tuple[ProcessDefinition, VersionReview]:
    definition = job.session.get(ProcessDefinition, int(job.data.get("definitionId") or 0))
    review = review_of(job.session, definition.id) if definition is not None else None
    if definition is None or review is None:
        raise EngineError("This change-control process names no draft version (definitionId).")
    if review.instance_id != job.instance.id:  # only the review started for this draft decides it
        raise EngineError("This process may not decide on version %(version)s of '%(name)s'; only its own "
                          "change-control review does. Nothing was changed.", version=definition.version,
                          name=definition.name)  # fmt: skip
    if definition.status != "draft":
        raise EngineError("Version %(version)s of '%(name)s' is %(status)s, not a draft; nothing was changed.",
                          version=definition.version, name=definition.name, status=definition.status)  # fmt: skip
    return definition, review


def _decide(job: JobContext, review: VersionReview, decision: str, reason: str = "") -> None:
    review.decision, review.reason = decision, reason
    review.decided_by_id = job.actor.id if job.actor else None
    review.decided_at = job.now


def activate_version(job: JobContext) -> dict[str, Any]:
    """The leader approved: the draft becomes the active version and the people concerned are told."""
    definition, review = _reviewed(job)
    _decide(job, review, "approved")
    previous = activate(job.session, definition, job.now)
    notified = notify_activation(job.session, definition, previous, job.now, instance_id=job.instance.id)
    job.record("version_activated", {
        "definition_id": definition.id, "key": definition.key, "version": definition.version,
        "status": definition.status, "superseded": previous.version if previous else None, "notified_users": notified,
    })  # fmt: skip
    return {"versionStatus": definition.status}


def return_version(job: JobContext) -> dict[str, Any]:
    """The leader returned the draft: it is marked returned with the reason and the uploader is told."""
    definition, review = _reviewed(job)
    reason = str(job.data.get("returnReason") or "")
    _decide(job, review, "returned", reason)
    definition.status = "returned"
    notified = notify_return(job.session, definition, review, job.now, instance_id=job.instance.id)
    job.record("version_returned", {
        "definition_id": definition.id, "key": definition.key, "version": definition.version, "reason": reason,
        "notified_users": notified,
    })  # fmt: skip
    return {"versionStatus": definition.status}


# --- notices ------------------------------------------------------------------------------------------


def notify_activation(session: Session, definition: ProcessDefinition, previous: ProcessDefinition | None,
                      now: datetime, *, instance_id: int | None) -> list[str]:  # fmt: skip
    """Tell who can start the new version, and who holds open tasks in instances of older versions."""
    if definition.status != "active" or definition.unit_id is None:
        return []
    lines: list[Phrase | str] = [definition.change_summary] if definition.change_summary else []
    if previous is None:  # a unit's first own version: what changes for it is against the shared one it ran
        previous = active_in_line(session, definition.key, None)
    if previous is not None:
        lines += change_lines(compare(session, previous, definition))
    recipients = {u.id: u for u in (*_starters(session, definition), *_holders_of_older_tasks(session, definition))}
    title = Phrase("Process updated: %(process)s (version %(version)s)", process=definition.name,
                   version=definition.version)  # fmt: skip
    notify(session, recipients.values(), unit_id=definition.unit_id, instance_id=instance_id, kind="version_activated",
           title=title, body=lines, link=f"/definitions/{definition.key}?version={definition.version}",
           now=now)  # fmt: skip
    return sorted(u.username for u in recipients.values())


def notify_return(session: Session, definition: ProcessDefinition, review: VersionReview, now: datetime, *,
                  instance_id: int | None) -> list[str]:  # fmt: skip
    uploader = review.requested_by
    if uploader is None or definition.unit_id is None:
        return []
    notify(session, [uploader], unit_id=definition.unit_id, instance_id=instance_id, kind="version_returned",
           title=Phrase("Draft version returned: %(process)s (version %(version)s)", process=definition.name,
                        version=definition.version),
           body=review.reason, link=f"/definitions/{definition.key}?version={definition.version}", now=now)
    return [uploader.username]


def _starters(session: Session, definition: ProcessDefinition) -> list[User]:
    """Members of the owning unit who may start the process (every member when it names no starter roles)."""
    if not definition.executable or definition.started_by_system:
        return []
    stmt = select(User).join(RoleAssignment, RoleAssignment.user_id == User.id).where(
        RoleAssignment.unit_id == definition.unit_id, User.is_active.is_(True)
    )  # fmt: skip
    if definition.starter_roles:
        stmt = stmt.where(RoleAssignment.role.in_(definition.starter_roles))
    return list(session.scalars(stmt.distinct()))


def _holders_of_older_tasks(session: Session, definition: ProcessDefinition) -> list[User]:
    """People holding, or offered, open tasks in the unit's running instances of the versions it ran before:
    any other version of the process, the shared library's included even when its number is higher."""
    older = select(ProcessDefinition.id).where(ProcessDefinition.key == definition.key,
                                               ProcessDefinition.id != definition.id)  # fmt: skip
    open_tasks = (
        select(TaskRow.id)
        .join(ProcessInstance, ProcessInstance.id == TaskRow.instance_id)
        .where(TaskRow.state == "open", ProcessInstance.definition_id.in_(older),
               ProcessInstance.unit_id == definition.unit_id)  # the unit's own people only
    )  # fmt: skip
    assigned = select(TaskRow.assignee_id).where(TaskRow.id.in_(open_tasks), TaskRow.assignee_id.is_not(None))
    named = select(TaskCandidate.user_id).where(TaskCandidate.task_id.in_(open_tasks),
                                                TaskCandidate.user_id.is_not(None))  # fmt: skip
    by_role = (
        select(RoleAssignment.user_id)
        .join(TaskCandidate, TaskCandidate.role == RoleAssignment.role)
        .join(TaskRow, TaskRow.id == TaskCandidate.task_id)
        .where(TaskRow.id.in_(open_tasks), TaskRow.assignee_id.is_(None), RoleAssignment.unit_id == TaskRow.unit_id)
    )
    ids = set(session.scalars(assigned)) | set(session.scalars(named)) | set(session.scalars(by_role))
    return list(session.scalars(select(User).where(User.id.in_(ids), User.is_active.is_(True))))


# --- comparing versions -------------------------------------------------------------------------------


def comparison_base(session: Session, definition: ProcessDefinition) -> ProcessDefinition | None:
    """What a version is compared with: the active version of its line when that is older; for the active
    version, the one before it in its line; for a unit's version with no older active one of its own, the
    shared library's active version, whatever its number (what the unit runs until then)."""
    active = active_in_line(session, definition.key, definition.unit_id)
    if active is not None and active.id != definition.id and active.version < definition.version:
        return active
    if active is not None and active.id == definition.id or definition.unit_id is None:
        stmt = select(ProcessDefinition).where(ProcessDefinition.key == definition.key, in_line(definition.unit_id),
                                               ProcessDefinition.version < definition.version)  # fmt: skip
        before = session.scalar(stmt.order_by(ProcessDefinition.version.desc()).limit(1))
        if before is not None or definition.unit_id is None:
            return before
    return active_in_line(session, definition.key, None)


def compare(session: Session, old: ProcessDefinition, new: ProcessDefinition) -> VersionDiff:
    """Elements, flows and the fields of every form either version's tasks show."""
    diff = diff_elements(old.elements, new.elements)
    old_forms, new_forms = _form_ids(old), _form_ids(new)
    forms = []
    for form_key in sorted(set(old_forms) | set(new_forms)):
        if old_forms.get(form_key) != new_forms.get(form_key):
            before, after = _form(session, old_forms.get(form_key)), _form(session, new_forms.get(form_key))
            forms.append(diff_form(form_key, before, after))
    return with_forms(diff, forms)


def _form_ids(definition: ProcessDefinition) -> dict[str, int]:
    nodes = (definition.elements or {}).get("nodes", {})
    return {n["form_key"]: n["form_definition_id"] for n in nodes.values()
            if n.get("form_key") and n.get("form_definition_id")}  # fmt: skip


def _form(session: Session, form_id: int | None) -> tuple[int, dict[str, Any]] | None:
    form = session.get(FormDefinition, form_id) if form_id else None
    return (form.version, form.schema) if form is not None else None



@dataclass(frozen=True)
class Comparison:
    """Two versions of one process and what changed from ``old`` to ``new``."""

    old: ProcessDefinition
    new: ProcessDefinition
    diff: VersionDiff


def comparison(session: Session, key: str, version: int, against: int | None = None, *,
               viewer: User | None = None) -> Comparison:  # fmt: skip
    """Version ``version`` against ``against`` (default: the active version, or the one before); with a
    ``viewer``, only versions that person may read (the shared library's and their units')."""
    new = _version(session, key, version, viewer)
    old = _version(session, key, against, viewer) if against is not None else comparison_base(session, new)
    if old is None or old.id == new.id:
        raise NotFound("Version %(version)s of '%(key)s' has no earlier version to compare with.",
                       version=version, key=key)  # fmt: skip
    return Comparison(old, new, compare(session, old, new))


def _version(session: Session, key: str, version: int, viewer: User | None = None) -> ProcessDefinition:
    stmt = select(ProcessDefinition).where(ProcessDefinition.key == key, ProcessDefinition.version == version)
    found = session.scalar(stmt)
    if found is None or (viewer is not None and not may_read_definition(session, viewer, found)):
        raise NotFound("Version %(version)s of '%(key)s' does not exist.", version=version, key=key)
    return found


# --- the public portal -----------------------------------------------------------------------------------


def published(session: Session, unit_id: int) -> list[ProcessDefinition]:
    """A unit's procedures on its public page: its own active versions (run or documented) and the shared
    library's active processes it runs (not those it runs a version of its own of, nor the ones eISO
    starts itself, such as change control)."""
    stmt = select(ProcessDefinition).where(ProcessDefinition.status == "active").where(
        (ProcessDefinition.unit_id == unit_id)
        | (ProcessDefinition.unit_id.is_(None) & ProcessDefinition.executable.is_(True))
    )  # fmt: skip
    found = list(session.scalars(stmt.order_by(ProcessDefinition.name, ProcessDefinition.key)))
    own = {d.key for d in found if d.unit_id == unit_id}
    return [d for d in found if not d.started_by_system and (d.unit_id == unit_id or d.key not in own)]


def published_procedure(session: Session, unit_id: int, key: str) -> ProcessDefinition | None:
    return next((d for d in published(session, unit_id) if d.key == key), None)
