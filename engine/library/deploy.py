"""Deploying uploaded .bpmn and .form files: validate everything first, then store all or nothing."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

import forms
from engine.errors import (
    DefinitionNotFound,
    DeploymentRejected,
    EngineError,
    ExpressionError,
    NotAllowed,
    Phrase,
    Problem,
)
from engine.expressions.dmn import DmnInvalid, DmnModel, load_dmn
from engine.library import versions
from engine.library.delegates import NO_DELEGATES, REGISTRY_SETTING, apply_registry, unmapped_message
from engine.library.deploy_limits import deployment_limits
from engine.library.procedure_limits import procedure_limit_problems
from engine.org.models import Unit, User
from engine.org.people import ROLES
from engine.runtime.deadlines import check_moment
from engine.runtime.handlers import BUILT_IN_JOBS, HANDLERS, JOB_OWNERS, may_use_job
from engine.runtime.iomapping import check_io
from engine.runtime.models import (
    VERSION_TAG_LENGTH,
    DecisionDefinition,
    DeployedFile,
    Deployment,
    FormDefinition,
    ProcessDefinition,
)
from engine.runtime.parsing import (
    BPMN_NS,
    CAMUNDA_NS,
    FLOW_NODE_TAGS,
    MESSAGE_THROW_TAGS,
    ZEEBE_NS,
    EisoParser,
    ProcessInfo,
    compensation_handler,
    compensation_subprocess,
    detect_dialect,
    embedded_forms,
    has_job,
    is_compensation,
    is_compensation_subprocess,
    link_name,
    process_info,
    reached_scopes,
    variable_name,
)
from engine.runtime.priority import check_priority
from engine.runtime.queries import active_definition, in_line
from engine.runtime.script_engine import check_expression, language_of
from engine.runtime.script_tasks import check_script
from engine.runtime.serialization import spec_to_json
from engine.runtime.timers import check_timer
from engine.safe_xml import MAX_FILE_BYTES, parse_xml

MAX_FORM_BYTES = 1024 * 1024
MAX_ZIP_ENTRIES = 200
MAX_ZIP_BYTES = 50 * 1024 * 1024
DEPLOYABLE_KINDS = ("bpmn", "form", "dmn")

# What the engine runs today. Anything else is refused with the element and the reason, so that
# nobody discovers it half-way through a process.
SUPPORTED_ELEMENTS = {
    "startEvent", "endEvent", "userTask", "manualTask", "task", "serviceTask", "sendTask",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "subProcess",
    "intermediateCatchEvent", "boundaryEvent",  # with a timer: other event definitions are refused below
    "intermediateThrowEvent",  # a message thrown by a job worker; other event definitions are refused below
    "businessRuleTask", "scriptTask", "receiveTask", "callActivity",
}  # fmt: skip
SUPPORTED_EVENT_DEFINITIONS = {
    "terminateEventDefinition", "timerEventDefinition", "messageEventDefinition", "errorEventDefinition",
    "escalationEventDefinition", "signalEventDefinition", "conditionalEventDefinition", "linkEventDefinition",
    "compensateEventDefinition",  # where compensation runs: checked in _compensation_problems
}  # fmt: skip
# Which event definitions each kind of event may carry (BPMN 2.0, table 10.93/10.95, as both Camunda engines run them).
CATCHES = {
    "intermediateCatchEvent": ("timer", "message", "signal", "conditional"),
    "boundaryEvent": ("timer", "message", "signal", "conditional", "error", "escalation"),
    "eventSubprocessStart": ("timer", "message", "signal", "error", "escalation"),
}
EVENT_KINDS = ("timer", "message", "signal", "conditional", "error", "escalation")
EVENT_NAMES = {"timer": Phrase("timer"), "message": Phrase("message"), "signal": Phrase("signal"),
               "conditional": Phrase("conditional"), "error": Phrase("error"),
               "escalation": Phrase("escalation")}  # fmt: skip


@dataclass
class SourceFile:
    filename: str
    content: bytes

    @property
    def kind(self) -> str:
        return self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class _ParsedForm:
    source: SourceFile
    form_key: str
    schema: dict[str, Any]


@dataclass
class _ParsedProcess:
    source: SourceFile
    info: ProcessInfo
    dialect: str
    spec_json: str
    executable: bool = True
    problems: list[Problem] = field(default_factory=list)  # why a documentation diagram cannot run


@dataclass(frozen=True)
class _Target:
    """Where a deployment goes: the owning unit (None: the shared library), and why it changed."""

    unit_id: int | None = None
    change_summary: str = ""


@dataclass
class DeploymentResult:
    deployment: Deployment
    definitions: list[ProcessDefinition]
    forms: list[FormDefinition]
    unchanged: list[ProcessDefinition] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def _content_hash(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _parse_form(source: SourceFile, problems: list[Problem]) -> _ParsedForm | None:
    if len(source.content) > MAX_FORM_BYTES:
        problems.append(Problem(source.filename, "The form file is larger than 1 MB; keep a form below 1 MB."))
        return None
    unreadable = _empty_or_binary(source)
    if unreadable is not None:
        problems.append(unreadable)
        return None
    try:
        schema = json.loads(source.content)
    except UnicodeDecodeError:
        problems.append(Problem(source.filename, "The form file is not UTF-8 text; save it again in Camunda "
                                                 "Modeler's form editor."))  # fmt: skip
        return None
    except json.JSONDecodeError as exc:
        problems.append(Problem(source.filename, Phrase(
            "The form file is not valid JSON (line %(line)s, column %(column)s); save it again in Camunda Modeler's "
            "form editor.", line=exc.lineno, column=exc.colno), line=exc.lineno))  # fmt: skip
        return None
    if not isinstance(schema, dict) or not isinstance(schema.get("components"), list):
        problems.append(Problem(source.filename, "Not a form-js form: the top level needs 'components'."))
        return None
    try:
        forms.load_form_js(schema)
    except forms.FormSchemaError as exc:
        problems.append(Problem(source.filename, Phrase.of(exc)))
        return None
    # A form without an id can still be used by its file name (Camunda 7: camunda-forms:deployment:x.form).
    return _ParsedForm(source, str(schema.get("id") or f"file:{source.filename}"), schema)


def _embedded_forms(files: list[SourceFile], problems: list[Problem]) -> list[_ParsedForm]:
    """Forms a Camunda 8 diagram carries inside itself (``zeebe:userTaskForm``), by their id."""
    found = []
    for file in files:
        if file.kind != "bpmn":
            continue
        tree, _ = parse_xml(file.content, file.filename)
        if tree is None:
            continue  # reported when the diagram itself is read
        for form_id, text in embedded_forms(tree.getroot()).items():
            embedded = SourceFile(f"{file.filename}#{form_id}", text.encode())
            parsed = _parse_form(embedded, problems)
            if parsed is not None:
                found.append(_ParsedForm(embedded, form_id, parsed.schema))
    return found


# Extensions that would run code or change what a step does; eISO cannot honour them, so it refuses them
# instead of silently running the diagram differently. (asyncBefore/After, historyTimeToLive and the like
# only tune a Camunda engine's transactions or housekeeping and are ignored.)
BEHAVIOUR_EXTENSIONS = {
    f"{{{CAMUNDA_NS}}}executionListener": Phrase("Execution listeners run Java or scripts, which eISO does not run"),
    f"{{{CAMUNDA_NS}}}taskListener": Phrase("Task listeners run Java or scripts, which eISO does not run"),
    f"{{{CAMUNDA_NS}}}connector": Phrase("Camunda 7 connectors call other systems from inside the engine"),
    f"{{{CAMUNDA_NS}}}errorEventDefinition": Phrase(
        "Error expressions on an external task are evaluated by Camunda 7 only"),
    f"{{{ZEEBE_NS}}}executionListeners": Phrase("Execution listeners need job workers eISO does not start"),
    f"{{{ZEEBE_NS}}}taskListeners": Phrase("Task listeners need job workers eISO does not start"),
}


def _unsupported(info: ProcessInfo, process: etree._Element, filename: str) -> list[Problem]:
    """What in one process eISO cannot run (each process of a file is checked on its own, so a problem is
    reported once)."""
    problems = []
    for extension in process.iter(*BEHAVIOUR_EXTENSIONS):
        owner = extension.getparent()
        while owner is not None and (etree.QName(owner).namespace != BPMN_NS or owner.get("id") is None):
            owner = owner.getparent()
        reason = BEHAVIOUR_EXTENSIONS[extension.tag]
        problems.append(Problem(
            filename, Phrase("%(reason)s; remove the %(extension)s (model the work as a step: a service task whose "
                             "job a worker does), or deploy the diagram as documentation.", reason=reason,
                             extension=etree.QName(extension).localname),
            element_id=owner.get("id") if owner is not None else None,
            element_name=owner.get("name") if owner is not None else None, line=extension.sourceline,
        ))  # fmt: skip
    for node in process.iter(f"{{{BPMN_NS}}}*"):
        tag = etree.QName(node).localname
        if tag.endswith("EventDefinition") and tag not in SUPPORTED_EVENT_DEFINITIONS:
            parent = node.getparent()
            problems.append(
                Problem(
                    filename,
                    Phrase("%(definition)s is not supported by eISO yet; model this step without it.", definition=tag),
                    element_id=parent.get("id") if parent is not None else None,
                    element_name=parent.get("name") if parent is not None else None,
                    line=node.sourceline,
                )
            )
    for element_id, element in info.elements.items():
        if element["type"] not in SUPPORTED_ELEMENTS:
            problems.append(
                Problem(
                    filename,
                    Phrase("Element type %(type)s is not supported by eISO yet; model this step with the supported "
                           "elements (docs/engine.md) or deploy the diagram as documentation.", type=element["type"]),
                    element_id=element_id,
                    element_name=element["name"],
                    line=element["line"],
                )
            )
    return problems


def _check_elements(
    info: ProcessInfo, filename: str, form_keys: set[str], decision_keys: set[str] | frozenset[str] = frozenset(),
    dialect: str = "camunda8",
) -> list[Problem]:
    problems = []
    for element_id, element in info.elements.items():

        def problem(message: Phrase, el: dict[str, Any] = element, eid: str = element_id) -> None:
            problems.append(Problem(filename, message, element_id=eid, element_name=el["name"], line=el["line"]))

        form_key = element.get("form_key")
        if form_key and form_key.startswith(("embedded:", "app:")):
            problem(Phrase("The form '%(form)s' is an HTML or JSF page, which eISO cannot show; draw the form in "
                           "Camunda Modeler's form editor (.form) and link it.", form=form_key))  # fmt: skip
        elif form_key and form_key not in form_keys:
            shown = form_key.removeprefix("file:")
            problem(Phrase("The form '%(form)s' is not deployed; upload its .form file with this diagram.", form=shown))
        external = str(element.get("external_form") or "").strip()
        if external.startswith("="):
            _check_expr(external, problem)
        elif external and urlsplit(external).scheme not in ("http", "https"):
            problem(Phrase("The form's external reference '%(ref)s' is not a web address; eISO links people only "
                           "to http or https addresses. Give the form's address.", ref=external))  # fmt: skip
        if element["type"] == "userTask":
            for role in element["candidate_groups"]:
                if role.startswith("="):
                    _check_expr(role, problem)
                elif role.partition(":")[0] not in ROLES:
                    problem(Phrase("Candidate group '%(group)s' names no role. Use one of: %(known)s.", group=role,
                                   known=", ".join(ROLES)))  # fmt: skip
            _check_task_schedule(element, problem)
            if not element["candidate_groups"] and not element["candidate_users"] and not element["assignee"]:
                unassigned = Phrase("The user task has no assignment; only the unit's administrators will see it.")
                problems.append(
                    Problem(filename, unassigned, element_id=element_id, element_name=element["name"],
                            line=element["line"], severity="warning")
                )  # fmt: skip
        if element.get("io"):
            try:
                check_io(element["io"])
            except ExpressionError as exc:
                problem(Phrase("An input/output mapping cannot be used: %(reason)s", reason=exc.phrase))
        if element["type"] == "scriptTask":
            try:
                check_script(element.get("script") or {})
            except ExpressionError as exc:
                problem(Phrase("The script cannot run: %(reason)s", reason=exc.phrase))
        if element["type"] == "businessRuleTask" and not _waits_as_job(element):
            if not element.get("decision_id"):
                problem(Phrase("The business rule task calls no decision: set its decision id (decisionRef in "
                               "Camunda 7)."))  # fmt: skip
            elif element["decision_id"] not in decision_keys:
                problem(Phrase("The decision '%(decision)s' is not deployed; upload its .dmn file with this diagram.",
                               decision=element["decision_id"]))  # fmt: skip
        if "timer" in element:
            try:
                check_timer(element["timer"]["kind"], element["timer"]["expression"])
            except ExpressionError as exc:
                problem(Phrase("The timer cannot be used: %(reason)s", reason=exc.phrase))
        _check_events(element, problem, dialect, element_id)
        loop = element.get("multi_instance") or {}
        for part in ("collection", "output_element"):
            if loop.get(part) and variable_name(loop[part]) is None:
                _check_expr(loop[part], problem)
        if element["type"] == "callActivity":
            _check_call(element["call"], problem)
        if "message" in element and element["type"] not in MESSAGE_THROW_TAGS:  # a thrown message: its job below
            message = element["message"]
            if not message.get("name") and not message.get("ref"):
                problem(Phrase("The message event names no message; choose or define one in the Message section of "
                               "Camunda Modeler's properties panel."))  # fmt: skip
            elif not message.get("name"):
                problem(Phrase("The event refers to message '%(ref)s', which the file does not define; define it or "
                               "choose a defined one.", ref=message.get("ref")))  # fmt: skip
            elif message.get("correlation_key", "") and str(message["correlation_key"]).startswith(("=", "${")):
                _check_expr(message["correlation_key"], problem)
        if _waits_as_job(element) and not (dialect == "camunda7" and _c7_none_message_event(element)):
            _check_job(element, problem, info.key)
    for flow_id, flow in info.flows.items():
        for end in ("source", "target"):
            if flow[end] not in info.elements:
                what = Phrase("source") if end == "source" else Phrase("target")
                problems.append(Problem(filename, Phrase(
                    "The sequence flow's %(end)s '%(ref)s' does not exist; connect the flow again in Camunda Modeler.",
                    end=what, ref=flow[end]), element_id=flow_id, line=flow.get("line")))  # fmt: skip
        if flow["condition"]:

            def flow_problem(message: Phrase, fid: str = flow_id, name: str = flow["name"],
                             line: int | None = flow.get("line")) -> None:  # fmt: skip
                problems.append(Problem(filename, message, element_id=fid, element_name=name, line=line))

            _check_condition(flow["condition"], dialect, flow_problem, flow["name"] or flow_id, flow.get("line"))
    if not any(e["type"] == "startEvent" for e in info.elements.values()):
        problems.append(Problem(filename, Phrase("Process '%(key)s' has no start event; add one.", key=info.key)))
    return problems


JOB_STEPS = {"serviceTask": Phrase("service task"), "sendTask": Phrase("send task"),
             "businessRuleTask": Phrase("business rule task")}  # fmt: skip


def _waits_as_job(element: dict[str, Any]) -> bool:
    """Service and send tasks, message throw events, and business rule tasks that a worker does."""
    if element["type"] in MESSAGE_THROW_TAGS:
        return "message" in element
    if element["type"] == "businessRuleTask":
        return has_job(element)  # the index keeps a job only when no decision is called
    return element["type"] in JOB_STEPS


def _c7_none_message_event(element: dict[str, Any]) -> bool:
    """A Camunda 7 message throw or end event without an implementation: Camunda 7 passes it as a none event."""
    return element["type"] in MESSAGE_THROW_TAGS and not element.get("job_type") and not element.get("delegate")


def _check_job(element: dict[str, Any], report: Any, process_key: str) -> None:
    """The step names a job type (perhaps through a registered Java delegate) that is not eISO's own, or a
    built-in one this process may use (those that change versions or registers belong to one process)."""
    job_type = element.get("job_type")
    if job_type and not may_use_job(job_type, process_key):
        report(Phrase("The job type '%(job)s' changes eISO's records and belongs to the process '%(owners)s'; "
                      "'%(key)s' may not use it. Choose another job type (an external worker).", job=job_type,
                      owners=", ".join(sorted(JOB_OWNERS[job_type])), key=process_key))  # fmt: skip
        return
    usable = {t for t in HANDLERS if t not in BUILT_IN_JOBS.values() and may_use_job(t, process_key)}
    known = ", ".join(sorted(usable)) or "none"  # a register's own jobs are for its process only
    if not job_type and element.get("delegate"):
        report(unmapped_message(element))
    elif not job_type and element["type"] in MESSAGE_THROW_TAGS:
        report(Phrase("A message event that sends a message needs a job whose worker sends it, as in Camunda: set "
                      "its task definition type (Camunda 8) or an external topic on its message definition (Camunda "
                      "7; a Java delegate there must be mapped in %(setting)s). Built-in job types: %(known)s; any "
                      "other type waits for an external worker.", setting=REGISTRY_SETTING, known=known))  # fmt: skip
    elif not job_type:
        report(Phrase("The %(step)s has no job type: set its task definition type (Camunda 8) or external topic "
                      "(Camunda 7), or map its Java delegate in %(setting)s. Built-in job types: %(known)s; any "
                      "other type waits for an external worker.", step=JOB_STEPS[element["type"]],
                      setting=REGISTRY_SETTING, known=known))  # fmt: skip
    elif job_type in BUILT_IN_JOBS.values():
        report(Phrase("The job type '%(job)s' is reserved for eISO's own tasks; choose another.", job=job_type))


def _check_task_schedule(element: dict[str, Any], report: Any) -> None:
    """A user task's priority, due date and follow-up date can be evaluated when the task arrives."""
    checks = (("priority", check_priority, Phrase("The priority")), ("due_date", check_moment, Phrase("The due date")),
              ("follow_up_date", check_moment, Phrase("The follow-up date")))  # fmt: skip
    for key, check, what in checks:
        if not element.get(key):
            continue
        try:
            check(str(element[key]))
        except EngineError as exc:
            report(Phrase("%(what)s cannot be used: %(reason)s", what=what, reason=exc.phrase))


