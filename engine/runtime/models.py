"""Tables of BPMN execution: deployments, definitions (processes, decisions, forms), instances,
task rows and candidates, history, drafts, files, timers, message subscriptions and start timers."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    DDL,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
    true,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import ColumnElement

from engine.db import Base

if TYPE_CHECKING:
    from engine.org.models import Unit, User

DEFAULT_PRIORITY = 50  # a task's priority when its diagram gives none (as in Camunda)
VERSION_TAG_LENGTH = 100

class Deployment(Base):
    """One upload of files that were deployed together."""

    __tablename__ = "deployments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(100), default="")
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))  # None: the shared library
    deployed_at: Mapped[datetime]
    files: Mapped[list[DeployedFile]] = relationship(back_populates="deployment", order_by="DeployedFile.id")


class DeployedFile(Base):
    __tablename__ = "deployed_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(10))  # bpmn | form | dmn
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    deployment: Mapped[Deployment] = relationship(back_populates="files")


class ProcessDefinition(Base):
    """One version of one process, with its parsed spec stored once.

    ``status``: ``draft`` (waiting for the unit leader's approval), ``active`` (the version people
    start), ``returned`` (the leader sent the draft back), ``superseded`` (a later version of the same
    line became active). ``unit_id`` None: the shared library, deployed by system administrators and
    active at once. Versions of a key are numbered once across owners (so ``key`` and ``version`` name
    one version), and each owner has its own line of them: a unit's own versions of a shared key are
    what that unit runs, and nothing of theirs touches another unit.
    A documentation diagram (``executable`` False) is stored and shown but never run; ``problems``
    says why it could not run.
    """

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version"), Index("ix_process_definitions_key_status", "key", "status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    dialect: Mapped[str] = mapped_column(String(20))  # camunda8 | camunda7 | bpmn
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    bpmn_file_id: Mapped[int] = mapped_column(ForeignKey("deployed_files.id"))
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)  # empty for documentation diagrams; large: read on use
    elements: Mapped[dict[str, Any]]  # element id -> {name, type, ...}; flows; user task metadata
    starter_roles: Mapped[list[Any]]
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="active", server_default="active")
    executable: Mapped[bool] = mapped_column(default=True, server_default=true())
    problems: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    change_summary: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The modeller's own name for this version (C7 ``camunda:versionTag``, C8 ``zeebe:versionTag``), e.g. "2.1".
    version_tag: Mapped[str | None] = mapped_column(String(VERSION_TAG_LENGTH))
    created_at: Mapped[datetime]
    bpmn_file: Mapped[DeployedFile] = relationship()
    deployment: Mapped[Deployment] = relationship()
    unit: Mapped[Unit | None] = relationship()

    @hybrid_property
    def is_active(self) -> bool:
        return self.status == "active"

    @is_active.inplace.expression
    @classmethod
    def _is_active_expression(cls) -> ColumnElement[bool]:
        return cls.status == "active"

    @property
    def started_by_system(self) -> bool:
        """eISO starts it itself (process property ``startedBy`` = ``system``), e.g. change control."""
        properties = (self.elements or {}).get("process", {}).get("properties", {})
        return bool(properties.get("startedBy") == "system")

    def startable_in(self, unit_id: int) -> bool:
        """People may start this version in the unit: it runs, it is active, and it is shared or the unit's own."""
        return (
            self.executable and self.status == "active" and self.unit_id in (None, unit_id)
            and not self.started_by_system
        )  # fmt: skip


