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
from engine.dossiers import clock, dossiers
from engine.errors import (
    Conflict,
    Count,
    DefinitionNotFound,
    DeploymentRejected,
    EngineError,
    EngineStateError,
    ExpressionError,
    FieldError,
    FieldProblem,
    FormInvalid,
    InstanceNotFound,
    InvalidFields,
    NotAllowed,
    NotFound,
    Phrase,
    Problem,
    TaskNotFound,
    TaskNotReady,
)
from engine.iso import (
    assignments,
    audits,
    complaints,
    corrective_actions,
    documents,
    objectives,
    policy,
    reviews,
    risks,
)
from engine.iso.objectives import (
    PROGRESS_STATUSES,
    ObjectiveRow,
    current_objectives,
    objective_register,
    objective_sets,
)
from engine.iso.policy import PolicyFilter, QualityPolicy, current_policy, policies, policy_text
from engine.library import instance_moves, versions
from engine.library.bench import run_benchmark, run_loop_benchmark
from engine.library.delegates import REGISTRY_SETTING
from engine.library.deploy import Deployer, DeploymentResult, SourceFile, expand_upload
from engine.org import (
    admin,
    audit,
    login_guard,
    login_sessions,
    notices,
    numbering,
    people_import,
    sso,
    substitutes,
    tokens,
)
from engine.org.audit import AuditEntry
from engine.org.calendar import WorkingCalendar
from engine.org.calendar_days import calendar_for, may_edit_calendar, remove_calendar_day, set_calendar_day
from engine.org.credential_cache import VerifiedCredentials
from engine.org.demo import PASSWORD, PEOPLE, load_demo
from engine.org.import_bench import run_import_benchmark
from engine.org.models import CalendarDay, Department, Notice, RoleAssignment, Unit, User
from engine.org.people import (
    DEPARTMENT_ROLES,
    PROVINCE_ADMIN,
    ROLES,
    SYSTEM_ADMIN,
    SYSTEM_ROLES,
    authenticate,
    grant_system_role,
    has_system_role,
    hash_password,
    password_checks,
    revoke_system_role,
    roles_in_unit,
    set_language,
    unit_ids_of,
)
from engine.org.people_import import ImportRefused, RowProblem
from engine.org.provinces import PROVINCES, province_name
from engine.org.sso import ExternalIdentity, RoleGrant, SsoPolicy, SsoRefused
from engine.org.tokens import ApiToken, TokenGrant
from engine.reports import iso_calendar
from engine.runtime import business_rules, handlers, leavers, notify_tasks, queries, script_tasks
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
    notify_tasks.NOTIFY_JOB: notify_tasks.send_notice,
    clock.PAUSE_JOB: clock.pause_clock,
    clock.RESUME_JOB: clock.resume_clock,
    dossiers.RECEIVE_JOB: dossiers.receive_dossier,
    dossiers.STATUS_JOB: dossiers.set_status,
    dossiers.APOLOGY_JOB: dossiers.record_apology,
    objectives.PUBLISH_JOB: objectives.publish_objectives,
    reviews.NOTICE_JOB: reviews.open_review,
    reviews.REPORTS_JOB: reviews.record_reports,
    reviews.CONCLUDE_JOB: reviews.conclude_review,
    assignments.OPEN_JOB: assignments.open_assignment,
    assignments.DEPARTMENT_JOB: assignments.start_department,
    assignments.HANDOVER_JOB: assignments.hand_over,
    assignments.REPORT_JOB: assignments.record_report,
    assignments.REVIEW_JOB: assignments.record_review,
    assignments.CLOSE_JOB: assignments.close_assignment,
    audits.PREPARE_JOB: audits.prepare_audit,
    audits.PROGRAMME_JOB: audits.record_programme,
    audits.PLAN_JOB: audits.record_plan,
    audits.FINDINGS_JOB: audits.record_findings,
    audits.CONCLUSION_JOB: audits.record_conclusion,
    audits.CLOSE_FINDING_JOB: audits.close_finding,
    corrective_actions.OPEN_JOB: corrective_actions.open_action,
    corrective_actions.PLAN_JOB: corrective_actions.record_plan,
    corrective_actions.IMPLEMENTED_JOB: corrective_actions.record_implementation,
    corrective_actions.VERIFIED_JOB: corrective_actions.record_verification,
    objectives.LOAD_FOLLOWUP_JOB: objectives.load_followup,
    objectives.RECORD_PROGRESS_JOB: objectives.record_progress,
    policy.PUBLISH_JOB: policy.publish_policy,
    complaints.REGISTER_JOB: complaints.register_complaint,
    complaints.ASSIGN_JOB: complaints.assign_complaint,
    complaints.ANSWER_JOB: complaints.answer_complaint,
    complaints.CLOSE_JOB: complaints.close_complaint,
    documents.CHECK_JOB: documents.check_document,
    documents.ISSUE_JOB: documents.issue_document,
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
    **dict.fromkeys((reviews.NOTICE_JOB, reviews.REPORTS_JOB, reviews.CONCLUDE_JOB), frozenset({reviews.PROCESS_KEY})),
    **dict.fromkeys(assignments.JOBS, frozenset({assignments.PROCESS_KEY})),
    **dict.fromkeys(audits.JOBS, frozenset({audits.PROCESS_KEY})),
    **dict.fromkeys(corrective_actions.JOBS, frozenset({corrective_actions.PROCESS_KEY})),
    objectives.LOAD_FOLLOWUP_JOB: frozenset({objectives.FOLLOWUP_KEY}),
    objectives.RECORD_PROGRESS_JOB: frozenset({objectives.FOLLOWUP_KEY}),
    policy.PUBLISH_JOB: frozenset({policy.PROCESS_KEY}),
    risks.REGISTER_JOB: frozenset({risks.PROCESS_KEY}),
    risks.REVIEW_JOB: frozenset({risks.PROCESS_KEY}),
    versions.ACTIVATE_JOB: frozenset({versions.CHANGE_CONTROL_KEY}),
    versions.RETURN_JOB: frozenset({versions.CHANGE_CONTROL_KEY}),
})  # fmt: skip
"""The built-in jobs that change versions or registers, and the processes that alone may use them (in
any owner's line: a unit's own version of the objectives process publishes that unit's objectives)."""
handlers.install(JOB_HANDLERS, JOB_OWNERS)
admin.install(leavers.return_tasks)  # a leaver's open tasks go back to their pool when the account is switched off

