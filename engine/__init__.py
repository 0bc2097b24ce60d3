"""eISO engine: deploy and run BPMN processes on SpiffWorkflow, with persistence and history.

This module is the engine's face: ``webapp/`` and ``connectors/`` import from here and nowhere else
(``tests/test_architecture.py`` checks it). Inside, the layers only import downward
(``docs/architecture.md``)::

    iso/  dossiers/  reports/         the domain: ISO registers, administrative procedures, figures
    library/                          process definitions: deploy, versions, change control, moves
    runtime/                          BPMN execution on SpiffWorkflow: commands, the Command, features
    org/  expressions/                organisation, calendar, notices; FEEL, JUEL, Python subset, DMN
    db.py  errors.py  safe_xml.py     foundations; outbox.py: the messages for other systems

``JOB_HANDLERS`` lists every built-in job type and the function that does it; it is handed to the
runtime here, in one place, and nowhere else.
"""

from collections.abc import Mapping
from types import MappingProxyType

from engine import idempotency, outbox
from engine.db import Base, claim
from engine.dossiers import clock
from engine.errors import (
    Conflict,
    DefinitionNotFound,
    DeploymentRejected,
    EngineError,
    EngineStateError,
    ExpressionError,
    FieldError,
    FormInvalid,
    InstanceNotFound,
    NotAllowed,
    NotFound,
    Problem,
    TaskNotFound,
    TaskNotReady,
)
from engine.iso import complaints, documents, objectives, risks
from engine.iso.objectives import current_objectives
from engine.library import instance_moves, versions
from engine.library.bench import run_benchmark, run_loop_benchmark
from engine.library.delegates import REGISTRY_SETTING
from engine.library.deploy import Deployer, DeploymentResult, SourceFile, expand_upload
from engine.org import login_guard, login_sessions, notices, numbering, sso
from engine.org.calendar import WorkingCalendar
from engine.org.calendar_days import may_edit_calendar, remove_calendar_day, set_calendar_day
from engine.org.demo import PASSWORD, PEOPLE, load_demo
from engine.org.models import CalendarDay, Department, Notice, RoleAssignment, Unit, User
from engine.org.people import (
    PROVINCE_ADMIN,
    ROLES,
    SYSTEM_ADMIN,
    SYSTEM_ROLES,
    authenticate,
    grant_system_role,
    has_system_role,
    revoke_system_role,
    roles_in_unit,
    unit_ids_of,
)
from engine.org.sso import ExternalIdentity, RoleGrant, SsoPolicy, SsoRefused
from engine.runtime import business_rules, handlers, queries, script_tasks
from engine.runtime.command import Command, WorkflowCache
from engine.runtime.engine import Engine, feel_for_forms, file_reference
from engine.runtime.files import FileRejected, FileStore, Upload, command_scanner
from engine.runtime.handlers import DECISION_JOB, SCRIPT_JOB, Handler, JobContext
from engine.runtime.jobs import (
    ExternalJob,
    JobNotFound,
    complete_job,
    covered_job,
    covered_jobs,
    extend_lock,
    fail_job,
    fetch_and_lock,
    retry_job,
    throw_job_error,
    unlock_job,
)
from engine.runtime.messages import NoOneWaiting, correlate
from engine.runtime.models import (
    DecisionDefinition,
    DeployedFile,
    Deployment,
    FormDefinition,
    HistoryEvent,
    ProcessDefinition,
    ProcessInstance,
    StoredFile,
    TaskCandidate,
    TaskRow,
)
from engine.runtime.priority import HIGH, LOW
from engine.runtime.reminders import sweep_deadlines
from engine.runtime.signals import send_signal
from engine.runtime.sweeps import sweep_timers

