"""Reading uploaded BPMN: safe XML, dialect detection, Camunda extensions, and an element index.

Everything here goes through SpiffWorkflow's own extension points: a ``BpmnParser`` subclass whose
``OVERRIDE_PARSER_CLASSES`` wrap each stock task parser so that ``parse_extensions`` reads the
``zeebe:`` and ``camunda:`` extension elements into the spec's ``extensions`` dict (which the stock
serializer already stores).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.parser.event_parsers import SIGNAL_EVENT_XPATH
from SpiffWorkflow.bpmn.parser.ProcessParser import ProcessParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import (
    IntermediateCatchEvent,
    NoneTask,
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
    UserTask,
)
from SpiffWorkflow.util.task import TaskState

from engine.runtime.events import EisoConditional
from engine.runtime.script_engine import evaluate_expression
from engine.runtime.timers import TIMER_CLASSES

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
MODELER_NS = "http://camunda.org/schema/modeler/1.0"
NSMAP = {"bpmn": BPMN_NS, "zeebe": ZEEBE_NS, "camunda": CAMUNDA_NS}


FLOW_NODE_TAGS = {
    "startEvent", "endEvent", "userTask", "task", "manualTask", "serviceTask", "sendTask", "receiveTask",
    "scriptTask", "businessRuleTask", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
    "eventBasedGateway", "complexGateway", "intermediateCatchEvent", "intermediateThrowEvent",
    "boundaryEvent", "subProcess", "callActivity", "transaction", "adHocSubProcess",
}  # fmt: skip


class JobTask(UserTask):
    """A step that waits as a job (service, send, script and business rule tasks, message throw events)
    until a built-in handler or an external worker completes it."""


class CallTask(UserTask):
    """A call activity: waits while the process it calls runs as an instance of its own (as in Camunda)."""


class _ZeebeOutputCollection:
    """A Camunda 8 ``outputCollection`` as Zeebe fills it.

    It is made anew each time the activity starts (Zeebe keeps it local to the multi-instance body until it
    completes), so an activity inside a loop (a monitoring round, a rework) gathers this round's results;
    SpiffWorkflow would find the last round's list and refuse to go on. And it is in the order of the input
    collection, whatever order the instances finish in: the output of item *i* is at position *i* (null for
    an instance a completion condition cut short), so a diagram may pair both lists by position; SpiffWorkflow
    appends in the order the instances finish. A collection updated in place (input and output the same
    variable) is left as SpiffWorkflow handles it."""

    data_input: TaskDataReference | None
    data_output: TaskDataReference | None
    input_item: TaskDataReference | None

    def _separate_output(self) -> TaskDataReference | None:
        output, given = self.data_output, self.data_input
        return output if output is not None and (given is None or given.bpmn_id != output.bpmn_id) else None

    def init_data_output_with_input_data(self, my_task: Any, input_data: Any) -> None:
        output = self._separate_output()
        if output is not None:
            my_task.data.pop(output.bpmn_id, None)
        super().init_data_output_with_input_data(my_task, input_data)  # type: ignore[misc]
        if output is not None and isinstance(input_data, Sequence) and not isinstance(input_data, str):
            output.set(my_task, [None] * len(input_data))

    def init_data_output_with_cardinality(self, my_task: Any) -> None:
        if self.data_output is not None:
            my_task.data.pop(self.data_output.bpmn_id, None)
        super().init_data_output_with_cardinality(my_task)  # type: ignore[misc]

    def create_child(self, my_task: Any, item: Any, key_or_index: Any = None) -> None:
        """The item of an instance is its own (local in both Camunda engines); merged back into the activity's
        data with the instance's results, it would make SpiffWorkflow refuse the next instance of a sequential
        activity ("input item already exists"), so an earlier instance's item is dropped first."""
        if self.input_item is not None and my_task.internal_data.get("merged"):
            my_task.data.pop(self.input_item.bpmn_id, None)
        super().create_child(my_task, item, key_or_index)  # type: ignore[misc]

    def merge_child(self, workflow: Any, child: Any) -> None:
        output = self._separate_output()
        collected = output.get(child.parent) if output is not None else None
        super().merge_child(workflow, child)  # type: ignore[misc]
        if not isinstance(collected, list):
            return
        index = child.internal_data.get("key_or_index")
        if isinstance(index, int) and index < len(collected) - 1 and collected[index] is None:
            collected[index] = collected.pop()  # appended at the end: put it at its item's place


class EisoParallelMultiInstance(_ZeebeOutputCollection, ParallelMultiInstanceTask):
    """A parallel multi-instance activity (one instance per item at once)."""


class EisoSequentialMultiInstance(_ZeebeOutputCollection, SequentialMultiInstanceTask):
    """A sequential multi-instance activity (one item after the other)."""


