"""Moving running instances to the active version of their process, and back.

Running instances stay on the version they started on. An administrator may move one to the active
version when SpiffWorkflow's own diff (``SpecDiff``/``WorkflowDiff``) shows it is safe: no step that was
already reached (started, completed, waiting) is removed, and no step already started or completed
is changed. The open steps must stay the same steps, offered to the same people. Each move is one
transaction that keeps the previous state in ``instance_migrations`` and records ``instance_migrated``
in the instance's history; a revert restores that state while nothing has happened to the instance
since, and records ``migration_reverted``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.defaults import UserTask
from SpiffWorkflow.bpmn.util.diff import WorkflowDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import Conflict, DefinitionNotFound, EngineError, InstanceNotFound, NotAllowed, NotFound
from engine.library.models import InstanceMigration
from engine.org.models import User
from engine.org.people import administered_unit_ids, roles_in_unit
from engine.runtime.engine import Engine
from engine.runtime.models import HistoryEvent, ProcessDefinition, ProcessInstance, TaskRow
from engine.runtime.parsing import JobTask
from engine.runtime.queries import runnable
from engine.runtime.serialization import SERIALIZER, dump_state, load_state
from engine.runtime.tasks import active_tasks

REACHED = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.COMPLETED | TaskState.ERROR
STARTED = TaskState.WAITING | TaskState.STARTED | TaskState.COMPLETED | TaskState.ERROR
ASSIGNMENT = ("candidate_groups", "candidate_users", "assignee")


@dataclass(frozen=True)
class MigrationCheck:
    """Whether one running instance can move to ``target``; ``reasons`` say why not."""

    instance: ProcessInstance
    target: ProcessDefinition | None
    reasons: tuple[EngineError, ...] = ()

    @property
    def possible(self) -> bool:
        return self.target is not None and not self.reasons


@dataclass(frozen=True)
class VersionInstances:
    """An older version of a process with its running instances, each checked against the active one."""

    definition: ProcessDefinition
    checks: list[MigrationCheck]


@dataclass
class _Plan:
    workflow: BpmnWorkflow
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    diff: WorkflowDiff
    sub_diffs: dict[Any, WorkflowDiff | None]
    reasons: list[EngineError] = field(default_factory=list)


def may_migrate(session: Session, user: User, definition: ProcessDefinition) -> bool:
    """Administrators of the owning unit; for a shared process, the administrators of the units running it,
    each for their own unit's instances only (``overview``, ``migrate``)."""
    if definition.unit_id is not None:
        return "admin" in roles_in_unit(session, user, definition.unit_id)
    return bool(_administered(session, user))


def _require_admin(session: Session, actor: User, instance: ProcessInstance) -> None:
    """Only the administrators of the instance's unit move it; to anyone outside the unit it does not exist."""
    roles = roles_in_unit(session, actor, instance.unit_id)
    if not roles:
        raise InstanceNotFound(instance.id)
    if "admin" not in roles:
        raise NotAllowed("Only an administrator of the process's unit may move its instances between versions.")


def _administered(session: Session, user: User) -> set[int]:
    return administered_unit_ids(session, user)


# --- looking ---------------------------------------------------------------------------------------


def overview(session: Session, key: str, actor: User) -> list[VersionInstances]:
    """The running instances of ``key``, in the units the actor administers, that are not on the version
    their unit runs: by version, newest first, each checked against its unit's version."""
    units = _administered(session, actor)
    stmt = (
        select(ProcessInstance)
        .join(ProcessDefinition, ProcessInstance.definition_id == ProcessDefinition.id)
        .where(ProcessDefinition.key == key, ProcessInstance.status == "running", ProcessInstance.unit_id.in_(units))
        .order_by(ProcessInstance.id)
    )  # fmt: skip
    targets: dict[int, ProcessDefinition | None] = {}
    by_version: dict[int, list[MigrationCheck]] = {}
    versions: dict[int, ProcessDefinition] = {}
    for instance in session.scalars(stmt):
        if instance.unit_id not in targets:
            targets[instance.unit_id] = _runnable_active(session, key, instance.unit_id)
        target = targets[instance.unit_id]
        if target is not None and target.id == instance.definition_id:
            continue
        versions[instance.definition_id] = instance.definition
        by_version.setdefault(instance.definition_id, []).append(check(session, instance, target))
    newest_first = sorted(by_version, key=lambda i: -versions[i].version)
    return [VersionInstances(versions[i], by_version[i]) for i in newest_first]


def check(session: Session, instance: ProcessInstance, target: ProcessDefinition | None) -> MigrationCheck:
    """Try the move on a copy of the workflow; nothing is saved."""
    if target is None:
        return MigrationCheck(instance, None, (NotFound("The process has no active version to move to."),))
    try:
        plan = _plan(instance, target)
    except Conflict as exc:
        return MigrationCheck(instance, target, (exc,))
    return MigrationCheck(instance, target, tuple(plan.reasons))


def _runnable_active(session: Session, key: str, unit_id: int) -> ProcessDefinition | None:
    """The version the unit runs: where its instances move to."""
    try:
        return runnable(session, key, unit_id)
    except DefinitionNotFound:
        return None


