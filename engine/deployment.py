"""Deploying uploaded .bpmn and .form files: validate everything first, then store all or nothing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import forms

from .errors import DeploymentRejected, ExpressionError, Problem
from .handlers import HANDLERS
from .models import DeployedFile, Deployment, FormDefinition, ProcessDefinition, User
from .organisation import ROLES
from .parsing import BPMN_NS, EisoParser, ProcessInfo, detect_dialect, parse_xml, process_info
from .scripting import check_expression
from .serialization import spec_to_json

MAX_FORM_BYTES = 1024 * 1024

# What the engine runs today. Anything else is refused with the element and the reason, so that
# nobody discovers it half-way through a process.
SUPPORTED_ELEMENTS = {
    "startEvent", "endEvent", "userTask", "manualTask", "task", "serviceTask",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "subProcess",
}  # fmt: skip
SUPPORTED_EVENT_DEFINITIONS = {"terminateEventDefinition"}


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
        problems.append(Problem(source.filename, "The form file is larger than 1 MB."))
        return None
    try:
        schema = json.loads(source.content)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(Problem(source.filename, f"The form file is not valid JSON: {exc}."))
        return None
    if not isinstance(schema, dict) or not isinstance(schema.get("components"), list):
        problems.append(Problem(source.filename, "Not a form-js form: the top level needs 'components'."))
        return None
    if not schema.get("id"):
        problems.append(Problem(source.filename, "The form has no 'id'; set the Form ID in Camunda Modeler."))
        return None
    try:
        forms.load_form_js(schema)
    except forms.FormSchemaError as exc:
        problems.append(Problem(source.filename, str(exc)))
        return None
    return _ParsedForm(source, str(schema["id"]), schema)


def _unsupported(info: ProcessInfo, root: etree._Element, filename: str) -> list[Problem]:
    problems = []
    for node in root.iter(f"{{{BPMN_NS}}}*"):
        tag = etree.QName(node).localname
        if tag.endswith("EventDefinition") and tag not in SUPPORTED_EVENT_DEFINITIONS:
            parent = node.getparent()
            problems.append(
                Problem(
                    filename,
                    f"{tag} is not supported by eISO yet; model this step without it.",
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
                    f"Element type {element['type']} is not supported by eISO yet.",
                    element_id=element_id,
                    element_name=element["name"],
                    line=element["line"],
                )
            )
    return problems


def _check_elements(info: ProcessInfo, filename: str, form_keys: set[str]) -> list[Problem]:
    problems = []
    for element_id, element in info.elements.items():

        def problem(message: str, el: dict[str, Any] = element, eid: str = element_id) -> None:
            problems.append(Problem(filename, message, element_id=eid, element_name=el["name"], line=el["line"]))

        if element.get("form_key") and element["form_key"] not in form_keys:
            problem(f"The form '{element['form_key']}' is not deployed; upload its .form file with this diagram.")
        if element["type"] == "userTask":
            for role in element["candidate_groups"]:
                if role.startswith("="):
                    _check_expr(role, problem)
                elif role not in ROLES:
                    known = ", ".join(ROLES)
                    problem(f"Candidate group '{role}' names no role. Use one of: {known}.")
            if not element["candidate_groups"] and not element["candidate_users"] and not element["assignee"]:
                problems.append(
                    Problem(filename, "The user task has no assignment; nobody will see it in an inbox.",
                            element_id=element_id, element_name=element["name"], line=element["line"],
                            severity="warning")
                )  # fmt: skip
        if element["type"] == "serviceTask" and element.get("job_type") not in HANDLERS:
            known = ", ".join(sorted(HANDLERS)) or "none"
            problem(f"No handler for job type '{element.get('job_type')}'. Known job types: {known}.")
    for flow_id, flow in info.flows.items():
        for end in ("source", "target"):
            if flow[end] not in info.elements:
                problems.append(
                    Problem(filename, f"Sequence flow {end} '{flow[end]}' does not exist.", element_id=flow_id)
                )
        if flow["condition"]:

            def flow_problem(message: str, fid: str = flow_id, name: str = flow["name"]) -> None:
                problems.append(Problem(filename, message, element_id=fid, element_name=name))

            _check_expr(flow["condition"], flow_problem)
    if not any(e["type"] == "startEvent" for e in info.elements.values()):
        problems.append(Problem(filename, f"Process '{info.key}' has no start event; add one."))
    return problems


def _check_expr(expression: str, report: Any) -> None:
    try:
        check_expression(expression)
    except ExpressionError as exc:
        report(f"Expression {expression!r} cannot be used: {exc.message}")


def _duplicate_ids(root: etree._Element, filename: str) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for node in root.iter():
        node_id = node.get("id") if isinstance(node.tag, str) else None
        if node_id is None:
            continue
        if node_id in seen:
            problems.append(
                Problem(filename, f"The id '{node_id}' is used twice (first on line {seen[node_id]}).",
                        element_id=node_id, line=node.sourceline)
            )  # fmt: skip
        else:
            seen[node_id] = node.sourceline or 0
    return problems


def _parse_bpmn(source: SourceFile, form_keys: set[str], problems: list[Problem]) -> list[_ParsedProcess]:
    tree, xml_problems = parse_xml(source.content, source.filename)
    if tree is None:
        problems.extend(xml_problems)
        return []
    root = tree.getroot()
    if root.tag != f"{{{BPMN_NS}}}definitions":
        problems.append(Problem(source.filename, f"Not a BPMN 2.0 file: the root element is {root.tag}."))
        return []
    found = _duplicate_ids(root, source.filename)
    processes = [process_info(p) for p in root.iterfind(f"{{{BPMN_NS}}}process")]
    executable = [p for p in processes if p.executable]
    if not executable:
        found.append(Problem(source.filename, "No executable process: tick 'Executable' in Camunda Modeler."))
    for info in executable:
        found.extend(_unsupported(info, root, source.filename))
        found.extend(_check_elements(info, source.filename, form_keys))
    if [p for p in found if p.severity == "error"]:
        problems.extend(found)
        return []
    problems.extend(found)
    return [_spiff_spec(source, root, info, detect_dialect(root), problems) for info in executable]


def _spiff_spec(
    source: SourceFile, root: etree._Element, info: ProcessInfo, dialect: str, problems: list[Problem]
) -> _ParsedProcess:
    parser = EisoParser()
    try:
        parser.add_bpmn_xml(etree.ElementTree(root), filename=source.filename)
        spec = parser.get_spec(info.key)
        subs = parser.get_subprocess_specs(info.key)
    except (ValidationException, SpiffWorkflowException) as exc:
        line = getattr(exc, "line_number", None) or None
        element = getattr(exc, "id", None) or None
        problems.append(Problem(source.filename, f"The engine cannot run this model: {exc}", element, line=line))
        return _ParsedProcess(source, info, dialect, "")
    return _ParsedProcess(source, info, dialect, spec_to_json(spec, subs))


class Deployer:
    """Validates a set of files and stores them as one deployment."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def deploy(
        self, files: list[SourceFile], *, actor: User | None, now: datetime, name: str = "", source: str = ""
    ) -> DeploymentResult:
        problems: list[Problem] = []
        parsed_forms = self._forms(files, problems)
        form_keys = {f.form_key for f in parsed_forms} | self._deployed_form_keys()
        processes: list[_ParsedProcess] = []
        for file in files:
            if file.kind == "bpmn":
                processes.extend(_parse_bpmn(file, form_keys, problems))
            elif file.kind != "form":
                problems.append(Problem(file.filename, "Only .bpmn and .form files can be deployed here."))
        self._check_unique_keys(processes, problems)
        errors = [p for p in problems if p.severity == "error"]
        if errors or not files:
            raise DeploymentRejected(errors or [Problem("", "No files were given.")])
        try:
            result = self._store(files, parsed_forms, processes, actor, now, name, source, problems)
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return result

    def _forms(self, files: list[SourceFile], problems: list[Problem]) -> list[_ParsedForm]:
        parsed = [_parse_form(f, problems) for f in files if f.kind == "form"]
        return [p for p in parsed if p is not None]

    def _deployed_form_keys(self) -> set[str]:
        return set(self.session.scalars(select(FormDefinition.form_key).distinct()))

    @staticmethod
    def _check_unique_keys(processes: list[_ParsedProcess], problems: list[Problem]) -> None:
        seen: set[str] = set()
        for p in processes:
            if p.info.key in seen:
                problems.append(Problem(p.source.filename, f"Process id '{p.info.key}' appears in two files."))
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
    ) -> DeploymentResult:
        deployment = Deployment(
            name=name or ", ".join(f.filename for f in files)[:300],
            source=source,
            deployed_by_id=actor.id if actor else None,
            deployed_at=now,
        )
        self.session.add(deployment)
        stored = {f.filename: self._add_file(deployment, f) for f in files}
        result = DeploymentResult(deployment, [], [], warnings=problems)
        form_ids = {pf.form_key: self._store_form(deployment, pf, now, result) for pf in parsed_forms}
        for process in processes:
            self._store_process(deployment, process, stored[process.source.filename], form_ids, now, result)
        self.session.flush()
        return result

    def _add_file(self, deployment: Deployment, file: SourceFile) -> DeployedFile:
        row = DeployedFile(filename=file.filename, kind=file.kind, content_hash=file.sha256, content=file.content)
        deployment.files.append(row)
        return row

    def _latest_form(self, form_key: str) -> FormDefinition | None:
        stmt = select(FormDefinition).where(FormDefinition.form_key == form_key)
        return self.session.scalar(stmt.order_by(FormDefinition.version.desc()).limit(1))

    def _store_form(
        self, deployment: Deployment, pf: _ParsedForm, now: datetime, result: DeploymentResult
    ) -> FormDefinition:
        latest = self._latest_form(pf.form_key)
        if latest is not None and latest.content_hash == pf.source.sha256:
            return latest
        row = FormDefinition(
            form_key=pf.form_key,
            version=(latest.version + 1) if latest else 1,
            content_hash=pf.source.sha256,
            schema=pf.schema,
            deployment=deployment,
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
    ) -> None:
        elements = dict(process.info.elements)
        form_hashes = []
        for element in elements.values():
            key = element.get("form_key")
            if key:
                form = form_ids.get(key) or self._latest_form(key)
                assert form is not None  # checked during validation
                element["form_definition_id"] = form.id
                form_hashes.append(form.content_hash)
        content_hash = _content_hash(process.source.sha256, process.info.key, *sorted(form_hashes))
        latest = self.session.scalar(
            select(ProcessDefinition)
            .where(ProcessDefinition.key == process.info.key)
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
            elements={"nodes": elements, "flows": process.info.flows},
            starter_roles=process.info.starter_roles,
            is_active=True,
            created_at=now,
        )
        self.session.add(definition)
        result.definitions.append(definition)