class PassThroughTask(NoneTask):
    """A plain task (``bpmn:task``) or manual task: the engine passes straight through it, as both Camunda
    engines do (SpiffWorkflow would wait for someone to complete it, with no inbox row to do so)."""

    def __init__(self, wf_spec: Any, bpmn_id: str, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


class EventGateway(PassThroughTask):
    """An event-based gateway: every way out waits at once (each catch event with its own timer row or
    message or signal subscription); the first event to arrive wins and the others are cancelled
    (``CatchEvent``), as in both Camunda engines. SpiffWorkflow's own gateway keeps the events on itself,
    out of reach of eISO's timers and subscriptions."""

    def _predict_hook(self, my_task: Any) -> None:
        my_task._sync_children(self.outputs, state=TaskState.MAYBE)  # a loop back here must not predict for ever

    def _run_hook(self, my_task: Any) -> bool:
        my_task._sync_children(self.outputs, TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True


class CatchEvent(IntermediateCatchEvent):
    """An intermediate catch event; after an event-based gateway, the one that fires first cancels the
    gateway's other ways out (their timers and subscriptions are then cancelled with them)."""

    def _run_hook(self, my_task: Any) -> Any:
        for sibling in rivals(my_task):
            sibling.cancel()
        return super()._run_hook(my_task)


def rivals(task: Any) -> list[Any]:
    """The other ways out of the event-based gateway a catch event waits after, still waiting (else none)."""
    parent = task.parent
    if parent is None or not isinstance(parent.task_spec, EventGateway):
        return []
    return [t for t in parent.children if t is not task and not t.has_state(TaskState.FINISHED_MASK)]


class CompensationThrow(PassThroughTask):
    """A compensation intermediate throw or end event: it waits (started) while the compensation handlers of
    the completed activities of its scope run one after the other, the last completed first
    (``engine/runtime/compensation.py``), then the flow goes on (or the scope ends)."""

    def _run_hook(self, my_task: Any) -> Any:
        return None  # started: the engine completes it once every handler has run


class LinkEvent(PassThroughTask):
    """A link throw or catch event: the flow goes on at the catch event of the same name in the same
    scope (the parser connects them), as if a sequence flow joined them."""


def detect_dialect(root: etree._Element) -> str:
    platform = root.get(f"{{{MODELER_NS}}}executionPlatform", "")
    if platform == "Camunda Cloud" or root.xpath("//zeebe:*", namespaces=NSMAP):
        return "camunda8"
    if platform == "Camunda Platform" or root.xpath("//camunda:*|//@camunda:*", namespaces=NSMAP):
        return "camunda7"
    return "bpmn"


def _camunda_attributes(node: etree._Element) -> dict[str, str]:
    prefix = f"{{{CAMUNDA_NS}}}"
    return {k[len(prefix):]: v for k, v in node.attrib.items() if k.startswith(prefix)}


def read_extensions(node: etree._Element) -> dict[str, Any]:
    """Collect a flow node's Camunda 7/8 extension elements and attributes into a JSON-friendly dict."""
    ext: dict[str, Any] = {}
    attrs = _camunda_attributes(node)
    if attrs:
        ext["camunda"] = attrs
    for child in node.iterfind(f"{{{BPMN_NS}}}extensionElements/*"):
        qname = etree.QName(child)
        if qname.namespace == ZEEBE_NS and qname.localname in ("properties", "taskHeaders"):
            entries = child.iterfind(f"{{{ZEEBE_NS}}}*")
            ext[qname.localname] = {e.get("name") or e.get("key"): e.get("value") for e in entries}
        elif qname.namespace == ZEEBE_NS:
            ext[qname.localname] = dict(child.attrib)
        elif qname.namespace == CAMUNDA_NS and qname.localname == "properties":
            entries = child.iterfind(f"{{{CAMUNDA_NS}}}property")
            ext["properties"] = {e.get("name"): e.get("value") for e in entries}
    return ext


def _parse_extensions(self: Any, node: etree._Element | None = None) -> dict[str, Any]:
    return read_extensions(self.node if node is None else node)


def _parse_timer_event(self: Any, event: etree._Element) -> Any:
    """Our timer definitions: fired by the engine from the ``timers`` table, never by Spiff's clock."""
    name = self.node.get("name", self.node.get("id"))
    for kind, tag in (("date", "timeDate"), ("duration", "timeDuration"), ("cycle", "timeCycle")):
        found = event.find(f"{{{BPMN_NS}}}{tag}")
        if found is not None:
            return TIMER_CLASSES[kind](name, (found.text or "").strip(), description=self.get_event_description(event))
    raise ValidationException("The timer has no date, duration or cycle.", node=self.node, file_name=self.filename)


_VARIABLE = re.compile(r"^[A-Za-z_][\w]*$")


def variable_name(text: str | None) -> str | None:
    """``=items``, ``${items}`` or ``items`` -> ``items``; None when it is not a plain variable."""
    if not text:
        return None
    name = text.strip().removeprefix("=").strip()
    if name.startswith(("${", "#{")) and name.endswith("}"):
        name = name[2:-1].strip()
    return name if _VARIABLE.match(name) else None


def multi_instance_info(node: etree._Element) -> dict[str, Any] | None:
    """The collection a multi-instance activity runs over, in either dialect (names as written)."""
    loop = node.find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics")
    if loop is None:
        return None
    c8 = loop.find(f"{{{BPMN_NS}}}extensionElements/{{{ZEEBE_NS}}}loopCharacteristics")
    c8_attrs = dict(c8.attrib) if c8 is not None else {}
    return {
        "sequential": loop.get("isSequential") == "true",
        "collection": c8_attrs.get("inputCollection") or loop.get(f"{{{CAMUNDA_NS}}}collection"),
        "element": c8_attrs.get("inputElement") or loop.get(f"{{{CAMUNDA_NS}}}elementVariable"),
        "output_collection": c8_attrs.get("outputCollection"),
        "output_element": c8_attrs.get("outputElement"),
        "cardinality": (loop.findtext(f"{{{BPMN_NS}}}loopCardinality") or "").strip() or None,
        "completion": (loop.findtext(f"{{{BPMN_NS}}}completionCondition") or "").strip() or None,
    }


class CollectionExpression(TaskDataReference):
    """A multi-instance collection written as an expression (``=[]``, ``=items[active]``, ``${list}``) rather
    than a variable's name: evaluated once when the activity starts (its ``bpmn_id`` is the expression)."""

    CACHE = "eiso_collection"

    def get(self, my_task: Any) -> Any:
        if self.CACHE not in my_task.internal_data:
            value = evaluate_expression(self.bpmn_id, my_task.data)
            my_task.internal_data[self.CACHE] = [] if value is None else value
        return my_task.internal_data[self.CACHE]

    def set(self, my_task: Any, value: Any) -> None:  # a computed collection is never written back
        return None

    def exists(self, my_task: Any) -> bool:
        return True


class ElementExpression(TaskDataReference):
    """A Camunda 8 ``outputElement`` that is an expression (``={id: x, note: report}``), evaluated against each
    instance's data when it completes."""

    def get(self, my_task: Any) -> Any:
        return evaluate_expression(self.bpmn_id, my_task.data)

    def set(self, my_task: Any, value: Any) -> None:
        return None

    def exists(self, my_task: Any) -> bool:
        # Asked of the activity before an instance starts (must not exist yet) and of a completed instance
        # (must exist): only an instance carries its item or its place in the collection.
        return "key_or_index" in my_task.internal_data or "item" in my_task.internal_data


def _reference(text: str | None, expression_class: type[TaskDataReference]) -> TaskDataReference | None:
    if not text:
        return None
    name = variable_name(text)
    return TaskDataReference(name) if name is not None else expression_class(text.strip())


def _add_multiinstance_task(self: Any, loop_characteristics: etree._Element) -> None:
    """Camunda's collection attributes mapped onto SpiffWorkflow's multi-instance task spec."""
    info = multi_instance_info(self.node) or {}
    if not info.get("collection") and not info.get("cardinality"):
        self.raise_validation_exception("A multi-instance activity needs a collection or a cardinality.")
    original = self.spec.task_specs.pop(self.task.name)
    ref = TaskDataReference
    params = {
        "task_spec": "",
        "cardinality": info.get("cardinality"),
        "data_input": _reference(info.get("collection"), CollectionExpression),
        "input_item": ref(info["element"]) if info.get("element") else None,
        "data_output": ref(info["output_collection"]) if info.get("output_collection") else None,
        "output_item": _reference(info.get("output_element"), ElementExpression),
        "condition": info.get("completion"),
    }
    cls = EisoSequentialMultiInstance if info.get("sequential") else EisoParallelMultiInstance
    self.task = cls(self.spec, original.name, description="MultiInstance", **params)
    self._copy_task_attrs(original, loop_characteristics)


def _parse_conditional_event(self: Any, event: etree._Element) -> Any:
    condition = (event.findtext(f"{{{BPMN_NS}}}condition") or "").strip()
    if not condition:
        raise ValidationException("The conditional event has no condition.", node=self.node, file_name=self.filename)
    return EisoConditional(condition, description=self.get_event_description(event))


def _start_event_task(self: Any) -> Any:
    from SpiffWorkflow.bpmn.parser import event_parsers as ev

    xpaths = [ev.MESSAGE_EVENT_XPATH, ev.SIGNAL_EVENT_XPATH, ev.TIMER_EVENT_XPATH, ev.CONDITIONAL_EVENT_XPATH,
              ev.ERROR_EVENT_XPATH, ev.ESCALATION_EVENT_XPATH]  # fmt: skip
    task = self._create_task(self.get_event_definition(xpaths))
    self.spec.start.connect(task)
    return task


def _with_code_starts(parser_class: type) -> type:
    extended = _with_extensions(parser_class)
    return type(f"EisoStart{parser_class.__name__}", (extended,), {"create_task": _start_event_task})


def _with_extensions(parser_class: type) -> type:
    methods = {
        "parse_conditional_event": _parse_conditional_event,
        "parse_extensions": _parse_extensions,
        "parse_timer_event": _parse_timer_event,
        "_add_multiinstance_task": _add_multiinstance_task,
    }
    return type(f"Eiso{parser_class.__name__}", (parser_class,), methods)


def message_info(node: etree._Element) -> dict[str, Any] | None:
    """The message an event or receive task waits for: its name and (Camunda 8) correlation key."""
    definition = node.find(f"{{{BPMN_NS}}}messageEventDefinition")
    ref = definition.get("messageRef") if definition is not None else node.get("messageRef")
    if definition is None and etree.QName(node).localname != "receiveTask":
        return None
    root = node.getroottree().getroot()
    message = next((m for m in root.iterfind(f"{{{BPMN_NS}}}message") if m.get("id") == ref), None)
    if message is None:
        return {"name": "", "ref": ref, "correlation_key": None}
    subscription = message.find(f"{{{BPMN_NS}}}extensionElements/{{{ZEEBE_NS}}}subscription")
    key = subscription.get("correlationKey") if subscription is not None else None
    return {"name": message.get("name") or message.get("id"), "ref": ref, "correlation_key": key}


def _referenced(node: etree._Element, tag: str, ref: str | None) -> etree._Element | None:
    root = node.getroottree().getroot()
    return next((e for e in root.iterfind(f"{{{BPMN_NS}}}{tag}") if e.get("id") == ref), None) if ref else None


def code_events_info(node: etree._Element) -> dict[str, Any]:
    """Error, escalation, signal and conditional event definitions of an event, as the index keeps them."""
    found: dict[str, Any] = {}
    definition = node.find(f"{{{BPMN_NS}}}errorEventDefinition")
    if definition is not None:
        error = _referenced(node, "error", definition.get("errorRef"))
        found["error"] = {
            "ref": definition.get("errorRef"),
            "defined": error is not None or not definition.get("errorRef"),
            "code": (error.get("errorCode") or error.get("name")) if error is not None else None,
            "code_variable": definition.get(f"{{{CAMUNDA_NS}}}errorCodeVariable"),
            "message_variable": definition.get(f"{{{CAMUNDA_NS}}}errorMessageVariable"),
        }
    definition = node.find(f"{{{BPMN_NS}}}escalationEventDefinition")
    if definition is not None:
        escalation = _referenced(node, "escalation", definition.get("escalationRef"))
        found["escalation"] = {
            "ref": definition.get("escalationRef"),
            "defined": escalation is not None or not definition.get("escalationRef"),
            "code": (escalation.get("escalationCode") or escalation.get("name")) if escalation is not None else None,
        }
    definition = node.find(f"{{{BPMN_NS}}}signalEventDefinition")
    if definition is not None:
        signal = _referenced(node, "signal", definition.get("signalRef"))
        found["signal"] = {"ref": definition.get("signalRef"),
                           "name": (signal.get("name") or signal.get("id")) if signal is not None else ""}  # fmt: skip
    if node.find(f"{{{BPMN_NS}}}compensateEventDefinition") is not None:
        found["compensation"] = True  # not run yet: refused at deploy
    definition = node.find(f"{{{BPMN_NS}}}conditionalEventDefinition")
    if definition is not None:
        found["conditional"] = {"condition": (definition.findtext(f"{{{BPMN_NS}}}condition") or "").strip()}
    return found


def timer_info(node: etree._Element) -> dict[str, Any] | None:
    """The timer of an event element: kind (date, duration, cycle) and its text (literal or expression)."""
    definition = node.find(f"{{{BPMN_NS}}}timerEventDefinition")
    if definition is None:
        return None
    for kind, tag in (("date", "timeDate"), ("duration", "timeDuration"), ("cycle", "timeCycle")):
        found = definition.find(f"{{{BPMN_NS}}}{tag}")
        if found is not None:
            return {"kind": kind, "expression": (found.text or "").strip()}
    return {"kind": "", "expression": ""}


DELEGATE_ATTRIBUTES = ("class", "delegateExpression", "expression")
"""Camunda 7 Java implementations of a service-like step, mapped to job types at deploy (engine.delegates)."""
MESSAGE_THROW_TAGS = ("intermediateThrowEvent", "endEvent")


def job_info(node: etree._Element) -> dict[str, Any]:
    """How a service-like step is done: a job type (C8 ``zeebe:taskDefinition``, C7 external ``camunda:topic``)
    with retries and headers, or else the Camunda 7 Java delegate it names (``delegate``, still to be mapped).

    Camunda 7 puts a message event's implementation on its ``messageEventDefinition``.
    """
    ext = read_extensions(node)
    c7 = ext.get("camunda", {})
    message = node.find(f"{{{BPMN_NS}}}messageEventDefinition")
    if message is not None:
        c7 = {**c7, **_camunda_attributes(message)}
    definition = ext.get("taskDefinition", {})
    info: dict[str, Any] = {
        "job_type": definition.get("type") or c7.get("topic"),
        "retries": definition.get("retries"),
        "headers": ext.get("taskHeaders", {}),
    }
    if ext.get("properties"):  # C7 camunda:properties: the external task's extension properties
        info["properties"] = ext["properties"]
    delegate = next((kind for kind in DELEGATE_ATTRIBUTES if (c7.get(kind) or "").strip()), None)
    if delegate and not info["job_type"]:
        info.update(delegate=c7[delegate].strip(), delegate_kind=delegate)
    return info


def has_job(info: dict[str, Any]) -> bool:
    """Whether ``job_info`` (or an element index entry) names a job type or a delegate to map to one."""
    return bool(info.get("job_type") or info.get("delegate"))


def is_message_job(node: etree._Element) -> bool:
    """A message throw event that a job implements (Camunda 7 and 8 both let a worker send the message)."""
    return node.find(f"{{{BPMN_NS}}}messageEventDefinition") is not None and has_job(job_info(node))


class _MessageJobParser:
    """Message throw events with a job implementation wait as a ``JobTask``; every other throw event
    (none, error, escalation, signal, or a message with no implementation) keeps its stock spec."""

    def create_task(self: Any) -> Any:
        if etree.QName(self.node).localname == "endEvent" and \
                self.node.find(f"{{{BPMN_NS}}}signalEventDefinition") is not None:
            # the stock end event parser reads a signal end event as a none end event: it would throw nothing
            task = self._create_task(self.get_event_definition([SIGNAL_EVENT_XPATH]))
            task.connect(self.spec.end)
            return task
        if not is_message_job(self.node):
            return super().create_task()  # type: ignore[misc]
        task = JobTask(self.spec, self.bpmn_id, **self.bpmn_attributes)
        if etree.QName(self.node).localname == "endEvent":
            task.connect(self.spec.end)  # as the stock end event parser does: the scope may end here
        return task


def _with_message_jobs(parser_class: type) -> type:
    return type(f"EisoMessageJob{parser_class.__name__}",
                (_LinkParser, _MessageJobParser, _with_extensions(parser_class)), {})  # fmt: skip


def link_name(node: etree._Element) -> str | None:
    """The name of a link event's link (``linkEventDefinition name``), "" when unnamed; None: not a link."""
    link = node.find(f"{{{BPMN_NS}}}linkEventDefinition")
    return None if link is None else (link.get("name") or "").strip()


def link_catch(throw: etree._Element) -> etree._Element | None:
    """The link catch event a link throw event leads to: the catch of the same name in the same scope."""
    name = link_name(throw)
    scope = throw.getparent()
    if not name or scope is None:
        return None
    tag = f"{{{BPMN_NS}}}intermediateCatchEvent"
    return next((n for n in scope.iterchildren(tag) if link_name(n) == name), None)


def is_compensation(node: etree._Element) -> bool:
    return node.find(f"{{{BPMN_NS}}}compensateEventDefinition") is not None


def reached_scopes(scope: etree._Element) -> list[etree._Element]:
    """``scope`` and the embedded subprocesses within it, at any depth: a compensation thrown in ``scope``
    goes into a completed subprocess to undo what was done in it (event subprocesses are not entered)."""
    found = [scope]
    for child in scope.iterchildren(f"{{{BPMN_NS}}}subProcess"):
        if child.get("triggeredByEvent") != "true":
            found.extend(reached_scopes(child))
    return found


def is_compensation_subprocess(node: etree._Element) -> bool:
    """An event subprocess whose start event is a compensation start event."""
    return node.get("triggeredByEvent") == "true" and any(
        is_compensation(start) for start in node.iterchildren(f"{{{BPMN_NS}}}startEvent"))


def compensation_subprocess(subprocess: etree._Element) -> etree._Element | None:
    """The compensation event subprocess of an embedded subprocess, if it has one (Camunda 7)."""
    return next((n for n in subprocess.iterchildren(f"{{{BPMN_NS}}}subProcess") if is_compensation_subprocess(n)),
                None)  # fmt: skip


def compensation_handler(boundary: etree._Element) -> etree._Element | None:
    """The handler a compensation boundary event is associated with (``bpmn:association``)."""
    scope = boundary.getparent()
    if scope is None:
        return None
    for association in scope.iterchildren(f"{{{BPMN_NS}}}association"):
        if association.get("sourceRef") == boundary.get("id"):
            target = next((n for n in scope if n.get("id") == association.get("targetRef")), None)
            if target is not None and target.get("isForCompensation") == "true":
                return target
    return None


class _LinkParser:
    """Link events pass straight through; a link throw event is connected to its catch event, as if a
    sequence flow joined them (SpiffWorkflow alone would end the path at the throw event). Compensation throw
    and end events are ours too (SpiffWorkflow cannot parse them): they also make the specs of their scope's
    compensation handlers, which have no incoming flow."""

    def create_task(self: Any) -> Any:
        if is_compensation(self.node) and etree.QName(self.node).localname in MESSAGE_THROW_TAGS:
            task = CompensationThrow(self.spec, self.bpmn_id, **self.bpmn_attributes)
            if etree.QName(self.node).localname == "endEvent":
                task.connect(self.spec.end)
            return task
        if link_name(self.node) is None:
            return super().create_task()  # type: ignore[misc]
        return LinkEvent(self.spec, self.bpmn_id, **self.bpmn_attributes)

    def parse_node(self: Any) -> Any:
        task = super().parse_node()  # type: ignore[misc]
        catch = link_catch(self.node) if etree.QName(self.node).localname == "intermediateThrowEvent" else None
        if catch is not None:
            self.task.connect(self.process_parser.parse_node(catch))
        if isinstance(self.task, CompensationThrow):
            scope = self.node.getparent()
            scopes = reached_scopes(scope) if scope is not None else []
            if scope is not None and is_compensation_subprocess(scope) and scope.getparent() is not None:
                scopes += reached_scopes(scope.getparent())  # it undoes what was done in the subprocess holding it
            handlers = [compensation_handler(b) for s in scopes for b in s.iterchildren(f"{{{BPMN_NS}}}boundaryEvent")
                        if is_compensation(b)]  # fmt: skip
            handlers += [compensation_subprocess(s) for s in scopes if s is not scope and s is not scope.getparent()]
            for handler in handlers:
                if handler is not None:  # no flow leads to a handler: the throw that starts it stands as its input
                    # (a handler of a subprocess within the scope runs in the throw's scope, the subprocess
                    # having completed; so does a compensation event subprocess)
                    spec = self.process_parser.parse_node(handler)
                    if self.task.name not in spec._inputs:
                        spec._inputs.append(self.task.name)
        return task


class EisoProcessParser(ProcessParser):
    """Compensation boundary events are not boundary events SpiffWorkflow can run: eISO keeps them apart
    (their handlers are started by the engine when a compensation event is thrown)."""

    def get_boundary_events(self, attached_to_ref: str) -> list[Any]:
        return [n for n in super().get_boundary_events(attached_to_ref) if not is_compensation(n)]

    def xpath(self, xpath: str) -> Any:
        """A compensation event subprocess does not listen while its subprocess runs: it is started as the
        subprocess's compensation handler, once the subprocess has completed (``engine/runtime/compensation.py``)."""
        found = super().xpath(xpath)
        if xpath == "./bpmn:subProcess[@triggeredByEvent='true']":
            return [n for n in found if not is_compensation_subprocess(n)]
        return found


class _EventGatewayParser:
    """An event-based gateway: one way out per catch event after it, all waiting at once."""

    def handles_multiple_outgoing(self: Any) -> bool:
        return True


class EisoParser(BpmnParser):
    """SpiffWorkflow's BPMN parser with Camunda extensions read onto every task spec."""

    PROCESS_PARSER_CLASS = EisoProcessParser

    def create_parser(self, node: Any, filename: str | None = None, lane: Any = None) -> None:
        """A compensation event subprocess is parsed as a handler by each compensation throw that may start
        it: its flow is parsed once."""
        known = self.process_parsers.get(node.get("id"))
        if known is not None and known.node is node and is_compensation_subprocess(node):
            return
        super().create_parser(node, filename=filename, lane=lane)

    OVERRIDE_PARSER_CLASSES = {
        **{
            tag: (_with_extensions(parser), JobTask if tag == f"{{{BPMN_NS}}}serviceTask" else spec)
            for tag, (parser, spec) in BpmnParser.PARSER_CLASSES.items()
        },
        # Business rule and script tasks wait as jobs too; the engine's own handlers run them.
        f"{{{BPMN_NS}}}businessRuleTask": (_with_extensions(TaskParser), JobTask),
        f"{{{BPMN_NS}}}scriptTask": (_with_extensions(TaskParser), JobTask),
        # Plain and manual tasks pass straight through, as in Camunda.
        f"{{{BPMN_NS}}}task": (_with_extensions(TaskParser), PassThroughTask),
        f"{{{BPMN_NS}}}manualTask": (_with_extensions(TaskParser), PassThroughTask),
        # A called process runs as an instance of its own, found by key when the call starts.
        f"{{{BPMN_NS}}}callActivity": (_with_extensions(TaskParser), CallTask),
        # Send tasks are service tasks that send something; message throw events with a job as well.
        f"{{{BPMN_NS}}}sendTask": (_with_extensions(TaskParser), JobTask),
        **{
            tag: (_with_message_jobs(parser), spec)
            for tag, (parser, spec) in BpmnParser.PARSER_CLASSES.items()
            if etree.QName(tag).localname in MESSAGE_THROW_TAGS
        },
        # Event-based gateways wait at all their catch events at once; the first to fire cancels the others.
        f"{{{BPMN_NS}}}eventBasedGateway": (type("EisoEventGatewayParser", (_EventGatewayParser,
                                                                             _with_extensions(TaskParser)), {}),
                                             EventGateway),
        f"{{{BPMN_NS}}}intermediateCatchEvent": (
            type("EisoCatchEventParser", (_LinkParser, _with_extensions(
                BpmnParser.PARSER_CLASSES[f"{{{BPMN_NS}}}intermediateCatchEvent"][0])), {}), CatchEvent),
        # Error and escalation start events (of event subprocesses) too: the stock parser reads them as none
        # start events, which would start the event subprocess at once.
        f"{{{BPMN_NS}}}startEvent": (_with_code_starts(BpmnParser.PARSER_CLASSES[f"{{{BPMN_NS}}}startEvent"][0]),
                                     BpmnParser.PARSER_CLASSES[f"{{{BPMN_NS}}}startEvent"][1]),
    }


@dataclass
class ProcessInfo:
    """What the rest of the product needs to know about one process, without the engine."""

    key: str
    name: str
    description: str
    executable: bool
    starter_roles: list[str]
    properties: dict[str, Any] = field(default_factory=dict)
    version_tag: str | None = None  # the modeller's name for the version (C7 versionTag, C8 zeebe:versionTag)
    elements: dict[str, dict[str, Any]] = field(default_factory=dict)
    flows: dict[str, dict[str, Any]] = field(default_factory=dict)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def form_info(node: etree._Element) -> dict[str, Any]:
    """The form a user task or start event shows: a deployed form id, or Camunda 7 generated fields."""
    ext = read_extensions(node)
    c7 = ext.get("camunda", {})
    form = ext.get("formDefinition", {})
    return {
        "form_key": _c8_form_key(form) or c7.get("formRef") or _c7_form_key(c7.get("formKey")),
        "generated_form": generated_form_fields(node),
        # Camunda 8: a form kept outside Camunda, named by an address (or a FEEL expression giving one)
        "external_form": form.get("externalReference") or None,
    }


def user_task_info(node: etree._Element) -> dict[str, Any]:
    """Assignment and form of a user task in either dialect (literal values; expressions kept as text)."""
    ext = read_extensions(node)
    c7 = ext.get("camunda", {})
    assignment = ext.get("assignmentDefinition", {})
    return {
        "candidate_groups": _split(assignment.get("candidateGroups") or c7.get("candidateGroups")),
        "candidate_users": _split(assignment.get("candidateUsers") or c7.get("candidateUsers")),
        "assignee": assignment.get("assignee") or c7.get("assignee"),
        "due_date": ext.get("taskSchedule", {}).get("dueDate") or c7.get("dueDate"),
        "follow_up_date": ext.get("taskSchedule", {}).get("followUpDate") or c7.get("followUpDate"),
        "priority": ext.get("priorityDefinition", {}).get("priority") or c7.get("priority"),
        "properties": ext.get("properties", {}),
        **form_info(node),
    }


def generated_form_fields(node: etree._Element) -> list[dict[str, Any]]:
    """Camunda 7 ``camunda:formData`` fields in the shape ``forms.load_generated_form`` reads."""
    fields = []
    path = f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}formData/{{{CAMUNDA_NS}}}formField"
    for field_node in node.iterfind(path):
        constraints = field_node.iterfind(f"{{{CAMUNDA_NS}}}validation/{{{CAMUNDA_NS}}}constraint")
        values = field_node.iterfind(f"{{{CAMUNDA_NS}}}value")
        fields.append(
            {
                "id": field_node.get("id"),
                "label": field_node.get("label") or field_node.get("id"),
                "type": field_node.get("type") or "string",
                "default_value": field_node.get("defaultValue"),
                "validation": [{"name": c.get("name"), "config": c.get("config")} for c in constraints],
                "options": [{"id": v.get("id"), "name": v.get("name") or v.get("id")} for v in values],
            }
        )
    return fields


FORM_FILE_PREFIXES = ("camunda-forms:deployment:", "camunda-forms:app:")


def _c7_form_key(form_key: str | None) -> str | None:
    """Camunda 7 names a form-js form by its file (``camunda-forms:deployment:x.form``): ``file:x.form``."""
    for prefix in FORM_FILE_PREFIXES:
        if form_key and form_key.startswith(prefix):
            return "file:" + form_key[len(prefix):].rsplit("/", 1)[-1]
    return form_key


def _c8_form_key(form: dict[str, str]) -> str | None:
    """Camunda 8: a deployed form by id, or a form embedded in the diagram (``camunda-forms:bpmn:<id>``)."""
    key = form.get("formKey") or ""
    return form.get("formId") or (key.removeprefix("camunda-forms:bpmn:") if key else None)


def embedded_forms(root: etree._Element) -> dict[str, str]:
    """Forms embedded in a Camunda 8 diagram (``zeebe:userTaskForm``): id -> JSON text."""
    return {
        node.get("id", ""): node.text or ""
        for node in root.iter(f"{{{ZEEBE_NS}}}userTaskForm")
        if node.get("id")
    }


def _c7_parameter_value(parameter: etree._Element) -> Any:
    """A Camunda 7 input/output parameter: text (literal or ``${…}``), a list, or a map of such values."""
    nested = [child for child in parameter if isinstance(child.tag, str)]
    if not nested:
        return (parameter.text or "").strip()
    child = nested[0]
    kind = etree.QName(child).localname
    if kind == "list":
        return {"list": [_c7_parameter_value(item) for item in child if isinstance(item.tag, str)]}
    if kind == "map":
        return {"map": {entry.get("key"): _c7_parameter_value(entry) for entry in child if isinstance(entry.tag, str)}}
    if kind == "script":
        return {"script": child.get("scriptFormat") or ""}
    return (child.text or "").strip()


def io_info(node: etree._Element) -> dict[str, Any] | None:
    """Input and output mappings in either dialect: ``{"inputs": [(target, source)], "outputs": [...]}``.

    A source is a FEEL (``=…``) or JUEL (``${…}``) expression, a literal string, or (Camunda 7) a
    ``{"list": [...]}`` / ``{"map": {...}}`` of such sources.
    """
    io: dict[str, Any] = {"inputs": [], "outputs": []}
    for mapping in node.iterfind(f"{{{BPMN_NS}}}extensionElements/{{{ZEEBE_NS}}}ioMapping/*"):
        kind = "inputs" if etree.QName(mapping).localname == "input" else "outputs"
        io[kind].append((mapping.get("target") or "", mapping.get("source") or ""))
        io["paths"] = True  # Camunda 8: a target ``a.b`` sets ``b`` inside the context ``a``
    base = f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}inputOutput"
    for tag, kind in (("inputParameter", "inputs"), ("outputParameter", "outputs")):
        for parameter in node.iterfind(f"{base}/{{{CAMUNDA_NS}}}{tag}"):
            io[kind].append((parameter.get("name") or "", _c7_parameter_value(parameter)))
    return io if io["inputs"] or io["outputs"] else None