class DecisionDefinition(Base):
    """One version of a DMN decision, by its decision id; evaluated from its stored file."""

    __tablename__ = "decision_definitions"
    __table_args__ = (UniqueConstraint("decision_key", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    decision_key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    dmn_file_id: Mapped[int] = mapped_column(ForeignKey("deployed_files.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)  # None: the shared library
    created_at: Mapped[datetime]
    dmn_file: Mapped[DeployedFile] = relationship()
    deployment: Mapped[Deployment] = relationship()


class FormDefinition(Base):
    """One version of a form-js form, by its form id."""

    __tablename__ = "form_definitions"
    __table_args__ = (UniqueConstraint("form_key", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    form_key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    schema: Mapped[dict[str, Any]]
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)  # None: the shared library
    created_at: Mapped[datetime]
    deployment: Mapped[Deployment] = relationship()


class ProcessInstance(Base):
    """A running or finished process; ``state`` is the serialized workflow without its spec."""

    __tablename__ = "process_instances"
    __table_args__ = (
        Index("ix_process_instances_unit_status", "unit_id", "status", "id"),  # the Camunda list, in id order
        Index("ix_process_instances_unit_started", "unit_id", "started_at", "id"),  # a unit's list, newest first
        Index("ix_process_instances_started_by", "started_by_id", "id"),  # a person's own work (viewable_instances)
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20))  # running | completed | cancelled
    # A called process (call activity): the instance and the task that called it, and wait for it.
    parent_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    parent_task_id: Mapped[str | None] = mapped_column(String(36))
    state: Mapped[str] = mapped_column(Text, deferred=True)  # large: read only by the engine when it loads the workflow
    revision: Mapped[int] = mapped_column(Integer, default=1)
    due_at: Mapped[datetime | None]  # the whole process's time limit (a dossier's appointment date)
    timing: Mapped[str | None] = mapped_column(String(10))  # early | on_time | late, set on completion
    paused_at: Mapped[datetime | None]  # the process clock is stopped (e.g. waiting for a citizen)
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # working time paused
    # Optimistic concurrency: every UPDATE checks and bumps the revision (StaleDataError if it moved).
    __mapper_args__ = {"version_id_col": revision}
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    definition: Mapped[ProcessDefinition] = relationship()
    unit: Mapped[Unit] = relationship()
    started_by: Mapped[User | None] = relationship()


class TaskRow(Base):
    """Read model of a user task (or job) for inboxes and reports; never needs the workflow."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_assignee_state", "assignee_id", "state"),
        Index("ix_tasks_unit_state", "unit_id", "state"),
        Index("ix_tasks_instance_state", "instance_id", "state"),
        Index("ix_tasks_owner_state", "owner_id", "state"),
        # a person's own work (queries.viewable_instances' short list); partial: the column is mostly NULL, and
        # SQLite's statistics on a full index would count the NULLs as one value shared by most rows
        Index("ix_tasks_completed_by", "completed_by_id", "instance_id",
              sqlite_where=text("completed_by_id IS NOT NULL"), postgresql_where=text("completed_by_id IS NOT NULL")),
        Index("ix_tasks_owner_work", "owner_id", "instance_id",
              sqlite_where=text("owner_id IS NOT NULL"), postgresql_where=text("owner_id IS NOT NULL")),
        Index("ix_tasks_assignee_work", "assignee_id", "instance_id",
              sqlite_where=text("assignee_id IS NOT NULL"), postgresql_where=text("assignee_id IS NOT NULL")),
        # The inbox lists: a person's open tasks (assignee) and the claimable ones (no assignee), as received.
        # (unit_id last: the unit wall is checked from the index, without reading the row)
        Index("ix_tasks_list", "state", "assignee_id", "created_at", "id", "unit_id"),
        # ... and by priority, then the nearest due date (tasks without one last), as received.
        Index("ix_tasks_list_priority", "state", "assignee_id", text("priority DESC"), text("(due_at IS NULL)"),
              "due_at", "created_at", "id", "unit_id"),  # fmt: skip
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the workflow task's id
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(10), default="user")  # user | job
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    form_id: Mapped[int | None] = mapped_column(ForeignKey("form_definitions.id"))
    candidate_roles: Mapped[list[Any]]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(12))  # open | completed | cancelled
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime | None]
    # 0..100, higher first (C7 ``camunda:priority``, C8 ``zeebe:priorityDefinition``); 50 when the diagram gives none.
    priority: Mapped[int] = mapped_column(Integer, default=DEFAULT_PRIORITY, server_default=str(DEFAULT_PRIORITY))
    follow_up_at: Mapped[datetime | None] = mapped_column(index=True)  # when to look at the task again
    timing: Mapped[str | None] = mapped_column(String(10))  # early | on_time | late, set on completion
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Delegation as in Camunda 7: the holder (owner) hands the task to a delegate (assignee) while it is
    # ``pending``; the delegate resolves it, it comes back to the owner (``resolved``), who completes it.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", name="fk_tasks_owner_id_users"))
    delegation_state: Mapped[str | None] = mapped_column(String(10))  # pending | resolved
    instance: Mapped[ProcessInstance] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])
    form: Mapped[FormDefinition | None] = relationship()


# The planner's estimate of "open and held by nobody" (the claimable lists) is wrong by ten times without
# statistics on the two columns together: PostgreSQL then hashes every offer instead of walking ix_tasks_list.
TASK_STATISTICS = "CREATE STATISTICS IF NOT EXISTS st_tasks_state_assignee (mcv) ON state, assignee_id FROM tasks"
event.listen(TaskRow.__table__, "after_create", DDL(TASK_STATISTICS).execute_if(dialect="postgresql"))


class TaskCandidate(Base):
    """Who may claim an open task: a role within the task's unit, or a named user.

    Each offer carries copies of its task's instance, unit, time of receipt, "open" (``task_open``) and "open
    and held by nobody" (``claimable``), kept by the database itself (``OFFER_TRIGGERS``): whatever writes a
    task or an offer, the copies follow. The claimable list then walks a person's own offers in the order it shows them
    (``ix_task_candidates_claimable_role`` / ``_user``) instead of the unit's whole queue, checking each."""

    __tablename__ = "task_candidates"
    __table_args__ = (
        Index("ix_task_candidates_role", "role", "task_id"),
        Index("ix_task_candidates_offer", "task_id", "role", "user_id"),  # the claimable list's check, index only
        Index("ix_task_candidates_claimable_role", "claimable", "unit_id", "role", "created_at", "task_id"),
        Index("ix_task_candidates_claimable_user", "claimable", "user_id", "created_at", "task_id"),
        # the instances a person sees by an open offer (queries.viewable_instances' short list)
        Index("ix_task_candidates_open_role", "task_open", "unit_id", "role", "instance_id"),
        Index("ix_task_candidates_open_user", "task_open", "user_id", "instance_id"),
        # whether an instance has an open task offered to the person (viewable_instances), from the index alone
        Index("ix_task_candidates_instance", "instance_id", "task_open", "unit_id", "role", "user_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    role: Mapped[str | None] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # copies of the task's columns, written by the triggers only (whatever the insert gives is replaced)
    unit_id: Mapped[int | None]
    created_at: Mapped[datetime | None]
    claimable: Mapped[bool] = mapped_column(server_default=false())
    task_open: Mapped[bool] = mapped_column(server_default=false())
    instance_id: Mapped[int | None]


# The offers' copies of their task (TaskCandidate), on both databases: set from the task when an offer is
# written, and again on every offer of a task whose state, holder or unit changes.
OFFER_TRIGGERS = {
    "sqlite": [
        """CREATE TRIGGER IF NOT EXISTS tr_task_candidates_copy AFTER INSERT ON task_candidates BEGIN
            UPDATE task_candidates SET
                unit_id = (SELECT t.unit_id FROM tasks t WHERE t.id = NEW.task_id),
                created_at = (SELECT t.created_at FROM tasks t WHERE t.id = NEW.task_id),
                claimable = coalesce((SELECT t.state = 'open' AND t.assignee_id IS NULL
                                      FROM tasks t WHERE t.id = NEW.task_id), 0),
                task_open = coalesce((SELECT t.state = 'open' FROM tasks t WHERE t.id = NEW.task_id), 0),
                instance_id = (SELECT t.instance_id FROM tasks t WHERE t.id = NEW.task_id)
            WHERE id = NEW.id;
        END""",
        """CREATE TRIGGER IF NOT EXISTS tr_tasks_offers AFTER UPDATE OF state, assignee_id, unit_id ON tasks
        WHEN OLD.state IS NOT NEW.state OR OLD.assignee_id IS NOT NEW.assignee_id OR OLD.unit_id IS NOT NEW.unit_id
        BEGIN
            UPDATE task_candidates SET claimable = (NEW.state = 'open' AND NEW.assignee_id IS NULL),
                task_open = (NEW.state = 'open'), unit_id = NEW.unit_id
            WHERE task_id = NEW.id;
        END""",
    ],
    "postgresql": [
        """CREATE OR REPLACE FUNCTION task_candidates_copy() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            SELECT t.unit_id, t.created_at, coalesce(t.state = 'open' AND t.assignee_id IS NULL, false),
                   coalesce(t.state = 'open', false), t.instance_id
              INTO NEW.unit_id, NEW.created_at, NEW.claimable, NEW.task_open, NEW.instance_id
              FROM tasks t WHERE t.id = NEW.task_id;
            NEW.claimable := coalesce(NEW.claimable, false);
            NEW.task_open := coalesce(NEW.task_open, false);
            RETURN NEW;
        END $$""",
        """CREATE OR REPLACE TRIGGER tr_task_candidates_copy BEFORE INSERT ON task_candidates
        FOR EACH ROW EXECUTE FUNCTION task_candidates_copy()""",
        """CREATE OR REPLACE FUNCTION tasks_offers() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE task_candidates SET claimable = (NEW.state = 'open' AND NEW.assignee_id IS NULL),
                task_open = (NEW.state = 'open'), unit_id = NEW.unit_id
            WHERE task_id = NEW.id;
            RETURN NULL;
        END $$""",
        """CREATE OR REPLACE TRIGGER tr_tasks_offers AFTER UPDATE OF state, assignee_id, unit_id ON tasks
        FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
                           OR OLD.unit_id IS DISTINCT FROM NEW.unit_id)
        EXECUTE FUNCTION tasks_offers()""",
    ],
}
for _dialect, _statements in OFFER_TRIGGERS.items():
    for _statement in _statements:  # after the offers' table: the tasks' trigger writes to it
        event.listen(TaskCandidate.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))


class HistoryEvent(Base):
    """Append-only audit trail of one instance; written in the same transaction as the state."""

    __tablename__ = "history_events"
    __table_args__ = (Index("ix_history_events_instance", "instance_id", "id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    element_id: Mapped[str | None] = mapped_column(String(200))
    element_name: Mapped[str | None] = mapped_column(String(300))
    task_id: Mapped[str | None] = mapped_column(String(36))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor: Mapped[User | None] = relationship()


class TaskDraft(Base):
    """A form a user saved without completing the task; resumed by the same user only."""

    __tablename__ = "task_drafts"
    __table_args__ = (UniqueConstraint("task_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    values: Mapped[dict[str, Any]]
    saved_at: Mapped[datetime]


class StoredFile(Base):
    """An uploaded file: evidence (ISO documented information) of one task of one instance.

    ``pending`` while the form it came with is not yet completed, ``attached`` after.
    """

    __tablename__ = "stored_files"
    __table_args__ = (Index("ix_stored_files_instance", "instance_id", "state"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id"), index=True)
    field: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(12))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]
    uploaded_by: Mapped[User] = relationship()


class Timer(Base):
    """A timer event an instance is waiting for; the sweep fires it when ``due_at`` has come."""

    __tablename__ = "timers"
    # an instance's waiting timers are read at every step: by instance and state, so a loop that has gone
    # round for years does not read every timer it ever fired
    __table_args__ = (Index("ix_timers_state_due", "state", "due_at", "id"),  # the sweep's order
                      Index("ix_timers_instance_state", "instance_id", "state"))  # fmt: skip
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    task_id: Mapped[str] = mapped_column(String(36))  # the waiting event's workflow task
    element_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # date | duration | cycle
    due_at: Mapped[datetime]
    period: Mapped[str | None] = mapped_column(String(60))
    cron: Mapped[str | None] = mapped_column(String(120))
    cycles_left: Mapped[int | None] = mapped_column(Integer)  # None: for ever
    state: Mapped[str] = mapped_column(String(12))  # waiting | fired | cancelled | failed
    fired_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")


class MessageSubscription(Base):
    """A message or signal an instance waits for (catch event, boundary event, receive task, event
    subprocess start: ``task_id`` empty), with its correlation key."""

    __tablename__ = "message_subscriptions"
    __table_args__ = (Index("ix_message_subscriptions_name_key", "message_name", "correlation_key", "state"),
                      Index("ix_message_subscriptions_kind_name", "kind", "message_name", "state"))  # fmt: skip
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8), default="message", server_default="message")  # message | signal
    message_name: Mapped[str] = mapped_column(String(200))
    correlation_key: Mapped[str | None] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(12))  # waiting | correlated | cancelled
    created_at: Mapped[datetime]
    correlated_at: Mapped[datetime | None]


class StartTimer(Base):
    """The next time a timer start event starts new instances of an active definition."""

    __tablename__ = "start_timers"
    __table_args__ = (Index("ix_start_timers_state_due", "state", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    element_id: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime]
    period: Mapped[str | None] = mapped_column(String(60))
    cron: Mapped[str | None] = mapped_column(String(120))
    cycles_left: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12))  # waiting | done | cancelled
    fired_at: Mapped[datetime | None]
    definition: Mapped[ProcessDefinition] = relationship()