def _check_version_tag(info: ProcessInfo, filename: str) -> list[Problem]:
    if info.version_tag is None or len(info.version_tag) <= VERSION_TAG_LENGTH:
        return []
    message = Phrase("The version tag is longer than %(limit)s characters; shorten it (e.g. '2.1').",
                     limit=VERSION_TAG_LENGTH)  # fmt: skip
    return [Problem(filename, message, element_id=info.key, element_name=info.name)]


def _check_events(element: dict[str, Any], problem: Any, dialect: str = "camunda8", element_id: str = "") -> None:
    """Errors, escalations, signals and conditions: defined where they are used, and used where BPMN allows."""
    kinds = [k for k in EVENT_KINDS if k in element]
    kind_name = element["type"]
    if element["type"] == "startEvent" and element.get("in_event_subprocess"):
        kind_name = "eventSubprocessStart"
        if not kinds and "compensation" not in element:  # compensation: refused on its own
            problem(Phrase("The start event of an event subprocess needs an event (timer, message, signal, error or "
                           "escalation) that starts it."))  # fmt: skip
    if "link" in element and element["type"] not in ("intermediateCatchEvent", "intermediateThrowEvent"):
        problem(Phrase("A link event can only be an intermediate throw or catch event; use a sequence flow here."))
    allowed = CATCHES.get(kind_name)
    if allowed is not None:
        refused_apart = "link" in element or "compensation" in element  # a link passes; compensation: refused above
        if kind_name != "eventSubprocessStart" and not kinds and not refused_apart:
            problem(Phrase("This event waits for nothing: give it a timer, message, signal or condition, or "
                           "remove it."))  # fmt: skip
        for kind in kinds:
            if kind not in allowed:
                problem(Phrase("A %(kind)s event cannot be used here in eISO; it can wait as: %(allowed)s.",
                               kind=EVENT_NAMES[kind], allowed=[EVENT_NAMES[k] for k in allowed]))  # fmt: skip
    elif element["type"] == "startEvent":
        for kind in sorted(set(kinds) - {"timer", "message", "signal"}):
            problem(Phrase("A process cannot start with a %(kind)s event; use a none, timer, message or signal "
                           "start event.", kind=EVENT_NAMES[kind]))  # fmt: skip
    elif element["type"] == "intermediateThrowEvent":
        for kind in sorted(set(kinds) & {"error", "conditional", "timer"}):
            if kind == "error":
                problem(Phrase("An error event cannot be thrown in the middle of a path; end the path with an error "
                               "end event."))  # fmt: skip
            else:
                problem(Phrase("A %(kind)s event cannot be thrown in the middle of a path; remove it.",
                               kind=EVENT_NAMES[kind]))  # fmt: skip
    for kind in ("error", "escalation"):
        if kind in element and not element[kind].get("defined"):
            problem(Phrase("The event refers to %(kind)s '%(ref)s', which the file does not define; define it or "
                           "choose a defined one.", kind=EVENT_NAMES[kind], ref=element[kind].get("ref")))  # fmt: skip
        thrown = element["type"] in ("endEvent", "intermediateThrowEvent")
        if kind in element and thrown and element[kind].get("defined") and not element[kind].get("code"):
            problem(Phrase("The thrown %(kind)s has no code; set its code so that an event can catch it.",
                           kind=EVENT_NAMES[kind]))  # fmt: skip
    if "signal" in element and not element["signal"].get("name"):
        problem(Phrase("The event refers to signal '%(ref)s', which the file does not define; define it or choose a "
                       "defined one.", ref=element["signal"].get("ref")))  # fmt: skip
    if "conditional" in element:
        condition = element["conditional"].get("condition")
        if not condition:
            problem(Phrase("The conditional event has no condition; write one (FEEL '=…' or Camunda 7 '${…}')."))
        elif dialect == "bpmn":  # named as for a flow's condition: which language it was read as, and why
            _check_condition(condition, dialect, problem, element.get("name") or element_id, element.get("line"))
        else:
            _check_expr(condition, problem)