def script_info(node: etree._Element) -> dict[str, Any]:
    """A script task's script: Camunda 8 ``zeebe:script`` (FEEL) or a BPMN ``script`` with its format."""
    ext = read_extensions(node)
    c8 = ext.get("script", {})
    if c8:
        return {"script": {"language": "feel", "text": c8.get("expression", ""), "result": c8.get("resultVariable")}}
    text = node.findtext(f"{{{BPMN_NS}}}script") or ""
    language = (node.get("scriptFormat") or "python").strip().lower()
    result = ext.get("camunda", {}).get("resultVariable")
    job = ext.get("taskDefinition", {}).get("type")
    return {"script": {"language": language, "text": text, "result": result, "job_type": job}}


def decision_info(node: etree._Element) -> dict[str, Any]:
    """Which DMN decision a business rule task calls and where its result goes, in either dialect."""
    ext = read_extensions(node)
    c7 = ext.get("camunda", {})
    c8 = ext.get("calledDecision", {})
    return {
        "decision_id": c8.get("decisionId") or c7.get("decisionRef"),
        "result_variable": c8.get("resultVariable") or c7.get("resultVariable"),
        "map_result": c7.get("mapDecisionResult") or ("camunda8" if c8 else "resultList"),
    }


def call_info(node: etree._Element) -> dict[str, Any]:
    """What a call activity calls and which variables go in and come back, in either dialect.

    Camunda 8 (``zeebe:calledElement``): all variables go both ways unless
    ``propagateAllParentVariables``/``propagateAllChildVariables`` are false; input and output
    mappings (``zeebe:ioMapping``) narrow them. Camunda 7: only what ``camunda:in``/``camunda:out``
    name (``variables="all"`` for everything), and ``camunda:in businessKey``.
    """
    ext = read_extensions(node)
    c8 = ext.get("calledElement")
    c7 = ext.get("camunda", {})

    def mappings(tag: str) -> list[dict[str, Any]]:
        return [
            {"source": m.get("source"), "source_expression": m.get("sourceExpression"), "target": m.get("target"),
             "all": m.get("variables") == "all", "business_key": m.get("businessKey")}
            for m in node.iterfind(f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}{tag}")
        ]  # fmt: skip

    if c8 is not None:
        return {"call": {
            "dialect": "camunda8", "element": c8.get("processId") or "", "binding": c8.get("bindingType") or "latest",
            "version_tag": c8.get("versionTag"), "version": None,
            "propagate_parent": c8.get("propagateAllParentVariables", "true").lower() != "false",
            "propagate_child": c8.get("propagateAllChildVariables", "true").lower() != "false",
            "in": [], "out": [],
        }}  # fmt: skip
    return {"call": {
        "dialect": "camunda7", "element": node.get("calledElement") or "", "binding": c7.get("calledElementBinding")
        or "latest", "version": c7.get("calledElementVersion"), "version_tag": c7.get("calledElementVersionTag"),
        "propagate_parent": False, "propagate_child": False, "in": mappings("in"), "out": mappings("out"),
    }}  # fmt: skip


