"""Small Camunda 8 processes written for one test each: parallel user tasks with the assignment a test needs."""

from __future__ import annotations

from engine import SourceFile

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:modeler="http://camunda.org/schema/modeler/1.0" '
    'id="Definitions_{key}" targetNamespace="http://bpmn.io/schema/bpmn" '
    'modeler:executionPlatform="Camunda Cloud" modeler:executionPlatformVersion="8.5.0">\n'
)


def probe(key: str, name: str, tasks: dict[str, str], *, starters: str = "", executable: bool = True,
          forms: dict[str, str] | None = None, start_timer: str = "") -> SourceFile:  # fmt: skip
    """A process ``key`` whose start forks into one user task per entry of ``tasks`` (element id → the
    ``zeebe:assignmentDefinition`` attributes, e.g. ``candidateGroups="unit_leader"``), joined before the end.
    ``forms`` gives a task a form id; ``starters`` the candidate starter groups; ``start_timer`` a time cycle."""
    forms = forms or {}
    parts = [_HEAD.format(key=key), f'<bpmn:process id="{key}" name="{name}" isExecutable="{str(executable).lower()}">']
    if starters:
        parts.append('<bpmn:extensionElements><zeebe:properties><zeebe:property name="candidateStarterGroups" '
                     f'value="{starters}" /></zeebe:properties></bpmn:extensionElements>')  # fmt: skip
    timer = (f'<bpmn:timerEventDefinition><bpmn:timeCycle>{start_timer}</bpmn:timeCycle></bpmn:timerEventDefinition>'
             if start_timer else "")  # fmt: skip
    parts.append(f'<bpmn:startEvent id="start"><bpmn:outgoing>to_fork</bpmn:outgoing>{timer}</bpmn:startEvent>')
    parts.append('<bpmn:sequenceFlow id="to_fork" sourceRef="start" targetRef="fork" />')
    parts.append('<bpmn:parallelGateway id="fork"><bpmn:incoming>to_fork</bpmn:incoming>'
                 + "".join(f"<bpmn:outgoing>in_{t}</bpmn:outgoing>" for t in tasks) + "</bpmn:parallelGateway>")
    for task_id, assignment in tasks.items():
        form = f'<zeebe:formDefinition formId="{forms[task_id]}" />' if task_id in forms else ""
        parts.append(
            f'<bpmn:userTask id="{task_id}" name="Bước {task_id}"><bpmn:extensionElements><zeebe:userTask />{form}'
            f"<zeebe:assignmentDefinition {assignment} /></bpmn:extensionElements>"
            f"<bpmn:incoming>in_{task_id}</bpmn:incoming><bpmn:outgoing>out_{task_id}</bpmn:outgoing></bpmn:userTask>"
            f'<bpmn:sequenceFlow id="in_{task_id}" sourceRef="fork" targetRef="{task_id}" />'
            f'<bpmn:sequenceFlow id="out_{task_id}" sourceRef="{task_id}" targetRef="join" />'
        )  # fmt: skip
    parts.append('<bpmn:parallelGateway id="join">' + "".join(f"<bpmn:incoming>out_{t}</bpmn:incoming>" for t in tasks)
                 + "<bpmn:outgoing>to_end</bpmn:outgoing></bpmn:parallelGateway>")  # fmt: skip
    parts.append('<bpmn:sequenceFlow id="to_end" sourceRef="join" targetRef="end" />')
    parts.append('<bpmn:endEvent id="end"><bpmn:incoming>to_end</bpmn:incoming></bpmn:endEvent>')
    parts.append("</bpmn:process></bpmn:definitions>")
    return SourceFile(f"{key}.bpmn", "\n".join(parts).encode())


def form(form_id: str, *keys: str) -> SourceFile:
    """A form-js form with one text field per key."""
    import json

    components = [{"type": "textfield", "key": k, "label": f"Trường {k}", "id": f"f_{k}"} for k in keys]
    schema = {"type": "default", "id": form_id, "schemaVersion": 16, "components": components}
    return SourceFile(f"{form_id}.form", json.dumps(schema, ensure_ascii=False).encode())
