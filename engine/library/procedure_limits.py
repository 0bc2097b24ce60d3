"""Deploy check of administrative-procedure processes: the steps' time limits add up to the legal one.

A process is an administrative procedure when its ``zeebe:properties`` (or ``camunda:properties``) name a
``procedureCode``. Its own ``timeLimitWorkingDays`` is the legal time limit of the procedure (the
appointment date of each dossier); each step carries its share (``timeLimitWorkingDays`` or
``timeLimitWorkingHours``, 8 working hours to the day). The check walks the normal ways through the
process, from its start to its ends, and takes the longest one in working time: parallel branches count
once (the longest), return loops once (the way back is left out), and the ways that only exceptions take
(boundary events, event subprocesses) not at all. That longest way must be exactly the legal limit: a
shorter one leaves time nobody is responsible for, a longer one promises the citizen a date the steps
cannot keep.
"""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from engine.errors import Phrase, Problem
from engine.runtime.deadlines import DAYS_PROPERTY, HOURS_PROPERTY
from engine.runtime.parsing import BPMN_NS, CAMUNDA_NS, FLOW_NODE_TAGS, ZEEBE_NS, link_catch

PROCEDURE_PROPERTY = "procedureCode"
"""The property that marks a process as an administrative procedure (its code in the national database)."""

_SCOPES = ("subProcess", "transaction")


def _local(node: etree._Element) -> str:
    return str(etree.QName(node).localname)


def properties_of(node: etree._Element) -> dict[str, str]:
    """The element's own extension properties (Camunda 8 and Camunda 7 spellings)."""
    found: dict[str, str] = {}
    for path in (f"{{{BPMN_NS}}}extensionElements/{{{ZEEBE_NS}}}properties/{{{ZEEBE_NS}}}property",
                 f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}properties/{{{CAMUNDA_NS}}}property"):  # fmt: skip
        for entry in node.iterfind(path):
            found[entry.get("name") or ""] = entry.get("value") or ""
    return found


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value >= 0 else None


def step_days(node: etree._Element) -> float:
    """A step's time limit in working days (0: none of its own)."""
    props = properties_of(node)
    if props.get(DAYS_PROPERTY):
        return _number(props[DAYS_PROPERTY]) or 0.0
    if props.get(HOURS_PROPERTY):
        return (_number(props[HOURS_PROPERTY]) or 0.0) / 8
    return 0.0


def _children(scope: etree._Element) -> Iterator[etree._Element]:
    for child in scope:
        if isinstance(child.tag, str) and _local(child) in FLOW_NODE_TAGS and child.get("id"):
            if _local(child) == "boundaryEvent" or child.get("triggeredByEvent") == "true":
                continue  # exceptions are not the normal way
            yield child


class _Scope:
    """One level of the process (the process or a subprocess): its steps and the flows between them."""

    def __init__(self, scope: etree._Element) -> None:
        self.nodes = {n.get("id") or "": n for n in _children(scope)}
        self.next: dict[str, list[str]] = {}
        for flow in scope.iterfind(f"{{{BPMN_NS}}}sequenceFlow"):
            source, target = flow.get("sourceRef") or "", flow.get("targetRef") or ""
            if source in self.nodes and target in self.nodes:
                self.next.setdefault(source, []).append(target)
        for node_id, node in self.nodes.items():  # a link throw goes on at its catch, as a flow would
            catch = link_catch(node) if _local(node) == "intermediateThrowEvent" else None
            if catch is not None and catch.get("id") in self.nodes:
                self.next.setdefault(node_id, []).append(catch.get("id") or "")
        starts = [i for i, n in self.nodes.items() if _local(n) == "startEvent"]
        self.forward = self._without_loops(starts)

    def _without_loops(self, starts: list[str]) -> dict[str, list[str]]:
        """The flows with every way back into a loop left out (depth-first: an edge to a node on the path)."""
        forward: dict[str, list[str]] = {}
        state: dict[str, int] = {}  # 1 on the current path, 2 done
        for start in starts:
            if start in state:
                continue
            stack: list[tuple[str, Iterator[str]]] = [(start, iter(self.next.get(start, [])))]
            state[start] = 1
            while stack:
                node_id, successors = stack[-1]
                target = next(successors, None)
                if target is None:
                    state[node_id] = 2
                    stack.pop()
                    continue
                if state.get(target) == 1:
                    continue  # the way back of a loop
                forward.setdefault(node_id, []).append(target)
                if target not in state:
                    state[target] = 1
                    stack.append((target, iter(self.next.get(target, []))))
        self.starts = starts
        return forward

    def longest(self) -> tuple[float, list[tuple[str, str, float]]]:
        """The longest normal way in working days, and its steps (id, name, days) that carry a limit."""
        best: dict[str, tuple[float, list[tuple[str, str, float]]]] = {}

        def walk(node_id: str) -> tuple[float, list[tuple[str, str, float]]]:
            if node_id in best:
                return best[node_id]
            node = self.nodes[node_id]
            own, steps = _weight(node)
            tail = max((walk(t) for t in self.forward.get(node_id, [])), key=lambda found: found[0],
                       default=(0.0, []))  # fmt: skip
            best[node_id] = (own + tail[0], steps + tail[1])
            return best[node_id]

        return max((walk(s) for s in self.starts), key=lambda found: found[0], default=(0.0, []))


def _weight(node: etree._Element) -> tuple[float, list[tuple[str, str, float]]]:
    if _local(node) in _SCOPES:
        return _Scope(node).longest()
    days = step_days(node)
    return days, ([(node.get("id") or "", node.get("name") or node.get("id") or "", days)] if days else [])


def _days(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def procedure_limit_problems(process: etree._Element, filename: str) -> list[Problem]:
    """For a procedure process: its legal time limit is given, and its steps' limits add up to it."""
    props = properties_of(process)
    if not props.get(PROCEDURE_PROPERTY):
        return []
    where = {"element_id": process.get("id"), "element_name": process.get("name") or "", "line": process.sourceline}
    legal = _number(props.get(DAYS_PROPERTY, ""))
    if not legal:
        return [Problem(filename, Phrase(
            "The administrative procedure %(code)s has no legal time limit: give the process the property "
            "%(property)s (working days, as the procedure is published).", code=props[PROCEDURE_PROPERTY],
            property=DAYS_PROPERTY), **where)]  # fmt: skip
    total, steps = _Scope(process).longest()
    if abs(total - legal) < 1e-6:
        return []
    listed: str | Phrase = " + ".join(f"{name} {_days(days)}" for _, name, days in steps) \
        or Phrase("no step has a time limit")
    return [Problem(filename, Phrase(
        "The steps of the administrative procedure %(code)s take %(total)s working days on their longest way "
        "(%(steps)s), but its legal time limit (%(property)s of the process) is %(legal)s working days; change "
        "the steps' %(property)s or %(hours)s so that they add up to it.", code=props[PROCEDURE_PROPERTY],
        total=_days(total), steps=listed, property=DAYS_PROPERTY, legal=_days(legal), hours=HOURS_PROPERTY),
        **where)]  # fmt: skip