def _element_entry(node: etree._Element) -> dict[str, Any]:
    tag = etree.QName(node).localname
    entry: dict[str, Any] = {"type": tag, "name": node.get("name") or "", "line": node.sourceline}
    if tag == "userTask":
        entry.update(user_task_info(node))
    elif tag == "startEvent":
        entry.update(form_info(node))
        initiator = read_extensions(node).get("camunda", {}).get("initiator")
        if initiator:
            entry["initiator"] = initiator  # Camunda 7: the variable that receives who started the process
    elif tag == "businessRuleTask":
        entry.update(decision_info(node))
        job = job_info(node)
        if not entry["decision_id"] and has_job(job):
            entry.update(job)  # no decision to call: a worker's job, as in both Camunda engines
    elif tag == "scriptTask":
        entry.update(script_info(node))
    elif tag == "callActivity":
        entry.update(call_info(node))
    elif tag == "subProcess" and is_compensation_subprocess(node):
        entry["compensation_event_subprocess"] = True  # a compensation handler, not an event subprocess that listens
    elif tag == "subProcess" and node.get("triggeredByEvent") == "true":
        entry["event_subprocess"] = True
    io = io_info(node)
    if io is not None:
        entry["io"] = io
    loop = multi_instance_info(node)
    if loop is not None:
        entry["multi_instance"] = loop
    if tag in ("startEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "endEvent"):
        entry.update(code_events_info(node))
        link = link_name(node)
        if link is not None:
            entry["link"] = link
    if tag in FLOW_NODE_TAGS and tag not in ("boundaryEvent", "startEvent", "endEvent") and "Event" not in tag:
        _compensation_entry(node, entry)
    if tag in MESSAGE_THROW_TAGS and is_compensation(node):
        definition = node.find(f"{{{BPMN_NS}}}compensateEventDefinition")
        assert definition is not None
        entry["compensate_activity"] = definition.get("activityRef") or None
        holder = node.getparent()
        if holder is not None and is_compensation_subprocess(holder):
            entry["in_compensation_subprocess"] = holder.get("id")  # undoes its subprocess's completed activities
        entry["compensation_waits"] = definition.get("waitForCompletion", "true").lower() != "false"
    if tag == "eventBasedGateway":
        entry["instantiate"] = node.get("instantiate", "false").lower() == "true"
        entry["gateway_type"] = node.get("eventGatewayType") or "Exclusive"
    if tag == "startEvent":
        entry["interrupting"] = node.get("isInterrupting", "true").lower() != "false"
        holder = node.getparent()
        if holder is not None and etree.QName(holder).localname == "subProcess" \
                and holder.get("triggeredByEvent") == "true":
            entry["in_event_subprocess"] = holder.get("id")
            outer = holder.getparent()
            entry["nested"] = outer is not None and etree.QName(outer).localname in ("subProcess", "transaction")
            if entry["nested"]:
                entry["scope"] = outer.get("id")  # the subprocess that listens for it while it runs
    if tag in ("startEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "receiveTask",
               "endEvent"):
        timer = timer_info(node)
        if timer is not None:
            entry["timer"] = timer
        message = message_info(node)
        if message is not None:
            entry["message"] = message
        if tag == "boundaryEvent":
            entry["attached_to"] = node.get("attachedToRef")
            entry["interrupting"] = node.get("cancelActivity", "true").lower() != "false"
    if tag in ("serviceTask", "sendTask") or (tag in MESSAGE_THROW_TAGS and "message" in entry):
        entry.update(job_info(node))
    return entry


def _compensation_entry(node: etree._Element, entry: dict[str, Any]) -> None:
    """An activity with a compensation boundary event: the handler that undoes it."""
    if node.get("isForCompensation") == "true":
        entry["for_compensation"] = True
    scope = node.getparent()
    if scope is None:
        return
    for boundary in scope.iterchildren(f"{{{BPMN_NS}}}boundaryEvent"):
        if boundary.get("attachedToRef") == node.get("id") and is_compensation(boundary):
            handler = compensation_handler(boundary)
            entry["compensation_handler"] = handler.get("id") if handler is not None else None
    inner = compensation_subprocess(node) if etree.QName(node).localname == "subProcess" else None
    if inner is not None and "compensation_handler" not in entry:
        entry["compensation_handler"] = inner.get("id")  # Camunda 7: it runs instead of undoing what is inside


def version_tag(process: etree._Element) -> str | None:
    """C7 ``camunda:versionTag`` on the process, or C8 ``<zeebe:versionTag value="…"/>`` in its extensions."""
    ext = read_extensions(process)
    tag = ext.get("versionTag", {}).get("value") or ext.get("camunda", {}).get("versionTag") or ""
    return tag.strip() or None


def process_info(process: etree._Element) -> ProcessInfo:
    ext = read_extensions(process)
    props = ext.get("properties", {})
    starters = _split(props.get("candidateStarterGroups") or ext.get("camunda", {}).get("candidateStarterGroups"))
    doc = process.findtext(f"{{{BPMN_NS}}}documentation") or ""
    info = ProcessInfo(
        key=process.get("id", ""),
        name=process.get("name") or process.get("id", ""),
        description=doc.strip(),
        executable=process.get("isExecutable", "false").lower() == "true",
        starter_roles=starters,
        properties=dict(props),
        version_tag=version_tag(process),
    )
    for node in process.iter(f"{{{BPMN_NS}}}*"):
        tag = etree.QName(node).localname
        if tag in FLOW_NODE_TAGS and node.get("id"):
            info.elements[node.get("id")] = _element_entry(node)
        elif tag == "sequenceFlow" and node.get("id"):
            info.flows[node.get("id")] = {
                "source": node.get("sourceRef"),
                "target": node.get("targetRef"),
                "name": node.get("name") or "",
                "condition": (node.findtext(f"{{{BPMN_NS}}}conditionExpression") or "").strip(),
                "line": node.sourceline,
            }
    return info
