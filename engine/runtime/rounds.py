"""A step that runs again (a return loop, another instance of a multi-instance step): what its form starts
from, and what a completed task showed.

**Decisions start empty on every round.** A task's form starts from the process data, but without the
*decisions* an earlier completed task of the same step wrote: a leader's second review never opens with
the first review's "return" and its reason already filled in, and nobody sees a stale decision as if it
had been made. A decision is a field of the task's form whose key a sequence-flow condition of the process
reads (``=decision = "approve"``, ``${approved}``), and every field the form shows only depending on one
(its ``conditional.hide`` reads the decision, as a return reason does). Everything else the step wrote
earlier is kept, so a returned draft opens with the draft to edit. The same data, without those values,
is what the submission is validated against: a JSON completion that leaves the decision out is refused as
missing, instead of taking the old one. A decision never starts from its field's ``defaultValue`` either: a
default would put the answer back that the earlier round gave (the risk monitoring's "go on monitoring",
chosen every quarter), so a decision with a default starts explicitly empty, in every round.

**A completed task shows what its person saw.** With each completion the engine keeps, in the history
event, the values of the data the form read (its templates, expressions, tables and option lists:
``forms.names_read``); the completed task is drawn from those plus what was submitted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import forms
from engine.runtime.models import HistoryEvent, TaskRow


def condition_names(elements: Mapping[str, Any]) -> set[str]:
    """Every name a sequence-flow condition of the process reads."""
    found: set[str] = set()
    for flow in (elements.get("flows") or {}).values():
        condition = (flow or {}).get("condition") or ""
        if condition:
            found |= forms.identifiers(condition.lstrip("=").replace("${", " ").replace("#{", " "))
    return found


def decision_keys(form: forms.Form, elements: Mapping[str, Any]) -> set[str]:
    """The top-level keys of the form's decisions: read by a flow condition, or shown only depending on one."""
    written = form.input_keys()
    decisions = written & condition_names(elements)
    if not decisions:
        return set()
    dependent = {
        component.key_path[0]
        for component in form.walk()
        if component.is_bound and component.key_path and component.hide is not None
        and forms.identifiers(component.hide.source) & decisions
    }  # fmt: skip
    return decisions | (dependent & written)


def earlier_keys(session: Session, row: TaskRow) -> set[str]:
    """The keys earlier completed tasks of the same step of this instance wrote."""
    stmt = select(HistoryEvent.data).where(
        HistoryEvent.instance_id == row.instance_id, HistoryEvent.element_id == row.element_id,
        HistoryEvent.kind == "task_completed", HistoryEvent.task_id != row.id,
    )  # fmt: skip
    keys: set[str] = set()
    for data in session.scalars(stmt):
        values = (data or {}).get("values") or {}
        keys |= set(values)
    return keys


def defaulted_keys(form: forms.Form) -> set[str]:
    """The top-level keys of the form's fields that start from a ``defaultValue`` when the data has none."""
    return {c.key_path[0] for c in form.walk()
            if c.is_bound and len(c.key_path) == 1 and getattr(c, "default", None) is not None}  # fmt: skip


def fresh(session: Session, row: TaskRow, form: forms.Form | None, data: Mapping[str, Any]) -> dict[str, Any]:
    """The data the task's form starts from and is validated against: ``data`` without the decisions an
    earlier round of the same step made, and with every decision that has a default and no value empty."""
    if form is None:
        return dict(data)
    decisions = decision_keys(form, row.instance.definition.elements or {})
    if not decisions:
        return dict(data)
    stale = decisions & earlier_keys(session, row)
    starting = {key: value for key, value in data.items() if key not in stale}
    for key in (decisions & defaulted_keys(form)) - starting.keys():
        starting[key] = None  # explicitly empty: the field's default does not make the decision
    return starting


def seen(form: forms.Form | None, schema: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """The values of the data a form reads (kept with a completed task to draw it later as it was)."""
    if form is None or schema is None:
        return {}
    wanted = forms.names_read(schema) - form.input_keys()
    return {key: data[key] for key in sorted(wanted) if key in data}