def _check_call(call: dict[str, Any], problem: Any) -> None:
    """A call activity names the process it calls and a binding eISO knows; its expressions parse."""
    element = call.get("element") or ""
    if not element:
        where = "zeebe:calledElement processId" if call["dialect"] == "camunda8" else "calledElement"
        problem(Phrase("The call activity names no process to call: set its called element (%(where)s).",
                       where=where))  # fmt: skip
    elif element.startswith("=") or "${" in element or "#{" in element:
        _check_expr(element, problem)
    binding = call.get("binding") or "latest"
    if binding not in ("latest", "deployment", "version", "versionTag"):
        problem(Phrase("The call activity's binding '%(binding)s' is unknown; use latest, deployment, version or "
                       "versionTag.", binding=binding))  # fmt: skip
    elif binding == "version" and not call.get("version"):
        problem(Phrase("The call activity binds to a version but names none: set calledElementVersion."))
    elif binding == "versionTag" and not call.get("version_tag"):
        problem(Phrase("The call activity binds to a version tag but names none: set the version tag to call."))
    for mapping in call.get("in", []) + call.get("out", []):
        for key in ("source_expression", "business_key"):
            if mapping.get(key) and ("${" in mapping[key] or "#{" in mapping[key]):
                _check_expr(mapping[key], problem)
        if not (mapping["all"] or mapping["business_key"] or mapping["target"]):
            problem(Phrase("A camunda:in/out mapping of the call activity has no target; set its target or "
                           "variables='all'."))  # fmt: skip


LANGUAGE_NAMES = {"feel": "FEEL", "juel": "JUEL", "python": "Python"}


def _check_condition(condition: str, dialect: str, report: Any, element: str = "", line: int | None = None) -> None:
    """A condition in the language of its dialect: Camunda 8 reads FEEL after '=', Camunda 7 JUEL in ``${…}``;
    written without them, Camunda would read it as a plain text, never true, so it is refused here. A plain
    BPMN diagram (neither dialect) may use any of eISO's three languages: one that does not parse is refused
    naming the flow, its line, the language it was read as and how eISO tells them apart."""
    language = language_of(condition)
    if dialect == "camunda8" and language != "feel":
        report(Phrase("The condition '%(condition)s' is not an expression: in a Camunda 8 diagram a condition is FEEL "
                      "starting with '=', e.g. '=%(condition)s'.", condition=condition))  # fmt: skip
    elif dialect == "camunda7" and language == "python":
        report(Phrase("The condition '%(condition)s' is not an expression: in a Camunda 7 diagram a condition is "
                      "written ${…}, e.g. '${%(condition)s}'.", condition=condition))  # fmt: skip
    elif dialect == "bpmn":
        try:
            check_expression(condition)
        except ExpressionError as exc:
            report(Phrase("The condition '%(condition)s' on '%(element)s' (line %(line)s) cannot be read as "
                          "%(language)s: %(reason)s In a plain BPMN diagram (neither Camunda 7 nor Camunda 8) eISO "
                          "reads a condition starting with '=' as FEEL, one written ${…} as JUEL, and any other as a "
                          "Python expression (e.g. amount > 5).", condition=condition, element=element,
                          line=line if line is not None else "?", language=LANGUAGE_NAMES[language],
                          reason=exc.phrase))  # fmt: skip
    else:
        _check_expr(condition, report)


def _check_expr(expression: str, report: Any) -> None:
    try:
        check_expression(expression)
    except ExpressionError as exc:
        report(Phrase("Expression %(expression)s cannot be used: %(reason)s", expression=repr(expression),
                      reason=exc.phrase))  # fmt: skip


def _duplicate_ids(root: etree._Element, filename: str) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for node in root.iter():
        node_id = node.get("id") if isinstance(node.tag, str) else None
        if node_id is None:
            continue
        if node_id in seen:
            problems.append(
                Problem(filename, Phrase("The id '%(id)s' is used twice (first on line %(line)s); give each element "
                                         "its own id.", id=node_id, line=seen[node_id]),
                        element_id=node_id, line=node.sourceline)
            )  # fmt: skip
        else:
            seen[node_id] = node.sourceline or 0
    return problems