def _plan(instance: ProcessInstance, target: ProcessDefinition) -> _Plan:
    workflow = load_state(instance.state, instance.definition.spec_json)
    spec, subprocess_specs = _specs(target.spec_json)
    try:
        diff, sub_diffs = diff_workflow(SERIALIZER.registry, workflow, spec, subprocess_specs)
    except (KeyError, AttributeError, SpiffWorkflowException) as exc:  # a shape SpiffWorkflow cannot align
        raise Conflict("The running process cannot be compared with version %(version)s (%(reason)s).",
                       version=target.version, reason=str(exc))  # fmt: skip
    plan = _Plan(workflow, spec, subprocess_specs, diff, sub_diffs)
    plan.reasons += _blockers(diff, target)
    for sub_id, sub_diff in sub_diffs.items():
        if sub_diff is None:
            name = workflow.subprocesses[sub_id].spec.name
            plan.reasons.append(Conflict("The running subprocess '%(name)s' does not exist in version %(version)s.",
                                         name=name, version=target.version))  # fmt: skip
        else:
            plan.reasons += _blockers(sub_diff, target)
    if not plan.reasons:
        plan.reasons += _open_steps_kept(plan, instance, target)
    return plan


def _specs(spec_json: str) -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]:
    parts = json.loads(spec_json)
    subs = {name: SERIALIZER.from_dict(sub) for name, sub in parts["subprocess_specs"].items()}
    return SERIALIZER.from_dict(parts["spec"]), subs


def _step(task: Task) -> str:
    spec = task.task_spec
    return str(getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name)


def _blockers(diff: WorkflowDiff, target: ProcessDefinition) -> list[EngineError]:
    found: dict[str, EngineError] = {}
    for task in diff.removed:
        if task.has_state(REACHED):
            found[_step(task)] = Conflict("The step '%(step)s' was already reached and no longer exists in version "
                                          "%(version)s.", step=_step(task), version=target.version)  # fmt: skip
    for task in diff.changed:
        if task.has_state(STARTED):
            found[_step(task)] = Conflict("The step '%(step)s' was already started or completed and is changed in "
                                          "version %(version)s.", step=_step(task), version=target.version)  # fmt: skip
    return list(found.values())


def _open_user_tasks(workflow: BpmnWorkflow) -> dict[str, str]:
    """Open user tasks: task id -> diagram element."""
    return {
        str(t.id): str(getattr(t.task_spec, "bpmn_id", None) or t.task_spec.name)
        for t in active_tasks(workflow)
        if t.state == TaskState.READY and isinstance(t.task_spec, UserTask) and not isinstance(t.task_spec, JobTask)
    }


def _open_steps_kept(plan: _Plan, instance: ProcessInstance, target: ProcessDefinition) -> list[EngineError]:
    """Apply the move to the copy and check that the same steps are open, offered to the same people."""
    before = _open_user_tasks(plan.workflow)
    _apply(plan)
    if _open_user_tasks(plan.workflow) != before:
        return [Conflict("Moving to version %(version)s would change which steps are open.", version=target.version)]
    old_nodes, new_nodes = instance.definition.elements["nodes"], target.elements["nodes"]

    def reassigned(element: str) -> bool:
        return any(old_nodes.get(element, {}).get(a) != new_nodes.get(element, {}).get(a) for a in ASSIGNMENT)

    changed = sorted({e for e in before.values() if reassigned(e)})
    return [Conflict("Who may work on the open step '%(step)s' changes in version %(version)s.",
                     step=new_nodes[e].get("name") or e, version=target.version) for e in changed]  # fmt: skip


def _apply(plan: _Plan) -> None:
    migrate_workflow(plan.diff, plan.workflow, plan.spec)
    plan.workflow.subprocess_specs = plan.subprocess_specs
    for sub_id, sub_diff in plan.sub_diffs.items():
        sub = plan.workflow.subprocesses[sub_id]
        if sub_diff is not None:
            migrate_workflow(sub_diff, sub, plan.subprocess_specs[sub.spec.name])


# --- moving and moving back ------------------------------------------------------------------------------


def migrate(session: Session, instance_id: int, *, actor: User, now: datetime) -> InstanceMigration:
    """Move a running instance to the active version of its process, in one transaction."""
    with Engine(session).command(now=now, actor=actor) as command:
        instance = command.lock(instance_id)
        target = _target_for(session, instance, actor)
        plan = _plan(instance, target)
        if plan.reasons:
            raise plan.reasons[0]
        rows = _open_rows(session, instance.id)
        migration = InstanceMigration(
            instance_id=instance.id, from_definition_id=instance.definition_id, to_definition_id=target.id,
            previous_state=instance.state, previous_tasks=[_snapshot(r) for r in rows], revision_after=0,
            migrated_by_id=actor.id, migrated_at=now,
        )  # fmt: skip
        before = instance.definition
        _renew_rows(rows, target)
        instance.state, instance.definition, instance.updated_at = dump_state(plan.workflow), target, now
        session.flush()  # the instance's revision moves on here
        migration.revision_after = instance.revision
        session.add(migration)
        session.flush()
        _record(session, instance, actor, now, "instance_migrated", migration, before, target)
    return migration