JOB_HANDLERS: Mapping[str, Handler] = MappingProxyType({
    DECISION_JOB: business_rules.evaluate_decision,
    SCRIPT_JOB: script_tasks.run_script,
    clock.PAUSE_JOB: clock.pause_clock,
    clock.RESUME_JOB: clock.resume_clock,
    complaints.REGISTER_JOB: complaints.register_complaint,
    complaints.ASSIGN_JOB: complaints.assign_complaint,
    complaints.ANSWER_JOB: complaints.answer_complaint,
    complaints.CLOSE_JOB: complaints.close_complaint,
    documents.CHECK_JOB: documents.check_document,
    documents.ISSUE_JOB: documents.issue_document,
    objectives.PUBLISH_JOB: objectives.publish_objectives,
    risks.REGISTER_JOB: risks.register_risks,
    risks.REVIEW_JOB: risks.review_risks,
    versions.ACTIVATE_JOB: versions.activate_version,
    versions.RETURN_JOB: versions.return_version,
})  # fmt: skip
"""Every job type eISO does itself (inside the command that reaches the step), and its handler."""
JOB_OWNERS: Mapping[str, frozenset[str]] = MappingProxyType({
    complaints.REGISTER_JOB: frozenset({complaints.PROCESS_KEY}),
    complaints.ASSIGN_JOB: frozenset({complaints.PROCESS_KEY}),
    complaints.ANSWER_JOB: frozenset({complaints.PROCESS_KEY}),
    complaints.CLOSE_JOB: frozenset({complaints.PROCESS_KEY}),
    documents.CHECK_JOB: frozenset({documents.PROCESS_KEY}),
    documents.ISSUE_JOB: frozenset({documents.PROCESS_KEY}),
    objectives.PUBLISH_JOB: frozenset({objectives.PROCESS_KEY}),
    risks.REGISTER_JOB: frozenset({risks.PROCESS_KEY}),
    risks.REVIEW_JOB: frozenset({risks.PROCESS_KEY}),
    versions.ACTIVATE_JOB: frozenset({versions.CHANGE_CONTROL_KEY}),
    versions.RETURN_JOB: frozenset({versions.CHANGE_CONTROL_KEY}),
})  # fmt: skip
"""The built-in jobs that change versions or registers, and the processes that alone may use them (in
any owner's line: a unit's own version of the objectives process publishes that unit's objectives)."""
handlers.install(JOB_HANDLERS, JOB_OWNERS)

__all__ = [
    # commands and their helpers
    "Engine", "Command", "WorkflowCache", "Deployer", "DeploymentResult", "SourceFile", "expand_upload",
    "JOB_HANDLERS", "JOB_OWNERS", "JobContext", "feel_for_forms", "file_reference", "FileStore", "FileRejected",
    "Upload", "command_scanner", "complete_job", "covered_job", "covered_jobs", "extend_lock", "fail_job",
    "fetch_and_lock", "retry_job", "throw_job_error", "unlock_job",
    "correlate", "send_signal", "sweep_deadlines", "sweep_timers", "run_benchmark", "run_loop_benchmark", "claim",
    # modules of queries and commands the web layer uses as a whole
    "queries", "versions", "instance_moves", "notices", "outbox", "idempotency",
    "login_guard", "login_sessions", "numbering",
    # the ISO registers' queries (engine/iso/)
    "risks", "documents", "complaints",
    # single sign-on through an OpenID provider (the protocol is the web layer's)
    "sso", "SsoPolicy", "RoleGrant", "SsoRefused", "ExternalIdentity",
    # organisation
    "authenticate", "roles_in_unit", "unit_ids_of", "ROLES", "SYSTEM_ROLES", "SYSTEM_ADMIN", "PROVINCE_ADMIN",
    "has_system_role", "grant_system_role", "revoke_system_role", "load_demo", "PASSWORD", "PEOPLE", "WorkingCalendar",
    "set_calendar_day", "remove_calendar_day", "may_edit_calendar", "current_objectives", "REGISTRY_SETTING",
    "HIGH", "LOW",
    # tables
    "Base", "Unit", "Department", "User", "RoleAssignment", "Notice", "CalendarDay", "Deployment", "DeployedFile",
    "ProcessDefinition", "DecisionDefinition", "FormDefinition", "ProcessInstance", "TaskRow", "HistoryEvent",
    "StoredFile", "ExternalJob", "TaskCandidate",
    # errors
    "EngineError", "NotFound", "InstanceNotFound", "TaskNotFound", "DefinitionNotFound", "NotAllowed", "Conflict",
    "TaskNotReady", "FieldError", "FormInvalid", "Problem", "DeploymentRejected", "ExpressionError",
    "EngineStateError", "JobNotFound", "NoOneWaiting",
]  # fmt: skip
