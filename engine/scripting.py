"""The only way expressions from uploaded models are evaluated: by our own sandboxed evaluators.

SpiffWorkflow hands every condition and script to its script engine; this subclass routes each
expression to the evaluator of its language and never reaches Python ``eval``/``exec``.
A value starting with ``=`` is FEEL (Camunda 8). Other languages are refused at deploy time by
``check_expression`` and refused again here if one slips through.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from .errors import ExpressionError
from .expressions import feel


def language_of(expression: str) -> str:
    text = expression.strip()
    if text.startswith("="):
        return "feel"
    if text.startswith(("${", "#{")):
        return "juel"
    return "python"


def check_expression(expression: str) -> None:
    """Raise ExpressionError if the expression cannot be evaluated safely by this engine."""
    language = language_of(expression)
    if language == "feel":
        feel.compile_expression(expression.strip()[1:])
        return
    if language == "juel":
        raise ExpressionError(
            "Camunda 7 JUEL expressions (${...}) are not supported yet; "
            "write the condition in FEEL, starting with '='.",
            expression,
        )
    raise ExpressionError(
        "Only FEEL expressions (starting with '=') are accepted; this looks like code, which is never executed.",
        expression,
    )


def evaluate_expression(expression: str, data: Mapping[str, Any], *, now: datetime | None = None) -> Any:
    """Evaluate a model expression against process data and return a JSON-friendly value."""
    check_expression(expression)
    result = feel.compile_expression(expression.strip()[1:]).evaluate(data, now=now)
    return feel.to_python(result)


class SandboxedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow script engine that evaluates FEEL and refuses everything else."""

    def __init__(self) -> None:
        super().__init__(environment=None)

    def validate(self, expression: str) -> None:
        check_expression(expression)

    def evaluate(self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
        context = dict(task.data)
        context.update(external_context or {})
        return evaluate_expression(expression, context)

    def execute(self, task: Any, script: str, external_context: Mapping[str, Any] | None = None) -> bool:
        raise ExpressionError("Script tasks are not supported yet; nothing from a model is executed as code.", script)

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        raise ExpressionError("Service tasks are completed by job handlers, not by the script engine.")