def _bpmn_root(source: SourceFile, problems: list[Problem]) -> etree._Element | None:
    """The ``definitions`` element of a BPMN file, or None with the reason added to ``problems``."""
    tree, xml_problems = parse_xml(source.content, source.filename)
    if tree is None:
        problems.extend(_explain_unparsable(source, xml_problems))
        return None
    root = tree.getroot()
    if root.tag != f"{{{BPMN_NS}}}definitions":
        problems.append(_not_bpmn(source.filename, root))
        return None
    return root


def _processes(root: etree._Element, delegates: Mapping[str, str]) -> list[tuple[ProcessInfo, etree._Element]]:
    """Every process of a file with its element index, Java delegates mapped through the registry."""
    processes = [(process_info(p), p) for p in root.iterfind(f"{{{BPMN_NS}}}process")]
    for info, _ in processes:
        apply_registry(info, delegates)
    return processes


def _parse_bpmn(
    source: SourceFile,
    form_keys: set[str],
    problems: list[Problem],
    decision_keys: set[str] | frozenset[str] = frozenset(),
    delegates: Mapping[str, str] = NO_DELEGATES,
) -> list[_ParsedProcess]:
    root = _bpmn_root(source, problems)
    if root is None:
        return []
    found = _duplicate_ids(root, source.filename)
    processes = _processes(root, delegates)
    executable = [(info, node) for info, node in processes if info.executable]
    if not executable:
        found.append(Problem(source.filename, "No executable process: tick 'Executable' in Camunda Modeler, or "
                                              "deploy the diagram as documentation."))
    dialect = detect_dialect(root)
    for info, node in executable:
        found.extend(_process_problems(info, node, source.filename, form_keys, decision_keys, dialect))
    if [p for p in found if p.severity == "error"]:
        problems.extend(found)
        return []
    problems.extend(found)
    return [_spiff_spec(source, root, info, dialect, problems) for info, _ in executable]


def _process_problems(
    info: ProcessInfo,
    node: etree._Element,
    filename: str,
    form_keys: set[str],
    decision_keys: set[str] | frozenset[str],
    dialect: str,
) -> list[Problem]:
    """Everything that stops one process from running in eISO."""
    return [
        *_unsupported(info, node, filename),
        *_check_elements(info, filename, form_keys, decision_keys, dialect),
        *_check_version_tag(info, filename),
        *_unreachable(node, filename),
        *_unguarded_flows(node, filename),
        *_link_problems(node, filename),
        *_event_gateway_problems(info, filename),
        *_compensation_problems(node, info, filename, dialect),
        *procedure_limit_problems(node, filename),
    ]


# --- documentation-only diagrams -------------------------------------------------------------------


def _kept_beside_documentation(files: list[SourceFile], found: list[Problem]) -> list[Problem]:
    """The forms and decision tables of a folder deployed as documentation: they let the diagrams' references
    be checked and are kept as files of the deployment, but never put into use (a documentation diagram runs
    nothing, and must not replace a live form or table of the same id). What is wrong with one of them is
    said, without refusing the diagrams."""
    said = [Problem(p.file, p.text, p.element_id, p.element_name, p.line, severity="warning") for p in found]
    for file in files:
        if file.kind in ("form", "dmn"):
            said.append(Problem(file.filename, Phrase("Kept with the diagrams as a file, not put into use: a diagram "
                                                      "deployed as documentation runs no form or decision table. "
                                                      "Deploy the .%(kind)s file with an executable diagram to use "
                                                      "it.", kind=file.kind), severity="warning"))  # fmt: skip
    return said



def _parse_documentation(
    source: SourceFile,
    form_keys: set[str],
    problems: list[Problem],
    decision_keys: set[str] | frozenset[str] = frozenset(),
    delegates: Mapping[str, str] = NO_DELEGATES,
) -> list[_ParsedProcess]:
    """A diagram kept as documentation only has to be BPMN; what stops it from running is kept with it."""
    root = _bpmn_root(source, problems)
    if root is None:
        return []
    processes = _processes(root, delegates)
    if not processes:
        problems.append(Problem(source.filename, "The file holds no process to document; export it from a BPMN "
                                                 "tool."))
        return []
    reasons = _reasons_not_to_run(source, root, processes, form_keys, decision_keys, delegates)
    info = _documented_process(root, [info for info, _ in processes], source.filename)
    return [_ParsedProcess(source, info, detect_dialect(root), "", executable=False, problems=reasons)]


def _reasons_not_to_run(
    source: SourceFile,
    root: etree._Element,
    processes: list[tuple[ProcessInfo, etree._Element]],
    form_keys: set[str],
    decision_keys: set[str] | frozenset[str],
    delegates: Mapping[str, str],
) -> list[Problem]:
    """The executable check's problems, plus those of the processes not marked executable."""
    found: list[Problem] = []
    _embedded_forms([source], found)
    _parse_bpmn(source, form_keys, found, decision_keys, delegates)
    for info, node in processes:
        if not info.executable:
            dialect = detect_dialect(node.getroottree().getroot())
            found.extend(_process_problems(info, node, source.filename, form_keys, decision_keys, dialect))
    unique = {(p.message, p.element_id, p.line): p for p in found if p.severity == "error"}
    return list(unique.values())


def _documented_process(root: etree._Element, processes: list[ProcessInfo], filename: str) -> ProcessInfo:
    """One definition per diagram: named after its executable (else largest) process, indexing all of them."""
    main = max(processes, key=lambda info: (info.executable, len(info.elements)))
    participant = root.find(f"{{{BPMN_NS}}}collaboration/{{{BPMN_NS}}}participant[@processRef='{main.key}']")
    fallback = root.get("name") or (participant.get("name") if participant is not None else None)
    name = main.name if main.name != main.key else fallback or PurePosixPath(filename).stem
    return ProcessInfo(
        key=main.key, name=name, description=main.description, executable=False, starter_roles=[],
        version_tag=main.version_tag,
        elements={k: v for info in processes for k, v in info.elements.items()},
        flows={k: v for info in processes for k, v in info.flows.items()},
    )  # fmt: skip


def _spiff_spec(
    source: SourceFile, root: etree._Element, info: ProcessInfo, dialect: str, problems: list[Problem]
) -> _ParsedProcess:
    parser = EisoParser()
    try:
        parser.add_bpmn_xml(etree.ElementTree(_without_data_associations(root)), filename=source.filename)
        spec = parser.get_spec(info.key)
        subs = parser.get_subprocess_specs(info.key)
    except (ValidationException, SpiffWorkflowException) as exc:
        element = getattr(exc, "id", None) or None
        line = getattr(exc, "line_number", None) or _line_of(root, element)
        reason = Phrase.of(_plain(str(exc)))  # SpiffWorkflow's own words: not in the catalogue
        problems.append(Problem(source.filename, Phrase("The engine cannot run this model: %(reason)s", reason=reason),
                                element, line=line))  # fmt: skip
        return _ParsedProcess(source, info, dialect, "")
    return _ParsedProcess(source, info, dialect, spec_to_json(spec, subs))


DATA_ASSOCIATIONS = (f"{{{BPMN_NS}}}dataInputAssociation", f"{{{BPMN_NS}}}dataOutputAssociation")


def _without_data_associations(root: etree._Element) -> etree._Element:
    """The diagram as the engine runs it: data stores, data objects and the arrows to them are documentation
    in Camunda (its engines read neither), so their associations are left out of what is run."""
    if not any(True for _ in root.iter(*DATA_ASSOCIATIONS)):
        return root
    copy = etree.fromstring(etree.tostring(root))  # the caller's tree (and its line numbers) stays as it is
    for association in list(copy.iter(*DATA_ASSOCIATIONS)):
        parent = association.getparent()
        if parent is not None:
            parent.remove(association)
    return copy


_OBJECT_TEXT = re.compile(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-f]+>")


def _plain(text: str) -> str:
    """A parser's message without Python's picture of an XML element (``<Element {…}sourceRef at 0x…>``)."""
    return _OBJECT_TEXT.sub(lambda m: f"<{m.group(1)}>", text).strip()


def _line_of(root: etree._Element, element_id: str | None) -> int | None:
    if not element_id:
        return None
    found = root.xpath("//*[@id=$id]", id=element_id)
    return found[0].sourceline if found and isinstance(found[0], etree._Element) else None


# --- files that are not XML at all, or not BPMN ---------------------------------------------------