__all__ = [
    # commands and their helpers
    "Engine", "Command", "WorkflowCache", "Deployer", "DeploymentResult", "SourceFile", "expand_upload",
    "JOB_HANDLERS", "JOB_OWNERS", "JobContext", "feel_for_forms", "file_reference", "FileStore", "FileRejected",
    "Upload", "command_scanner", "complete_job", "covered_job", "covered_jobs", "extend_lock", "fail_job",
    "fetch_and_lock", "retry_job", "throw_job_error", "unlock_job",
    "correlate", "send_signal", "sweep_deadlines", "sweep_timers", "run_benchmark", "run_loop_benchmark",
    "run_import_benchmark", "claim",
    # modules of queries and commands the web layer uses as a whole
    "queries", "versions", "instance_moves", "reviews", "assignments", "audits", "corrective_actions", "notices",
    "outbox", "idempotency", "iso_calendar", "substitutes",
    "login_guard", "login_sessions", "numbering", "tokens", "admin", "audit", "people_import", "dossiers",
    # the ISO registers' queries (engine/iso/)
    "risks", "documents", "complaints",
    # single sign-on through an OpenID provider (the protocol is the web layer's)
    "sso", "SsoPolicy", "RoleGrant", "SsoRefused", "ExternalIdentity",
    # organisation
    "authenticate", "roles_in_unit", "unit_ids_of", "ROLES", "SYSTEM_ROLES", "SYSTEM_ADMIN", "PROVINCE_ADMIN",
    "hash_password",
    "has_system_role", "grant_system_role", "revoke_system_role", "load_demo", "PASSWORD", "PEOPLE", "WorkingCalendar",
    "calendar_for", "set_calendar_day", "remove_calendar_day", "may_edit_calendar", "REGISTRY_SETTING",
    "HIGH", "LOW", "VerifiedCredentials", "TokenGrant", "password_checks", "DEPARTMENT_ROLES", "PROVINCES",
    "province_name", "set_language",
    # the ISO registers' reads
    "current_objectives", "objective_sets", "objective_register", "ObjectiveRow", "PROGRESS_STATUSES",
    "current_policy", "policy_text", "policies", "PolicyFilter", "QualityPolicy",
    # tables
    "Base", "Unit", "Department", "User", "RoleAssignment", "Notice", "CalendarDay", "Deployment", "DeployedFile",
    "ProcessDefinition", "DecisionDefinition", "FormDefinition", "ProcessInstance", "TaskRow", "HistoryEvent",
    "StoredFile", "ExternalJob", "TaskCandidate", "ApiToken", "AuditEntry",
    # errors
    "EngineError", "NotFound", "InstanceNotFound", "TaskNotFound", "DefinitionNotFound", "NotAllowed", "Conflict",
    "TaskNotReady", "FieldError", "FormInvalid", "Phrase", "Count", "Problem", "DeploymentRejected", "ExpressionError",
    "EngineStateError", "JobNotFound", "NoOneWaiting", "InvalidFields", "FieldProblem", "ImportRefused",
    "RowProblem",
]  # fmt: skip