def _target_for(session: Session, instance: ProcessInstance, actor: User) -> ProcessDefinition:
    _require_admin(session, actor, instance)
    if instance.status != "running":
        raise Conflict("Process %(id)s has finished; only running processes move between versions.", id=instance.id)
    target = _runnable_active(session, instance.definition.key, instance.unit_id)
    if target is None or target.id == instance.definition_id:
        raise Conflict("Process %(id)s already runs on the active version.", id=instance.id)
    return target


def _open_rows(session: Session, instance_id: int) -> list[TaskRow]:
    stmt = select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == "open")
    return list(session.scalars(stmt.order_by(TaskRow.id)))


def _snapshot(row: TaskRow) -> dict[str, Any]:
    return {"id": row.id, "element_id": row.element_id, "name": row.name, "form_id": row.form_id}


def _renew_rows(rows: list[TaskRow], target: ProcessDefinition) -> None:
    """Open task rows show the new version's step names and forms."""
    for row in rows:
        node = target.elements["nodes"].get(row.element_id, {})
        row.name = node.get("name") or row.element_id
        row.form_id = node.get("form_definition_id")


def _record(session: Session, instance: ProcessInstance, actor: User, now: datetime, kind: str,
            migration: InstanceMigration, source: ProcessDefinition, target: ProcessDefinition) -> None:  # fmt: skip
    data = {"migration": migration.id, "from_version": source.version, "to_version": target.version,
            "from_definition_id": source.id, "to_definition_id": target.id}  # fmt: skip
    session.add(HistoryEvent(instance_id=instance.id, at=now, actor_id=actor.id, kind=kind, data=data))


def revert(session: Session, migration_id: int, *, actor: User, now: datetime) -> InstanceMigration:
    """Put a migrated instance back on its previous version, while nothing has happened to it since."""
    with Engine(session).command(now=now, actor=actor) as command:
        migration = session.get(InstanceMigration, migration_id)
        if migration is None:
            raise NotFound("Migration %(id)s does not exist.", id=migration_id)
        instance = command.lock(migration.instance_id)
        _require_admin(session, actor, instance)
        if not revertible(session, migration):
            raise Conflict("Process %(id)s has moved on since it was migrated (or was moved back already); it "
                           "can no longer be moved back.", id=instance.id)  # fmt: skip
        source, target = migration.from_definition, migration.to_definition
        _restore_rows(session, migration)
        instance.state, instance.definition, instance.updated_at = migration.previous_state, source, now
        migration.reverted_at, migration.reverted_by_id = now, actor.id
        session.flush()
        _record(session, instance, actor, now, "migration_reverted", migration, target, source)
    return migration


def revertible(session: Session, migration: InstanceMigration) -> bool:
    """Not reverted yet, and the instance is exactly as the migration left it (no command, no event since)."""
    instance = migration.instance
    if migration.reverted_at is not None or instance.revision != migration.revision_after:
        return False
    last = session.scalar(select(func.max(HistoryEvent.id)).where(HistoryEvent.instance_id == instance.id))
    event = session.get(HistoryEvent, last) if last is not None else None
    return event is not None and event.kind == "instance_migrated" and event.data.get("migration") == migration.id


def _restore_rows(session: Session, migration: InstanceMigration) -> None:
    previous = {t["id"]: t for t in migration.previous_tasks}
    for row in _open_rows(session, migration.instance_id):
        if row.id in previous:
            row.name, row.form_id = previous[row.id]["name"], previous[row.id]["form_id"]


def recent_migrations(session: Session, key: str, actor: User, limit: int = 50) -> list[InstanceMigration]:
    """Moves of instances of ``key`` in the units the actor administers, newest first."""
    ids = select(ProcessDefinition.id).where(ProcessDefinition.key == key)
    mine = select(ProcessInstance.id).where(ProcessInstance.unit_id.in_(_administered(session, actor)))
    stmt = select(InstanceMigration).where(InstanceMigration.to_definition_id.in_(ids),
                                           InstanceMigration.instance_id.in_(mine))  # fmt: skip
    return list(session.scalars(stmt.order_by(InstanceMigration.id.desc()).limit(limit)))


@dataclass(frozen=True)
class MigrationOutcome:
    instance_id: int
    migration: InstanceMigration | None
    error: EngineError | None


def migrate_many(session: Session, instance_ids: list[int], *, actor: User, now: datetime) -> list[MigrationOutcome]:
    """Each instance in its own transaction: one that cannot move does not stop the others."""
    outcomes = []
    for instance_id in instance_ids:
        try:
            outcomes.append(MigrationOutcome(instance_id, migrate(session, instance_id, actor=actor, now=now), None))
        except (Conflict, NotFound, NotAllowed) as exc:
            outcomes.append(MigrationOutcome(instance_id, None, exc))
    return outcomes