def _looks_binary(content: bytes) -> bool:
    head = content[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text has NUL bytes by design
        return False
    controls = sum(1 for byte in head if byte < 0x20 and byte not in b"\t\n\r")
    return b"\0" in head or controls > len(head) // 100


def _empty_or_binary(source: SourceFile) -> Problem | None:
    if not source.content.strip():
        return Problem(
            source.filename, "The file is empty; save it again in Camunda Modeler and upload the saved file."
        )
    if _looks_binary(source.content):
        return Problem(source.filename, Phrase("The file is binary data, not a .%(kind)s text file; upload the file "
                                               "exactly as Camunda Modeler saved it.", kind=source.kind))
    return None


def _is_truncated(content: bytes) -> bool:
    """An XML file that never reaches the end of its root element: the upload or the save was cut off."""
    text = content.strip()
    return text.startswith(b"<") and not text.endswith(b"definitions>")


def _explain_unparsable(source: SourceFile, found: list[Problem]) -> list[Problem]:
    """Replace libxml2's wording with what the person uploading can do about it."""
    if len(source.content) > MAX_FILE_BYTES:
        return found
    plain = _empty_or_binary(source)
    if plain is not None:
        return [plain]
    if b"<!DOCTYPE" in source.content or b"<!ENTITY" in source.content:
        return [
            Problem(
                source.filename,
                "The file declares a DTD or entities (<!DOCTYPE>, <!ENTITY>); BPMN files "
                "never need them and they are refused for safety. Remove them or save the diagram again.",
            )
        ]
    first = found[0] if found else Problem(source.filename, "The file is not well-formed XML.")
    if "Excessive depth" in first.message:
        return [
            Problem(
                source.filename,
                "The file is not well-formed XML for eISO: its elements are nested more than "
                "256 levels deep, which no diagram needs. Save the diagram again in Camunda Modeler.",
                line=first.line,
            )
        ]
    if _is_truncated(source.content):
        return [
            Problem(
                source.filename,
                "The file is not well-formed XML: it ends early, as if cut off. Save the "
                "diagram again in Camunda Modeler and upload the whole file.",
                line=first.line,
            )
        ]
    return found


def _not_bpmn(filename: str, root: etree._Element) -> Problem:
    qname = etree.QName(root)
    if qname.localname == "definitions":
        return Problem(
            filename,
            Phrase("Not a BPMN 2.0 file: the definitions use the namespace '%(namespace)s' instead of '%(bpmn)s'. "
                   "Export the diagram as BPMN 2.0 XML.", namespace=qname.namespace or "", bpmn=BPMN_NS),
            line=root.sourceline,
        )
    return Problem(
        filename,
        Phrase("Not a BPMN 2.0 file: the root element is <%(root)s>, not <bpmn:definitions>. Upload the .bpmn file "
               "saved by Camunda Modeler.", root=qname.localname),
        line=root.sourceline,
    )


# --- the shape of the flow: unreachable elements, gateways without conditions ----------------------


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _flow_nodes(scope: etree._Element) -> Iterator[etree._Element]:
    """The flow nodes placed directly in a process or subprocess (not inside nested subprocesses)."""
    return (child for child in scope if _local(child) in FLOW_NODE_TAGS and child.get("id"))


def _entry_points(scope: etree._Element) -> list[etree._Element]:
    """What runs when a scope starts: its start events, and its event subprocesses (they wait for their trigger)."""
    return [
        node
        for node in _flow_nodes(scope)
        if _local(node) == "startEvent" or (_local(node) == "subProcess" and node.get("triggeredByEvent") == "true")
    ]


class _FlowGraph:
    """Which flow node leads to which: sequence flows, boundary events, subprocess starts and link events."""

    def __init__(self, process: etree._Element) -> None:
        self.nodes = {n.get("id"): n for n in process.iter(f"{{{BPMN_NS}}}*") if _local(n) in FLOW_NODE_TAGS}
        self.next: dict[str, list[str]] = {}
        for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
            self.next.setdefault(flow.get("sourceRef", ""), []).append(flow.get("targetRef", ""))
        for node_id, node in self.nodes.items():
            if _local(node) == "boundaryEvent":
                self.next.setdefault(node.get("attachedToRef", ""), []).append(node_id)
            if _local(node) in ("subProcess", "transaction", "adHocSubProcess"):
                self.next.setdefault(node_id, []).extend(n.get("id") for n in _entry_points(node))
        self._link_events()

    def _link_events(self) -> None:
        catches: dict[str, list[str]] = {}
        for node_id, node in self.nodes.items():
            if _local(node) == "intermediateCatchEvent" and link_name(node):
                catches.setdefault(f"{id(node.getparent())}:{link_name(node)}", []).append(node_id)
        for node_id, node in self.nodes.items():
            if _local(node) == "intermediateThrowEvent" and link_name(node):
                key = f"{id(node.getparent())}:{link_name(node)}"
                self.next.setdefault(node_id, []).extend(catches.get(key, []))

    def reachable(self, roots: list[str]) -> set[str]:
        seen: set[str] = set()
        todo = list(roots)
        while todo:
            node_id = todo.pop()
            if node_id not in seen:
                seen.add(node_id)
                todo.extend(self.next.get(node_id, []))
        return seen


def _unreachable(process: etree._Element, filename: str) -> list[Problem]:
    """Elements no path leads to from a start event. Only the outermost unreachable scope is reported."""
    graph = _FlowGraph(process)
    seen = graph.reachable([n.get("id") for n in _entry_points(process)])
    if not seen:
        return []  # no start event at all: reported on its own
    problems = []
    for node_id, node in graph.nodes.items():
        parent = node.getparent()
        parent_reached = parent is process or (parent is not None and parent.get("id") in seen)
        if node_id in seen or not parent_reached or node.get("isForCompensation") == "true":
            continue
        problems.append(
            Problem(
                filename,
                "No path leads to this element from a start event; connect it with a sequence flow or delete it.",
                element_id=node_id,
                element_name=node.get("name") or "",
                line=node.sourceline,
            )
        )
    return problems


def _link_problems(process: etree._Element, filename: str) -> list[Problem]:
    """Link events pair by name within one process or subprocess: every throw needs its catch, and a name is
    caught once (Camunda refuses the same)."""
    problems = []

    def problem(node: etree._Element, message: Phrase) -> None:
        problems.append(Problem(filename, message, element_id=node.get("id"), element_name=node.get("name") or "",
                                line=node.sourceline))  # fmt: skip

    catches: dict[tuple[int, str], etree._Element] = {}
    tags = (f"{{{BPMN_NS}}}intermediateCatchEvent", f"{{{BPMN_NS}}}intermediateThrowEvent")
    events = [n for n in process.iter(*tags) if link_name(n) is not None]
    for node in events:
        name = link_name(node)
        if not name:
            problem(node, Phrase("The link event has no link name; give the throw event and its catch event the "
                                 "same name."))  # fmt: skip
        elif _local(node) == "intermediateCatchEvent":
            first = catches.setdefault((id(node.getparent()), name), node)
            if first is not node:
                problem(node, Phrase("Two link catch events are named '%(name)s' in the same process or subprocess "
                                     "(also '%(other)s'); a link name may be caught only once. Rename one of them.",
                                     name=name, other=first.get("name") or first.get("id")))  # fmt: skip
    for node in events:
        name = link_name(node)
        if _local(node) != "intermediateThrowEvent" or not name:
            continue
        if (id(node.getparent()), name) not in catches:
            problem(node, Phrase("No link catch event named '%(name)s' is in the same process or subprocess, so "
                                 "the flow would stop here; add one with that link name, or correct the name.",
                                 name=name))  # fmt: skip
        if node.find(f"{{{BPMN_NS}}}outgoing") is not None or any(
                f.get("sourceRef") == node.get("id") for f in process.iter(f"{{{BPMN_NS}}}sequenceFlow")):
            problem(node, Phrase("A link throw event has no way out of its own: the flow goes on at its catch "
                                 "event. Remove the sequence flow leaving it."))  # fmt: skip
    return problems


def _compensation_problems(process: etree._Element, info: ProcessInfo, filename: str,
                           dialect: str) -> list[Problem]:  # fmt: skip
    """Compensation runs within one process or subprocess: each compensation boundary event has its handler and a
    compensation throw or end event in the same scope that may run it; a throw names an activity of its scope.
    What eISO does not run yet is refused naming the element."""
    problems = []

    def problem(node: etree._Element, message: Phrase, severity: str = "error") -> None:
        problems.append(Problem(filename, message, element_id=node.get("id"), element_name=node.get("name") or "",
                                line=node.sourceline, severity=severity))  # fmt: skip

    events = [n for n in process.iter(f"{{{BPMN_NS}}}*") if _local(n) in FLOW_NODE_TAGS and is_compensation(n)]
    throws = {id(n.getparent()) for n in events if _local(n) in MESSAGE_THROW_TAGS}
    # a throw in a compensation event subprocess undoes what was done in the subprocess that holds it
    throws |= {id(n.getparent().getparent()) for n in events if _local(n) in MESSAGE_THROW_TAGS
               and is_compensation_subprocess(n.getparent()) and n.getparent().getparent() is not None}  # fmt: skip

    def reached(scope: etree._Element | None) -> bool:
        """A throw of this scope, or of one holding it through completed embedded subprocesses, runs it."""
        while scope is not None:
            if id(scope) in throws:
                return True
            if _local(scope) != "subProcess" or scope.get("triggeredByEvent") == "true" \
                    or info.elements.get(scope.get("id") or "", {}).get("multi_instance"):
                return False
            scope = scope.getparent()
        return False

    def compensable(node: etree._Element | None) -> bool:
        """An activity with a handler, or an embedded subprocess holding one (compensated by going into it)."""
        if node is None:
            return False
        if info.elements.get(node.get("id") or "", {}).get("compensation_handler"):
            return True
        return _local(node) == "subProcess" and node.get("triggeredByEvent") != "true" and any(
            is_compensation(b) and compensation_handler(b) is not None
            for inner in reached_scopes(node) for b in inner.iterchildren(f"{{{BPMN_NS}}}boundaryEvent"))
    for node in events:
        entry = info.elements.get(node.get("id") or "", {})
        if _local(node) == "boundaryEvent":
            if compensation_handler(node) is None:
                problem(node, Phrase("The compensation boundary event has no compensation handler: connect it with "
                                     "an association to the activity that undoes the work (marked 'for "
                                     "compensation')."))  # fmt: skip
            elif not reached(node.getparent()):
                problem(node, Phrase("No compensation throw or end event runs this compensation: none is in the same "
                                     "process or subprocess, nor in one that holds it. Add one there, or remove the "
                                     "compensation."))  # fmt: skip
        elif _local(node) in MESSAGE_THROW_TAGS:
            target = entry.get("compensate_activity")
            scope_ids = {n.get("id") for n in node.getparent() if isinstance(n.tag, str)}
            if not entry.get("compensation_waits", True) and dialect == "camunda8":  # Camunda 8 refuses it too
                problem(node, Phrase("eISO waits for compensation to complete before going on; remove 'wait for "
                                     "completion = false' from this event."))  # fmt: skip
            elif not entry.get("compensation_waits", True):  # Camunda 7 warns and waits
                problem(node, Phrase("'Wait for completion = false' is not followed, as in Camunda 7: the flow goes "
                                     "on once every compensation handler has completed."), "warning")  # fmt: skip
            scope = node.getparent()
            named = next((n for n in scope if n.get("id") == target), None) if scope is not None else None
            if target and (target not in scope_ids or not compensable(named)):
                problem(node, Phrase("The compensation event names the activity '%(activity)s', which has no "
                                     "compensation handler in the same process or subprocess; choose one that has.",
                                     activity=target))  # fmt: skip
        else:
            _compensation_subprocess_problems(node, dialect, problem)
    return problems


def _compensation_subprocess_problems(start: etree._Element, dialect: str, problem: Any) -> None:
    """A compensation event subprocess (its start event is ``start``) runs as Camunda 7 runs it: inside an
    embedded subprocess, one per subprocess, instead of a compensation boundary event on it. Camunda 8 does
    not run compensation event subprocesses at all, and neither does eISO in a Camunda 8 diagram."""
    holder = start.getparent()
    scope = holder.getparent() if holder is not None else None
    if dialect == "camunda8":
        problem(start, Phrase("Compensation event subprocesses are not run in Camunda 8 diagrams (Camunda 8 refuses "
                              "them too); attach a compensation boundary event with its handler to each activity to "
                              "undo, or deploy the diagram as documentation."))  # fmt: skip
    elif holder is None or scope is None or _local(holder) != "subProcess" or _local(scope) != "subProcess" \
            or scope.get("triggeredByEvent") == "true":
        problem(start, Phrase("A compensation event subprocess must be inside an embedded subprocess, as Camunda 7 "
                              "requires; attach a compensation boundary event with its handler to each activity to "
                              "undo instead."))  # fmt: skip
    elif compensation_subprocess(scope) is not holder:
        problem(start, Phrase("A subprocess has only one compensation event subprocess; merge them into one."))
    elif any(is_compensation(b) and b.get("attachedToRef") == scope.get("id")
             for b in scope.getparent().iterchildren(f"{{{BPMN_NS}}}boundaryEvent")):
        problem(start, Phrase("The subprocess '%(subprocess)s' has both a compensation boundary event and a "
                              "compensation event subprocess; keep one of them, as Camunda 7 requires.",
                              subprocess=scope.get("name") or scope.get("id")))  # fmt: skip


def _event_gateway_problems(info: ProcessInfo, filename: str) -> list[Problem]:
    """An event-based gateway waits for the first of two or more events, each an intermediate catch event
    (message, timer, signal or condition) on a way out without a condition, as both Camunda engines require."""
    problems = []
    for gateway_id, gateway in info.elements.items():
        if gateway["type"] != "eventBasedGateway":
            continue

        def problem(message: Phrase, el: dict[str, Any] = gateway, eid: str = gateway_id) -> None:
            problems.append(Problem(filename, message, element_id=eid, element_name=el["name"], line=el["line"]))

        if gateway.get("instantiate") or gateway.get("gateway_type") != "Exclusive":
            problem(Phrase("An event-based gateway that starts the process or waits for all its events (parallel) "
                           "is not run by eISO or Camunda; start the process with a message start event instead."))
        ways = [(fid, f) for fid, f in info.flows.items() if f["source"] == gateway_id]
        if len(ways) < 2:
            problem(Phrase("An event-based gateway needs at least two ways out, each to an event it waits for; add "
                           "one or use a single catch event instead."))  # fmt: skip
        for flow_id, flow in ways:
            target = info.elements.get(flow["target"])
            if flow["condition"]:
                problems.append(Problem(filename, Phrase(
                    "A way out of an event-based gateway cannot have a condition: the first event to arrive decides. "
                    "Remove the condition."), element_id=flow_id, element_name=flow["name"]))  # fmt: skip
            if target is None:
                continue  # a dangling flow: reported on its own
            waits = [k for k in ("message", "timer", "signal", "conditional") if k in target]
            if target["type"] != "intermediateCatchEvent" or not waits or "link" in target:
                problem(Phrase("After an event-based gateway eISO waits only at intermediate catch events (message, "
                               "timer, signal or condition); '%(target)s' is not one. Replace it with such an event "
                               "(a receive task with a message catch event).",
                               target=target["name"] or flow["target"]))  # fmt: skip
    return problems


def _has_condition(flow: etree._Element) -> bool:
    return bool((flow.findtext(f"{{{BPMN_NS}}}conditionExpression") or "").strip())


def _unguarded_flows(process: etree._Element, filename: str) -> list[Problem]:
    """Exclusive and inclusive gateways that split: every way out needs a condition or must be the default."""
    flows = list(process.iter(f"{{{BPMN_NS}}}sequenceFlow"))
    problems = []
    for gateway in process.iter(f"{{{BPMN_NS}}}exclusiveGateway", f"{{{BPMN_NS}}}inclusiveGateway"):
        outgoing = [f for f in flows if f.get("sourceRef") == gateway.get("id")]
        if len(outgoing) < 2:
            continue
        for flow in outgoing:
            if _has_condition(flow) or flow.get("id") == gateway.get("default"):
                continue
            label = flow.get("name") or flow.get("id")
            problems.append(
                Problem(
                    filename,
                    Phrase("The way out '%(flow)s' (to '%(target)s') has no condition and is not the gateway's "
                           "default flow; give it a condition or mark it as the default flow.", flow=label,
                           target=flow.get("targetRef")),
                    element_id=gateway.get("id"),
                    element_name=gateway.get("name") or "",
                    line=gateway.sourceline,
                )
            )
    return problems


class Deployer:
    """Validates a set of files and stores them as one deployment.

    ``delegates`` is the server's registry of Camunda 7 Java delegates: class name or expression text
    -> job type (see ``engine.delegates``).
    """

    def __init__(self, session: Session, delegates: Mapping[str, str] = NO_DELEGATES) -> None:
        self.session = session
        self.delegates = dict(delegates)
        self.owner: int | None = None  # the unit the deployment is for (None: the shared library)

    def deploy(
        self,
        files: list[SourceFile],
        *,
        actor: User | None,
        now: datetime,
        name: str = "",
        source: str = "",
        unit_id: int | None = None,
        as_documentation: bool = False,
        change_summary: str = "",
    ) -> DeploymentResult:
        """Validate and store ``files``; ``unit_id`` names the owning unit (None: the shared library).

        A version for a unit starts as a draft under change control (see ``engine.versions``);
        ``as_documentation`` stores diagrams that cannot run, to be shown and published only.
        """
        target = _Target(unit_id, change_summary.strip())
        if actor is not None and not versions.may_deploy(self.session, actor, unit_id):
            raise NotAllowed("Only system administrators change the shared library; a unit's administrators and ISO "
                             "secretaries deploy the unit's own versions. Choose your unit as the owner.")
        self.owner = unit_id
        too_much = deployment_limits(files)
        if too_much:
            raise DeploymentRejected(too_much)
        problems: list[Problem] = []
        embedded = [] if as_documentation else _embedded_forms(files, problems)  # documentation runs no form
        beside: list[Problem] = []  # a documentation diagram's forms and tables: read, never stored
        parsed_forms = self._forms(files, beside if as_documentation else problems) + embedded
        form_keys = {f.form_key for f in parsed_forms} | {f"file:{f.source.filename}" for f in parsed_forms}
        form_keys |= self._deployed_form_keys()
        decisions = self._decisions(files, beside if as_documentation else problems)
        if as_documentation:
            problems += _kept_beside_documentation(files, beside)
            parsed_forms, decisions = [], []
            if files and not any(f.kind == "bpmn" for f in files):
                problems.append(Problem("", "Only .bpmn diagrams are kept as documentation, and there is none among "
                                            "these files; add the diagrams, or deploy the files without that choice."))
        decision_keys = {key for _, model in decisions for key in model.decision_ids()} | self._deployed_decision_keys()
        processes: list[_ParsedProcess] = []
        for file in files:
            if file.kind == "bpmn":
                parse = _parse_documentation if as_documentation else _parse_bpmn
                processes.extend(parse(file, form_keys, problems, decision_keys, self.delegates))
            elif file.kind not in ("form", "dmn"):
                problems.append(Problem(file.filename, "Only .bpmn, .form and .dmn files can be deployed here (or a "
                                                       ".zip of them)."))
        self._check_unique_keys(processes, problems)
        self._check_calls(processes, problems)
        self._check_target(processes, target, actor, problems)
        errors = [p for p in problems if p.severity == "error"]
        if errors or not files:
            raise DeploymentRejected(errors or [Problem("", "No files were given; choose the .bpmn, .form and .dmn "
                                                            "files to deploy.")])
        try:
            result = self._store(files, parsed_forms, processes, actor, now, name, source, problems, decisions, target)
            for definition in result.definitions:
                versions.place(self.session, definition, actor=actor, now=now)
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return result

    def _check_calls(self, processes: list[_ParsedProcess], problems: list[Problem]) -> None:
        """A call activity naming a process that is neither in this deployment nor deployed: warn now,
        rather than let the first instance stop at that step."""
        here = {p.info.key for p in processes if p.executable}
        for p in processes:
            for element_id, element in p.info.elements.items():
                called = (element.get("call") or {}).get("element") or ""
                if element["type"] != "callActivity" or not called or called.startswith("=") or "{" in called:
                    continue
                deployed = select(ProcessDefinition.id).where(ProcessDefinition.key == called,
                                                              ProcessDefinition.executable.is_(True))  # fmt: skip
                if called not in here and self.session.scalar(deployed.limit(1)) is None:
                    problems.append(Problem(
                        p.source.filename, Phrase("The called process '%(key)s' is not deployed yet; deploy it before "
                                                  "starting this process, or instances will stop at this step.",
                                                  key=called), element_id=element_id,
                        element_name=element["name"], line=element["line"], severity="warning",
                    ))  # fmt: skip

    def _check_target(
        self, processes: list[_ParsedProcess], target: _Target, actor: User | None, problems: list[Problem]
    ) -> None:
        """The unit exists, owns (or may take over) every key, and can review drafts when they need it."""
        unit = self.session.get(Unit, target.unit_id) if target.unit_id is not None else None
        if target.unit_id is not None and unit is None:
            problems.append(Problem("", Phrase("Unit %(id)s does not exist; choose the unit owning the process.",
                                               id=target.unit_id)))  # fmt: skip
            return
        for p in processes:
            key, filename = p.info.key, p.source.filename
            found = versions.ownership_problem(self.session, key, target.unit_id, p.executable, filename)
            if found is not None:
                problems.append(found)
        needs_review = processes and not versions.goes_live_at_once(self.session, actor, unit)
        if needs_review and not self._runs_change_control(target.unit_id):
            problems.append(Problem("", "A unit's new version is reviewed in the change-control process; deploy "
                                        "the shipped library (bpmn/change-control.bpmn) first."))  # fmt: skip

    def _runs_change_control(self, unit_id: int | None) -> bool:
        try:
            active_definition(self.session, versions.CHANGE_CONTROL_KEY, unit_id)
        except DefinitionNotFound:
            return False
        return True

    def _forms(self, files: list[SourceFile], problems: list[Problem]) -> list[_ParsedForm]:
        parsed = [_parse_form(f, problems) for f in files if f.kind == "form"]
        return [p for p in parsed if p is not None]

    @staticmethod
    def _decisions(files: list[SourceFile], problems: list[Problem]) -> list[tuple[SourceFile, DmnModel]]:
        parsed = []
        for file in files:
            if file.kind != "dmn":
                continue
            try:
                parsed.append((file, load_dmn(file.content, file.filename)))
            except DmnInvalid as exc:
                problems.extend(exc.problems)
        return parsed

    def _visible(self, model: Any) -> Any:
        """Rows of the deployment's owner or of the shared library: never another unit's."""
        return or_(model.unit_id.is_(None), model.unit_id == self.owner) if self.owner is not None \
            else model.unit_id.is_(None)  # fmt: skip

    def _deployed_decision_keys(self) -> set[str]:
        stmt = select(DecisionDefinition.decision_key).where(self._visible(DecisionDefinition)).distinct()
        return set(self.session.scalars(stmt))

    def _latest_decision(self, key: str) -> DecisionDefinition | None:
        """A decision id resolves to the owner's own newest version, else the shared library's."""
        mine = self._visible(DecisionDefinition)
        stmt = select(DecisionDefinition).where(DecisionDefinition.decision_key == key, mine)
        order = (DecisionDefinition.unit_id.is_(None), DecisionDefinition.version.desc())
        return self.session.scalar(stmt.order_by(*order).limit(1))

    def _next_decision_version(self, key: str) -> int:
        stmt = select(func.max(DecisionDefinition.version)).where(DecisionDefinition.decision_key == key)
        return (self.session.scalar(stmt) or 0) + 1

    def _store_decisions(self, deployment: Deployment, decisions: list[tuple[SourceFile, DmnModel]],
                         stored: dict[str, DeployedFile], now: datetime) -> dict[str, DecisionDefinition]:  # fmt: skip
        """A new version of each decision whose file changed; the latest one otherwise."""
        by_key: dict[str, DecisionDefinition] = {}
        for file, model in decisions:
            for key in model.decision_ids():
                latest = self._latest_decision(key)
                if latest is not None and latest.content_hash == file.sha256:
                    by_key[key] = latest
                    continue
                row = DecisionDefinition(
                    decision_key=key, version=self._next_decision_version(key),
                    name=model.decisions[key].name or key, content_hash=file.sha256, deployment=deployment,
                    dmn_file=stored[file.filename], unit_id=self.owner, created_at=now,
                )  # fmt: skip
                self.session.add(row)
                by_key[key] = row
        self.session.flush()
        return by_key

    def _deployed_form_keys(self) -> set[str]:
        stmt = select(FormDefinition.form_key).where(self._visible(FormDefinition)).distinct()
        keys = set(self.session.scalars(stmt))
        names = self.session.scalars(
            select(DeployedFile.filename).join(Deployment, Deployment.id == DeployedFile.deployment_id)
            .where(DeployedFile.kind == "form", self._visible(Deployment)).distinct()
        )  # fmt: skip
        return keys | {f"file:{name}" for name in names}

    @staticmethod
    def _check_unique_keys(processes: list[_ParsedProcess], problems: list[Problem]) -> None:
        seen: set[str] = set()
        for p in processes:
            if p.info.key in seen:
                problems.append(Problem(p.source.filename, Phrase("Process id '%(key)s' appears in two files; give "
                                                                  "each process its own id.", key=p.info.key)))
            seen.add(p.info.key)

    def _store(
        self,
        files: list[SourceFile],
        parsed_forms: list[_ParsedForm],
        processes: list[_ParsedProcess],
        actor: User | None,
        now: datetime,
        name: str,
        source: str,
        problems: list[Problem],
        decisions: list[tuple[SourceFile, DmnModel]],
        target: _Target,
    ) -> DeploymentResult:
        deployment = Deployment(
            name=name or ", ".join(f.filename for f in files)[:300],
            source=source,
            deployed_by_id=actor.id if actor else None,
            unit_id=target.unit_id,
            deployed_at=now,
        )
        self.session.add(deployment)
        stored = {f.filename: self._add_file(deployment, f) for f in files}
        result = DeploymentResult(deployment, [], [], warnings=problems)
        form_ids: dict[str, FormDefinition] = {}
        for pf in parsed_forms:
            stored_form = self._store_form(deployment, pf, now, result)
            form_ids[pf.form_key] = form_ids[f"file:{pf.source.filename}"] = stored_form
        decision_ids = self._store_decisions(deployment, decisions, stored, now)
        for process in processes:
            self._store_process(deployment, process, stored[process.source.filename], form_ids, now, result,
                                decision_ids, target)  # fmt: skip
        self.session.flush()
        return result

    def _add_file(self, deployment: Deployment, file: SourceFile) -> DeployedFile:
        row = DeployedFile(filename=file.filename, kind=file.kind, content_hash=file.sha256, content=file.content)
        deployment.files.append(row)
        return row

    def _latest_form(self, form_key: str) -> FormDefinition | None:
        """A form id (or file name) resolves to the owner's own newest form, else the shared library's; the
        forms of this deployment come first (``form_ids`` in ``_store``)."""
        owner_first = (FormDefinition.unit_id.is_(None),)
        if form_key.startswith("file:"):  # the newest form deployed from a file of that name
            by_file = (
                select(FormDefinition)
                .join(DeployedFile, (DeployedFile.deployment_id == FormDefinition.deployment_id)
                      & (DeployedFile.content_hash == FormDefinition.content_hash))  # fmt: skip
                .where(DeployedFile.kind == "form", DeployedFile.filename == form_key.removeprefix("file:"),
                       self._visible(FormDefinition))  # fmt: skip
                .order_by(*owner_first, FormDefinition.id.desc())
            )
            found = self.session.scalar(by_file.limit(1))
            if found is not None:
                return found
        stmt = select(FormDefinition).where(FormDefinition.form_key == form_key, self._visible(FormDefinition))
        return self.session.scalar(stmt.order_by(*owner_first, FormDefinition.version.desc()).limit(1))

    def _store_form(
        self, deployment: Deployment, pf: _ParsedForm, now: datetime, result: DeploymentResult
    ) -> FormDefinition:
        latest = self._latest_form(pf.form_key)
        if latest is not None and latest.content_hash == pf.source.sha256:
            return latest
        numbered = select(func.max(FormDefinition.version)).where(FormDefinition.form_key == pf.form_key)
        row = FormDefinition(
            form_key=pf.form_key,
            version=(self.session.scalar(numbered) or 0) + 1,  # numbered once across owners
            content_hash=pf.source.sha256,
            schema=pf.schema,
            deployment=deployment,
            unit_id=self.owner,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        result.forms.append(row)
        return row

    def _store_process(
        self,
        deployment: Deployment,
        process: _ParsedProcess,
        bpmn_file: DeployedFile,
        form_ids: dict[str, FormDefinition],
        now: datetime,
        result: DeploymentResult,
        decision_ids: dict[str, DecisionDefinition],
        target: _Target,
    ) -> None:
        elements = dict(process.info.elements)
        form_hashes = [] if process.executable else ["documentation"]
        for element in elements.values() if process.executable else ():  # a documentation diagram's forms are text
            key = element.get("form_key")
            if key:
                form = form_ids.get(key) or self._latest_form(key)
                assert form is not None  # checked during validation
                element["form_definition_id"] = form.id
                form_hashes.append(form.content_hash)
            decision_key = element.get("decision_id") if element["type"] == "businessRuleTask" else None
            if decision_key:
                decision = decision_ids.get(decision_key) or self._latest_decision(decision_key)
                assert decision is not None  # checked during validation
                element["decision_definition_id"] = decision.id
                form_hashes.append(f"{decision_key}:{decision.version}:{decision.content_hash}")
            if element.get("delegate"):  # the registry's mapping is part of the version, like a pinned decision
                form_hashes.append(f"delegate:{element['delegate']}={element.get('job_type')}")
        content_hash = _content_hash(process.source.sha256, process.info.key, *sorted(form_hashes))
        latest = self.session.scalar(  # the latest of the owner's own line
            select(ProcessDefinition)
            .where(ProcessDefinition.key == process.info.key, in_line(target.unit_id))
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
        )
        if latest is not None and latest.content_hash == content_hash:
            result.unchanged.append(latest)
            return
        version = (self.session.scalar(
            select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == process.info.key)
        ) or 0) + 1  # fmt: skip
        definition = ProcessDefinition(
            key=process.info.key,
            version=version,
            name=process.info.name,
            description=process.info.description,
            dialect=process.dialect,
            content_hash=content_hash,
            deployment=deployment,
            bpmn_file=bpmn_file,
            spec_json=process.spec_json,
            elements={
                "nodes": elements,
                "flows": process.info.flows,
                "process": {"properties": process.info.properties},
            },
            starter_roles=process.info.starter_roles,
            unit_id=target.unit_id,
            status="draft",  # until engine.versions places it
            executable=process.executable,
            problems=[p.as_dict() for p in process.problems],
            change_summary=target.change_summary,
            version_tag=(process.info.version_tag or "")[:VERSION_TAG_LENGTH] or None,  # documentation: cut
            created_at=now,
        )
        self.session.add(definition)
        self.session.flush()
        result.definitions.append(definition)


# --- uploads: single files or a zip of a Camunda Modeler project folder ---------------------------


def expand_upload(filename: str, content: bytes) -> list[SourceFile]:
    """One uploaded file as the source files it holds; a .zip is opened in memory, never on disk.

    Only the base name of every file is kept, so no path in an upload can point anywhere. A zip may
    hold at most ``MAX_ZIP_ENTRIES`` entries expanding to at most ``MAX_ZIP_BYTES``; entries other
    than .bpmn, .form and .dmn (project settings, read-me files, folders) are skipped.
    """
    name = _base_name(filename)
    if not name.lower().endswith(".zip"):
        return [SourceFile(name, content)]
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise _zip_refused(name, Phrase("The file is not a readable zip archive; compress the project folder again."))
    with archive:
        files = _unzip(name, archive)
    _check_unique_names(name, files)
    return files


def _base_name(filename: str) -> str:
    return PurePosixPath(filename.replace("\\", "/")).name or "unnamed"


def _zip_refused(name: str, message: Phrase) -> DeploymentRejected:
    return DeploymentRejected([Problem(name, message)])


def _deployable_entry(entry: zipfile.ZipInfo) -> bool:
    base = _base_name(entry.filename)
    hidden = base.startswith(".") or "__MACOSX/" in entry.filename  # macOS resource forks, editor settings
    return not entry.is_dir() and not hidden and base.rsplit(".", 1)[-1].lower() in DEPLOYABLE_KINDS


def _unzip(name: str, archive: zipfile.ZipFile) -> list[SourceFile]:
    entries = archive.infolist()
    if len(entries) > MAX_ZIP_ENTRIES:
        raise _zip_refused(name, Phrase("The zip archive holds %(count)s entries, more than %(limit)s; upload only "
                                        "the project folder with its .bpmn and .form files.", count=len(entries),
                                        limit=MAX_ZIP_ENTRIES))
    declared = sum(e.file_size for e in entries)
    if declared > MAX_ZIP_BYTES:
        raise _zip_refused(name, Phrase("The zip archive would expand to %(size)s MB, more than %(limit)s MB; it is "
                                        "refused as a possible zip bomb. Upload the .bpmn and .form files themselves.",
                                        size=declared // (1024 * 1024), limit=MAX_ZIP_BYTES // (1024 * 1024)))
    wanted = [e for e in entries if _deployable_entry(e)]
    if not wanted:
        raise _zip_refused(name, Phrase("The zip archive holds no .bpmn, .form or .dmn file; put the project's files "
                                        "in it."))
    return [SourceFile(_base_name(e.filename), _read_entry(name, archive, e)) for e in wanted]


def _read_entry(name: str, archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> bytes:
    if entry.flag_bits & 0x1:
        raise _zip_refused(name, Phrase("'%(entry)s' in the zip archive is encrypted; upload it without a password.",
                                        entry=entry.filename))
    try:
        with archive.open(entry) as fh:
            # zipfile stops at the declared size (checked above) and checks the CRC: a lying header fails here.
            return fh.read(MAX_ZIP_BYTES + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError) as exc:
        raise _zip_refused(name, Phrase("'%(entry)s' in the zip archive cannot be read (%(error)s); compress the "
                                        "project folder again.", entry=entry.filename, error=Phrase.of(str(exc))))


def _check_unique_names(name: str, files: list[SourceFile]) -> None:
    seen: set[str] = set()
    for file in files:
        if file.filename in seen:
            raise _zip_refused(name, Phrase("The zip archive holds two files named '%(name)s' in different folders; "
                                            "keep one of them.", name=file.filename))
        seen.add(file.filename)
