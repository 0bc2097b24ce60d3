"""A user task's priority: a whole number from 0 to 100, higher first, 50 when the diagram gives none.

Camunda 7 writes it as ``camunda:priority`` on the user task, Camunda 8 as
``<zeebe:priorityDefinition priority="…"/>``; either is a literal number or an expression (FEEL
``=…``, JUEL ``${…}``) evaluated over the task's data when the task is created. Camunda 8 limits
priorities to 0..100 and the inbox's badges are drawn on that scale, so Camunda 7 diagrams keep to it
too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import EngineError
from engine.runtime.models import DEFAULT_PRIORITY
from engine.runtime.script_engine import check_expression, evaluate_expression

LOWEST, HIGHEST = 0, 100
HIGH, LOW = 75, 25  # the inbox marks a priority at or above HIGH, or at or below LOW


def _is_expression(text: str) -> bool:
    return text.startswith(("=", "${", "#{"))


def _as_priority(value: Any) -> int | None:
    """A whole number in range, from a number or its text; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            return None
    return value if isinstance(value, int) and LOWEST <= value <= HIGHEST else None


def _refused(value: Any) -> EngineError:
    return EngineError("The priority must be a whole number from 0 to 100, not '%(value)s'.", value=value)


def check_priority(text: str) -> None:
    """Deploy-time check: a literal must be a whole number in range, an expression must parse."""
    stripped = text.strip()
    if _is_expression(stripped):
        check_expression(stripped)
    elif _as_priority(stripped) is None:
        raise _refused(stripped)


def priority_for(node: Mapping[str, Any], data: Mapping[str, Any]) -> int:
    """The priority of a task of this diagram element arriving now with this data.

    An expression that gives nothing (a missing variable) leaves the default; one that gives anything
    but a whole number from 0 to 100 stops the command with the value named, as a wrong due date does.
    """
    text = str(node.get("priority") or "").strip()
    if not text:
        return DEFAULT_PRIORITY
    value = evaluate_expression(text, data) if _is_expression(text) else text
    if value is None or value == "":
        return DEFAULT_PRIORITY
    priority = _as_priority(value)
    if priority is None:
        raise _refused(value)
    return priority
